/**
 * Parses and validates .bnn bytes. Everything is checked before any value is used — magic,
 * version, sizes against declared shapes, offsets inside the file, dimension products without
 * overflow, finite floats, probabilities, padding bits, the checksum — and every rejection is a
 * BnnFormatError with a code and the byte offset of the offending field.
 */
import { layerShapes, modelSpec, withQuantizedInput, type ModelSpec } from '../model/spec.js';
import { crc32 } from './crc32.js';
import { BnnFormatError, type BnnFormatErrorCode } from './errors.js';
import {
  alignUp,
  ARCH_CODES,
  DType,
  FORMAT_MAJOR,
  HEADER_FIELDS,
  HEADER_SIZE,
  LAYER_FIELDS,
  LAYER_RECORD_SIZE,
  LayerFlag,
  LIMITS,
  MAGIC,
  PAYLOAD_ALIGN,
  Role,
  ROLE_DTYPE,
  ROLE_NAMES,
  TENSOR_FIELDS,
  TENSOR_RECORD_SIZE,
  wordsPerPixel,
  type DTypeCode,
  type Field,
  type RoleCode,
} from './layout.js';
import { formatVersionFor, layerTensorPlan, type BnnLayer, type BnnModel } from './model.js';
import { layerRecord } from './write.js';

type Values<F extends readonly Field[]> = Record<F[number]['name'], number>;

function readRecord<F extends readonly Field[]>(view: DataView, base: number, fields: F): Values<F> {
  const out = {} as Record<string, number>;
  for (const f of fields) {
    const at = base + f.offset;
    out[f.name] = f.type === 'u8' ? view.getUint8(at) : f.type === 'u16' ? view.getUint16(at, true) : f.type === 'u32' ? view.getUint32(at, true) : view.getFloat32(at, true);
  }
  return out as Values<F>;
}

function offsetOf(fields: readonly Field[], name: string): number {
  return fields.find((f) => f.name === name)!.offset;
}

interface TensorRef {
  readonly layer: number;
  readonly role: RoleCode;
  readonly dtype: DTypeCode;
  readonly dims: number[];
  readonly offset: number;
  readonly byteLength: number;
  readonly record: number;
}

export interface ParseOptions {
  /** Name shown in error messages (e.g. the file path). */
  readonly source?: string;
}

