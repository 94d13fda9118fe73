/**
 * The models as TensorFlow.js graphs. One trunk walker (`forward`) serves training, evaluation
 * of checkpoints, and the graph rebuilt from a .bnn for white-box attacks; what differs between
 * them is only how a binary layer binarizes its input and which weights it uses, passed in as a
 * `LayerOps` strategy.
 */
import { tf } from '../tfjs/backend.js';
import type { ConvLayerSpec, ModelSpec } from './spec.js';

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

/**
 * 1 where x > 0, else 0 (NaN stays NaN), as float32. The graphs compare through tf.step, never
 * tf.less / greater / sign: tfjs-backend-wasm runs those in a generic loop, 7 to 20 times slower
 * than its unary ops at K = 256. For finite a, b: a < b exactly when positive(b − a) = 1.
 */
export function positive(x: tf.Tensor): tf.Tensor {
  return tf.step(x, 0);
}

/** ±1 with the bnn-edge convention sign(0) = +1 (bit 0 ↔ +1, bit 1 ↔ −1, as the sign bit); NaN stays NaN. */
export function binarize(x: tf.Tensor): tf.Tensor {
  // −step(−x, −1), with step(v, α) = v > 0 ? 1 : α (see `positive`).
  return tf.tidy(() => tf.neg(tf.step(tf.neg(x), -1)));
}

/**
 * sign with the straight-through gradient of the paper's code: the incoming gradient, clipped
 * to [−1, 1], passes through unchanged.
 */
export const signSte = tf.customGrad(((x: tf.Tensor) => ({
  value: binarize(x),
  gradFunc: (dy: tf.Tensor) => tf.clipByValue(dy, -1, 1),
})) as unknown as CustomGradientFunc) as (x: tf.Tensor) => tf.Tensor;

/** ±1 ~ Bernoulli(p): +1 where u < p for u uniform in [0, 1) drawn from `seed`. */
export function sampleSigns(p: tf.Tensor, seed: number): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.mul(2, positive(tf.sub(p, tf.randomUniform(p.shape, 0, 1, 'float32', seed)))), 1));
}

/**
 * Weights resampled as ±1 ~ Bernoulli(p), p = clip((w+1)/2, 0, 1) (model S). E[w_b] = clip(w,
 * −1, 1), so the straight-through gradient is the clipped incoming gradient where |w| < 1.
 */
export function bernoulliSte(w: tf.Tensor, seed: number): tf.Tensor {
  const f = tf.customGrad(((v: tf.Tensor) => {
    const value = tf.tidy(() => sampleSigns(tf.clipByValue(tf.div(tf.add(v, 1), 2), 0, 1), seed));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => tf.tidy(() => tf.mul(tf.clipByValue(dy, -1, 1), tf.sub(1, positive(tf.sub(tf.abs(v), 1))))),
    };
  }) as unknown as CustomGradientFunc) as (v: tf.Tensor) => tf.Tensor;
  return f(w);
}

/** How one variant of the graph treats the layers (training, checkpoint eval, deployed .bnn). */
export interface LayerOps {
  /** The weight tensor a layer convolves / multiplies with (float, sign(w), or sampled ±1). */
  weights(layerName: string): tf.Tensor;
  /**
   * ±1 input of a binary layer, from the previous layer's output `post` = scale·relu(pre) or its
   * pre-activation `pre` (the deployed graph folds relu, scale and batch norm into a threshold
   * on `pre`).
   */
  binarizeInput(layer: ConvLayerSpec, pre: tf.Tensor4D, post: tf.Tensor4D): tf.Tensor4D;
  /** The trainable SReLU scalar of a scaled layer. */
  scale(layerName: string): tf.Tensor;
  /** The per-channel bias of a layer with one (model R). */
  bias(layerName: string): tf.Tensor;
  /** Transforms the image before the first layer (the deployed graph's u8 quantization). */
  prepareInput?(x: tf.Tensor4D): tf.Tensor4D;
}

/** Logits [n, classes] for images x [n, 28, 28, 1]. */
export function forward(spec: ModelSpec, ops: LayerOps, x: tf.Tensor4D): tf.Tensor2D {
  let pre: tf.Tensor4D = x;
  let post: tf.Tensor4D = ops.prepareInput ? ops.prepareInput(x) : x;
  for (const layer of spec.layers) {
    if (layer.kind === 'dense') {
      const flat = tf.reshape(post, [post.shape[0], -1]) as tf.Tensor2D;
      const logits: tf.Tensor2D = tf.matMul(flat, ops.weights(layer.name) as tf.Tensor2D);
      return layer.bias ? tf.add<tf.Tensor2D>(logits, ops.bias(layer.name)) : logits;
    }
    const input = layer.binary ? ops.binarizeInput(layer, pre, post) : post;
    pre = tf.conv2d(input, ops.weights(layer.name) as tf.Tensor4D, layer.stride, layer.padding);
    if (layer.bias) pre = tf.add(pre, ops.bias(layer.name)) as tf.Tensor4D;
    post = tf.relu(pre);
    if (layer.scaled) post = tf.mul(post, ops.scale(layer.name));
  }
  throw new Error(`model ${spec.arch}${spec.k} has no dense output layer`);
}
