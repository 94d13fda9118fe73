/**
 * Parses and validates .bnn bytes into a model graph and its tensors. The structure is checked
 * first — magic, version, sizes, table offsets, every layer record (the graph, rebuilt from the
 * records alone and validated like any graph, then compared field by field with its canonical
 * encoding), every tensor record (the tensor the layer needs, in the writer's order, at the
 * writer's offset), zero padding between tensors — then the checksum, then every value (finite
 * floats, non-negative variances, positive scales, zero padding bits, batch-norm constants
 * finite in float32). Every rejection is a BnnFormatError with a code and the byte offset of the
 * offending field. Version 1.x files go to read_v1.ts and come back as the same kind of model.
 */
import { batchNormAffine } from '../model/threshold.js';
import { defineGraph, GraphError, inferShapes, type ModelGraph } from '../model/graph.js';
import { crc32 } from './crc32.js';
import { BnnFormatError, type BnnFormatErrorCode } from './errors.js';
import {
  alignUp,
  FORMAT_MAJOR,
  HEADER_FIELDS,
  HEADER_SIZE,
  INPUT_QUANTIZER_CODES,
  KERNEL_QUANTIZER_CODES,
  KIND_CODES,
  LAYER_FIELDS,
  LAYER_RECORD_SIZE,
  LayerFlag,
  LIMITS,
  MAGIC,
  PAD_VALUE_CODES,
  PAYLOAD_ALIGN,
  Role,
  ROLE_DTYPE,
  ROLE_NAMES,
  TENSOR_FIELDS,
  TENSOR_RECORD_SIZE,
  tensorByteLength,
  wordsPerPixel,
  type Field,
  type RoleCode,
} from './layout.js';
import { layerTensorPlan, usesTernary, type BnnModel, type LayerTensors } from './model.js';
import { parseBnnV1 } from './read_v1.js';
import { plainBytes } from './views.js';
import { V1_HEADER_SIZE, V1_LIMITS } from './layout_v1.js';
import { inputIndex, layerRecord } from './write.js';

export type RecordOf<F extends readonly Field[]> = { [K in F[number] as K['name']]: K['type'] extends 'name' ? string : number };

/** Reads one record's fields (a `name` field as raw bytes decoded to a string; see `checkName`). */
export function readRecord<F extends readonly Field[]>(view: DataView, base: number, fields: F): RecordOf<F> {
  const out: Record<string, number | string> = {};
  for (const f of fields) {
    const at = base + f.offset;
    if (f.type === 'name') {
      let s = '';
      for (let i = 0; i < f.size!; i++) s += String.fromCharCode(view.getUint8(at + i));
      out[f.name] = s;
    } else out[f.name] = f.type === 'u8' ? view.getUint8(at) : f.type === 'u16' ? view.getUint16(at, true) : f.type === 'u32' ? view.getUint32(at, true) : view.getFloat32(at, true);
  }
  return out as RecordOf<F>;
}

export function offsetOf(fields: readonly Field[], name: string): number {
  return fields.find((f) => f.name === name)!.offset;
}

export interface ParseOptions {
  /** Name shown in error messages (e.g. the file path). */
  readonly source?: string;
}

export type Fail = (code: BnnFormatErrorCode, offset: number, msg: string) => never;

/**
 * The bytes of a .bnn given as a Uint8Array (a Node Buffer included), another typed array, an
 * ArrayBuffer or a DataView — read through the intrinsic getters (views.ts), so a subclass or a
 * Proxy cannot misstate its length. Anything larger than a .bnn may be is refused before a byte
 * is read, and bytes another thread can change (a SharedArrayBuffer) are copied first, so that
 * what is checked is what is decoded.
 */
function asBytes(input: unknown, fail: Fail): Uint8Array {
  const view = plainBytes(input);
  if (!view) throw new TypeError(`parseBnn takes the file's bytes (Uint8Array, ArrayBuffer or DataView), got ${describe(input)}`);
  const { bytes, shared } = view;
  if (bytes.length > LIMITS.maxFileBytes) fail('LIMIT_EXCEEDED', 0, `${bytes.length} bytes is more than a .bnn file may have (${LIMITS.maxFileBytes})`);
  return shared ? bytes.slice() : bytes;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return Array.isArray(x) ? 'an array' : 'an object that is not a byte buffer';
}

