/**
 * The model graph: what a bnn-edge model *is*, everywhere — in the builder and JSON files, in
 * checkpoints and worker messages, in the .bnn file, the manifest and the CLI. An input shape
 * H×W×C, a class count and an ordered list of layers, each naming its input(s), so sequential
 * stacks and residual shortcuts are both expressible. Layer kinds and their options follow Larq's
 * (`quantConv2d` ↔ larq.layers.QuantConv2D, `inputQuantizer` ↔ input_quantizer, …).
 *
 * This file holds only data and rules: no tfjs, no wasm. `defineGraph` turns untrusted JSON into a
 * validated graph with every default filled in; `inferShapes` gives each layer's output shape.
 * Errors are GraphError, naming the layer and the reason.
 */

export type Shape3 = readonly [height: number, width: number, channels: number];
export type Padding = 'same' | 'valid';

/**
 * How a binary layer binarizes its input (forward: +1 iff x ≥ 0, else −1). The two differ only in
 * the training gradient: `ste_sign` is Larq's (the gradient passes where |x| ≤ 1, 0 elsewhere);
 * `ste_sign_gradclip` is the paper's code (the gradient, clipped to [−1, 1], passes everywhere).
 */
export type InputQuantizer = 'ste_sign' | 'ste_sign_gradclip';
/**
 * Binary weights: sign(w) with one of the straight-through gradients above, or model S's
 * ±1 ~ Bernoulli(clip((w+1)/2, 0, 1)) resampled at every forward pass. `ste_tern` is Larq's
 * ternary quantizer (SteTern): +1 where w > TERNARY_THRESHOLD, −1 where w < −TERNARY_THRESHOLD,
 * 0 between (the gradient as ste_sign's); on a binarized input it is computed as
 * popcount((x XOR w) AND mask), and its zeros are what makes a layer cheap to verify.
 */
export type KernelQuantizer = 'ste_sign' | 'ste_sign_gradclip' | 'stochastic' | 'ste_tern';

/** |w| at or below which `ste_tern` gives 0 (Larq's SteTern default threshold_value). */
export const TERNARY_THRESHOLD = 0.05;

export const INPUT_QUANTIZERS: readonly InputQuantizer[] = ['ste_sign', 'ste_sign_gradclip'];
export const KERNEL_QUANTIZERS: readonly KernelQuantizer[] = ['ste_sign', 'ste_sign_gradclip', 'stochastic', 'ste_tern'];

/** The name inputs use for the image. */
export const GRAPH_INPUT = 'input';

interface LayerBase {
  /** Unique, 1–24 characters of [A-Za-z0-9_.-]. */
  readonly name: string;
  /** Names of the layers (or `input`) this one reads; two for `add`, one otherwise. */
  readonly inputs: readonly string[];
}

export interface QuantConv2dLayer extends LayerBase {
  readonly kind: 'quantConv2d';
  readonly filters: number;
  readonly kernelSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
  /**
   * What `same` padding pads a binarized input with: 1 (+1, Larq Compute Engine's choice: the
   * popcount needs no correction) or 0 (zeros, as a float conv; a per-pixel correction at the
   * borders). Required for a binary conv with `same` padding; null otherwise.
   */
  readonly padValue: 0 | 1 | null;
  readonly inputQuantizer: InputQuantizer | null;
  readonly kernelQuantizer: KernelQuantizer | null;
  readonly useBias: boolean;
  /**
   * Deploy as integers: the image is quantized to u8 (round(255·x)) and the weights to int8 with
   * one scale per output channel, so the runtime and the tfjs rebuild compute the same exact sums.
   * Only for a float conv on the image whose output is only ever binarized.
   */
  readonly int8: boolean;
}

export interface QuantDenseLayer extends LayerBase {
  readonly kind: 'quantDense';
  readonly units: number;
  readonly inputQuantizer: InputQuantizer | null;
  readonly kernelQuantizer: KernelQuantizer | null;
  readonly useBias: boolean;
}

export interface BatchNormLayer extends LayerBase {
  readonly kind: 'batchNorm';
  /** Train a shift β (Keras `center`); else β = 0. */
  readonly center: boolean;
  /** Train a scale γ (Keras `scale`); else γ = 1. */
  readonly scale: boolean;
  readonly epsilon: number;
}

export interface ReluLayer extends LayerBase {
  readonly kind: 'relu';
}

