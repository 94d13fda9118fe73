// Float convolution (first layer): f32 NHWC input, HWIO weights [kh][kw][cin][cout], explicit
// top/left padding with TensorFlow SAME semantics (positions outside the input read as 0; they
// are skipped, which adds nothing to the sum).
//
// Summation order, identical in both builds and in all three exported kernels: for each output
// channel, start from +0 and add x·w over taps in (ky, kx, ci) ascending order (no FMA), skipping
// taps outside the input. The SIMD path vectorizes over output channels (each f32x4 lane follows
// the same order), so the simd and scalar builds produce bit-identical floats, and
// fconv2dThresholdPack and fconv2dBiasRelu see exactly the values fconv2d (relu = 0) would store.
//
// Blocking (order of the work, not of the sums): the outer loop walks blocks of output channels
// (16 = 4 f32x4 in the simd build, 4 scalars in the scalar build; then narrower tails); the inner
// loop walks output pixels in flattened (b, oy, ox) order and computes two pixels at once — 8
// f32x4 accumulators held in registers, every weight vector loaded once for both — whenever two
// consecutive pixels clip the window identically (all pixels of a VALID layer, the interior of
// each row of a SAME layer; pairs may span rows and images). Within a window row the taps
// (kx, ci) are contiguous in the input and advance the weights by one cout row, so the innermost
// loop has no index arithmetic. Layers with no clipped window and more than SEG_TAPS taps per
// window (conv2 / conv3 of model A) take the segmented path: chunks of pixels, each window row cut
// into segments whose weights (per channel block) stay in L1, running sums parked in a static
// buffer between segments (an exact f32 store and reload).
import { count5, fail, putBits, requireBuffer, requireNonNegative, requirePositive, wordsFor } from "./types";

/** What a tile does with its sums. */
// @ts-ignore: decorator
@inline const MODE_STORE: i32 = 0;        // f32 to out
// @ts-ignore: decorator
@inline const MODE_RELU: i32 = 1;         // max(y, 0) to out
// @ts-ignore: decorator
@inline const MODE_BITS: i32 = 2;         // threshold, pack into out words
// @ts-ignore: decorator
@inline const MODE_BIAS_RELU: i32 = 3;    // max(y + bias, 0) to out; the thr slot carries bias

function checkFconv2dArgs(
  input: usize, weights: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  requirePositive(n, "fconv2d: n must be > 0");
  requirePositive(inH, "fconv2d: inH must be > 0");
  requirePositive(inW, "fconv2d: inW must be > 0");
  requirePositive(cin, "fconv2d: cin must be > 0");
  requirePositive(cout, "fconv2d: cout must be > 0");
  requirePositive(kh, "fconv2d: kh must be > 0");
  requirePositive(kw, "fconv2d: kw must be > 0");
  requirePositive(strideH, "fconv2d: strideH must be > 0");
  requirePositive(strideW, "fconv2d: strideW must be > 0");
  requirePositive(outH, "fconv2d: outH must be > 0");
  requirePositive(outW, "fconv2d: outW must be > 0");
  requireNonNegative(padTop, "fconv2d: padTop must be >= 0");
  requireNonNegative(padLeft, "fconv2d: padLeft must be >= 0");
  // Every window must overlap the input: first one (pad < k) and last one.
  if (padTop >= kh) fail("fconv2d: padTop must be < kh");
  if (padLeft >= kw) fail("fconv2d: padLeft must be < kw");
  if (<i64>(outH - 1) * <i64>strideH - <i64>padTop >= <i64>inH) fail("fconv2d: last window row starts below the input");
  if (<i64>(outW - 1) * <i64>strideW - <i64>padLeft >= <i64>inW) fail("fconv2d: last window col starts right of the input");
  requireBuffer(input, count5(n, inH, inW, cin, 4), "fconv2d: input buffer out of bounds");
  requireBuffer(weights, count5(kh, kw, cin, cout, 4), "fconv2d: weights buffer out of bounds");
}

// Every tile reads: rows (window rows inside the input), span (contiguous input floats per
// window row: clipped kw · cin), inRowBytes (input row pitch), wTap (weight step per tap = cout·4),
// wSkip (weight bytes of the clipped taps between two rows), mode, and for MODE_BITS the block's
// thr / flip pointers (for MODE_BIAS_RELU, tp points at the block's biases); it writes its pixels'
// results to dA (dB).

