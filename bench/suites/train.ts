/**
 * Training speed: one epoch of model B, K=64, over the 8,000 embedded training images on the
 * fast path (tfjs-backend-wasm + bnn-edge's conv gradient kernels, one worker per core), with
 * the same step on the reference tfjs CPU backend timed for comparison (a few batches only —
 * a whole epoch there takes hours).
 */
import { loadData } from '../../src/data/index.js';
import { initParams } from '../../src/model/params.js';
import { modelSpec } from '../../src/model/spec.js';
import { TrainableModel } from '../../src/model/trainable.js';
import { initTfjs, tf, useTfjsBackend } from '../../src/tfjs/backend.js';
import { train } from '../../src/train/train.js';
import { availableParallelism } from 'node:os';
import { fmt, mdTable } from '../lib.js';

export async function trainSuite(): Promise<{ markdown: string; data: unknown }> {
  const data = loadData();
  const rows: (string | number)[][] = [];
  const figures: Record<string, number> = {};
  for (const workers of [...new Set([availableParallelism() > 1 ? 2 : 1, 1])]) {
    const ckpt = await train({ arch: 'B', k: 64, data, epochs: 1, workers, progress: true });
    const s = ckpt.history[0]!.seconds;
    figures[`epochSeconds_workers${workers}`] = s;
    rows.push([`B-64, tfjs-wasm + bnn-edge kernels, ${workers} worker${workers > 1 ? 's' : ''}`, fmt(s, 1), fmt(8000 / s, 0), '1 epoch (63 batches of 128)']);
  }
  // Reference: the tfjs CPU backend on the same training step (batch 128), 2 steps.
  await initTfjs();
  await useTfjsBackend('cpu');
  const spec = modelSpec('B', 64);
  const model = new TrainableModel(spec, initParams(spec, 1));
  const x = tf.tensor4d(data.train.images.subarray(0, 128 * 784), [128, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(Int32Array.from(data.train.labels.subarray(0, 128)), 'int32'), 10);
  const step = () =>
    tf.tidy(() => {
      const { value } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.logits(x, 'batch', new Map())) as tf.Scalar, model.trainableVars());
      value.dataSync();
    });
  step();
  const t0 = performance.now();
  step();
  const cpuStep = (performance.now() - t0) / 1000;
  await useTfjsBackend('wasm');
  figures['cpuBackendStepSeconds'] = cpuStep;
  figures['cpuBackendEpochSecondsEstimate'] = cpuStep * 63;
  rows.push(['B-64, tfjs CPU backend (reference)', `${fmt(cpuStep * 63, 0)} (est.)`, fmt(128 / cpuStep, 0), `1 step of 128 timed (${fmt(cpuStep, 1)} s), × 63`]);
  tf.dispose([x, y]);
  model.dispose();
  const fast = figures[`epochSeconds_workers${availableParallelism() > 1 ? 2 : 1}`]!;
  const markdown =
    mdTable(['what', 'seconds per epoch', 'images/s', 'note'], rows) +
    `\n\nOne epoch of B-64 over 8,000 images: **${fmt(fast, 1)} s** (target ≤ 30 s); the reference CPU backend would take about ${fmt(cpuStep * 63 / 60, 0)} minutes (${fmt((cpuStep * 63) / fast, 0)}× slower).`;
  return { markdown, data: figures };
}
