/**
 * APGD (Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
 * parameter-free attacks", ICML 2020), L∞: projected gradient ascent whose step size is not a
 * parameter. It starts at 2ε, takes sign-gradient steps with momentum 0.75, and at checkpoints
 * w_j (p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06) of the iterations)
 * halves the step and restarts from the best point of an image when its loss rose in fewer than
 * ρ = 0.75 of the steps since the last checkpoint, or when neither the step nor the best loss
 * changed since then. Nothing is tuned per model, which is why its numbers compare across models.
 *
 * APGD-CE ascends cross-entropy (as loss.ts 'ce': the same value ordering and gradient direction,
 * without float32 saturation); APGD-DLR the DLR loss; APGD-T the targeted DLR loss against the
 * top-k classes of the clean logits, one run per target. The step schedule follows the authors'
 * code (the checkpoint interval starts at 22% of the iterations and shrinks by 3% to at least 6%),
 * with one difference kept from the paper's text: the "no progress" condition can already halve
 * the step at the first checkpoint, where the authors' code starts it switched off. It fires only
 * where the best loss has not risen since the start, which the ρ test almost always catches too.
 */
import { tf } from '../tfjs/backend.js';
import { attackLoss, targetedDlrLoss } from './loss.js';
import { exactLinfBox, linfNorms } from './box.js';
import { batchesOf, gather, geometryOf, logitsOf, rankedTargets, remaining } from './batch.js';
import type { DifferentiableModel } from './model.js';
import type { AttackOutcome } from './whitebox.js';

