/**
 * White-box attacks on a differentiable model (the tfjs graph rebuilt from a .bnn, where sign is
 * crossed by its straight-through gradient — BPDA). Batched, in [0, 1] with clipping; each returns
 * the adversarial images as a flat Float32Array so the same inputs can be replayed on the packed
 * runtime.
 *
 * - L∞ PGD / BIM (Madry et al.): random start, restarts; FGSM is one step of size ε from x.
 * - EOT: for stochastic models the gradient is averaged over N forward passes.
 * - Carlini–Wagner L2: tanh change of variables, Adam, binary search over c, confidence κ.
 * - Temperature: logits divided by T before the loss (spreads the loss over more classes).
 * - Loss: the cross-entropy direction computed without float32 saturation by default (loss.ts).
 */
import { tf } from '../tfjs/backend.js';
import { attackLoss, type AttackLoss } from './loss.js';
import { linfBox, linfStep, randomStart } from './pgd.js';
import type { DifferentiableModel, Labels } from './model.js';

export interface AttackOutcome {
  /** n adversarial images in [0, 1], flat (the clean image where an attack found nothing). */
  readonly adversarial: Float32Array;
  /** 1 where the crafting model misclassifies the adversarial image. */
  readonly success: Uint8Array;
  /** L2 norm of each perturbation. */
  readonly l2: Float32Array;
  /** Share of images whose loss gradient was exactly zero at the start (gradient masking). */
  readonly zeroGradientFraction: number;
  /** CW: iteration (1-based, counted over all search steps) of each image's first success; 0 if none. */
  readonly firstSuccess?: Int32Array;
}

export interface CommonOptions {
  readonly batchSize?: number;
  /** Divide logits by T before the loss. Default 1. */
  readonly temperature?: number;
  /** Loss of the L∞ attacks (see loss.ts). Default 'ce': cross-entropy's direction, computed exactly. */
  readonly loss?: AttackLoss;
  /** Average the gradient over N forward passes (EOT; for stochastic models). Default 1. */
  readonly eot?: number;
  readonly seed?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface LinfOptions extends CommonOptions {
  readonly eps: number;
  readonly step: number;
  readonly steps: number;
  readonly randomStart: boolean;
  readonly restarts?: number;
}

export interface CwOptions extends CommonOptions {
  readonly binarySteps: number;
  readonly iterations: number;
  readonly learningRate: number;
  readonly initialConst: number;
  readonly confidence: number;
}

/** The paper's CW setting: 1 search step, lr 0.1, c = 10, 100 iterations. */
export const CW_PAPER: Omit<CwOptions, keyof CommonOptions> = { binarySteps: 1, iterations: 100, learningRate: 0.1, initialConst: 10, confidence: 0 };
/**
 * A stronger default: 6 search steps from c = 1, 100 iterations each at lr 0.1. The step size
 * matters more than the iterations: pixels at 0 or 1 sit at |w| ≈ 7.3 in tanh space, which lr 0.01
 * cannot leave in a few hundred steps (on b64 that setting fooled 37 of 40 images at mean L2 1.23;
 * this one 40 of 40 at 0.67, in half the iterations).
 */
export const CW_STRONG: Omit<CwOptions, keyof CommonOptions> = { binarySteps: 6, iterations: 100, learningRate: 0.1, initialConst: 1, confidence: 0 };

function scaled(model: DifferentiableModel, temperature: number): (x: tf.Tensor4D) => tf.Tensor2D {
  return temperature === 1 ? (x) => model.logits(x) : (x) => tf.div(model.logits(x), temperature) as tf.Tensor2D;
}

/** ∇ₓ Σ loss(logits(x)/T, y), averaged over `eot` forward passes. */
function lossGradient(model: DifferentiableModel, x: tf.Tensor4D, onehot: tf.Tensor2D, temperature: number, eot: number, loss: AttackLoss): tf.Tensor4D {
  const logits = scaled(model, temperature);
  const g = tf.grad((v: tf.Tensor) => tf.sum(attackLoss(loss, logits(v as tf.Tensor4D), onehot)));
  return tf.tidy(() => {
    let sum = g(x) as tf.Tensor4D;
    for (let i = 1; i < eot; i++) sum = tf.add(sum, g(x)) as tf.Tensor4D;
    return eot > 1 ? (tf.div(sum, eot) as tf.Tensor4D) : sum;
  });
}

/** The model's image shape and class count, checked against the images given. */
function geometry(model: DifferentiableModel, images: Float32Array, n: number): { px: number; shape: [number, number, number]; classes: number } {
  const shape = [...model.inputShape] as [number, number, number];
  const px = shape[0] * shape[1] * shape[2];
  if (images.length !== n * px) throw new RangeError(`${model.name} takes ${shape.join('×')} images: ${images.length} values are not ${n} of them`);
  return { px, shape, classes: model.classes };
}

function batches(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(size, n - s)]);
  return out;
}

