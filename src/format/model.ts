/**
 * The decoded content of a .bnn file — what the writer serializes and the reader returns — and
 * the mapping between a trained checkpoint's parameters and the tensors each layer stores.
 */
import { BN_EPSILON, layerShapes, withQuantizedInput, type LayerShape, type ModelSpec } from '../model/spec.js';
import type { ParamValues } from '../model/params.js';
import { ohwiToHwio, packConvSigns, quantizeProbabilities, unpackConvSigns } from './bits.js';
import { quantizeWeightsPerChannel } from './quantize.js';
import { FORMAT_MAJOR, Role, ROLE_DTYPE, tensorByteLength, type RoleCode } from './layout.js';

export interface BatchNormParams {
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly beta: Float32Array;
  readonly gamma: Float32Array;
}

export interface BnnLayer {
  readonly shape: LayerShape;
  /** Float layers: conv HWIO, dense [in, out]. */
  readonly weightsF32?: Float32Array;
  /** Quantized float conv: int8 HWIO weights, w ≈ q · weightScale[cout]. */
  readonly weightsI8?: Int8Array;
  readonly weightScale?: Float32Array;
  /** Deterministic binary conv: packed sign words [cout][kh][kw][⌈cin/32⌉]. */
  readonly signWords?: Uint32Array;
  /** Stochastic binary conv: q per weight, OHWI, P(+1) = q/255. */
  readonly probabilities?: Uint8Array;
  /** Batch norm on the input of a binary layer. */
  readonly bn?: BatchNormParams;
  /** SReLU scalar of a scaled layer. */
  readonly scale?: number;
  /** Per-output-channel bias of a layer with one (model R). */
  readonly bias?: Float32Array;
}

export interface BnnModel {
  readonly spec: ModelSpec;
  readonly version: { readonly major: number; readonly minor: number };
  readonly bnEpsilon: number;
  readonly layers: readonly BnnLayer[];
}

export interface TensorPlanEntry {
  readonly role: RoleCode;
  readonly dims: readonly number[];
}

/** The tensors a layer stores, in file order. One definition for writer and reader. */
export function layerTensorPlan(shape: LayerShape): TensorPlanEntry[] {
  const l = shape.layer;
  const cin = shape.in[2];
  const cout = shape.out[2];
  if (l.kind === 'dense') return [{ role: Role.weightsF32, dims: [cin, cout] }, ...(l.bias ? [{ role: Role.bias, dims: [cout] }] : [])];
  const plan: TensorPlanEntry[] = [];
  if (l.binary) {
    for (const role of [Role.bnMean, Role.bnVariance, Role.bnBeta, Role.bnGamma]) plan.push({ role, dims: [cin] });
    plan.push({ role: l.stochastic ? Role.weightsProb : Role.weightsSign, dims: [cout, l.kernel, l.kernel, cin] });
  } else if (l.quantized) {
    plan.push({ role: Role.weightsI8, dims: [l.kernel, l.kernel, cin, cout] });
    plan.push({ role: Role.weightScale, dims: [cout] });
  } else {
    plan.push({ role: Role.weightsF32, dims: [l.kernel, l.kernel, cin, cout] });
  }
  if (l.bias) plan.push({ role: Role.bias, dims: [cout] });
  if (l.scaled) plan.push({ role: Role.sreluScale, dims: [1] });
  return plan;
}

/** The version a file of this spec is stamped with: the lowest that describes it (see FORMAT_MINOR). */
export function formatVersionFor(spec: ModelSpec): { major: number; minor: number } {
  return { major: FORMAT_MAJOR, minor: spec.layers.some((l) => l.bias) ? 1 : 0 };
}

/** Bytes a layer takes in the payload (without alignment padding). */
export function layerPayloadBytes(shape: LayerShape): number {
  return layerTensorPlan(shape).reduce((n, t) => n + tensorByteLength(ROLE_DTYPE[t.role], t.dims), 0);
}

export interface ExportOptions {
  /**
   * Quantize the first layer (u8 image, int8 weights; exact runtime/tfjs parity, faster). Default:
   * yes whenever the first layer feeds a binary layer (models B, C, S).
   */
  readonly quantizeInput?: boolean;
}

/** Whether a spec's first layer can be quantized (a float conv feeding a binary conv). */
export function canQuantizeInput(spec: ModelSpec): boolean {
  const [first, next] = spec.layers;
  return first?.kind === 'conv' && !first.binary && next?.kind === 'conv' && next.binary;
}

