// Float convolution (first layer): f32 NHWC input, HWIO weights [kh][kw][cin][cout], explicit
// top/left padding with TensorFlow SAME semantics (positions outside the input read as 0; they
// are skipped, which adds nothing to the sum).
//
// Summation order, identical in both builds and in both exported kernels: for each output
// channel, start from +0 and add x·w over taps in (ky, kx, ci) ascending order (no FMA). The SIMD
// path vectorizes over output channels (each f32x4 lane follows the same order), so the simd and
// scalar builds produce bit-identical floats, and fconv2dThresholdPack sees exactly the values
// fconv2d (relu = 0) would store.
import { count5, fail, requireBuffer, requireNonNegative, requirePositive, wordsFor } from "./types";

function checkFconv2dArgs(
  input: usize, weights: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, stride: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  requirePositive(n, "fconv2d: n must be > 0");
  requirePositive(inH, "fconv2d: inH must be > 0");
  requirePositive(inW, "fconv2d: inW must be > 0");
  requirePositive(cin, "fconv2d: cin must be > 0");
  requirePositive(cout, "fconv2d: cout must be > 0");
  requirePositive(kh, "fconv2d: kh must be > 0");
  requirePositive(kw, "fconv2d: kw must be > 0");
  requirePositive(stride, "fconv2d: stride must be > 0");
  requirePositive(outH, "fconv2d: outH must be > 0");
  requirePositive(outW, "fconv2d: outW must be > 0");
  requireNonNegative(padTop, "fconv2d: padTop must be >= 0");
  requireNonNegative(padLeft, "fconv2d: padLeft must be >= 0");
  // Every window must overlap the input: first one (pad < k) and last one.
  if (padTop >= kh) fail("fconv2d: padTop must be < kh");
  if (padLeft >= kw) fail("fconv2d: padLeft must be < kw");
  if (<i64>(outH - 1) * <i64>stride - <i64>padTop >= <i64>inH) fail("fconv2d: last window row starts below the input");
  if (<i64>(outW - 1) * <i64>stride - <i64>padLeft >= <i64>inW) fail("fconv2d: last window col starts right of the input");
  requireBuffer(input, count5(n, inH, inW, cin, 4), "fconv2d: input buffer out of bounds");
  requireBuffer(weights, count5(kh, kw, cin, cout, 4), "fconv2d: weights buffer out of bounds");
}

/** Computes the `cout` pre-activation floats of output pixel (b, oy, ox) into dst (f32[cout]). */
function convPixel(
  input: usize, weights: usize, dst: usize, b: i32, oy: i32, ox: i32,
  inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, stride: i32, padTop: i32, padLeft: i32
): void {
  const y0 = oy * stride - padTop;
  const x0 = ox * stride - padLeft;
  const kyBeg = max(0, -y0), kyEnd = min(kh, inH - y0);
  const kxBeg = max(0, -x0), kxEnd = min(kw, inW - x0);
  const pixBytes = <usize>cin << 2;
  const wCiBytes = <usize>cout << 2;                 // weights: step from ci to ci + 1
  const wKxBytes = <usize>cin * wCiBytes;            // weights: step from kx to kx + 1
  const image = input + <usize>b * <usize>inH * <usize>inW * pixBytes;

  let co = 0;
  if (ASC_FEATURE_SIMD) {
    // 16 output channels per pass (4 f32x4 accumulators), then 4, then the scalar tail below.
    for (; co + 16 <= cout; co += 16) {
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let ky = kyBeg; ky < kyEnd; ky++) {
        for (let kx = kxBeg; kx < kxEnd; kx++) {
          let xp = image + (<usize>(y0 + ky) * <usize>inW + <usize>(x0 + kx)) * pixBytes;
          let wp = weights + (<usize>ky * <usize>kw + <usize>kx) * wKxBytes + (<usize>co << 2);
          for (let ci = 0; ci < cin; ci++, xp += 4, wp += wCiBytes) {
            const xv = v128.load32_splat(xp);
            s0 = f32x4.add(s0, f32x4.mul(xv, v128.load(wp)));
            s1 = f32x4.add(s1, f32x4.mul(xv, v128.load(wp, 16)));
            s2 = f32x4.add(s2, f32x4.mul(xv, v128.load(wp, 32)));
            s3 = f32x4.add(s3, f32x4.mul(xv, v128.load(wp, 48)));
          }
        }
      }
      const d = dst + (<usize>co << 2);
      v128.store(d, s0);
      v128.store(d, s1, 16);
      v128.store(d, s2, 32);
      v128.store(d, s3, 48);
    }
    for (; co + 4 <= cout; co += 4) {
      let s0 = f32x4.splat(0);
      for (let ky = kyBeg; ky < kyEnd; ky++) {
        for (let kx = kxBeg; kx < kxEnd; kx++) {
          let xp = image + (<usize>(y0 + ky) * <usize>inW + <usize>(x0 + kx)) * pixBytes;
          let wp = weights + (<usize>ky * <usize>kw + <usize>kx) * wKxBytes + (<usize>co << 2);
          for (let ci = 0; ci < cin; ci++, xp += 4, wp += wCiBytes) {
            s0 = f32x4.add(s0, f32x4.mul(v128.load32_splat(xp), v128.load(wp)));
          }
        }
      }
      v128.store(dst + (<usize>co << 2), s0);
    }
    // Tail channels (cout % 4), same order per channel.
    for (; co < cout; co++) {
      let s: f32 = 0;
      for (let ky = kyBeg; ky < kyEnd; ky++) {
        for (let kx = kxBeg; kx < kxEnd; kx++) {
          let xp = image + (<usize>(y0 + ky) * <usize>inW + <usize>(x0 + kx)) * pixBytes;
          let wp = weights + (<usize>ky * <usize>kw + <usize>kx) * wKxBytes + (<usize>co << 2);
          for (let ci = 0; ci < cin; ci++, xp += 4, wp += wCiBytes) {
            s += load<f32>(xp) * load<f32>(wp);
          }
        }
      }
      store<f32>(dst + (<usize>co << 2), s);
    }
  } else {
    // Scalar build: accumulate all channels in dst, taps outermost (same per-channel order).
    for (let c = 0; c < cout; c++) store<f32>(dst + (<usize>c << 2), 0);
    for (let ky = kyBeg; ky < kyEnd; ky++) {
      for (let kx = kxBeg; kx < kxEnd; kx++) {
        let xp = image + (<usize>(y0 + ky) * <usize>inW + <usize>(x0 + kx)) * pixBytes;
        let wp = weights + (<usize>ky * <usize>kw + <usize>kx) * wKxBytes;
        for (let ci = 0; ci < cin; ci++, xp += 4) {
          const x = load<f32>(xp);
          let d = dst;
          for (let c = 0; c < cout; c++, d += 4, wp += 4) {
            store<f32>(d, load<f32>(d) + x * load<f32>(wp));
          }
        }
      }
    }
  }
}