export function parseBnn(input: Uint8Array | ArrayBuffer | DataView, opts: ParseOptions = {}): BnnModel {
  const fail = failWith(opts);
  const bytes = asBytes(input, fail);
  const major = checkPreamble(bytes, bytes.length, fail);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return major === 1 ? parseBnnV1(bytes, view, fail) : parseBnnV2(bytes, view, fail);
}

function failWith(opts: ParseOptions): Fail {
  return (code, offset, msg) => {
    throw new BnnFormatError(code, offset, msg, opts.source);
  };
}

/**
 * The checks that need only the first bytes and the file's size, in the reader's order: length,
 * magic, major version, header size, declared size (within the limit, equal to the actual size).
 * Returns the major version. A file reader runs this on the header alone, before reading the rest.
 */
function checkPreamble(head: Uint8Array, size: number, fail: Fail): 1 | 2 {
  if (size < 12 || head.length < 12) fail('TRUNCATED', size, `file is ${size} bytes, too short for a .bnn header`);
  for (let i = 0; i < MAGIC.length; i++) if (head[i] !== MAGIC[i]) fail('BAD_MAGIC', i, 'not a .bnn file (magic bytes differ)');
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const major = view.getUint16(8, true);
  if (major !== 1 && major !== FORMAT_MAJOR) fail('BAD_VERSION', 8, `format version ${major}.${view.getUint16(10, true)} is not supported (this reader reads 1.x and ${FORMAT_MAJOR}.x)`);
  const headerSize = major === 1 ? V1_HEADER_SIZE : HEADER_SIZE;
  const limit = major === 1 ? V1_LIMITS.maxFileBytes : LIMITS.maxFileBytes;
  const v = major === 1 ? '1.x ' : '';
  if (size < headerSize || head.length < headerSize) fail('TRUNCATED', size, `file is ${size} bytes, shorter than the ${headerSize}-byte ${v}header`);
  const headerBytes = view.getUint32(12, true);
  const fileBytes = view.getUint32(16, true);
  if (headerBytes !== headerSize) fail('BAD_HEADER', 12, `header size ${headerBytes}, expected ${headerSize}`);
  if (fileBytes > limit) fail('LIMIT_EXCEEDED', 16, `declared size ${fileBytes} exceeds the ${limit}-byte limit`);
  if (size < fileBytes) fail('TRUNCATED', size, `file is ${size} bytes, header declares ${fileBytes}`);
  if (size > fileBytes) fail('SIZE_MISMATCH', 16, `file is ${size} bytes, header declares ${fileBytes} (trailing data)`);
  return major;
}

/** Bytes a reader needs before it can run the header checks (the larger of the two header sizes). */
export const PREAMBLE_BYTES = Math.max(HEADER_SIZE, V1_HEADER_SIZE);

/**
 * The header checks of parseBnn on a file's first PREAMBLE_BYTES (or fewer) and its actual size,
 * so that a file reader can reject a file — junk, a wrong version, trailing data, a size that does
 * not match — before reading the rest of it. Throws the BnnFormatError parseBnn would.
 */
export function checkBnnPreamble(head: Uint8Array, size: number, opts: ParseOptions = {}): void {
  checkPreamble(head, size, failWith(opts));
}

/** A NUL-padded ASCII name: the characters before the first NUL, checked; the rest must be NUL. */
function checkName(raw: string, at: number, what: string, fail: Fail): string {
  const end = raw.indexOf('\0');
  const name = end < 0 ? raw : raw.slice(0, end);
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) fail('BAD_VALUE', at, `${what} ${JSON.stringify(name)} must be 1 or more of A–Z a–z 0–9 _ . -`);
  if (end >= 0 && /[^\0]/.test(raw.slice(end))) fail('BAD_VALUE', at + end, `${what}: bytes after its terminating NUL must be 0`);
  return name;
}

