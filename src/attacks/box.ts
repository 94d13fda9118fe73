/**
 * The L∞ threat model held exactly in float32. An image the runtime is given is float32; its
 * perturbation must be within ε of the clean image in real arithmetic, not merely after rounding.
 * tfjs computes x0 − ε in float32, whose rounding can land one ulp outside the ball, so the attacks
 * of this folder's AutoAttack family take their box from here: bounds computed per pixel and nudged
 * inward by one ulp where rounding overshot. Clipping to them (min/max never round) then keeps every
 * adversarial image in B∞(x0, ε) ∩ [lo, hi] bit for bit, whichever side replays it.
 */

/** Per-pixel float32 bounds of B∞(x0, ε) ∩ [lo, hi]. */
export interface ExactBox {
  readonly lower: Float32Array;
  readonly upper: Float32Array;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 next to v (itself a float32) towards +∞ (dir 1) or −∞ (dir −1). */
export function nextFloat32(v: number, dir: 1 | -1): number {
  if (v === 0) return dir * 2 ** -149;
  f32[0] = v;
  // Moving away from zero increments the magnitude bits; towards zero decrements them.
  u32[0]! += (v > 0) === (dir > 0) ? 1 : -1;
  return f32[0]!;
}

/**
 * B∞(x0, ε) ∩ [lo, hi] as float32 bounds with x0 − lower ≤ ε, upper − x0 ≤ ε (exactly),
 * lo ≤ lower ≤ x0 ≤ upper ≤ hi. Pixels outside [lo, hi] are refused.
 */
export function exactLinfBox(x0: Float32Array, eps: number, [lo, hi]: readonly [number, number] = [0, 1]): ExactBox {
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new RangeError(`ε must be a finite number ≥ 0, got ${eps}`);
  const lower = new Float32Array(x0.length);
  const upper = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const v = x0[i]!;
    if (!(v >= lo && v <= hi)) throw new RangeError(`pixel ${i} is ${v}, outside [${lo}, ${hi}]`);
    let l = Math.fround(Math.max(v - eps, lo));
    if (v - l > eps) l = nextFloat32(l, 1);
    let u = Math.fround(Math.min(v + eps, hi));
    if (u - v > eps) u = nextFloat32(u, -1);
    lower[i] = l;
    upper[i] = u;
  }
  return { lower, upper };
}

/** Clips x into the box, in place; returns x. */
export function clipInto(x: Float32Array, box: ExactBox, offset = 0): Float32Array {
  const { lower, upper } = box;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const l = lower[offset + i]!;
    const u = upper[offset + i]!;
    x[i] = v < l ? l : v > u ? u : v;
  }
  return x;
}

/** The L∞ norm of each of n perturbations adv − clean (float64 differences of float32 values). */
export function linfNorms(adv: Float32Array, clean: Float32Array, n: number): Float64Array {
  const out = new Float64Array(n);
  const px = adv.length / n;
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = i * px; j < (i + 1) * px; j++) m = Math.max(m, Math.abs(adv[j]! - clean[j]!));
    out[i] = m;
  }
  return out;
}
