// Elementwise kernels on f32 / i32 rows: residual add, a per-channel op chain (folded batch norm,
// bias, ReLU), popcount → float conversions, float threshold-and-pack, and the zero-padding fix of
// a binary conv run on an image padded with +1 bits.
//
// Every float result is a single IEEE f32 operation per step (no fused multiply-add), and the SIMD
// paths apply the same operations lane by lane, so the scalar and simd builds agree bit for bit
// (up to NaN payloads, which wasm does not fix).
import { count5, fail, requireBuffer, requireNonNegative, requirePositive, wordsFor } from "./types";

/** out[i] = a[i] + b[i] (f32), i < count. out may equal a or b (in place); no other overlap. */
export function addF32(a: usize, b: usize, out: usize, count: i32): void {
  requirePositive(count, "addF32: count must be > 0");
  const bytes = count5(count, 4, 1, 1, 1);
  requireBuffer(a, bytes, "addF32: a buffer out of bounds");
  requireBuffer(b, bytes, "addF32: b buffer out of bounds");
  requireBuffer(out, bytes, "addF32: out buffer out of bounds");
  const end = <usize>count << 2;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 32 <= end; i += 32) {
      const x0 = f32x4.add(v128.load(a + i), v128.load(b + i));
      const x1 = f32x4.add(v128.load(a + i, 16), v128.load(b + i, 16));
      v128.store(out + i, x0);
      v128.store(out + i, x1, 16);
    }
    for (; i + 16 <= end; i += 16) v128.store(out + i, f32x4.add(v128.load(a + i), v128.load(b + i)));
  }
  for (; i < end; i += 4) store<f32>(out + i, load<f32>(a + i) + load<f32>(b + i));
}

/** chainF32 op codes. */
// @ts-ignore: decorator
@inline const OP_MUL: i32 = 1;
// @ts-ignore: decorator
@inline const OP_ADD: i32 = 2;
// @ts-ignore: decorator
@inline const OP_RELU: i32 = 3;

/**
 * In place on x f32[rows][c]: applies nOps ops in order to every element. ops points to nOps
 * records of 8 bytes, (code: i32, ptr: u32):
 *   1 MUL:  x[i][j] = x[i][j] · vec[j]   (vec = f32[c] at ptr)
 *   2 ADD:  x[i][j] = x[i][j] + vec[j]
 *   3 RELU: x[i][j] = f32.max(x[i][j], +0)   (-0 → +0, NaN stays NaN; ptr ignored)
 * each rounded to f32 (no fused multiply-add). All codes and vec buffers are validated before x is
 * touched; an unknown code traps. nOps = 0 is a no-op. Rows are processed one at a time (every op
 * over the row, then the next row), so a row stays in L1 across the ops.
 */
export function chainF32(x: usize, rows: i32, c: i32, ops: usize, nOps: i32): void {
  requirePositive(rows, "chainF32: rows must be > 0");
  requirePositive(c, "chainF32: c must be > 0");
  requireNonNegative(nOps, "chainF32: nOps must be >= 0");
  requireBuffer(x, count5(rows, c, 4, 1, 1), "chainF32: x buffer out of bounds");
  requireBuffer(ops, count5(nOps, 8, 1, 1, 1), "chainF32: ops buffer out of bounds");
  const vecBytes = count5(c, 4, 1, 1, 1);
  for (let k = 0; k < nOps; k++) {
    const rec = ops + (<usize>k << 3);
    const code = load<i32>(rec);
    if (code == OP_MUL || code == OP_ADD) requireBuffer(load<u32>(rec, 4), vecBytes, "chainF32: vec buffer out of bounds");
    else if (code != OP_RELU) fail("chainF32: unknown op code");
  }
  const rowBytes = <usize>c << 2;
  let row = x;
  for (let i = 0; i < rows; i++, row += rowBytes) {
    for (let k = 0; k < nOps; k++) {
      const rec = ops + (<usize>k << 3);
      const code = load<i32>(rec);
      const vec = <usize>load<u32>(rec, 4);
      let j: usize = 0;
      if (code == OP_MUL) {
        if (ASC_FEATURE_SIMD) {
          for (; j + 16 <= rowBytes; j += 16) v128.store(row + j, f32x4.mul(v128.load(row + j), v128.load(vec + j)));
        }
        for (; j < rowBytes; j += 4) store<f32>(row + j, load<f32>(row + j) * load<f32>(vec + j));
      } else if (code == OP_ADD) {
        if (ASC_FEATURE_SIMD) {
          for (; j + 16 <= rowBytes; j += 16) v128.store(row + j, f32x4.add(v128.load(row + j), v128.load(vec + j)));
        }
        for (; j < rowBytes; j += 4) store<f32>(row + j, load<f32>(row + j) + load<f32>(vec + j));
      } else {
        if (ASC_FEATURE_SIMD) {
          const z = f32x4.splat(0);
          for (; j + 16 <= rowBytes; j += 16) v128.store(row + j, f32x4.max(v128.load(row + j), z));
        }
        for (; j < rowBytes; j += 4) store<f32>(row + j, Mathf.max(load<f32>(row + j), 0));
      }
    }
  }
}