function parseBnnV2(bytes: Uint8Array, view: DataView, fail: Fail): BnnModel {
  // Length, magic, version, header size and declared size were checked by checkPreamble.
  const h = readRecord(view, 0, HEADER_FIELDS);
  const at = (name: string) => offsetOf(HEADER_FIELDS, name);
  if (h.layerCount < 1 || h.layerCount > LIMITS.maxLayers) fail('LIMIT_EXCEEDED', at('layerCount'), `${h.layerCount} layers (allowed 1..${LIMITS.maxLayers})`);
  if (h.tensorCount > LIMITS.maxTensors) fail('LIMIT_EXCEEDED', at('tensorCount'), `${h.tensorCount} tensors exceed the limit of ${LIMITS.maxTensors}`);
  const tensorTableOffset = HEADER_SIZE + LAYER_RECORD_SIZE * h.layerCount;
  const tableEnd = tensorTableOffset + TENSOR_RECORD_SIZE * h.tensorCount;
  const payloadOffset = alignUp(tableEnd, PAYLOAD_ALIGN);
  if (h.layerTableOffset !== HEADER_SIZE) fail('BAD_HEADER', at('layerTableOffset'), `layer table at ${h.layerTableOffset}, expected ${HEADER_SIZE}`);
  if (h.tensorTableOffset !== tensorTableOffset) fail('BAD_HEADER', at('tensorTableOffset'), `tensor table at ${h.tensorTableOffset}, expected ${tensorTableOffset}`);
  if (h.payloadOffset !== payloadOffset || payloadOffset > h.fileBytes) fail('BAD_HEADER', at('payloadOffset'), `payload at ${h.payloadOffset}, expected ${payloadOffset} within ${h.fileBytes} bytes`);
  const modelName = checkName(h.modelName, at('modelName'), 'model name', fail);

  const graph = readGraph(view, h, modelName, fail);
  if (usesTernary(graph) && h.versionMinor < 1) fail('BAD_VERSION', at('versionMinor'), `ternary weights (kernelQuantizer 4) need format 2.1, the file declares 2.${h.versionMinor}`);
  const shapes = inferShapes(graph);

  // Tensor records: exactly the planned tensors, in the writer's order and at its offsets.
  const plan = shapes.flatMap((s, layer) => layerTensorPlan(s).map((t) => ({ ...t, layer })));
  if (h.tensorCount !== plan.length) fail('SHAPE_MISMATCH', at('tensorCount'), `${h.tensorCount} tensor records, the graph's layers need ${plan.length}`);
  let cursor = payloadOffset;
  const refs: { offset: number; byteLength: number; role: RoleCode; layer: number }[] = [];
  plan.forEach((p, i) => {
    const base = tensorTableOffset + i * TENSOR_RECORD_SIZE;
    const t = readRecord(view, base, TENSOR_FIELDS);
    const fAt = (name: string) => base + offsetOf(TENSOR_FIELDS, name);
    const what = `tensor ${i} (${ROLE_NAMES[p.role]} of layer ${shapes[p.layer]!.layer.name})`;
    if (t.layer !== p.layer) fail('BAD_TENSOR', fAt('layer'), `tensor ${i} names layer ${t.layer}, expected ${p.layer} (records follow layer order, then each layer's tensors in order)`);
    if (t.role !== p.role) fail('BAD_TENSOR', fAt('role'), `tensor ${i} has role ${t.role}${t.role in ROLE_NAMES ? ` (${ROLE_NAMES[t.role as RoleCode]})` : ''}, layer ${shapes[p.layer]!.layer.name} needs ${ROLE_NAMES[p.role]} (${p.role}) here`);
    if (t.dtype !== ROLE_DTYPE[p.role]) fail('BAD_TENSOR', fAt('dtype'), `${what} has dtype ${t.dtype}, expected ${ROLE_DTYPE[p.role]}`);
    if (t.reserved0 !== 0 || t.reserved1 !== 0) fail('BAD_TENSOR', fAt(t.reserved0 !== 0 ? 'reserved0' : 'reserved1'), `${what}: reserved fields must be 0`);
    if (t.ndim !== p.dims.length) fail('SHAPE_MISMATCH', fAt('ndim'), `${what} has ${t.ndim} dimensions, expected ${p.dims.length}`);
    const dims = [t.dim0, t.dim1, t.dim2, t.dim3];
    for (let d = 0; d < 4; d++) {
      const want = d < p.dims.length ? p.dims[d]! : 1;
      if (dims[d] !== want) fail('SHAPE_MISMATCH', fAt(`dim${d}`), `${what}: dimension ${d} is ${dims[d]}, expected ${want} (shape [${p.dims.join(', ')}])`);
    }
    const expected = tensorByteLength(ROLE_DTYPE[p.role], p.dims);
    if (expected > LIMITS.maxTensorBytes) fail('LIMIT_EXCEEDED', fAt('byteLength'), `${what} would take ${expected} bytes (limit ${LIMITS.maxTensorBytes})`);
    if (t.byteLength !== expected) fail('SIZE_MISMATCH', fAt('byteLength'), `${what} is ${t.byteLength} bytes, its shape needs ${expected}`);
    if (t.offset !== cursor) fail('BAD_TENSOR', fAt('offset'), `${what} data at ${t.offset}, expected ${cursor} (each tensor follows the previous one, ${PAYLOAD_ALIGN}-byte aligned)`);
    if (t.offset + t.byteLength > h.fileBytes) fail('TENSOR_OUT_OF_BOUNDS', fAt('offset'), `${what} data [${t.offset}, ${t.offset + t.byteLength}) runs past the end of the file (${h.fileBytes} bytes)`);
    refs.push({ offset: t.offset, byteLength: t.byteLength, role: p.role, layer: p.layer });
    cursor = alignUp(t.offset + t.byteLength, PAYLOAD_ALIGN);
  });
  if (cursor !== h.fileBytes) fail('SIZE_MISMATCH', at('fileBytes'), `the tensors end at ${cursor}, the header declares ${h.fileBytes} bytes`);
  // Gaps (tensor table end → payload, and alignment padding after each tensor) are zero.
  const gaps: [number, number][] = [[tableEnd, payloadOffset], ...refs.map((r): [number, number] => [r.offset + r.byteLength, alignUp(r.offset + r.byteLength, PAYLOAD_ALIGN)])];
  for (const [lo, hi] of gaps) for (let j = lo; j < hi; j++) if (bytes[j] !== 0) fail('BAD_VALUE', j, `padding byte at ${j} is ${bytes[j]}, must be 0`);

  const crcAt = at('crc32');
  const actualCrc = crc32(bytes, crcAt + 4);
  if (actualCrc !== h.crc32) fail('BAD_CHECKSUM', crcAt, `checksum mismatch: stored ${hex(h.crc32)}, computed ${hex(actualCrc)} — the file is corrupt`);

  const layers = decodeTensors(view, bytes, shapes, refs, fail);
  return { graph, version: { major: h.versionMajor, minor: h.versionMinor }, layers };
}

