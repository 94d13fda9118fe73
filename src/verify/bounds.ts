/**
 * One image, one ε: the input box, the bound propagation and the verdict of the bounds alone.
 */
import { nextFloat32 } from '../attacks/box.js';
import type { ExecutionPlan } from '../model/lower.js';
import { rangeValue, UnboundedError, type RangeValue } from './domain.js';
import { differenceExceeds } from './float.js';
import { logitMargin } from './logits.js';
import { propagate, VerifyTimeout } from './propagate.js';

/**
 * Every float32 image within ε of x0 (in real arithmetic) and in [0, 1], as per-pixel float32
 * ends: the exact set, so a proof over it covers every input the runtime can be given. (The
 * attacks' box, attacks/box.ts, may lose an end pixel to rounding; this one never does.)
 */
export function verificationBox(plan: ExecutionPlan, x0: Float32Array, eps: number): RangeValue {
  const box = rangeValue(plan.values[plan.input]!.shape);
  for (let i = 0; i < x0.length; i++) {
    const v = x0[i]!;
    // Exact comparisons (differenceExceeds): the first guess is then off by an ulp or two at most.
    let l = Math.fround(Math.max(v - eps, 0));
    while (differenceExceeds(v, l, eps)) l = nextFloat32(l, 1);
    while (l > 0 && !differenceExceeds(v, nextFloat32(l, -1), eps)) l = nextFloat32(l, -1);
    let u = Math.fround(Math.min(v + eps, 1));
    while (differenceExceeds(u, v, eps)) u = nextFloat32(u, -1);
    while (u < 1 && !differenceExceeds(nextFloat32(u, 1), v, eps)) u = nextFloat32(u, 1);
    box.lo[i] = l;
    box.hi[i] = u;
  }
  return box;
}

export type BoundsVerdict =
  | { readonly verdict: 'verified'; readonly margin: number }
  | { readonly verdict: 'unknown'; readonly reason: 'bounds' | 'timeout' | 'unbounded'; readonly margin: number; readonly detail?: string };

/** Whether the bounds prove that every input of the ε-box is classified `label` (deadline: performance.now()). */
export function boundImage(plan: ExecutionPlan, x0: Float32Array, eps: number, label: number, deadline = Infinity): BoundsVerdict {
  try {
    const values = propagate(plan, verificationBox(plan, x0, eps), deadline);
    const { margin } = logitMargin(plan, values, label);
    return margin > 0 ? { verdict: 'verified', margin } : { verdict: 'unknown', reason: 'bounds', margin };
  } catch (e) {
    if (e instanceof VerifyTimeout) return { verdict: 'unknown', reason: 'timeout', margin: -Infinity, detail: e.message };
    if (e instanceof UnboundedError) return { verdict: 'unknown', reason: 'unbounded', margin: -Infinity, detail: e.message };
    throw e;
  }
}
