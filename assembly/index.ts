// bnn-edge WebAssembly kernels.
//
// This module is the compute core of the bnn-edge runtime: XOR/popcount binary convolutions over
// bit-packed ±1 tensors, the float first layer (conv + binarization), an exact-integer first layer
// (u8 input quantization, u8 × i8 conv + threshold + pack; qconv.ts), output transforms
// (threshold-and-pack, ReLU/scale), a dense head, argmax, stochastic weight sampling, pooling on
// floats and on packed bits (pool/), bit padding, elementwise ops (residual add, op chains,
// popcount → float, float threshold-and-pack; elementwise.ts), and a streaming XOR+popcount
// ceiling used by the benchmarks. It is built twice from the same source:
// build/bnn-scalar.wasm (no SIMD) and build/bnn-simd.wasm (`--enable simd`, ASC_FEATURE_SIMD).
//
// Interface: flat functions taking numbers only. Pointers are byte offsets into this module's
// linear memory; the TypeScript wrapper owns the layout (all buffers at or above heapBase(),
// 16-byte aligned; it grows `memory` itself). Kernels never allocate, and each one validates
// dims and buffer bounds first, aborting (trapping) on a bad call. Bit conventions and the
// packed layouts are documented in types.ts (the qconv weight layout in qconv.ts). Some kernels
// keep small working buffers in static memory below heapBase() (module-level, never grown).

import { heapStart, fail } from "./types";
import { checkBconv2dArgs } from "./bconv2d/args";
import { bconv2dPopcountReferenceImpl } from "./bconv2d/reference";
import { bconv2dPopcountScalarImpl } from "./bconv2d/scalar";
import { bconv2dPopcountSimdImpl } from "./bconv2d/simd";
import { bconv2dPopcountMaskedImpl, bconv2dPopcountMaskedReferenceImpl } from "./bconv2d/masked";
import { count5, requireBuffer } from "./types";

export { fconv2d, fconv2dBiasRelu, fconv2dThresholdPack } from "./fconv2d";
export { quantizeInputU8, qconv2dPackWeights, qconv2dPackedWeightBytes, qconv2dThresholdPack } from "./qconv";
export { thresholdPackI32, reluScaleI32, biasReluF32 } from "./transform";
export { denseF32, argmaxF32 } from "./dense";
export { bernoulliPack } from "./random";
export { xorPopcountPeak, xorPopcountPeakScalar } from "./peak";
export { maxPool2dF32, avgPool2dF32, globalAvgPool2dF32 } from "./pool/float";
export { bitMaxPool2d, bitPad } from "./pool/bits";
export { addF32, chainF32, accToF32, thresholdPackF32, zeroPadFixI32 } from "./elementwise";

/** First byte callers may use for buffers: __heap_base rounded up to 16. */
export function heapBase(): usize {
  return heapStart();
}

/** 1 in the simd build, 0 in the scalar build. */
export function simdBuild(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}

/**
 * i32 out[n][outH][outW][cout] = popcount(input window XOR filter o), VALID binary conv.
 * input: packed u32 [n][inH][inW][wpp]; weights: packed u32 [cout][kh][kw][wpp].
 * The ±1 dot product is kh·kw·cin - 2·out. Uses the SIMD variant in the simd build.
 */
export function bconv2dPopcount(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  checkBconv2dArgs(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  if (ASC_FEATURE_SIMD) {
    bconv2dPopcountSimdImpl(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  } else {
    bconv2dPopcountScalarImpl(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  }
}

/** Same contract as bconv2dPopcount: plain nested loops, i32 popcnt per word (the spec). */
export function bconv2dPopcountReference(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  checkBconv2dArgs(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  bconv2dPopcountReferenceImpl(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
}

/** Same contract as bconv2dPopcount: scalar i64.popcnt, 4 output channels per pass. */
export function bconv2dPopcountScalar(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  checkBconv2dArgs(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  bconv2dPopcountScalarImpl(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
}

/**
 * Same contract as bconv2dPopcount: v128 XOR + i8x16.popcnt. AssemblyScript cannot make an export
 * conditional, so the symbol exists in both builds, but in the scalar build (where the SIMD code is
 * not compiled at all) calling it aborts. Check simdBuild() first.
 */
export function bconv2dPopcountSimd(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  if (ASC_FEATURE_SIMD) {
    checkBconv2dArgs(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
    bconv2dPopcountSimdImpl(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  } else {
    fail("bconv2dPopcountSimd: not available in the scalar build (simdBuild() == 0)");
  }
}

/**
 * Ternary weights: i32 out[n][outH][outW][cout] = popcount((input window XOR filter o) AND mask o),
 * otherwise as bconv2dPopcount; mask: packed u32 [cout][kh][kw][wpp] like the weights (bit 1 ↔
 * the weight is nonzero). The ±1 dot product is n₁(o) − 2·out, n₁(o) the filter's mask bits.
 */
export function bconv2dPopcountMasked(
  input: usize, weights: usize, mask: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  checkBconv2dArgs(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  requireBuffer(mask, count5(cout, kh, kw, wpp, 4), "bconv2dPopcountMasked: mask buffer out of bounds");
  bconv2dPopcountMaskedImpl(input, weights, mask, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
}

/** Same contract as bconv2dPopcountMasked: plain nested loops (the spec). */
export function bconv2dPopcountMaskedReference(
  input: usize, weights: usize, mask: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  checkBconv2dArgs(input, weights, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
  requireBuffer(mask, count5(cout, kh, kw, wpp, 4), "bconv2dPopcountMaskedReference: mask buffer out of bounds");
  bconv2dPopcountMaskedReferenceImpl(input, weights, mask, out, n, inH, inW, wpp, cout, kh, kw, strideH, strideW, outH, outW);
}