// ---------------------------------------------------------------------------------------------
// SIMD tiles
// ---------------------------------------------------------------------------------------------

/** -1 bits (4) of y against t under flip mask fm: !(fm ? y <= t : y >= t); NaN → -1. */
// @ts-ignore: decorator
@inline function minusBitsF4(y: v128, t: v128, fm: v128): u32 {
  return <u32>i32x4.bitmask(v128.not(v128.bitselect(f32x4.le(y, t), f32x4.ge(y, t), fm)));
}

// @ts-ignore: decorator
@inline function flipMask(fp: usize, off: usize): v128 {
  return v128.not(i32x4.eq(v128.load(fp + off), i32x4.splat(0)));
}

/** 16 -1 bits of channels co..co+15 (sums a0..a3) against thr/flip at tp/fp. */
// @ts-ignore: decorator
@inline function minusBitsF16(a0: v128, a1: v128, a2: v128, a3: v128, tp: usize, fp: usize): u32 {
  return minusBitsF4(a0, v128.load(tp), flipMask(fp, 0))
    | (minusBitsF4(a1, v128.load(tp, 16), flipMask(fp, 16)) << 4)
    | (minusBitsF4(a2, v128.load(tp, 32), flipMask(fp, 32)) << 8)
    | (minusBitsF4(a3, v128.load(tp, 48), flipMask(fp, 48)) << 12);
}

/**
 * Stores 16 sums at d: as they are (MODE_STORE), ReLU'd (MODE_RELU), or plus the biases at bp,
 * then ReLU'd (MODE_BIAS_RELU: the bias is added once to the finished sum, as a separate pass would).
 */
// @ts-ignore: decorator
@inline function store16(d: usize, a0: v128, a1: v128, a2: v128, a3: v128, mode: i32, bp: usize): void {
  if (mode == MODE_BIAS_RELU) {
    a0 = f32x4.add(a0, v128.load(bp));
    a1 = f32x4.add(a1, v128.load(bp, 16));
    a2 = f32x4.add(a2, v128.load(bp, 32));
    a3 = f32x4.add(a3, v128.load(bp, 48));
  }
  if (mode != MODE_STORE) {
    const z = f32x4.splat(0);
    a0 = f32x4.max(a0, z);
    a1 = f32x4.max(a1, z);
    a2 = f32x4.max(a2, z);
    a3 = f32x4.max(a3, z);
  }
  v128.store(d, a0);
  v128.store(d, a1, 16);
  v128.store(d, a2, 32);
  v128.store(d, a3, 48);
}

/** Two pixels (window starts pa, pb) × 16 channels (weights wp). dA/dB: out floats or words. */
function tileV16x2(
  pa: usize, pb: usize, wp: usize, rows: i32, span: i32, inRowBytes: usize, wTap: usize, wSkip: usize,
  mode: i32, dA: usize, dB: usize, tp: usize, fp: usize, co: i32
): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  const spanBytes = <usize>span << 2;
  for (let r = 0; r < rows; r++) {
    let xa = pa, xb = pb;
    const xend = pa + spanBytes;
    while (xa < xend) {
      const sa = v128.load32_splat(xa);
      const sb = v128.load32_splat(xb);
      let w = v128.load(wp);
      a0 = f32x4.add(a0, f32x4.mul(sa, w));
      b0 = f32x4.add(b0, f32x4.mul(sb, w));
      w = v128.load(wp, 16);
      a1 = f32x4.add(a1, f32x4.mul(sa, w));
      b1 = f32x4.add(b1, f32x4.mul(sb, w));
      w = v128.load(wp, 32);
      a2 = f32x4.add(a2, f32x4.mul(sa, w));
      b2 = f32x4.add(b2, f32x4.mul(sb, w));
      w = v128.load(wp, 48);
      a3 = f32x4.add(a3, f32x4.mul(sa, w));
      b3 = f32x4.add(b3, f32x4.mul(sb, w));
      xa += 4;
      xb += 4;
      wp += wTap;
    }
    pa += inRowBytes;
    pb += inRowBytes;
    wp += wSkip;
  }
  if (mode == MODE_BITS) {
    putBits(dA, minusBitsF16(a0, a1, a2, a3, tp, fp), co);
    putBits(dB, minusBitsF16(b0, b1, b2, b3, tp, fp), co);
  } else {
    store16(dA, a0, a1, a2, a3, mode, tp);
    store16(dB, b0, b1, b2, b3, mode, tp);
  }
}

