/** Labels and accuracy of any tfjs graph variant (training graph, checkpoint, rebuilt .bnn), batched. */
import { tf } from '../../tfjs/backend.js';
import type { Dataset } from '../../data/dataset.js';
import type { Shape3 } from '../graph.js';

/** A function from images [n, H, W, C] to logits [n, classes] (any graph variant). */
export type LogitsFn = (x: tf.Tensor4D) => tf.Tensor2D;

/** Argmax labels of `images` (n × H·W·C values), computed in batches. */
export function predictLabels(logits: LogitsFn, images: Float32Array, n: number, shape: Shape3, batchSize = 256): Int32Array {
  const [h, w, c] = shape;
  const px = h * w * c;
  if (images.length !== n * px) throw new RangeError(`predictLabels: ${images.length} values are not ${n} images of ${h}×${w}×${c}`);
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const labels = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * px, (start + b) * px), [b, h, w, c]);
      return tf.argMax(logits(x), 1).dataSync();
    });
    out.set(labels, start);
  }
  return out;
}

/** Fraction of `data` classified correctly. */
export function accuracy(logits: LogitsFn, data: Dataset, batchSize = 256): number {
  const pred = predictLabels(logits, data.images, data.n, [data.height, data.width, data.channels], batchSize);
  let ok = 0;
  for (let i = 0; i < data.n; i++) if (pred[i] === data.labels[i]) ok++;
  return ok / data.n;
}
