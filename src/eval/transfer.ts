/**
 * Transfer matrix: adversarial images crafted white-box on each source model's rebuilt tfjs graph,
 * then scored on every target model's packed runtime. The diagonal is the white-box attack itself
 * (with its tfjs/runtime replay agreement); off the diagonal, how far an attack on one
 * architecture carries to another — the seed paper's question of whether binarized models resist
 * examples crafted on float ones.
 */
import { head, type Dataset } from '../data/dataset.js';
import { fgsm, pgd } from '../attacks/whitebox.js';
import type { BnnModel } from '../format/model.js';
import { DeployedGraph } from '../model/tfjs/deployed.js';
import { BnnRuntime } from '../runtime/index.js';
import { initTfjs } from '../tfjs/backend.js';
import { accuracyOf } from './parity.js';
import { replay, type ReplayResult } from './replay.js';

export interface TransferOptions {
  readonly attack: 'fgsm' | 'pgd';
  readonly eps: number;
  /** Images attacked (the first n of the test set). Default 500. */
  readonly n?: number;
  /** PGD: iterations and step (defaults 40 and 0.01, Madry's). */
  readonly steps?: number;
  readonly step?: number;
  /** Logit temperature of the attack loss (see `CommonOptions.temperature`). Default 1. */
  readonly temperature?: number;
  readonly seed?: number;
  /** Called before crafting on each source model. */
  readonly onSource?: (name: string, index: number, total: number) => void;
}

export interface TransferReport {
  readonly attack: 'fgsm' | 'pgd';
  readonly eps: number;
  readonly images: number;
  readonly models: string[];
  /** Runtime accuracy of each model on the clean images. */
  readonly cleanAccuracy: number[];
  /** accuracy[s][t]: model t's runtime accuracy on the images crafted on model s. */
  readonly accuracy: number[][];
  /** The diagonal replayed: model s's tfjs graph vs its runtime on its own adversarial images. */
  readonly replay: ReplayResult[];
}

/** Stochastic sources (model S) are attacked with EOT over this many weight samples. */
export const TRANSFER_EOT = 10;

export async function transferMatrix(models: readonly { name: string; model: BnnModel }[], test: Dataset, o: TransferOptions): Promise<TransferReport> {
  if (!models.length) throw new RangeError('transferMatrix needs at least one model');
  await initTfjs();
  const data = head(test, o.n ?? 500);
  const runtimes = await Promise.all(models.map((m) => BnnRuntime.fromModel(m.model, { seed: o.seed ?? 0 })));
  try {
    const cleanAccuracy = runtimes.map((rt) => accuracyOf(rt.predict(data.images, data.n), data.labels));
    const accuracy: number[][] = [];
    const replays: ReplayResult[] = [];
    for (const [s, source] of models.entries()) {
      o.onSource?.(source.name, s, models.length);
      const graph = new DeployedGraph(source.model, o.seed ?? 0, source.name);
      try {
        const common = { temperature: o.temperature ?? 1, eot: graph.stochastic ? TRANSFER_EOT : 1, seed: o.seed ?? 0 };
        const { adversarial } =
          o.attack === 'fgsm'
            ? fgsm(graph, data.images, data.labels, o.eps, common)
            : pgd(graph, data.images, data.labels, { ...common, eps: o.eps, step: o.step ?? 0.01, steps: o.steps ?? 40, randomStart: true, restarts: 1 });
        const own = replay(adversarial, data, graph.logitsFn, runtimes[s]!);
        replays.push(own);
        // The diagonal is the replay's runtime score: no second pass over the source's runtime.
        accuracy.push(runtimes.map((rt, t) => (t === s ? own.runtimeAccuracy : accuracyOf(rt.predict(adversarial, data.n), data.labels))));
      } finally {
        graph.dispose();
      }
    }
    return { attack: o.attack, eps: o.eps, images: data.n, models: models.map((m) => m.name), cleanAccuracy, accuracy, replay: replays };
  } finally {
    for (const rt of runtimes) rt.dispose();
  }
}
