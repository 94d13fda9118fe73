/**
 * Models named on the command line: a path (a .bnn file, a `train --out` run directory) or a
 * name (`b64`) looked up in ./models of the working directory (where `ship` writes), then in the
 * models installed with the package. A model's data set comes with it where it was recorded (the
 * manifest beside a shipped .bnn, a run's checkpoint.json), so `bnn-edge eval larq-fashion` tests
 * on Fashion-MNIST without being told.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageSize, loadData, testDataOf, type Dataset } from '../data/index.js';
import { readModelFile } from '../format/file.js';
import { readManifest, type ManifestEntry } from '../format/manifest.js';
import type { BnnModel } from '../format/model.js';
import { readJsonFile } from '../util/fs.js';
import { UsageError } from './args.js';

/** The models installed with the package (its models/ folder). */
export const PACKAGE_MODELS = fileURLToPath(new URL('../../../models/', import.meta.url));

/** Where `ship` writes and names are looked up first: ./models of the working directory. */
export const localModels = (): string => resolve('models');

/** The model folders searched for a name, nearest first, each once. */
export function modelDirs(): string[] {
  const seen = new Set<string>();
  const dirs: string[] = [];
  for (const d of [localModels(), PACKAGE_MODELS]) {
    if (!existsSync(d) || !statSync(d).isDirectory()) continue;
    const real = realpathSync(d);
    if (!seen.has(real)) seen.add(real), dirs.push(d);
  }
  return dirs;
}

export interface OpenedModel {
  readonly bytes: Uint8Array;
  readonly model: BnnModel;
  readonly name: string;
  readonly path: string;
  /** The data the model was trained on (a data source string), when recorded. */
  readonly data?: string;
}

const NAME = /^[\w.+-]+$/;

/** The path `value` names: itself if it exists, else NAME.bnn in ./models or the package's models. */
export function findModel(value: string): string {
  // A path (it exists, or it has a folder or .bnn in it) is read as given: a missing file is reported by the reader.
  if (existsSync(value) || !NAME.test(value) || value.endsWith('.bnn')) return value;
  for (const dir of modelDirs()) {
    const path = join(dir, `${value}.bnn`);
    if (existsSync(path)) return path;
  }
  for (const dir of modelDirs()) {
    const entry = readManifest(dir).models.find((m) => m.file === `${value}.bnn`);
    if (entry) throw new UsageError(`model ${value} is listed in ${join(dir, 'manifest.json')} but its .bnn is not installed (research models stay in the repository); rebuild it with: ${entry.training.command}`);
  }
  throw new UsageError(`${value}: no such file, and no model of that name in ${modelDirs().join(' or ') || './models'} ("bnn-edge models" lists them)`);
}

/** Whether `value` names a model that is there. */
export function modelExists(value: string): boolean {
  try {
    return Boolean(findModel(value));
  } catch {
    return false;
  }
}

/** Reads the model `value` names (a path or a name) with the data set it was trained on, if recorded. */
export function openModel(value: string): OpenedModel {
  const path = findModel(value);
  const { bytes, model, name } = readModelFile(path);
  const data = recordedDataOf(path);
  return { bytes, model, name, path, ...(data ? { data } : {}) };
}

/** The manifest entry of a shipped .bnn (from the manifest beside it), if any. */
export function manifestEntryOf(path: string): ManifestEntry | undefined {
  try {
    return readManifest(dirname(path)).models.find((m) => m.file === basename(path));
  } catch {
    return undefined; // an unreadable manifest only loses the recorded data set
  }
}

/** The data set a model at `path` (a .bnn or a run directory) was trained on, where recorded beside it. */
export function recordedDataOf(path: string): string | undefined {
  if (statSync(path).isDirectory()) {
    try {
      const ckpt = readJsonFile(join(path, 'checkpoint.json')) as { training?: { data?: unknown } };
      return typeof ckpt.training?.data === 'string' ? ckpt.training.data : undefined;
    } catch {
      return undefined;
    }
  }
  return manifestEntryOf(path)?.training.data;
}

/**
 * The test images a command scores `m` on: `--data` when given, else the data the model was
 * trained on, else the embedded MNIST digits. Refused when their shape is not the model's input.
 */
export function testImagesFor(m: OpenedModel, dataOption: string | undefined): { source: string; test: Dataset } {
  const { source, test } = dataOption !== undefined ? loadData({ dir: dataOption, testOnly: true }) : m.data ? { source: m.data, test: testDataOf(m.data) } : loadData({ testOnly: true });
  checkImageShape(m, test, source, dataOption === undefined ? '; give its test data with --data' : '');
  return { source, test };
}

/** Refuses test images `m` cannot take, naming both shapes. */
export function checkImageShape(m: Pick<OpenedModel, 'name' | 'model'>, test: Dataset, source: string, hint = ''): void {
  const [h, w, c] = m.model.graph.input;
  if (test.height !== h || test.width !== w || test.channels !== c) {
    throw new UsageError(`${m.name} takes ${h}×${w}×${c} images but ${source} has ${test.height}×${test.width}×${test.channels}${hint}`);
  }
  if (imageSize(test) === 0 || test.n === 0) throw new UsageError(`${source}: no test images`);
}