/** One trainable scalar the input is multiplied by (the paper's model C: "scale output after ReLU"). */
export interface ScaleLayer extends LayerBase {
  readonly kind: 'scale';
  readonly init: number;
}

export interface Pool2dLayer extends LayerBase {
  readonly kind: 'maxPool2d' | 'avgPool2d';
  readonly poolSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
}

export interface GlobalAvgPool2dLayer extends LayerBase {
  readonly kind: 'globalAvgPool2d';
}

export interface AddLayer extends LayerBase {
  readonly kind: 'add';
}

export interface FlattenLayer extends LayerBase {
  readonly kind: 'flatten';
}

export type Layer = QuantConv2dLayer | QuantDenseLayer | BatchNormLayer | ReluLayer | ScaleLayer | Pool2dLayer | GlobalAvgPool2dLayer | AddLayer | FlattenLayer;
export type LayerKind = Layer['kind'];

export const LAYER_KINDS: readonly LayerKind[] = ['quantConv2d', 'quantDense', 'batchNorm', 'relu', 'scale', 'maxPool2d', 'avgPool2d', 'globalAvgPool2d', 'add', 'flatten'];

export interface ModelGraph {
  /** A short name for people (e.g. `b64`, `larq-mnist`; 1–32 of A–Z a–z 0–9 _ . -); not part of what the model computes. */
  readonly name: string;
  /** Image height, width and channels; pixels in [0, 1]. */
  readonly input: Shape3;
  readonly classes: number;
  /** In order: a layer's inputs come before it. The last layer's output (1×1×classes) is the logits. */
  readonly layers: readonly Layer[];
}

/** Bounds a graph must respect: what the runtime, the format and the validators rely on. */
export const GRAPH_LIMITS = {
  maxLayers: 1024,
  maxNameLength: 24,
  maxSide: 4096,
  maxInputChannels: 64,
  maxChannels: 1 << 16,
  maxKernel: 255,
  maxStride: 255,
  maxClasses: 65535,
  /** Values of one activation tensor per image. */
  maxTensorValues: 1 << 26,
  /** Taps (kh·kw·cin) of an int8 layer: 255·127·taps stays below 2^24, so float32 sums of it are exact. */
  maxInt8Taps: 518,
} as const;

/** Keras's default batch-norm epsilon (the paper's models use 1e-5, see presets.ts). */
export const DEFAULT_BN_EPSILON = 1e-3;

/** A value as an error message shows it: its JSON, cut to `max` characters (a hostile graph file may hold megabytes, or nest past the stack). */
function brief(v: unknown, max = 80): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? `an array of ${v.length}` : String(typeof v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A graph that cannot be built, with the layer (when there is one) and the reason. */
export class GraphError extends Error {
  constructor(
    message: string,
    readonly layer?: string,
  ) {
    super(layer !== undefined ? `layer ${layer}: ${message}` : message);
    this.name = 'GraphError';
  }
}

/** A layer's name: 1 to GRAPH_LIMITS.maxNameLength characters of A–Z a–z 0–9 _ . - (the importer renames to fit). */
export const LAYER_NAME_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${GRAPH_LIMITS.maxNameLength}}$`);
/** A model's name: 1 to 32 of the same characters. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

// ---------------------------------------------------------------------------------------------
// Parsing untrusted JSON into a normalized graph
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads fields off one JSON object, rejecting unknown ones and wrong types with the layer's name. */
class Fields {
  private readonly used = new Set<string>();
  constructor(
    private readonly obj: Json,
    private readonly where: string | undefined,
  ) {}

  private fail(msg: string): never {
    throw new GraphError(msg, this.where);
  }

  private take(key: string): unknown {
    this.used.add(key);
    return this.obj[key];
  }

  int(key: string, min: number, max: number, dflt?: number): number {
    const v = this.take(key);
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(`${key} must be an integer in ${min}..${max}, got ${brief(v)}`);
    return v as number;
  }

  /** An integer or a pair [a, b]. */
  pair(key: string, min: number, max: number, dflt?: readonly [number, number]): readonly [number, number] {
    const v = this.take(key);
    if (v === undefined && dflt !== undefined) return dflt;
    const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
    if (ok(v)) return [v as number, v as number];
    if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0] as number, v[1] as number];
    return this.fail(`${key} must be an integer or a pair of integers in ${min}..${max}, got ${brief(v)}`);
  }

  num(key: string, check: (v: number) => boolean, what: string, dflt: number): number {
    const v = this.take(key);
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) this.fail(`${key} must be ${what}, got ${brief(v)}`);
    return v as number;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.take(key);
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') this.fail(`${key} must be true or false, got ${brief(v)}`);
    return v as boolean;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], dflt: T): T;
  oneOf<T extends string>(key: string, allowed: readonly T[], dflt: null): T | null;
  oneOf<T extends string>(key: string, allowed: readonly T[], dflt: T | null): T | null {
    const v = this.take(key);
    if (v === undefined || (v === null && dflt === null)) return dflt;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(`${key} must be ${dflt === null ? 'null or ' : ''}one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${brief(v)}`);
    return v as T;
  }

  raw(key: string): unknown {
    return this.take(key);
  }

  /** Rejects fields nobody read (a typo such as `kernel_size` must not be silently ignored). */
  done(): void {
    const extra = Object.keys(this.obj).filter((k) => !this.used.has(k));
    if (extra.length) this.fail(`unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')}`);
  }
}

