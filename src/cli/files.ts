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
import { DataError, imageSize, loadData, testDataOf, type Dataset } from '../data/index.js';
import { readModelFile } from '../format/file.js';
import { readManifest, type ManifestEntry } from '../format/manifest.js';
import type { BnnModel } from '../format/model.js';
import { FileReadError, readJsonFile } from '../util/fs.js';
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
  /** Why the record beside the model (manifest.json, checkpoint.json) could not be read, if it could not. */
  readonly dataError?: DataError;
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
  return { bytes, model, name, path, ...recordOf(path) };
}

/** What is recorded beside the model at `path` about its data: the data set, or why the record could not be read. */
export function recordOf(path: string): Pick<OpenedModel, 'data' | 'dataError'> {
  try {
    const data = recordedDataOf(path);
    return data ? { data } : {};
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    return { dataError: e }; // only a command that needs the model's test images fails on it
  }
}

/**
 * The manifest entry of a shipped .bnn (from the manifest beside it), if any; a manifest that is
 * there but cannot be read (not JSON, not a regular file, too large) is a DataError, so that a
 * command never scores the model on other data than it was trained on without saying so.
 */
export function manifestEntryOf(path: string): ManifestEntry | undefined {
  const manifest = join(dirname(path), 'manifest.json');
  try {
    return readManifest(dirname(path)).models?.find((m) => m.file === basename(path));
  } catch (e) {
    throw new DataError(manifest, `cannot tell what ${basename(path)} was trained on: ${e instanceof FileReadError ? e.reason : (e as Error).message}; give its test data with --data`);
  }
}

/**
 * The data set a model at `path` (a .bnn or a run directory) was trained on, where recorded beside
 * it; undefined when nothing is recorded, a DataError when the record cannot be read.
 */
export function recordedDataOf(path: string): string | undefined {
  if (statSync(path).isDirectory()) {
    const file = join(path, 'checkpoint.json');
    if (!existsSync(file)) return undefined;
    let ckpt: { training?: { data?: unknown } };
    try {
      ckpt = readJsonFile(file) as typeof ckpt;
    } catch (e) {
      throw new DataError(file, `cannot tell what the run was trained on: ${e instanceof FileReadError ? e.reason : (e as Error).message}; give its test data with --data`);
    }
    return typeof ckpt.training?.data === 'string' ? ckpt.training.data : undefined;
  }
  return manifestEntryOf(path)?.training.data;
}

/**
 * The test images a command scores `m` on: `--data` when given, else the data the model was
 * trained on, else the embedded MNIST digits. Refused when their shape is not the model's input.
 */
export function testImagesFor(m: Pick<OpenedModel, 'name' | 'model' | 'data' | 'dataError'>, dataOption: string | undefined): { source: string; test: Dataset } {
  if (dataOption === undefined && m.dataError) throw m.dataError;
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