export interface ApgdOptions {
  /** L∞ radius. */
  readonly eps: number;
  /** Iterations per run. Default 100. */
  readonly iterations?: number;
  /** Runs per image (per target for APGD-T), each from a random start, on the images not yet fooled. Default 1. */
  readonly restarts?: number;
  /** Untargeted loss. Default 'ce'. */
  readonly loss?: 'ce' | 'dlr';
  /** APGD-T: attack the top-k classes of the clean logits, one run each. Default 9 (capped at classes − 1). */
  readonly targets?: number;
  /** Momentum α. Default 0.75. */
  readonly momentum?: number;
  /** Share of loss increases between checkpoints below which the step is halved. Default 0.75. */
  readonly rho?: number;
  /** Average loss and gradient over N forward passes (EOT, for stochastic models). Default 1. */
  readonly eot?: number;
  readonly seed?: number;
  readonly batchSize?: number;
  /** Pixel bounds; default [0, 1]. */
  readonly bounds?: readonly [number, number];
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ApgdOutcome extends AttackOutcome {
  /** Forward pass (1-based over all runs; each run makes iterations + 1) at which the crafting model was first fooled; 0 if never. */
  readonly firstSuccess: Int32Array;
  /** L∞ norm of each perturbation (≤ ε exactly). */
  readonly linf: Float64Array;
  /** Forward passes per run (iterations + 1) and runs made: firstSuccess's scale. */
  readonly passesPerRun: number;
  readonly runs: number;
}

type Settings = Required<Pick<ApgdOptions, 'eps' | 'iterations' | 'momentum' | 'rho' | 'eot' | 'bounds'>> & { loss: 'ce' | 'dlr' };

/** Checkpoint schedule state of the authors' code: interval, its decrement and its floor. */
function schedule(iterations: number): { first: number; decrement: number; floor: number } {
  return { first: Math.max(Math.floor(0.22 * iterations), 1), decrement: Math.max(Math.floor(0.03 * iterations), 1), floor: Math.max(Math.floor(0.06 * iterations), 1) };
}

/**
 * The iterations (1-based) after which APGD checks its progress, w_j = ⌈p_j · N⌉ of the paper
 * (N = 100: 22, 41, 57, 70, 80, 87, 93, 99), computed as the loop below steps through them.
 */
export function apgdCheckpoints(iterations: number): number[] {
  const s = schedule(iterations);
  const out: number[] = [];
  for (let at = 0, interval = s.first; at + interval <= iterations; interval = Math.max(interval - s.decrement, s.floor)) out.push((at += interval));
  return out;
}

/** One APGD run on one batch: the first fooling point per image, else its highest-loss point. */
function runBatch(model: DifferentiableModel, x0a: Float32Array, y: Int32Array, target: Int32Array | null, s: Settings, seed: number): { adversarial: Float32Array; fooledAt: Int32Array; zeroGradient: number } {
  const b = y.length;
  const shape = [b, ...model.inputShape] as [number, number, number, number];
  const px = x0a.length / b;
  const box = exactLinfBox(x0a, s.eps, s.bounds);
  const lo = tf.tensor4d(box.lower, shape);
  const hi = tf.tensor4d(box.upper, shape);
  const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), model.classes) as tf.Tensor2D);
  const toward = target ? tf.tidy(() => tf.oneHot(tf.tensor1d(target, 'int32'), model.classes) as tf.Tensor2D) : null;
  const project = (t: tf.Tensor): tf.Tensor4D => tf.minimum(tf.maximum(t, lo), hi) as tf.Tensor4D;
  const holder: { pred: Int32Array } = { pred: new Int32Array(b) as Int32Array };
  const vg = tf.valueAndGrad((v: tf.Tensor4D) => {
    const z = model.logits(v);
    holder.pred = tf.argMax(z, 1).dataSync() as Int32Array;
    return toward ? targetedDlrLoss(z, onehot, toward) : attackLoss(s.loss, z, onehot);
  });
  // Loss per image averaged over EOT samples, the gradient summed (only its sign is used), labels from the first sample.
  const evaluate = (x: tf.Tensor4D): { loss: Float32Array; grad: tf.Tensor4D; pred: Int32Array } => {
    const loss = new Float32Array(b);
    let grad: tf.Tensor4D | null = null;
    let pred: Int32Array = new Int32Array(b);
    for (let e = 0; e < s.eot; e++) {
      const r = vg(x);
      const v = r.value.dataSync();
      for (let i = 0; i < b; i++) loss[i]! += v[i]! / s.eot;
      r.value.dispose();
      if (e === 0) pred = holder.pred;
      if (grad) {
        const sum = tf.add(grad, r.grad) as tf.Tensor4D;
        tf.dispose([grad, r.grad]);
        grad = sum;
      } else grad = r.grad;
    }
    return { loss, grad: grad!, pred };
  };
  const adversarial = new Float32Array(x0a.length);
  const fooledAt = new Int32Array(b);
  const record = (x: tf.Tensor4D, pred: Int32Array, pass: number) => {
    let data: Float32Array | null = null;
    for (let i = 0; i < b; i++) {
      if (fooledAt[i] || pred[i] === y[i]) continue;
      data ??= x.dataSync() as Float32Array;
      fooledAt[i] = pass;
      adversarial.set(data.subarray(i * px, (i + 1) * px), i * px);
    }
  };
  // Random start on the ball's surface (the authors' init), clipped to the box.
  let x = tf.tidy(() => {
    const t = tf.randomUniform(shape, -1, 1, 'float32', seed);
    return project(tf.add(tf.tensor4d(x0a, shape), tf.mul(s.eps, tf.div(t, tf.max(tf.abs(t), [1, 2, 3], true)))));
  });
  let { loss, grad, pred } = evaluate(x);
  const zeroGradient = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.max(tf.abs(grad), [1, 2, 3]), 0), 'int32')).dataSync()[0]!);
  record(x, pred, 1);
  let xPrev = x;
  let xBest = x;
  let gradBest = grad;
  // x, its predecessor and the best point often share a tensor: free one only when no slot holds it.
  const drop = (...old: tf.Tensor[]) => {
    for (const t of old) if (!([x, xPrev, xBest, grad, gradBest] as tf.Tensor[]).includes(t) && !t.isDisposed) t.dispose();
  };
  const lossBest = loss.slice();
  const step = new Float32Array(b).fill(2 * s.eps);
  let stepT = tf.tensor4d(step, [b, 1, 1, 1]);
  const trace: Float32Array[] = [loss];
  const sched = schedule(s.iterations);
  let interval = sched.first;
  let sinceCheck = 0;
  let lossBestAtCheck = lossBest.slice();
  const reducedAtCheck = new Uint8Array(b);
  for (let it = 0; it < s.iterations; it++) {
    const a = it > 0 ? s.momentum : 1;
    const next = tf.tidy(() => {
      const z = project(tf.add(x, tf.mul(stepT, tf.sign(grad))));
      return project(tf.add(tf.add(x, tf.mul(a, tf.sub(z, x))), tf.mul(1 - a, tf.sub(x, xPrev))));
    });
    const [oldPrev, oldGrad] = [xPrev, grad];
    xPrev = x;
    x = next;
    ({ loss, grad, pred } = evaluate(x));
    drop(oldPrev, oldGrad);
    record(x, pred, it + 2);
    trace.push(loss);
    const improved = new Uint8Array(b);
    let anyImproved = false;
    for (let i = 0; i < b; i++) if (loss[i]! > lossBest[i]!) (improved[i] = 1), (lossBest[i] = loss[i]!), (anyImproved = true);
    if (anyImproved) {
      const [ob, og] = [xBest, gradBest];
      [xBest, gradBest] = tf.tidy(() => {
        const m = tf.tensor4d(improved, [b, 1, 1, 1], 'bool');
        return [tf.where(m, x, xBest) as tf.Tensor4D, tf.where(m, grad, gradBest) as tf.Tensor4D];
      });
      drop(ob, og);
    }
    if (++sinceCheck < interval) continue;
    // Checkpoint: halve the step and go back to the best point where progress stalled.
    const reduce = new Uint8Array(b);
    let anyReduced = false;
    for (let i = 0; i < b; i++) {
      let rises = 0;
      for (let k = trace.length - interval; k < trace.length; k++) if (trace[k]![i]! > trace[k - 1]![i]!) rises++;
      const oscillating = rises <= interval * s.rho;
      const stalled = !reducedAtCheck[i] && lossBestAtCheck[i]! >= lossBest[i]!;
      reduce[i] = reducedAtCheck[i] = oscillating || stalled ? 1 : 0;
      if (reduce[i]) (step[i] = step[i]! / 2), (anyReduced = true);
    }
    lossBestAtCheck = lossBest.slice();
    sinceCheck = 0;
    interval = Math.max(interval - sched.decrement, sched.floor);
    if (!anyReduced) continue;
    const [ox, og] = [x, grad];
    [x, grad] = tf.tidy(() => {
      const m = tf.tensor4d(reduce, [b, 1, 1, 1], 'bool');
      return [tf.where(m, xBest, x) as tf.Tensor4D, tf.where(m, gradBest, grad) as tf.Tensor4D];
    });
    drop(ox, og);
    stepT.dispose();
    stepT = tf.tensor4d(step, [b, 1, 1, 1]);
  }
  const best = xBest.dataSync() as Float32Array;
  for (let i = 0; i < b; i++) if (!fooledAt[i]) adversarial.set(best.subarray(i * px, (i + 1) * px), i * px);
  tf.dispose([...new Set([x, xPrev, xBest, grad, gradBest, stepT, lo, hi, onehot, ...(toward ? [toward] : [])])]);
  return { adversarial, fooledAt, zeroGradient };
}

