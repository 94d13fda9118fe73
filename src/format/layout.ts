/**
 * The .bnn 2.0 byte layout, defined once. The writer, the reader, and docs/FORMAT.md (generated
 * from these tables by `bnn-edge format-doc`, with a test that the committed doc is current)
 * follow from this file. (1.x files are still read; their layout is in layout_v1.ts.)
 *
 * A .bnn file is: an 80-byte header, a table of layer records (the model graph), a table of
 * tensor records, then the tensor payload (each tensor 16-byte aligned). All integers and floats
 * are little-endian.
 */
import type { InputQuantizer, KernelQuantizer, LayerKind } from '../model/graph.js';

/** "\x89BNN\r\n\x1a\n": non-ASCII first byte and CR/LF/EOF bytes catch text-mode corruption (as PNG). */
export const MAGIC = [0x89, 0x42, 0x4e, 0x4e, 0x0d, 0x0a, 0x1a, 0x0a] as const;
/**
 * Readers accept files of their major version and any minor (a minor adds, never changes). 2.0
 * made the file carry the model graph; 1.x files (the paper's fixed models) are read too. 2.1 added
 * ternary weights (kernelQuantizer 4, tensor role weightsMask); a file without them is written 2.0.
 */
export const FORMAT_MAJOR = 2;
export const FORMAT_MINOR = 1;
export const HEADER_SIZE = 80;
export const LAYER_RECORD_SIZE = 64;
export const TENSOR_RECORD_SIZE = 32;
export const PAYLOAD_ALIGN = 16;
export const NAME_BYTES = 24;
export const MODEL_NAME_BYTES = 32;
/** Upper bounds a reader enforces before allocating anything (a hostile file cannot ask for more). */
export const LIMITS = { maxLayers: 1024, maxTensors: 4096, maxDim: 1 << 26, maxTensorBytes: 256 << 20, maxFileBytes: 1 << 30 } as const;

export type FieldType = 'u8' | 'u16' | 'u32' | 'f32' | 'name';
export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
  /** Bytes of a `name` field (NUL-padded ASCII). */
  readonly size?: number;
  readonly doc: string;
}

export const FIELD_BYTES: Record<Exclude<FieldType, 'name'>, number> = { u8: 1, u16: 2, u32: 4, f32: 4 };

export const HEADER_FIELDS = [
  { name: 'versionMajor', type: 'u16', offset: 8, doc: `format major version (${FORMAT_MAJOR})` },
  { name: 'versionMinor', type: 'u16', offset: 10, doc: `format minor version (${FORMAT_MINOR})` },
  { name: 'headerBytes', type: 'u32', offset: 12, doc: `size of this header: ${HEADER_SIZE}` },
  { name: 'fileBytes', type: 'u32', offset: 16, doc: 'total file size in bytes' },
  { name: 'crc32', type: 'u32', offset: 20, doc: 'CRC-32 (IEEE 802.3, as zlib) of bytes [24, fileBytes)' },
  { name: 'inputHeight', type: 'u16', offset: 24, doc: 'image height H (1–4096)' },
  { name: 'inputWidth', type: 'u16', offset: 26, doc: 'image width W (1–4096)' },
  { name: 'inputChannels', type: 'u16', offset: 28, doc: 'image channels C (1–64); pixels are H×W×C, row-major, channels last, in [0, 1]' },
  { name: 'classes', type: 'u16', offset: 30, doc: 'number of logits (1–65535): the last layer\'s output is 1×1×classes' },
  { name: 'layerCount', type: 'u16', offset: 32, doc: `number of layer records L (1–${LIMITS.maxLayers})` },
  { name: 'tensorCount', type: 'u16', offset: 34, doc: `number of tensor records T (0–${LIMITS.maxTensors})` },
  { name: 'layerTableOffset', type: 'u32', offset: 36, doc: `byte offset of the layer table (${HEADER_SIZE})` },
  { name: 'tensorTableOffset', type: 'u32', offset: 40, doc: `byte offset of the tensor table (${HEADER_SIZE} + ${LAYER_RECORD_SIZE}·L)` },
  { name: 'payloadOffset', type: 'u32', offset: 44, doc: `byte offset of the first tensor (tensor table end rounded up to ${PAYLOAD_ALIGN})` },
  { name: 'modelName', type: 'name', offset: 48, size: MODEL_NAME_BYTES, doc: `the model's name for people: 1–${MODEL_NAME_BYTES} bytes of A–Z a–z 0–9 _ . -, NUL-padded` },
] as const satisfies readonly Field[];