function parseLayer(json: unknown, index: number, previous: string): Layer {
  if (!isObject(json)) throw new GraphError(`layer ${index} must be an object, got ${brief(json)}`);
  const nameRaw = json['name'];
  const name = nameRaw === undefined ? `layer${index}` : nameRaw;
  if (typeof name !== 'string' || !LAYER_NAME_PATTERN.test(name)) throw new GraphError(`layer ${index}: name must be 1–${GRAPH_LIMITS.maxNameLength} characters of A–Z, a–z, 0–9, _ . -, got ${brief(nameRaw)}`);
  const f = new Fields(json, name);
  f.raw('name');
  const kind = f.oneOf('kind', LAYER_KINDS, null);
  if (kind === null) throw new GraphError(`kind is missing (one of ${LAYER_KINDS.join(', ')})`, name);
  const inputsRaw = f.raw('inputs');
  const arity = kind === 'add' ? 2 : 1;
  let inputs: string[];
  if (inputsRaw === undefined) {
    if (arity !== 1) throw new GraphError(`an add layer needs "inputs": the two layers it sums`, name);
    inputs = [previous];
  } else {
    const list = typeof inputsRaw === 'string' ? [inputsRaw] : inputsRaw;
    if (!Array.isArray(list) || list.length !== arity || !list.every((s) => typeof s === 'string')) {
      throw new GraphError(`inputs must be ${arity === 1 ? 'one layer name' : 'a list of two layer names'}, got ${brief(inputsRaw)}`, name);
    }
    inputs = list as string[];
  }
  const base = { name, inputs };
  const pos = GRAPH_LIMITS;
  let layer: Layer;
  switch (kind) {
    case 'quantConv2d': {
      const inputQuantizer = f.oneOf('inputQuantizer', INPUT_QUANTIZERS, null);
      const padding = f.oneOf('padding', ['same', 'valid'] as const, 'valid');
      const padRaw = f.raw('padValue');
      let padValue: 0 | 1 | null = null;
      if (padRaw !== undefined && padRaw !== null) {
        if (padRaw !== 0 && padRaw !== 1) throw new GraphError(`padValue must be 0 or 1, got ${brief(padRaw)}`, name);
        padValue = padRaw;
      }
      layer = {
        kind,
        ...base,
        filters: f.int('filters', 1, pos.maxChannels),
        kernelSize: f.pair('kernelSize', 1, pos.maxKernel),
        strides: f.pair('strides', 1, pos.maxStride, [1, 1]),
        padding,
        padValue,
        inputQuantizer,
        kernelQuantizer: f.oneOf('kernelQuantizer', KERNEL_QUANTIZERS, null),
        useBias: f.bool('useBias', false),
        int8: f.bool('int8', false),
      };
      break;
    }
    case 'quantDense':
      layer = { kind, ...base, units: f.int('units', 1, pos.maxChannels), inputQuantizer: f.oneOf('inputQuantizer', INPUT_QUANTIZERS, null), kernelQuantizer: f.oneOf('kernelQuantizer', KERNEL_QUANTIZERS, null), useBias: f.bool('useBias', false) };
      break;
    case 'batchNorm':
      // ε and init are float32 values wherever they are used (the file stores them so): rounded here once.
      layer = { kind, ...base, center: f.bool('center', true), scale: f.bool('scale', true), epsilon: Math.fround(f.num('epsilon', (v) => Math.fround(v) > 0 && v < 1, 'a number in (0, 1)', DEFAULT_BN_EPSILON)) };
      break;
    case 'scale':
      layer = { kind, ...base, init: Math.fround(f.num('init', (v) => Number.isFinite(Math.fround(v)), 'a finite float32 number', 1)) };
      break;
    case 'maxPool2d':
    case 'avgPool2d': {
      const poolSize = f.pair('poolSize', 1, pos.maxKernel, [2, 2]);
      layer = { kind, ...base, poolSize, strides: f.pair('strides', 1, pos.maxStride, poolSize), padding: f.oneOf('padding', ['same', 'valid'] as const, 'valid') };
      break;
    }
    default:
      layer = { kind, ...base };
  }
  f.done();
  return layer;
}

