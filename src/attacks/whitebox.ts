/**
 * White-box attacks on a differentiable logits function (the tfjs graph rebuilt from a .bnn).
 * They return adversarial images as a flat Float32Array in [0, 1], batch by batch, so the same
 * inputs can be replayed on the packed runtime.
 */
import { tf } from '../tfjs/backend.js';
import type { LogitsFn } from '../model/predict.js';
import { pgdLinf, type PgdOptions } from './pgd.js';

export interface CraftOptions {
  readonly batchSize?: number;
  /** Called after each batch with the number of images done. */
  readonly onProgress?: (done: number) => void;
}

/** Summed cross-entropy of the true labels: the loss the attacks maximize. */
function crossEntropyLoss(logits: LogitsFn, labels: tf.Tensor1D): (x: tf.Tensor4D) => tf.Scalar {
  return (x) => tf.mul(tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 10), logits(x)), labels.shape[0]) as tf.Scalar;
}

/** L∞ PGD (FGSM when steps = 1, step = eps, no random start) over a whole image set. */
export function craftLinf(logits: LogitsFn, images: Float32Array, labels: Uint8Array, pgd: Omit<PgdOptions, 'seed'> & { seed?: number }, opts: CraftOptions = {}): Float32Array {
  const n = labels.length;
  const batch = opts.batchSize ?? 128;
  const out = new Float32Array(images.length);
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const adv = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * 784, (start + b) * 784), [b, 28, 28, 1]);
      const y = tf.tensor1d(Int32Array.from(labels.subarray(start, start + b)), 'int32');
      return pgdLinf(crossEntropyLoss(logits, y), x, { ...pgd, seed: (pgd.seed ?? 0) + start }).dataSync() as Float32Array;
    });
    out.set(adv, start * 784);
    opts.onProgress?.(start + b);
  }
  return out;
}

/** FGSM (Goodfellow et al.): one signed-gradient step of size eps. */
export function fgsm(logits: LogitsFn, images: Float32Array, labels: Uint8Array, eps: number, opts: CraftOptions = {}): Float32Array {
  return craftLinf(logits, images, labels, { eps, step: eps, steps: 1, randomStart: false }, opts);
}