/** accToF32 modes. */
// @ts-ignore: decorator
@inline const ACC_POPCOUNT: i32 = 0;
// @ts-ignore: decorator
@inline const ACC_DOUBLED: i32 = 1;
// @ts-ignore: decorator
@inline const ACC_DEQUANT: i32 = 2;

/**
 * i32 acc[rows][c] → f32 out[rows][c]:
 *   mode 0: out = f32(nValid - 2·acc)   (popcount P → the ±1 dot product)
 *   mode 1: out = f32(nValid - acc)     (acc already doubled and corrected: see zeroPadFixI32)
 *   mode 2: out = f32(acc) · dq[j]      (int8 dequantization; dq f32[c]; one f32 multiply)
 * The integer expressions are evaluated in i32: keeping them inside ±2^31 is the caller's contract
 * (true for any real layer: |acc| <= nValid <= kh·kw·cin). The conversion to f32 rounds to nearest
 * even. nValid is ignored in mode 2; dq is ignored (and not validated; 0 is fine) in modes 0 and 1.
 * out may equal acc (in place); no other overlap.
 */
export function accToF32(acc: usize, rows: i32, c: i32, mode: i32, nValid: i32, dq: usize, out: usize): void {
  requirePositive(rows, "accToF32: rows must be > 0");
  requirePositive(c, "accToF32: c must be > 0");
  if (mode != ACC_POPCOUNT && mode != ACC_DOUBLED && mode != ACC_DEQUANT) fail("accToF32: mode must be 0, 1 or 2");
  const bytes = count5(rows, c, 4, 1, 1);
  requireBuffer(acc, bytes, "accToF32: acc buffer out of bounds");
  requireBuffer(out, bytes, "accToF32: out buffer out of bounds");
  if (mode == ACC_DEQUANT) requireBuffer(dq, count5(c, 4, 1, 1, 1), "accToF32: dq buffer out of bounds");
  if (mode != ACC_DEQUANT) {
    const total = <usize>bytes;
    const shift = mode == ACC_POPCOUNT ? 1 : 0;
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const nv = i32x4.splat(nValid);
      for (; i + 16 <= total; i += 16) {
        v128.store(out + i, f32x4.convert_i32x4_s(i32x4.sub(nv, i32x4.shl(v128.load(acc + i), shift))));
      }
    }
    for (; i < total; i += 4) store<f32>(out + i, <f32>(nValid - (load<i32>(acc + i) << shift)));
    return;
  }
  const rowBytes = <usize>c << 2;
  let a = acc, o = out;
  for (let r = 0; r < rows; r++, a += rowBytes, o += rowBytes) {
    let j: usize = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 16 <= rowBytes; j += 16) {
        v128.store(o + j, f32x4.mul(f32x4.convert_i32x4_s(v128.load(a + j)), v128.load(dq + j)));
      }
    }
    for (; j < rowBytes; j += 4) store<f32>(o + j, <f32>load<i32>(a + j) * load<f32>(dq + j));
  }
}

/** 4 "minus" bits (bit 1 = -1) of x against t under flip mask fm: !(fm ? x <= t : x >= t); NaN → 1. */
// @ts-ignore: decorator
@inline function minusBitsF4(x: v128, t: v128, fm: v128): u32 {
  return <u32>i32x4.bitmask(v128.not(v128.bitselect(f32x4.le(x, t), f32x4.ge(x, t), fm)));
}