/** One pixel × 16 channels (as tileV16x2). */
function tileV16x1(
  pa: usize, wp: usize, rows: i32, span: i32, inRowBytes: usize, wTap: usize, wSkip: usize,
  mode: i32, dA: usize, tp: usize, fp: usize, co: i32
): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const spanBytes = <usize>span << 2;
  for (let r = 0; r < rows; r++) {
    let xa = pa;
    const xend = pa + spanBytes;
    while (xa < xend) {
      const sa = v128.load32_splat(xa);
      a0 = f32x4.add(a0, f32x4.mul(sa, v128.load(wp)));
      a1 = f32x4.add(a1, f32x4.mul(sa, v128.load(wp, 16)));
      a2 = f32x4.add(a2, f32x4.mul(sa, v128.load(wp, 32)));
      a3 = f32x4.add(a3, f32x4.mul(sa, v128.load(wp, 48)));
      xa += 4;
      wp += wTap;
    }
    pa += inRowBytes;
    wp += wSkip;
  }
  if (mode == MODE_BITS) putBits(dA, minusBitsF16(a0, a1, a2, a3, tp, fp), co);
  else store16(dA, a0, a1, a2, a3, mode, tp);
}

/** One pixel × 4 channels (tail of cout % 16). */
function tileV4x1(
  pa: usize, wp: usize, rows: i32, span: i32, inRowBytes: usize, wTap: usize, wSkip: usize,
  mode: i32, dA: usize, tp: usize, fp: usize, co: i32
): void {
  let a0 = f32x4.splat(0);
  const spanBytes = <usize>span << 2;
  for (let r = 0; r < rows; r++) {
    let xa = pa;
    const xend = pa + spanBytes;
    while (xa < xend) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(xa), v128.load(wp)));
      xa += 4;
      wp += wTap;
    }
    pa += inRowBytes;
    wp += wSkip;
  }
  if (mode == MODE_BITS) putBits(dA, minusBitsF4(a0, v128.load(tp), flipMask(fp, 0)), co);
  else {
    if (mode == MODE_BIAS_RELU) a0 = f32x4.add(a0, v128.load(tp));
    v128.store(dA, mode != MODE_STORE ? f32x4.max(a0, f32x4.splat(0)) : a0);
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar tiles (the scalar build, and the cout % 4 tail of the simd build)
// ---------------------------------------------------------------------------------------------

/** 1 if y is -1 under (t, flip): !(flip ? y <= t : y >= t). */
// @ts-ignore: decorator
@inline function minusBit(y: f32, tp: usize, fp: usize, j: i32): u32 {
  const t = load<f32>(tp + (<usize>j << 2));
  const plus = load<i32>(fp + (<usize>j << 2)) == 0 ? y >= t : y <= t;
  return plus ? 0 : 1;
}

// @ts-ignore: decorator
@inline function minusBits4S(s0: f32, s1: f32, s2: f32, s3: f32, tp: usize, fp: usize): u32 {
  return minusBit(s0, tp, fp, 0) | (minusBit(s1, tp, fp, 1) << 1) | (minusBit(s2, tp, fp, 2) << 2) | (minusBit(s3, tp, fp, 3) << 3);
}

/** Stores 4 sums at d (modes as store16). */
// @ts-ignore: decorator
@inline function store4S(d: usize, s0: f32, s1: f32, s2: f32, s3: f32, mode: i32, bp: usize): void {
  if (mode == MODE_BIAS_RELU) {
    s0 += load<f32>(bp);
    s1 += load<f32>(bp, 4);
    s2 += load<f32>(bp, 8);
    s3 += load<f32>(bp, 12);
  }
  if (mode != MODE_STORE) {
    s0 = Mathf.max(s0, 0);
    s1 = Mathf.max(s1, 0);
    s2 = Mathf.max(s2, 0);
    s3 = Mathf.max(s3, 0);
  }
  store<f32>(d, s0);
  store<f32>(d, s1, 4);
  store<f32>(d, s2, 8);
  store<f32>(d, s3, 12);
}

/** Two pixels × 4 channels, scalar. */
function tileS4x2(
  pa: usize, pb: usize, wp: usize, rows: i32, span: i32, inRowBytes: usize, wTap: usize, wSkip: usize,
  mode: i32, dA: usize, dB: usize, tp: usize, fp: usize, co: i32
): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  let b0: f32 = 0, b1: f32 = 0, b2: f32 = 0, b3: f32 = 0;
  const spanBytes = <usize>span << 2;
  for (let r = 0; r < rows; r++) {
    let xa = pa, xb = pb;
    const xend = pa + spanBytes;
    while (xa < xend) {
      const sa = load<f32>(xa);
      const sb = load<f32>(xb);
      let w = load<f32>(wp);
      a0 += sa * w;
      b0 += sb * w;
      w = load<f32>(wp, 4);
      a1 += sa * w;
      b1 += sb * w;
      w = load<f32>(wp, 8);
      a2 += sa * w;
      b2 += sb * w;
      w = load<f32>(wp, 12);
      a3 += sa * w;
      b3 += sb * w;
      xa += 4;
      xb += 4;
      wp += wTap;
    }
    pa += inRowBytes;
    pb += inRowBytes;
    wp += wSkip;
  }
  if (mode == MODE_BITS) {
    putBits(dA, minusBits4S(a0, a1, a2, a3, tp, fp), co);
    putBits(dB, minusBits4S(b0, b1, b2, b3, tp, fp), co);
  } else {
    store4S(dA, a0, a1, a2, a3, mode, tp);
    store4S(dB, b0, b1, b2, b3, mode, tp);
  }
}

