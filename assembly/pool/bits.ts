// Pooling and padding on packed sign bits [n][h][w][wpp] (bit convention in types.ts).
//
// bitMaxPool2d: with bit 0 = +1 and bit 1 = -1, the AND of a channel's bits over a window is the
// max of its ±1 values and the OR is the min. orMask (u32[wpp]) picks, per channel bit, OR (1) or
// AND (0): out = (A & ~orMask[w]) | (O & orMask[w]) — the min is what a max-pool of the
// pre-threshold values gives for a channel whose threshold is flipped. Padding bits of the input
// are 0 in every tap, so they stay 0 in the output whatever orMask holds.
//
// Traversal: output pixels in memory order; per pixel, the words are consumed in chunks (SIMD: 2
// v128 = 8 words, then 1 v128, then u32; scalar: 2 u64, then u64, then u32), and for each chunk
// every valid tap of the window is loaded once and folded into an AND and an OR accumulator
// (starting from all-ones / zero), held in registers. Fast path: in each output row whose windows
// are not clipped vertically, the run of columns whose windows are not clipped either is done two
// pixels at a time (one loop over a static table of the window's tap offsets, each offset serving
// both pixels; moving to the next pair is a pointer bump). Clipped windows (the border of a SAME
// pool) and windows of more than MAX_TAPS taps go one pixel at a time through nested row / column
// loops. The only working memory is that static table (below heapBase, never grown).
//
// bitPad: zero padding around the packed image (the padding value, bit 0 = +1, is what a
// TensorFlow model padded with zeros before sign() sees as sign(0) = +1); rows are copied with
// memory.copy in the simd build and a u64 loop in the scalar build (which stays within wasm MVP).
import { count5, fail, requireBuffer, requireNonNegative, requirePositive } from "../types";
import { checkPoolGeometry } from "./args";

/** One output pixel of bitMaxPool2d: window p0 (rows × colsBytes), words to d. */
// @ts-ignore: decorator
@inline function bitPoolPixel(
  p0: usize, rows: i32, colsBytes: usize, inRowBytes: usize, pixBytes: usize, orMask: usize, d: usize
): void {
  let j: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const ones = i32x4.splat(-1);
    const zero = i32x4.splat(0);
    for (; j + 32 <= pixBytes; j += 32) {
      let a0 = ones, a1 = ones, o0 = zero, o1 = zero;
      let pr = p0 + j;
      for (let r = 0; r < rows; r++, pr += inRowBytes) {
        const pend = pr + colsBytes;
        for (let p = pr; p < pend; p += pixBytes) {
          const v0 = v128.load(p), v1 = v128.load(p, 16);
          a0 = v128.and(a0, v0); o0 = v128.or(o0, v0);
          a1 = v128.and(a1, v1); o1 = v128.or(o1, v1);
        }
      }
      v128.store(d + j, v128.bitselect(o0, a0, v128.load(orMask + j)));
      v128.store(d + j, v128.bitselect(o1, a1, v128.load(orMask + j, 16)), 16);
    }
    if (j + 16 <= pixBytes) {
      let a0 = ones, o0 = zero;
      let pr = p0 + j;
      for (let r = 0; r < rows; r++, pr += inRowBytes) {
        const pend = pr + colsBytes;
        for (let p = pr; p < pend; p += pixBytes) {
          const v0 = v128.load(p);
          a0 = v128.and(a0, v0); o0 = v128.or(o0, v0);
        }
      }
      v128.store(d + j, v128.bitselect(o0, a0, v128.load(orMask + j)));
      j += 16;
    }
  } else {
    for (; j + 16 <= pixBytes; j += 16) {
      let a0: u64 = u64.MAX_VALUE, a1: u64 = u64.MAX_VALUE, o0: u64 = 0, o1: u64 = 0;
      let pr = p0 + j;
      for (let r = 0; r < rows; r++, pr += inRowBytes) {
        const pend = pr + colsBytes;
        for (let p = pr; p < pend; p += pixBytes) {
          const v0 = load<u64>(p), v1 = load<u64>(p, 8);
          a0 &= v0; o0 |= v0;
          a1 &= v1; o1 |= v1;
        }
      }
      const m0 = load<u64>(orMask + j), m1 = load<u64>(orMask + j, 8);
      store<u64>(d + j, (a0 & ~m0) | (o0 & m0));
      store<u64>(d + j, (a1 & ~m1) | (o1 & m1), 8);
    }
    if (j + 8 <= pixBytes) {
      let a0: u64 = u64.MAX_VALUE, o0: u64 = 0;
      let pr = p0 + j;
      for (let r = 0; r < rows; r++, pr += inRowBytes) {
        const pend = pr + colsBytes;
        for (let p = pr; p < pend; p += pixBytes) {
          const v0 = load<u64>(p);
          a0 &= v0; o0 |= v0;
        }
      }
      const m0 = load<u64>(orMask + j);
      store<u64>(d + j, (a0 & ~m0) | (o0 & m0));
      j += 8;
    }
  }
  for (; j < pixBytes; j += 4) {
    let a0: u32 = u32.MAX_VALUE, o0: u32 = 0;
    let pr = p0 + j;
    for (let r = 0; r < rows; r++, pr += inRowBytes) {
      const pend = pr + colsBytes;
      for (let p = pr; p < pend; p += pixBytes) {
        const v0 = load<u32>(p);
        a0 &= v0; o0 |= v0;
      }
    }
    const m0 = load<u32>(orMask + j);
    store<u32>(d + j, (a0 & ~m0) | (o0 & m0));
  }
}

