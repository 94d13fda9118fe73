// Exact-integer first layer: u8 input × i8 weights → i32 accumulators → per-channel threshold →
// packed bits. Integer math is exact (no rounding, no summation-order effects), so the scalar and
// simd builds — and any emulation that does the same integer conv — agree bit for bit.
//
// Input quantization (quantizeInputU8): q = clamp(floor(x·255 + 0.5), 0, 255) evaluated in f32
// (f32 multiply, then f32 add, then floor). NaN maps to 0.
//
// Convolution (qconv2dThresholdPack): input u8 NHWC [n][inH][inW][cin]; explicit top/left padding
// with TensorFlow SAME semantics (positions outside the input are 0, which adds 0 to the sum);
// acc[co] = Σ_window (i32)x · (i32)w[tap][co], exact in i32 because kh·kw·cin <= 65536
// (|acc| <= 65536·255·128 < 2^31). Channel co is +1 (bit 0) iff
//   flip[co] == 0 ? acc >= thr[co] : acc <= thr[co]
// else -1 (bit 1). thr, flip: i32[cout] (any nonzero flip = flipped). Output: packed u32
// [n][outH][outW][ceil(cout/32)], padding bits 0 (the same convention as fconv2dThresholdPack).
//
// Packed weight layout (produced by qconv2dPackWeights from int8 HWIO [kh][kw][cin][cout]):
//   taps t = (ky·kw + kx)·cin + ci, T = kh·kw·cin, P = ceil(T/2) tap pairs,
//   C = cout rounded up to a multiple of 16, B = C/16 blocks of 16 output channels;
//   i16 [B][P][16][2]: element [blk][p][c][j] = w[tap 2p + j][channel 16·blk + c], 0 for the odd
//   padding tap (t = T) and for the padding channels (>= cout). That is, the i16 weight of tap t
//   and channel co sits at byte ((co >> 4)·P + (t >> 1))·64 + (co & 15)·4 + (t & 1)·2.
//   qconv2dPackedWeightBytes = P·C·4 bytes (= ceil(T/2)·cout·4 when cout % 16 == 0).
// Each 16-channel block is one contiguous run of P rows of 64 bytes; a 16-byte vector of row p
// holds the tap pair (2p, 2p+1) of 4 consecutive channels, the operand of i32x4.dot_i16x8_s
// against the splat input pair x[2p] | x[2p+1] << 16.
//
// Both builds first gather each output pixel's window into a "patch" (u16 per tap in tap order,
// zeros outside the input; read as i32 pairs it is exactly x[2p] | x[2p+1] << 16) in a static
// buffer, then run the pairs against the weights: the simd build two pixels × 16 channels at a
// time (8 i32x4 accumulators in registers), the scalar build one pixel × 4 channels. Windows
// larger than the patch buffer allows (T > 4096) take a plain per-pixel scalar path that keeps
// its sums in `scratch`.
import { count5, fail, putBits, requireBuffer, requireNonNegative, requirePositive, wordsFor } from "./types";

/** Largest kh·kw·cin accepted (keeps the i32 accumulator exact). */
// @ts-ignore: decorator
@inline const MAX_TAPS: i32 = 65536;
/** Bytes of the static patch buffer (u16 per tap): at least two pixels of up to 4096 taps. */
// @ts-ignore: decorator
@inline const PATCH_BYTES: i32 = 16384;
/** Static scratch: patches (+ 16 bytes slack for vector overshoot). Below heapBase, never grows. */
const patchBuf: usize = memory.data(PATCH_BYTES + 16, 16);
/** Bytes of the static padded-image buffer (one image, u16 per value, zero border). */
// @ts-ignore: decorator
@inline const PADIMG_BYTES: i32 = 16384;
/** Static: the current image widened to u16 with its zero padding (+ slack for vector reads). */
const padImg: usize = memory.data(PADIMG_BYTES + 32, 16);
/** thr and flip of the last, partial 16-channel block, padded with zeros. */
const tailThr: usize = memory.data(64, 16);
const tailFlip: usize = memory.data(64, 16);

