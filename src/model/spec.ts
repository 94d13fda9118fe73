/**
 * Architectures as data. Every model of the paper is the same trunk (three convolutions and a
 * dense layer, no biases, no pooling) with per-layer flags; the tfjs graph, the .bnn format, the
 * runtime and the CLI all read these specs, so a model is described exactly once. R is not the
 * paper's: A with a bias per output channel, which A lacks and without which no unit can
 * threshold a pixel (the mechanism of robust MNIST networks; see docs/REPRODUCTION.md).
 *
 * Trunk for K filters: conv1 8×8/2 SAME → K, conv2 6×6/2 VALID → 2K, conv3 5×5/1 VALID → 2K
 * (1×1 spatial), flatten, dense → 10.
 */

export type Arch = 'A' | 'B' | 'C' | 'S' | 'R';
export const ARCHS: readonly Arch[] = ['A', 'B', 'C', 'S', 'R'];
export const WIDTHS: readonly number[] = [64, 128, 256];

export type Padding = 'same' | 'valid';

export interface ConvLayerSpec {
  readonly kind: 'conv';
  readonly name: string;
  readonly filters: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: Padding;
  /**
   * Binary layer: batch norm on the layer's input, then sign (binary activations, straight-
   * through gradient), and sign(w) weights. Float layer otherwise.
   */
  readonly binary: boolean;
  /** Weights resampled at every forward pass as ±1 ~ Bernoulli(clip((w+1)/2, 0, 1)) (model S). */
  readonly stochastic: boolean;
  /** ReLU output multiplied by one trainable scalar (init 0.05), "scale output after ReLU". */
  readonly scaled: boolean;
  /**
   * Deployed as integers (a first float layer feeding a binary one): the image is quantized to
   * u8 (round(255·x)) and the weights to int8 with one scale per output channel, so the runtime
   * and the tfjs rebuild compute exactly the same integer sums. Set at export, not in training.
   */
  readonly quantized?: boolean;
  /** A trainable bias per output channel, added before the ReLU (float layers of model R only). */
  readonly bias: boolean;
}

export interface DenseLayerSpec {
  readonly kind: 'dense';
  readonly name: string;
  readonly units: number;
  /** A trainable bias per logit (model R only). */
  readonly bias: boolean;
}

export type LayerSpec = ConvLayerSpec | DenseLayerSpec;

export interface ModelSpec {
  readonly arch: Arch;
  /** Filters of conv1. */
  readonly k: number;
  /** Input [height, width, channels]. */
  readonly input: readonly [number, number, number];
  readonly classes: number;
  readonly layers: readonly LayerSpec[];
}

export const ARCH_DESCRIPTIONS: Record<Arch, string> = {
  A: 'full precision, ReLU after each conv',
  B: 'binarized conv2/conv3 (batch norm + sign on input, sign weights), ReLU',
  C: 'as B, ReLU output of conv2/conv3 scaled by a trainable scalar',
  S: 'as C, conv3 weights resampled ±1 ~ Bernoulli at every forward pass',
  R: 'as A with a bias per output channel (not in the paper: lets PGD training learn input thresholds)',
};

/** Initial value of the SReLU scalar (paper: 0.05). */
export const SRELU_INIT = 0.05;
/** Batch-norm epsilon (paper: 1e-5). */
export const BN_EPSILON = 1e-5;

export function modelSpec(arch: Arch, k: number): ModelSpec {
  if (!ARCHS.includes(arch)) throw new RangeError(`unknown architecture "${arch}" (expected one of ${ARCHS.join(', ')})`);
  if (!Number.isInteger(k) || k < 1 || k > 4096) throw new RangeError(`K must be a positive integer ≤ 4096, got ${k}`);
  const binary = arch === 'B' || arch === 'C' || arch === 'S';
  const scaled = arch === 'C' || arch === 'S';
  const bias = arch === 'R';
  const conv = (name: string, filters: number, kernel: number, stride: number, padding: Padding, isBinary: boolean, stochastic = false): ConvLayerSpec => ({
    kind: 'conv',
    name,
    filters,
    kernel,
    stride,
    padding,
    binary: isBinary,
    stochastic,
    scaled: isBinary && scaled,
    bias,
  });
  return {
    arch,
    k,
    input: [28, 28, 1],
    classes: 10,
    layers: [
      conv('conv1', k, 8, 2, 'same', false),
      conv('conv2', 2 * k, 6, 2, 'valid', binary),
      conv('conv3', 2 * k, 5, 1, 'valid', binary, arch === 'S'),
      { kind: 'dense', name: 'dense', units: 10, bias },
    ],
  };
}

/**
 * The spec with its first layer quantized (see ConvLayerSpec.quantized). Only a float first
 * conv whose successor is binary can be: its output is only ever compared with thresholds.
 */