/** One APGD run over the images at `idx` (not yet fooled), in batches; merges into the outcome arrays. */
function runOver(model: DifferentiableModel, images: Float32Array, labels: Uint8Array, idx: number[], targetOf: ((i: number) => number) | null, s: Settings, o: ApgdOptions, run: number, out: { adversarial: Float32Array; firstSuccess: Int32Array; hasBest: Uint8Array }, progress: (d: number) => void): number {
  const { px } = geometryOf(model, images, labels.length);
  let zero = 0;
  for (const [start, b] of batchesOf(idx.length, o.batchSize ?? 128)) {
    const sub = idx.slice(start, start + b);
    const r = runBatch(model, gather(images, px, sub), Int32Array.from(sub, (i) => labels[i]!), targetOf ? Int32Array.from(sub, targetOf) : null, s, (o.seed ?? 0) + 7919 * run + start);
    zero += r.zeroGradient;
    sub.forEach((i, k) => {
      if (r.fooledAt[k]) out.firstSuccess[i] = run * (s.iterations + 1) + r.fooledAt[k]!;
      // A fooling point always wins; otherwise keep the first run's highest-loss point.
      if (r.fooledAt[k] || !out.hasBest[i]) out.adversarial.set(r.adversarial.subarray(k * px, (k + 1) * px), i * px), (out.hasBest[i] = 1);
    });
    progress(start + b);
  }
  return zero;
}

function settings(o: ApgdOptions): Settings {
  const iterations = o.iterations ?? 100;
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`APGD iterations must be a positive integer, got ${iterations}`);
  return { eps: o.eps, iterations, momentum: o.momentum ?? 0.75, rho: o.rho ?? 0.75, eot: o.eot ?? 1, bounds: o.bounds ?? [0, 1], loss: o.loss ?? 'ce' };
}