/** In-place ReLU over f32[count] (f32.max semantics in both builds: NaN propagates). */
function reluInPlace(p: usize, count: i32): void {
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    const z = f32x4.splat(0);
    for (; c + 4 <= count; c += 4, p += 16) v128.store(p, f32x4.max(v128.load(p), z));
  }
  for (; c < count; c++, p += 4) store<f32>(p, Mathf.max(load<f32>(p), 0));
}

export function fconv2d(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, stride: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32, relu: i32
): void {
  checkFconv2dArgs(input, weights, n, inH, inW, cin, cout, kh, kw, stride, padTop, padLeft, outH, outW);
  requireBuffer(out, count5(n, outH, outW, cout, 4), "fconv2d: out buffer out of bounds");
  const outPixBytes = <usize>cout << 2;
  let dst = out;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++, dst += outPixBytes) {
        convPixel(input, weights, dst, b, oy, ox, inH, inW, cin, cout, kh, kw, stride, padTop, padLeft);
        if (relu != 0) reluInPlace(dst, cout);
      }
    }
  }
}

/**
 * Float conv followed by binarization: for each output pixel the cout floats go to `scratch`
 * (f32[cout]) and channel j becomes +1 (bit 0) iff (flip[j] == 0 ? y >= thr[j] : y <= thr[j]),
 * else -1 (bit 1; this includes y = NaN). thr is f32[cout] (±Infinity allowed), flip i32[cout]
 * (any nonzero = flipped). Output: packed u32 [n][outH][outW][ceil(cout/32)], padding bits 0.
 */
export function fconv2dThresholdPack(
  input: usize, weights: usize, thr: usize, flip: usize, out: usize, scratch: usize,
  n: i32, inH: i32, inW: i32, cin: i32, cout: i32,
  kh: i32, kw: i32, stride: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  checkFconv2dArgs(input, weights, n, inH, inW, cin, cout, kh, kw, stride, padTop, padLeft, outH, outW);
  const wpp = wordsFor(cout);
  requireBuffer(thr, count5(cout, 4, 1, 1, 1), "fconv2dThresholdPack: thr buffer out of bounds");
  requireBuffer(flip, count5(cout, 4, 1, 1, 1), "fconv2dThresholdPack: flip buffer out of bounds");
  requireBuffer(scratch, count5(cout, 4, 1, 1, 1), "fconv2dThresholdPack: scratch buffer out of bounds");
  requireBuffer(out, count5(n, outH, outW, wpp, 4), "fconv2dThresholdPack: out buffer out of bounds");
  let dst = out;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        convPixel(input, weights, scratch, b, oy, ox, inH, inW, cin, cout, kh, kw, stride, padTop, padLeft);
        for (let w = 0; w < wpp; w++, dst += 4) {
          const base = w << 5;
          const lim = min(32, cout - base);
          let bits: u32 = 0;
          for (let j = 0; j < lim; j++) {
            const off = <usize>(base + j) << 2;
            const y = load<f32>(scratch + off);
            const t = load<f32>(thr + off);
            const plus = load<i32>(flip + off) == 0 ? y >= t : y <= t;
            if (!plus) bits |= (<u32>1) << j;
          }
          store<u32>(dst, bits);
        }
      }
    }
  }
}