/** One pixel × 4 channels, scalar. */
function tileS4x1(
  pa: usize, wp: usize, rows: i32, span: i32, inRowBytes: usize, wTap: usize, wSkip: usize,
  mode: i32, dA: usize, tp: usize, fp: usize, co: i32
): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  const spanBytes = <usize>span << 2;
  for (let r = 0; r < rows; r++) {
    let xa = pa;
    const xend = pa + spanBytes;
    while (xa < xend) {
      const sa = load<f32>(xa);
      a0 += sa * load<f32>(wp);
      a1 += sa * load<f32>(wp, 4);
      a2 += sa * load<f32>(wp, 8);
      a3 += sa * load<f32>(wp, 12);
      xa += 4;
      wp += wTap;
    }
    pa += inRowBytes;
    wp += wSkip;
  }
  if (mode == MODE_BITS) putBits(dA, minusBits4S(a0, a1, a2, a3, tp, fp), co);
  else store4S(dA, a0, a1, a2, a3, mode, tp);
}

/** One pixel × 1 channel, scalar. */
function tileS1x1(
  pa: usize, wp: usize, rows: i32, span: i32, inRowBytes: usize, wTap: usize, wSkip: usize,
  mode: i32, dA: usize, tp: usize, fp: usize, co: i32
): void {
  let a0: f32 = 0;
  const spanBytes = <usize>span << 2;
  for (let r = 0; r < rows; r++) {
    let xa = pa;
    const xend = pa + spanBytes;
    while (xa < xend) {
      a0 += load<f32>(xa) * load<f32>(wp);
      xa += 4;
      wp += wTap;
    }
    pa += inRowBytes;
    wp += wSkip;
  }
  if (mode == MODE_BITS) putBits(dA, minusBit(a0, tp, fp, 0), co);
  else {
    if (mode == MODE_BIAS_RELU) a0 += load<f32>(tp);
    store<f32>(dA, mode != MODE_STORE ? Mathf.max(a0, 0) : a0);
  }
}

// ---------------------------------------------------------------------------------------------
// Segment tiles (layers whose windows all lie inside the input, with large windows): the window
// is cut into row segments of at most SEG_TAPS taps so a channel block's weights for one segment
// stay in L1 while a chunk of pixels streams past; the running sums live in `partial` between
// segments (an exact f32 store / reload, so the order of additions is unchanged).
// ---------------------------------------------------------------------------------------------

