// Float pooling, f32 NHWC [n][h][w][c] (window rules in args.ts).
//
// Evaluation order (identical in both builds: the SIMD path vectorizes over channels, each lane
// following the scalar order, so the builds agree bit for bit):
//   maxPool2dF32: m = the first valid tap, then for each later valid tap in (ky, kx) ascending
//     order m = (v > m) ? v : m  (a NaN first tap stays; a later NaN is skipped; on equal values,
//     -0 / +0, the earlier tap wins). f32x4.pmax(m, v) is exactly that select.
//   avgPool2dF32: s = +0, s = f32(s + v) over the valid taps in (ky, kx) ascending order, then one
//     f32 division by f32(count of valid taps) (padding is not counted, as TensorFlow's SAME).
//   globalAvgPool2dF32: per image and channel, s = +0, s = f32(s + v) over the pixels in row-major
//     order, then one f32 division by f32(h·w).
import { count5, requireBuffer, requirePositive } from "../types";
import { checkPoolGeometry } from "./args";

// @ts-ignore: decorator
@inline const OP_MAX: i32 = 0;
// @ts-ignore: decorator
@inline const OP_AVG: i32 = 1;

/**
 * Channels [j, j + 16) of one output pixel: taps in rows r < rows (pitch inRowBytes) and columns
 * p0 .. p0 + colsBytes (pitch pixBytes), SIMD.
 */
// @ts-ignore: decorator
@inline function pool16(
  op: i32, p0: usize, rows: i32, colsBytes: usize, inRowBytes: usize, pixBytes: usize, div: f32, d: usize
): void {
  let a0: v128, a1: v128, a2: v128, a3: v128;
  if (op == OP_MAX) {
    // The first tap initializes; revisiting it is harmless (pmax(m, m) = m).
    a0 = v128.load(p0); a1 = v128.load(p0, 16); a2 = v128.load(p0, 32); a3 = v128.load(p0, 48);
  } else {
    a0 = f32x4.splat(0); a1 = a0; a2 = a0; a3 = a0;
  }
  let pr = p0;
  for (let r = 0; r < rows; r++, pr += inRowBytes) {
    const pend = pr + colsBytes;
    for (let p = pr; p < pend; p += pixBytes) {
      if (op == OP_MAX) {
        a0 = f32x4.pmax(a0, v128.load(p));
        a1 = f32x4.pmax(a1, v128.load(p, 16));
        a2 = f32x4.pmax(a2, v128.load(p, 32));
        a3 = f32x4.pmax(a3, v128.load(p, 48));
      } else {
        a0 = f32x4.add(a0, v128.load(p));
        a1 = f32x4.add(a1, v128.load(p, 16));
        a2 = f32x4.add(a2, v128.load(p, 32));
        a3 = f32x4.add(a3, v128.load(p, 48));
      }
    }
  }
  if (op == OP_AVG) {
    const dv = f32x4.splat(div);
    a0 = f32x4.div(a0, dv); a1 = f32x4.div(a1, dv); a2 = f32x4.div(a2, dv); a3 = f32x4.div(a3, dv);
  }
  v128.store(d, a0); v128.store(d, a1, 16); v128.store(d, a2, 32); v128.store(d, a3, 48);
}

/** Channels [j, j + 4) of one output pixel, SIMD (as pool16). */
// @ts-ignore: decorator
@inline function pool4(
  op: i32, p0: usize, rows: i32, colsBytes: usize, inRowBytes: usize, pixBytes: usize, div: f32, d: usize
): void {
  let a0: v128 = op == OP_MAX ? v128.load(p0) : f32x4.splat(0);
  let pr = p0;
  for (let r = 0; r < rows; r++, pr += inRowBytes) {
    const pend = pr + colsBytes;
    for (let p = pr; p < pend; p += pixBytes) {
      if (op == OP_MAX) a0 = f32x4.pmax(a0, v128.load(p));
      else a0 = f32x4.add(a0, v128.load(p));
    }
  }
  if (op == OP_AVG) a0 = f32x4.div(a0, f32x4.splat(div));
  v128.store(d, a0);
}

