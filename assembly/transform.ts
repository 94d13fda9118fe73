// Output transforms applied to binary-conv popcounts (i32 [m][c], m = pixels, c = channels).
import { count5, requireBuffer, requirePositive, wordsFor } from "./types";

/**
 * Binarize popcounts into packed activations: channel j of row i is +1 (bit 0) iff
 * (flip[j] == 0 ? acc <= thr[j] : acc >= thr[j]), else -1 (bit 1). thr i32[c], flip i32[c]
 * (any nonzero = flipped). Writes u32 out[m][ceil(c/32)], padding bits 0.
 * (acc <= thr on the popcount is dot = nValid - 2·acc >= nValid - 2·thr on the ±1 dot product.)
 */
export function thresholdPackI32(acc: usize, m: i32, c: i32, thr: usize, flip: usize, out: usize): void {
  requirePositive(m, "thresholdPackI32: m must be > 0");
  requirePositive(c, "thresholdPackI32: c must be > 0");
  const wpp = wordsFor(c);
  requireBuffer(acc, count5(m, c, 4, 1, 1), "thresholdPackI32: acc buffer out of bounds");
  requireBuffer(thr, count5(c, 4, 1, 1, 1), "thresholdPackI32: thr buffer out of bounds");
  requireBuffer(flip, count5(c, 4, 1, 1, 1), "thresholdPackI32: flip buffer out of bounds");
  requireBuffer(out, count5(m, wpp, 4, 1, 1), "thresholdPackI32: out buffer out of bounds");
  const rowBytes = <usize>c << 2;
  let row = acc;
  let dst = out;
  for (let i = 0; i < m; i++, row += rowBytes) {
    for (let w = 0; w < wpp; w++, dst += 4) {
      const base = w << 5;
      const lim = min(32, c - base);
      let bits: u32 = 0;
      for (let j = 0; j < lim; j++) {
        const off = <usize>(base + j) << 2;
        const a = load<i32>(row + off);
        const t = load<i32>(thr + off);
        const plus = load<i32>(flip + off) == 0 ? a <= t : a >= t;
        if (!plus) bits |= (<u32>1) << j;
      }
      store<u32>(dst, bits);
    }
  }
}

/** out f32[m][c] = max(nValid - 2·acc, 0) · scale (acc i32[m][c]). */
export function reluScaleI32(acc: usize, m: i32, c: i32, nValid: i32, scale: f32, out: usize): void {
  requirePositive(m, "reluScaleI32: m must be > 0");
  requirePositive(c, "reluScaleI32: c must be > 0");
  const bytes = count5(m, c, 4, 1, 1);
  requireBuffer(acc, bytes, "reluScaleI32: acc buffer out of bounds");
  requireBuffer(out, bytes, "reluScaleI32: out buffer out of bounds");
  const total = <usize>m * <usize>c;                  // fits: m·c·4 bytes is inside memory
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const nv = i32x4.splat(nValid);
    const sc = f32x4.splat(scale);
    const z = i32x4.splat(0);
    for (; i + 4 <= total; i += 4) {
      const a = v128.load(acc + (i << 2));
      const d = i32x4.max_s(i32x4.sub(nv, i32x4.shl(a, 1)), z);
      v128.store(out + (i << 2), f32x4.mul(f32x4.convert_i32x4_s(d), sc));
    }
  }
  for (; i < total; i++) {
    const d = max(nValid - (load<i32>(acc + (i << 2)) << 1), 0);
    store<f32>(out + (i << 2), <f32>d * scale);
  }
}

/**
 * In place, x f32[m][c]: x[i][j] += bias[j], then max(·, 0) when relu ≠ 0 (model R's biases: a
 * float conv or dense layer runs without its ReLU, then this pass; NaN stays NaN).
 */
export function biasReluF32(x: usize, m: i32, c: i32, bias: usize, relu: i32): void {
  requirePositive(m, "biasReluF32: m must be > 0");
  requirePositive(c, "biasReluF32: c must be > 0");
  requireBuffer(x, count5(m, c, 4, 1, 1), "biasReluF32: x buffer out of bounds");
  requireBuffer(bias, count5(c, 4, 1, 1, 1), "biasReluF32: bias buffer out of bounds");
  for (let i: usize = 0; i < <usize>m; i++) {
    const row = x + i * (<usize>c << 2);
    let j: i32 = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= c; j += 4) {
        const at = row + (<usize>j << 2);
        const v = f32x4.add(v128.load(at), v128.load(bias + (<usize>j << 2)));
        v128.store(at, relu != 0 ? f32x4.pmax(v, f32x4.splat(0)) : v);
      }
    }
    for (; j < c; j++) {
      const at = row + (<usize>j << 2);
      const v = load<f32>(at) + load<f32>(bias + (<usize>j << 2));
      store<f32>(at, relu != 0 && v < 0 ? 0 : v);
    }
  }
}
