/**
 * Checking a BnnModel made by hand (or by any code other than the reader) with the reader's rules,
 * so that the runtime never runs what a .bnn file could not hold: a short sign-word array (stale
 * memory read as weights), NaN weights, ε = −1, a name or size out of range. The tensors' kinds
 * and lengths are checked here (read through the intrinsic getters: a subclass cannot misstate
 * them); everything else by writing the model as a .bnn and reading it back, so the rules are
 * the reader's own, not a second copy of them. What comes back is that read-back copy, which the
 * caller cannot change afterwards.
 */
import { defineGraph, GraphError, inferShapes, type ModelGraph } from '../model/graph.js';
import { BnnFormatError, type BnnFormatErrorCode } from './errors.js';
import { DType, ROLE_DTYPE, ROLE_NAMES, tensorByteLength, type RoleCode } from './layout.js';
import { layerTensorPlan, type BnnModel, type LayerTensors } from './model.js';
import { parseBnn } from './read.js';
import { typedArrayLength, typedArrayTag } from './views.js';
import { serializeBnn } from './write.js';

/** Where errors about a model object say they come from. */
const SOURCE = 'BnnModel';

const FIELD_OF: Record<RoleCode, keyof LayerTensors> = {
  1: 'weightsF32',
  2: 'signWords',
  3: 'probabilities',
  4: 'mean',
  5: 'variance',
  6: 'beta',
  7: 'gamma',
  8: 'scale',
  9: 'weightsI8',
  10: 'weightScale',
  11: 'bias',
  12: 'maskWords',
};

const ARRAY_OF: Record<number, string> = { [DType.f32]: 'Float32Array', [DType.signBits]: 'Uint32Array', [DType.probU8]: 'Uint8Array', [DType.i8]: 'Int8Array' };

const LAYER_KEYS = new Set<string>(Object.values(FIELD_OF));

function fail(code: BnnFormatErrorCode, msg: string): never {
  throw new BnnFormatError(code, 0, msg, SOURCE);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

/** The layer's tensors, each of the exact kind and length the layer needs; nothing else. */
function checkLayerTensors(t: unknown, shape: ReturnType<typeof inferShapes>[number], i: number): LayerTensors {
  const l = shape.layer;
  const where = `layer ${i} (${l.name})`;
  if (!isObject(t)) fail('MISSING_TENSOR', `${where}: its tensors must be an object`);
  const plan = layerTensorPlan(shape);
  const out: Record<string, unknown> = {};
  for (const p of plan) {
    const field = FIELD_OF[p.role];
    const v = t[field];
    if (v === undefined) fail('MISSING_TENSOR', `${where} has no ${field} (${ROLE_NAMES[p.role]})`);
    if (p.role === 8) {
      if (typeof v !== 'number') fail('BAD_TENSOR', `${where}: scale must be a number, got ${typeof v}`);
      out[field] = v;
      continue;
    }
    const dtype = ROLE_DTYPE[p.role];
    const kind = ARRAY_OF[dtype]!;
    if (typedArrayTag(v) !== kind) fail('BAD_TENSOR', `${where}: ${field} must be a ${kind}`);
    const want = tensorByteLength(dtype, p.dims) / (dtype === DType.f32 || dtype === DType.signBits ? 4 : 1);
    const got = typedArrayLength(v);
    if (got !== want) fail('SIZE_MISMATCH', `${where}: ${field} holds ${got} values, its shape [${p.dims.join(', ')}] needs ${want}`);
    out[field] = v;
  }
  // A batch norm without CENTER / SCALE computes with β = 0 / γ = 1 (the file stores neither): a
  // model object may carry those, and nothing else.
  const implied = (field: 'beta' | 'gamma', value: number) => {
    const v = t[field];
    if (v === undefined || field in out) return;
    if (typedArrayTag(v) !== 'Float32Array' || typedArrayLength(v) !== shape.inputs[0]![2]) fail('BAD_TENSOR', `${where}: ${field} must be a Float32Array of ${shape.inputs[0]![2]} values`);
    const arr = v as Float32Array;
    const n = typedArrayLength(v);
    for (let j = 0; j < n; j++) if (arr[j] !== value) fail('BAD_VALUE', `${where}: ${field}[${j}] is ${arr[j]}, but a batch norm without ${field === 'beta' ? 'center' : 'scale'} has ${field} = ${value}`);
  };
  if (l.kind === 'batchNorm') {
    implied('beta', 0);
    implied('gamma', 1);
  }
  for (const key of Object.keys(t)) {
    if (!LAYER_KEYS.has(key)) fail('BAD_TENSOR', `${where}: unknown tensor field ${JSON.stringify(key)}`);
    if (t[key] !== undefined && !(key in out) && !(l.kind === 'batchNorm' && (key === 'beta' || key === 'gamma'))) fail('BAD_TENSOR', `${where}: a ${l.kind} layer${l.kind === 'quantConv2d' || l.kind === 'quantDense' ? ' with these options' : ''} has no ${key}`);
  }
  return out as LayerTensors;
}

/**
 * The model checked with the reader's rules, as the reader would return it (a copy): a
 * BnnFormatError (source "BnnModel", offset 0 for object-level problems, else the offset the
 * value would have in the model's .bnn) if a .bnn file could not hold it.
 */
export function checkModel(model: unknown): BnnModel {
  try {
    if (!isObject(model)) fail('BAD_GRAPH', `a BnnModel must be an object, got ${model === null ? 'null' : typeof model}`);
    const version = model['version'];
    if (!isObject(version) || (version['major'] !== 1 && version['major'] !== 2) || !Number.isInteger(version['minor']) || (version['minor'] as number) < 0 || (version['minor'] as number) > 0xffff) {
      fail('BAD_VERSION', 'version must be { major: 1 or 2, minor: 0–65535 }');
    }
    let graph: ModelGraph;
    try {
      graph = defineGraph(model['graph']);
    } catch (e) {
      if (e instanceof GraphError) fail('BAD_GRAPH', `invalid model graph: ${e.message}`);
      throw e;
    }
    const layers = model['layers'];
    if (!Array.isArray(layers)) fail('BAD_GRAPH', 'layers must be an array (one set of tensors per layer)');
    const shapes = inferShapes(graph);
    if (layers.length !== shapes.length) fail('BAD_GRAPH', `${layers.length} tensor sets for a graph of ${shapes.length} layers`);
    const checked = shapes.map((s, i) => checkLayerTensors(layers[i], s, i));
    const read = parseBnn(serializeBnn({ graph, version: { major: 2, minor: 0 }, layers: checked }), { source: SOURCE });
    return { ...read, version: { major: version['major'] as number, minor: version['minor'] as number } };
  } catch (e) {
    if (e instanceof BnnFormatError) throw e;
    // A getter or Proxy that throws, or an object the writer cannot encode: refused, typed.
    throw new BnnFormatError('BAD_VALUE', 0, `not a valid BnnModel: ${e instanceof Error ? e.message : String(e)}`, SOURCE);
  }
}
