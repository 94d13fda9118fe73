/**
 * FAB, L∞ (Croce & Hein, "Minimally distorted adversarial examples with a fast adaptive boundary
 * attack", ICML 2020): a minimum-norm attack. At each step it linearizes the decision boundary
 * between the true class and the closest other class (or a target class, FAB-T), projects both the
 * current point and the clean image onto that hyperplane within the pixel box, and moves to a
 * convex combination of the two projections biased towards the clean image (α ≤ α_max), with an
 * overshoot η. Whenever the point crosses the boundary it records it if it is the closest so far
 * and steps back towards the clean image (β), so the iterates hug the boundary and the distance
 * shrinks. The result per image is the smallest L∞ perturbation found: a distance, which is what
 * robust-accuracy-against-ε curves need, and at a given ε a success iff that distance is ≤ ε.
 *
 * The projection (minimal-L∞ move onto {w·δ = d} inside the box) is solved per image in JS:
 * g(t) = Σ |w_i| min(t, room_i) is piecewise linear in the L∞ radius t, found by bisection and
 * then solved exactly on its linear piece.
 */
import { tf } from '../tfjs/backend.js';
import { linfNorms } from './box.js';
import { batchesOf, gather, geometryOf, logitsOf, rankedTargets, remaining } from './batch.js';
import type { DifferentiableModel } from './model.js';