/** Channels of the packed weight layout: cout rounded up to a multiple of 16. */
// @ts-ignore: decorator
@inline function paddedCout(cout: i32): i32 {
  return (cout + 15) & ~15;
}

/** Validates kh, kw, cin, cout and returns the number of pairs P (aborts when T > MAX_TAPS). */
function checkWeightDims(kh: i32, kw: i32, cin: i32, cout: i32): i32 {
  requirePositive(kh, "qconv2d: kh must be > 0");
  requirePositive(kw, "qconv2d: kw must be > 0");
  requirePositive(cin, "qconv2d: cin must be > 0");
  requirePositive(cout, "qconv2d: cout must be > 0");
  if (count5(kh, kw, cin, 1, 1) > <u64>MAX_TAPS) fail("qconv2d: kh·kw·cin must be <= 65536");
  if (cout > 0x7fffffff - 15) fail("qconv2d: cout too large");
  return (kh * kw * cin + 1) >> 1;
}

/** Bytes of the packed weights: ceil(kh·kw·cin / 2) · roundUp(cout, 16) · 4. */
export function qconv2dPackedWeightBytes(kh: i32, kw: i32, cin: i32, cout: i32): i32 {
  const pairs = checkWeightDims(kh, kw, cin, cout);
  const bytes = count5(pairs, paddedCout(cout), 4, 1, 1);
  if (bytes > 0x7fffffff) fail("qconv2d: packed weights exceed 2 GiB");
  return <i32>bytes;
}

/** int8 HWIO [kh][kw][cin][cout] at src → the packed layout above at dst. */
export function qconv2dPackWeights(src: usize, dst: usize, kh: i32, kw: i32, cin: i32, cout: i32): void {
  const pairs = checkWeightDims(kh, kw, cin, cout);
  const taps = kh * kw * cin;
  const c16 = paddedCout(cout);
  requireBuffer(src, count5(taps, cout, 1, 1, 1), "qconv2dPackWeights: src buffer out of bounds");
  requireBuffer(dst, count5(pairs, c16, 4, 1, 1), "qconv2dPackWeights: dst buffer out of bounds");
  for (let p = 0; p < pairs; p++) {
    const t0 = p << 1;
    const s0 = src + <usize>t0 * <usize>cout;
    const has1 = t0 + 1 < taps;
    for (let co = 0; co < c16; co++) {
      let w0: i32 = 0, w1: i32 = 0;
      if (co < cout) {
        w0 = <i32>load<i8>(s0 + <usize>co);
        if (has1) w1 = <i32>load<i8>(s0 + <usize>cout + <usize>co);
      }
      const d = dst + ((<usize>(co >> 4) * <usize>pairs + <usize>p) << 6) + (<usize>(co & 15) << 2);
      store<u32>(d, (<u32>w0 & 0xffff) | (<u32>w1 << 16));
    }
  }
}

/**
 * u8 dst[i] = clamp(floor(src[i]·255 + 0.5), 0, 255), in f32 (NaN → 0). src f32[count].
 * The simd build does 16 values per step with the same f32 operations (mul, add, floor), then
 * saturating conversion and narrowing, which is the same clamp.
 */
