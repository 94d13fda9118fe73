/**
 * EEV's cardinality bound decay (issue 40), measured: the shipped verifiable-mnist continued for
 * one epoch of its own recipe (PGD-7 at ε 0.1, --l1 0.05, weight clip, batch 64, lr 1e-3 cosine,
 * re-estimated batch-norm statistics) on the official MNIST with `--cbd` 0 and 5e-3 at bound 5,
 * the same seed, then verified like the verifiable suite. Reported beside the verdicts: the mean
 * over threshold units of max(0, b − 5), b a unit's cardinality bound — what the decay pulls down.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { loadData } from '../../src/data/index.js';
import { readModelFile } from '../../src/format/file.js';
import { modelFromParams, paramsFromModel } from '../../src/format/model.js';
import { tf, initTfjs } from '../../src/tfjs/backend.js';
import { TrainableModel, type BatchMoments } from '../../src/model/tfjs/trainable.js';
import type { ModelGraph } from '../../src/model/graph.js';
import type { ParamValues } from '../../src/model/params.js';
import { train } from '../../src/train/train.js';
import { verifyRobustness } from '../../src/verify/index.js';
import { fmt, mdTable, pct } from '../lib.js';
import { MODELS_DIR } from './size.js';

const COEFFICIENTS = [0, 5e-3];
const BOUND = 5;
const PLAN = [
  { eps: 0.1, n: 500, timeoutMs: 5000 },
  { eps: 0.3, n: 200, timeoutMs: 2000 },
];

/** Mean over the threshold units of max(0, b − bound), b from the batch-norm statistics the model ships with. */
function meanExcess(graph: ModelGraph, params: ParamValues, bound: number): number {
  const model = new TrainableModel(graph, params);
  try {
    const moments: BatchMoments = new Map();
    let units = 0;
    for (const l of graph.layers) {
      if (l.kind !== 'batchNorm') continue;
      const mean = params.get(`${l.name}/moving_mean`)!;
      moments.set(l.name, { mean: tf.tensor1d(mean), variance: tf.tensor1d(params.get(`${l.name}/moving_variance`)!) });
      // The units that become thresholds (the norm after dense2 feeds the logits).
      if (['conv1', 'conv2', 'dense1'].includes(l.inputs[0]!)) units += mean.length;
    }
    const total = model.cardinalityBoundPenalty(moments, bound);
    const value = total.dataSync()[0]! / units;
    tf.dispose([total, ...[...moments.values()].flatMap((m) => [m.mean, m.variance])]);
    return value;
  } finally {
    model.dispose();
  }
}

export async function cbdSuite(): Promise<{ markdown: string; data: unknown }> {
  await initTfjs();
  const { model: shipped } = readModelFile(join(MODELS_DIR, 'verifiable-mnist.bnn'));
  const { graph, params: start } = paramsFromModel(shipped);
  const data = loadData({ dir: 'mnist' });
  const rows: { coeff: number; clean: number; excess: number; seconds: number; eps: { eps: number; images: number; verified: number; attacked: number; unknown: number; medianMs: number }[] }[] = [];
  for (const coeff of COEFFICIENTS) {
    process.stderr.write(`cbd: one epoch with --cbd ${coeff}\n`);
    const t0 = performance.now();
    const ckpt = await train({
      graph,
      data,
      initial: start,
      epochs: 1,
      batchSize: 64,
      learningRate: 1e-3,
      augmentShift: 0,
      weightClip: true,
      l1: 0.05,
      preciseBn: 10_000,
      adversarial: { eps: 0.1, step: 0.025, steps: 7, cleanEpochs: 0 },
      cardinalityBoundDecay: coeff ? { coeff, bound: BOUND } : null,
      seed: 2,
      progress: false,
    });
    const seconds = (performance.now() - t0) / 1000;
    const model = modelFromParams(ckpt.graph, ckpt.params);
    const eps = [];
    for (const p of PLAN) {
      const r = (await verifyRobustness(model, data.test, { eps: p.eps, n: p.n, timeoutMs: p.timeoutMs, search: 'pgd', steps: 20, seed: 1 })).rows[0]!;
      eps.push({ eps: p.eps, images: r.images, verified: r.verifiedAccuracy, attacked: r.attackedAccuracy, unknown: r.unknownFraction, medianMs: r.medianMs });
    }
    rows.push({ coeff, clean: ckpt.testAccuracy, excess: meanExcess(ckpt.graph, ckpt.params, BOUND), seconds, eps });
  }
  const table = rows.flatMap((r) =>
    r.eps.map((e) => [String(r.coeff), pct(r.clean, 2), fmt(r.excess, 2), String(e.eps), fmt(e.images), pct(e.verified, 1), pct(e.attacked, 1), pct(e.unknown, 1), fmt(e.medianMs, 1)]),
  );
  const markdown =
    `The shipped verifiable-mnist continued for one epoch of its recipe on the official MNIST (PGD-7 at ε 0.1, --l1 0.05, --precise-bn 10000, lr 1e-3, seed 2) with \`train --cbd X --cbd-bound ${BOUND}\`, then \`verify\` on the first N official test images (default solver, ${PLAN.map((p) => `ε ${p.eps}: ${p.timeoutMs / 1000} s per image`).join(', ')}). ` +
    `excess: the mean over the threshold units of conv1, conv2 and dense1 of max(0, b − ${BOUND}), b a unit's cardinality bound with inputs counted 0/1 (TrainableModel.cardinalityBoundPenalty on the shipped statistics).\n\n` +
    mdTable(['--cbd', 'clean (10,000)', 'excess', 'ε', 'images', 'verified', 'attacked', 'unknown', 'median ms/image'], table) +
    `\n\nTraining took ${rows.map((r) => `${r.seconds.toFixed(0)} s (--cbd ${r.coeff})`).join(', ')}; load average ${loadavg()[0]!.toFixed(1)} at the end.`;
  return { markdown, data: rows };
}
