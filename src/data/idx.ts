/**
 * Reader for the IDX format of MNIST, Fashion-MNIST and EMNIST (http://yann.lecun.com/exdb/mnist/):
 * bytes 0–1 are zero, byte 2 the element type (0x08 = unsigned byte, the only one these data
 * sets use), byte 3 the number of dimensions, then one big-endian u32 per dimension, then the
 * elements. Images are [n, rows, cols] (one channel) or [n, rows, cols, channels]. Files may be
 * gzipped (detected by the gzip magic, not the name): the header is inflated first, and the whole
 * file then with its output bounded to what the header declares, so a small gzip that inflates to
 * gigabytes is refused, not inflated.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { DataError, type Dataset } from './dataset.js';
import { MAX_DATA_FILE_BYTES, readDataFile } from './files.js';

export interface IdxArray {
  readonly dims: number[];
  readonly data: Uint8Array;
}

/** Largest image side and channel count an IDX image file may declare (the model graph's limits). */
const MAX_SIDE = 4096;
/** Most elements an IDX file may declare (CIFAR-10's training images are 1.5·10^8). */
export const MAX_IDX_ELEMENTS = 1 << 28;
const MAX_CHANNELS = 64;

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The header's dims and total size, from the first bytes of the (inflated) file. */
function readHeader(head: Uint8Array, file: string): { dims: number[]; headerLen: number; expected: number } {
  if (head.length < 4) throw new DataError(file, `too short for an IDX header (${head.length} bytes)`);
  if (head[0] !== 0 || head[1] !== 0) throw new DataError(file, `not an IDX file: magic bytes ${hex(head[0]!)} ${hex(head[1]!)} at offset 0, expected 00 00`);
  if (head[2] !== 0x08) throw new DataError(file, `unsupported IDX element type ${hex(head[2]!)} at offset 2 (only 0x08, unsigned byte, is supported)`);
  const ndim = head[3]!;
  if (ndim < 1 || ndim > 4) throw new DataError(file, `implausible number of dimensions ${ndim} at offset 3`);
  const headerLen = 4 + 4 * ndim;
  if (head.length < headerLen) throw new DataError(file, `truncated header: ${head.length} bytes, need ${headerLen}`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const expected = headerLen + count;
  // As float32 in memory an element takes 4 bytes: 2^28 of them is 1 GiB.
  if (count > MAX_IDX_ELEMENTS) throw new DataError(file, `header declares dims [${dims.join(', ')}] = ${count} elements, more than the ${MAX_IDX_ELEMENTS} a data set may have`);
  return { dims, headerLen, expected };
}

/**
 * Inflates just enough of a gzip stream to read the IDX header: growing prefixes of the compressed
 * bytes until 20 bytes come out (a prefix of k bytes inflates to at most ~1000·k).
 */
function inflateHead(bytes: Uint8Array, file: string): Uint8Array {
  for (let k = 256; ; k *= 8) {
    let out: Uint8Array;
    try {
      out = gunzipSync(bytes.subarray(0, Math.min(bytes.length, k)), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 1 << 24 });
    } catch (e) {
      throw new DataError(file, `corrupt gzip stream: ${(e as Error).message}`);
    }
    if (out.length >= 20 || k >= bytes.length) return out;
  }
}

export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (isGzip(bytes)) {
    const { expected } = readHeader(inflateHead(bytes, file), file);
    try {
      // One byte of room above the declared size: a longer stream is then an error, not a truncation.
      bytes = gunzipSync(bytes, { maxOutputLength: expected + 1 });
    } catch (e) {
      const tooLarge = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new DataError(file, tooLarge ? `inflates to more than the ${expected} bytes its header declares` : `corrupt gzip stream: ${(e as Error).message}`);
    }
  }
  const { dims, headerLen, expected } = readHeader(bytes, file);
  if (bytes.length !== expected) throw sizeMismatch(file, dims, headerLen, expected, bytes.length);
  return { dims, data: bytes.subarray(headerLen) };
}

function sizeMismatch(file: string, dims: number[], headerLen: number, expected: number, size: number): DataError {
  return new DataError(file, `size mismatch: header declares dims [${dims.join(', ')}] = ${expected - headerLen} elements (${expected} bytes), file has ${size} bytes` + (size < expected ? ' (truncated?)' : ' (trailing data?)'));
}

