import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError, type Dataset } from './dataset.js';

/**
 * Reader for the IDX format of MNIST / Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
 * bytes 0–1 are zero, byte 2 the element type (0x08 = unsigned byte, the only one these data
 * sets use), byte 3 the number of dimensions, then one big-endian u32 per dimension, then the
 * elements. Files may be gzipped (detected by the gzip magic, not the name).
 */
export interface IdxArray {
  readonly dims: number[];
  readonly data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DataError(file, `corrupt gzip stream: ${(e as Error).message}`);
    }
  }
  if (bytes.length < 4) throw new DataError(file, `too short for an IDX header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(file, `not an IDX file: magic bytes ${hex(bytes[0]!)} ${hex(bytes[1]!)} at offset 0, expected 00 00`);
  }
  if (bytes[2] !== 0x08) {
    throw new DataError(file, `unsupported IDX element type ${hex(bytes[2]!)} at offset 2 (only 0x08, unsigned byte, is supported)`);
  }
  const ndim = bytes[3]!;
  if (ndim < 1 || ndim > 4) throw new DataError(file, `implausible number of dimensions ${ndim} at offset 3`);
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) throw new DataError(file, `truncated header: ${bytes.length} bytes, need ${headerLen}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const expected = headerLen + count;
  if (bytes.length !== expected) {
    throw new DataError(
      file,
      `size mismatch: header declares dims [${dims.join(', ')}] = ${count} elements (${expected} bytes), file has ${bytes.length} bytes` +
        (bytes.length < expected ? ' (truncated?)' : ' (trailing data?)'),
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

export function readIdxFile(file: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(file, code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}`);
  }
  return parseIdx(bytes, file);
}

/** Builds a Dataset from an IDX image file (n × 28 × 28) and its label file (n). */
export function idxDataset(imageFile: string, labelFile: string, name: string): Dataset {
  const img = readIdxFile(imageFile);
  const lab = readIdxFile(labelFile);
  if (img.dims.length !== 3) throw new DataError(imageFile, `expected 3 dimensions (n, rows, cols), got [${img.dims.join(', ')}]`);
  if (lab.dims.length !== 1) throw new DataError(labelFile, `expected 1 dimension (n), got [${lab.dims.join(', ')}]`);
  const [n, h, w] = img.dims as [number, number, number];
  if (h !== 28 || w !== 28) throw new DataError(imageFile, `expected 28×28 images, got ${h}×${w}`);
  if (lab.dims[0] !== n) throw new DataError(labelFile, `has ${lab.dims[0]} labels but ${imageFile} has ${n} images`);
  for (let i = 0; i < n; i++) {
    if (lab.data[i]! > 9) throw new DataError(labelFile, `label ${lab.data[i]} of item ${i} (byte offset ${12 + i}) is not a class in 0..9`);
  }
  const images = new Float32Array(n * h * w);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i]! / 255;
  return { name, n, height: h, width: w, channels: 1, images, labels: new Uint8Array(lab.data), classes: 10 };
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

/** The standard train/test split of an MNIST-format directory (60,000 / 10,000 for MNIST). */
export function loadIdxDirectory(dir: string): { train: Dataset; test: Dataset } {
  if (!existsSync(dir)) throw new DataError(dir, 'data directory not found');
  const train = idxDataset(findIdxFile(dir, STANDARD.trainImages), findIdxFile(dir, STANDARD.trainLabels), `${dir} [train]`);
  const test = idxDataset(findIdxFile(dir, STANDARD.testImages), findIdxFile(dir, STANDARD.testLabels), `${dir} [test]`);
  return { train, test };
}

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}
