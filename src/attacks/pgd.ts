import { tf } from '../tfjs/backend.js';

/** Options of an L∞ projected-gradient attack (Madry et al.). */
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

/**
 * L∞ PGD: repeat x ← Π_{B∞(x0, eps) ∩ bounds}(x + step · sign(∇ₓ loss)). `loss` must return a
 * scalar to maximize (e.g. summed cross-entropy with the true labels). FGSM is one step of
 * size eps from the clean image.
 */
export function pgdLinf(loss: (x: tf.Tensor4D) => tf.Scalar, x0: tf.Tensor4D, opts: PgdOptions): tf.Tensor4D {
  const [lo, hi] = opts.bounds ?? [0, 1];
  const grad = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor4D));
  return tf.tidy(() => {
    const lower = tf.maximum(tf.sub(x0, opts.eps), lo);
    const upper = tf.minimum(tf.add(x0, opts.eps), hi);
    let x: tf.Tensor4D = opts.randomStart ? (tf.clipByValue(tf.add(x0, tf.randomUniform(x0.shape, -opts.eps, opts.eps, 'float32', opts.seed)), lo, hi) as tf.Tensor4D) : x0;
    for (let i = 0; i < opts.steps; i++) {
      const next = tf.tidy(() => {
        const g = grad(x);
        return tf.minimum(tf.maximum(tf.add(x, tf.mul(opts.step, tf.sign(g))), lower), upper) as tf.Tensor4D;
      });
      if (x !== x0) x.dispose();
      x = next;
    }
    return x;
  });
}
