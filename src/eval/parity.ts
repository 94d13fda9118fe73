/**
 * Clean-data evaluation of a shipped model on both sides: the packed runtime and the tfjs graph
 * rebuilt from the same .bnn. Reports both accuracies and how often their labels agree.
 */
import { head, type Dataset } from '../data/dataset.js';
import type { BnnModel } from '../format/model.js';
import { DeployedGraph } from '../model/tfjs/deployed.js';
import { predictLabels } from '../model/tfjs/predict.js';
import { BnnRuntime, type RuntimeOptions } from '../runtime/index.js';
import { initTfjs } from '../tfjs/backend.js';

export interface ParityReport {
  readonly model: string;
  readonly images: number;
  readonly runtimeAccuracy: number;
  readonly tfjsAccuracy: number;
  /** Fraction of images where runtime label = tfjs label. */
  readonly agreement: number;
  /** Indices (into the evaluated set) where the two disagree. */
  readonly disagreements: number[];
  readonly runtime: { readonly flavor: string; readonly imagesPerSecond: number };
}

export function accuracyOf(pred: Int32Array, labels: Uint8Array): number {
  let ok = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) ok++;
  return ok / pred.length;
}

export function agreementOf(a: Int32Array, b: Int32Array): { agreement: number; disagreements: number[] } {
  const disagreements: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) disagreements.push(i);
  return { agreement: 1 - disagreements.length / a.length, disagreements };
}

export async function evaluateParity(name: string, model: BnnModel, data: Dataset, opts: RuntimeOptions & { limit?: number } = {}): Promise<ParityReport> {
  const set = opts.limit ? head(data, opts.limit) : data;
  const rt = await BnnRuntime.fromModel(model, opts);
  const t0 = performance.now();
  const rtPred = rt.predict(set.images, set.n);
  const seconds = (performance.now() - t0) / 1000;
  await initTfjs();
  const graph = new DeployedGraph(model, opts.seed ?? 0);
  try {
    const tfPred = predictLabels(graph.logitsFn, set.images, set.n, graph.inputShape);
    const { agreement, disagreements } = agreementOf(rtPred, tfPred);
    return {
      model: name,
      images: set.n,
      runtimeAccuracy: accuracyOf(rtPred, set.labels),
      tfjsAccuracy: accuracyOf(tfPred, set.labels),
      agreement,
      disagreements,
      runtime: { flavor: rt.flavor, imagesPerSecond: set.n / seconds },
    };
  } finally {
    graph.dispose();
    rt.dispose();
  }
}