export function quantizeInputU8(src: usize, dst: usize, count: i32): void {
  requirePositive(count, "quantizeInputU8: count must be > 0");
  requireBuffer(src, count5(count, 4, 1, 1, 1), "quantizeInputU8: src buffer out of bounds");
  requireBuffer(dst, count5(count, 1, 1, 1, 1), "quantizeInputU8: dst buffer out of bounds");
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const k = f32x4.splat(255);
    const h = f32x4.splat(0.5);
    for (; i + 16 <= count; i += 16) {
      const s = src + (<usize>i << 2);
      const q0 = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.add(f32x4.mul(v128.load(s), k), h)));
      const q1 = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.add(f32x4.mul(v128.load(s, 16), k), h)));
      const q2 = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.add(f32x4.mul(v128.load(s, 32), k), h)));
      const q3 = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.add(f32x4.mul(v128.load(s, 48), k), h)));
      // i32 → i16 signed saturating (keeps the sign), then i16 → u8 unsigned saturating:
      // negatives → 0, > 255 → 255 (trunc_sat already mapped NaN → 0, ±Inf → i32 bounds).
      const lo = i16x8.narrow_i32x4_s(q0, q1);
      const hi = i16x8.narrow_i32x4_s(q2, q3);
      v128.store(dst + <usize>i, i8x16.narrow_i16x8_u(lo, hi));
    }
  }
  for (; i < count; i++) {
    const x = load<f32>(src + (<usize>i << 2));
    let q: f32 = Mathf.floor(x * <f32>255 + <f32>0.5);
    if (!(q >= 0)) q = 0;             // negatives and NaN
    else if (q > 255) q = 255;
    // q is an integer in [0, 255]: q + 2^23 is exact and its low mantissa byte is q. (Avoids a
    // float → int conversion, which asc would emit as the post-MVP i32.trunc_sat_f32_s.)
    store<u8>(dst + <usize>i, <u8>(reinterpret<u32>(q + <f32>8388608)));
  }
}

/** Writes n u16 zeros at d (the simd build may write up to 14 bytes more, inside the buffer). */
// @ts-ignore: decorator
@inline function zeroTaps(d: usize, n: i32): void {
  if (ASC_FEATURE_SIMD) {
    const z = i32x4.splat(0);
    for (let i = 0; i < n; i += 8) v128.store(d + (<usize>i << 1), z);
  } else {
    for (let i = 0; i < n; i++) store<u16>(d + (<usize>i << 1), 0);
  }
}

/**
 * Zeroes n bytes at d, rounded up to 16 (d and the slack are inside a static buffer). A loop, not
 * memory.fill: the scalar build stays within wasm MVP (no bulk-memory instructions).
 */
function zeroBytes(d: usize, n: usize): void {
  const end = d + n;
  if (ASC_FEATURE_SIMD) {
    const z = i32x4.splat(0);
    for (; d < end; d += 16) v128.store(d, z);
  } else {
    for (; d < end; d += 16) {
      store<u64>(d, 0);
      store<u64>(d, 0, 8);
    }
  }
}

/** Widens n bytes at s (reads exactly n bytes) to u16 at d. */
// @ts-ignore: decorator
@inline function widenTaps(d: usize, s: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= n; i += 8) v128.store(d + (<usize>i << 1), i16x8.extend_low_i8x16_u(v128.load64_zero(s + <usize>i)));
  }
  for (; i < n; i++) store<u16>(d + (<usize>i << 1), <u16>load<u8>(s + <usize>i));
}

/**
 * Gathers the window of the output pixel whose top-left input position is (y0, x0) into the
 * patch at d: u16 per tap in tap order (ky, kx, ci), zeros outside the input, plus a zero tap
 * when T is odd. `image` is the pixel's image. Writes are sequential, so a vector overshoot is
 * always overwritten later (or lands in the buffer's slack).
 */
function buildPatch(
  d: usize, image: usize, y0: i32, x0: i32,
  inH: i32, inW: i32, cin: i32, kh: i32, kw: i32
): void {
  const rowTaps = kw * cin;
  const kxBeg = max(0, -x0), kxEnd = min(kw, inW - x0);
  const pre = kxBeg * cin;
  const mid = (kxEnd - kxBeg) * cin;
  const post = (kw - kxEnd) * cin;
  const rowBytes = <usize>inW * <usize>cin;
  for (let ky = 0; ky < kh; ky++) {
    const iy = y0 + ky;
    if (iy < 0 || iy >= inH) {
      zeroTaps(d, rowTaps);
      d += <usize>rowTaps << 1;
      continue;
    }
    if (pre > 0) { zeroTaps(d, pre); d += <usize>pre << 1; }
    widenTaps(d, image + <usize>iy * rowBytes + <usize>(x0 + kxBeg) * <usize>cin, mid);
    d += <usize>mid << 1;
    if (post > 0) { zeroTaps(d, post); d += <usize>post << 1; }
  }
  if ((kh * kw * cin) & 1) store<u16>(d, 0);
}

