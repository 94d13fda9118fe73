import { tf } from '../tfjs/backend.js';
import type { Dataset } from '../data/dataset.js';

/** A function from images [n, 28, 28, 1] to logits [n, classes] (any graph variant). */
export type LogitsFn = (x: tf.Tensor4D) => tf.Tensor2D;

/** Argmax labels of `images` (n × 784 pixels), computed in batches. */
export function predictLabels(logits: LogitsFn, images: Float32Array, n: number, batchSize = 256): Int32Array {
  const px = images.length / n;
  const side = Math.sqrt(px);
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const labels = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * px, (start + b) * px), [b, side, side, 1]);
      return tf.argMax(logits(x), 1).dataSync();
    });
    out.set(labels, start);
  }
  return out;
}

/** Fraction of `data` classified correctly. */
export function accuracy(logits: LogitsFn, data: Dataset, batchSize = 256): number {
  const pred = predictLabels(logits, data.images, data.n, batchSize);
  let ok = 0;
  for (let i = 0; i < data.n; i++) if (pred[i] === data.labels[i]) ok++;
  return ok / data.n;
}
