/**
 * A user's own images: a folder with one sub-folder of PNG or JPEG files per class
 * (`DIR/cat/*.png`, `DIR/dog/*.jpg`), or `DIR/train/<class>/…` and `DIR/test/<class>/…` for a
 * given split. Class names are the folder names, sorted; hidden files and folders are not data.
 * Decoding is pngjs's and jpeg-js's (a JPEG turned upright by its EXIF orientation, transparency
 * over black: what `classify` sees); every file's size and declared image dimensions are checked
 * before it is decoded. All images must have the same height and width; they load as one channel
 * when every image is gray, else three.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataError, type Dataset } from './dataset.js';
import { applyOrientation, jpegOrientation } from './exif.js';
import { readDataFile } from './files.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);
/** Image files this loader does not decode: refused by name rather than skipped without a word. */
const OTHER_IMAGE_EXTENSIONS = new Set(['.webp', '.gif', '.bmp', '.tif', '.tiff', '.avif', '.heic', '.heif']);
/** Hidden files and folders (.DS_Store, macOS's ._x.png, .ipynb_checkpoints) and zip tools' __MACOSX are not data. */
const visible = (name: string) => !name.startsWith('.') && name !== '__MACOSX';
/** Bounds on what a folder may ask of memory: maxValues (float32 pixel values per split, 1 GiB) as the IDX reader's 2^28 elements. */
export const FOLDER_LIMITS = { maxFileBytes: 32 << 20, maxSide: 4096, maxImages: 1_000_000, maxValues: 1 << 28 } as const;

interface Decoded {
  readonly width: number;
  readonly height: number;
  /** RGBA, 8 bits per channel. */
  readonly rgba: Uint8Array;
}

/** Channels of each PNG colour type (grey, RGB, palette, grey+alpha, RGBA). */
const PNG_CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7's passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * A PNG's size as its one IHDR declares it, checked before pngjs decodes it: the chunks are walked
 * (a second IHDR could declare another size), and the image data is inflated with its output
 * bounded by what the header allows, so a small file cannot inflate to gigabytes.
 */
function checkPng(bytes: Uint8Array, file: string, tooLarge: (w: number, h: number) => boolean): [number, number] {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 33 || sig.some((b, i) => bytes[i] !== b)) throw new DataError(file, 'not a PNG file (signature differs)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at: number) => String.fromCharCode(...bytes.subarray(at + 4, at + 8));
  if (type(8) !== 'IHDR' || view.getUint32(8, false) !== 13) throw new DataError(file, 'not a PNG file (IHDR is not its first chunk)');
  const [w, h, depth, colour, interlace] = [view.getUint32(16, false), view.getUint32(20, false), bytes[24]!, bytes[25]!, bytes[28]!];
  if (tooLarge(w, h)) throw new DataError(file, `a ${w}×${h} image: sides must be 1–${FOLDER_LIMITS.maxSide}`);
  const channels = PNG_CHANNELS[colour];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(depth) || interlace > 1) throw new DataError(file, `not a PNG pngjs reads (colour type ${colour}, bit depth ${depth}, interlace ${interlace})`);
  const rowBytes = (width: number) => 1 + Math.ceil((width * channels * depth) / 8);
  let expected = 0;
  if (interlace === 0) expected = h * rowBytes(w);
  else
    for (const [x0, y0, dx, dy] of ADAM7) {
      const pw = Math.ceil((w - x0) / dx);
      const ph = Math.ceil((h - y0) / dy);
      if (pw > 0 && ph > 0) expected += ph * rowBytes(pw);
    }
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 12 <= bytes.length; ) {
    const len = view.getUint32(at, false);
    if (at + 12 + len > bytes.length) break; // pngjs reports the truncation
    if (at > 8 && type(at) === 'IHDR') throw new DataError(file, `a second IHDR chunk at byte ${at}`);
    if (type(at) === 'IDAT') idat.push(bytes.subarray(at + 8, at + 8 + len));
    if (type(at) === 'IEND') break;
    at += 12 + len;
  }
  try {
    inflateSync(Buffer.concat(idat), { maxOutputLength: Math.max(1, expected) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new DataError(file, `its image data inflates past the ${expected} bytes a ${w}×${h} image holds`);
    // Other zlib errors are pngjs's to report.
  }
  return [w, h];
}

export function decodeImage(file: string): Decoded {
  const bytes = readDataFile(file, FOLDER_LIMITS.maxFileBytes);
  const ext = extname(file).toLowerCase();
  const tooLarge = (w: number, h: number) => w < 1 || h < 1 || w > FOLDER_LIMITS.maxSide || h > FOLDER_LIMITS.maxSide;
  try {
    if (ext === '.png') {
      const [w, h] = checkPng(bytes, file, tooLarge);
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      if (png.width !== w || png.height !== h) throw new DataError(file, `decoded as ${png.width}×${png.height}, its header says ${w}×${h}`);
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    const maxMegapixels = (FOLDER_LIMITS.maxSide * FOLDER_LIMITS.maxSide) / 1e6;
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxMegapixels, maxMemoryUsageInMB: 256 });
    if (tooLarge(img.width, img.height)) throw new DataError(file, `a ${img.width}×${img.height} image: sides must be 1–${FOLDER_LIMITS.maxSide}`);
    return applyOrientation({ width: img.width, height: img.height, rgba: img.data }, jpegOrientation(bytes));
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(file, `cannot decode ${ext.slice(1).toUpperCase()}: ${(e as Error).message}`);
  }
}