/** Channels [j, j + 4) of one output pixel, scalar (as pool16). */
// @ts-ignore: decorator
@inline function pool4S(
  op: i32, p0: usize, rows: i32, colsBytes: usize, inRowBytes: usize, pixBytes: usize, div: f32, d: usize
): void {
  let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
  if (op == OP_MAX) {
    a0 = load<f32>(p0); a1 = load<f32>(p0, 4); a2 = load<f32>(p0, 8); a3 = load<f32>(p0, 12);
  }
  let pr = p0;
  for (let r = 0; r < rows; r++, pr += inRowBytes) {
    const pend = pr + colsBytes;
    for (let p = pr; p < pend; p += pixBytes) {
      const v0 = load<f32>(p), v1 = load<f32>(p, 4), v2 = load<f32>(p, 8), v3 = load<f32>(p, 12);
      if (op == OP_MAX) {
        a0 = v0 > a0 ? v0 : a0;
        a1 = v1 > a1 ? v1 : a1;
        a2 = v2 > a2 ? v2 : a2;
        a3 = v3 > a3 ? v3 : a3;
      } else {
        a0 += v0; a1 += v1; a2 += v2; a3 += v3;
      }
    }
  }
  if (op == OP_AVG) {
    a0 /= div; a1 /= div; a2 /= div; a3 /= div;
  }
  store<f32>(d, a0); store<f32>(d, a1, 4); store<f32>(d, a2, 8); store<f32>(d, a3, 12);
}

/** One channel of one output pixel, scalar. */
// @ts-ignore: decorator
@inline function pool1S(
  op: i32, p0: usize, rows: i32, colsBytes: usize, inRowBytes: usize, pixBytes: usize, div: f32, d: usize
): void {
  let a: f32 = op == OP_MAX ? load<f32>(p0) : 0;
  let pr = p0;
  for (let r = 0; r < rows; r++, pr += inRowBytes) {
    const pend = pr + colsBytes;
    for (let p = pr; p < pend; p += pixBytes) {
      const v = load<f32>(p);
      if (op == OP_MAX) a = v > a ? v : a;
      else a += v;
    }
  }
  store<f32>(d, op == OP_AVG ? a / div : a);
}

/** The pooling loop (arguments validated). */
// @ts-ignore: decorator
@inline function poolF32(
  op: i32, input: usize, out: usize, n: i32, inH: i32, inW: i32, c: i32,
  poolH: i32, poolW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  const pixBytes = <usize>c << 2;
  const inRowBytes = <usize>inW * pixBytes;
  const imgBytes = <usize>inH * inRowBytes;
  let d = out;
  for (let b = 0; b < n; b++) {
    const image = input + <usize>b * imgBytes;
    for (let oy = 0; oy < outH; oy++) {
      // Wrapping i32 arithmetic gives the exact y0 (it lies in (-poolH, inH)); the end is clipped
      // in i64 because inH - y0 may exceed i32 for huge pools.
      const y0 = oy * strideH - padTop;
      const kyB = max(0, -y0);
      const kyE = <i32>min<i64>(<i64>poolH, <i64>inH - <i64>y0);
      const rows = kyE - kyB;
      const rowPtr = image + <usize>(y0 + kyB) * inRowBytes;
      for (let ox = 0; ox < outW; ox++, d += pixBytes) {
        const x0 = ox * strideW - padLeft;
        const kxB = max(0, -x0);
        const kxE = <i32>min<i64>(<i64>poolW, <i64>inW - <i64>x0);
        const cols = kxE - kxB;
        const p0 = rowPtr + <usize>(x0 + kxB) * pixBytes;
        const colsBytes = <usize>cols * pixBytes;
        const div = <f32>(rows * cols);             // rows·cols <= inH·inW < 2^30, exact in i32
        let j = 0;
        if (ASC_FEATURE_SIMD) {
          for (; j + 16 <= c; j += 16) pool16(op, p0 + (<usize>j << 2), rows, colsBytes, inRowBytes, pixBytes, div, d + (<usize>j << 2));
          for (; j + 4 <= c; j += 4) pool4(op, p0 + (<usize>j << 2), rows, colsBytes, inRowBytes, pixBytes, div, d + (<usize>j << 2));
        } else {
          for (; j + 4 <= c; j += 4) pool4S(op, p0 + (<usize>j << 2), rows, colsBytes, inRowBytes, pixBytes, div, d + (<usize>j << 2));
        }
        for (; j < c; j++) pool1S(op, p0 + (<usize>j << 2), rows, colsBytes, inRowBytes, pixBytes, div, d + (<usize>j << 2));
      }
    }
  }
}