/** Reads an IDX file, checking its header before the body is read or inflated. */
export function readIdxFile(file: string): IdxArray {
  const head = readDataFile(file, MAX_DATA_FILE_BYTES, 64);
  // (A gzip's header is inflated from the whole file's bytes by parseIdx, its output bounded.)
  // A raw file's header says how long the file must be: check before reading it all.
  if (!isGzip(head)) {
    const { dims, headerLen, expected } = readHeader(head, file);
    const size = statSync(file).size;
    if (size !== expected) throw sizeMismatch(file, dims, headerLen, expected, size);
  }
  return parseIdx(readDataFile(file), file);
}

/** Builds a Dataset from an IDX image file ([n, rows, cols] or [n, rows, cols, channels]) and its label file ([n]). */
export function idxDataset(imageFile: string, labelFile: string, name: string, classNames?: readonly string[]): Dataset {
  const img = readIdxFile(imageFile);
  const lab = readIdxFile(labelFile);
  if (img.dims.length !== 3 && img.dims.length !== 4) throw new DataError(imageFile, `expected 3 or 4 dimensions (n, rows, cols[, channels]), got [${img.dims.join(', ')}]`);
  if (lab.dims.length !== 1) throw new DataError(labelFile, `expected 1 dimension (n), got [${lab.dims.join(', ')}]`);
  const [n, h, w, c = 1] = img.dims as [number, number, number, number?];
  if (h < 1 || w < 1 || h > MAX_SIDE || w > MAX_SIDE || c < 1 || c > MAX_CHANNELS) throw new DataError(imageFile, `images of ${h}×${w}×${c}: sides must be 1–${MAX_SIDE}, channels 1–${MAX_CHANNELS}`);
  if (lab.dims[0] !== n) throw new DataError(labelFile, `has ${lab.dims[0]} labels but ${imageFile} has ${n} images`);
  const limit = classNames ? classNames.length : 256;
  let classes = 0;
  for (let i = 0; i < n; i++) {
    const l = lab.data[i]!;
    if (l >= limit) throw new DataError(labelFile, `label ${l} of item ${i} (byte offset ${8 + i}) is not a class in 0..${limit - 1}`);
    classes = Math.max(classes, l + 1);
  }
  const images = new Float32Array(n * h * w * c);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i]! / 255;
  return { name, n, height: h, width: w, channels: c, images, labels: new Uint8Array(lab.data), classes: classNames?.length ?? classes, ...(classNames ? { classNames } : {}) };
}

const STANDARD = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Finds a standard IDX file in `dir`, gzipped or not (also accepts the `-idx3.ubyte` spelling). */
export function findIdxFile(dir: string, base: string): string {
  const candidates = [base, `${base}.gz`, base.replace(/-idx(\d)-ubyte$/, '-idx$1.ubyte'), base.replace(/-idx(\d)-ubyte$/, '-idx$1.ubyte') + '.gz'];
  for (const c of candidates) {
    const p = join(dir, c);
    if (existsSync(p)) return p;
  }
  throw new DataError(join(dir, base), `missing: expected one of ${candidates.join(', ')} in ${dir}`);
}

/**
 * The standard train/test split of an MNIST-format directory (60,000 / 10,000 for MNIST). With
 * `testOnly`, the training files are not read (an empty training set stands in). Both splits get
 * the larger class count of the two.
 */
export function loadIdxDirectory(dir: string, opts: { testOnly?: boolean; classNames?: readonly string[] } = {}): { train: Dataset; test: Dataset } {
  if (!existsSync(dir)) throw new DataError(dir, 'data directory not found');
  const test = idxDataset(findIdxFile(dir, STANDARD.testImages), findIdxFile(dir, STANDARD.testLabels), `${dir} [test]`, opts.classNames);
  const train = opts.testOnly ? emptyLike(test, `${dir} [train, not loaded]`) : idxDataset(findIdxFile(dir, STANDARD.trainImages), findIdxFile(dir, STANDARD.trainLabels), `${dir} [train]`, opts.classNames);
  const classes = Math.max(train.classes, test.classes);
  return { train: { ...train, classes }, test: { ...test, classes } };
}

/** A data set of no images with another's shape and classes. */
export function emptyLike(d: Dataset, name: string): Dataset {
  return { ...d, name, n: 0, images: new Float32Array(0), labels: new Uint8Array(0) };
}

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}