/** Pixels per chunk of the segmented path. */
// @ts-ignore: decorator
@inline const CHUNK_PIXELS: i32 = 64;
/** Longest row segment (taps) of the segmented path: 192 taps · 64 bytes = 12 KiB of weights. */
// @ts-ignore: decorator
@inline const SEG_TAPS: i32 = 192;
/** Segmented path: window start of each pixel of the chunk (+1 slot for an odd chunk's dummy). */
const chunkPtrs: usize = memory.data((CHUNK_PIXELS + 1) << 2, 16);
/** Segmented path: 16 running sums (64 bytes) per pixel of the chunk (+1 slot). */
const partial: usize = memory.data((CHUNK_PIXELS + 1) << 6, 16);

/** Two pixels × 16 channels over `len` taps of one row segment; sums at sA / sB (in and out). */
function segV16x2(pa: usize, pb: usize, wp: usize, len: i32, wTap: usize, sA: usize, sB: usize): void {
  let a0 = v128.load(sA), a1 = v128.load(sA, 16), a2 = v128.load(sA, 32), a3 = v128.load(sA, 48);
  let b0 = v128.load(sB), b1 = v128.load(sB, 16), b2 = v128.load(sB, 32), b3 = v128.load(sB, 48);
  const xend = pa + (<usize>len << 2);
  while (pa < xend) {
    const sa = v128.load32_splat(pa);
    const sb = v128.load32_splat(pb);
    let w = v128.load(wp);
    a0 = f32x4.add(a0, f32x4.mul(sa, w));
    b0 = f32x4.add(b0, f32x4.mul(sb, w));
    w = v128.load(wp, 16);
    a1 = f32x4.add(a1, f32x4.mul(sa, w));
    b1 = f32x4.add(b1, f32x4.mul(sb, w));
    w = v128.load(wp, 32);
    a2 = f32x4.add(a2, f32x4.mul(sa, w));
    b2 = f32x4.add(b2, f32x4.mul(sb, w));
    w = v128.load(wp, 48);
    a3 = f32x4.add(a3, f32x4.mul(sa, w));
    b3 = f32x4.add(b3, f32x4.mul(sb, w));
    pa += 4;
    pb += 4;
    wp += wTap;
  }
  v128.store(sA, a0);
  v128.store(sA, a1, 16);
  v128.store(sA, a2, 32);
  v128.store(sA, a3, 48);
  v128.store(sB, b0);
  v128.store(sB, b1, 16);
  v128.store(sB, b2, 32);
  v128.store(sB, b3, 48);
}

/** Two pixels × 4 channels, scalar (as segV16x2). */
function segS4x2(pa: usize, pb: usize, wp: usize, len: i32, wTap: usize, sA: usize, sB: usize): void {
  let a0 = load<f32>(sA), a1 = load<f32>(sA, 4), a2 = load<f32>(sA, 8), a3 = load<f32>(sA, 12);
  let b0 = load<f32>(sB), b1 = load<f32>(sB, 4), b2 = load<f32>(sB, 8), b3 = load<f32>(sB, 12);
  const xend = pa + (<usize>len << 2);
  while (pa < xend) {
    const sa = load<f32>(pa);
    const sb = load<f32>(pb);
    let w = load<f32>(wp);
    a0 += sa * w;
    b0 += sb * w;
    w = load<f32>(wp, 4);
    a1 += sa * w;
    b1 += sb * w;
    w = load<f32>(wp, 8);
    a2 += sa * w;
    b2 += sb * w;
    w = load<f32>(wp, 12);
    a3 += sa * w;
    b3 += sb * w;
    pa += 4;
    pb += 4;
    wp += wTap;
  }
  store<f32>(sA, a0);
  store<f32>(sA, a1, 4);
  store<f32>(sA, a2, 8);
  store<f32>(sA, a3, 12);
  store<f32>(sB, b0);
  store<f32>(sB, b1, 4);
  store<f32>(sB, b2, 8);
  store<f32>(sB, b3, 12);
}

/**
 * Segmented version of runBlock for BLOCK_V16 / BLOCK_S4 when every window lies inside the input
 * (no clipping): chunks of CHUNK_PIXELS pixels, each window row cut into segments.
 */
