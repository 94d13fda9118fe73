/**
 * Models written in the graph language: the paper's A, B, C, S (Galloway, Taylor & Moussa 2018),
 * R (A with biases), and Larq's introductory tutorial network. The only place outside the data
 * loaders where 28×28×1 digits and 10 classes are spelled out.
 *
 * Paper trunk for K filters: conv1 8×8/2 SAME → K, conv2 6×6/2 VALID → 2K, conv3 5×5/1 VALID → 2K
 * (1×1 spatial), flatten, dense → 10; no biases, no pooling; batch norm with ε = 1e-5 and no scale
 * (TF's batch_norm default). R is not the paper's: A with a bias per output channel, which A lacks
 * and without which no unit can threshold a pixel (see docs/REPRODUCTION.md).
 */
import { defineGraph, type Layer, type ModelGraph } from './graph.js';
import { Sequential, batchNorm, flatten, maxPool2d, quantConv2d, quantDense, relu, scale } from './build.js';

export type Arch = 'A' | 'B' | 'C' | 'S' | 'R';
export const ARCHS: readonly Arch[] = ['A', 'B', 'C', 'S', 'R'];
export const WIDTHS: readonly number[] = [64, 128, 256];

export const ARCH_DESCRIPTIONS: Record<Arch, string> = {
  A: 'full precision, ReLU after each conv',
  B: 'binarized conv2/conv3 (batch norm + sign on input, sign weights), ReLU',
  C: 'as B, ReLU output of conv2/conv3 scaled by a trainable scalar',
  S: 'as C, conv3 weights resampled ±1 ~ Bernoulli at every forward pass',
  R: 'as A with a bias per output channel (not in the paper: lets PGD training learn input thresholds)',
};

/** The image the paper's models (and the embedded data) take. */
export const MNIST_INPUT = [28, 28, 1] as const;
export const MNIST_CLASSES = 10;
/** Initial value of the paper's SReLU scalar. */
export const SRELU_INIT = 0.05;
/** The paper's batch-norm epsilon. */
export const PAPER_BN_EPSILON = 1e-5;

/** "b64", "a256": the short name of a paper model. */
export function paperModelName(arch: Arch, k: number): string {
  return `${arch.toLowerCase()}${k}`;
}

export function parseArch(s: string): Arch {
  const a = s.toUpperCase();
  if (!ARCHS.includes(a as Arch)) throw new RangeError(`unknown architecture "${s}" (expected one of ${ARCHS.join(', ')})`);
  return a as Arch;
}

/**
 * The paper's model `arch` at width K as a graph. Binary layers use the paper's straight-through
 * gradient (`ste_sign_gradclip`); batch norm sits on each binary layer's input.
 */
export function paperModel(arch: Arch, k: number, opts: { int8?: boolean } = {}): ModelGraph {
  if (!ARCHS.includes(arch)) throw new RangeError(`unknown architecture "${arch}" (expected one of ${ARCHS.join(', ')})`);
  if (!Number.isInteger(k) || k < 1 || k > 4096) throw new RangeError(`K must be a positive integer ≤ 4096, got ${k}`);
  const binary = arch === 'B' || arch === 'C' || arch === 'S';
  const scaled = arch === 'C' || arch === 'S';
  const useBias = arch === 'R';
  const q = 'ste_sign_gradclip' as const;
  const m = new Sequential({ name: paperModelName(arch, k), input: MNIST_INPUT, classes: MNIST_CLASSES });
  m.add(quantConv2d({ name: 'conv1', filters: k, kernelSize: 8, strides: 2, padding: 'same', useBias, int8: opts.int8 ?? false }));
  m.add(relu({ name: 'relu1' }));
  const binaryConv = (i: number, filters: number, kernelSize: number, strides: number, stochastic: boolean): void => {
    if (binary) m.add(batchNorm({ name: `bn${i}`, scale: false, epsilon: PAPER_BN_EPSILON }));
    m.add(quantConv2d({ name: `conv${i}`, filters, kernelSize, strides, useBias, ...(binary ? { inputQuantizer: q, kernelQuantizer: stochastic ? 'stochastic' : q } : {}) }));
    m.add(relu({ name: `relu${i}` }));
    if (scaled) m.add(scale({ name: `scale${i}`, init: SRELU_INIT }));
  };
  binaryConv(2, 2 * k, 6, 2, false);
  binaryConv(3, 2 * k, 5, 1, arch === 'S');
  m.add(flatten({ name: 'flatten' }));
  m.add(quantDense({ name: 'dense', units: MNIST_CLASSES, useBias }));
  return m.build();
}

