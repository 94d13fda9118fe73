/** Serializes a decoded model to .bnn bytes (layout: ./layout.ts, docs/FORMAT.md). */
import { layerShapes } from '../model/spec.js';
import { crc32 } from './crc32.js';
import {
  alignUp,
  ARCH_CODES,
  DType,
  FIELD_BYTES,
  FORMAT_MAJOR,
  HEADER_FIELDS,
  HEADER_SIZE,
  LAYER_FIELDS,
  LAYER_RECORD_SIZE,
  LayerFlag,
  LayerKind,
  MAGIC,
  PAYLOAD_ALIGN,
  Padding,
  ROLE_DTYPE,
  TENSOR_FIELDS,
  TENSOR_RECORD_SIZE,
  tensorByteLength,
  type Field,
} from './layout.js';
import { formatVersionFor, layerTensorPlan, tensorValues, type BnnModel } from './model.js';
import type { LayerShape } from '../model/spec.js';

export function writeField(view: DataView, base: number, f: Field, value: number): void {
  const at = base + f.offset;
  switch (f.type) {
    case 'u8':
      view.setUint8(at, value);
      break;
    case 'u16':
      view.setUint16(at, value, true);
      break;
    case 'u32':
      view.setUint32(at, value, true);
      break;
    case 'f32':
      view.setFloat32(at, value, true);
      break;
  }
}

function writeRecord<F extends readonly Field[]>(view: DataView, base: number, fields: F, values: Record<F[number]['name'], number>): void {
  for (const f of fields) writeField(view, base, f, values[f.name as F[number]['name']]);
}

/** The layer record of a layer shape (also what a reader expects to find). */
export function layerRecord(s: LayerShape): Record<(typeof LAYER_FIELDS)[number]['name'], number> {
  const l = s.layer;
  const conv = l.kind === 'conv' ? l : null;
  const flags = conv
    ? (conv.binary ? LayerFlag.BINARY : 0) | (conv.stochastic ? LayerFlag.STOCHASTIC : 0) | (conv.scaled ? LayerFlag.SCALED : 0) | LayerFlag.RELU | (conv.quantized ? LayerFlag.QUANTIZED : 0) | (conv.bias ? LayerFlag.BIAS : 0)
    : l.bias ? LayerFlag.BIAS : 0;
  return {
    kind: conv ? LayerKind.conv2d : LayerKind.dense,
    flags,
    kernel: conv ? conv.kernel : 0,
    stride: conv ? conv.stride : 0,
    padding: conv ? Padding[conv.padding] : 0,
    reserved0: 0,
    reserved1: 0,
    inHeight: s.in[0],
    inWidth: s.in[1],
    inChannels: s.in[2],
    outHeight: s.out[0],
    outWidth: s.out[1],
    outChannels: s.out[2],
  };
}

export function serializeBnn(model: BnnModel): Uint8Array {
  const shapes = layerShapes(model.spec);
  if (shapes.length !== model.layers.length) throw new Error(`model has ${model.layers.length} layers, its spec ${shapes.length}`);
  const tensors = shapes.flatMap((s, layer) => layerTensorPlan(s).map((t) => ({ ...t, layer })));
  const tensorTableOffset = HEADER_SIZE + LAYER_RECORD_SIZE * shapes.length;
  const payloadOffset = alignUp(tensorTableOffset + TENSOR_RECORD_SIZE * tensors.length, PAYLOAD_ALIGN);
  let cursor = payloadOffset;
  const placed = tensors.map((t) => {
    const dtype = ROLE_DTYPE[t.role];
    const byteLength = tensorByteLength(dtype, t.dims);
    const values = tensorValues(model.layers[t.layer]!, t.role);
    const expected = dtype === DType.signBits || dtype === DType.f32 ? byteLength / 4 : byteLength;
    if (values.length !== expected) throw new Error(`layer ${t.layer} role ${t.role}: ${values.length} values, expected ${expected}`);
    const offset = cursor;
    cursor = alignUp(cursor + byteLength, PAYLOAD_ALIGN);
    return { ...t, dtype, byteLength, offset, values };
  });
  const fileBytes = cursor;
  const bytes = new Uint8Array(fileBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  writeRecord(view, 0, HEADER_FIELDS, {
    versionMajor: FORMAT_MAJOR,
    versionMinor: formatVersionFor(model.spec).minor,
    headerBytes: HEADER_SIZE,
    fileBytes,
    crc32: 0,
    arch: ARCH_CODES.indexOf(model.spec.arch),
    reserved0: 0,
    k: model.spec.k,
    inputHeight: model.spec.input[0],
    inputWidth: model.spec.input[1],
    inputChannels: model.spec.input[2],
    classes: model.spec.classes,
    layerCount: shapes.length,
    tensorCount: tensors.length,
    layerTableOffset: HEADER_SIZE,
    tensorTableOffset,
    payloadOffset,
    bnEpsilon: model.bnEpsilon,
    reserved1: 0,
    reserved2: 0,
  });
  shapes.forEach((s, i) => writeRecord(view, HEADER_SIZE + i * LAYER_RECORD_SIZE, LAYER_FIELDS, layerRecord(s)));
  placed.forEach((t, i) => {
    const d = [...t.dims, 1, 1, 1].slice(0, 4) as [number, number, number, number];
    writeRecord(view, tensorTableOffset + i * TENSOR_RECORD_SIZE, TENSOR_FIELDS, {
      layer: t.layer,
      role: t.role,
      dtype: t.dtype,
      ndim: t.dims.length,
      dim0: d[0],
      dim1: d[1],
      dim2: d[2],
      dim3: d[3],
      offset: t.offset,
      byteLength: t.byteLength,
      reserved: 0,
    });
    const step = t.dtype === DType.probU8 || t.dtype === DType.i8 ? 1 : 4;
    for (let j = 0; j < t.values.length; j++) {
      const at = t.offset + j * step;
      if (t.dtype === DType.f32) view.setFloat32(at, t.values[j]!, true);
      else if (t.dtype === DType.signBits) view.setUint32(at, t.values[j]!, true);
      else if (t.dtype === DType.i8) view.setInt8(at, t.values[j]!);
      else view.setUint8(at, t.values[j]!);
    }
  });
  const crcField = HEADER_FIELDS.find((f) => f.name === 'crc32')!;
  view.setUint32(crcField.offset, crc32(bytes, crcField.offset + FIELD_BYTES.u32), true);
  return bytes;
}