export function parseBnn(input: Uint8Array | ArrayBuffer, opts: ParseOptions = {}): BnnModel {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const fail = (code: BnnFormatErrorCode, offset: number, msg: string): never => {
    throw new BnnFormatError(code, offset, msg, opts.source);
  };
  if (bytes.length < HEADER_SIZE) fail('TRUNCATED', bytes.length, `file is ${bytes.length} bytes, shorter than the ${HEADER_SIZE}-byte header`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) fail('BAD_MAGIC', i, 'not a .bnn file (magic bytes differ)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = readRecord(view, 0, HEADER_FIELDS);
  const at = (name: string) => offsetOf(HEADER_FIELDS, name);
  if (h.versionMajor !== FORMAT_MAJOR) fail('BAD_VERSION', at('versionMajor'), `format version ${h.versionMajor}.${h.versionMinor} is not supported (this reader reads ${FORMAT_MAJOR}.x)`);
  if (h.headerBytes !== HEADER_SIZE) fail('BAD_HEADER', at('headerBytes'), `header size ${h.headerBytes}, expected ${HEADER_SIZE}`);
  if (h.fileBytes > LIMITS.maxFileBytes) fail('LIMIT_EXCEEDED', at('fileBytes'), `declared size ${h.fileBytes} exceeds the ${LIMITS.maxFileBytes}-byte limit`);
  if (bytes.length < h.fileBytes) fail('TRUNCATED', bytes.length, `file is ${bytes.length} bytes, header declares ${h.fileBytes}`);
  if (bytes.length > h.fileBytes) fail('SIZE_MISMATCH', at('fileBytes'), `file is ${bytes.length} bytes, header declares ${h.fileBytes} (trailing data)`);
  const crcAt = at('crc32');
  const actualCrc = crc32(bytes, crcAt + 4);
  if (actualCrc !== h.crc32) fail('BAD_CHECKSUM', crcAt, `checksum mismatch: stored ${hex(h.crc32)}, computed ${hex(actualCrc)} — the file is corrupt`);
  for (const r of ['reserved0', 'reserved1', 'reserved2'] as const) if (h[r] !== 0) fail('BAD_HEADER', at(r), `reserved header field ${r} is ${h[r]}, expected 0`);
  if (h.arch >= ARCH_CODES.length) fail('BAD_ARCH', at('arch'), `unknown architecture code ${h.arch}`);
  if (h.k < 1 || h.k > 4096) fail('BAD_ARCH', at('k'), `K = ${h.k} is out of range 1..4096`);
  let spec: ModelSpec = modelSpec(ARCH_CODES[h.arch]!, h.k);
  // The one variation a file may choose: a quantized (integer) first layer.
  const firstFlagsAt = HEADER_SIZE + offsetOf(LAYER_FIELDS, 'flags');
  if (h.layerCount >= 1 && bytes.length >= firstFlagsAt + 1 && (bytes[firstFlagsAt]! & LayerFlag.QUANTIZED) !== 0) {
    try {
      spec = withQuantizedInput(spec);
    } catch (e) {
      fail('SHAPE_MISMATCH', firstFlagsAt, (e as Error).message);
    }
  }
  const needed = formatVersionFor(spec);
  if (h.versionMinor < needed.minor) fail('BAD_VERSION', at('versionMinor'), `architecture ${spec.arch} needs format ${needed.major}.${needed.minor}, the file declares ${h.versionMajor}.${h.versionMinor}`);
  const expectHeader = (name: 'inputHeight' | 'inputWidth' | 'inputChannels' | 'classes', want: number) => {
    if (h[name] !== want) fail('SHAPE_MISMATCH', at(name), `${name} is ${h[name]}, architecture ${spec.arch} expects ${want}`);
  };
  expectHeader('inputHeight', spec.input[0]);
  expectHeader('inputWidth', spec.input[1]);
  expectHeader('inputChannels', spec.input[2]);
  expectHeader('classes', spec.classes);
  if (!Number.isFinite(h.bnEpsilon) || h.bnEpsilon <= 0) fail('BAD_VALUE', at('bnEpsilon'), `batch-norm epsilon ${h.bnEpsilon} is not a positive finite number`);

  const shapes = layerShapes(spec);
  if (h.layerCount !== shapes.length) fail('SHAPE_MISMATCH', at('layerCount'), `${h.layerCount} layers, architecture ${spec.arch} has ${shapes.length}`);
  if (h.tensorCount > LIMITS.maxTensors) fail('LIMIT_EXCEEDED', at('tensorCount'), `${h.tensorCount} tensors exceed the limit of ${LIMITS.maxTensors}`);
  const tensorTableOffset = HEADER_SIZE + LAYER_RECORD_SIZE * h.layerCount;
  const payloadOffset = alignUp(tensorTableOffset + TENSOR_RECORD_SIZE * h.tensorCount, PAYLOAD_ALIGN);
  if (h.layerTableOffset !== HEADER_SIZE) fail('BAD_HEADER', at('layerTableOffset'), `layer table at ${h.layerTableOffset}, expected ${HEADER_SIZE}`);
  if (h.tensorTableOffset !== tensorTableOffset) fail('BAD_HEADER', at('tensorTableOffset'), `tensor table at ${h.tensorTableOffset}, expected ${tensorTableOffset}`);
  if (h.payloadOffset !== payloadOffset || payloadOffset > h.fileBytes) fail('BAD_HEADER', at('payloadOffset'), `payload at ${h.payloadOffset}, expected ${payloadOffset} within ${h.fileBytes} bytes`);

  // Layer records must describe exactly the architecture's layers.
  shapes.forEach((s, i) => {
    const base = HEADER_SIZE + i * LAYER_RECORD_SIZE;
    const got = readRecord(view, base, LAYER_FIELDS);
    const want = layerRecord(s);
    for (const f of LAYER_FIELDS) {
      const name = f.name as keyof typeof want;
      if (got[name] !== want[name]) fail('SHAPE_MISMATCH', base + f.offset, `layer ${i} (${s.layer.name}): ${f.name} is ${got[name]}, architecture ${spec.arch}${spec.k} expects ${want[name]}`);
    }
  });

  // Tensor records: each must be one the layer's plan calls for, with the planned dims, inside
  // the payload, exactly as long as its dims imply, and not overlapping another.
  const plans = shapes.map(layerTensorPlan);
  const refs = new Map<string, TensorRef>();
  for (let i = 0; i < h.tensorCount; i++) {
    const base = tensorTableOffset + i * TENSOR_RECORD_SIZE;
    const t = readRecord(view, base, TENSOR_FIELDS);
    const fAt = (name: string) => base + offsetOf(TENSOR_FIELDS, name);
    if (t.layer >= h.layerCount) fail('BAD_TENSOR', fAt('layer'), `tensor ${i} names layer ${t.layer}, file has ${h.layerCount}`);
    if (!(t.role in ROLE_NAMES)) fail('BAD_TENSOR', fAt('role'), `tensor ${i} has unknown role ${t.role}`);
    const role = t.role as RoleCode;
    const planned = plans[t.layer]!.find((p) => p.role === role);
    if (!planned) fail('BAD_TENSOR', fAt('role'), `tensor ${i}: layer ${t.layer} (${shapes[t.layer]!.layer.name}) has no ${ROLE_NAMES[role]} tensor`);
    if (t.dtype !== ROLE_DTYPE[role]) fail('BAD_TENSOR', fAt('dtype'), `tensor ${i} (${ROLE_NAMES[role]}) has dtype ${t.dtype}, expected ${ROLE_DTYPE[role]}`);
    if (t.reserved !== 0) fail('BAD_TENSOR', fAt('reserved'), `tensor ${i}: reserved field is ${t.reserved}, expected 0`);
    const dims = [t.dim0, t.dim1, t.dim2, t.dim3];
    if (t.ndim < 1 || t.ndim > 4) fail('BAD_TENSOR', fAt('ndim'), `tensor ${i} has ${t.ndim} dimensions (1–4 allowed)`);
    for (let d = 0; d < 4; d++) {
      if (dims[d]! < 1 || dims[d]! > LIMITS.maxDim) fail('LIMIT_EXCEEDED', fAt(`dim${d}`), `tensor ${i}: dimension ${d} is ${dims[d]} (allowed 1..${LIMITS.maxDim})`);
      if (d >= t.ndim && dims[d] !== 1) fail('BAD_TENSOR', fAt(`dim${d}`), `tensor ${i}: unused dimension ${d} is ${dims[d]}, expected 1`);
    }
    const used = dims.slice(0, t.ndim);
    const want = planned!.dims;
    if (used.length !== want.length || used.some((d, k) => d !== want[k])) {
      fail('SHAPE_MISMATCH', fAt('dim0'), `tensor ${i} (${ROLE_NAMES[role]} of ${shapes[t.layer]!.layer.name}) has shape [${used.join(', ')}], expected [${want.join(', ')}]`);
    }
    // Dims are ≤ 2^16 and now equal the planned shape, so this product is exact.
    const expected = role === Role.weightsSign ? want[0]! * want[1]! * want[2]! * wordsPerPixel(want[3]!) * 4 : want.reduce((a, b) => a * b, 1) * (t.dtype === DType.f32 ? 4 : 1);
    if (expected > LIMITS.maxTensorBytes) fail('LIMIT_EXCEEDED', fAt('byteLength'), `tensor ${i} would take ${expected} bytes (limit ${LIMITS.maxTensorBytes})`);
    if (t.byteLength !== expected) fail('SIZE_MISMATCH', fAt('byteLength'), `tensor ${i} (${ROLE_NAMES[role]}) is ${t.byteLength} bytes, its shape needs ${expected}`);
    if (t.offset % PAYLOAD_ALIGN !== 0) fail('BAD_TENSOR', fAt('offset'), `tensor ${i} data at ${t.offset} is not ${PAYLOAD_ALIGN}-byte aligned`);
    if (t.offset < payloadOffset || t.offset + t.byteLength > h.fileBytes) {
      fail('TENSOR_OUT_OF_BOUNDS', fAt('offset'), `tensor ${i} data [${t.offset}, ${t.offset + t.byteLength}) is outside the payload [${payloadOffset}, ${h.fileBytes})`);
    }
    const key = `${t.layer}:${role}`;
    if (refs.has(key)) fail('DUPLICATE_TENSOR', fAt('role'), `tensor ${i} repeats ${ROLE_NAMES[role]} of layer ${t.layer}`);
    refs.set(key, { layer: t.layer, role, dtype: t.dtype as DTypeCode, dims: used, offset: t.offset, byteLength: t.byteLength, record: base });
  }
  plans.forEach((plan, layer) => {
    for (const p of plan) {
      if (!refs.has(`${layer}:${p.role}`)) fail('MISSING_TENSOR', tensorTableOffset, `layer ${layer} (${shapes[layer]!.layer.name}) lacks its ${ROLE_NAMES[p.role]} tensor`);
    }
  });
  const sorted = [...refs.values()].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    if (sorted[i]!.offset < prev.offset + prev.byteLength) fail('BAD_TENSOR', sorted[i]!.record + offsetOf(TENSOR_FIELDS, 'offset'), `tensor data at ${sorted[i]!.offset} overlaps the tensor at ${prev.offset}`);
  }

  // Decode values, checking each one.
  const f32 = (ref: TensorRef, check?: (v: number) => boolean, what = 'a finite number'): Float32Array => {
    const out = new Float32Array(ref.byteLength / 4);
    for (let j = 0; j < out.length; j++) {
      const v = view.getFloat32(ref.offset + 4 * j, true);
      if (!Number.isFinite(v) || (check && !check(v))) fail('BAD_VALUE', ref.offset + 4 * j, `${ROLE_NAMES[ref.role]} of layer ${ref.layer}: element ${j} is ${v}, expected ${what}`);
      out[j] = v;
    }
    return out;
  };
  const layers: BnnLayer[] = shapes.map((shape, i) => {
    const ref = (role: RoleCode) => refs.get(`${i}:${role}`);
    const l = shape.layer;
    const layer: { -readonly [K in keyof BnnLayer]: BnnLayer[K] } = { shape };
    const w = ref(Role.weightsF32);
    if (w) layer.weightsF32 = f32(w);
    const s = ref(Role.weightsSign);
    if (s) {
      const [cout, kh, kw, cin] = s.dims as [number, number, number, number];
      const wpp = wordsPerPixel(cin);
      const words = new Uint32Array(cout * kh * kw * wpp);
      const padMask = cin % 32 === 0 ? 0 : ~((1 << cin % 32) - 1) >>> 0;
      for (let j = 0; j < words.length; j++) {
        const v = view.getUint32(s.offset + 4 * j, true);
        if (padMask && j % wpp === wpp - 1 && (v & padMask) !== 0) fail('BAD_VALUE', s.offset + 4 * j, `weightsSign of layer ${i}: padding bits above channel ${cin} are set in word ${j}`);
        words[j] = v;
      }
      layer.signWords = words;
    }
    const p = ref(Role.weightsProb);
    // Copies (a Node Buffer's slice() would alias the file's memory).
    if (p) layer.probabilities = Uint8Array.prototype.slice.call(bytes, p.offset, p.offset + p.byteLength);
    const q = ref(Role.weightsI8);
    if (q) layer.weightsI8 = new Int8Array(bytes.buffer, bytes.byteOffset + q.offset, q.byteLength).slice();
    const qs = ref(Role.weightScale);
    if (qs) layer.weightScale = f32(qs, (v) => v > 0, 'a positive scale');
    if (l.kind === 'conv' && l.binary) {
      layer.bn = {
        mean: f32(ref(Role.bnMean)!),
        variance: f32(ref(Role.bnVariance)!, (v) => v >= 0, 'a variance ≥ 0'),
        beta: f32(ref(Role.bnBeta)!),
        gamma: f32(ref(Role.bnGamma)!),
      };
    }
    const sc = ref(Role.sreluScale);
    if (sc) layer.scale = f32(sc)[0]!;
    const b = ref(Role.bias);
    if (b) layer.bias = f32(b);
    return layer;
  });
  return { spec, version: { major: h.versionMajor, minor: h.versionMinor }, bnEpsilon: h.bnEpsilon, layers };
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
