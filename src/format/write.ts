/** Serializes a decoded model to .bnn 2.0 bytes (layout: ./layout.ts, docs/FORMAT.md). */
import { inferShapes, type LayerShape, type ModelGraph } from '../model/graph.js';
import { crc32 } from './crc32.js';
import {
  alignUp,
  DType,
  FORMAT_MAJOR,
  HEADER_FIELDS,
  HEADER_SIZE,
  INPUT_QUANTIZER_CODES,
  KERNEL_QUANTIZER_CODES,
  KIND_CODES,
  LAYER_FIELDS,
  LAYER_RECORD_SIZE,
  LayerFlag,
  MAGIC,
  PAD_VALUE_CODES,
  PAYLOAD_ALIGN,
  ROLE_DTYPE,
  TENSOR_FIELDS,
  TENSOR_RECORD_SIZE,
  tensorByteLength,
  type Field,
} from './layout.js';
import { formatVersion, layerTensorPlan, tensorValues, type BnnModel } from './model.js';

export type RecordValues = Record<string, number | string>;

export function writeField(view: DataView, base: number, f: Field, value: number | string): void {
  const at = base + f.offset;
  switch (f.type) {
    case 'u8':
      view.setUint8(at, value as number);
      break;
    case 'u16':
      view.setUint16(at, value as number, true);
      break;
    case 'u32':
      view.setUint32(at, value as number, true);
      break;
    case 'f32':
      view.setFloat32(at, value as number, true);
      break;
    case 'name': {
      const s = value as string;
      for (let i = 0; i < f.size!; i++) view.setUint8(at + i, i < s.length ? s.charCodeAt(i) : 0);
      break;
    }
  }
}

function writeRecord(view: DataView, base: number, fields: readonly Field[], values: RecordValues): void {
  for (const f of fields) writeField(view, base, f, values[f.name]!);
}

/** The layer record of a layer (also what a reader checks a record against). */
export function layerRecord(s: LayerShape, index: Map<string, number>): RecordValues {
  const l = s.layer;
  const conv = l.kind === 'quantConv2d' ? l : null;
  const quant = l.kind === 'quantConv2d' || l.kind === 'quantDense' ? l : null;
  const pool = l.kind === 'maxPool2d' || l.kind === 'avgPool2d' ? l : null;
  const window = conv ? conv.kernelSize : pool ? pool.poolSize : [0, 0];
  const strides = conv ? conv.strides : pool ? pool.strides : [0, 0];
  const same = (conv ?? pool)?.padding === 'same';
  const flags =
    (quant?.useBias ? LayerFlag.USE_BIAS : 0) |
    (conv?.int8 ? LayerFlag.INT8 : 0) |
    (l.kind === 'batchNorm' && l.center ? LayerFlag.CENTER : 0) |
    (l.kind === 'batchNorm' && l.scale ? LayerFlag.SCALE : 0) |
    (same ? LayerFlag.SAME : 0);
  return {
    kind: KIND_CODES.indexOf(l.kind) + 1,
    flags,
    inputQuantizer: quant ? INPUT_QUANTIZER_CODES.indexOf(quant.inputQuantizer) : 0,
    kernelQuantizer: quant ? KERNEL_QUANTIZER_CODES.indexOf(quant.kernelQuantizer) : 0,
    inputCount: l.inputs.length,
    padValue: conv ? PAD_VALUE_CODES.indexOf(conv.padValue) : 0,
    reserved0: 0,
    input0: index.get(l.inputs[0]!)!,
    input1: l.inputs.length > 1 ? index.get(l.inputs[1]!)! : 0,
    kernelH: window[0]!,
    kernelW: window[1]!,
    strideH: strides[0]!,
    strideW: strides[1]!,
    units: conv ? conv.filters : l.kind === 'quantDense' ? l.units : 0,
    epsilon: l.kind === 'batchNorm' ? l.epsilon : 0,
    scaleInit: l.kind === 'scale' ? l.init : 0,
    outHeight: s.output[0],
    outWidth: s.output[1],
    outChannels: s.output[2],
    layerName: l.name,
  };
}

/** Input indices as stored: 0 = the image, j = output of layer j − 1. */
export function inputIndex(graph: ModelGraph): Map<string, number> {
  return new Map<string, number>([['input', 0], ...graph.layers.map((l, i) => [l.name, i + 1] as const)]);
}

export function serializeBnn(model: BnnModel): Uint8Array {
  const graph = model.graph;
  const shapes = inferShapes(graph);
  if (shapes.length !== model.layers.length) throw new Error(`model has ${model.layers.length} layer tensor sets, its graph ${shapes.length} layers`);
  const tensors = shapes.flatMap((s, layer) => layerTensorPlan(s).map((t) => ({ ...t, layer })));
  const tensorTableOffset = HEADER_SIZE + LAYER_RECORD_SIZE * shapes.length;
  const payloadOffset = alignUp(tensorTableOffset + TENSOR_RECORD_SIZE * tensors.length, PAYLOAD_ALIGN);
  let cursor = payloadOffset;
  const placed = tensors.map((t) => {
    const dtype = ROLE_DTYPE[t.role];
    const byteLength = tensorByteLength(dtype, t.dims);
    const values = tensorValues(model.layers[t.layer]!, t.role, shapes[t.layer]!.layer.name);
    const expected = dtype === DType.signBits || dtype === DType.f32 ? byteLength / 4 : byteLength;
    if (values.length !== expected) throw new Error(`layer ${shapes[t.layer]!.layer.name} role ${t.role}: ${values.length} values, expected ${expected}`);
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
    versionMinor: formatVersion(graph).minor,
    headerBytes: HEADER_SIZE,
    fileBytes,
    crc32: 0,
    inputHeight: graph.input[0],
    inputWidth: graph.input[1],
    inputChannels: graph.input[2],
    classes: graph.classes,
    layerCount: shapes.length,
    tensorCount: tensors.length,
    layerTableOffset: HEADER_SIZE,
    tensorTableOffset,
    payloadOffset,
    modelName: graph.name,
  });
  const index = inputIndex(graph);
  shapes.forEach((s, i) => writeRecord(view, HEADER_SIZE + i * LAYER_RECORD_SIZE, LAYER_FIELDS, layerRecord(s, index)));
  placed.forEach((t, i) => {
    const d = [...t.dims, 1, 1, 1].slice(0, 4) as [number, number, number, number];
    writeRecord(view, tensorTableOffset + i * TENSOR_RECORD_SIZE, TENSOR_FIELDS, {
      layer: t.layer,
      role: t.role,
      dtype: t.dtype,
      ndim: t.dims.length,
      reserved0: 0,
      reserved1: 0,
      dim0: d[0],
      dim1: d[1],
      dim2: d[2],
      dim3: d[3],
      offset: t.offset,
      byteLength: t.byteLength,
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
  view.setUint32(crcField.offset, crc32(bytes, crcField.offset + 4), true);
  return bytes;
}
