/**
 * The one table a user acts on: per shipped model its size, runtime speed, clean accuracy on the
 * rebuilt tfjs graph and on the runtime, and accuracy under an FGSM attack crafted on tfjs and
 * replayed on the runtime, with the agreement of the two.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, head, type Dataset } from '../data/dataset.js';
import { fgsm } from '../attacks/whitebox.js';
import { describeModel } from '../format/info.js';
import { readModelFile } from '../format/file.js';
import type { BnnModel } from '../format/model.js';
import { DeployedGraph } from '../model/tfjs/deployed.js';
import { BnnRuntime } from '../runtime/index.js';
import { initTfjs } from '../tfjs/backend.js';
import { evaluateParity } from './parity.js';
import { replay, type ReplayResult } from './replay.js';

export interface DemoRow {
  readonly model: string;
  /** The test images it was scored on. */
  readonly data: string;
  readonly fileBytes: number;
  readonly compression: number;
  readonly runtimeImagesPerSecond: number;
  readonly clean: { readonly images: number; readonly tfjsAccuracy: number; readonly runtimeAccuracy: number; readonly agreement: number };
  readonly attack: { readonly name: string; readonly eps: number } & ReplayResult;
}

export interface DemoOptions {
  /** Clean evaluation images (default: the whole test set). */
  readonly cleanImages?: number;
  /** Images attacked (default 500). */
  readonly attackImages?: number;
  readonly eps?: number;
  readonly onModel?: (name: string, i: number, total: number) => void;
  /**
   * When given, a model whose test images cannot be read (a DataError: Fashion-MNIST not
   * installed, a data directory gone) is skipped and reported here instead of ending the run.
   */
  readonly onDataMissing?: (name: string, error: DataError) => void;
}

export function listModels(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bnn'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => join(dir, f));
}

/** Test images for a model: a data set (and its name), or a function choosing them per model (given its path too). */
export type DemoData = { readonly name: string; readonly test: Dataset } | ((model: BnnModel, name: string, path: string) => { readonly name: string; readonly test: Dataset });

export async function runDemo(paths: string[], data: DemoData, opts: DemoOptions = {}): Promise<DemoRow[]> {
  await initTfjs();
  const eps = opts.eps ?? 0.1;
  const rows: DemoRow[] = [];
  for (const [i, path] of paths.entries()) {
    const { name, bytes, model } = readModelFile(path);
    opts.onModel?.(name, i, paths.length);
    let chosen: { readonly name: string; readonly test: Dataset };
    try {
      chosen = typeof data === 'function' ? data(model, name, path) : data;
    } catch (e) {
      if (!(e instanceof DataError) || !opts.onDataMissing) throw e;
      opts.onDataMissing(name, e);
      continue;
    }
    const { name: source, test } = chosen;
    const info = describeModel(model, bytes.length);
    const clean = await evaluateParity(name, model, test, opts.cleanImages ? { limit: opts.cleanImages } : {});
    const attacked = head(test, opts.attackImages ?? 500);
    const graph = new DeployedGraph(model, 0, name);
    const rt = await BnnRuntime.fromModel(model);
    try {
      const adv = fgsm(graph, attacked.images, attacked.labels, eps).adversarial;
      rows.push({
        model: name,
        data: source,
        fileBytes: info.fileBytes,
        compression: info.compression,
        runtimeImagesPerSecond: clean.runtime.imagesPerSecond,
        clean: { images: clean.images, tfjsAccuracy: clean.tfjsAccuracy, runtimeAccuracy: clean.runtimeAccuracy, agreement: clean.agreement },
        attack: { name: 'FGSM', eps, ...replay(adv, attacked, graph.logitsFn, rt) },
      });
    } finally {
      graph.dispose();
      rt.dispose();
    }
  }
  return rows;
}
