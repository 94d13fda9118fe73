/**
 * A graph's training parameters: names, shapes and initial values. Names are `layer/param`:
 * `conv2/kernel` (HWIO; dense [in, out]), `conv2/bias`, `bn2/beta`, `bn2/gamma`,
 * `bn2/moving_mean`, `bn2/moving_variance`, `scale2/scale`. The order of paramInfos is the order
 * of checkpoints, flat training vectors and the initializer's random draws.
 */
import { Rng } from '../util/rng.js';
import { GRAPH_INPUT, inferShapes, onlyBinarized, type Layer, type ModelGraph } from './graph.js';

/** Host-side parameter values by name. */
export type ParamValues = Map<string, Float32Array>;

export interface ParamInfo {
  readonly name: string;
  readonly layer: string;
  readonly shape: readonly number[];
  /** Updated by the optimizer (false for batch-norm moving statistics). */
  readonly trainable: boolean;
}

export function paramInfos(graph: ModelGraph): ParamInfo[] {
  const infos: ParamInfo[] = [];
  const p = (layer: Layer, param: string, shape: number[], trainable = true) => infos.push({ name: `${layer.name}/${param}`, layer: layer.name, shape, trainable });
  for (const s of inferShapes(graph)) {
    const l = s.layer;
    const cin = s.inputs[0]![2];
    if (l.kind === 'quantConv2d') {
      p(l, 'kernel', [l.kernelSize[0], l.kernelSize[1], cin, l.filters]);
      if (l.useBias) p(l, 'bias', [l.filters]);
    } else if (l.kind === 'quantDense') {
      p(l, 'kernel', [cin, l.units]);
      if (l.useBias) p(l, 'bias', [l.units]);
    } else if (l.kind === 'batchNorm') {
      if (l.center) p(l, 'beta', [cin]);
      if (l.scale) p(l, 'gamma', [cin]);
      p(l, 'moving_mean', [cin], false);
      p(l, 'moving_variance', [cin], false);
    } else if (l.kind === 'scale') {
      p(l, 'scale', []);
    }
  }
  return infos;
}

/** Number of float32 values of all parameters (the "float32 weights" size is 4× this). */
export function floatParamCount(graph: ModelGraph): number {
  return paramInfos(graph).reduce((n, p) => n + size(p.shape), 0);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function truncatedNormal(n: number, std: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z = rng.normal();
    while (Math.abs(z) > 2) z = rng.normal();
    a[i] = z * std;
  }
  return a;
}

/** Scales each output column (last axis) of a [rows, cols] weight matrix to unit L2 norm. */
function normalizeColumns(w: Float32Array, cols: number): void {
  const norms = new Float64Array(cols);
  for (let i = 0; i < w.length; i++) norms[i % cols]! += w[i]! * w[i]!;
  for (let i = 0; i < w.length; i++) w[i] = w[i]! / Math.sqrt(1e-7 + norms[i % cols]!);
}

/**
 * Initial parameters, as in the paper's code: float convs truncated-normal(0.1) scaled to unit
 * norm per filter; binary kernels truncated-normal(0.2) (their sign is what matters); float dense
 * layers normal with unit-norm columns; batch norm β 0, γ 1, moving mean 0, variance 1; scale
 * layers their `init`; biases 0. Only kernels draw random numbers, in layer order. One exception:
 * a pixel threshold — a 1×1 float conv with bias on a one-channel image whose output is only ever
 * binarized — starts as thresholds spread over the pixel range (filter j of f: w = 1,
 * b = −(j+1)/(f+1); one filter: x ≥ 0.5, EEV's BinMask), not at random: from a random start
 * training settles on a threshold near the background, where every blank pixel flips at a small ε.
 */
export function initParams(graph: ModelGraph, seed: number): ParamValues {
  const rng = new Rng(seed);
  const layers = new Map(graph.layers.map((l) => [l.name, l]));
  const values: ParamValues = new Map();
  for (const p of paramInfos(graph)) {
    const n = size(p.shape);
    const layer = layers.get(p.layer)!;
    const param = p.name.slice(p.layer.length + 1);
    let v: Float32Array;
    const threshold = isPixelThreshold(graph, layer);
    if (threshold && param === 'kernel') v = new Float32Array(n).fill(1);
    else if (threshold && param === 'bias') v = Float32Array.from({ length: n }, (_, j) => -(j + 1) / (n + 1));
    else if (param === 'kernel' && (layer.kind === 'quantConv2d' || layer.kind === 'quantDense')) {
      const cols = p.shape[p.shape.length - 1]!;
      if (layer.kernelQuantizer) v = truncatedNormal(n, 0.2, rng);
      else if (layer.kind === 'quantConv2d') {
        v = truncatedNormal(n, 0.1, rng);
        normalizeColumns(v, cols);
      } else {
        v = new Float32Array(n);
        for (let i = 0; i < n; i++) v[i] = rng.normal();
        normalizeColumns(v, cols);
      }
    } else if (param === 'gamma' || param === 'moving_variance') v = new Float32Array(n).fill(1);
    else if (param === 'scale' && layer.kind === 'scale') v = new Float32Array([layer.init]);
    else v = new Float32Array(n); // beta, moving_mean, bias
    values.set(p.name, v);
  }
  return values;
}

/** Whether a layer thresholds the pixels of a one-channel image (see initParams). */
export function isPixelThreshold(graph: ModelGraph, l: Layer): boolean {
  return l.kind === 'quantConv2d' && l.inputs[0] === GRAPH_INPUT && graph.input[2] === 1 && l.kernelSize[0] === 1 && l.kernelSize[1] === 1 && !l.kernelQuantizer && l.useBias && onlyBinarized(graph, l.name);
}

/** Checks that `values` holds exactly the parameters of `graph` with the right sizes. */
export function checkParams(graph: ModelGraph, values: ParamValues, where: string): void {
  const infos = paramInfos(graph);
  for (const p of infos) {
    const v = values.get(p.name);
    if (!v) throw new Error(`${where}: missing parameter ${p.name}`);
    if (v.length !== size(p.shape)) throw new Error(`${where}: parameter ${p.name} has ${v.length} values, expected ${size(p.shape)} for shape [${p.shape.join(', ')}]`);
  }
  const known = new Set(infos.map((p) => p.name));
  for (const name of values.keys()) if (!known.has(name)) throw new Error(`${where}: unexpected parameter ${name}`);
}

/**
 * Parameter names of the paper's models before graphs (checkpoints that record `arch` and `k`),
 * mapped to the preset graph's: `conv2/bn_beta` → `bn2/beta`, `conv3/scale` → `scale3/scale`, ….
 */
export function legacyParamName(name: string): string {
  const m = /^conv(\d)\/(bn_beta|bn_mean|bn_variance|scale)$/.exec(name);
  if (!m) return name;
  const i = m[1]!;
  return { bn_beta: `bn${i}/beta`, bn_mean: `bn${i}/moving_mean`, bn_variance: `bn${i}/moving_variance`, scale: `scale${i}/scale` }[m[2]!]!;
}