function finish(images: Float32Array, labels: Uint8Array, out: { adversarial: Float32Array; firstSuccess: Int32Array }, zero: number, s: Settings, runs: number): ApgdOutcome {
  const n = labels.length;
  const linf = linfNorms(out.adversarial, images, n);
  const l2 = new Float32Array(n);
  const px = images.length / n;
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let j = i * px; j < (i + 1) * px; j++) q += (out.adversarial[j]! - images[j]!) ** 2;
    l2[i] = Math.sqrt(q);
  }
  return { adversarial: out.adversarial, success: Uint8Array.from(out.firstSuccess, (f) => (f > 0 ? 1 : 0)), l2, linf, zeroGradientFraction: n ? zero / n : 0, firstSuccess: out.firstSuccess, passesPerRun: s.iterations + 1, runs };
}

/** APGD-CE (or APGD-DLR with loss 'dlr'): untargeted, `restarts` runs on the images not yet fooled. */
export function apgd(model: DifferentiableModel, images: Float32Array, labels: Uint8Array, o: ApgdOptions): ApgdOutcome {
  const n = labels.length;
  geometryOf(model, images, n);
  const s = settings(o);
  const restarts = o.restarts ?? 1;
  const out = { adversarial: images.slice(), firstSuccess: new Int32Array(n), hasBest: new Uint8Array(n) };
  let zero = 0;
  for (let r = 0; r < restarts; r++) {
    const idx = remaining(Uint8Array.from(out.firstSuccess, (f) => (f > 0 ? 1 : 0)));
    const z = runOver(model, images, labels, idx, null, s, o, r, out, (d) => o.onProgress?.(r * n + n - idx.length + d, restarts * n));
    if (r === 0) zero = z;
  }
  return finish(images, labels, out, zero, s, restarts);
}

/**
 * APGD-T: targeted DLR against each of the top-k other classes of the clean logits. AutoAttack runs
 * the targets one after another on the images not yet fooled; here every (image, target) pair is
 * its own run and the pairs of an image run side by side in one batch. Which images fall is the
 * same (an image is fooled when any of its targets fools it), and a batch stays full when only a
 * few hard images remain, where one-target-at-a-time would make 9 × 100 small sequential steps.
 */
export function apgdTargeted(model: DifferentiableModel, images: Float32Array, labels: Uint8Array, o: ApgdOptions): ApgdOutcome {
  const n = labels.length;
  const { px, classes } = geometryOf(model, images, n);
  const s = settings(o);
  const targets = Math.min(o.targets ?? 9, classes - 1);
  const restarts = o.restarts ?? 1;
  const ranked = rankedTargets(logitsOf(model, images, n), labels, classes);
  const out = { adversarial: images.slice(), firstSuccess: new Int32Array(n), hasBest: new Uint8Array(n) };
  let zero = 0;
  for (let r = 0; r < restarts; r++) {
    const idx = remaining(Uint8Array.from(out.firstSuccess, (f) => (f > 0 ? 1 : 0)));
    const rows = idx.flatMap((i) => Array.from({ length: targets }, (_, t) => [i, t] as const));
    const passes = new Int32Array(n);
    for (const [start, b] of batchesOf(rows.length, o.batchSize ?? 128)) {
      const sub = rows.slice(start, start + b);
      const res = runBatch(model, gather(images, px, sub.map(([i]) => i)), Int32Array.from(sub, ([i]) => labels[i]!), Int32Array.from(sub, ([i, t]) => ranked[i]![t]!), s, (o.seed ?? 0) + 7919 * r + start);
      if (r === 0) zero += res.zeroGradient / targets;
      sub.forEach(([i, t], k) => {
        const at = res.fooledAt[k]!;
        // The earliest-fooling target's image wins; an image no target fooled keeps its first target's highest-loss point.
        if (at && (!passes[i] || at < passes[i]!)) (passes[i] = at), out.adversarial.set(res.adversarial.subarray(k * px, (k + 1) * px), i * px);
        else if (!at && t === 0 && !passes[i] && !out.hasBest[i]) out.adversarial.set(res.adversarial.subarray(k * px, (k + 1) * px), i * px);
        if (t === 0) out.hasBest[i] = 1;
      });
      o.onProgress?.(r * rows.length + start + b, restarts * rows.length);
    }
    for (const i of idx) if (passes[i]) out.firstSuccess[i] = r * (s.iterations + 1) + passes[i]!;
  }
  return finish(images, labels, out, zero, s, restarts);
}
