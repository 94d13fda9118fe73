/**
 * `attack --save DIR`: the adversarial images an attack made, for a person to look at and a
 * program to reload — per ε an `.npy` array [n, H, W, C] (NumPy's format, float32), a PNG grid of
 * clean / adversarial pairs, and one `examples.json` with every image's true label and the label
 * tfjs and the runtime gave each adversarial version.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Shape3 } from '../model/graph.js';
import { formatJson } from '../util/json.js';

/** NumPy .npy (format 1.0) of a little-endian float32 array of the given shape. */
export function npyFloat32(data: Float32Array, shape: readonly number[]): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // Magic, version, header length, then the header padded with spaces to a multiple of 64, ending in \n.
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/**
 * A PNG grid of image pairs — clean on the left, adversarial on the right — `cols` pairs a row,
 * each image scaled by an integer factor so it is at least 56 pixels tall.
 */
export function pairGridPng(clean: Float32Array, adversarial: Float32Array, n: number, shape: Shape3, cols = 8): Uint8Array {
  const [h, w, c] = shape;
  const zoom = Math.max(1, Math.ceil(56 / h));
  const cellW = 2 * w * zoom + 2;
  const cellH = h * zoom;
  const rows = Math.ceil(n / cols);
  const gap = 4;
  const width = Math.min(n, cols) * (cellW + gap) + gap;
  const height = rows * (cellH + gap) + gap;
  const png = new PNG({ width, height });
  png.data.fill(255);
  const put = (src: Float32Array, i: number, x0: number, y0: number) => {
    for (let y = 0; y < h * zoom; y++)
      for (let x = 0; x < w * zoom; x++) {
        const p = (i * h + Math.floor(y / zoom)) * w + Math.floor(x / zoom);
        const at = 4 * ((y0 + y) * width + x0 + x);
        for (let ch = 0; ch < 3; ch++) png.data[at + ch] = Math.round(255 * src[p * c + (c === 3 ? ch : 0)]!);
        png.data[at + 3] = 255;
      }
  };
  for (let i = 0; i < n; i++) {
    const x0 = gap + (i % cols) * (cellW + gap);
    const y0 = gap + Math.floor(i / cols) * (cellH + gap);
    put(clean, i, x0, y0);
    put(adversarial, i, x0 + w * zoom + 2, y0);
  }
  return PNG.sync.write(png);
}

export interface SavedRun {
  readonly eps: number | null;
  readonly adversarial: Float32Array;
  readonly tfjsLabels: Int32Array;
  readonly runtimeLabels: Int32Array;
}

export interface SaveOptions {
  readonly model: string;
  readonly attack: string;
  readonly data: string;
  readonly shape: Shape3;
  readonly classNames?: readonly string[];
  readonly clean: Float32Array;
  readonly labels: ArrayLike<number>;
  readonly runs: readonly SavedRun[];
  /** Pairs drawn in each PNG grid (default 32). */
  readonly gridImages?: number;
}

/** Writes the files (see the file's comment); returns their paths. */
export function saveAdversarial(dir: string, o: SaveOptions): string[] {
  mkdirSync(dir, { recursive: true });
  const n = o.labels.length;
  const [h, w, c] = o.shape;
  const written: string[] = [];
  const write = (file: string, bytes: Uint8Array | string) => {
    writeFileSync(join(dir, file), bytes);
    written.push(join(dir, file));
  };
  const name = (r: SavedRun) => (r.eps === null ? 'cw' : `eps${r.eps}`);
  write('clean.npy', npyFloat32(o.clean, [n, h, w, c]));
  for (const r of o.runs) {
    write(`adversarial-${name(r)}.npy`, npyFloat32(r.adversarial, [n, h, w, c]));
    write(`grid-${name(r)}.png`, pairGridPng(o.clean, r.adversarial, Math.min(n, o.gridImages ?? 32), o.shape));
  }
  const label = (l: number) => (o.classNames?.[l] !== undefined ? `${l} (${o.classNames[l]})` : l);
  write(
    'examples.json',
    formatJson({
      model: o.model,
      attack: o.attack,
      data: o.data,
      shape: o.shape,
      files: { clean: 'clean.npy', adversarial: Object.fromEntries(o.runs.map((r) => [name(r), `adversarial-${name(r)}.npy`])) },
      grid: 'each grid-*.png row: clean image left, adversarial right, in image order',
      images: Array.from({ length: n }, (_, i) => ({
        index: i,
        label: label(o.labels[i]!),
        ...Object.fromEntries(o.runs.map((r) => [name(r), { tfjs: label(r.tfjsLabels[i]!), runtime: label(r.runtimeLabels[i]!) }])),
      })),
    }),
  );
  return written;
}