function l2Norms(adv: Float32Array, clean: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const px = adv.length / n;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * px; j < (i + 1) * px; j++) s += (adv[j]! - clean[j]!) ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** L∞ PGD with random start and restarts; FGSM when steps = 1, step = ε, no random start. */
export function pgd(model: DifferentiableModel, images: Float32Array, labels: Labels, o: LinfOptions): AttackOutcome {
  const n = labels.length;
  const { px, shape, classes } = geometry(model, images, n);
  const temperature = o.temperature ?? 1;
  const eot = o.eot ?? 1;
  const restarts = o.restarts ?? 1;
  const adversarial = new Float32Array(images.length);
  const success = new Uint8Array(n);
  let zeroGrad = 0;
  for (const [start, b] of batches(n, o.batchSize ?? 128)) {
    tf.tidy(() => {
      const x0 = tf.tensor4d(images.subarray(start * px, (start + b) * px), [b, ...shape]);
      const y = tf.tensor1d(Int32Array.from(labels.subarray(start, start + b)), 'int32');
      const onehot = tf.oneHot(y, classes) as tf.Tensor2D;
      const box = linfBox(x0, o.eps);
      let best = x0;
      let fooled = tf.zeros([b], 'bool');
      for (let r = 0; r < restarts; r++) {
        let x: tf.Tensor4D = o.randomStart ? randomStart(x0, o.eps, box, (o.seed ?? 0) + 7919 * r + start) : x0;
        for (let s = 0; s < o.steps; s++) {
          const next = tf.tidy(() => {
            const g = lossGradient(model, x, onehot, temperature, eot, o.loss ?? 'ce');
            if (r === 0 && s === 0) zeroGrad += tf.sum(tf.cast(tf.equal(tf.max(tf.abs(g), [1, 2, 3]), 0), 'int32')).dataSync()[0]!;
            return linfStep(x, g, o.step, box);
          });
          if (x !== x0) x.dispose();
          x = next;
        }
        const wrong = tf.notEqual(tf.argMax(model.logits(x), 1), y);
        // Keep the first restart that fools the model; otherwise the latest attempt.
        best = tf.where(tf.reshape(tf.logicalNot(fooled), [b, 1, 1, 1]), x, best) as tf.Tensor4D;
        fooled = tf.logicalOr(fooled, wrong);
      }
      adversarial.set(best.dataSync(), start * px);
      success.set(fooled.dataSync(), start);
    });
    o.onProgress?.(start + b, n);
  }
  return { adversarial, success, l2: l2Norms(adversarial, images, n), zeroGradientFraction: zeroGrad / n };
}

/** FGSM (Goodfellow et al.): x + ε · sign(∇ₓ loss), clipped to [0, 1]. */
export function fgsm(model: DifferentiableModel, images: Float32Array, labels: Labels, eps: number, o: CommonOptions = {}): AttackOutcome {
  return pgd(model, images, labels, { ...o, eps, step: eps, steps: 1, randomStart: false, restarts: 1 });
}

/**
 * Carlini–Wagner L2 (untargeted): minimize ‖x' − x‖² + c · max(Z_y − max_{i≠y} Z_i + κ, 0) over
 * x' = (tanh(w) + 1)/2 with Adam, binary-searching c per image. Returns the smallest successful
 * perturbation found (the clean image where none was).
 */
