/**
 * The .bnn byte layout, defined once. The writer, the reader, the tfjs rebuild, the runtime and
 * docs/FORMAT.md (generated from these tables by `bnn-edge format-doc`, with a test that the
 * committed doc is current) all follow from this file.
 *
 * A .bnn file is: a 64-byte header, a table of layer records, a table of tensor records, then
 * the tensor payload (each tensor 16-byte aligned). All integers and floats are little-endian.
 */

/** "\x89BNN\r\n\x1a\n": non-ASCII first byte and CR/LF/EOF bytes catch text-mode corruption (as PNG). */
export const MAGIC = [0x89, 0x42, 0x4e, 0x4e, 0x0d, 0x0a, 0x1a, 0x0a] as const;
/**
 * Readers accept files of the same major version and any minor version. 1.1 added architecture R
 * and its bias tensors; a writer stamps the lowest minor that describes the file (1.0 unless it
 * uses them), so models of the other architectures stay byte-identical to 1.0 files.
 */
export const FORMAT_MAJOR = 1;
export const FORMAT_MINOR = 1;
export const HEADER_SIZE = 64;
export const LAYER_RECORD_SIZE = 32;
export const TENSOR_RECORD_SIZE = 32;
export const PAYLOAD_ALIGN = 16;
/** Upper bounds a reader enforces before allocating anything (a hostile file cannot ask for more). */
export const LIMITS = { maxLayers: 64, maxTensors: 512, maxDim: 1 << 16, maxTensorBytes: 256 << 20, maxFileBytes: 1 << 30 } as const;

export type FieldType = 'u8' | 'u16' | 'u32' | 'f32';
export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
  readonly doc: string;
}

export const FIELD_BYTES: Record<FieldType, number> = { u8: 1, u16: 2, u32: 4, f32: 4 };

/** Header fields after the 8 magic bytes. */
export const HEADER_FIELDS = [
  { name: 'versionMajor', type: 'u16', offset: 8, doc: 'format major version (1); readers reject other majors' },
  { name: 'versionMinor', type: 'u16', offset: 10, doc: 'format minor version: 1 if the file uses what 1.1 added (architecture R, `bias` tensors), else 0' },
  { name: 'headerBytes', type: 'u32', offset: 12, doc: 'size of this header: 64' },
  { name: 'fileBytes', type: 'u32', offset: 16, doc: 'total file size in bytes' },
  { name: 'crc32', type: 'u32', offset: 20, doc: 'CRC-32 (IEEE 802.3, as zlib) of bytes [24, fileBytes)' },
  { name: 'arch', type: 'u8', offset: 24, doc: 'architecture code: 0 = A, 1 = B, 2 = C, 3 = S, 4 = R (1.1)' },
  { name: 'reserved0', type: 'u8', offset: 25, doc: 'zero' },
  { name: 'k', type: 'u16', offset: 26, doc: 'K, the number of filters of conv1' },
  { name: 'inputHeight', type: 'u16', offset: 28, doc: 'input image height (28)' },
  { name: 'inputWidth', type: 'u16', offset: 30, doc: 'input image width (28)' },
  { name: 'inputChannels', type: 'u16', offset: 32, doc: 'input channels (1)' },
  { name: 'classes', type: 'u16', offset: 34, doc: 'number of output logits (10)' },
  { name: 'layerCount', type: 'u16', offset: 36, doc: 'number of layer records (L)' },
  { name: 'tensorCount', type: 'u16', offset: 38, doc: 'number of tensor records (T)' },
  { name: 'layerTableOffset', type: 'u32', offset: 40, doc: 'byte offset of the layer table (64)' },
  { name: 'tensorTableOffset', type: 'u32', offset: 44, doc: 'byte offset of the tensor table (64 + 32·L)' },
  { name: 'payloadOffset', type: 'u32', offset: 48, doc: 'byte offset of the first tensor (tensor table end rounded up to 16)' },
  { name: 'bnEpsilon', type: 'f32', offset: 52, doc: 'batch-norm epsilon ε (1e-5)' },
  { name: 'reserved1', type: 'u32', offset: 56, doc: 'zero' },
  { name: 'reserved2', type: 'u32', offset: 60, doc: 'zero' },
] as const satisfies readonly Field[];

export const LAYER_FIELDS = [
  { name: 'kind', type: 'u8', offset: 0, doc: 'layer kind: 1 = conv2d, 2 = dense' },
  { name: 'flags', type: 'u8', offset: 1, doc: 'bit 0 BINARY, bit 1 STOCHASTIC, bit 2 SCALED, bit 3 RELU, bit 4 QUANTIZED, bit 5 BIAS (see below)' },
  { name: 'kernel', type: 'u8', offset: 2, doc: 'square kernel size (conv; 0 for dense)' },
  { name: 'stride', type: 'u8', offset: 3, doc: 'stride (conv; 0 for dense)' },
  { name: 'padding', type: 'u8', offset: 4, doc: 'padding: 0 = VALID, 1 = SAME (TensorFlow rules; conv only)' },
  { name: 'reserved0', type: 'u8', offset: 5, doc: 'zero' },
  { name: 'reserved1', type: 'u16', offset: 6, doc: 'zero' },
  { name: 'inHeight', type: 'u32', offset: 8, doc: 'input height (dense: 1)' },
  { name: 'inWidth', type: 'u32', offset: 12, doc: 'input width (dense: 1)' },
  { name: 'inChannels', type: 'u32', offset: 16, doc: 'input channels (dense: flattened input features)' },
  { name: 'outHeight', type: 'u32', offset: 20, doc: 'output height (dense: 1)' },
  { name: 'outWidth', type: 'u32', offset: 24, doc: 'output width (dense: 1)' },
  { name: 'outChannels', type: 'u32', offset: 28, doc: 'output channels (dense: units)' },
] as const satisfies readonly Field[];