/** Largest window (taps) of the fast path; larger windows take bitPoolPixel's nested loops. */
// @ts-ignore: decorator
@inline const MAX_TAPS: i32 = 64;
/** Fast path: byte offset of each tap of an unclipped window from its first tap, in (ky, kx) order. */
const tapOff: usize = memory.data(MAX_TAPS << 2, 16);

/**
 * Two adjacent output pixels with unclipped windows at pa and pa + dB (SIMD): every tap offset
 * (tapOff[0 .. taps)) loaded once per 8-word chunk and used for both pixels.
 */
// @ts-ignore: decorator
@inline function bitPoolPair(pa: usize, dB: usize, taps: i32, pixBytes: usize, orMask: usize, d: usize): void {
  const ones = i32x4.splat(-1);
  const zero = i32x4.splat(0);
  const pb = pa + dB;
  const tEnd = tapOff + (<usize>taps << 2);
  let j: usize = 0;
  for (; j + 32 <= pixBytes; j += 32) {
    let a0 = ones, a1 = ones, o0 = zero, o1 = zero;
    let b0 = ones, b1 = ones, q0 = zero, q1 = zero;
    for (let t = tapOff; t < tEnd; t += 4) {
      const off = <usize>load<u32>(t) + j;
      const v0 = v128.load(pa + off), v1 = v128.load(pa + off, 16);
      const w0 = v128.load(pb + off), w1 = v128.load(pb + off, 16);
      a0 = v128.and(a0, v0); o0 = v128.or(o0, v0);
      a1 = v128.and(a1, v1); o1 = v128.or(o1, v1);
      b0 = v128.and(b0, w0); q0 = v128.or(q0, w0);
      b1 = v128.and(b1, w1); q1 = v128.or(q1, w1);
    }
    const m0 = v128.load(orMask + j), m1 = v128.load(orMask + j, 16);
    v128.store(d + j, v128.bitselect(o0, a0, m0));
    v128.store(d + j, v128.bitselect(o1, a1, m1), 16);
    v128.store(d + pixBytes + j, v128.bitselect(q0, b0, m0));
    v128.store(d + pixBytes + j, v128.bitselect(q1, b1, m1), 16);
  }
  for (; j + 16 <= pixBytes; j += 16) {
    let a0 = ones, o0 = zero, b0 = ones, q0 = zero;
    for (let t = tapOff; t < tEnd; t += 4) {
      const off = <usize>load<u32>(t) + j;
      const v0 = v128.load(pa + off), w0 = v128.load(pb + off);
      a0 = v128.and(a0, v0); o0 = v128.or(o0, v0);
      b0 = v128.and(b0, w0); q0 = v128.or(q0, w0);
    }
    const m0 = v128.load(orMask + j);
    v128.store(d + j, v128.bitselect(o0, a0, m0));
    v128.store(d + pixBytes + j, v128.bitselect(q0, b0, m0));
  }
  for (; j < pixBytes; j += 4) {
    let a0: u32 = u32.MAX_VALUE, o0: u32 = 0, b0: u32 = u32.MAX_VALUE, q0: u32 = 0;
    for (let t = tapOff; t < tEnd; t += 4) {
      const off = <usize>load<u32>(t) + j;
      const v0 = load<u32>(pa + off), w0 = load<u32>(pb + off);
      a0 &= v0; o0 |= v0;
      b0 &= w0; q0 |= w0;
    }
    const m0 = load<u32>(orMask + j);
    store<u32>(d + j, (a0 & ~m0) | (o0 & m0));
    store<u32>(d + pixBytes + j, (b0 & ~m0) | (q0 & m0));
  }
}

