/**
 * The decoded content of a .bnn file — a model graph and, per layer, the tensors it ships — and
 * the mapping between a checkpoint's training parameters and those tensors (export, and back for
 * `train --init FILE.bnn`).
 */
import { checkParams, paramInfos, type ParamValues } from '../model/params.js';
import { GRAPH_INPUT, GRAPH_LIMITS, inferShapes, onlyBinarized, TERNARY_THRESHOLD, type LayerShape, type ModelGraph } from '../model/graph.js';
import { ohwiToHwio, packConvSigns, packConvTernary, quantizeProbabilities, unpackConvSigns, unpackConvTernary } from './bits.js';
import { quantizeWeightsPerChannel } from './quantize.js';
import { FORMAT_MAJOR, FORMAT_MINOR, Role, ROLE_DTYPE, tensorByteLength, type RoleCode } from './layout.js';

/** What one layer ships; which fields are present follows from the layer (`layerTensorPlan`). */
export interface LayerTensors {
  /** Float weights: conv HWIO [kh, kw, cin, cout], dense [in, units]. */
  readonly weightsF32?: Float32Array;
  /** Binary weights as packed sign words: conv [cout][kh][kw][⌈cin/32⌉], dense [units][⌈in/32⌉]. */
  readonly signWords?: Uint32Array;
  /** Ternary weights: which are nonzero, packed as signWords (bit 1 ↔ nonzero; signWords is 0 where this is 0). */
  readonly maskWords?: Uint32Array;
  /** Stochastic binary weights: q per weight, conv OHWI [cout][kh][kw][cin], dense [units][in]; P(+1) = q/255. */
  readonly probabilities?: Uint8Array;
  /** int8 conv: weights HWIO, w ≈ q · weightScale[cout]. */
  readonly weightsI8?: Int8Array;
  readonly weightScale?: Float32Array;
  /** Per-output-channel bias of a conv or dense layer with `useBias`. */
  readonly bias?: Float32Array;
  /** Batch norm: moving mean and variance, shift β and scale γ (β = 0, γ = 1 where not trained; then not stored). */
  readonly mean?: Float32Array;
  readonly variance?: Float32Array;
  readonly beta?: Float32Array;
  readonly gamma?: Float32Array;
  /** A scale layer's scalar. */
  readonly scale?: number;
}

export interface BnnModel {
  readonly graph: ModelGraph;
  readonly version: { readonly major: number; readonly minor: number };
  /** In graph order, one per layer (layers without parameters ship nothing). */
  readonly layers: readonly LayerTensors[];
}

export interface TensorPlanEntry {
  readonly role: RoleCode;
  readonly dims: readonly number[];
}

/** The tensors a layer stores, in file order. One definition for writer and reader. */
export function layerTensorPlan(s: LayerShape): TensorPlanEntry[] {
  const l = s.layer;
  const cin = s.inputs[0]![2];
  const plan: TensorPlanEntry[] = [];
  if (l.kind === 'quantConv2d' || l.kind === 'quantDense') {
    const conv = l.kind === 'quantConv2d';
    const [kh, kw] = conv ? l.kernelSize : [1, 1];
    const cout = conv ? l.filters : l.units;
    // Binary kinds are stored OHWI as [cout, kh, kw, cin] (dense: kh = kw = 1); float ones HWIO.
    const ohwi = [cout, kh, kw, cin];
    if (l.kernelQuantizer === 'stochastic') plan.push({ role: Role.weightsProb, dims: ohwi });
    else if (l.kernelQuantizer) plan.push({ role: Role.weightsSign, dims: ohwi });
    else if (conv && l.int8) plan.push({ role: Role.weightsI8, dims: [kh, kw, cin, cout] }, { role: Role.weightScale, dims: [cout] });
    else plan.push({ role: Role.weightsF32, dims: conv ? [kh, kw, cin, cout] : [cin, cout] });
    if (l.kernelQuantizer === 'ste_tern') plan.push({ role: Role.weightsMask, dims: ohwi });
    if (l.useBias) plan.push({ role: Role.bias, dims: [cout] });
  } else if (l.kind === 'batchNorm') {
    // β and γ only where trained: without CENTER β = 0, without SCALE γ = 1.
    plan.push({ role: Role.bnMean, dims: [cin] }, { role: Role.bnVariance, dims: [cin] });
    if (l.center) plan.push({ role: Role.bnBeta, dims: [cin] });
    if (l.scale) plan.push({ role: Role.bnGamma, dims: [cin] });
  } else if (l.kind === 'scale') {
    plan.push({ role: Role.scale, dims: [1] });
  }
  return plan;
}