/** The paper model a graph is, if it is one (names aside): its architecture and K. */
export function paperModelOf(graph: ModelGraph): { arch: Arch; k: number } | null {
  const conv1 = graph.layers.find((l) => l.name === 'conv1');
  if (conv1?.kind !== 'quantConv2d') return null;
  // int8 is how conv1 ships, not what the model is; ε may be the float32 a file stores.
  const key = (g: ModelGraph) => JSON.stringify({ input: g.input, classes: g.classes, layers: g.layers.map((l) => (l.kind === 'quantConv2d' ? { ...l, int8: false } : l.kind === 'batchNorm' ? { ...l, epsilon: Math.fround(l.epsilon) } : l)) });
  const want = key(graph);
  for (const arch of ARCHS) if (key(paperModel(arch, conv1.filters)) === want) return { arch, k: conv1.filters };
  return null;
}

/**
 * Larq's introductory tutorial network ("Introduction to BNNs with Larq"): a binary-weight 3×3
 * conv on the float image, max-pool, batch norm, binary convs 64 and 64 with a max-pool between,
 * binary dense 64, binary dense → classes, batch norms without scale between; Larq's `ste_sign`.
 */
export function larqTutorial(opts: { input?: readonly [number, number, number]; classes?: number; name?: string } = {}): ModelGraph {
  const kw = { inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' } as const;
  const classes = opts.classes ?? MNIST_CLASSES;
  const m = new Sequential({ name: opts.name ?? 'larq-tutorial', input: opts.input ?? MNIST_INPUT, classes });
  m.add(quantConv2d({ name: 'conv1', filters: 32, kernelSize: 3, kernelQuantizer: 'ste_sign' }));
  m.add(maxPool2d({ name: 'pool1', poolSize: 2 }));
  m.add(batchNorm({ name: 'bn1', scale: false }));
  m.add(quantConv2d({ name: 'conv2', filters: 64, kernelSize: 3, ...kw }));
  m.add(maxPool2d({ name: 'pool2', poolSize: 2 }));
  m.add(batchNorm({ name: 'bn2', scale: false }));
  m.add(quantConv2d({ name: 'conv3', filters: 64, kernelSize: 3, ...kw }));
  m.add(batchNorm({ name: 'bn3', scale: false }));
  m.add(flatten({ name: 'flatten' }));
  m.add(quantDense({ name: 'dense1', units: 64, ...kw }));
  m.add(batchNorm({ name: 'bn4', scale: false }));
  m.add(quantDense({ name: 'dense2', units: classes, ...kw }));
  m.add(batchNorm({ name: 'bn5', scale: false }));
  return m.build();
}

/**
 * A graph by preset name: `b64`, `a256`, … (the paper's, any K) or `larq-tutorial`. Null if the
 * name is not a preset.
 */
export function presetGraph(name: string): ModelGraph | null {
  const m = /^([abcsr])(\d{1,4})$/i.exec(name);
  if (m) return paperModel(parseArch(m[1]!), Number(m[2]));
  if (name === 'larq-tutorial') return larqTutorial();
  return null;
}

export const PRESET_HELP = 'a paper model by name (a64, b128, c64, s64, r64: architecture letter + K) or larq-tutorial';

/** Reads a graph from parsed JSON, naming the source in errors. */
export function graphFromJson(json: unknown, source: string): ModelGraph {
  try {
    return defineGraph(json);
  } catch (e) {
    (e as Error).message = `${source}: ${(e as Error).message}`;
    throw e;
  }
}

export type { Layer };
