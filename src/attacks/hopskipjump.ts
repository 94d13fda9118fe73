/**
 * HopSkipJump (Chen, Jordan & Wainwright 2020), L2, untargeted: a decision-based attack that needs
 * only the predicted label. It walks along the decision boundary: estimate the boundary's normal
 * by Monte-Carlo sign queries, step, and binary-search back to the boundary. Every query goes
 * through an Oracle with a budget, so it works straight on the packed runtime.
 */
import { Rng } from '../util/rng.js';
import { QueryBudgetExceeded, type Oracle } from './model.js';

export interface HsjOptions {
  /** Query budget for this image. */
  readonly budget: number;
  /** Initial number of gradient-estimation samples (grows as √t). Default 100. */
  readonly initialSamples?: number;
  /** Cap on samples per estimate. Default 1,000. */
  readonly maxSamples?: number;
  readonly gamma?: number;
  readonly seed?: number;
}

export interface HsjTrace {
  /** Whether any adversarial image was found within the budget. */
  readonly found: boolean;
  /** Best adversarial image (the clean image if none). */
  readonly adversarial: Float32Array;
  /** (queries used, L2 distance of the best adversarial so far) after each improvement. */
  readonly trajectory: { queries: number; l2: number }[];
  readonly queries: number;
}

function l2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

function blend(x: Float32Array, xa: Float32Array, alpha: number, out = new Float32Array(x.length)): Float32Array {
  for (let i = 0; i < x.length; i++) out[i] = (1 - alpha) * x[i]! + alpha * xa[i]!;
  return out;
}

export function hopSkipJump(oracle: Oracle, x: Float32Array, label: number, o: HsjOptions): HsjTrace {
  // D: the image's dimension, from the oracle's shape.
  const D = oracle.inputShape[0] * oracle.inputShape[1] * oracle.inputShape[2];
  if (x.length !== D) throw new RangeError(`hopSkipJump: the image has ${x.length} values, the model takes ${oracle.inputShape.join('×')} = ${D}`);
  const rng = new Rng(o.seed ?? 0);
  const start = oracle.queries;
  const used = () => oracle.queries - start;
  const left = () => o.budget - used();
  const trajectory: { queries: number; l2: number }[] = [];
  const theta = (o.gamma ?? 1) / (Math.sqrt(D) * D);
  const adversarial = (imgs: Float32Array, n: number): Uint8Array => {
    if (used() + n > o.budget) throw new QueryBudgetExceeded(o.budget);
    const labels = oracle.labels(imgs, n);
    return Uint8Array.from(labels, (l) => (l !== label ? 1 : 0));
  };
  let best: Float32Array | null = null;
  try {
    // 1. A starting point on the other side: uniform noise, blended toward x by binary search.
    for (let tries = 0; tries < 100 && !best; tries++) {
      const noise = Float32Array.from({ length: D }, () => rng.next());
      if (adversarial(noise, 1)[0]) best = noise;
    }
    if (!best) return { found: false, adversarial: x.slice(), trajectory, queries: used() };
    best = binarySearch(x, best, theta, adversarial, left);
    trajectory.push({ queries: used(), l2: l2(best, x) });
    // 2. Iterate: gradient-direction estimate, geometric step search, project to the boundary.
    for (let t = 1; ; t++) {
      const dist = l2(best, x);
      const delta = Math.sqrt(D) * theta * dist;
      const samples = Math.min(o.maxSamples ?? 1000, Math.ceil((o.initialSamples ?? 100) * Math.sqrt(t)));
      const batch = Math.min(samples, o.budget - used());
      if (batch < 2) break;
      const us = new Float32Array(batch * D);
      const probes = new Float32Array(batch * D);
      for (let b = 0; b < batch; b++) {
        let norm = 0;
        for (let i = 0; i < D; i++) norm += (us[b * D + i] = rng.normal()) ** 2;
        norm = Math.sqrt(norm);
        for (let i = 0; i < D; i++) {
          const u = (us[b * D + i] = us[b * D + i]! / norm);
          probes[b * D + i] = Math.min(1, Math.max(0, best[i]! + delta * u));
        }
      }
      const phi = adversarial(probes, batch);
      let mean = 0;
      for (const p of phi) mean += 2 * p - 1;
      mean /= batch;
      const v = new Float32Array(D);
      for (let b = 0; b < batch; b++) {
        const s = 2 * phi[b]! - 1 - (Math.abs(mean) === 1 ? 0 : mean);
        for (let i = 0; i < D; i++) v[i]! += s * us[b * D + i]!;
      }
      let vn = 0;
      for (let i = 0; i < D; i++) vn += v[i]! ** 2;
      vn = Math.sqrt(vn);
      if (vn === 0) continue;
      for (let i = 0; i < D; i++) v[i] = v[i]! / vn;
      let xi = dist / Math.sqrt(t);
      let candidate = new Float32Array(D);
      for (;;) {
        for (let i = 0; i < D; i++) candidate[i] = Math.min(1, Math.max(0, best[i]! + xi * v[i]!));
        if (adversarial(candidate, 1)[0]) break;
        xi /= 2;
        if (xi < 1e-8) {
          candidate = best.slice();
          break;
        }
      }
      const next = binarySearch(x, candidate, theta, adversarial, left);
      if (l2(next, x) < l2(best, x)) {
        best = next;
        trajectory.push({ queries: used(), l2: l2(best, x) });
      }
    }
  } catch (e) {
    if (!(e instanceof QueryBudgetExceeded)) throw e;
  }
  return best ? { found: true, adversarial: best, trajectory, queries: used() } : { found: false, adversarial: x.slice(), trajectory, queries: used() };
}

/**
 * Smallest blend of x toward an adversarial xa that is still adversarial (to tolerance θ, or as
 * close as the queries left allow: a search cut short still returns an adversarial point).
 */
function binarySearch(x: Float32Array, xa: Float32Array, theta: number, adversarial: (imgs: Float32Array, n: number) => Uint8Array, left: () => number): Float32Array {
  let lo = 0;
  let hi = 1;
  const probe = new Float32Array(x.length);
  while (hi - lo > theta && left() > 0) {
    const mid = (lo + hi) / 2;
    if (adversarial(blend(x, xa, mid, probe), 1)[0]) hi = mid;
    else lo = mid;
  }
  return blend(x, xa, hi);
}

/** L2 of the best adversarial found within `budget` queries (Infinity if none). */
export function l2AtBudget(trace: HsjTrace, budget: number): number {
  let best = Infinity;
  for (const p of trace.trajectory) if (p.queries <= budget) best = p.l2;
  return best;
}