/** Scalar bitPoolPair: chunks of 2 u64, then u64, then u32. */
// @ts-ignore: decorator
@inline function bitPoolPairS(pa: usize, dB: usize, taps: i32, pixBytes: usize, orMask: usize, d: usize): void {
  const pb = pa + dB;
  const tEnd = tapOff + (<usize>taps << 2);
  let j: usize = 0;
  for (; j + 16 <= pixBytes; j += 16) {
    let a0: u64 = u64.MAX_VALUE, a1: u64 = u64.MAX_VALUE, o0: u64 = 0, o1: u64 = 0;
    let b0: u64 = u64.MAX_VALUE, b1: u64 = u64.MAX_VALUE, q0: u64 = 0, q1: u64 = 0;
    for (let t = tapOff; t < tEnd; t += 4) {
      const off = <usize>load<u32>(t) + j;
      const v0 = load<u64>(pa + off), v1 = load<u64>(pa + off, 8);
      const w0 = load<u64>(pb + off), w1 = load<u64>(pb + off, 8);
      a0 &= v0; o0 |= v0;
      a1 &= v1; o1 |= v1;
      b0 &= w0; q0 |= w0;
      b1 &= w1; q1 |= w1;
    }
    const m0 = load<u64>(orMask + j), m1 = load<u64>(orMask + j, 8);
    store<u64>(d + j, (a0 & ~m0) | (o0 & m0));
    store<u64>(d + j, (a1 & ~m1) | (o1 & m1), 8);
    store<u64>(d + pixBytes + j, (b0 & ~m0) | (q0 & m0));
    store<u64>(d + pixBytes + j, (b1 & ~m1) | (q1 & m1), 8);
  }
  if (j + 8 <= pixBytes) {
    let a0: u64 = u64.MAX_VALUE, o0: u64 = 0, b0: u64 = u64.MAX_VALUE, q0: u64 = 0;
    for (let t = tapOff; t < tEnd; t += 4) {
      const off = <usize>load<u32>(t) + j;
      const v0 = load<u64>(pa + off), w0 = load<u64>(pb + off);
      a0 &= v0; o0 |= v0;
      b0 &= w0; q0 |= w0;
    }
    const m0 = load<u64>(orMask + j);
    store<u64>(d + j, (a0 & ~m0) | (o0 & m0));
    store<u64>(d + pixBytes + j, (b0 & ~m0) | (q0 & m0));
    j += 8;
  }
  if (j < pixBytes) {
    let a0: u32 = u32.MAX_VALUE, o0: u32 = 0, b0: u32 = u32.MAX_VALUE, q0: u32 = 0;
    for (let t = tapOff; t < tEnd; t += 4) {
      const off = <usize>load<u32>(t) + j;
      const v0 = load<u32>(pa + off), w0 = load<u32>(pb + off);
      a0 &= v0; o0 |= v0;
      b0 &= w0; q0 |= w0;
    }
    const m0 = load<u32>(orMask + j);
    store<u32>(d + j, (a0 & ~m0) | (o0 & m0));
    store<u32>(d + pixBytes + j, (b0 & ~m0) | (q0 & m0));
  }
}

