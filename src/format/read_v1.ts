/**
 * Reads .bnn 1.x files (layout_v1.ts): the paper's fixed models, identified by an architecture
 * code and K. The file is validated as strictly as 1.x readers did, and becomes the 2.0 model it
 * is: the preset graph of that architecture (presets.ts, with the stored epsilon and int8 first
 * layer) and the same tensors, moved to the layers that own them in the graph (a binary conv's
 * batch-norm tensors to the batchNorm layer before it, its SReLU scalar to the scale layer after).
 */
import { inferShapes, type Layer, type ModelGraph } from '../model/graph.js';
import { paperModel } from '../model/presets.js';
import { crc32 } from './crc32.js';
import { alignUp, DType, PAYLOAD_ALIGN, Role, ROLE_DTYPE, ROLE_NAMES, wordsPerPixel, type DTypeCode, type RoleCode } from './layout.js';
import { V1_ARCH_CODES, V1_HEADER_FIELDS, V1_HEADER_SIZE, V1_LAYER_FIELDS, V1_LAYER_RECORD_SIZE, V1_LayerFlag, V1_LIMITS, V1_TENSOR_FIELDS, V1_TENSOR_RECORD_SIZE } from './layout_v1.js';
import type { BnnModel, LayerTensors } from './model.js';
import { hex, offsetOf, readRecord, type Fail } from './read.js';

interface V1Layer {
  readonly conv: Extract<Layer, { kind: 'quantConv2d' }> | null;
  readonly record: Record<string, number>;
  readonly tensors: { role: RoleCode; dims: number[] }[];
  /** Index in the graph of the conv / dense layer, its batch norm (binary layers) and scale. */
  readonly at: number;
  readonly bn: number;
  readonly scale: number;
}

/** The four v1 layer records (conv1, conv2, conv3, dense) of a preset graph, and their tensors. */
function v1Layers(graph: ModelGraph, binary: boolean, scaled: boolean, bias: boolean): V1Layer[] {
  const shapes = inferShapes(graph);
  const out: V1Layer[] = [];
  shapes.forEach((s, i) => {
    const l = s.layer;
    if (l.kind !== 'quantConv2d' && l.kind !== 'quantDense') return;
    const conv = l.kind === 'quantConv2d' ? l : null;
    const [inH, inW, cin] = s.inputs[0]!;
    const [oh, ow, cout] = s.output;
    const isBinary = conv !== null && conv.kernelQuantizer !== null;
    const stochastic = conv?.kernelQuantizer === 'stochastic';
    const flags = conv
      ? (isBinary ? V1_LayerFlag.BINARY : 0) | (stochastic ? V1_LayerFlag.STOCHASTIC : 0) | (isBinary && scaled ? V1_LayerFlag.SCALED : 0) | V1_LayerFlag.RELU | (conv.int8 ? V1_LayerFlag.QUANTIZED : 0) | (bias ? V1_LayerFlag.BIAS : 0)
      : bias ? V1_LayerFlag.BIAS : 0;
    const record = conv
      ? { kind: 1, flags, kernel: conv.kernelSize[0], stride: conv.strides[0], padding: conv.padding === 'same' ? 1 : 0, reserved0: 0, reserved1: 0, inHeight: inH, inWidth: inW, inChannels: cin, outHeight: oh, outWidth: ow, outChannels: cout }
      : { kind: 2, flags, kernel: 0, stride: 0, padding: 0, reserved0: 0, reserved1: 0, inHeight: 1, inWidth: 1, inChannels: inH * inW * cin, outHeight: 1, outWidth: 1, outChannels: cout };
    const tensors: { role: RoleCode; dims: number[] }[] = [];
    const k = conv?.kernelSize[0] ?? 0;
    if (!conv) tensors.push({ role: Role.weightsF32, dims: [inH * inW * cin, cout] });
    else if (isBinary) {
      for (const role of [Role.bnMean, Role.bnVariance, Role.bnBeta, Role.bnGamma]) tensors.push({ role, dims: [cin] });
      tensors.push({ role: stochastic ? Role.weightsProb : Role.weightsSign, dims: [cout, k, k, cin] });
    } else if (conv.int8) tensors.push({ role: Role.weightsI8, dims: [k, k, cin, cout] }, { role: Role.weightScale, dims: [cout] });
    else tensors.push({ role: Role.weightsF32, dims: [k, k, cin, cout] });
    if (bias) tensors.push({ role: Role.bias, dims: [cout] });
    if (isBinary && scaled) tensors.push({ role: Role.scale, dims: [1] });
    // The graph's batch norm precedes a binary conv; its scale layer follows that conv's relu.
    out.push({ conv, record, tensors, at: i, bn: isBinary && binary ? i - 1 : -1, scale: isBinary && scaled ? i + 2 : -1 });
  });
  return out;
}