/**
 * Validates a graph given as JSON (a file, a worker message, a checkpoint) or as built in code,
 * fills in every default, and checks that it can be trained, exported and run: names, references
 * and order (a cycle is named as such), shapes, and what each layer kind accepts. The result is
 * canonical: two descriptions of the same model give deep-equal graphs.
 */
export function defineGraph(json: unknown): ModelGraph {
  if (!isObject(json)) throw new GraphError(`a model graph must be a JSON object, got ${brief(json)}`);
  const f = new Fields(json, undefined);
  f.raw('format');
  const nameRaw = f.raw('name');
  if (nameRaw !== undefined && (typeof nameRaw !== 'string' || !MODEL_NAME_PATTERN.test(nameRaw))) throw new GraphError(`name must be 1–32 characters of A–Z, a–z, 0–9, _ . -, got ${brief(nameRaw)}`);
  const inputRaw = f.raw('input');
  const inOk = Array.isArray(inputRaw) && inputRaw.length === 3 && inputRaw.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1);
  if (!inOk) throw new GraphError(`input must be [height, width, channels], got ${brief(inputRaw)}`);
  const [h, w, c] = inputRaw as [number, number, number];
  if (h > GRAPH_LIMITS.maxSide || w > GRAPH_LIMITS.maxSide) throw new GraphError(`input ${h}×${w} exceeds ${GRAPH_LIMITS.maxSide} pixels a side`);
  if (c > GRAPH_LIMITS.maxInputChannels) throw new GraphError(`input has ${c} channels, at most ${GRAPH_LIMITS.maxInputChannels} are supported`);
  const classes = f.int('classes', 1, GRAPH_LIMITS.maxClasses);
  const layersRaw = f.raw('layers');
  if (!Array.isArray(layersRaw) || layersRaw.length === 0) throw new GraphError(`layers must be a non-empty list`);
  if (layersRaw.length > GRAPH_LIMITS.maxLayers) throw new GraphError(`${layersRaw.length} layers exceed the limit of ${GRAPH_LIMITS.maxLayers}`);
  f.done();
  const layers: Layer[] = [];
  let previous = GRAPH_INPUT;
  layersRaw.forEach((l, i) => {
    const layer = parseLayer(l, i, previous);
    layers.push(layer);
    previous = layer.name;
  });
  const graph: ModelGraph = { name: typeof nameRaw === 'string' ? nameRaw : 'model', input: [h, w, c], classes, layers };
  checkGraph(graph);
  return graph;
}

// ---------------------------------------------------------------------------------------------
// Structure and shapes
// ---------------------------------------------------------------------------------------------

/** Output size along one axis (TensorFlow's SAME / VALID rules). */
export function convOutSize(inSize: number, kernel: number, stride: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(inSize / stride) : Math.floor((inSize - kernel) / stride) + 1;
}

/** Padding before the first row/column for SAME (TensorFlow puts the odd pixel at the end). */
export function padBefore(inSize: number, kernel: number, stride: number, padding: Padding): number {
  if (padding === 'valid') return 0;
  const out = convOutSize(inSize, kernel, stride, padding);
  return Math.floor(Math.max((out - 1) * stride + kernel - inSize, 0) / 2);
}

/** Total padding (before + after) along one axis. */
export function padTotal(inSize: number, kernel: number, stride: number, padding: Padding): number {
  if (padding === 'valid') return 0;
  const out = convOutSize(inSize, kernel, stride, padding);
  return Math.max((out - 1) * stride + kernel - inSize, 0);
}

