/**
 * One image file (PNG, JPEG, WebP, GIF, TIFF, …) as a model's input: decoded, transparency laid
 * over a background, resized to H×W and converted to C channels by sharp (libvips), then scaled
 * to [0, 1] as H×W×C floats. sharp is loaded only here, when an image is read.
 */
import { DataError } from './dataset.js';
import { readDataFile } from './files.js';

/** How the image is fitted to the model's H×W: stretched, letterboxed, or cropped to fill. */
export type ImageFit = 'fill' | 'contain' | 'cover';
export const IMAGE_FITS: readonly ImageFit[] = ['fill', 'contain', 'cover'];

export interface ReadImageOptions {
  readonly fit?: ImageFit;
  /** Background for transparency and letterboxing: 0 black (MNIST's), 1 white. */
  readonly background?: 0 | 1;
  /** 1 − x after scaling: dark strokes on light paper become MNIST's light on dark. */
  readonly invert?: boolean;
}

/** The largest image file read, and the most pixels decoded (a decompression bomb is refused). */
export const IMAGE_LIMITS = { fileBytes: 64 << 20, pixels: 64e6 } as const;

type Sharp = typeof import('sharp');

let sharpModule: Promise<Sharp> | undefined;

async function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then(
    (m) => m.default,
    (e: unknown) => {
      sharpModule = undefined;
      throw new Error(`the image library sharp did not load (${(e as Error).message.split('\n')[0]}); reinstall bnn-edge on this platform`);
    },
  );
  return sharpModule;
}

/** Reads `path` as an image shaped [h, w, c] (c 1 or 3), values in [0, 1]. */
export async function readImageAs(path: string, shape: readonly [number, number, number], opts: ReadImageOptions = {}): Promise<Float32Array> {
  const [h, w, c] = shape;
  if (c !== 1 && c !== 3) throw new DataError(path, `the model takes ${c}-channel images; only 1 (gray) or 3 (RGB) can be made from an image file`);
  const bytes = readDataFile(path, IMAGE_LIMITS.fileBytes);
  const sharp = await loadSharp();
  const bg = opts.background === 1 ? { r: 255, g: 255, b: 255 } : { r: 0, g: 0, b: 0 };
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    let img = sharp(bytes, { limitInputPixels: IMAGE_LIMITS.pixels, failOn: 'error' })
      .rotate() // EXIF orientation, as a viewer shows the photo
      .flatten({ background: bg })
      .resize(w, h, { fit: opts.fit ?? 'fill', background: bg });
    img = c === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    out = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new DataError(path, `cannot read as an image: ${(e as Error).message}`);
  }
  const { data, info } = out;
  if (info.width !== w || info.height !== h || info.channels !== c) {
    throw new DataError(path, `decoded to ${info.height}×${info.width}×${info.channels}, not the model's ${h}×${w}×${c}`);
  }
  const x = new Float32Array(h * w * c);
  for (let i = 0; i < x.length; i++) x[i] = opts.invert ? 1 - data[i]! / 255 : data[i]! / 255;
  return x;
}