/**
 * The graph from the layer records: the fields each kind uses become graph JSON, defineGraph
 * validates it (any GraphError becomes BAD_GRAPH at that layer's record), and every record must
 * equal the canonical record of the layer it describes (unused fields 0, output shape as inferred).
 */
function readGraph(view: DataView, h: RecordOf<typeof HEADER_FIELDS>, modelName: string, fail: Fail): ModelGraph {
  const names: string[] = [];
  const layersJson: Record<string, unknown>[] = [];
  const recordAt = (i: number) => HEADER_SIZE + i * LAYER_RECORD_SIZE;
  for (let i = 0; i < h.layerCount; i++) {
    const base = recordAt(i);
    const r = readRecord(view, base, LAYER_FIELDS);
    const fAt = (name: string) => base + offsetOf(LAYER_FIELDS, name);
    const kind = KIND_CODES[r.kind - 1];
    if (!kind) fail('BAD_GRAPH', fAt('kind'), `layer ${i}: unknown kind code ${r.kind} (1–${KIND_CODES.length})`);
    const name = checkName(r.layerName, fAt('layerName'), `layer ${i}: name`, fail);
    const input = (field: 'input0' | 'input1'): string => {
      const j = r[field];
      if (j > i) fail('BAD_GRAPH', fAt(field), `layer ${i} (${name}): ${field} is ${j}, but only the image (0) and layers before it (1..${i}) may be read`);
      return j === 0 ? 'input' : names[j - 1]!;
    };
    if (r.inputCount !== (kind === 'add' ? 2 : 1)) fail('BAD_GRAPH', fAt('inputCount'), `layer ${i} (${name}): inputCount is ${r.inputCount}, a ${kind} layer has ${kind === 'add' ? 2 : 1}`);
    const json: Record<string, unknown> = { kind, name, inputs: kind === 'add' ? [input('input0'), input('input1')] : [input('input0')] };
    const same = (r.flags & LayerFlag.SAME) !== 0;
    const code = <T>(codes: readonly T[], field: 'inputQuantizer' | 'kernelQuantizer' | 'padValue'): T => {
      if (r[field] >= codes.length) fail('BAD_GRAPH', fAt(field), `layer ${i} (${name}): unknown ${field} code ${r[field]}`);
      return codes[r[field]]!;
    };
    if (kind === 'quantConv2d' || kind === 'quantDense') {
      json['inputQuantizer'] = code(INPUT_QUANTIZER_CODES, 'inputQuantizer');
      json['kernelQuantizer'] = code(KERNEL_QUANTIZER_CODES, 'kernelQuantizer');
      json['useBias'] = (r.flags & LayerFlag.USE_BIAS) !== 0;
      json[kind === 'quantConv2d' ? 'filters' : 'units'] = r.units;
    }
    if (kind === 'quantConv2d') {
      Object.assign(json, { kernelSize: [r.kernelH, r.kernelW], strides: [r.strideH, r.strideW], padding: same ? 'same' : 'valid', padValue: code(PAD_VALUE_CODES, 'padValue'), int8: (r.flags & LayerFlag.INT8) !== 0 });
    } else if (kind === 'maxPool2d' || kind === 'avgPool2d') {
      Object.assign(json, { poolSize: [r.kernelH, r.kernelW], strides: [r.strideH, r.strideW], padding: same ? 'same' : 'valid' });
    } else if (kind === 'batchNorm') {
      Object.assign(json, { center: (r.flags & LayerFlag.CENTER) !== 0, scale: (r.flags & LayerFlag.SCALE) !== 0, epsilon: r.epsilon });
    } else if (kind === 'scale') {
      json['init'] = r.scaleInit;
    }
    names.push(name);
    layersJson.push(json);
  }
  let graph: ModelGraph;
  try {
    graph = defineGraph({ name: modelName, input: [h.inputHeight, h.inputWidth, h.inputChannels], classes: h.classes, layers: layersJson });
  } catch (e) {
    if (!(e instanceof GraphError)) throw e;
    const i = e.layer === undefined ? -1 : names.indexOf(e.layer);
    return fail('BAD_GRAPH', i < 0 ? offsetOf(HEADER_FIELDS, 'layerCount') : recordAt(i), `invalid model graph: ${e.message}`);
  }
  // Canonical records: what the layer's own record must be, field by field.
  const index = inputIndex(graph);
  inferShapes(graph).forEach((s, i) => {
    const got = readRecord(view, recordAt(i), LAYER_FIELDS) as Record<string, number | string>;
    const want = layerRecord(s, index);
    for (const f of LAYER_FIELDS) {
      const g = f.type === 'name' ? (got[f.name] as string).replace(/\0+$/, '') : got[f.name];
      if (f.type === 'f32' ? !Object.is(Math.fround(want[f.name] as number), g) : g !== want[f.name]) {
        fail(f.name.startsWith('out') ? 'SHAPE_MISMATCH' : 'BAD_GRAPH', recordAt(i) + f.offset, `layer ${i} (${s.layer.name}): ${f.name} is ${JSON.stringify(g)}, expected ${JSON.stringify(want[f.name])} for this ${s.layer.kind} layer`);
      }
    }
  });
  return graph;
}