export function withQuantizedInput(spec: ModelSpec): ModelSpec {
  const [first, next] = spec.layers;
  if (first?.kind !== 'conv' || first.binary || next?.kind !== 'conv' || !next.binary) {
    throw new RangeError(`model ${spec.arch}${spec.k}: only a float first conv followed by a binary conv can be quantized`);
  }
  return { ...spec, layers: [{ ...first, quantized: true }, ...spec.layers.slice(1)] };
}

/** Whether the spec's first layer is quantized. */
export function hasQuantizedInput(spec: ModelSpec): boolean {
  const first = spec.layers[0];
  return first?.kind === 'conv' && first.quantized === true;
}

/** "b64", "a256": the short name used for files in models/. */
export function modelName(spec: Pick<ModelSpec, 'arch' | 'k'>): string {
  return `${spec.arch.toLowerCase()}${spec.k}`;
}

/** Output size of a convolution along one axis (TensorFlow's SAME / VALID rules). */
export function convOutSize(inSize: number, kernel: number, stride: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(inSize / stride) : Math.floor((inSize - kernel) / stride) + 1;
}

/** Padding before the first row/column for SAME (TensorFlow puts the odd pixel at the end). */
export function convPadBefore(inSize: number, kernel: number, stride: number, padding: Padding): number {
  if (padding === 'valid') return 0;
  const out = convOutSize(inSize, kernel, stride, padding);
  return Math.floor(Math.max((out - 1) * stride + kernel - inSize, 0) / 2);
}

export interface LayerShape {
  readonly layer: LayerSpec;
  /** [h, w, c] of the layer's input (for dense: [1, 1, flattened features]). */
  readonly in: readonly [number, number, number];
  readonly out: readonly [number, number, number];
  /** Weight tensor shape: conv [kh, kw, cin, cout], dense [in, out]. */
  readonly weights: readonly number[];
}

/** Input/output/weight shapes of every layer, validated. */
export function layerShapes(spec: ModelSpec): LayerShape[] {
  let [h, w, c] = spec.input;
  const out: LayerShape[] = [];
  for (const layer of spec.layers) {
    if (layer.kind === 'conv') {
      const oh = convOutSize(h, layer.kernel, layer.stride, layer.padding);
      const ow = convOutSize(w, layer.kernel, layer.stride, layer.padding);
      if (oh < 1 || ow < 1) throw new RangeError(`layer ${layer.name}: ${layer.kernel}×${layer.kernel} kernel does not fit a ${h}×${w} input`);
      out.push({ layer, in: [h, w, c], out: [oh, ow, layer.filters], weights: [layer.kernel, layer.kernel, c, layer.filters] });
      [h, w, c] = [oh, ow, layer.filters];
    } else {
      const features = h * w * c;
      out.push({ layer, in: [1, 1, features], out: [1, 1, layer.units], weights: [features, layer.units] });
      [h, w, c] = [1, 1, layer.units];
    }
  }
  if (c !== spec.classes || h !== 1 || w !== 1) throw new RangeError(`model ends in ${h}×${w}×${c}, expected ${spec.classes} logits`);
  return out;
}

/** Parameter names and shapes of a spec, in a fixed order (checkpoints and .bnn follow it). */
export interface ParamInfo {
  readonly name: string;
  readonly shape: readonly number[];
  /** Updated by the optimizer (false for batch-norm moving statistics). */
  readonly trainable: boolean;
}

export function paramInfos(spec: ModelSpec): ParamInfo[] {
  const infos: ParamInfo[] = [];
  for (const s of layerShapes(spec)) {
    const l = s.layer;
    if (l.kind === 'conv' && l.binary) {
      const c = s.in[2];
      // Batch norm on the layer's input, centre only as in the paper (TF's batch_norm default
      // scale=False): a trainable shift, moving mean and variance.
      infos.push({ name: `${l.name}/bn_beta`, shape: [c], trainable: true });
      infos.push({ name: `${l.name}/bn_mean`, shape: [c], trainable: false });
      infos.push({ name: `${l.name}/bn_variance`, shape: [c], trainable: false });
    }
    infos.push({ name: `${l.name}/kernel`, shape: s.weights, trainable: true });
    if (l.bias) infos.push({ name: `${l.name}/bias`, shape: [s.out[2]], trainable: true });
    if (l.kind === 'conv' && l.scaled) infos.push({ name: `${l.name}/scale`, shape: [], trainable: true });
  }
  return infos;
}

/** Number of float32 values of all parameters (the "float32 weights" size is 4× this). */
export function floatParamCount(spec: ModelSpec): number {
  return paramInfos(spec).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

export function parseArch(s: string): Arch {
  const a = s.toUpperCase();
  if (!ARCHS.includes(a as Arch)) throw new RangeError(`unknown architecture "${s}" (expected one of ${ARCHS.join(', ')})`);
  return a as Arch;
}
