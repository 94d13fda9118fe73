/**
 * Training speed: one epoch of model B, K=64, over the 8,000 embedded training images on the
 * fast path (tfjs-backend-wasm + bnn-edge's conv kernels, native ones when built; one worker per core), with
 * the same step on the reference tfjs CPU backend timed for comparison (a few batches only —
 * a whole epoch there takes hours). Then the input-gradient (dX) kernels against the earlier
 * phase-convolution ones, per layer and per whole training step, in the same process.
 */
import { loadData } from '../../src/data/index.js';
import { initParams } from '../../src/model/params.js';
import { paperModel } from '../../src/model/presets.js';
import { TrainableModel } from '../../src/model/tfjs/trainable.js';
import { initTfjs, tf, useTfjsBackend } from '../../src/tfjs/backend.js';
import { train } from '../../src/train/train.js';
import { ShardTrainer } from '../../src/train/shard.js';
import { registerConvGradKernels, type DxAlgorithm } from '../../src/tfjs/conv_grad_kernels.js';
import { registerNativeConvKernels, unregisterNativeConvKernels } from '../../src/tfjs/native_conv.js';
import { availableParallelism } from 'node:os';
import { benchStepRequest, fmt, mdTable, timeAlternately } from '../lib.js';

export async function trainSuite(): Promise<{ markdown: string; data: unknown }> {
  const data = loadData();
  const rows: (string | number)[][] = [];
  const figures: Record<string, number> = {};
  for (const workers of [...new Set([availableParallelism() > 1 ? 2 : 1, 1])]) {
    const ckpt = await train({ graph: paperModel('B', 64), data, epochs: 1, workers, progress: true });
    const s = ckpt.history[0]!.seconds;
    figures[`epochSeconds_workers${workers}`] = s;
    // The record names the backend, native conv kernels included when they were built.
    rows.push([`B-64, ${ckpt.training.backend}`, fmt(s, 1), fmt(8000 / s, 0), '1 epoch (63 batches of 128)']);
  }
  // Reference: the tfjs CPU backend on the same training step (batch 128), 2 steps.
  await initTfjs();
  await useTfjsBackend('cpu');
  const spec = paperModel('B', 64);
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
  // The dX comparison is of the WebAssembly kernels: the native ones (when built) step aside.
  unregisterNativeConvKernels('wasm');
  const dx = await dxComparison(data.train.images).finally(() => registerNativeConvKernels('wasm'));
  const markdown =
    mdTable(['what', 'seconds per epoch', 'images/s', 'note'], rows) +
    `\n\nOne epoch of B-64 over 8,000 images: **${fmt(fast, 1)} s** (target ≤ 30 s); the reference CPU backend would take about ${fmt(cpuStep * 63 / 60, 0)} minutes (${fmt((cpuStep * 63) / fast, 0)}× slower).\n\n` +
    `Input-gradient (dX) kernels, one core, batch ${DX_BATCH} (one shard of a batch of 128): the tap-block matrix products (conv2) and the product that transposes dy rather than the weights (conv3) against the earlier phase convolution and weight-transposing product, timed alternately in this process. The training step is a whole forward + backward pass of B-K on one shard.\n\n` +
    mdTable(['what', 'earlier (ms)', 'now (ms)', 'speed-up'], dx.rows);
  return { markdown, data: { ...figures, dx: dx.data } };
}

const DX_BATCH = 64;

/** Times dX per layer, then one training step per width, with both dX algorithms. */
async function dxComparison(images: Float32Array): Promise<{ rows: (string | number)[][]; data: Record<string, { earlier: number; now: number }> }> {
  const rows: (string | number)[][] = [];
  const data: Record<string, { earlier: number; now: number }> = {};
  const both = (label: string, fn: () => void) => {
    const setup = (algorithm: DxAlgorithm) => [algorithm, () => registerConvGradKernels('wasm', algorithm)] as const;
    const ms = timeAlternately(label, [setup('phase'), setup('auto')], fn, { maxTime: 2 });
    data[label] = { earlier: ms.phase, now: ms.auto };
    rows.push([label, fmt(ms.phase, 1), fmt(ms.auto, 1), `${fmt(ms.phase / ms.auto, 2)}×`]);
  };
  for (const k of [64, 128, 256]) {
    const layers = [
      { name: 'conv2', x: [DX_BATCH, 14, 14, k], w: [6, 6, k, 2 * k], stride: 2 },
      { name: 'conv3', x: [DX_BATCH, 5, 5, 2 * k], w: [5, 5, 2 * k, 2 * k], stride: 1 },
    ] as const;
    for (const l of layers) {
      const w = tf.randomNormal([...l.w]) as tf.Tensor4D;
      const dy = tf.randomNormal(tf.tidy(() => tf.conv2d(tf.zeros([...l.x]) as tf.Tensor4D, w, l.stride, 'valid').shape));
      // The tidy returns nothing: it would walk a returned typed array element by element.
      both(`${l.name} dX, K=${k}`, () => tf.tidy(() => void tf.conv2dTranspose(dy as tf.Tensor4D, w, [...l.x] as [number, number, number, number], l.stride, 'valid').dataSync()));
      tf.dispose([w, dy]);
    }
  }
  for (const k of [64, 128, 256]) {
    const trainer = await ShardTrainer.create({ graph: paperModel('B', k) });
    const req = benchStepRequest(paperModel('B', k), images, DX_BATCH, null);
    both(`training step, B-${k}`, () => trainer.step(req));
    trainer.dispose();
  }
  return { rows, data };
}