/** Encodes trained parameters (a checkpoint) as the deployable model. */
export function modelFromParams(trained: ModelSpec, params: ParamValues, opts: ExportOptions = {}): BnnModel {
  const quantize = opts.quantizeInput ?? canQuantizeInput(trained);
  const spec = quantize ? withQuantizedInput(trained) : trained;
  const get = (name: string): Float32Array => {
    const v = params.get(name);
    if (!v) throw new Error(`cannot export ${spec.arch}${spec.k}: parameter ${name} is missing`);
    return v;
  };
  const layers = layerShapes(spec).map((shape): BnnLayer => {
    const l = shape.layer;
    const kernel = get(`${l.name}/kernel`);
    const bias = l.bias ? { bias: get(`${l.name}/bias`) } : {};
    if (l.kind === 'dense') return { shape, weightsF32: kernel, ...bias };
    const [kh, kw, cin, cout] = shape.weights as [number, number, number, number];
    const scale = l.scaled ? get(`${l.name}/scale`)[0]! : undefined;
    if (!l.binary && l.quantized) {
      const { q, scale: weightScale } = quantizeWeightsPerChannel(kernel, cout);
      return { shape, weightsI8: q, weightScale, ...(scale !== undefined ? { scale } : {}) };
    }
    if (!l.binary) return { shape, weightsF32: kernel, ...bias, ...(scale !== undefined ? { scale } : {}) };
    const bn: BatchNormParams = {
      mean: get(`${l.name}/bn_mean`),
      variance: get(`${l.name}/bn_variance`),
      beta: get(`${l.name}/bn_beta`),
      gamma: new Float32Array(cin).fill(1),
    };
    const weights = l.stochastic ? { probabilities: quantizeProbabilities(kernel, kh, kw, cin, cout) } : { signWords: packConvSigns(kernel, kh, kw, cin, cout) };
    return { shape, bn, ...weights, ...(scale !== undefined ? { scale } : {}) };
  });
  return { spec, version: formatVersionFor(spec), bnEpsilon: BN_EPSILON, layers };
}

/**
 * Magnitude given to a binary weight restored from its sign bit: the file keeps only the sign, so
 * training resumes from ±this (the spread of a fresh binary initialization), which the forward
 * pass cannot tell from the original latent weight.
 */
export const RESTORED_BINARY_MAGNITUDE = 0.2;

/**
 * The inverse of modelFromParams: training parameters that export back to this model, for
 * continuing training from a shipped .bnn. Exact for float layers (all of model A); a binary
 * layer restarts from its signs (±RESTORED_BINARY_MAGNITUDE) and batch-norm statistics, a
 * stochastic one from its quantized probabilities (w = 2q/255 − 1), a quantized first conv from
 * its dequantized int8 weights. `exact` says whether every parameter came back bit for bit.
 */
export function paramsFromModel(model: BnnModel): { spec: ModelSpec; params: ParamValues; exact: boolean } {
  // The training spec: quantization is an export-time flag, not part of the architecture.
  const spec: ModelSpec = {
    ...model.spec,
    layers: model.spec.layers.map((l) => {
      if (l.kind !== 'conv' || l.quantized === undefined) return l;
      const { quantized: _, ...trained } = l;
      return trained;
    }),
  };
  const params: ParamValues = new Map();
  let exact = true;
  for (const layer of model.layers) {
    const l = layer.shape.layer;
    if (l.bias) params.set(`${l.name}/bias`, Float32Array.from(layer.bias!));
    if (l.kind === 'dense') {
      params.set(`${l.name}/kernel`, Float32Array.from(layer.weightsF32!));
      continue;
    }
    const [kh, kw, cin, cout] = layer.shape.weights as [number, number, number, number];
    if (l.scaled) params.set(`${l.name}/scale`, new Float32Array([layer.scale!]));
    if (!l.binary) {
      if (layer.weightsF32) params.set(`${l.name}/kernel`, Float32Array.from(layer.weightsF32));
      else {
        exact = false;
        const q = layer.weightsI8!;
        const w = new Float32Array(q.length);
        for (let i = 0; i < q.length; i++) w[i] = q[i]! * layer.weightScale![i % cout]!;
        params.set(`${l.name}/kernel`, w);
      }
      continue;
    }
    exact = false;
    const bn = layer.bn!;
    if (bn.gamma.some((g) => g !== 1)) throw new RangeError(`layer ${l.name}: batch-norm scale γ ≠ 1, which bnn-edge training does not have (the paper's batch norm is centre-only)`);
    params.set(`${l.name}/bn_beta`, Float32Array.from(bn.beta));
    params.set(`${l.name}/bn_mean`, Float32Array.from(bn.mean));
    params.set(`${l.name}/bn_variance`, Float32Array.from(bn.variance));
    let w: Float32Array;
    if (layer.probabilities) {
      const q = layer.probabilities;
      w = ohwiToHwio(Array.from(q, (v) => (2 * v) / 255 - 1), kh, kw, cin, cout);
    } else {
      w = unpackConvSigns(layer.signWords!, kh, kw, cin, cout);
      for (let i = 0; i < w.length; i++) w[i] = w[i]! * RESTORED_BINARY_MAGNITUDE;
    }
    params.set(`${l.name}/kernel`, w);
  }
  return { spec, params, exact };
}

/** The values of a decoded layer's tensor of a given role. */
export function tensorValues(layer: BnnLayer, role: RoleCode): Float32Array | Uint32Array | Uint8Array | Int8Array {
  const missing = (): never => {
    throw new Error(`layer ${layer.shape.layer.name} has no ${role} tensor`);
  };
  switch (role) {
    case Role.weightsF32:
      return layer.weightsF32 ?? missing();
    case Role.weightsSign:
      return layer.signWords ?? missing();
    case Role.weightsProb:
      return layer.probabilities ?? missing();
    case Role.bnMean:
      return layer.bn?.mean ?? missing();
    case Role.bnVariance:
      return layer.bn?.variance ?? missing();
    case Role.bnBeta:
      return layer.bn?.beta ?? missing();
    case Role.bnGamma:
      return layer.bn?.gamma ?? missing();
    case Role.sreluScale:
      return layer.scale !== undefined ? new Float32Array([layer.scale]) : missing();
    case Role.weightsI8:
      return layer.weightsI8 ?? missing();
    case Role.weightScale:
      return layer.weightScale ?? missing();
    case Role.bias:
      return layer.bias ?? missing();
  }
}
