/**
 * The optional native conv kernels (native/conv_blas.c, OpenBLAS) against the WebAssembly ones
 * (XNNPACK forward + bnn-edge's gradient kernels), one core, alternated in this process: per
 * layer (forward, dX, dW at batch 64, one shard of a batch of 128) and per whole training step
 * on one shard — clean B-K and A-K, and the PGD-10 step of A+ that dominates `bnn-edge repro`.
 */
import { loadData } from '../../src/data/index.js';
import { paperModel, type Arch } from '../../src/model/presets.js';
import { initTfjs, tf } from '../../src/tfjs/backend.js';
import { nativeConv, registerNativeConvKernels, unregisterNativeConvKernels } from '../../src/tfjs/native_conv.js';
import { ShardTrainer, type StepRequest } from '../../src/train/shard.js';
import { benchStepRequest, fmt, mdTable, timeAlternately } from '../lib.js';

const BATCH = 64;

export async function nativeSuite(): Promise<{ markdown: string; data: unknown }> {
  const { module, why } = nativeConv();
  if (!module) throw new Error(`the native kernels are not available: ${why}`);
  await initTfjs('wasm');
  const rows: (string | number)[][] = [];
  const data: Record<string, { wasm: number; native: number }> = {};
  /** Mean ms of `fn` on each path, measured wasm, native, wasm, native; native stays registered. */
  const both = (label: string, fn: () => void, maxTime = 2) => {
    const ms = timeAlternately(
      label,
      [
        ['wasm', () => unregisterNativeConvKernels('wasm')],
        ['native', () => registerNativeConvKernels('wasm')],
      ],
      fn,
      { maxTime, minSamples: 2 },
    );
    data[label] = ms;
    rows.push([label, fmt(ms.wasm, 1), fmt(ms.native, 1), `${fmt(ms.wasm / ms.native, 2)}×`]);
  };

  for (const k of [64, 128, 256]) {
    const layers = [
      { name: 'conv1', x: [BATCH, 28, 28, 1], w: [8, 8, 1, k], stride: 2, pad: 'same' },
      { name: 'conv2', x: [BATCH, 14, 14, k], w: [6, 6, k, 2 * k], stride: 2, pad: 'valid' },
      { name: 'conv3', x: [BATCH, 5, 5, 2 * k], w: [5, 5, 2 * k, 2 * k], stride: 1, pad: 'valid' },
    ] as const;
    for (const l of layers) {
      const x = tf.randomNormal([...l.x]) as tf.Tensor4D;
      const w = tf.randomNormal([...l.w]) as tf.Tensor4D;
      const dy = tf.tidy(() => tf.randomNormal(tf.conv2d(x, w, l.stride, l.pad).shape)) as tf.Tensor4D;
      const xShape = [...l.x] as [number, number, number, number];
      const wShape = [...l.w] as [number, number, number, number];
      // Each tidy returns nothing: it would walk a returned typed array element by element.
      both(`${l.name} forward, K=${k}`, () => tf.tidy(() => void tf.conv2d(x, w, l.stride, l.pad).dataSync()));
      both(`${l.name} dX, K=${k}`, () => tf.tidy(() => void tf.conv2dTranspose(dy, w, xShape, l.stride, l.pad).dataSync()));
      // dW has no public op: run the kernel the way conv2d's gradient does.
      const dwAttrs = { strides: l.stride, pad: l.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: wShape };
      both(`${l.name} dW, K=${k}`, () => tf.tidy(() => void (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, dwAttrs as unknown as tf.NamedAttrMap) as tf.Tensor).dataSync()));
      tf.dispose([x, w, dy]);
    }
  }

  const images = loadData().train.images;
  const step = async (arch: Arch, k: number, adversarial: StepRequest['adversarial'], label: string) => {
    const trainer = await ShardTrainer.create({ graph: paperModel(arch, k) });
    const req = benchStepRequest(paperModel(arch, k), images, BATCH, adversarial);
    both(label, () => trainer.step(req), 4);
    trainer.dispose();
  };
  for (const k of [64, 128, 256]) await step('B', k, null, `training step, B-${k}`);
  for (const k of [64, 256]) await step('A', k, null, `training step, A-${k}`);
  const pgd = { eps: 0.3, step: 0.075, steps: 10 };
  for (const k of [64, 256]) await step('A', k, pgd, `PGD-10 training step, A+${k}`);

  const plus256 = data['PGD-10 training step, A+256']!;
  const markdown =
    `Native conv kernels (im2col + OpenBLAS sgemm) against the WebAssembly path (XNNPACK forward, bnn-edge gradient kernels), one core, batch ${BATCH} (one shard of a batch of 128), each timed alternately in this process. A training step is a whole forward + backward pass on one shard; the PGD-10 step adds ten attack steps (ε 0.3, step 0.075), the recipe of the reproduction's "+" models.\n\n` +
    mdTable(['what', 'wasm (ms)', 'native (ms)', 'speed-up'], rows) +
    `\n\nA PGD-10 epoch of A+256 (63 batches of 128, two shards on two cores) takes about ${fmt((plus256.wasm * 63) / 60000, 1)} min on WebAssembly and ${fmt((plus256.native * 63) / 60000, 1)} min with the native kernels, by these step times.`;
  return { markdown, data };
}