/**
 * Max pooling of packed sign bits: input u32[n][inH][inW][wpp] → out u32[n][outH][outW][wpp];
 * for each word w of an output pixel, A = AND and O = OR of that word over the window's valid
 * taps, out = (A & ~orMask[w]) | (O & orMask[w]) (orMask u32[wpp]). Window rules as maxPool2dF32
 * (taps outside the input ignored; 0 <= padTop < poolH, 0 <= padLeft < poolW; the last window
 * starts inside the input). out must not overlap input.
 */
export function bitMaxPool2d(
  input: usize, out: usize, n: i32, inH: i32, inW: i32, wpp: i32,
  poolH: i32, poolW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32,
  orMask: usize
): void {
  checkPoolGeometry(n, inH, inW, wpp, poolH, poolW, strideH, strideW, padTop, padLeft, outH, outW);
  requireBuffer(input, count5(n, inH, inW, wpp, 4), "bitMaxPool2d: input buffer out of bounds");
  requireBuffer(out, count5(n, outH, outW, wpp, 4), "bitMaxPool2d: out buffer out of bounds");
  requireBuffer(orMask, count5(wpp, 4, 1, 1, 1), "bitMaxPool2d: orMask buffer out of bounds");
  const pixBytes = <usize>wpp << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const imgBytes = <usize>inH * inRowBytes;
  // Fast path: pairs of adjacent pixels whose windows are unclipped.
  const fast = <i64>poolH * <i64>poolW <= <i64>MAX_TAPS && poolH <= inH && poolW <= inW;
  if (fast) {
    let t = tapOff;
    for (let ky = 0; ky < poolH; ky++)
      for (let kx = 0; kx < poolW; kx++, t += 4) store<u32>(t, <u32>(<usize>ky * inRowBytes + <usize>kx * pixBytes));
  }
  const taps = poolH * poolW;
  const dB = <usize>strideW * pixBytes;
  // Output columns [oxLo, oxHi) have unclipped windows: x0 >= 0 and x0 + poolW <= inW (in i64).
  let oxLo = 0, oxHi = 0;
  if (fast) {
    oxLo = <i32>((<i64>padLeft + <i64>strideW - 1) / <i64>strideW);
    oxHi = <i32>min<i64>(<i64>outW, (<i64>inW - <i64>poolW + <i64>padLeft) / <i64>strideW + 1);
    if (oxHi < oxLo) oxHi = oxLo;
  }
  let d = out;
  for (let b = 0; b < n; b++) {
    const image = input + <usize>b * imgBytes;
    for (let oy = 0; oy < outH; oy++) {
      // As poolF32: y0 is exact under wrapping, the clipped end is computed in i64.
      const y0 = oy * strideH - padTop;
      const kyB = max(0, -y0);
      const rows = <i32>min<i64>(<i64>poolH, <i64>inH - <i64>y0) - kyB;
      const rowPtr = image + <usize>(y0 + kyB) * inRowBytes;
      const lo = fast && rows == poolH ? oxLo : outW;      // the unclipped run of this row
      const hi = fast && rows == poolH ? oxHi : outW;
      let ox = 0;
      while (ox < outW) {
        if (ox == lo && lo < hi) {
          // Pairs of unclipped windows: only pointer bumps.
          let p = rowPtr + <usize>(ox * strideW - padLeft) * pixBytes;
          for (; ox + 2 <= hi; ox += 2, p += dB << 1, d += pixBytes << 1) {
            if (ASC_FEATURE_SIMD) bitPoolPair(p, dB, taps, pixBytes, orMask, d);
            else bitPoolPairS(p, dB, taps, pixBytes, orMask, d);
          }
          if (ox == hi) continue;
        }
        const x0 = ox * strideW - padLeft;
        const kxB = max(0, -x0);
        const cols = <i32>min<i64>(<i64>poolW, <i64>inW - <i64>x0) - kxB;
        bitPoolPixel(rowPtr + <usize>(x0 + kxB) * pixBytes, rows, <usize>cols * pixBytes, inRowBytes, pixBytes, orMask, d);
        ox++;
        d += pixBytes;
      }
    }
  }
}