export function parseBnnV1(bytes: Uint8Array, view: DataView, fail: Fail): BnnModel {
  // Length, magic, version, header size and declared size were checked by read.ts's checkPreamble.
  const h = readRecord(view, 0, V1_HEADER_FIELDS);
  const at = (name: string) => offsetOf(V1_HEADER_FIELDS, name);
  for (const r of ['reserved0', 'reserved1', 'reserved2'] as const) if (h[r] !== 0) fail('BAD_HEADER', at(r), `reserved header field ${r} is ${h[r]}, expected 0`);
  if (h.arch >= V1_ARCH_CODES.length) fail('BAD_ARCH', at('arch'), `unknown architecture code ${h.arch}`);
  if (h.k < 1 || h.k > 4096) fail('BAD_ARCH', at('k'), `K = ${h.k} is out of range 1..4096`);
  if (!Number.isFinite(h.bnEpsilon) || h.bnEpsilon <= 0 || h.bnEpsilon >= 1) fail('BAD_VALUE', at('bnEpsilon'), `batch-norm epsilon ${h.bnEpsilon} is not a number in (0, 1)`);
  const arch = V1_ARCH_CODES[h.arch]!;
  const firstFlagsAt = V1_HEADER_SIZE + offsetOf(V1_LAYER_FIELDS, 'flags');
  const int8 = h.layerCount >= 1 && bytes.length > firstFlagsAt && (bytes[firstFlagsAt]! & V1_LayerFlag.QUANTIZED) !== 0;
  const binary = arch === 'B' || arch === 'C' || arch === 'S';
  if (int8 && !binary) fail('SHAPE_MISMATCH', firstFlagsAt, `model ${arch}${h.k}: only a float first conv followed by a binary conv can be quantized`);
  const preset = paperModel(arch, h.k, { int8 });
  // The stored epsilon replaces the preset's (the value 1.x files carry: 1e-5 in float32).
  const graph: ModelGraph = { ...preset, layers: preset.layers.map((l) => (l.kind === 'batchNorm' ? { ...l, epsilon: h.bnEpsilon } : l)) };
  const minor = arch === 'R' ? 1 : 0;
  if (h.versionMinor < minor) fail('BAD_VERSION', at('versionMinor'), `architecture ${arch} needs format 1.${minor}, the file declares 1.${h.versionMinor}`);
  const expectHeader = (name: 'inputHeight' | 'inputWidth' | 'inputChannels' | 'classes', want: number) => {
    if (h[name] !== want) fail('SHAPE_MISMATCH', at(name), `${name} is ${h[name]}, architecture ${arch} expects ${want}`);
  };
  expectHeader('inputHeight', graph.input[0]);
  expectHeader('inputWidth', graph.input[1]);
  expectHeader('inputChannels', graph.input[2]);
  expectHeader('classes', graph.classes);

  const layers = v1Layers(graph, binary, arch === 'C' || arch === 'S', arch === 'R');
  if (h.layerCount !== layers.length) fail('SHAPE_MISMATCH', at('layerCount'), `${h.layerCount} layers, architecture ${arch} has ${layers.length}`);
  if (h.tensorCount > V1_LIMITS.maxTensors) fail('LIMIT_EXCEEDED', at('tensorCount'), `${h.tensorCount} tensors exceed the limit of ${V1_LIMITS.maxTensors}`);
  const tensorTableOffset = V1_HEADER_SIZE + V1_LAYER_RECORD_SIZE * h.layerCount;
  const payloadOffset = alignUp(tensorTableOffset + V1_TENSOR_RECORD_SIZE * h.tensorCount, PAYLOAD_ALIGN);
  if (h.layerTableOffset !== V1_HEADER_SIZE) fail('BAD_HEADER', at('layerTableOffset'), `layer table at ${h.layerTableOffset}, expected ${V1_HEADER_SIZE}`);
  if (h.tensorTableOffset !== tensorTableOffset) fail('BAD_HEADER', at('tensorTableOffset'), `tensor table at ${h.tensorTableOffset}, expected ${tensorTableOffset}`);
  if (h.payloadOffset !== payloadOffset || payloadOffset > h.fileBytes) fail('BAD_HEADER', at('payloadOffset'), `payload at ${h.payloadOffset}, expected ${payloadOffset} within ${h.fileBytes} bytes`);

  layers.forEach((v, i) => {
    const base = V1_HEADER_SIZE + i * V1_LAYER_RECORD_SIZE;
    const got = readRecord(view, base, V1_LAYER_FIELDS) as Record<string, number>;
    for (const f of V1_LAYER_FIELDS) {
      if (got[f.name] !== v.record[f.name]) fail('SHAPE_MISMATCH', base + f.offset, `layer ${i}: ${f.name} is ${got[f.name]}, architecture ${arch}${h.k} expects ${v.record[f.name]}`);
    }
  });

  // Tensor records: each one the layer's plan calls for, inside the payload, not overlapping.
  interface Ref {
    layer: number;
    role: RoleCode;
    dtype: DTypeCode;
    offset: number;
    byteLength: number;
    record: number;
  }
  const refs = new Map<string, Ref>();
  for (let i = 0; i < h.tensorCount; i++) {
    const base = tensorTableOffset + i * V1_TENSOR_RECORD_SIZE;
    const t = readRecord(view, base, V1_TENSOR_FIELDS);
    const fAt = (name: string) => base + offsetOf(V1_TENSOR_FIELDS, name);
    if (t.layer >= h.layerCount) fail('BAD_TENSOR', fAt('layer'), `tensor ${i} names layer ${t.layer}, file has ${h.layerCount}`);
    if (!(t.role in ROLE_NAMES)) fail('BAD_TENSOR', fAt('role'), `tensor ${i} has unknown role ${t.role}`);
    const role = t.role as RoleCode;
    const planned = layers[t.layer]!.tensors.find((p) => p.role === role);
    if (!planned) fail('BAD_TENSOR', fAt('role'), `tensor ${i}: layer ${t.layer} has no ${ROLE_NAMES[role]} tensor`);
    if (t.dtype !== ROLE_DTYPE[role]) fail('BAD_TENSOR', fAt('dtype'), `tensor ${i} (${ROLE_NAMES[role]}) has dtype ${t.dtype}, expected ${ROLE_DTYPE[role]}`);
    if (t.reserved !== 0) fail('BAD_TENSOR', fAt('reserved'), `tensor ${i}: reserved field is ${t.reserved}, expected 0`);
    if (t.ndim < 1 || t.ndim > 4) fail('BAD_TENSOR', fAt('ndim'), `tensor ${i} has ${t.ndim} dimensions (1–4 allowed)`);
    const dims = [t.dim0, t.dim1, t.dim2, t.dim3];
    for (let d = 0; d < 4; d++) {
      if (dims[d]! < 1 || dims[d]! > V1_LIMITS.maxDim) fail('LIMIT_EXCEEDED', fAt(`dim${d}`), `tensor ${i}: dimension ${d} is ${dims[d]} (allowed 1..${V1_LIMITS.maxDim})`);
      if (d >= t.ndim && dims[d] !== 1) fail('BAD_TENSOR', fAt(`dim${d}`), `tensor ${i}: unused dimension ${d} is ${dims[d]}, expected 1`);
    }
    const used = dims.slice(0, t.ndim);
    const want = planned!.dims;
    if (used.length !== want.length || used.some((d, k) => d !== want[k])) fail('SHAPE_MISMATCH', fAt('dim0'), `tensor ${i} (${ROLE_NAMES[role]}) has shape [${used.join(', ')}], expected [${want.join(', ')}]`);
    const expected = role === Role.weightsSign ? want[0]! * want[1]! * want[2]! * wordsPerPixel(want[3]!) * 4 : want.reduce((a, b) => a * b, 1) * (t.dtype === DType.f32 ? 4 : 1);
    if (expected > V1_LIMITS.maxTensorBytes) fail('LIMIT_EXCEEDED', fAt('byteLength'), `tensor ${i} would take ${expected} bytes (limit ${V1_LIMITS.maxTensorBytes})`);
    if (t.byteLength !== expected) fail('SIZE_MISMATCH', fAt('byteLength'), `tensor ${i} (${ROLE_NAMES[role]}) is ${t.byteLength} bytes, its shape needs ${expected}`);
    if (t.offset % PAYLOAD_ALIGN !== 0) fail('BAD_TENSOR', fAt('offset'), `tensor ${i} data at ${t.offset} is not ${PAYLOAD_ALIGN}-byte aligned`);
    if (t.offset < payloadOffset || t.offset + t.byteLength > h.fileBytes) fail('TENSOR_OUT_OF_BOUNDS', fAt('offset'), `tensor ${i} data [${t.offset}, ${t.offset + t.byteLength}) is outside the payload [${payloadOffset}, ${h.fileBytes})`);
    const key = `${t.layer}:${role}`;
    if (refs.has(key)) fail('DUPLICATE_TENSOR', fAt('role'), `tensor ${i} repeats ${ROLE_NAMES[role]} of layer ${t.layer}`);
    refs.set(key, { layer: t.layer, role, dtype: t.dtype as DTypeCode, offset: t.offset, byteLength: t.byteLength, record: base });
  }
  layers.forEach((v, layer) => {
    for (const p of v.tensors) if (!refs.has(`${layer}:${p.role}`)) fail('MISSING_TENSOR', tensorTableOffset, `layer ${layer} lacks its ${ROLE_NAMES[p.role]} tensor`);
  });
  // Records may come in any order, but their data is packed: in offset order each tensor starts at
  // the previous one's end rounded up to 16 (the first at the payload), the file ends at the last
  // one's, and every byte in between is 0 — no hidden bytes anywhere.
  const sorted = [...refs.values()].sort((a, b) => a.offset - b.offset);
  let cursor = payloadOffset;
  for (const r of sorted) {
    const offsetAt = r.record + offsetOf(V1_TENSOR_FIELDS, 'offset');
    if (r.offset < cursor) fail('BAD_TENSOR', offsetAt, `tensor data at ${r.offset} overlaps the tensor before it (which ends at ${cursor})`);
    if (r.offset !== cursor) fail('BAD_TENSOR', offsetAt, `tensor data at ${r.offset}, expected ${cursor} (tensors are packed, each at the next 16-byte boundary)`);
    cursor = alignUp(r.offset + r.byteLength, PAYLOAD_ALIGN);
  }
  if (cursor !== h.fileBytes) fail('SIZE_MISMATCH', at('fileBytes'), `the tensors end at ${cursor}, the header declares ${h.fileBytes} bytes`);
  const tableEnd = tensorTableOffset + V1_TENSOR_RECORD_SIZE * h.tensorCount;
  const gaps: [number, number][] = [[tableEnd, payloadOffset], ...sorted.map((r): [number, number] => [r.offset + r.byteLength, alignUp(r.offset + r.byteLength, PAYLOAD_ALIGN)])];
  for (const [lo, hi] of gaps) for (let j = lo; j < hi; j++) if (bytes[j] !== 0) fail('BAD_VALUE', j, `padding byte at ${j} is ${bytes[j]}, must be 0`);

  const crcAt = at('crc32');
  const actualCrc = crc32(bytes, crcAt + 4);
  if (actualCrc !== h.crc32) fail('BAD_CHECKSUM', crcAt, `checksum mismatch: stored ${hex(h.crc32)}, computed ${hex(actualCrc)} — the file is corrupt`);


  const f32 = (ref: Ref, check?: (v: number) => boolean, what = 'a finite number'): Float32Array => {
    const out = new Float32Array(ref.byteLength / 4);
    for (let j = 0; j < out.length; j++) {
      const v = view.getFloat32(ref.offset + 4 * j, true);
      if (!Number.isFinite(v) || (check && !check(v))) fail('BAD_VALUE', ref.offset + 4 * j, `${ROLE_NAMES[ref.role]} of layer ${ref.layer}: element ${j} is ${v}, expected ${what}`);
      out[j] = v;
    }
    return out;
  };
  const tensors: Record<string, unknown>[] = graph.layers.map(() => ({}));
  layers.forEach((v, i) => {
    const ref = (role: RoleCode) => refs.get(`${i}:${role}`);
    const own = tensors[v.at]!;
    const w = ref(Role.weightsF32);
    if (w) own['weightsF32'] = f32(w);
    const s = ref(Role.weightsSign);
    if (s) {
      const cin = v.record['inChannels']!;
      const wpp = wordsPerPixel(cin);
      const words = new Uint32Array(s.byteLength / 4);
      const padMask = cin % 32 === 0 ? 0 : ~((1 << cin % 32) - 1) >>> 0;
      for (let j = 0; j < words.length; j++) {
        const x = view.getUint32(s.offset + 4 * j, true);
        if (padMask && j % wpp === wpp - 1 && (x & padMask) !== 0) fail('BAD_VALUE', s.offset + 4 * j, `weightsSign of layer ${i}: padding bits above channel ${cin} are set in word ${j}`);
        words[j] = x;
      }
      own['signWords'] = words;
    }
    const p = ref(Role.weightsProb);
    if (p) own['probabilities'] = Uint8Array.prototype.slice.call(bytes, p.offset, p.offset + p.byteLength);
    const q = ref(Role.weightsI8);
    if (q) own['weightsI8'] = new Int8Array(bytes.buffer, bytes.byteOffset + q.offset, q.byteLength).slice();
    const qs = ref(Role.weightScale);
    if (qs) own['weightScale'] = f32(qs, (x) => x > 0, 'a positive scale');
    const b = ref(Role.bias);
    if (b) own['bias'] = f32(b);
    if (v.bn >= 0) {
      tensors[v.bn] = { mean: f32(ref(Role.bnMean)!), variance: f32(ref(Role.bnVariance)!, (x) => x >= 0, 'a variance ≥ 0'), beta: f32(ref(Role.bnBeta)!), gamma: f32(ref(Role.bnGamma)!) };
    }
    if (v.scale >= 0) tensors[v.scale] = { scale: f32(ref(Role.scale)!)[0]! };
  });
  // 1.x graphs train without γ: a stored γ ≠ 1 needs a batch norm with scale.
  const final: ModelGraph = {
    ...graph,
    layers: graph.layers.map((l, i) => (l.kind === 'batchNorm' && (tensors[i]!['gamma'] as Float32Array).some((g) => g !== 1) ? { ...l, scale: true } : l)),
  };
  return { graph: final, version: { major: h.versionMajor, minor: h.versionMinor }, layers: tensors as LayerTensors[] };
}