/**
 * Widens image `image` (u8 [inH][inW][cin]) into padImg as u16 [hp][wp][cin]: padded row r,
 * column c holds input (r - padTop, c - padLeft), or 0 outside the input. hp·wp·cin·2 bytes must
 * fit PADIMG_BYTES.
 */
function fillPadded(
  image: usize, inH: i32, inW: i32, cin: i32, padTop: i32, padLeft: i32, hp: i32, wp: i32
): void {
  const rowVals = wp * cin;
  zeroBytes(padImg, <usize>(hp * rowVals) << 1);
  const rows = min(inH, hp - padTop);
  const colVals = min(inW, wp - padLeft) * cin;
  const inRow = <usize>inW * <usize>cin;
  for (let iy = 0; iy < rows; iy++) {
    widenTaps(padImg + (<usize>((iy + padTop) * rowVals + padLeft * cin) << 1), image + <usize>iy * inRow, colVals);
  }
}

/**
 * Patch of the pixel whose window starts at padded position (py, px): kh rows of kw·cin values
 * copied from padImg. Copies may over-read / over-write by up to 14 bytes: reads stay inside
 * padImg's slack, writes are overwritten by the next row or land in the patch buffer's slack.
 */
function copyPatch(d: usize, py: i32, px: i32, cin: i32, kh: i32, kw: i32, wp: i32): void {
  const rowTaps = kw * cin;
  const rowBytes = <usize>rowTaps << 1;
  const pitch = <usize>(wp * cin) << 1;
  let s = padImg + <usize>py * pitch + (<usize>(px * cin) << 1);
  for (let ky = 0; ky < kh; ky++, s += pitch, d += rowBytes) {
    if (ASC_FEATURE_SIMD) {
      for (let i: usize = 0; i < rowBytes; i += 16) v128.store(d + i, v128.load(s + i));
    } else {
      for (let i: usize = 0; i < rowBytes; i += 8) store<u64>(d + i, load<u64>(s + i));
    }
  }
  if ((kh * kw * cin) & 1) store<u16>(d, 0);
}

/** 4 "minus" bits (bit 1 = -1) of acc against thr under the flip mask fm (all-ones = flipped). */
// @ts-ignore: decorator
@inline function minusBits4(acc: v128, thr: v128, fm: v128): u32 {
  // -1 iff !(flip ? acc <= thr : acc >= thr) iff (flip ? acc > thr : acc < thr)
  return <u32>i32x4.bitmask(v128.bitselect(i32x4.gt_s(acc, thr), i32x4.lt_s(acc, thr), fm));
}

/** 16 minus bits of one pixel: accumulators a0..a3 (channels co..co+15) vs thr/flip at tp/fp. */
// @ts-ignore: decorator
@inline function minusBits16(a0: v128, a1: v128, a2: v128, a3: v128, tp: usize, fp: usize): u32 {
  const z = i32x4.splat(0);
  const m0 = minusBits4(a0, v128.load(tp), v128.not(i32x4.eq(v128.load(fp), z)));
  const m1 = minusBits4(a1, v128.load(tp, 16), v128.not(i32x4.eq(v128.load(fp, 16), z)));
  const m2 = minusBits4(a2, v128.load(tp, 32), v128.not(i32x4.eq(v128.load(fp, 32), z)));
  const m3 = minusBits4(a3, v128.load(tp, 48), v128.not(i32x4.eq(v128.load(fp, 48), z)));
  return m0 | (m1 << 4) | (m2 << 8) | (m3 << 12);
}

