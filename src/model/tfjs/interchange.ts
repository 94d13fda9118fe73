/**
 * tfjs interchange: any .bnn as a tfjs LayersModel (`model.json` + weights, loadable with
 * `tf.loadLayersModel` once model/tfjs/layers.ts is imported), and a LayersModel built from
 * bnn-edge's quantised layers (Larq's QuantConv2D / QuantDense config keys) and standard tfjs
 * layers back into a .bnn.
 *
 * Layer mapping (both directions):
 *   quantConv2d ↔ QuantConv2D (also imports Conv2D)   quantDense ↔ QuantDense (also imports Dense)
 *   batchNorm ↔ BatchNormalization (momentum 0.99)     relu ↔ ReLU (also imports Activation relu)
 *   scale ↔ Scale                                      maxPool2d / avgPool2d ↔ MaxPooling2D / AveragePooling2D
 *   globalAvgPool2d ↔ GlobalAveragePooling2D           add ↔ Add            flatten ↔ Flatten
 * Shapes: bnn-edge's tensors are [h, w, c] everywhere, a flat one being 1×1×c; in tfjs a Flatten,
 * GlobalAveragePooling2D or Dense output is [c]. The export keeps such tensors [c] and inserts a
 * Reshape where a layer needs the other form (a conv or pool after a flat tensor → [1, 1, c]; a
 * dense after a 1×1×c conv output → [c]; the logits → [classes]); the import reads a Reshape
 * between [c] and [1, 1, c] as no layer at all, and one from [h, w, c] to [h·w·c] as a flatten.
 * Dropout-like layers (identity at inference) and Activation linear import as nothing; a final
 * softmax is dropped (the .bnn's last layer is the logits; labels are unchanged).
 *
 * What round-trips exactly (.bnn → tfjs → .bnn gives the same file, hence the same logits):
 * float weights and batch-norm statistics as they are; binary weights as ±0.2 latent weights (a
 * .bnn keeps only signs; RESTORED_BINARY_MAGNITUDE); stochastic weights as w = 2q/255 − 1, which
 * quantize back to the same q; an int8 first layer as its dequantized float kernel plus its
 * per-channel `weight_scale` (and `int8: true` in its config), from which the importer recovers the
 * same int8 values and scales. The LayersModel itself computes in float32 — its predictions match
 * the runtime's in labels, not bits — and a stochastic layer computes sign(w) deterministically
 * (model/tfjs/layers.ts), not the runtime's resampled weights.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { MAX_DATA_FILE_BYTES, readDataFile } from '../../data/files.js';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { tf } from '../../tfjs/backend.js';
import { modelFromParams, paramsFromModel, withInt8, type BnnModel, type LayerTensors } from '../../format/model.js';
import { quantizeWeightsPerChannel } from '../../format/quantize.js';
import { checkGraph, defineGraph, GRAPH_INPUT, GraphError, inferShapes, LAYER_NAME_PATTERN, MODEL_NAME_PATTERN, type ModelGraph, type Shape3 } from '../graph.js';
import type { ParamValues } from '../params.js';
import { QuantConv2D, QuantDense, Scale, registerBnnLayers, weightKey, type QuantizerSpec } from './layers.js';

/** File names `saveLayersModel` writes. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'model.weights.bin';

/** Largest model.json read (a topology is kilobytes; this bounds a mistaken or hostile file). */
export const MAX_MODEL_JSON_BYTES = 64 << 20;

/** A LayersModel that cannot be imported, naming the layer and its class. */
export class InterchangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterchangeError';
  }
}

/** tfjs's rule for names that become variable scopes. */
const TFJS_NAME_PATTERN = /^[A-Za-z0-9][-A-Za-z0-9._/]*$/;

/** Hands out unique names of at most `max` characters of [A-Za-z0-9_.-]. */
class Names {
  private readonly used: Set<string>;
  constructor(taken: Iterable<string> = []) {
    this.used = new Set([GRAPH_INPUT, ...taken]);
  }