// @ts-ignore: decorator
@inline const I32_MAX: i32 = 0x7fffffff;

/** Copies `bytes` (a multiple of 4) from s to d; the buffers do not overlap. */
// @ts-ignore: decorator
@inline function copyWords(d: usize, s: usize, bytes: usize): void {
  if (ASC_FEATURE_SIMD) {
    memory.copy(d, s, bytes);
  } else {
    let j: usize = 0;
    for (; j + 8 <= bytes; j += 8) store<u64>(d + j, load<u64>(s + j));
    if (j < bytes) store<u32>(d + j, load<u32>(s + j));
  }
}

/** Zeroes `bytes` (a multiple of 4) at d. */
// @ts-ignore: decorator
@inline function zeroWords(d: usize, bytes: usize): void {
  if (ASC_FEATURE_SIMD) {
    memory.fill(d, 0, bytes);
  } else {
    let j: usize = 0;
    for (; j + 8 <= bytes; j += 8) store<u64>(d + j, 0);
    if (j < bytes) store<u32>(d + j, 0);
  }
}

/**
 * Zero padding of packed sign bits: input u32[n][inH][inW][wpp] → out
 * u32[n][inH + padTop + padBottom][inW + padLeft + padRight][wpp], the input at row padTop,
 * column padLeft of each image and every padding word 0 (bit 0 = +1). Pads >= 0; out must not
 * overlap input.
 */
export function bitPad(
  input: usize, out: usize, n: i32, inH: i32, inW: i32, wpp: i32,
  padTop: i32, padBottom: i32, padLeft: i32, padRight: i32
): void {
  requirePositive(n, "bitPad: n must be > 0");
  requirePositive(inH, "bitPad: inH must be > 0");
  requirePositive(inW, "bitPad: inW must be > 0");
  requirePositive(wpp, "bitPad: wpp must be > 0");
  requireNonNegative(padTop, "bitPad: padTop must be >= 0");
  requireNonNegative(padBottom, "bitPad: padBottom must be >= 0");
  requireNonNegative(padLeft, "bitPad: padLeft must be >= 0");
  requireNonNegative(padRight, "bitPad: padRight must be >= 0");
  requireBuffer(input, count5(n, inH, inW, wpp, 4), "bitPad: input buffer out of bounds");
  // Padded dims, checked in i32 (no wrap-around); a dim past i32 is certainly out of memory.
  if (padTop > I32_MAX - inH || padBottom > I32_MAX - inH - padTop) fail("bitPad: out buffer out of bounds");
  if (padLeft > I32_MAX - inW || padRight > I32_MAX - inW - padLeft) fail("bitPad: out buffer out of bounds");
  const outH = inH + padTop + padBottom, outW = inW + padLeft + padRight;
  requireBuffer(out, count5(n, outH, outW, wpp, 4), "bitPad: out buffer out of bounds");
  const pixBytes = <usize>wpp << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const outRowBytes = <usize>outW * pixBytes;
  const leftBytes = <usize>padLeft * pixBytes;
  const rightBytes = <usize>padRight * pixBytes;
  let s = input;
  let d = out;
  for (let b = 0; b < n; b++) {
    // Top rows and the left pad of the first input row are one contiguous run; so are each
    // row's right pad and the next row's left pad, and the last right pad with the bottom rows.
    zeroWords(d, <usize>padTop * outRowBytes + leftBytes);
    d += <usize>padTop * outRowBytes + leftBytes;
    for (let y = 0; y < inH; y++, s += inRowBytes) {
      copyWords(d, s, inRowBytes);
      d += inRowBytes;
      const gap = y + 1 < inH ? rightBytes + leftBytes : rightBytes + <usize>padBottom * outRowBytes;
      zeroWords(d, gap);
      d += gap;
    }
  }
}