/**
 * SIMD: two pixels (patches pa, pb) × 16 channels (the block's weights at wp, 64 bytes per pair)
 * over `pairs` tap pairs, then threshold and write the bits (mask keeps the real channels) into
 * the pixels' output words oa / ob.
 */
function qtile2(
  pa: usize, pb: usize, wp: usize, pairs: i32,
  tp: usize, fp: usize, mask: u32, co: i32, oa: usize, ob: usize
): void {
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  const end = pa + (<usize>pairs << 2);
  while (pa < end) {
    const xa = v128.load32_splat(pa);
    const xb = v128.load32_splat(pb);
    let w = v128.load(wp);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xa, w));
    b0 = i32x4.add(b0, i32x4.dot_i16x8_s(xb, w));
    w = v128.load(wp, 16);
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xa, w));
    b1 = i32x4.add(b1, i32x4.dot_i16x8_s(xb, w));
    w = v128.load(wp, 32);
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xa, w));
    b2 = i32x4.add(b2, i32x4.dot_i16x8_s(xb, w));
    w = v128.load(wp, 48);
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xa, w));
    b3 = i32x4.add(b3, i32x4.dot_i16x8_s(xb, w));
    pa += 4;
    pb += 4;
    wp += 64;
  }
  putBits(oa, minusBits16(a0, a1, a2, a3, tp, fp) & mask, co);
  putBits(ob, minusBits16(b0, b1, b2, b3, tp, fp) & mask, co);
}

/** SIMD: one pixel × 16 channels (as qtile2). */
function qtile1(
  pa: usize, wp: usize, pairs: i32,
  tp: usize, fp: usize, mask: u32, co: i32, oa: usize
): void {
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const end = pa + (<usize>pairs << 2);
  while (pa < end) {
    const xa = v128.load32_splat(pa);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xa, v128.load(wp)));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xa, v128.load(wp, 16)));
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xa, v128.load(wp, 32)));
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xa, v128.load(wp, 48)));
    pa += 4;
    wp += 64;
  }
  putBits(oa, minusBits16(a0, a1, a2, a3, tp, fp) & mask, co);
}

/** 1 if acc is -1 under channel j's threshold: !(flip ? acc <= thr : acc >= thr). */
// @ts-ignore: decorator
@inline function minusBitS(a: i32, thr: usize, flip: usize, c: i32): u32 {
  const off = <usize>c << 2;
  const t = load<i32>(thr + off);
  return (load<i32>(flip + off) == 0 ? a >= t : a <= t) ? 0 : 1;
}

/** Bits of channels co..co+lim-1 (lim <= 4) from the sums s0..s3. */
// @ts-ignore: decorator
@inline function minusBitsS4(s0: i32, s1: i32, s2: i32, s3: i32, thr: usize, flip: usize, co: i32, lim: i32): u32 {
  let bits = minusBitS(s0, thr, flip, co);
  if (lim > 1) bits |= minusBitS(s1, thr, flip, co + 1) << 1;
  if (lim > 2) bits |= minusBitS(s2, thr, flip, co + 2) << 2;
  if (lim > 3) bits |= minusBitS(s3, thr, flip, co + 3) << 3;
  return bits;
}

/**
 * Scalar: two pixels (patches pa, pb) × channels co..co+lim-1 (lim <= 4; wp = their weights
 * inside the 16-channel block, 64 bytes per pair), then threshold and bits into words oa / ob.
 * (i16 loads sign-extend with the MVP i32.load16_s: the scalar build needs no post-MVP feature.)
 */
