// Window geometry shared by the pooling kernels (maxPool2dF32, avgPool2dF32, bitMaxPool2d).
//
// Output pixel (oy, ox) pools the taps (ky, kx), ky < poolH, kx < poolW, at input position
// y = oy·strideH - padTop + ky, x = ox·strideW - padLeft + kx; taps outside [0, inH) × [0, inW)
// are ignored (TensorFlow's SAME pooling; VALID is padTop = padLeft = 0 with every window inside).
// The checks guarantee that every window has at least one valid tap: the first window starts at
// -pad > -pool, and the last one starts inside the input.
import { fail, requireNonNegative, requirePositive } from "../types";

/** Aborts unless the pooling geometry is well-formed (buffers are checked by each kernel). */
export function checkPoolGeometry(
  n: i32, inH: i32, inW: i32, c: i32,
  poolH: i32, poolW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, outH: i32, outW: i32
): void {
  requirePositive(n, "pool2d: n must be > 0");
  requirePositive(inH, "pool2d: inH must be > 0");
  requirePositive(inW, "pool2d: inW must be > 0");
  requirePositive(c, "pool2d: channels (c / wpp) must be > 0");
  requirePositive(poolH, "pool2d: poolH must be > 0");
  requirePositive(poolW, "pool2d: poolW must be > 0");
  requirePositive(strideH, "pool2d: strideH must be > 0");
  requirePositive(strideW, "pool2d: strideW must be > 0");
  requirePositive(outH, "pool2d: outH must be > 0");
  requirePositive(outW, "pool2d: outW must be > 0");
  requireNonNegative(padTop, "pool2d: padTop must be >= 0");
  requireNonNegative(padLeft, "pool2d: padLeft must be >= 0");
  if (padTop >= poolH) fail("pool2d: padTop must be < poolH");
  if (padLeft >= poolW) fail("pool2d: padLeft must be < poolW");
  if (<i64>(outH - 1) * <i64>strideH - <i64>padTop >= <i64>inH) fail("pool2d: last window row starts below the input");
  if (<i64>(outW - 1) * <i64>strideW - <i64>padLeft >= <i64>inW) fail("pool2d: last window col starts right of the input");
}
