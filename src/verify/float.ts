/**
 * Float32 bounds that floating point cannot make wrong. Two tools:
 *
 * - One IEEE float32 operation (the chain's x·a and x + b, an add of two values, a division by a
 *   pool's tap count, a conversion) is monotone in each operand, and its float32 result is
 *   `Math.fround` of the float64 result whenever the operands are float32 (a product of two
 *   float32 is exact in float64; for +, −, ÷ rounding twice, to 53 then to 24 bits, equals
 *   rounding once because 53 ≥ 2·24 + 2). So applying the operation to an interval's float32
 *   ends gives float32 ends that hold for every operand in between: no margin needed.
 * - A sum of n products (a convolution, a dense layer, a pool's sum) may be added in any order by
 *   the kernels (SIMD lanes, blocked loops): the computed sum differs from the real one by at most
 *   γₙ·Σ|xᵢwᵢ| + n·2⁻¹⁴⁹ (Higham, Accuracy and Stability of Numerical Algorithms, §3.1 and §4.2:
 *   γₙ = n·u/(1 − n·u), u = 2⁻²⁴; the second term covers products that underflow), whatever the
 *   order. `sumBounds` widens the real range by that, plus float64's own error in computing it,
 *   and rounds outward to float32.
 */
import { nextFloat32 } from '../attacks/box.js';

/** float32's unit roundoff. */
export const F32_UNIT = 2 ** -24;
/** The smallest positive float32 (subnormal). */
export const F32_TINY = 2 ** -149;
export const MAX_F32 = 3.4028234663852886e38;

/** γₙ for float32: the relative error bound of n roundings. */
export function gamma32(n: number): number {
  const nu = n * F32_UNIT;
  return nu < 0.5 ? nu / (1 - nu) : Infinity;
}

/** The same for float64 (the error of computing a bound itself). */
function gamma64(n: number): number {
  const nu = n * 2 ** -53;
  return nu / (1 - nu);
}

/** The largest float32 ≤ x (x finite or ±∞). */
export function roundDownF32(x: number): number {
  const r = Math.fround(x);
  return r > x ? nextFloat32(r, -1) : r;
}

/** The smallest float32 ≥ x. */
export function roundUpF32(x: number): number {
  const r = Math.fround(x);
  return r < x ? nextFloat32(r, 1) : r;
}

/**
 * The error margin of a float32 sum of n terms whose magnitudes add up to at most `magnitude`
 * (computed in float64), in any order: γₙ·magnitude + n·2⁻¹⁴⁹, enlarged so that it also covers
 * float64's rounding in computing the bounds it is applied to (relative 2⁻⁵³ per operation, far
 * below the 2⁻²⁰·γₙ of room added here).
 */
export function sumErrorMargin(n: number, magnitude: number): number {
  return (gamma32(n) + 2 * gamma64(n + 2)) * magnitude * (1 + 2 ** -20) + (n + 1) * F32_TINY;
}

/**
 * Float32 bounds of a float32 sum of n terms, given the real sum's range [lo, hi] and the sum of
 * the terms' largest magnitudes, all computed in float64 from float32 data.
 */
export function sumBounds(lo: number, hi: number, magnitude: number, n: number): readonly [number, number] {
  // Every partial sum, in any order, is at most magnitude·(1 + γₙ): past float32's range one may
  // overflow to ±∞ even when the whole sum would not, so nothing is bounded (requireFinite refuses it).
  if (!(magnitude * (1 + gamma32(n)) * (1 + 2 ** -20) <= MAX_F32)) return [-Infinity, Infinity];
  const err = sumErrorMargin(n, magnitude);
  return [roundDownF32(lo - err), roundUpF32(hi + err)];
}

/**
 * Whether a − b > eps in real arithmetic, for finite a, b, eps below 2¹⁰²³ in magnitude (the
 * verifier's pixels and ε are in [0, 1]); a − b need not be exact in float64 (0.5 − 2⁻⁶⁰ is not). TwoSum gives the rounded difference s and its exact error; rounding is
 * monotone, so s decides unless s equals eps, where the error's sign does.
 */
export function differenceExceeds(a: number, b: number, eps: number): boolean {
  const s = a - b;
  if (s !== eps) return s > eps;
  const bv = s - a;
  const err = a - (s - bv) + (-b - bv);
  return err > 0;
}

/** An interval of float32 values with a float32 operation applied to its ends. */
export function monotone(lo: number, hi: number, f: (x: number) => number): readonly [number, number] {
  const a = Math.fround(f(lo));
  const b = Math.fround(f(hi));
  return a <= b ? [a, b] : [b, a];
}
