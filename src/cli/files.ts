import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parseBnn } from '../format/read.js';
import type { BnnModel } from '../format/model.js';

/** The models shipped in the package's models/ directory. */
export const SHIPPED_MODELS = fileURLToPath(new URL('../../../models/', import.meta.url));

/** Reads a .bnn file (errors name the file). */
export function readModelFile(path: string): { bytes: Uint8Array; model: BnnModel } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'model file not found' : (e as Error).message}`);
  }
  return { bytes, model: parseBnn(bytes, { source: path }) };
}