/** Whether a graph has ternary weights (which need format 2.1). */
export function usesTernary(graph: ModelGraph): boolean {
  return graph.layers.some((l) => (l.kind === 'quantConv2d' || l.kind === 'quantDense') && l.kernelQuantizer === 'ste_tern');
}

/**
 * The version a writer stamps: the oldest 2.x that holds the graph — 2.1 with ternary weights,
 * else 2.0, so a file without them stays readable by 2.0 readers (1.x files are read, not written).
 */
export function formatVersion(graph: ModelGraph): { major: number; minor: number } {
  return { major: FORMAT_MAJOR, minor: usesTernary(graph) ? FORMAT_MINOR : 0 };
}

/** Bytes a layer takes in the payload (without alignment padding). */
export function layerPayloadBytes(s: LayerShape): number {
  return layerTensorPlan(s).reduce((n, t) => n + tensorByteLength(ROLE_DTYPE[t.role], t.dims), 0);
}

/** Float convs on the image that can ship as int8 (their output is only ever binarized). */
function int8Eligible(graph: ModelGraph): Set<string> {
  const out = new Set<string>();
  for (const l of graph.layers) {
    if (l.kind !== 'quantConv2d' || l.kernelQuantizer || l.inputs[0] !== GRAPH_INPUT) continue;
    if (l.kernelSize[0] * l.kernelSize[1] * graph.input[2] > GRAPH_LIMITS.maxInt8Taps) continue;
    if (onlyBinarized(graph, l.name)) out.add(l.name);
  }
  return out;
}

/** The graph with `int8` set on every eligible layer (`auto`), or cleared everywhere (`false`). */
export function withInt8(graph: ModelGraph, mode: 'auto' | boolean): ModelGraph {
  if (mode === true) mode = 'auto';
  const eligible = mode === 'auto' ? int8Eligible(graph) : new Set<string>();
  return { ...graph, layers: graph.layers.map((l) => (l.kind === 'quantConv2d' ? { ...l, int8: eligible.has(l.name) } : l)) };
}

export interface ExportOptions {
  /**
   * Ship float first layers as int8 on a u8 image where that is exact for what follows (their
   * output is only ever binarized): `auto` (default) or `true` does it wherever possible, `false`
   * keeps float32 weights.
   */
  readonly int8?: 'auto' | boolean;
}

/** Encodes trained parameters (a checkpoint) as the deployable model. */
export function modelFromParams(trained: ModelGraph, params: ParamValues, opts: ExportOptions = {}): BnnModel {
  const graph = withInt8(trained, opts.int8 ?? 'auto');
  const get = (name: string): Float32Array => {
    const v = params.get(name);
    if (!v) throw new Error(`cannot export ${graph.name}: parameter ${name} is missing`);
    return v;
  };
  const layers = inferShapes(graph).map((s): LayerTensors => {
    const l = s.layer;
    const cin = s.inputs[0]![2];
    if (l.kind === 'batchNorm') {
      return { mean: get(`${l.name}/moving_mean`), variance: get(`${l.name}/moving_variance`), beta: l.center ? get(`${l.name}/beta`) : new Float32Array(cin), gamma: l.scale ? get(`${l.name}/gamma`) : new Float32Array(cin).fill(1) };
    }
    if (l.kind === 'scale') return { scale: get(`${l.name}/scale`)[0]! };
    if (l.kind !== 'quantConv2d' && l.kind !== 'quantDense') return {};
    const kernel = get(`${l.name}/kernel`);
    const bias = l.useBias ? { bias: get(`${l.name}/bias`) } : {};
    const [kh, kw] = l.kind === 'quantConv2d' ? l.kernelSize : [1, 1];
    const cout = l.kind === 'quantConv2d' ? l.filters : l.units;
    if (l.kernelQuantizer === 'stochastic') return { probabilities: quantizeProbabilities(kernel, kh, kw, cin, cout), ...bias };
    if (l.kernelQuantizer === 'ste_tern') return { ...packConvTernary(kernel, kh, kw, cin, cout, TERNARY_THRESHOLD), ...bias };
    if (l.kernelQuantizer) return { signWords: packConvSigns(kernel, kh, kw, cin, cout), ...bias };
    if (l.kind === 'quantConv2d' && l.int8) {
      const { q, scale } = quantizeWeightsPerChannel(kernel, cout);
      return { weightsI8: q, weightScale: scale, ...bias };
    }
    return { weightsF32: kernel, ...bias };
  });
  return { graph, version: formatVersion(graph), layers };
}