export interface LayerShape {
  readonly layer: Layer;
  /** Shapes of the layer's inputs, in `inputs` order. */
  readonly inputs: readonly Shape3[];
  readonly output: Shape3;
}

export function isBinaryKernel(q: KernelQuantizer | null): boolean {
  return q !== null;
}

/** Whether the graph samples weights at every forward pass (a stochastic layer): two runs of it differ. */
export function isStochastic(graph: ModelGraph): boolean {
  return graph.layers.some((l) => (l.kind === 'quantConv2d' || l.kind === 'quantDense') && l.kernelQuantizer === 'stochastic');
}

function values(s: Shape3): number {
  return s[0] * s[1] * s[2];
}

/**
 * Each layer's input and output shapes, in graph order, checking that every shape fits. Assumes
 * names and references were checked (defineGraph / checkGraph do both).
 */
export function inferShapes(graph: ModelGraph): LayerShape[] {
  const shapes = new Map<string, Shape3>([[GRAPH_INPUT, graph.input]]);
  const out: LayerShape[] = [];
  for (const layer of graph.layers) {
    const ins = layer.inputs.map((n) => shapes.get(n)!);
    const fail = (msg: string): never => {
      throw new GraphError(msg, layer.name);
    };
    const [h, w, c] = ins[0]!;
    let o: Shape3;
    switch (layer.kind) {
      case 'quantConv2d': {
        const [kh, kw] = layer.kernelSize;
        const [sh, sw] = layer.strides;
        const oh = convOutSize(h, kh, sh, layer.padding);
        const ow = convOutSize(w, kw, sw, layer.padding);
        if (oh < 1 || ow < 1) fail(`a ${kh}×${kw} kernel does not fit its ${h}×${w} input with 'valid' padding`);
        o = [oh, ow, layer.filters];
        break;
      }
      case 'quantDense':
        if (h !== 1 || w !== 1) fail(`quantDense needs a flat input, got ${h}×${w}×${c}: add a flatten (or globalAvgPool2d) layer before it`);
        o = [1, 1, layer.units];
        break;
      case 'maxPool2d':
      case 'avgPool2d': {
        const [ph, pw] = layer.poolSize;
        const [sh, sw] = layer.strides;
        const oh = convOutSize(h, ph, sh, layer.padding);
        const ow = convOutSize(w, pw, sw, layer.padding);
        if (oh < 1 || ow < 1) fail(`a ${ph}×${pw} pool does not fit its ${h}×${w} input with 'valid' padding`);
        o = [oh, ow, c];
        break;
      }
      case 'globalAvgPool2d':
        o = [1, 1, c];
        break;
      case 'flatten':
        o = [1, 1, h * w * c];
        break;
      case 'add': {
        const b = ins[1]!;
        if (b[0] !== h || b[1] !== w || b[2] !== c) fail(`adds ${layer.inputs[0]} (${h}×${w}×${c}) and ${layer.inputs[1]} (${b.join('×')}): shapes differ`);
        o = [h, w, c];
        break;
      }
      default:
        o = [h, w, c];
    }
    if (o[2] > GRAPH_LIMITS.maxChannels && layer.kind !== 'flatten') fail(`${o[2]} channels exceed ${GRAPH_LIMITS.maxChannels}`);
    if (values(o) > GRAPH_LIMITS.maxTensorValues) fail(`its output ${o.join('×')} exceeds ${GRAPH_LIMITS.maxTensorValues} values per image`);
    shapes.set(layer.name, o);
    out.push({ layer, inputs: ins, output: o });
  }
  return out;
}

/** Layers that read each layer's output (by name; `input` included). */
export function consumersOf(graph: ModelGraph): Map<string, Layer[]> {
  const users = new Map<string, Layer[]>([[GRAPH_INPUT, []]]);
  for (const l of graph.layers) users.set(l.name, []);
  for (const l of graph.layers) for (const i of l.inputs) users.get(i)?.push(l);
  return users;
}