  /** `want` when it is valid and free, else a sanitized, shortened variant with a counter. */
  take(want: string, valid: (s: string) => boolean = (s) => LAYER_NAME_PATTERN.test(s) && TFJS_NAME_PATTERN.test(s)): string {
    if (valid(want) && !this.used.has(want)) {
      this.used.add(want);
      return want;
    }
    let base = want.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 19);
    if (!/^[A-Za-z0-9]/.test(base)) base = `x${base}`.slice(0, 19);
    for (let i = 0; ; i++) {
      const name = i === 0 && valid(base) ? base : `${base}_${i}`;
      if (valid(name) && !this.used.has(name)) {
        this.used.add(name);
        return name;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// .bnn → LayersModel
// ---------------------------------------------------------------------------------------------

interface TfValue {
  readonly t: tf.SymbolicTensor;
  /** 4: [n, h, w, c]; 2: [n, c] for a 1×1×c tensor. */
  readonly rank: 2 | 4;
  readonly shape: Shape3;
}

/**
 * The model as a functional tfjs LayersModel: input `input` [h, w, c], output the logits [n,
 * classes], one tfjs layer per graph layer with the graph's layer names (plus Reshape adapters,
 * see above), weights from `paramsFromModel(model)`. Dispose it when done.
 */
export function toLayersModel(model: BnnModel): tf.LayersModel {
  registerBnnLayers();
  const graph = model.graph;
  const { params } = paramsFromModel(model);
  const shapes = inferShapes(graph);
  const names = new Names();
  // Graph names are valid bnn-edge names; tfjs also wants an alphanumeric first character.
  const tfNames = new Map(graph.layers.map((l) => [l.name, names.take(l.name)]));
  const values = new Map<string, TfValue>();
  const input = tf.input({ shape: [...graph.input], name: GRAPH_INPUT, dtype: 'float32' });
  values.set(GRAPH_INPUT, { t: input, rank: 4, shape: graph.input });
  const adapters = new Map<string, TfValue>();
  const weights: { layer: tf.layers.Layer; values: Map<string, Float32Array> }[] = [];

  const reshaped = (from: string, rank: 2 | 4): TfValue => {
    const v = values.get(from)!;
    if (v.rank === rank) return v;
    const key = `${from}\u0000${rank}`;
    const cached = adapters.get(key);
    if (cached) return cached;
    const [h, w, c] = v.shape;
    if (h !== 1 || w !== 1) throw new Error(`internal: ${from} (${v.shape.join('×')}) has no flat form`);
    const target = rank === 2 ? [c] : [1, 1, c];
    const layer = tf.layers.reshape({ targetShape: target, name: names.take(`${tfNames.get(from) ?? from}_${rank}d`) });
    const out: TfValue = { t: layer.apply(v.t) as tf.SymbolicTensor, rank, shape: v.shape };
    adapters.set(key, out);
    return out;
  };

  shapes.forEach((s, i) => {
    const l = s.layer;
    const t: LayerTensors = model.layers[i]!;
    const name = tfNames.get(l.name)!;
    const p = (param: string): Float32Array => params.get(`${l.name}/${param}`)!;
    const from = l.inputs[0]!;
    let layer: tf.layers.Layer;
    let out: tf.SymbolicTensor;
    let rank: 2 | 4 = 4;
    const w = new Map<string, Float32Array>();
    switch (l.kind) {
      case 'quantConv2d':
        layer = new QuantConv2D({
          name,
          filters: l.filters,
          kernel_size: [...l.kernelSize],
          strides: [...l.strides],
          padding: l.padding,
          pad_values: l.padValue ?? 0,
          input_quantizer: l.inputQuantizer,
          kernel_quantizer: l.kernelQuantizer,
          use_bias: l.useBias,
          int8: l.int8,
        });
        out = layer.apply(reshaped(from, 4).t) as tf.SymbolicTensor;
        w.set('kernel', p('kernel'));
        if (l.useBias) w.set('bias', p('bias'));
        if (l.int8) w.set('weight_scale', Float32Array.from(t.weightScale!));
        break;
      case 'quantDense':
        layer = new QuantDense({ name, units: l.units, input_quantizer: l.inputQuantizer, kernel_quantizer: l.kernelQuantizer, use_bias: l.useBias });
        out = layer.apply(reshaped(from, 2).t) as tf.SymbolicTensor;
        rank = 2;
        w.set('kernel', p('kernel'));
        if (l.useBias) w.set('bias', p('bias'));
        break;
      case 'batchNorm': {
        const v = values.get(from)!;
        layer = tf.layers.batchNormalization({ name, axis: -1, momentum: 0.99, epsilon: l.epsilon, center: l.center, scale: l.scale });
        out = layer.apply(v.t) as tf.SymbolicTensor;
        rank = v.rank;
        if (l.center) w.set('beta', p('beta'));
        if (l.scale) w.set('gamma', p('gamma'));
        w.set('moving_mean', p('moving_mean'));
        w.set('moving_variance', p('moving_variance'));
        break;
      }
      case 'relu': {
        const v = values.get(from)!;
        layer = tf.layers.reLU({ name });
        out = layer.apply(v.t) as tf.SymbolicTensor;
        rank = v.rank;
        break;
      }
      case 'scale': {
        const v = values.get(from)!;
        layer = new Scale({ name, init: l.init });
        out = layer.apply(v.t) as tf.SymbolicTensor;
        rank = v.rank;
        w.set('scale', p('scale'));
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        const args = { name, poolSize: [...l.poolSize] as [number, number], strides: [...l.strides] as [number, number], padding: l.padding };
        layer = l.kind === 'maxPool2d' ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args);
        out = layer.apply(reshaped(from, 4).t) as tf.SymbolicTensor;
        break;
      }
      case 'globalAvgPool2d':
        layer = tf.layers.globalAveragePooling2d({ name });
        out = layer.apply(reshaped(from, 4).t) as tf.SymbolicTensor;
        rank = 2;
        break;
      case 'add': {
        const [a, b] = l.inputs.map((n) => values.get(n)!);
        const r: 2 | 4 = a!.rank === b!.rank ? a!.rank : 4;
        layer = tf.layers.add({ name });
        out = layer.apply([reshaped(l.inputs[0]!, r).t, reshaped(l.inputs[1]!, r).t]) as tf.SymbolicTensor;
        rank = r;
        break;
      }
      case 'flatten':
        layer = tf.layers.flatten({ name });
        out = layer.apply(reshaped(from, 4).t) as tf.SymbolicTensor;
        rank = 2;
        break;
    }
    values.set(l.name, { t: out, rank, shape: s.output });
    if (w.size) weights.push({ layer, values: w });
  });

  const last = graph.layers[graph.layers.length - 1]!.name;
  const lm = tf.model({ inputs: input, outputs: reshaped(last, 2).t, name: graph.name });
  for (const { layer, values: w } of weights) {
    const tensors = layer.weights.map((v) => {
      const data = w.get(weightKey(v));
      if (!data) throw new Error(`internal: no value for weight ${v.originalName} of layer ${layer.name}`);
      return tf.tensor(data, v.shape as number[], 'float32');
    });
    if (tensors.length !== w.size) throw new Error(`internal: layer ${layer.name} has ${tensors.length} weights, ${w.size} values were given`);
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
  return lm;
}

// ---------------------------------------------------------------------------------------------
// LayersModel → .bnn
// ---------------------------------------------------------------------------------------------

export interface ImportOptions {
  /** Name of the graph (default: the LayersModel's, made a valid bnn-edge name). */
  readonly name?: string;
  /**
   * int8 first layers. `keep` (default): QuantConv2D layers with `int8: true` (what an exported
   * .bnn had) ship as int8 again, with the int8 values and scales recovered exactly from the
   * kernel and its `weight_scale`; `auto` / true: every eligible float conv on the image ships as
   * int8 (re-quantized where no exact scale is recorded); false: all float32.
   */
  readonly int8?: 'keep' | 'auto' | boolean;
  /**
   * Larq quantizers whose forward pass is sign but whose training gradient bnn-edge lacks
   * (ApproxSign, SwishSign, SteSign with clip_value ≠ 1): import them as `ste_sign` (same forward
   * pass, hence the same .bnn) when true; refuse them (default).
   */
  readonly approximateQuantizers?: boolean;
  /** A final softmax: dropped (default: the .bnn's output is the logits, labels are the same) or refused. */
  readonly softmax?: 'drop' | 'error';
}

interface BnnValue {
  /** The bnn-edge layer (or `input`) holding this tensor. */
  readonly ref: string;
  readonly shape: Shape3;
}

type Json = Record<string, unknown>;

function shape3(t: tf.SymbolicTensor, where: string): Shape3 {
  const s = t.shape;
  const known = (v: number | null | undefined): v is number => typeof v === 'number' && v > 0;
  if (s.length === 4 && known(s[1]) && known(s[2]) && known(s[3])) return [s[1], s[2], s[3]];
  if (s.length === 2 && known(s[1])) return [1, 1, s[1]];
  throw new InterchangeError(`${where}: output shape [${s.map((v) => (v === null ? 'null' : v)).join(', ')}] is neither [batch, h, w, c] nor [batch, c] with known sizes`);
}

function pairOf(v: unknown, where: string, key: string, dflt?: [number, number]): [number, number] {
  if ((v === undefined || v === null) && dflt) return dflt;
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  throw new InterchangeError(`${where}: ${key} must be an integer or a pair, got ${JSON.stringify(v)}`);
}

function channelsLast(cfg: Json, where: string): void {
  const f = cfg['dataFormat'];
  if (f !== undefined && f !== null && f !== 'channelsLast' && f !== 'channels_last') throw new InterchangeError(`${where}: data format ${JSON.stringify(f)} is not supported (channels last only)`);
}

/**
 * A bnn-edge model from a LayersModel with one image input [h, w, c] and one output: the layers
 * and their inbound tensors become a graph (names kept where valid, else shortened), the weights
 * training parameters, then `modelFromParams` (int8 as `opts.int8` says). Unsupported layers,
 * shapes or options throw an InterchangeError naming the layer and its class; a graph bnn-edge
 * rejects throws its GraphError.
 */
export function fromLayersModel(lm: tf.LayersModel, opts: ImportOptions = {}): BnnModel {
  registerBnnLayers();
  if (lm.inputs.length !== 1 || lm.outputs.length !== 1) throw new InterchangeError(`model ${lm.name}: ${lm.inputs.length} inputs and ${lm.outputs.length} outputs, bnn-edge needs one image input and one output`);
  const inputT = lm.inputs[0]!;
  const outputT = lm.outputs[0]!;
  if (inputT.shape.length !== 4) throw new InterchangeError(`model ${lm.name}: the input has shape [${inputT.shape.join(', ')}], bnn-edge needs an image [batch, height, width, channels]`);
  const input = shape3(inputT, `model ${lm.name} input`);
  const names = new Names();
  const layers: Json[] = [];
  const params: ParamValues = new Map();
  /** int8 QuantConv2D layers: their recorded weight scales (null when none). */
  const int8Scales = new Map<string, Float32Array | null>();
  const memo = new Map<number, BnnValue>();
  const producerOf = new Map<tf.layers.Layer, number>();

  const readWeights = (layer: tf.layers.Layer): Map<string, Float32Array> => {
    const out = new Map<string, Float32Array>();
    for (const v of layer.weights) out.set(weightKey(v), Float32Array.from(v.read().dataSync() as Float32Array));
    return out;
  };

  const quantizer = (q: QuantizerSpec, where: string): string | null => {
    if (q.approximate && !opts.approximateQuantizers) throw new InterchangeError(`${where}: quantizer ${q.approximate}; pass approximateQuantizers to import it as ste_sign`);
    return q.name;
  };

  const visit = (t: tf.SymbolicTensor): BnnValue => {
    const hit = memo.get(t.id);
    if (hit) return hit;
    const layer = t.sourceLayer;
    const cls = layer.getClassName();
    const where = `layer "${layer.name}" (${cls})`;
    if (cls === 'InputLayer') {
      if (t !== inputT && layer !== inputT.sourceLayer) throw new InterchangeError(`${where}: a second input; bnn-edge models take one image`);
      const v = { ref: GRAPH_INPUT, shape: input };
      memo.set(t.id, v);
      return v;
    }
    const seen = producerOf.get(layer);
    if (seen !== undefined && seen !== t.id) throw new InterchangeError(`${where}: the layer is applied more than once (shared layers are not supported)`);
    producerOf.set(layer, t.id);
    if (layer instanceof tf.LayersModel) throw new InterchangeError(`${where}: nested models are not supported; build the model from layers`);
    const ins = t.inputs.map(visit);
    const v = convert(t, layer, cls, where, ins);
    memo.set(t.id, v);
    return v;
  };

  const emit = (want: string, json: Json, weights: Map<string, Float32Array> | null, keys: readonly string[], shape: Shape3): BnnValue => {
    const name = names.take(want, (s) => LAYER_NAME_PATTERN.test(s));
    layers.push({ name, ...json });
    for (const k of keys) {
      const v = weights?.get(k);
      if (!v) throw new InterchangeError(`layer "${want}": weight ${k} is missing`);
      const bad = v.findIndex((e) => !Number.isFinite(e) || (k === 'moving_variance' && e < 0));
      if (bad >= 0) throw new InterchangeError(`layer "${want}": weight ${k}, element ${bad} is ${v[bad]} (${k === 'moving_variance' ? 'a variance must be finite and ≥ 0' : 'weights must be finite'})`);
      params.set(`${name}/${k}`, v);
    }
    return { ref: name, shape };
  };

  const convert = (t: tf.SymbolicTensor, layer: tf.layers.Layer, cls: string, where: string, ins: BnnValue[]): BnnValue => {
    const cfg = layer.getConfig() as Json;
    const x = ins[0]!;
    const one = () => {
      if (ins.length !== 1) throw new InterchangeError(`${where}: expects one input, got ${ins.length}`);
    };
    const alias = (): BnnValue => {
      one();
      return x;
    };
    const out = () => shape3(t, where);
    switch (cls) {
      case 'QuantConv2D':
      case 'Conv2D': {
        one();
        let conv: { filters: number; kernelSize: [number, number]; strides: [number, number]; padding: string; padValues: number; iq: string | null; kq: string | null; useBias: boolean; relu: boolean; int8: boolean };
        if (layer instanceof QuantConv2D) {
          conv = { filters: layer.filters, kernelSize: layer.kernelSize, strides: layer.strides, padding: layer.padding, padValues: layer.padValues, iq: quantizer(layer.inputQuantizer, where), kq: quantizer(layer.kernelQuantizer, where), useBias: layer.useBias, relu: layer.activation === 'relu', int8: layer.int8 };
        } else {
          if (cls === 'QuantConv2D') throw new InterchangeError(`${where}: not bnn-edge's QuantConv2D class (import model/tfjs/layers.ts before loading the model)`);
          channelsLast(cfg, where);
          const dil = pairOf(cfg['dilationRate'], where, 'dilationRate', [1, 1]);
          if (dil[0] !== 1 || dil[1] !== 1) throw new InterchangeError(`${where}: dilation ${dil.join('×')} is not supported`);
          const act = cfg['activation'];
          if (act !== undefined && act !== null && act !== 'linear' && act !== 'relu') throw new InterchangeError(`${where}: activation ${JSON.stringify(act)} is not supported (linear or relu)`);
          conv = { filters: cfg['filters'] as number, kernelSize: pairOf(cfg['kernelSize'], where, 'kernelSize'), strides: pairOf(cfg['strides'], where, 'strides', [1, 1]), padding: cfg['padding'] as string, padValues: 0, iq: null, kq: null, useBias: cfg['useBias'] !== false, relu: act === 'relu', int8: false };
        }
        if (conv.padding !== 'same' && conv.padding !== 'valid') throw new InterchangeError(`${where}: padding ${JSON.stringify(conv.padding)} is not supported (same or valid)`);
        let padValue: 0 | 1 | null = null;
        if (conv.padding === 'same' && conv.iq) {
          if (conv.padValues !== 0 && conv.padValues !== 1) throw new InterchangeError(`${where}: pad_values ${conv.padValues} is not supported (0 or 1: bnn-edge pads a binarized input with zeros or +1)`);
          padValue = conv.padValues;
        } else if (conv.padding === 'same' && conv.padValues !== 0) throw new InterchangeError(`${where}: pad_values ${conv.padValues} on a float input is not supported (bnn-edge pads float inputs with zeros)`);
        const w = readWeights(layer);
        const v = emit(
          layer.name,
          { kind: 'quantConv2d', inputs: [x.ref], filters: conv.filters, kernelSize: conv.kernelSize, strides: conv.strides, padding: conv.padding, padValue, inputQuantizer: conv.iq, kernelQuantizer: conv.kq, useBias: conv.useBias },
          w,
          conv.useBias ? ['kernel', 'bias'] : ['kernel'],
          out(),
        );
        if (conv.int8) int8Scales.set(v.ref, w.get('weight_scale') ?? null);
        return conv.relu ? emit(`${v.ref}_relu`, { kind: 'relu', inputs: [v.ref] }, null, [], v.shape) : v;
      }
      case 'QuantDense':
      case 'Dense': {
        one();
        if (x.shape[0] !== 1 || x.shape[1] !== 1) throw new InterchangeError(`${where}: applied to a ${x.shape.join('×')} tensor; bnn-edge's dense layers take a flat input (add a Flatten before it)`);
        let dense: { units: number; iq: string | null; kq: string | null; useBias: boolean; relu: boolean };
        if (layer instanceof QuantDense) {
          dense = { units: layer.units, iq: quantizer(layer.inputQuantizer, where), kq: quantizer(layer.kernelQuantizer, where), useBias: layer.useBias, relu: layer.activation === 'relu' };
        } else {
          if (cls === 'QuantDense') throw new InterchangeError(`${where}: not bnn-edge's QuantDense class (import model/tfjs/layers.ts before loading the model)`);
          const act = cfg['activation'];
          const finalSoftmax = act === 'softmax' && t === outputT && opts.softmax !== 'error';
          if (act !== undefined && act !== null && act !== 'linear' && act !== 'relu' && !finalSoftmax) throw new InterchangeError(`${where}: activation ${JSON.stringify(act)} is not supported (linear or relu, or softmax on the output)`);
          dense = { units: cfg['units'] as number, iq: null, kq: null, useBias: cfg['useBias'] !== false, relu: act === 'relu' };
        }
        const v = emit(layer.name, { kind: 'quantDense', inputs: [x.ref], units: dense.units, inputQuantizer: dense.iq, kernelQuantizer: dense.kq, useBias: dense.useBias }, readWeights(layer), dense.useBias ? ['kernel', 'bias'] : ['kernel'], [1, 1, dense.units]);
        return dense.relu ? emit(`${v.ref}_relu`, { kind: 'relu', inputs: [v.ref] }, null, [], v.shape) : v;
      }
      case 'BatchNormalization': {
        one();
        const rank = t.inputs[0]!.shape.length;
        const axis = Array.isArray(cfg['axis']) && cfg['axis'].length === 1 ? cfg['axis'][0] : cfg['axis'];
        if (axis !== undefined && axis !== -1 && axis !== rank - 1) throw new InterchangeError(`${where}: axis ${JSON.stringify(cfg['axis'])} is not supported (the channels, last axis)`);
        const center = cfg['center'] !== false;
        const scale = cfg['scale'] !== false;
        const epsilon = (cfg['epsilon'] as number | undefined) ?? 1e-3;
        const keys = [...(center ? ['beta'] : []), ...(scale ? ['gamma'] : []), 'moving_mean', 'moving_variance'];
        return emit(layer.name, { kind: 'batchNorm', inputs: [x.ref], center, scale, epsilon }, readWeights(layer), keys, x.shape);
      }
      case 'ReLU': {
        one();
        const max = cfg['maxValue'];
        if (max !== undefined && max !== null) throw new InterchangeError(`${where}: maxValue ${JSON.stringify(max)} is not supported (plain ReLU only)`);
        return emit(layer.name, { kind: 'relu', inputs: [x.ref] }, null, [], x.shape);
      }
      case 'Activation': {
        one();
        const act = cfg['activation'];
        if (act === 'relu') return emit(layer.name, { kind: 'relu', inputs: [x.ref] }, null, [], x.shape);
        if (act === 'linear') return x;
        if (act === 'softmax' && t === outputT && opts.softmax !== 'error') return x;
        throw new InterchangeError(`${where}: activation ${JSON.stringify(act)} is not supported (relu, linear, or softmax on the output)`);
      }
      case 'Scale': {
        one();
        if (!(layer instanceof Scale)) throw new InterchangeError(`${where}: not bnn-edge's Scale class`);
        return emit(layer.name, { kind: 'scale', inputs: [x.ref], init: layer.init }, readWeights(layer), ['scale'], x.shape);
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        one();
        channelsLast(cfg, where);
        const poolSize = pairOf(cfg['poolSize'], where, 'poolSize', [2, 2]);
        const strides = pairOf(cfg['strides'], where, 'strides', poolSize);
        const padding = cfg['padding'] ?? 'valid';
        if (padding !== 'same' && padding !== 'valid') throw new InterchangeError(`${where}: padding ${JSON.stringify(padding)} is not supported`);
        return emit(layer.name, { kind: cls === 'MaxPooling2D' ? 'maxPool2d' : 'avgPool2d', inputs: [x.ref], poolSize, strides, padding }, null, [], out());
      }
      case 'GlobalAveragePooling2D':
        one();
        channelsLast(cfg, where);
        return emit(layer.name, { kind: 'globalAvgPool2d', inputs: [x.ref] }, null, [], [1, 1, x.shape[2]]);
      case 'Add': {
        if (ins.length !== 2) throw new InterchangeError(`${where}: adds ${ins.length} tensors; bnn-edge's add takes two`);
        return emit(layer.name, { kind: 'add', inputs: [ins[0]!.ref, ins[1]!.ref] }, null, [], x.shape);
      }
      case 'Flatten':
        one();
        // channels_first moves our H axis last before flattening (W·C·H order): the same as ours only when H = 1 or W·C = 1.
        if (x.shape[0] > 1 && x.shape[1] * x.shape[2] > 1) channelsLast(cfg, where);
        return emit(layer.name, { kind: 'flatten', inputs: [x.ref] }, null, [], [1, 1, x.shape[0] * x.shape[1] * x.shape[2]]);
      case 'Reshape': {
        one();
        const target = (cfg['targetShape'] as (number | null)[] | undefined) ?? [];
        const [h, w, c] = x.shape;
        const size = h * w * c;
        const flat = (target.length === 1 && target[0] === size) || (target.length === 3 && target[0] === 1 && target[1] === 1 && target[2] === size) || (target.length === 1 && target[0] === -1);
        if (!flat) throw new InterchangeError(`${where}: reshape of ${x.shape.join('×')} to [${target.join(', ')}] is not supported (only to [${size}] or [1, 1, ${size}])`);
        if (h === 1 && w === 1) return x;
        return emit(layer.name, { kind: 'flatten', inputs: [x.ref] }, null, [], [1, 1, size]);
      }
      case 'Dropout':
      case 'SpatialDropout1D':
      case 'SpatialDropout2D':
      case 'GaussianNoise':
      case 'GaussianDropout':
      case 'AlphaDropout':
        return alias();
      default:
        throw new InterchangeError(`${where}: layer class ${cls} is not supported (QuantConv2D, QuantDense, Conv2D, Dense, BatchNormalization, ReLU, Activation, Scale, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Add, Flatten, Reshape, Dropout)`);
    }
  };

  const result = visit(outputT);
  if (result.ref === GRAPH_INPUT) throw new InterchangeError(`model ${lm.name}: the output is the input (no layers)`);
  const nameRaw = opts.name ?? lm.name;
  const graphName = MODEL_NAME_PATTERN.test(nameRaw) ? nameRaw : nameRaw.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32) || 'model';
  let graph: ModelGraph;
  try {
    graph = defineGraph({ name: graphName, input, classes: result.shape[2], layers });
  } catch (e) {
    if (e instanceof GraphError) e.message = `model ${lm.name} as a bnn-edge graph: ${e.message}`;
    throw e;
  }
  return withInt8Layers(graph, params, int8Scales, opts.int8 ?? 'keep');
}

/**
 * int8 values and scales that dequantize to `w` exactly with the recorded `scale`, if they exist
 * (the kernel was exported from an int8 layer and not changed since); else a fresh quantization.
 */
function int8Of(w: Float32Array, scale: Float32Array | null, cout: number): { q: Int8Array; scale: Float32Array } {
  if (scale && scale.length === cout && scale.every((s) => Number.isFinite(s) && s > 0)) {
    const q = new Int8Array(w.length);
    let exact = true;
    for (let i = 0; i < w.length && exact; i++) {
      const s = scale[i % cout]!;
      const v = Math.round(w[i]! / s);
      exact = Math.abs(v) <= 127 && Math.fround(v * s) === w[i];
      q[i] = v;
    }
    if (exact) return { q, scale: Float32Array.from(scale) };
  }
  return quantizeWeightsPerChannel(w, cout);
}

function withInt8Layers(graph: ModelGraph, params: ParamValues, recorded: Map<string, Float32Array | null>, mode: 'keep' | 'auto' | boolean): BnnModel {
  const base = modelFromParams(graph, params, { int8: false });
  let int8: Set<string>;
  if (mode === 'keep') int8 = new Set(recorded.keys());
  else if (mode === false) int8 = new Set();
  else int8 = new Set(withInt8(graph, 'auto').layers.filter((l) => l.kind === 'quantConv2d' && l.int8).map((l) => l.name));
  if (int8.size === 0) return base;
  const g8: ModelGraph = { ...graph, layers: graph.layers.map((l) => (l.kind === 'quantConv2d' ? { ...l, int8: int8.has(l.name) } : l)) };
  checkGraph(g8);
  const layers = g8.layers.map((l, i): LayerTensors => {
    if (l.kind !== 'quantConv2d' || !l.int8) return base.layers[i]!;
    const { q, scale } = int8Of(params.get(`${l.name}/kernel`)!, recorded.get(l.name) ?? null, l.filters);
    const bias = base.layers[i]!.bias;
    return { weightsI8: q, weightScale: scale, ...(bias ? { bias } : {}) };
  });
  return { graph: g8, version: base.version, layers };
}

// ---------------------------------------------------------------------------------------------
// Files: model.json + weights
// ---------------------------------------------------------------------------------------------

/**
 * Writes `model` (a .bnn, exported with toLayersModel, or a LayersModel) to `dir` as tfjs's
 * Layers format: `model.json` (topology and weights manifest) and `model.weights.bin`. (tfjs's
 * `file://` handler comes with tfjs-node only, so the files are written here through
 * `tf.io.withSaveHandler`.) Returns the two paths.
 */
export async function saveLayersModel(model: BnnModel | tf.LayersModel, dir: string): Promise<{ modelJson: string; weights: string }> {
  const lm = model instanceof tf.LayersModel ? model : toLayersModel(model);
  const modelJson = join(dir, MODEL_JSON);
  const weights = join(dir, WEIGHTS_BIN);
  try {
    mkdirSync(dir, { recursive: true });
    await lm.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
        writeFileSync(weights, new Uint8Array(data));
        const json: Json = {
          format: artifacts.format ?? 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        };
        if (artifacts.trainingConfig) json['trainingConfig'] = artifacts.trainingConfig;
        if (artifacts.userDefinedMetadata) json['userDefinedMetadata'] = artifacts.userDefinedMetadata;
        writeFileSync(modelJson, JSON.stringify(json));
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
  } finally {
    if (lm !== model) lm.dispose();
  }
  return { modelJson, weights };
}

/**
 * Loads a tfjs Layers-format model (a directory holding `model.json`, or the path of the JSON
 * file) with `tf.loadLayersModel`, bnn-edge's layer classes registered. Weight files are read
 * from beside the JSON; a manifest path leading outside its directory is refused.
 */
export async function loadLayersModelFrom(path: string): Promise<tf.LayersModel> {
  registerBnnLayers();
  if (!existsSync(path)) throw new InterchangeError(`${path}: not found (give a tfjs model directory or its model.json)`);
  const file = statSync(path).isDirectory() ? join(path, MODEL_JSON) : path;
  const dir = resolve(dirname(file));
  let json: Json;
  try {
    json = JSON.parse(new TextDecoder().decode(readDataFile(file, MAX_MODEL_JSON_BYTES))) as Json;
  } catch (e) {
    throw new InterchangeError(`${file}: not a JSON file (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || !json['modelTopology']) throw new InterchangeError(`${file}: no modelTopology (not a tfjs Layers-format model.json)`);
  refuseDroppedKeys(json['modelTopology'], file);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  const manifest = (json['weightsManifest'] ?? []) as unknown;
  if (!Array.isArray(manifest)) throw new InterchangeError(`${file}: weightsManifest must be a list`);
  for (const [g, group] of (manifest as unknown[]).entries()) {
    const { paths, weights } = (group ?? {}) as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) throw new InterchangeError(`${file}: weightsManifest[${g}].paths must be a list of file names`);
    if (!Array.isArray(weights) || !weights.every((w) => typeof w === 'object' && w !== null)) throw new InterchangeError(`${file}: weightsManifest[${g}].weights must be a list of weight entries`);
    for (const p of paths as string[]) {
      const full = resolve(dir, p);
      const rel = relative(dir, full);
      if (rel.startsWith('..') || isAbsolute(rel)) throw new InterchangeError(`${file}: weight file ${JSON.stringify(p)} is outside ${dir}`);
      parts.push(readDataFile(full, MAX_DATA_FILE_BYTES));
      if (parts.reduce((n, b) => n + b.byteLength, 0) > MAX_DATA_FILE_BYTES) throw new InterchangeError(`${file}: weight files add up to more than ${MAX_DATA_FILE_BYTES} bytes`);
    }
    specs.push(...(weights as tf.io.WeightsManifestEntry[]));
  }
  const total = parts.reduce((n, b) => n + b.byteLength, 0);
  checkWeightSizes(specs, total, file);
  const data = new Uint8Array(total);
  let at = 0;
  for (const b of parts) {
    data.set(b, at);
    at += b.byteLength;
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json['modelTopology'] as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: data.buffer,
    format: json['format'] as string | undefined,
    generatedBy: json['generatedBy'] as string | undefined,
    convertedBy: json['convertedBy'] as string | null | undefined,
  };
  if (json['trainingConfig']) artifacts.trainingConfig = json['trainingConfig'] as tf.io.TrainingConfig;
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** Bytes per element of a weight as stored (its quantization's dtype when quantized). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** The weights' declared sizes add up to the data given; else an error naming the first that does not fit. */
function checkWeightSizes(specs: readonly tf.io.WeightsManifestEntry[], total: number, file: string): void {
  let at = 0;
  for (const [i, w] of specs.entries()) {
    const name = typeof w.name === 'string' ? w.name : `#${i}`;
    const shape = w.shape as unknown;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new InterchangeError(`${file}: weight ${name}: shape ${JSON.stringify(shape)} is not a list of sizes`);
    const dtype = w.quantization?.dtype ?? w.dtype;
    const bytes = DTYPE_BYTES[dtype as string];
    if (bytes === undefined) throw new InterchangeError(`${file}: weight ${name}: dtype ${JSON.stringify(dtype)} is not supported`);
    at += (shape as number[]).reduce((n, d) => n * d, 1) * bytes;
    if (at > total) throw new InterchangeError(`${file}: weight ${name} ends at byte ${at}, but the weight files hold ${total} bytes`);
  }
  if (at !== total) throw new InterchangeError(`${file}: the weights declare ${at} bytes, but the weight files hold ${total}`);
}

/**
 * Layer options tfjs drops when it rebuilds a layer (so getConfig cannot show them), refused from
 * the JSON itself: Keras's ReLU(negative_slope, threshold) would otherwise load as a plain ReLU.
 */
function refuseDroppedKeys(topology: unknown, file: string): void {
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== 'object' || v === null) return;
    const o = v as Json;
    if (o['class_name'] === 'ReLU' && typeof o['config'] === 'object' && o['config'] !== null) {
      const cfg = o['config'] as Json;
      for (const key of ['negative_slope', 'threshold'])
        if (cfg[key] !== undefined && cfg[key] !== null && cfg[key] !== 0) throw new InterchangeError(`${file}: layer ${JSON.stringify(cfg['name'])} (ReLU): ${key} ${JSON.stringify(cfg[key])} is not supported (plain ReLU only)`);
    }
    for (const x of Object.values(o)) walk(x);
  };
  walk(topology);
}

/** loadLayersModelFrom + fromLayersModel: a tfjs Layers-format model on disk as a bnn-edge model. */
export async function importLayersModel(path: string, opts: ImportOptions = {}): Promise<BnnModel> {
  const lm = await loadLayersModelFrom(path);
  try {
    return fromLayersModel(lm, opts);
  } finally {
    lm.dispose();
  }
}

export { QuantConv2D, QuantDense, Scale, registerBnnLayers } from './layers.js';