/**
 * Magnitude given to a binary weight restored from its sign bit: the file keeps only the sign, so
 * training resumes from ±this (the spread of a fresh binary initialization), which the forward
 * pass cannot tell from the original latent weight.
 */
export const RESTORED_BINARY_MAGNITUDE = 0.2;

/**
 * The inverse of modelFromParams: training parameters that export back to this model, for
 * continuing training from a shipped .bnn. Exact for float layers; a binary layer restarts from
 * its signs (±RESTORED_BINARY_MAGNITUDE), a stochastic one from its quantized probabilities
 * (w = 2q/255 − 1), an int8 conv from its dequantized weights. `exact` says whether every
 * parameter came back bit for bit. The graph returned is the training graph (int8 cleared).
 */
export function paramsFromModel(model: BnnModel): { graph: ModelGraph; params: ParamValues; exact: boolean } {
  const graph = withInt8(model.graph, false);
  const params: ParamValues = new Map();
  let exact = true;
  inferShapes(graph).forEach((s, i) => {
    const l = s.layer;
    const t = model.layers[i]!;
    const cin = s.inputs[0]![2];
    const set = (param: string, v: Float32Array) => params.set(`${l.name}/${param}`, Float32Array.from(v));
    if (l.kind === 'batchNorm') {
      if (!l.center && t.beta!.some((b) => b !== 0)) throw new RangeError(`layer ${l.name}: β ≠ 0 in a batch norm without center`);
      if (!l.scale && t.gamma!.some((g) => g !== 1)) throw new RangeError(`layer ${l.name}: γ ≠ 1 in a batch norm without scale`);
      if (l.center) set('beta', t.beta!);
      if (l.scale) set('gamma', t.gamma!);
      set('moving_mean', t.mean!);
      set('moving_variance', t.variance!);
      return;
    }
    if (l.kind === 'scale') return void set('scale', new Float32Array([t.scale!]));
    if (l.kind !== 'quantConv2d' && l.kind !== 'quantDense') return;
    if (t.bias) set('bias', t.bias);
    const [kh, kw] = l.kind === 'quantConv2d' ? l.kernelSize : [1, 1];
    const cout = l.kind === 'quantConv2d' ? l.filters : l.units;
    if (t.weightsF32) return void set('kernel', t.weightsF32);
    exact = false;
    if (t.weightsI8) {
      const w = new Float32Array(t.weightsI8.length);
      for (let j = 0; j < w.length; j++) w[j] = t.weightsI8[j]! * t.weightScale![j % cout]!;
      return void set('kernel', w);
    }
    if (t.probabilities) return void set('kernel', ohwiToHwio(Array.from(t.probabilities, (v) => (2 * v) / 255 - 1), kh, kw, cin, cout));
    const w = t.maskWords ? unpackConvTernary(t.signWords!, t.maskWords, kh, kw, cin, cout) : unpackConvSigns(t.signWords!, kh, kw, cin, cout);
    for (let j = 0; j < w.length; j++) w[j] = w[j]! * RESTORED_BINARY_MAGNITUDE;
    set('kernel', w);
  });
  checkParams(graph, params, `model ${graph.name}`);
  return { graph, params, exact };
}

/** Names of the parameters of a graph, in order (for messages). */
export function parameterNames(graph: ModelGraph): string[] {
  return paramInfos(graph).map((p) => p.name);
}

/** The values of a decoded layer's tensor of a given role. */
export function tensorValues(layer: LayerTensors, role: RoleCode, where: string): Float32Array | Uint32Array | Uint8Array | Int8Array {
  const missing = (): never => {
    throw new Error(`layer ${where} has no ${role} tensor`);
  };
  switch (role) {
    case Role.weightsF32:
      return layer.weightsF32 ?? missing();
    case Role.weightsSign:
      return layer.signWords ?? missing();
    case Role.weightsProb:
      return layer.probabilities ?? missing();
    case Role.bnMean:
      return layer.mean ?? missing();
    case Role.bnVariance:
      return layer.variance ?? missing();
    case Role.bnBeta:
      return layer.beta ?? missing();
    case Role.bnGamma:
      return layer.gamma ?? missing();
    case Role.scale:
      return layer.scale !== undefined ? new Float32Array([layer.scale]) : missing();
    case Role.weightsI8:
      return layer.weightsI8 ?? missing();
    case Role.weightScale:
      return layer.weightScale ?? missing();
    case Role.bias:
      return layer.bias ?? missing();
    case Role.weightsMask:
      return layer.maskWords ?? missing();
  }
}
