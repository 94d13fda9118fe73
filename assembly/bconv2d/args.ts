// Argument validation shared by every bconv2dPopcount variant.
import { count5, requireBuffer, requirePositive, fail } from "../types";

/**
 * Aborts unless the call is well-formed: all dims positive, every window inside the input
 * ((outH-1)·strideH + kh <= inH, (outW-1)·strideW + kw <= inW, computed in i64) and all three buffers inside memory.
 */
export function checkBconv2dArgs(
  input: usize, weights: usize, out: usize,
  n: i32, inH: i32, inW: i32, wpp: i32, cout: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, outH: i32, outW: i32
): void {
  requirePositive(n, "bconv2dPopcount: n must be > 0");
  requirePositive(inH, "bconv2dPopcount: inH must be > 0");
  requirePositive(inW, "bconv2dPopcount: inW must be > 0");
  requirePositive(wpp, "bconv2dPopcount: wpp must be > 0");
  requirePositive(cout, "bconv2dPopcount: cout must be > 0");
  requirePositive(kh, "bconv2dPopcount: kh must be > 0");
  requirePositive(kw, "bconv2dPopcount: kw must be > 0");
  requirePositive(strideH, "bconv2dPopcount: strideH must be > 0");
  requirePositive(strideW, "bconv2dPopcount: strideW must be > 0");
  requirePositive(outH, "bconv2dPopcount: outH must be > 0");
  requirePositive(outW, "bconv2dPopcount: outW must be > 0");
  if (<i64>(outH - 1) * <i64>strideH + <i64>kh > <i64>inH) fail("bconv2dPopcount: window rows exceed input (VALID conv)");
  if (<i64>(outW - 1) * <i64>strideW + <i64>kw > <i64>inW) fail("bconv2dPopcount: window cols exceed input (VALID conv)");
  requireBuffer(input, count5(n, inH, inW, wpp, 4), "bconv2dPopcount: input buffer out of bounds");
  requireBuffer(weights, count5(cout, kh, kw, wpp, 4), "bconv2dPopcount: weights buffer out of bounds");
  requireBuffer(out, count5(n, outH, outW, cout, 4), "bconv2dPopcount: out buffer out of bounds");
}
