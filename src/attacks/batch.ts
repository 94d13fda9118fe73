/**
 * Pieces the AutoAttack family (APGD, FAB, Square, the ensemble) shares: the model's geometry
 * checked against the images given, subsets of images gathered into and scattered out of flat
 * arrays (later attacks and restarts only work on the images still standing), and the target
 * classes of the targeted attacks.
 */
import { tf } from '../tfjs/backend.js';
import type { ModelShape } from './model.js';

/** Pixels per image, the [H, W, C] shape and the class count; throws if images are not n of them. */
export function geometryOf(model: ModelShape & { readonly name?: string }, images: Float32Array, n: number): { px: number; shape: [number, number, number]; classes: number } {
  const shape = [...model.inputShape] as [number, number, number];
  const px = shape[0] * shape[1] * shape[2];
  if (images.length !== n * px) throw new RangeError(`${model.name ?? 'the model'} takes ${shape.join('×')} images: ${images.length} values are not ${n} of them`);
  return { px, shape, classes: model.classes };
}

/** The images at `idx`, packed into one flat array. */
export function gather(images: Float32Array, px: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * px);
  for (let k = 0; k < idx.length; k++) out.set(images.subarray(idx[k]! * px, (idx[k]! + 1) * px), k * px);
  return out;
}

/** Writes packed images back to their places `idx` in `into`. */
export function scatter(into: Float32Array, packed: Float32Array, px: number, idx: ArrayLike<number>): void {
  for (let k = 0; k < idx.length; k++) into.set(packed.subarray(k * px, (k + 1) * px), idx[k]! * px);
}

/** Indices where mask[i] is 0. */
export function remaining(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (!mask[i]) out.push(i);
  return out;
}

/** [start, size] of each batch of n. */
export function batchesOf(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(size, n - s)]);
  return out;
}

/**
 * For each image, the classes other than its label ranked by logit, highest first
 * ([n][classes − 1]): APGD-T and FAB-T aim at the k-th of them in their k-th run, as AutoAttack
 * ranks targets by the clean logits.
 */
export function rankedTargets(logits: Float32Array, labels: ArrayLike<number>, classes: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    const others = Array.from({ length: classes }, (_, j) => j).filter((j) => j !== labels[i]);
    others.sort((a, b) => row[b]! - row[a]! || a - b);
    out.push(Int32Array.from(others));
  }
  return out;
}

/** Logits of n images from a tfjs model, batched (one forward pass each; a stochastic model samples once per batch). */
export function logitsOf(model: { logits(x: tf.Tensor4D): tf.Tensor2D; readonly inputShape: readonly [number, number, number]; readonly classes: number }, images: Float32Array, n: number, batchSize = 256): Float32Array {
  const [h, w, c] = model.inputShape;
  const px = h * w * c;
  const out = new Float32Array(n * model.classes);
  for (const [s, b] of batchesOf(n, batchSize)) out.set(tf.tidy(() => model.logits(tf.tensor4d(images.subarray(s * px, (s + b) * px), [b, h, w, c])).dataSync()), s * model.classes);
  return out;
}