/** A folder's visible entries, sorted by code point. */
function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter(visible).sort();
  } catch (e) {
    throw new DataError(dir, `cannot list: ${(e as Error).message}`);
  }
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** Whether `dir` holds PNG or JPEG files itself (not in class folders). */
export function holdsLooseImages(dir: string): boolean {
  return isDir(dir) && listDir(dir).some((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()) && !isDir(join(dir, f)));
}

/** Whether `dir` looks like an image folder (class sub-folders holding images, or train/ and test/ of them). */
export function isImageFolder(dir: string): boolean {
  if (!isDir(dir)) return false;
  const root = isDir(join(dir, 'train')) && isDir(join(dir, 'test')) ? join(dir, 'train') : dir;
  return listDir(root).some((c) => isDir(join(root, c)) && listDir(join(root, c)).some((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())));
}

interface Decoded_ {
  readonly files: { file: string; label: number }[];
  readonly images: Decoded[];
  readonly gray: boolean;
  readonly first: { file: string; width: number; height: number };
}

/** Decodes the images of one folder of class folders, with the class names given (so both splits share them). */
function decodeClasses(root: string, classNames: readonly string[], size?: Decoded_['first']): Decoded_ {
  const files: { file: string; label: number }[] = [];
  classNames.forEach((c, label) => {
    const dir = join(root, c);
    if (!isDir(dir)) return;
    const before = files.length;
    for (const f of listDir(dir)) {
      const ext = extname(f).toLowerCase();
      if (IMAGE_EXTENSIONS.has(ext)) files.push({ file: join(dir, f), label });
      else if (OTHER_IMAGE_EXTENSIONS.has(ext)) throw new DataError(join(dir, f), `${ext.slice(1).toUpperCase()} is not read in image folders (PNG or JPEG): convert it, or move it out`);
    }
    if (!size && files.length === before) throw new DataError(dir, `class folder "${c}" has no PNG or JPEG images`);
    if (files.length > FOLDER_LIMITS.maxImages) throw new DataError(root, `more than ${FOLDER_LIMITS.maxImages} images`);
  });
  if (!files.length) throw new DataError(root, `no PNG or JPEG images in class folders ${classNames.join(', ')}`);
  let first = size ?? null;
  const images: Decoded[] = [];
  let gray = true;
  for (const { file } of files) {
    const d = decodeImage(file);
    first ??= { file, width: d.width, height: d.height };
    if (d.width !== first.width || d.height !== first.height) throw new DataError(file, `is ${d.width}×${d.height}, but ${first.file} is ${first.width}×${first.height}: all images must have one size`);
    if (files.length * d.width * d.height * 3 > FOLDER_LIMITS.maxValues) throw new DataError(root, `${files.length} images of ${d.width}×${d.height} are more than ${FOLDER_LIMITS.maxValues} values`);
    for (let i = 0; gray && i < d.rgba.length; i += 4) gray = d.rgba[i + 3] === 0 || (d.rgba[i] === d.rgba[i + 1] && d.rgba[i] === d.rgba[i + 2]);
    images.push(d);
  }
  return { files, images, gray, first: first! };
}

function toDataset(d: Decoded_, channels: number, classNames: readonly string[], name: string): Dataset {
  const { width: w, height: h } = d.first;
  const c = channels;
  const images = new Float32Array(d.files.length * h * w * c);
  d.images.forEach((img, i) => {
    // Transparency over black, as `classify` flattens it by default.
    for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) images[(i * h * w + p) * c + ch] = (img.rgba[4 * p + ch]! * img.rgba[4 * p + 3]!) / (255 * 255);
  });
  return { name, n: d.files.length, height: h, width: w, channels: c, images, labels: Uint8Array.from(d.files, (f) => f.label), classes: classNames.length, classNames };
}

/**
 * The train/test split of an image folder: DIR/train and DIR/test when both exist, else every
 * image of DIR as `train`, for the caller to split. Class names come from the training folder (or
 * DIR); both splits have one channel if all their images are gray, else three.
 */
export function loadImageFolder(dir: string): { train: Dataset; test: Dataset | null } {
  const { root, split, classNames } = imageFolderClasses(dir);
  const train = decodeClasses(root, classNames);
  if (split) {
    const unknown = listDir(join(dir, 'test')).filter((c) => isDir(join(dir, 'test', c)) && !classNames.includes(c));
    if (unknown.length) throw new DataError(join(dir, 'test'), `class folders ${unknown.join(', ')} are not in ${root}: every test class needs training images`);
  }
  const test = split ? decodeClasses(join(dir, 'test'), classNames, train.first) : null;
  const channels = train.gray && (test?.gray ?? true) ? 1 : 3;
  return { train: toDataset(train, channels, classNames, `${root} [images]`), test: test ? toDataset(test, channels, classNames, `${join(dir, 'test')} [images]`) : null };
}

/** An image folder's class names (its class folders, sorted; label i is the i-th) and where they are. */
export function imageFolderClasses(dir: string): { root: string; split: boolean; classNames: string[] } {
  if (!isDir(dir)) throw new DataError(dir, 'data directory not found');
  const split = isDir(join(dir, 'train')) && isDir(join(dir, 'test'));
  const root = split ? join(dir, 'train') : dir;
  const classNames = listDir(root).filter((c) => isDir(join(root, c)));
  if (classNames.length < 2) throw new DataError(root, `needs at least two class folders, found ${classNames.length}`);
  if (classNames.length > 256) throw new DataError(root, `${classNames.length} class folders; at most 256 classes`);
  return { root, split, classNames };
}