function qtileScalar2(
  pa: usize, pb: usize, wp: usize, pairs: i32,
  thr: usize, flip: usize, co: i32, lim: i32, oa: usize, ob: usize
): void {
  let s0: i32 = 0, s1: i32 = 0, s2: i32 = 0, s3: i32 = 0;
  let t0: i32 = 0, t1: i32 = 0, t2: i32 = 0, t3: i32 = 0;
  const end = pa + (<usize>pairs << 2);
  while (pa < end) {
    const xv = load<u32>(pa), yv = load<u32>(pb);
    const x0 = <i32>(xv & 0xffff), x1 = <i32>(xv >>> 16);
    const y0 = <i32>(yv & 0xffff), y1 = <i32>(yv >>> 16);
    let w0 = <i32>load<i16>(wp), w1 = <i32>load<i16>(wp, 2);
    s0 += x0 * w0 + x1 * w1;
    t0 += y0 * w0 + y1 * w1;
    w0 = <i32>load<i16>(wp, 4); w1 = <i32>load<i16>(wp, 6);
    s1 += x0 * w0 + x1 * w1;
    t1 += y0 * w0 + y1 * w1;
    w0 = <i32>load<i16>(wp, 8); w1 = <i32>load<i16>(wp, 10);
    s2 += x0 * w0 + x1 * w1;
    t2 += y0 * w0 + y1 * w1;
    w0 = <i32>load<i16>(wp, 12); w1 = <i32>load<i16>(wp, 14);
    s3 += x0 * w0 + x1 * w1;
    t3 += y0 * w0 + y1 * w1;
    pa += 4;
    pb += 4;
    wp += 64;
  }
  putBits(oa, minusBitsS4(s0, s1, s2, s3, thr, flip, co, lim), co);
  putBits(ob, minusBitsS4(t0, t1, t2, t3, thr, flip, co, lim), co);
}

/** Scalar: one pixel × channels co..co+lim-1 (as qtileScalar2). */
function qtileScalar1(
  pa: usize, wp: usize, pairs: i32,
  thr: usize, flip: usize, co: i32, lim: i32, oa: usize
): void {
  let s0: i32 = 0, s1: i32 = 0, s2: i32 = 0, s3: i32 = 0;
  const end = pa + (<usize>pairs << 2);
  while (pa < end) {
    const xv = load<u32>(pa);
    const x0 = <i32>(xv & 0xffff), x1 = <i32>(xv >>> 16);
    s0 += x0 * <i32>load<i16>(wp) + x1 * <i32>load<i16>(wp, 2);
    s1 += x0 * <i32>load<i16>(wp, 4) + x1 * <i32>load<i16>(wp, 6);
    s2 += x0 * <i32>load<i16>(wp, 8) + x1 * <i32>load<i16>(wp, 10);
    s3 += x0 * <i32>load<i16>(wp, 12) + x1 * <i32>load<i16>(wp, 14);
    pa += 4;
    wp += 64;
  }
  putBits(oa, minusBitsS4(s0, s1, s2, s3, thr, flip, co, lim), co);
}

/**
 * Fallback for windows too large for the patch buffer: per pixel, accumulators in scratch
 * (i32[cout]), taps read straight from the input. Plain integer loops, both builds.
 */