export function carliniWagnerL2(model: DifferentiableModel, images: Float32Array, labels: Labels, o: CwOptions): AttackOutcome {
  const n = labels.length;
  const { px, shape, classes } = geometry(model, images, n);
  const temperature = o.temperature ?? 1;
  const eot = o.eot ?? 1;
  const logitsOf = scaled(model, temperature);
  const adversarial = images.slice();
  const success = new Uint8Array(n);
  const bestL2 = new Float32Array(n).fill(Infinity);
  const firstSuccess = new Int32Array(n);
  for (const [start, b] of batches(n, o.batchSize ?? 128)) {
    const clean = images.subarray(start * px, (start + b) * px);
    const lab = labels.subarray(start, start + b);
    const c = new Float32Array(b).fill(o.initialConst);
    const lo = new Float32Array(b);
    const hi = new Float32Array(b).fill(Infinity);
    const x0 = tf.tensor4d(clean, [b, ...shape]);
    const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(lab), 'int32'), classes));
    const w0 = tf.tidy(() => tf.atanh(tf.mul(tf.sub(tf.mul(x0, 2), 1), 0.999999)));
    for (let bs = 0; bs < o.binarySteps; bs++) {
      const found = new Uint8Array(b);
      let w = tf.clone(w0);
      let m = tf.zerosLike(w0);
      let v = tf.zerosLike(w0);
      const cT = tf.tensor1d(c);
      const objective = (wv: tf.Tensor) =>
        tf.tidy(() => {
          const xa = tf.div(tf.add(tf.tanh(wv), 1), 2) as tf.Tensor4D;
          const z = logitsOf(xa);
          const real = tf.sum(tf.mul(z, onehot), 1);
          // The mask must exceed any logit gap (temperature < 1 widens them), as in loss.ts.
          const other = tf.max(tf.sub(z, tf.mul(onehot, 1e30)), 1);
          const f = tf.relu(tf.add(tf.sub(real, other), o.confidence));
          const dist = tf.sum(tf.square(tf.sub(xa, x0)), [1, 2, 3]);
          return tf.sum(tf.add(dist, tf.mul(cT, f))) as tf.Scalar;
        });
      const grad = tf.grad(objective);
      for (let it = 1; it <= o.iterations; it++) {
        const [nw, nm, nv] = tf.tidy(() => {
          let g = grad(w);
          for (let e = 1; e < eot; e++) g = tf.add(g, grad(w));
          if (eot > 1) g = tf.div(g, eot);
          const m1 = tf.add(tf.mul(m, 0.9), tf.mul(g, 0.1));
          const v1 = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 0.001));
          const lr = (o.learningRate * Math.sqrt(1 - 0.999 ** it)) / (1 - 0.9 ** it);
          return [tf.sub(w, tf.div(tf.mul(m1, lr), tf.add(tf.sqrt(v1), 1e-8))), m1, v1];
        });
        tf.dispose([w, m, v]);
        [w, m, v] = [nw!, nm!, nv!];
        // Record successes (checked on one forward pass, as the model would be queried).
        const [xa, pred] = tf.tidy(() => {
          const xa = tf.div(tf.add(tf.tanh(w), 1), 2);
          return [xa.dataSync() as Float32Array, tf.argMax(model.logits(xa as tf.Tensor4D), 1).dataSync()];
        });
        for (let i = 0; i < b; i++) {
          if (pred![i] === lab[i]) continue;
          let s = 0;
          for (let j = i * px; j < (i + 1) * px; j++) s += (xa![j]! - clean[j]!) ** 2;
          found[i] = 1;
          const g = start + i;
          if (!firstSuccess[g]) firstSuccess[g] = bs * o.iterations + it;
          if (s < bestL2[g]! ** 2) {
            bestL2[g] = Math.sqrt(s);
            success[g] = 1;
            adversarial.set(xa!.subarray(i * px, (i + 1) * px), g * px);
          }
        }
      }
      tf.dispose([w, m, v, cT]);
      for (let i = 0; i < b; i++) {
        if (found[i]) {
          hi[i] = Math.min(hi[i]!, c[i]!);
          c[i] = (lo[i]! + hi[i]!) / 2;
        } else {
          lo[i] = Math.max(lo[i]!, c[i]!);
          c[i] = hi[i]! < Infinity ? (lo[i]! + hi[i]!) / 2 : c[i]! * 10;
        }
      }
    }
    tf.dispose([x0, onehot, w0]);
    o.onProgress?.(start + b, n);
  }
  return { adversarial, success, l2: l2Norms(adversarial, images, n), zeroGradientFraction: 0, firstSuccess };
}

/**
 * Mean L2 over the successful images only (NaN when none succeeded); with `among`, only over the
 * images it marks (e.g. those the model classified correctly before the attack).
 */
export function meanSuccessfulL2(r: Pick<AttackOutcome, 'success' | 'l2'>, among?: ArrayLike<number>): number {
  let s = 0;
  let k = 0;
  for (let i = 0; i < r.success.length; i++) {
    if (r.success[i] && (!among || among[i])) {
      s += r.l2[i]!;
      k++;
    }
  }
  return k ? s / k : NaN;
}