function runBlockSegmented(
  kind: i32, co: i32, mode: i32,
  input: usize, weights: usize, out: usize, thr: usize, flip: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  const pixBytes = <usize>cin << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const imgBytes = <usize>inH * inRowBytes;
  const wTap = <usize>cout << 2;
  const coBytes = <usize>co << 2;
  const tp = thr + coBytes, fp = flip + coBytes;
  const outPix: usize = mode == MODE_BITS ? <usize>wordsFor(cout) << 2 : <usize>cout << 2;
  const outOff: usize = mode == MODE_BITS ? <usize>(co >> 5) << 2 : coBytes;
  const span = kw * cin;
  const nSeg = (span + SEG_TAPS - 1) / SEG_TAPS;
  const segLen = (span + nSeg - 1) / nSeg;
  const rowWeightBytes = <usize>span * wTap;           // weights of one window row
  const total = n * outH * outW;
  let b = 0, oy = 0, ox = 0;
  for (let q0 = 0; q0 < total; q0 += CHUNK_PIXELS) {
    const pc = min(CHUNK_PIXELS, total - q0);
    for (let i = 0; i < pc; i++) {
      store<usize>(chunkPtrs + (<usize>i << 2),
        input + <usize>b * imgBytes + <usize>(oy * strideH) * inRowBytes + <usize>(ox * strideW) * pixBytes);
      if (++ox == outW) { ox = 0; if (++oy == outH) { oy = 0; b++; } }
    }
    // Odd chunk: a dummy pixel (a copy of the last) fills the pair; its sums are never read.
    if (pc & 1) store<usize>(chunkPtrs + (<usize>pc << 2), load<usize>(chunkPtrs + (<usize>(pc - 1) << 2)));
    const pcEven = (pc + 1) & ~1;
    for (let i = 0; i < pcEven << 4; i++) store<f32>(partial + (<usize>i << 2), 0);   // +0 sums
    let wRow = weights + coBytes;
    let inRow: usize = 0;                              // offset of window row ky
    for (let ky = 0; ky < kh; ky++, wRow += rowWeightBytes, inRow += inRowBytes) {
      for (let s0 = 0; s0 < span; s0 += segLen) {
        const len = min(segLen, span - s0);
        const wp = wRow + <usize>s0 * wTap;
        const off = inRow + (<usize>s0 << 2);
        for (let i = 0; i < pcEven; i += 2) {
          const pa = load<usize>(chunkPtrs + (<usize>i << 2)) + off;
          const pb = load<usize>(chunkPtrs + (<usize>i << 2), 4) + off;
          const sA = partial + (<usize>i << 6);
          if (ASC_FEATURE_SIMD) segV16x2(pa, pb, wp, len, wTap, sA, sA + 64);
          else segS4x2(pa, pb, wp, len, wTap, sA, sA + 64);
        }
      }
    }
    // Epilogue: the finished sums of the chunk's real pixels.
    let d = out + <usize>q0 * outPix + outOff;
    for (let i = 0; i < pc; i++, d += outPix) {
      const sA = partial + (<usize>i << 6);
      if (ASC_FEATURE_SIMD) {
        const a0 = v128.load(sA), a1 = v128.load(sA, 16), a2 = v128.load(sA, 32), a3 = v128.load(sA, 48);
        if (mode == MODE_BITS) putBits(d, minusBitsF16(a0, a1, a2, a3, tp, fp), co);
        else store16(d, a0, a1, a2, a3, mode, tp);
      } else {
        const a0 = load<f32>(sA), a1 = load<f32>(sA, 4), a2 = load<f32>(sA, 8), a3 = load<f32>(sA, 12);
        if (mode == MODE_BITS) putBits(d, minusBits4S(a0, a1, a2, a3, tp, fp), co);
        else store4S(d, a0, a1, a2, a3, mode, tp);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------------------------

/** Channel block kinds. */
// @ts-ignore: decorator
@inline const BLOCK_V16: i32 = 0;
// @ts-ignore: decorator
@inline const BLOCK_V4: i32 = 1;
// @ts-ignore: decorator
@inline const BLOCK_S4: i32 = 2;
// @ts-ignore: decorator
@inline const BLOCK_S1: i32 = 3;

/**
 * Runs one channel block (channels co .. co + width - 1, width by kind) over every output pixel.
 * out: f32 [pixels][cout] (MODE_STORE / MODE_RELU / MODE_BIAS_RELU) or u32 words [pixels][wpp] (MODE_BITS).
 */
function runBlock(
  kind: i32, co: i32, mode: i32,
  input: usize, weights: usize, out: usize, thr: usize, flip: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  const pixBytes = <usize>cin << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const imgBytes = <usize>inH * inRowBytes;
  const wTap = <usize>cout << 2;
  const coBytes = <usize>co << 2;
  const tp = thr + coBytes, fp = flip + coBytes;
  // Destination of pixel q: out + q·outPix + outOff.
  const outPix: usize = mode == MODE_BITS ? <usize>wordsFor(cout) << 2 : <usize>cout << 2;
  const outOff: usize = mode == MODE_BITS ? <usize>(co >> 5) << 2 : coBytes;
  const pairs = kind == BLOCK_V16 || kind == BLOCK_S4;
  const total = n * outH * outW;       // < 2^30: out holds >= 4 bytes per pixel
  let b = 0, oy = 0, ox = 0;
  let q = 0;
  while (q < total) {
    // Pixel A: window start and its clipping against the input.
    const yA = oy * strideH - padTop, xA = ox * strideW - padLeft;
    const kyB = max(0, -yA), kyE = min(kh, inH - yA);
    const kxB = max(0, -xA), kxE = min(kw, inW - xA);
    const pa = input + <usize>b * imgBytes + <usize>(yA + kyB) * inRowBytes + <usize>(xA + kxB) * pixBytes;
    const dA = out + <usize>q * outPix + outOff;
    q++;
    if (++ox == outW) { ox = 0; if (++oy == outH) { oy = 0; b++; } }
    const rows = kyE - kyB;
    const cols = kxE - kxB;
    const span = cols * cin;
    const wp = weights + ((<usize>(kyB * kw + kxB) * <usize>cin * <usize>cout) << 2) + coBytes;
    const wSkip = (<usize>(kw - cols) * <usize>cin * <usize>cout) << 2;
    // Pixel B (the next one) joins when its window is clipped the same way.
    if (pairs && q < total) {
      const yB = oy * strideH - padTop, xB = ox * strideW - padLeft;
      if (max(0, -yB) == kyB && min(kh, inH - yB) == kyE && max(0, -xB) == kxB && min(kw, inW - xB) == kxE) {
        const pb = input + <usize>b * imgBytes + <usize>(yB + kyB) * inRowBytes + <usize>(xB + kxB) * pixBytes;
        const dB = out + <usize>q * outPix + outOff;
        q++;
        if (++ox == outW) { ox = 0; if (++oy == outH) { oy = 0; b++; } }
        if (kind == BLOCK_V16) {
          if (ASC_FEATURE_SIMD) tileV16x2(pa, pb, wp, rows, span, inRowBytes, wTap, wSkip, mode, dA, dB, tp, fp, co);
        } else {
          tileS4x2(pa, pb, wp, rows, span, inRowBytes, wTap, wSkip, mode, dA, dB, tp, fp, co);
        }
        continue;
      }
    }
    if (kind == BLOCK_V16) {
      if (ASC_FEATURE_SIMD) tileV16x1(pa, wp, rows, span, inRowBytes, wTap, wSkip, mode, dA, tp, fp, co);
    } else if (kind == BLOCK_V4) {
      if (ASC_FEATURE_SIMD) tileV4x1(pa, wp, rows, span, inRowBytes, wTap, wSkip, mode, dA, tp, fp, co);
    } else if (kind == BLOCK_S4) {
      tileS4x1(pa, wp, rows, span, inRowBytes, wTap, wSkip, mode, dA, tp, fp, co);
    } else {
      tileS1x1(pa, wp, rows, span, inRowBytes, wTap, wSkip, mode, dA, tp, fp, co);
    }
  }
}

/** All channel blocks in ascending order (required by putBits in MODE_BITS). */
function fconvRun(
  mode: i32, input: usize, weights: usize, out: usize, thr: usize, flip: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  // Segmented path: no window is clipped and a window has more than SEG_TAPS taps.
  const segmented = padTop == 0 && padLeft == 0
    && <i64>(outH - 1) * <i64>strideH + <i64>kh <= <i64>inH
    && <i64>(outW - 1) * <i64>strideW + <i64>kw <= <i64>inW
    && <i64>kh * <i64>kw * <i64>cin > <i64>SEG_TAPS;
  let co = 0;
  if (ASC_FEATURE_SIMD) {
    for (; co + 16 <= cout; co += 16) {
      if (segmented) {
        runBlockSegmented(BLOCK_V16, co, mode, input, weights, out, thr, flip, n, inH, inW, cin, cout, kh, kw, strideH, strideW, outH, outW);
        continue;
      }
      runBlock(BLOCK_V16, co, mode, input, weights, out, thr, flip, n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
    }
    for (; co + 4 <= cout; co += 4) {
      runBlock(BLOCK_V4, co, mode, input, weights, out, thr, flip, n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
    }
  } else {
    for (; co + 4 <= cout; co += 4) {
      if (segmented) {
        runBlockSegmented(BLOCK_S4, co, mode, input, weights, out, thr, flip, n, inH, inW, cin, cout, kh, kw, strideH, strideW, outH, outW);
        continue;
      }
      runBlock(BLOCK_S4, co, mode, input, weights, out, thr, flip, n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
    }
  }
  for (; co < cout; co++) {
    runBlock(BLOCK_S1, co, mode, input, weights, out, thr, flip, n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
  }
}

export function fconv2d(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32, relu: i32
): void {
  checkFconv2dArgs(input, weights, n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
  requireBuffer(out, count5(n, outH, outW, cout, 4), "fconv2d: out buffer out of bounds");
  fconvRun(relu != 0 ? MODE_RELU : MODE_STORE, input, weights, out, 0, 0,
    n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
}

/**
 * Float conv with a bias per output channel, then ReLU (model R): out = max(y + bias[j], 0), where
 * y is exactly the float fconv2d (relu = 0) computes and the bias is added once, in f32, in the
 * tile's store — the same floats as fconv2d followed by a separate bias + ReLU pass, without a
 * second trip over the output. bias is f32[cout]; NaN stays NaN.
 */
export function fconv2dBiasRelu(
  input: usize, weights: usize, bias: usize, out: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  checkFconv2dArgs(input, weights, n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
  requireBuffer(bias, count5(cout, 4, 1, 1, 1), "fconv2dBiasRelu: bias buffer out of bounds");
  requireBuffer(out, count5(n, outH, outW, cout, 4), "fconv2dBiasRelu: out buffer out of bounds");
  fconvRun(MODE_BIAS_RELU, input, weights, out, bias, 0,
    n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
}

/**
 * Float conv followed by binarization: channel j of each output pixel becomes +1 (bit 0) iff
 * (flip[j] == 0 ? y >= thr[j] : y <= thr[j]), else -1 (bit 1; this includes y = NaN), where y is
 * exactly the float fconv2d (relu = 0) computes. thr is f32[cout] (±Infinity allowed), flip
 * i32[cout] (any nonzero = flipped). Output: packed u32 [n][outH][outW][ceil(cout/32)], padding
 * bits 0. scratch (f32[cout]) is validated but no longer needed: sums stay in registers.
 */
export function fconv2dThresholdPack(
  input: usize, weights: usize, thr: usize, flip: usize, out: usize, scratch: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  checkFconv2dArgs(input, weights, n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
  const wpp = wordsFor(cout);
  requireBuffer(thr, count5(cout, 4, 1, 1, 1), "fconv2dThresholdPack: thr buffer out of bounds");
  requireBuffer(flip, count5(cout, 4, 1, 1, 1), "fconv2dThresholdPack: flip buffer out of bounds");
  requireBuffer(scratch, count5(cout, 4, 1, 1, 1), "fconv2dThresholdPack: scratch buffer out of bounds");
  requireBuffer(out, count5(n, outH, outW, wpp, 4), "fconv2dThresholdPack: out buffer out of bounds");
  fconvRun(MODE_BITS, input, weights, out, thr, flip,
    n, inH, inW, cin, cout, kh, kw, strideH, strideW, padTop, padLeft, outH, outW);
}