export const TENSOR_FIELDS = [
  { name: 'layer', type: 'u8', offset: 0, doc: 'index of the layer the tensor belongs to' },
  { name: 'role', type: 'u8', offset: 1, doc: 'what the tensor is (table below)' },
  { name: 'dtype', type: 'u8', offset: 2, doc: 'element encoding: 1 = f32, 2 = packed sign bits (u32 words), 3 = u8 probability, 4 = i8' },
  { name: 'ndim', type: 'u8', offset: 3, doc: 'number of dimensions used (1–4)' },
  { name: 'dim0', type: 'u32', offset: 4, doc: 'dimension 0' },
  { name: 'dim1', type: 'u32', offset: 8, doc: 'dimension 1 (1 if unused)' },
  { name: 'dim2', type: 'u32', offset: 12, doc: 'dimension 2 (1 if unused)' },
  { name: 'dim3', type: 'u32', offset: 16, doc: 'dimension 3 (1 if unused)' },
  { name: 'offset', type: 'u32', offset: 20, doc: 'absolute byte offset of the data (16-byte aligned, inside the payload)' },
  { name: 'byteLength', type: 'u32', offset: 24, doc: 'byte length of the data (exactly what dims and dtype imply)' },
  { name: 'reserved', type: 'u32', offset: 28, doc: 'zero' },
] as const satisfies readonly Field[];

export type HeaderName = (typeof HEADER_FIELDS)[number]['name'];
export type LayerFieldName = (typeof LAYER_FIELDS)[number]['name'];
export type TensorFieldName = (typeof TENSOR_FIELDS)[number]['name'];

export const ARCH_CODES = ['A', 'B', 'C', 'S', 'R'] as const;

export const LayerKind = { conv2d: 1, dense: 2 } as const;
export const LayerFlag = { BINARY: 1, STOCHASTIC: 2, SCALED: 4, RELU: 8, QUANTIZED: 16, BIAS: 32 } as const;
export const Padding = { valid: 0, same: 1 } as const;
export const DType = { f32: 1, signBits: 2, probU8: 3, i8: 4 } as const;
export type DTypeCode = (typeof DType)[keyof typeof DType];

/**
 * Tensor roles. Shapes are in terms of the layer record: kh = kw = kernel, cin = inChannels,
 * cout = outChannels.
 */
export const Role = {
  /** Float weights: conv [kh, kw, cin, cout] (HWIO), dense [cin, cout]. */
  weightsF32: 1,
  /**
   * Binary weights as sign bits: dims [cout, kh, kw, cin]; stored as u32 words
   * [cout][kh][kw][⌈cin/32⌉]; input channel c is bit (c mod 32) (LSB first) of word ⌊c/32⌋;
   * bit 0 ↔ +1, bit 1 ↔ −1 (sign(0) = +1); unused high bits of the last word are 0.
   */
  weightsSign: 2,
  /**
   * Stochastic binary weights (model S): dims [cout, kh, kw, cin], one byte q per weight,
   * P(w = +1) = q / 255, q = round(255 · clip((w + 1) / 2, 0, 1)).
   */
  weightsProb: 3,
  /** Batch norm on the layer's input, per input channel: moving mean [cin]. */
  bnMean: 4,
  /** Moving variance [cin] (≥ 0). */
  bnVariance: 5,
  /** Shift β [cin]. */
  bnBeta: 6,
  /** Scale γ [cin] (1 when the model was trained without one). */
  bnGamma: 7,
  /** SReLU scalar [1]: the layer's ReLU output is multiplied by it. */
  sreluScale: 8,
  /** Quantized float layer: int8 weights [kh, kw, cin, cout] (HWIO), w ≈ q · scale[cout]. */
  weightsI8: 9,
  /** Quantized float layer: per-output-channel weight scale [cout] (> 0). */
  weightScale: 10,
  /** Float layer with `BIAS` (1.1): per-output-channel bias [cout], added before the ReLU. */
  bias: 11,
} as const;
export type RoleCode = (typeof Role)[keyof typeof Role];

export const ROLE_NAMES: Record<RoleCode, string> = {
  1: 'weightsF32',
  2: 'weightsSign',
  3: 'weightsProb',
  4: 'bnMean',
  5: 'bnVariance',
  6: 'bnBeta',
  7: 'bnGamma',
  8: 'sreluScale',
  9: 'weightsI8',
  10: 'weightScale',
  11: 'bias',
};

export const ROLE_DTYPE: Record<RoleCode, DTypeCode> = {
  1: DType.f32,
  2: DType.signBits,
  3: DType.probU8,
  4: DType.f32,
  5: DType.f32,
  6: DType.f32,
  7: DType.f32,
  8: DType.f32,
  9: DType.i8,
  10: DType.f32,
  11: DType.f32,
};

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Words per pixel of packed sign bits for c channels. */
export function wordsPerPixel(c: number): number {
  return Math.ceil(c / 32);
}

/** Byte length a tensor of this dtype and dims must have. */
export function tensorByteLength(dtype: DTypeCode, dims: readonly number[]): number {
  if (dtype === DType.signBits) {
    const [cout, kh, kw, cin] = dims as [number, number, number, number];
    return cout * kh * kw * wordsPerPixel(cin) * 4;
  }
  const count = dims.reduce((a, b) => a * b, 1);
  return dtype === DType.f32 ? count * 4 : count;
}
