/**
 * The .bnn 1.x byte layout (the paper's fixed models: an architecture code and K in the header,
 * four layer records). Files of this version are still read (read_v1.ts) and become the
 * equivalent 2.0 model graph; nothing writes them any more. Documented in docs/FORMAT.md's appendix.
 */
import type { Field } from './layout.js';

export const V1_MAJOR = 1;
export const V1_HEADER_SIZE = 64;
export const V1_LAYER_RECORD_SIZE = 32;
export const V1_TENSOR_RECORD_SIZE = 32;
export const V1_LIMITS = { maxTensors: 512, maxDim: 1 << 16, maxTensorBytes: 256 << 20, maxFileBytes: 1 << 30 } as const;

export const V1_HEADER_FIELDS = [
  { name: 'versionMajor', type: 'u16', offset: 8, doc: 'format major version (1)' },
  { name: 'versionMinor', type: 'u16', offset: 10, doc: 'format minor version: 1 if the file uses architecture R (`bias` tensors), else 0' },
  { name: 'headerBytes', type: 'u32', offset: 12, doc: 'size of this header: 64' },
  { name: 'fileBytes', type: 'u32', offset: 16, doc: 'total file size in bytes' },
  { name: 'crc32', type: 'u32', offset: 20, doc: 'CRC-32 of bytes [24, fileBytes)' },
  { name: 'arch', type: 'u8', offset: 24, doc: 'architecture code: 0 = A, 1 = B, 2 = C, 3 = S, 4 = R (1.1)' },
  { name: 'reserved0', type: 'u8', offset: 25, doc: 'zero' },
  { name: 'k', type: 'u16', offset: 26, doc: 'K, the number of filters of conv1 (1–4096)' },
  { name: 'inputHeight', type: 'u16', offset: 28, doc: '28' },
  { name: 'inputWidth', type: 'u16', offset: 30, doc: '28' },
  { name: 'inputChannels', type: 'u16', offset: 32, doc: '1' },
  { name: 'classes', type: 'u16', offset: 34, doc: '10' },
  { name: 'layerCount', type: 'u16', offset: 36, doc: '4' },
  { name: 'tensorCount', type: 'u16', offset: 38, doc: 'number of tensor records (T)' },
  { name: 'layerTableOffset', type: 'u32', offset: 40, doc: '64' },
  { name: 'tensorTableOffset', type: 'u32', offset: 44, doc: '64 + 32·4' },
  { name: 'payloadOffset', type: 'u32', offset: 48, doc: 'tensor table end rounded up to 16' },
  { name: 'bnEpsilon', type: 'f32', offset: 52, doc: 'batch-norm epsilon ε (positive, finite)' },
  { name: 'reserved1', type: 'u32', offset: 56, doc: 'zero' },
  { name: 'reserved2', type: 'u32', offset: 60, doc: 'zero' },
] as const satisfies readonly Field[];

export const V1_LAYER_FIELDS = [
  { name: 'kind', type: 'u8', offset: 0, doc: '1 = conv2d, 2 = dense' },
  { name: 'flags', type: 'u8', offset: 1, doc: 'bit 0 BINARY, bit 1 STOCHASTIC, bit 2 SCALED, bit 3 RELU, bit 4 QUANTIZED, bit 5 BIAS' },
  { name: 'kernel', type: 'u8', offset: 2, doc: 'square kernel size (conv; 0 for dense)' },
  { name: 'stride', type: 'u8', offset: 3, doc: 'stride (conv; 0 for dense)' },
  { name: 'padding', type: 'u8', offset: 4, doc: '0 = VALID, 1 = SAME (conv only)' },
  { name: 'reserved0', type: 'u8', offset: 5, doc: 'zero' },
  { name: 'reserved1', type: 'u16', offset: 6, doc: 'zero' },
  { name: 'inHeight', type: 'u32', offset: 8, doc: 'input height (dense: 1)' },
  { name: 'inWidth', type: 'u32', offset: 12, doc: 'input width (dense: 1)' },
  { name: 'inChannels', type: 'u32', offset: 16, doc: 'input channels (dense: flattened features)' },
  { name: 'outHeight', type: 'u32', offset: 20, doc: 'output height (dense: 1)' },
  { name: 'outWidth', type: 'u32', offset: 24, doc: 'output width (dense: 1)' },
  { name: 'outChannels', type: 'u32', offset: 28, doc: 'output channels (dense: units)' },
] as const satisfies readonly Field[];

export const V1_TENSOR_FIELDS = [
  { name: 'layer', type: 'u8', offset: 0, doc: 'index of the layer record' },
  { name: 'role', type: 'u8', offset: 1, doc: 'role code, as in 2.0 (8 = the SReLU scalar of a SCALED conv)' },
  { name: 'dtype', type: 'u8', offset: 2, doc: 'as in 2.0' },
  { name: 'ndim', type: 'u8', offset: 3, doc: '1–4' },
  { name: 'dim0', type: 'u32', offset: 4, doc: 'dimension 0' },
  { name: 'dim1', type: 'u32', offset: 8, doc: 'dimension 1 (1 if unused)' },
  { name: 'dim2', type: 'u32', offset: 12, doc: 'dimension 2 (1 if unused)' },
  { name: 'dim3', type: 'u32', offset: 16, doc: 'dimension 3 (1 if unused)' },
  { name: 'offset', type: 'u32', offset: 20, doc: 'absolute byte offset of the data (16-byte aligned)' },
  { name: 'byteLength', type: 'u32', offset: 24, doc: 'byte length of the data' },
  { name: 'reserved', type: 'u32', offset: 28, doc: 'zero' },
] as const satisfies readonly Field[];

export const V1_ARCH_CODES = ['A', 'B', 'C', 'S', 'R'] as const;
export const V1_LayerFlag = { BINARY: 1, STOCHASTIC: 2, SCALED: 4, RELU: 8, QUANTIZED: 16, BIAS: 32 } as const;
