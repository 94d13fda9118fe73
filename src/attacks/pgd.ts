/**
 * The L∞ projected-gradient step every sign-gradient attack shares (Madry et al.): the ε-ball
 * intersected with the pixel bounds, its uniform random start, and x ← Π(x + step · sign(g)).
 * FGSM is one step of size ε from the clean image; white-box PGD (whitebox.ts) and adversarial
 * training (train/shard.ts) build on the same pieces.
 */
import { tf } from '../tfjs/backend.js';

/** Options of an L∞ projected-gradient attack. */
export interface PgdOptions {
  /** L∞ radius. */
  readonly eps: number;
  /** Step size per iteration. */
  readonly step: number;
  readonly steps: number;
  /** Start from a uniform random point of the eps-ball (Madry) instead of the clean image. */
  readonly randomStart: boolean;
  /** Seed of the random start. */
  readonly seed: number;
  /** Pixel bounds; default [0, 1]. */
  readonly bounds?: readonly [number, number];
}

/** The feasible box around x0: B∞(x0, eps) ∩ [lo, hi]. */
export interface LinfBox {
  readonly lower: tf.Tensor4D;
  readonly upper: tf.Tensor4D;
}

export function linfBox(x0: tf.Tensor4D, eps: number, [lo, hi]: readonly [number, number] = [0, 1]): LinfBox {
  return tf.tidy(() => ({ lower: tf.maximum(tf.sub(x0, eps), lo) as tf.Tensor4D, upper: tf.minimum(tf.add(x0, eps), hi) as tf.Tensor4D }));
}

/** Madry's random start: x0 plus uniform noise in [−ε, ε], clipped to the box (so the box's faces are drawn more often than its inside). */
export function randomStart(x0: tf.Tensor4D, eps: number, box: LinfBox, seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.minimum(tf.maximum(tf.add(x0, tf.randomUniform(x0.shape, -eps, eps, 'float32', seed)), box.lower), box.upper) as tf.Tensor4D);
}

/** One ascent step: Π_box(x + step · sign(g)). */
export function linfStep(x: tf.Tensor4D, g: tf.Tensor4D, step: number, box: LinfBox): tf.Tensor4D {
  return tf.tidy(() => tf.minimum(tf.maximum(tf.add(x, tf.mul(step, tf.sign(g))), box.lower), box.upper) as tf.Tensor4D);
}

/**
 * L∞ PGD: repeat x ← Π_{B∞(x0, eps) ∩ bounds}(x + step · sign(∇ₓ loss)). `loss` must return a
 * scalar to maximize (e.g. the summed attack loss of loss.ts).
 */
export function pgdLinf(loss: (x: tf.Tensor4D) => tf.Scalar, x0: tf.Tensor4D, opts: PgdOptions): tf.Tensor4D {
  const grad = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor4D));
  return tf.tidy(() => {
    const box = linfBox(x0, opts.eps, opts.bounds);
    let x: tf.Tensor4D = opts.randomStart ? randomStart(x0, opts.eps, box, opts.seed) : x0;
    for (let i = 0; i < opts.steps; i++) {
      const next = tf.tidy(() => linfStep(x, grad(x) as tf.Tensor4D, opts.step, box));
      if (x !== x0) x.dispose();
      x = next;
    }
    return x;
  });
}