function qconvDirect(
  input: usize, weights: usize, thr: usize, flip: usize, out: usize, scratch: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  const wpp = wordsFor(cout);
  const blockBytes = <usize>((kh * kw * cin + 1) >> 1) << 6;   // weights of one 16-channel block
  const imgBytes = <usize>inH * <usize>inW * <usize>cin;
  let dst = out;
  for (let b = 0; b < n; b++) {
    const image = input + <usize>b * imgBytes;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++, dst += <usize>wpp << 2) {
        for (let c = 0; c < cout; c++) store<i32>(scratch + (<usize>c << 2), 0);
        const y0 = oy * strideH - padTop, x0 = ox * strideW - padLeft;
        for (let ky = 0; ky < kh; ky++) {
          const iy = y0 + ky;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = x0 + kx;
            if (ix < 0 || ix >= inW) continue;
            const xp = image + (<usize>iy * <usize>inW + <usize>ix) * <usize>cin;
            for (let ci = 0; ci < cin; ci++) {
              const x = <i32>load<u8>(xp + <usize>ci);
              if (x == 0) continue;
              const t = (ky * kw + kx) * cin + ci;
              const tOff = weights + (<usize>(t >> 1) << 6) + (<usize>(t & 1) << 1);
              let s = scratch;
              for (let c = 0; c < cout; c++, s += 4) {
                const wq = tOff + <usize>(c >> 4) * blockBytes + (<usize>(c & 15) << 2);
                store<i32>(s, load<i32>(s) + x * <i32>load<i16>(wq));
              }
            }
          }
        }
        for (let w = 0; w < wpp; w++) {
          const base = w << 5;
          const lim = min(32, cout - base);
          let bits: u32 = 0;
          for (let j = 0; j < lim; j++) {
            const off = <usize>(base + j) << 2;
            const a = load<i32>(scratch + off);
            const t = load<i32>(thr + off);
            const plus = load<i32>(flip + off) == 0 ? a >= t : a <= t;
            if (!plus) bits |= (<u32>1) << j;
          }
          store<u32>(dst + (<usize>w << 2), bits);
        }
      }
    }
  }
}

/**
 * Integer conv + threshold + pack (see the header for the contract and the weight layout).
 * scratch: i32[cout], used only by the large-window fallback.
 */