export const LAYER_FIELDS = [
  { name: 'kind', type: 'u8', offset: 0, doc: 'layer kind (table below)' },
  { name: 'flags', type: 'u8', offset: 1, doc: 'bit 0 USE_BIAS, bit 1 INT8, bit 2 CENTER, bit 3 SCALE, bit 4 SAME (table below); other bits 0' },
  { name: 'inputQuantizer', type: 'u8', offset: 2, doc: 'quantConv2d / quantDense: how the input is binarized: 0 none (float input), 1 ste_sign, 2 ste_sign_gradclip (same forward: +1 iff x ≥ 0; they differ in training only); else 0' },
  { name: 'kernelQuantizer', type: 'u8', offset: 3, doc: 'quantConv2d / quantDense: 0 float weights, 1 ste_sign, 2 ste_sign_gradclip (sign bits), 3 stochastic (probabilities), 4 ste_tern (sign bits + mask, format 2.1); else 0' },
  { name: 'inputCount', type: 'u8', offset: 4, doc: 'number of inputs: 2 for add, else 1' },
  { name: 'padValue', type: 'u8', offset: 5, doc: 'binary quantConv2d with SAME padding: 1 pads the ±1 input with +1, 2 with 0; else 0' },
  { name: 'reserved0', type: 'u16', offset: 6, doc: 'zero' },
  { name: 'input0', type: 'u16', offset: 8, doc: 'first input: 0 = the image, j ≥ 1 = the output of layer j − 1 (which must come before this layer)' },
  { name: 'input1', type: 'u16', offset: 10, doc: 'second input of add (as input0); 0 for one-input layers' },
  { name: 'kernelH', type: 'u16', offset: 12, doc: 'quantConv2d kernel / pool window height (1–255); else 0' },
  { name: 'kernelW', type: 'u16', offset: 14, doc: 'quantConv2d kernel / pool window width (1–255); else 0' },
  { name: 'strideH', type: 'u16', offset: 16, doc: 'quantConv2d / pool vertical stride (1–255); else 0' },
  { name: 'strideW', type: 'u16', offset: 18, doc: 'quantConv2d / pool horizontal stride (1–255); else 0' },
  { name: 'units', type: 'u32', offset: 20, doc: 'quantConv2d filters / quantDense units (1–65536); else 0' },
  { name: 'epsilon', type: 'f32', offset: 24, doc: 'batchNorm ε, in (0, 1); else 0' },
  { name: 'scaleInit', type: 'f32', offset: 28, doc: 'scale: the initial value training used (training metadata, finite); else 0' },
  { name: 'outHeight', type: 'u16', offset: 32, doc: 'output height (as the graph\'s shape rules give it)' },
  { name: 'outWidth', type: 'u16', offset: 34, doc: 'output width' },
  { name: 'outChannels', type: 'u32', offset: 36, doc: 'output channels (flatten: H·W·C of its input)' },
  { name: 'layerName', type: 'name', offset: 40, size: NAME_BYTES, doc: `unique layer name: 1–${NAME_BYTES} bytes of A–Z a–z 0–9 _ . -, NUL-padded; not "input"` },
] as const satisfies readonly Field[];

