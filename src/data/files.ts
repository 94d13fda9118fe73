/**
 * Reading data files with bounds (util/fs.ts's readBoundedFile: regular files only, at most a given
 * size), failing with a DataError. Every loader reads through here.
 */
import { FileReadError, readBoundedFile } from '../util/fs.js';
import { DataError } from './dataset.js';

/** Largest data file read whole (compressed or not): the full MNIST training images are 47 MB. */
export const MAX_DATA_FILE_BYTES = 1 << 30;

/** The first `n` bytes of the file (all of it when n ≥ its size), if it is a regular file of at most `maxBytes`. */
export function readDataFile(path: string, maxBytes = MAX_DATA_FILE_BYTES, n = Infinity): Uint8Array {
  try {
    return readBoundedFile(path, maxBytes, n);
  } catch (e) {
    if (e instanceof FileReadError) throw new DataError(e.file, e.reason);
    throw e;
  }
}