export function qconv2dThresholdPack(
  input: usize, weights: usize, thr: usize, flip: usize, out: usize, scratch: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  requirePositive(n, "qconv2d: n must be > 0");
  requirePositive(inH, "qconv2d: inH must be > 0");
  requirePositive(inW, "qconv2d: inW must be > 0");
  const pairs = checkWeightDims(kh, kw, cin, cout);
  requirePositive(strideH, "qconv2d: strideH must be > 0");
  requirePositive(strideW, "qconv2d: strideW must be > 0");
  requirePositive(outH, "qconv2d: outH must be > 0");
  requirePositive(outW, "qconv2d: outW must be > 0");
  requireNonNegative(padTop, "qconv2d: padTop must be >= 0");
  requireNonNegative(padLeft, "qconv2d: padLeft must be >= 0");
  if (padTop >= kh) fail("qconv2d: padTop must be < kh");
  if (padLeft >= kw) fail("qconv2d: padLeft must be < kw");
  if (<i64>(outH - 1) * <i64>strideH - <i64>padTop >= <i64>inH) fail("qconv2d: last window row starts below the input");
  if (<i64>(outW - 1) * <i64>strideW - <i64>padLeft >= <i64>inW) fail("qconv2d: last window col starts right of the input");
  const c16 = paddedCout(cout);
  const wpp = wordsFor(cout);
  requireBuffer(input, count5(n, inH, inW, cin, 1), "qconv2d: input buffer out of bounds");
  requireBuffer(weights, count5(pairs, c16, 4, 1, 1), "qconv2d: weights buffer out of bounds");
  requireBuffer(thr, count5(cout, 4, 1, 1, 1), "qconv2d: thr buffer out of bounds");
  requireBuffer(flip, count5(cout, 4, 1, 1, 1), "qconv2d: flip buffer out of bounds");
  requireBuffer(scratch, count5(cout, 4, 1, 1, 1), "qconv2d: scratch buffer out of bounds");
  requireBuffer(out, count5(n, outH, outW, wpp, 4), "qconv2d: out buffer out of bounds");

  const patchBytes = <usize>pairs << 2;
  if (<usize>PATCH_BYTES < patchBytes << 1) {
    qconvDirect(input, weights, thr, flip, out, scratch, n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
    return;
  }
  // Pixels per group: as many patches as fit (at least 2). Each group's patches are built once
  // and reused by every channel block.
  const group = <i32>(<usize>PATCH_BYTES / patchBytes);
  const total = <i64>n * <i64>outH * <i64>outW;   // < 2^30: out (>= 4 bytes per pixel) is in memory
  const outPix = <usize>wpp << 2;
  const imgBytes = <usize>inH * <usize>inW * <usize>cin;

  // Padded copies of thr / flip for the last 16-channel block when cout % 16 != 0.
  const full16 = cout & ~15;
  for (let j = 0; j < 16; j++) {
    const c = full16 + j;
    store<i32>(tailThr + (<usize>j << 2), c < cout ? load<i32>(thr + (<usize>c << 2)) : 0);
    store<i32>(tailFlip + (<usize>j << 2), c < cout ? load<i32>(flip + (<usize>c << 2)) : 0);
  }

  // Padded extent covering every window; when one image fits padImg, patches are plain copies.
  const hp = (outH - 1) * strideH + kh;     // < 2^31: the checks above bound each term
  const wpad = (outW - 1) * strideW + kw;
  const usePad = <i64>hp * <i64>wpad * <i64>cin * 2 <= <i64>PADIMG_BYTES;
  let b = 0, oy = 0, ox = 0;
  let padded = -1;                         // image currently in padImg
  for (let q0: i32 = 0; <i64>q0 < total; q0 += group) {
    const g = <i32>min<i64>(<i64>group, total - <i64>q0);
    // Gather the patches of pixels q0 .. q0 + g - 1.
    let pp = patchBuf;
    for (let i = 0; i < g; i++, pp += patchBytes) {
      if (usePad) {
        if (padded != b) {
          fillPadded(input + <usize>b * imgBytes, inH, inW, cin, padTop, padLeft, hp, wpad);
          padded = b;
        }
        copyPatch(pp, oy * strideH, ox * strideW, cin, kh, kw, wpad);
      } else {
        buildPatch(pp, input + <usize>b * imgBytes, oy * strideH - padTop, ox * strideW - padLeft, inH, inW, cin, kh, kw);
      }
      if (++ox == outW) { ox = 0; if (++oy == outH) { oy = 0; b++; } }
    }
    const outGroup = out + <usize>q0 * outPix;
    if (ASC_FEATURE_SIMD) {
      for (let co = 0; co < c16; co += 16) {
        const partial = co + 16 > cout;
        const tp = partial ? tailThr : thr + (<usize>co << 2);
        const fp = partial ? tailFlip : flip + (<usize>co << 2);
        const mask: u32 = partial ? ((<u32>1) << <u32>(cout - co)) - 1 : 0xffff;
        const wp = weights + ((<usize>(co >> 4) * <usize>pairs) << 6);
        const wordOff = <usize>(co >> 5) << 2;
        let pa = patchBuf;
        let oa = outGroup + wordOff;
        let i = 0;
        for (; i + 2 <= g; i += 2, pa += patchBytes << 1, oa += outPix << 1) {
          qtile2(pa, pa + patchBytes, wp, pairs, tp, fp, mask, co, oa, oa + outPix);
        }
        if (i < g) qtile1(pa, wp, pairs, tp, fp, mask, co, oa);
      }
    } else {
      for (let co = 0; co < cout; co += 4) {
        const lim = min(4, cout - co);
        const wp = weights + ((<usize>(co >> 4) * <usize>pairs) << 6) + (<usize>(co & 15) << 2);
        const wordOff = <usize>(co >> 5) << 2;
        let pa = patchBuf;
        let oa = outGroup + wordOff;
        let i = 0;
        for (; i + 2 <= g; i += 2, pa += patchBytes << 1, oa += outPix << 1) {
          qtileScalar2(pa, pa + patchBytes, wp, pairs, thr, flip, co, lim, oa, oa + outPix);
        }
        if (i < g) qtileScalar1(pa, wp, pairs, thr, flip, co, lim, oa);
      }
    }
  }
}