export const TENSOR_FIELDS = [
  { name: 'layer', type: 'u16', offset: 0, doc: 'index of the layer the tensor belongs to' },
  { name: 'role', type: 'u8', offset: 2, doc: 'what the tensor is (table below)' },
  { name: 'dtype', type: 'u8', offset: 3, doc: 'element encoding: 1 = f32, 2 = packed sign bits (u32 words), 3 = u8 probability, 4 = i8' },
  { name: 'ndim', type: 'u8', offset: 4, doc: 'number of dimensions used (1–4)' },
  { name: 'reserved0', type: 'u8', offset: 5, doc: 'zero' },
  { name: 'reserved1', type: 'u16', offset: 6, doc: 'zero' },
  { name: 'dim0', type: 'u32', offset: 8, doc: 'dimension 0' },
  { name: 'dim1', type: 'u32', offset: 12, doc: 'dimension 1 (1 if unused)' },
  { name: 'dim2', type: 'u32', offset: 16, doc: 'dimension 2 (1 if unused)' },
  { name: 'dim3', type: 'u32', offset: 20, doc: 'dimension 3 (1 if unused)' },
  { name: 'offset', type: 'u32', offset: 24, doc: `absolute byte offset of the data (${PAYLOAD_ALIGN}-byte aligned, inside the payload)` },
  { name: 'byteLength', type: 'u32', offset: 28, doc: 'byte length of the data (exactly what dims and dtype imply)' },
] as const satisfies readonly Field[];

export type HeaderName = (typeof HEADER_FIELDS)[number]['name'];
export type LayerFieldName = (typeof LAYER_FIELDS)[number]['name'];
export type TensorFieldName = (typeof TENSOR_FIELDS)[number]['name'];

/** Layer kinds as stored; index = code − 1. */
export const KIND_CODES: readonly LayerKind[] = ['quantConv2d', 'quantDense', 'batchNorm', 'relu', 'scale', 'maxPool2d', 'avgPool2d', 'globalAvgPool2d', 'add', 'flatten'];
export const INPUT_QUANTIZER_CODES: readonly (InputQuantizer | null)[] = [null, 'ste_sign', 'ste_sign_gradclip'];
export const KERNEL_QUANTIZER_CODES: readonly (KernelQuantizer | null)[] = [null, 'ste_sign', 'ste_sign_gradclip', 'stochastic', 'ste_tern'];
export const PAD_VALUE_CODES: readonly (0 | 1 | null)[] = [null, 1, 0];

export const LayerFlag = { USE_BIAS: 1, INT8: 2, CENTER: 4, SCALE: 8, SAME: 16 } as const;
export const DType = { f32: 1, signBits: 2, probU8: 3, i8: 4 } as const;
export type DTypeCode = (typeof DType)[keyof typeof DType];

/** Tensor roles (codes as in 1.x). Shapes follow from the layer and its input shape (layerTensorPlan). */
export const Role = {
  /** Float weights: conv [kh, kw, cin, cout] (HWIO), dense [in, units]. */
  weightsF32: 1,
  /**
   * Binary weights as sign bits, dims [cout, kh, kw, cin] (dense: [units, 1, 1, in]); stored as
   * u32 words [cout][kh][kw][⌈cin/32⌉]; input channel c is bit (c mod 32) (LSB first) of word
   * ⌊c/32⌋; bit 0 ↔ +1, bit 1 ↔ −1; unused high bits of the last word are 0.
   */
  weightsSign: 2,
  /** Stochastic binary weights: dims as weightsSign, one byte q per weight, P(w = +1) = q / 255. */
  weightsProb: 3,
  /** Batch norm: moving mean [c]. */
  bnMean: 4,
  /** Moving variance [c] (≥ 0). */
  bnVariance: 5,
  /** Shift β [c]; only with CENTER (else β = 0). */
  bnBeta: 6,
  /** Scale γ [c]; only with SCALE (else γ = 1). */
  bnGamma: 7,
  /** A scale layer's scalar [1]. */
  scale: 8,
  /** int8 conv: weights [kh, kw, cin, cout] (HWIO), w ≈ q · weightScale[cout]. */
  weightsI8: 9,
  /** int8 conv: per-output-channel weight scale [cout] (> 0). */
  weightScale: 10,
  /** Per-output-channel bias [cout] of a conv / dense layer with USE_BIAS. */
  bias: 11,
  /**
   * Ternary weights (ste_tern, format 2.1): which weights are nonzero, as sign bits are laid out
   * (dims as weightsSign), bit 1 ↔ nonzero. The weightsSign tensor before it holds the signs of the
   * nonzero weights and 0 elsewhere, so a weight is +1 (mask 1, sign 0), −1 (1, 1) or 0 (0, 0).
   */
  weightsMask: 12,
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
  8: 'scale',
  9: 'weightsI8',
  10: 'weightScale',
  11: 'bias',
  12: 'weightsMask',
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
  12: DType.signBits,
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