/**
 * Max pooling, f32 NHWC: out[b][oy][ox][ch] = max over the valid taps of the window (taps outside
 * the input are ignored, TensorFlow SAME; see the header for the exact order and NaN / ±0 rules).
 * input f32[n][inH][inW][c], out f32[n][outH][outW][c]. Requires 0 <= padTop < poolH,
 * 0 <= padLeft < poolW and the last window to start inside the input.
 */
export function maxPool2dF32(
  input: usize, out: usize, n: i32, inH: i32, inW: i32, c: i32,
  poolH: i32, poolW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  checkPoolGeometry(n, inH, inW, c, poolH, poolW, strideH, strideW, padTop, padLeft, outH, outW);
  requireBuffer(input, count5(n, inH, inW, c, 4), "maxPool2dF32: input buffer out of bounds");
  requireBuffer(out, count5(n, outH, outW, c, 4), "maxPool2dF32: out buffer out of bounds");
  poolF32(OP_MAX, input, out, n, inH, inW, c, poolH, poolW, strideH, strideW, padTop, padLeft, outH, outW);
}

/**
 * Average pooling, f32 NHWC, same arguments and window rules as maxPool2dF32: the sum of the valid
 * taps from +0 in (ky, kx) order, then one f32 division by their count (padding not counted).
 */
export function avgPool2dF32(
  input: usize, out: usize, n: i32, inH: i32, inW: i32, c: i32,
  poolH: i32, poolW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  checkPoolGeometry(n, inH, inW, c, poolH, poolW, strideH, strideW, padTop, padLeft, outH, outW);
  requireBuffer(input, count5(n, inH, inW, c, 4), "avgPool2dF32: input buffer out of bounds");
  requireBuffer(out, count5(n, outH, outW, c, 4), "avgPool2dF32: out buffer out of bounds");
  poolF32(OP_AVG, input, out, n, inH, inW, c, poolH, poolW, strideH, strideW, padTop, padLeft, outH, outW);
}

/**
 * Global average pooling: out f32[n][c], out[b][ch] = (Σ_{p < h·w} input[b][p][ch]) / f32(h·w),
 * the sum from +0 in row-major pixel order with f32 adds, then one f32 division. input
 * f32[n][h][w][c]. The running sums live in the output row (an exact f32 store / reload), so the
 * input streams once in memory order; out must not overlap input.
 */
export function globalAvgPool2dF32(input: usize, out: usize, n: i32, h: i32, w: i32, c: i32): void {
  requirePositive(n, "globalAvgPool2dF32: n must be > 0");
  requirePositive(h, "globalAvgPool2dF32: h must be > 0");
  requirePositive(w, "globalAvgPool2dF32: w must be > 0");
  requirePositive(c, "globalAvgPool2dF32: c must be > 0");
  requireBuffer(input, count5(n, h, w, c, 4), "globalAvgPool2dF32: input buffer out of bounds");
  requireBuffer(out, count5(n, c, 4, 1, 1), "globalAvgPool2dF32: out buffer out of bounds");
  const pixBytes = <usize>c << 2;
  const pixels = h * w;                        // < 2^30: the input buffer is inside memory
  const div = <f32>pixels;                     // rounds to nearest even above 2^24
  let src = input;
  for (let b = 0; b < n; b++) {
    const row = out + <usize>b * pixBytes;
    for (let j: usize = 0; j < pixBytes; j += 4) store<f32>(row + j, 0);
    for (let p = 0; p < pixels; p++, src += pixBytes) {
      let j: usize = 0;
      if (ASC_FEATURE_SIMD) {
        for (; j + 16 <= pixBytes; j += 16) v128.store(row + j, f32x4.add(v128.load(row + j), v128.load(src + j)));
      }
      for (; j < pixBytes; j += 4) store<f32>(row + j, load<f32>(row + j) + load<f32>(src + j));
    }
    let j: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const dv = f32x4.splat(div);
      for (; j + 16 <= pixBytes; j += 16) v128.store(row + j, f32x4.div(v128.load(row + j), dv));
    }
    for (; j < pixBytes; j += 4) store<f32>(row + j, load<f32>(row + j) / div);
  }
}