export interface FabOptions {
  /** Iterations per run. Default 100. */
  readonly iterations?: number;
  /** Runs; runs after the first start from a random point within min(best distance, ε)/2. Default 1. */
  readonly restarts?: number;
  /**
   * The L∞ radius of interest: FAB-T runs its later targets only on the images not yet fooled within
   * it, and restarts start within it where no adversarial is known yet. Default 0.3.
   */
  readonly eps?: number;
  /** FAB-T: one run against each of the top-k classes of the clean logits. Default: untargeted (closest boundary of all classes). */
  readonly targets?: number;
  readonly alphaMax?: number;
  readonly eta?: number;
  readonly beta?: number;
  /** Average logit differences and gradients over N forward passes (EOT). Default 1. */
  readonly eot?: number;
  readonly seed?: number;
  readonly batchSize?: number;
  readonly bounds?: readonly [number, number];
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FabOutcome {
  /** The closest adversarial image found per image; the clean image where none was. */
  readonly adversarial: Float32Array;
  /** 1 where an adversarial image (for the crafting model) was found. */
  readonly success: Uint8Array;
  /** Its L∞ distance from the clean image; Infinity where none was found (0 if misclassified already). */
  readonly linf: Float64Array;
  readonly zeroGradientFraction: number;
}

/**
 * The smallest-L∞ δ with w·δ = d and lower ≤ p + δ ≤ upper, written to `out`; where the box does not
 * reach the hyperplane, the box corner that gets closest. Returns ‖δ‖∞.
 */
export function projectLinfHyperplane(p: Float32Array, w: Float32Array, d: number, lower: ArrayLike<number>, upper: ArrayLike<number>, out: Float64Array): number {
  const D = p.length;
  const dir = d >= 0 ? 1 : -1;
  const target = Math.abs(d);
  const room = new Float64Array(D);
  let tmax = 0;
  for (let i = 0; i < D; i++) {
    const s = dir * Math.sign(w[i]!);
    room[i] = s > 0 ? Math.max(upper[i]! - p[i]!, 0) : s < 0 ? Math.max(p[i]! - lower[i]!, 0) : 0;
    if (s !== 0) tmax = Math.max(tmax, room[i]!);
  }
  const g = (t: number) => {
    let v = 0;
    for (let i = 0; i < D; i++) v += Math.abs(w[i]!) * Math.min(t, room[i]!);
    return v;
  };
  let t = tmax;
  if (target === 0) t = 0;
  else if (g(tmax) > target) {
    let a = 0;
    let b = tmax;
    for (let k = 0; k < 30; k++) {
      const m = (a + b) / 2;
      if (g(m) >= target) b = m;
      else a = m;
    }
    // g is linear between its breakpoints: solve on the piece that starts at a.
    let base = 0;
    let slope = 0;
    for (let i = 0; i < D; i++) {
      const aw = Math.abs(w[i]!);
      if (room[i]! > a) slope += aw;
      else base += aw * room[i]!;
    }
    const exact = slope > 0 ? (target - base) / slope : b;
    t = exact >= a && exact <= b ? exact : b;
  }
  let norm = 0;
  for (let i = 0; i < D; i++) {
    const s = dir * Math.sign(w[i]!);
    out[i] = s * Math.min(t, room[i]!);
    norm = Math.max(norm, Math.abs(out[i]!));
  }
  return norm;
}

type Settings = { iterations: number; alphaMax: number; eta: number; beta: number; eot: number; bounds: readonly [number, number]; eps: number };

/**
 * Logit differences f_k − f_y and their gradients at x for the classes k asked (one per image for
 * FAB-T; all classes otherwise): the batch is repeated once per class so one backward pass serves.
 */
function differences(model: DifferentiableModel, x: Float32Array, y: Int32Array, classesOf: Int32Array[], eot: number): { df: Float32Array[]; dg: Float32Array[][] } {
  const b = y.length;
  const k = classesOf[0]!.length;
  const px = x.length / b;
  const shape = [b * k, ...model.inputShape] as [number, number, number, number];
  const rep = new Float32Array(b * k * px);
  for (let i = 0; i < b; i++) for (let j = 0; j < k; j++) rep.set(x.subarray(i * px, (i + 1) * px), (i * k + j) * px);
  const sel = new Float32Array(b * k * model.classes);
  for (let i = 0; i < b; i++)
    for (let j = 0; j < k; j++) {
      sel[(i * k + j) * model.classes + classesOf[i]![j]!]! += 1;
      sel[(i * k + j) * model.classes + y[i]!]! -= 1;
    }
  const value = new Float32Array(b * k);
  const grad = new Float32Array(b * k * px);
  tf.tidy(() => {
    const xr = tf.tensor4d(rep, shape);
    const m = tf.tensor2d(sel, [b * k, model.classes]);
    const vg = tf.valueAndGrad((v: tf.Tensor4D) => tf.sum(tf.mul(model.logits(v), m), 1));
    for (let e = 0; e < eot; e++) {
      const r = vg(xr);
      const v = r.value.dataSync();
      const gr = r.grad.dataSync();
      for (let i = 0; i < v.length; i++) value[i]! += v[i]! / eot;
      for (let i = 0; i < gr.length; i++) grad[i]! += gr[i]! / eot;
    }
  });
  return {
    df: Array.from({ length: b }, (_, i) => value.subarray(i * k, (i + 1) * k)),
    dg: Array.from({ length: b }, (_, i) => Array.from({ length: k }, (_, j) => grad.subarray((i * k + j) * px, (i * k + j + 1) * px))),
  };
}

function predict(model: DifferentiableModel, x: Float32Array, b: number): Int32Array {
  return tf.tidy(() => tf.argMax(model.logits(tf.tensor4d(x, [b, ...model.inputShape])), 1).dataSync() as Int32Array);
}

/** One FAB run on one batch; improves best/bestNorm in place. Returns the images whose first gradient was all zero. */
function runBatch(model: DifferentiableModel, x0: Float32Array, y: Int32Array, classesOf: Int32Array[], s: Settings, start: Float32Array, best: Float32Array, bestNorm: Float64Array): number {
  const b = y.length;
  const px = x0.length / b;
  const [lo, hi] = s.bounds;
  const lower = new Float32Array(px).fill(lo);
  const upper = new Float32Array(px).fill(hi);
  const x1 = start.slice();
  const d1 = new Float64Array(px);
  const d0 = new Float64Array(px);
  let zero = 0;
  for (let it = 0; it < s.iterations; it++) {
    const { df, dg } = differences(model, x1, y, classesOf, s.eot);
    for (let i = 0; i < b; i++) {
      // The hyperplane nearest in the dual (L1) norm of the gradient: the closest boundary to first order.
      let pick = -1;
      let nearest = Infinity;
      for (let j = 0; j < classesOf[i]!.length; j++) {
        let l1 = 0;
        for (const v of dg[i]![j]!) l1 += Math.abs(v);
        const dist = Math.abs(df[i]![j]!) / (l1 + 1e-12);
        if (dist < nearest) (nearest = dist), (pick = j);
      }
      if (pick < 0) continue;
      const w = dg[i]![pick]!;
      if (it === 0 && w.every((v) => v === 0)) zero++;
      const c = df[i]![pick]!;
      const p1 = x1.subarray(i * px, (i + 1) * px);
      const p0 = x0.subarray(i * px, (i + 1) * px);
      let shift = 0;
      for (let q = 0; q < px; q++) shift += w[q]! * (p0[q]! - p1[q]!);
      const a1 = Math.max(projectLinfHyperplane(p1, w, -c, lower, upper, d1), 1e-8);
      const a0 = Math.max(projectLinfHyperplane(p0, w, -(c + shift), lower, upper, d0), 1e-8);
      const alpha = Math.min(Math.max(a1 / (a1 + a0), 0), s.alphaMax);
      for (let q = 0; q < px; q++) {
        const v = (p1[q]! + s.eta * d1[q]!) * (1 - alpha) + (p0[q]! + s.eta * d0[q]!) * alpha;
        p1[q] = Math.min(Math.max(v, lo), hi);
      }
    }
    const pred = predict(model, x1, b);
    const norms = linfNorms(x1, x0, b);
    for (let i = 0; i < b; i++) {
      if (pred[i] === y[i]) continue;
      if (norms[i]! < bestNorm[i]!) (bestNorm[i] = norms[i]!), best.set(x1.subarray(i * px, (i + 1) * px), i * px);
      // Step back towards the clean image: the next iterate starts just inside the boundary.
      for (let q = i * px; q < (i + 1) * px; q++) x1[q] = x0[q]! + (x1[q]! - x0[q]!) * s.beta;
    }
  }
  return zero;
}

/**
 * FAB (untargeted) or FAB-T (`targets`): the smallest L∞ adversarial perturbation found per image.
 * FAB-T runs each (image, target) pair as its own run, the pairs side by side in a batch (AutoAttack
 * runs the targets one after another; the distance found per image is the minimum either way).
 */
export function fab(model: DifferentiableModel, images: Float32Array, labels: Uint8Array, o: FabOptions = {}): FabOutcome {
  const n = labels.length;
  const { px, classes } = geometryOf(model, images, n);
  const s: Settings = { iterations: o.iterations ?? 100, alphaMax: o.alphaMax ?? 0.1, eta: o.eta ?? 1.05, beta: o.beta ?? 0.9, eot: o.eot ?? 1, bounds: o.bounds ?? [0, 1], eps: o.eps ?? 0.3 };
  const restarts = o.restarts ?? 1;
  const adversarial = images.slice();
  const linf = new Float64Array(n).fill(Infinity);
  // Images the crafting model already gets wrong are adversarial at distance 0.
  const clean = logitsOf(model, images, n);
  const ranked = rankedTargets(clean, labels, classes);
  for (let i = 0; i < n; i++) {
    let arg = 0;
    for (let j = 1; j < classes; j++) if (clean[i * classes + j]! > clean[i * classes + arg]!) arg = j;
    if (arg !== labels[i]) linf[i] = 0;
  }
  const targeted = o.targets !== undefined;
  const targets = Math.min(o.targets ?? 1, classes - 1);
  // Untargeted, each row carries all other classes (one replica each inside a step): fewer rows per batch.
  const batch = o.batchSize ?? (targeted ? 128 : Math.max(1, Math.floor(256 / (classes - 1))));
  let zero = 0;
  for (let r = 0; r < restarts; r++) {
    // FAB-T continues only the images not yet fooled within ε (AutoAttack's rule); untargeted restarts refine every distance.
    const idx = remaining(Uint8Array.from(linf, (d) => ((targeted ? d <= s.eps : d === 0) ? 1 : 0)));
    const rows = targeted ? idx.flatMap((i) => Array.from({ length: targets }, (_, t) => ({ i, cls: Int32Array.of(ranked[i]![t]!) }))) : idx.map((i) => ({ i, cls: ranked[i]! }));
    for (const [st, b] of batchesOf(rows.length, batch)) {
      const sub = rows.slice(st, st + b);
      const at = sub.map((row) => row.i);
      const x0 = gather(images, px, at);
      const start = r === 0 ? x0 : randomStart(x0, at.map((i) => Math.min(linf[i]!, s.eps)), s.bounds, (o.seed ?? 0) + 7919 * r + st);
      const best = gather(adversarial, px, at);
      const bestNorm = Float64Array.from(at, (i) => linf[i]!);
      const z = runBatch(model, x0, Int32Array.from(at, (i) => labels[i]!), sub.map((row) => row.cls), s, start, best, bestNorm);
      if (r === 0) zero += z / (targeted ? targets : 1);
      at.forEach((i, k) => {
        if (bestNorm[k]! < linf[i]!) (linf[i] = bestNorm[k]!), adversarial.set(best.subarray(k * px, (k + 1) * px), i * px);
      });
      o.onProgress?.(r * n + ((st + b) / rows.length) * idx.length + n - idx.length, restarts * n);
    }
  }
  return { adversarial, success: Uint8Array.from(linf, (d) => (d < Infinity ? 1 : 0)), linf, zeroGradientFraction: n ? zero / n : 0 };
}

/** FAB's restart: x0 plus uniform noise scaled to L∞ radius r/2 per image, clipped to the bounds. */
function randomStart(x0: Float32Array, radius: number[], [lo, hi]: readonly [number, number], seed: number): Float32Array {
  const b = radius.length;
  const px = x0.length / b;
  const t = tf.tidy(() => tf.randomUniform([b, px], -1, 1, 'float32', seed).dataSync() as Float32Array);
  const out = new Float32Array(x0.length);
  for (let i = 0; i < b; i++) {
    let m = 0;
    for (let q = i * px; q < (i + 1) * px; q++) m = Math.max(m, Math.abs(t[q]!));
    for (let q = i * px; q < (i + 1) * px; q++) out[q] = Math.min(Math.max(x0[q]! + (radius[i]! * t[q]!) / (2 * (m || 1)), lo), hi);
  }
  return out;
}