/** The first cycle through `start` among forward references, as "a → b → a", or null. */
function findCycle(graph: ModelGraph, start: string): string | null {
  const byName = new Map(graph.layers.map((l) => [l.name, l]));
  const path: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string): boolean => {
    if (n === start && path.length) return true;
    if (seen.has(n)) return false;
    seen.add(n);
    path.push(n);
    for (const i of byName.get(n)?.inputs ?? []) if (visit(i)) return true;
    path.pop();
    return false;
  };
  return visit(start) ? [...path, start].reverse().join(' → ') : null;
}

/**
 * Everything defineGraph checks beyond field types: unique names, references to earlier layers
 * (a cycle is reported as one), shapes, the output, layers nobody reads, and the rules of each
 * kind (what may be binarized, padding values, int8 first layers).
 */
export function checkGraph(graph: ModelGraph): void {
  const defined = new Set<string>([GRAPH_INPUT]);
  const all = new Set(graph.layers.map((l) => l.name));
  for (const layer of graph.layers) {
    if (layer.name === GRAPH_INPUT) throw new GraphError(`the name "${GRAPH_INPUT}" is reserved for the image`, layer.name);
    if (defined.has(layer.name)) throw new GraphError(`the name is used twice`, layer.name);
    for (const i of layer.inputs) {
      if (defined.has(i)) continue;
      if (!all.has(i)) throw new GraphError(`input "${i}" is not a layer of this graph (nor "${GRAPH_INPUT}")`, layer.name);
      const cycle = findCycle(graph, layer.name);
      throw new GraphError(cycle ? `the graph has a cycle: ${cycle}` : `input "${i}" comes after this layer: list layers so that every input comes first`, layer.name);
    }
    defined.add(layer.name);
  }
  const shapes = inferShapes(graph);
  const last = shapes[shapes.length - 1]!;
  const [oh, ow, oc] = last.output;
  if (oh !== 1 || ow !== 1 || oc !== graph.classes) throw new GraphError(`the last layer gives ${oh}×${ow}×${oc}, the logits must be 1×1×${graph.classes} (one per class)`, last.layer.name);
  const users = consumersOf(graph);
  for (const s of shapes.slice(0, -1)) if (users.get(s.layer.name)!.length === 0) throw new GraphError(`its output is never used (only the last layer may be unread)`, s.layer.name);
  for (const s of shapes) checkLayerRules(graph, s, users);
}

function checkLayerRules(graph: ModelGraph, s: LayerShape, users: Map<string, Layer[]>): void {
  const l = s.layer;
  const fail = (msg: string): never => {
    throw new GraphError(msg, l.name);
  };
  if (l.kind !== 'quantConv2d' && l.kind !== 'quantDense') return;
  const fromImage = l.inputs[0] === GRAPH_INPUT;
  if (l.inputQuantizer && fromImage) fail(`cannot binarize the image (pixels in [0, 1] would all become +1): a first layer takes the image as it is (inputQuantizer null)`);
  if (l.inputQuantizer && !l.kernelQuantizer) fail(`a binarized input needs binary weights (kernelQuantizer "ste_sign" or "stochastic"); float weights on ±1 inputs are not supported`);
  if (l.kernelQuantizer === 'stochastic' && !l.inputQuantizer) fail(`stochastic weights need a binarized input (inputQuantizer "ste_sign")`);
  if (l.kind === 'quantDense') return;
  const binaryInput = l.inputQuantizer !== null;
  if (binaryInput && l.padding === 'same' && l.padValue === null) fail(`a binary conv with 'same' padding needs padValue: 1 pads with +1 (Larq Compute Engine's choice, fastest), 0 with zeros (as a float conv)`);
  if (!(binaryInput && l.padding === 'same') && l.padValue !== null) fail(`padValue applies only to a binary conv (inputQuantizer set) with 'same' padding`);
  if (l.kernelQuantizer === 'stochastic' && l.padValue === 0) fail(`stochastic weights with zero padding are not supported: use padValue 1`);
  if (l.kernelQuantizer === 'ste_tern' && l.padValue === 0) fail(`ternary weights with zero padding are not supported: use padValue 1`);
  if (binaryInput && (l.kernelSize[0] > 1 || l.kernelSize[1] > 1) && readsFlatten(graph, l.inputs[0]!)) fail(`a ${l.kernelSize.join('×')} binary conv on a flattened tensor: use quantDense (or a 1×1 kernel)`);
  if (l.int8) {
    if (!fromImage) fail(`int8 applies to a layer on the image only (its input is quantized to u8)`);
    if (l.kernelQuantizer) fail(`int8 applies to a float conv (kernelQuantizer null)`);
    const taps = l.kernelSize[0] * l.kernelSize[1] * graph.input[2];
    if (taps > GRAPH_LIMITS.maxInt8Taps) fail(`int8 needs kh·kw·channels ≤ ${GRAPH_LIMITS.maxInt8Taps} (exact float32 sums), got ${taps}`);
    if (!onlyBinarized(graph, l.name, users)) fail(`int8 layers may only feed binarized inputs (through batchNorm, relu, scale, maxPool2d); this one reaches a float consumer or a flatten`);
  }
}