/**
 * Binarize floats into packed activations: channel j of row i is +1 (bit 0) iff
 * (flip[j] == 0 ? x >= thr[j] : x <= thr[j]), else -1 (bit 1; this includes x = NaN). x f32[rows][c],
 * thr f32[c] (±Infinity allowed), flip i32[c] (any nonzero = flipped). Writes u32
 * out[rows][ceil(c/32)], padding bits 0.
 */
export function thresholdPackF32(x: usize, rows: i32, c: i32, thr: usize, flip: usize, out: usize): void {
  requirePositive(rows, "thresholdPackF32: rows must be > 0");
  requirePositive(c, "thresholdPackF32: c must be > 0");
  const wpp = wordsFor(c);
  requireBuffer(x, count5(rows, c, 4, 1, 1), "thresholdPackF32: x buffer out of bounds");
  requireBuffer(thr, count5(c, 4, 1, 1, 1), "thresholdPackF32: thr buffer out of bounds");
  requireBuffer(flip, count5(c, 4, 1, 1, 1), "thresholdPackF32: flip buffer out of bounds");
  requireBuffer(out, count5(rows, wpp, 4, 1, 1), "thresholdPackF32: out buffer out of bounds");
  const rowBytes = <usize>c << 2;
  let row = x;
  let dst = out;
  for (let i = 0; i < rows; i++, row += rowBytes) {
    for (let w = 0; w < wpp; w++, dst += 4) {
      const base = w << 5;
      const lim = min(32, c - base);
      let bits: u32 = 0;
      let j = 0;
      if (ASC_FEATURE_SIMD) {
        const z = i32x4.splat(0);
        for (; j + 4 <= lim; j += 4) {
          const off = <usize>(base + j) << 2;
          const fm = v128.not(i32x4.eq(v128.load(flip + off), z));
          bits |= minusBitsF4(v128.load(row + off), v128.load(thr + off), fm) << <u32>j;
        }
      }
      for (; j < lim; j++) {
        const off = <usize>(base + j) << 2;
        const v = load<f32>(row + off);
        const t = load<f32>(thr + off);
        const plus = load<i32>(flip + off) == 0 ? v >= t : v <= t;
        if (!plus) bits |= (<u32>1) << <u32>j;
      }
      store<u32>(dst, bits);
    }
  }
}

/**
 * In place on i32 acc[n][perImage]: acc[b][i] = 2·acc[b][i] + corr[i] (i32, wrapping), corr
 * i32[perImage]. The fix-up of a binary conv run on an input padded with +1 (bit 0, bitPad) where
 * the model pads with 0: over a window of nValid = kh·kw·cin taps with popcount P, the padded taps
 * add Σ_pad w (their ±1 weights) to nValid - 2·P, so with corr[i] = Σ_pad w of output element i
 * (= nPad·cin - 2·popcount of those weight bits; perImage = outH·outW·cout, the padding depends on
 * the pixel) nValid - (2·P + corr) is the zero-padded ±1 dot product: accToF32 mode 1.
 */
export function zeroPadFixI32(acc: usize, n: i32, perImage: i32, corr: usize): void {
  requirePositive(n, "zeroPadFixI32: n must be > 0");
  requirePositive(perImage, "zeroPadFixI32: perImage must be > 0");
  requireBuffer(acc, count5(n, perImage, 4, 1, 1), "zeroPadFixI32: acc buffer out of bounds");
  requireBuffer(corr, count5(perImage, 4, 1, 1, 1), "zeroPadFixI32: corr buffer out of bounds");
  const imgBytes = <usize>perImage << 2;
  let a = acc;
  for (let b = 0; b < n; b++, a += imgBytes) {
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 16 <= imgBytes; i += 16) {
        v128.store(a + i, i32x4.add(i32x4.shl(v128.load(a + i), 1), v128.load(corr + i)));
      }
    }
    for (; i < imgBytes; i += 4) store<i32>(a + i, (load<i32>(a + i) << 1) + load<i32>(corr + i));
  }
}