function decodeTensors(view: DataView, bytes: Uint8Array, shapes: ReturnType<typeof inferShapes>, refs: { offset: number; byteLength: number; role: RoleCode; layer: number }[], fail: Fail): LayerTensors[] {
  const f32 = (ref: (typeof refs)[number], check?: (v: number) => boolean, what = 'a finite number'): Float32Array => {
    const out = new Float32Array(ref.byteLength / 4);
    for (let j = 0; j < out.length; j++) {
      const v = view.getFloat32(ref.offset + 4 * j, true);
      if (!Number.isFinite(v) || (check && !check(v))) fail('BAD_VALUE', ref.offset + 4 * j, `${ROLE_NAMES[ref.role]} of layer ${shapes[ref.layer]!.layer.name}: element ${j} is ${v}, expected ${what}`);
      out[j] = v;
    }
    return out;
  };
  const layers: Record<string, unknown>[] = shapes.map(() => ({}));
  for (const ref of refs) {
    const layer = layers[ref.layer]!;
    const s = shapes[ref.layer]!;
    switch (ref.role) {
      case Role.weightsF32:
        layer['weightsF32'] = f32(ref);
        break;
      case Role.weightsSign:
      case Role.weightsMask: {
        const cin = s.inputs[0]![2];
        const wpp = wordsPerPixel(cin);
        const words = new Uint32Array(ref.byteLength / 4);
        const padMask = cin % 32 === 0 ? 0 : ~((1 << cin % 32) - 1) >>> 0;
        for (let j = 0; j < words.length; j++) {
          const v = view.getUint32(ref.offset + 4 * j, true);
          if (padMask && j % wpp === wpp - 1 && (v & padMask) !== 0) fail('BAD_VALUE', ref.offset + 4 * j, `${ROLE_NAMES[ref.role]} of layer ${s.layer.name}: padding bits above channel ${cin} are set in word ${j}`);
          words[j] = v;
        }
        layer[ref.role === Role.weightsSign ? 'signWords' : 'maskWords'] = words;
        break;
      }
      case Role.weightsProb:
        // Copies (a Node Buffer's slice() would alias the file's memory).
        layer['probabilities'] = Uint8Array.prototype.slice.call(bytes, ref.offset, ref.offset + ref.byteLength);
        break;
      case Role.weightsI8:
        layer['weightsI8'] = new Int8Array(bytes.buffer, bytes.byteOffset + ref.offset, ref.byteLength).slice();
        break;
      case Role.weightScale:
        layer['weightScale'] = f32(ref, (v) => v > 0, 'a positive scale');
        break;
      case Role.bnMean:
        layer['mean'] = f32(ref);
        break;
      case Role.bnVariance:
        layer['variance'] = f32(ref, (v) => v >= 0, 'a variance ≥ 0');
        break;
      case Role.bnBeta:
        layer['beta'] = f32(ref);
        break;
      case Role.bnGamma:
        layer['gamma'] = f32(ref);
        break;
      case Role.scale:
        layer['scale'] = f32(ref)[0]!;
        break;
      case Role.bias:
        layer['bias'] = f32(ref);
        break;
    }
  }
  // A ternary weight is +1, −1 or 0: a sign bit set where the mask is 0 would be a fourth value.
  for (const ref of refs) {
    if (ref.role !== Role.weightsMask) continue;
    const t = layers[ref.layer] as { signWords?: Uint32Array; maskWords?: Uint32Array };
    const j = t.signWords!.findIndex((v, k) => (v & ~t.maskWords![k]!) !== 0);
    if (j >= 0) fail('BAD_VALUE', refs.find((r) => r.layer === ref.layer && r.role === Role.weightsSign)!.offset + 4 * j, `weightsSign of layer ${shapes[ref.layer]!.layer.name}: word ${j} has sign bits set where weightsMask says the weight is 0`);
  }
  shapes.forEach((s, i) => {
    const l = s.layer;
    if (l.kind !== 'batchNorm') return;
    const t = layers[i]!;
    const c = s.inputs[0]![2];
    // Not stored where not trained: β = 0 without CENTER, γ = 1 without SCALE.
    t['beta'] ??= new Float32Array(c);
    t['gamma'] ??= new Float32Array(c).fill(1);
    const bn = t as LayerTensors;
    try {
      batchNormAffine(bn.mean!, bn.variance!, bn.beta!, bn.gamma!, l.epsilon);
    } catch (e) {
      fail('BAD_VALUE', refs.find((r) => r.layer === i && r.role === Role.bnMean)!.offset, `batch norm ${l.name}: ${(e as Error).message}`);
    }
  });
  return layers as LayerTensors[];
}

export function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