/**
 * Whether every path from `name` ends, through per-channel monotone layers (batchNorm, relu, scale,
 * maxPool2d, and flatten if `throughFlatten`), in a binarized input: then only the sign of its
 * values ever matters, and it is decided per value (an int8 layer's output never needs a float value).
 */
export function onlyBinarized(graph: ModelGraph, name: string, users = consumersOf(graph), throughFlatten = false): boolean {
  const list = users.get(name) ?? [];
  if (list.length === 0) return false;
  return list.every((u) => {
    if ((u.kind === 'quantConv2d' || u.kind === 'quantDense') && u.inputQuantizer) return true;
    if (u.kind === 'batchNorm' || u.kind === 'relu' || u.kind === 'scale' || u.kind === 'maxPool2d' || (throughFlatten && u.kind === 'flatten')) return onlyBinarized(graph, u.name, users, throughFlatten);
    return false;
  });
}

/** Whether `name` is a flatten, or reaches one back through per-channel layers (what a binarized input would read). */
function readsFlatten(graph: ModelGraph, name: string): boolean {
  const l = graph.layers.find((x) => x.name === name);
  if (!l) return false;
  if (l.kind === 'flatten') return true;
  return (l.kind === 'batchNorm' || l.kind === 'relu' || l.kind === 'scale') && readsFlatten(graph, l.inputs[0]!);
}

/** The layer of that name, or a GraphError. */
export function layerNamed(graph: ModelGraph, name: string): Layer {
  const l = graph.layers.find((x) => x.name === name);
  if (!l) throw new GraphError(`no layer named "${name}"`);
  return l;
}

/** Values per image of the input. */
export function inputSize(graph: Pick<ModelGraph, 'input'>): number {
  return graph.input[0] * graph.input[1] * graph.input[2];
}

/** The graph as plain JSON (what a model file or checkpoint stores; defineGraph reads it back). */
export function graphToJson(graph: ModelGraph): Json {
  return JSON.parse(JSON.stringify({ format: 'bnn-edge-graph', ...graph })) as Json;
}

/** Whether two graphs describe the same model (names of the graph aside). */
export function sameGraph(a: ModelGraph, b: ModelGraph): boolean {
  return JSON.stringify({ ...a, name: '' }) === JSON.stringify({ ...b, name: '' });
}

/** One line per layer: `conv2  quantConv2d 6×6/2 valid binary(ste_sign)  → 5×5×128`. */
export function describeLayer(s: LayerShape): string {
  const l = s.layer;
  const q = (l.kind === 'quantConv2d' || l.kind === 'quantDense') ? [l.inputQuantizer ? `in:${l.inputQuantizer}` : '', l.kernelQuantizer ? `w:${l.kernelQuantizer}` : '', l.useBias ? 'bias' : ''].filter(Boolean).join(' ') : '';
  switch (l.kind) {
    case 'quantConv2d':
      return `${l.kernelSize.join('×')}/${l.strides[0] === l.strides[1] ? l.strides[0] : l.strides.join('×')} ${l.padding}${l.padValue !== null ? ` pad ${l.padValue === 1 ? '+1' : '0'}` : ''} ${l.int8 ? 'int8 ' : ''}${q || 'float'}`.trim();
    case 'quantDense':
      return q || 'float';
    case 'batchNorm':
      return `${l.center ? 'β' : ''}${l.scale ? 'γ' : ''} ε ${Number(l.epsilon.toPrecision(7))}`;
    case 'maxPool2d':
    case 'avgPool2d':
      return `${l.poolSize.join('×')}/${l.strides.join('×')} ${l.padding}`;
    case 'add':
      return `${l.inputs[0]} + ${l.inputs[1]}`;
    default:
      return '';
  }
}
