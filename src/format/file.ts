/** Reading a model from disk: a .bnn file or a training run's directory, with errors that name the path. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { BnnModel } from './model.js';
import { parseBnn } from './read.js';

/**
 * Reads a model: a .bnn file, or a training run's directory (`train --out DIR`, which keeps the
 * model as it stands after every epoch in DIR/model.bnn, so a run can be attacked mid-way).
 * `name` is the file's name without .bnn, or the run directory's name. Errors name the path.
 */
export function readModelFile(path: string): { bytes: Uint8Array; model: BnnModel; name: string } {
  let file = path;
  let name = basename(path, '.bnn');
  if (existsSync(path) && statSync(path).isDirectory()) {
    file = join(path, 'model.bnn');
    name = basename(resolve(path));
    if (!existsSync(file)) throw new Error(`${path}: a directory without model.bnn (give a .bnn file, or the --out directory of \`bnn-edge train\`)`);
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'model file not found' : (e as Error).message}`);
  }
  return { bytes, model: parseBnn(bytes, { source: file }), name };
}
