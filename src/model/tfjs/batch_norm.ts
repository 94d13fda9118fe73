/**
 * Batch normalization in training mode: y = γ·(x − μ)/√(σ² + ε) + β, with μ and σ² (biased) the
 * per-channel moments of x [n, h, w, c] over n, h and w.
 *
 * Why not tf.moments and broadcasting ops: tfjs-backend-wasm reduces only the innermost axis, so
 * each per-channel reduction of a channels-last activation first transposes the whole tensor —
 * twice in the moments, once per broadcast operand in the backward pass — and tf.mean's gradient
 * builds a full-size tensor of ones in JavaScript. Here the gradient is written out and every
 * per-channel reduction is a product xᵀ·v of the [nhw, c] activation with a constant column
 * (`rowMean`), which reads the activation where it lies.
 */
import { tf } from '../../tfjs/backend.js';

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

/** The batch moments a forward pass normalized with, for the moving averages. */
export interface ChannelMoments {
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
}

/**
 * Per-channel mean over the rows of x [m, c], as the product xᵀ·(1/m)1 reshaped to [1, c]. (In
 * the other order, 1ᵀx, XNNPACK would repack the activation as the "weights" at every call.)
 */
function rowMean(x: tf.Tensor2D): tf.Tensor2D {
  const [m, c] = x.shape;
  return tf.reshape(tf.matMul(x, tf.fill([m, 1], 1 / m) as tf.Tensor2D, true, false), [1, c]);
}

/**
 * Normalizes x with its own batch moments, scales by γ [c] (null: none) and adds β [c] (null:
 * none). `onMoments`, when given, receives the moments (kept: the receiver disposes them). The
 * gradient is the exact one of the formula: with x̂ = (x − μ)·r, r = 1/√(σ² + ε) and g = γ·dy,
 * dx = r·(g − mean(g) − x̂·mean(g·x̂)); dβ = Σ dy; dγ = Σ dy·x̂.
 */
export function batchNormalize(x: tf.Tensor4D, beta: tf.Tensor1D | null, gamma: tf.Tensor1D | null, epsilon: number, onMoments?: (m: ChannelMoments) => void): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const m = n * h * w;
  const f = tf.customGrad(((xIn: tf.Tensor, betaIn: tf.Tensor, gammaIn: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const { value, xHat, r, mean, variance } = tf.tidy(() => {
      const rows = tf.reshape(xIn, [m, c]) as tf.Tensor2D;
      const mean = rowMean(rows);
      const dev = tf.sub(rows, mean);
      const variance = rowMean(tf.square(dev) as tf.Tensor2D);
      const r = tf.rsqrt(tf.add(variance, epsilon));
      const xHat = tf.mul(dev, r);
      let y: tf.Tensor = gamma ? tf.mul(xHat, gammaIn) : xHat;
      if (beta) y = tf.add(y, betaIn);
      return { value: tf.reshape(y, [n, h, w, c]), xHat, r, mean, variance };
    });
    save([xHat, r, gammaIn]);
    if (onMoments) onMoments({ mean: tf.keep(tf.reshape(mean, [c])), variance: tf.keep(tf.reshape(variance, [c])) });
    tf.dispose([xHat, r, mean, variance]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gm] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const dyRows = tf.reshape(dy, [m, c]) as tf.Tensor2D;
        const g = gamma ? (tf.mul(dyRows, gm) as tf.Tensor2D) : dyRows;
        const gMean = rowMean(g);
        const gXhatMean = rowMean(tf.mul(g, xh) as tf.Tensor2D);
        const dx = tf.mul(tf.sub(tf.sub(g, gMean), tf.mul(xh, gXhatMean)), rs);
        const dBeta = tf.reshape(tf.mul(rowMean(dyRows), m), [c]);
        const dGamma = gamma ? tf.reshape(tf.mul(rowMean(tf.mul(dyRows, xh) as tf.Tensor2D), m), [c]) : tf.zerosLike(gm);
        return [tf.reshape(dx, [n, h, w, c]), beta ? dBeta : tf.zerosLike(dBeta), dGamma];
      },
    };
  }) as unknown as CustomGradientFunc) as (x: tf.Tensor, beta: tf.Tensor, gamma: tf.Tensor) => tf.Tensor4D;
  // (The constants are released with the caller's tidy scope.)
  return f(x, beta ?? tf.zeros([c]), gamma ?? tf.ones([c]));
}
