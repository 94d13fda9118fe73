import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unpackConvSigns, unpackSigns } from '../src/format/bits.js';
import { serializeBnn } from '../src/format/write.js';
import { conv2dFloatF32, conv2dInt } from './kernel_reference.js';
import { quantizePixel } from '../src/format/quantize.js';
import { DeployedGraph } from '../src/model/tfjs/deployed.js';
import { BnnInputError, BnnRuntime } from '../src/runtime/index.js';
import { initTfjs, tf } from '../src/tfjs/backend.js';
import { calibratedModel, randomImages } from './helpers.js';

const N = 64;
const images = randomImages(N, 5);

function argmax(logits: Float32Array, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (logits[i * c + j]! > logits[i * c + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** The document's rule for a binarized input: +1 iff the chain, evaluated in float64 on y, is ≥ 0. */
function chainSign(y: number, c: number, bn: { mean: Float32Array; variance: Float32Array; beta: Float32Array; gamma: Float32Array }, eps: number, before: (v: number) => number): boolean {
  const a = bn.gamma[c]! / Math.sqrt(bn.variance[c]! + eps);
  const b = bn.beta[c]! - bn.mean[c]! * a;
  return before(y) * a + b >= 0;
}

function traceOf(rt: BnnRuntime, layer: string, op: string) {
  const t = rt.trace(images, N).find((x) => x.layer === layer && x.op === op);
  assert.ok(t, `no ${op} step for ${layer}`);
  return t;
}

test('binary layers: runtime popcounts give exactly the tfjs ±1 dot products, given the same input bits', async () => {
  await initTfjs();
  for (const arch of ['B', 'C', 'S'] as const) {
    const model = await calibratedModel(arch, 32, 11, images);
    const rt = await BnnRuntime.fromModel(model, { seed: 3 });
    const trace = rt.trace(images, N);
    const conv2 = trace.find((t) => t.layer === 'conv2' && t.op === 'bconv')!;
    const input = trace.find((t) => t.value.id === rt.plan.steps[conv2.step]!.inputs[0])!;
    const [, , cin] = input.value.shape;
    const cout = 64;
    const x = tf.tensor4d(unpackSigns(input.data as Uint32Array, N * 14 * 14, cin), [N, 14, 14, cin]);
    const words = model.layers[model.graph.layers.findIndex((l) => l.name === 'conv2')]!.signWords!;
    const w = tf.tensor4d(unpackConvSigns(words, 6, 6, cin, cout), [6, 6, cin, cout]);
    const y = tf.conv2d(x, w, 2, 'valid').dataSync();
    const p = conv2.data as Int32Array;
    const nValid = 6 * 6 * cin;
    assert.equal(p.length, y.length);
    if (arch !== 'S') for (let i = 0; i < p.length; i++) assert.equal(nValid - 2 * p[i]!, y[i], `${arch}: element ${i}`);
    // Some outputs land on each side of zero: the test exercised real data.
    assert.ok(y.some((v) => v > 0) && y.some((v) => v < 0));
    tf.dispose([x, w]);
  }
});

test('a float conv1 feeding a binary layer: every runtime bit is the float64 rule on the float32 sums (FORMAT.md)', async () => {
  const model = await calibratedModel('B', 32, 12, images, { int8: false });
  const rt = await BnnRuntime.fromModel(model);
  const bits = unpackSigns(traceOf(rt, 'conv2', 'threshold').data as Uint32Array, N * 196, 32); // conv1's sign, as conv2 reads it
  const pre = conv2dFloatF32(images, N, 28, 28, 1, model.layers[0]!.weightsF32!, 32, 8, 8, 2, 2, 3, 3, 14, 14);
  const bn = model.layers[model.graph.layers.findIndex((l) => l.name === 'bn2')]!;
  const eps = (model.graph.layers.find((l) => l.name === 'bn2') as { epsilon: number }).epsilon;
  let plus = 0;
  for (let i = 0; i < pre.length; i++) {
    const want = chainSign(pre[i]!, i % 32, bn as Required<typeof bn>, eps, (v) => Math.max(v, 0));
    assert.equal(bits[i] === 1, want, `bit ${i}`);
    if (want) plus++;
  }
  assert.ok(plus > pre.length * 0.05 && plus < pre.length * 0.95, 'thresholds split the activations');
});

test('an int8 conv1: every runtime bit is the float64 rule on the exact integer sums (u8 image, int8 weights)', async () => {
  await initTfjs();
  for (const arch of ['B', 'C', 'S'] as const) {
    const model = await calibratedModel(arch, 32, 17, images);
    const l0 = model.layers[0]!;
    const conv1 = model.graph.layers[0]!;
    assert.ok(l0.weightsI8 && conv1.kind === 'quantConv2d' && conv1.int8, 'binary models export an int8 first layer');
    const rt = await BnnRuntime.fromModel(model);
    const bits = unpackSigns(traceOf(rt, 'conv1', 'qconvThreshold').data as Uint32Array, N * 196, 32);
    const acc = conv2dInt(Uint8Array.from(images, quantizePixel), N, 28, 28, 1, l0.weightsI8, 32, 8, 8, 2, 2, 3, 3, 14, 14);
    const bn = model.layers[2]!;
    const eps = (model.graph.layers[2] as { epsilon: number }).epsilon;
    let plus = 0;
    for (let i = 0; i < acc.length; i++) {
      const c = i % 32;
      const want = chainSign((acc[i]! * l0.weightScale![c]!) / 255, c, bn as Required<typeof bn>, eps, (v) => Math.max(v, 0));
      assert.equal(bits[i] === 1, want, `${arch}: bit ${i}`);
      if (want) plus++;
    }
    assert.ok(plus > acc.length * 0.05 && plus < acc.length * 0.95, 'thresholds split the activations');
    // And end to end: the labels of the rebuilt tfjs graph (deterministic models).
    if (arch !== 'S') {
      const graph = new DeployedGraph(model);
      const lt = tf.tidy(() => graph.logits(tf.tensor4d(images, [N, 28, 28, 1])).dataSync() as Float32Array);
      assert.deepEqual(argmax(rt.logits(images, N), N, 10), argmax(lt, N, 10));
      graph.dispose();
    }
  }
});

test('runtime labels and logits match the rebuilt tfjs graph (A, B, C, R) and simd = scalar bit for bit', async () => {
  await initTfjs();
  for (const arch of ['A', 'B', 'C', 'R'] as const) {
    const model = await calibratedModel(arch, 16, 13, images);
    const simd = await BnnRuntime.fromModel(model, { simd: true, maxBatch: 24 });
    const scalar = await BnnRuntime.fromModel(model, { simd: false });
    const ls = simd.logits(images, N);
    assert.deepEqual(scalar.logits(images, N), ls, `${arch}: scalar and simd logits differ`);
    const graph = new DeployedGraph(model);
    const lt = tf.tidy(() => graph.logits(tf.tensor4d(images, [N, 28, 28, 1])).dataSync() as Float32Array);
    const a = argmax(ls, N, 10);
    const b = argmax(lt, N, 10);
    let agree = 0;
    for (let i = 0; i < N; i++) agree += a[i] === b[i] ? 1 : 0;
    assert.ok(agree >= N - 1, `${arch}: ${agree}/${N} labels agree`);
    if (arch === 'A' || arch === 'R') {
      // Float end to end: the logits themselves agree up to summation order.
      const worst = ls.reduce((w, v, i) => Math.max(w, Math.abs(v - lt[i]!)), 0);
      const scale = lt.reduce((w, v) => Math.max(w, Math.abs(v)), 0);
      assert.ok(worst <= 1e-4 * scale, `${arch}: runtime logits differ from tfjs by ${worst} (largest ${scale})`);
    }
    assert.deepEqual(simd.predict(images, N), a);
    graph.dispose();
  }
});

test('model S resamples its stochastic layer: per call, per image, reproducible by seed', async () => {
  const model = await calibratedModel('S', 16, 14, images);
  const rt = await BnnRuntime.fromModel(model, { seed: 42 });
  const eight = images.subarray(0, 8 * 784);
  const first = rt.logits(eight, 8);
  const second = rt.logits(eight, 8);
  assert.notDeepEqual(first, second, 'two calls draw different weights');
  rt.reseed(42);
  assert.deepEqual(rt.logits(eight, 8), first, 'same seed, same draw');
  const perImage = await BnnRuntime.fromModel(model, { seed: 42, resample: 'per-image' });
  const same = new Float32Array(8 * 784);
  for (let i = 0; i < 8; i++) same.set(images.subarray(0, 784), i * 784);
  const l = perImage.logits(same, 8);
  let distinct = 0;
  for (let i = 1; i < 8; i++) if (l.subarray(i * 10, i * 10 + 10).some((v, j) => v !== l[j])) distinct++;
  assert.ok(distinct >= 6, `per-image sampling gives one image different logits in each slot (${distinct}/7)`);
});

test('bad inputs get typed errors; the runtime keeps working after them', async () => {
  const rt = await BnnRuntime.load(serializeBnn(await calibratedModel('B', 8, 15, images)));
  const err = (f: () => unknown, code: string) => assert.throws(f, (e: unknown) => e instanceof BnnInputError && e.code === code);
  err(() => rt.predict(images.subarray(0, 783), 1), 'BAD_LENGTH');
  err(() => rt.predict(images, 0), 'BAD_COUNT');
  err(() => rt.predict(images, 1.5), 'BAD_COUNT');
  err(() => rt.predict([1, 2] as unknown as Float32Array, 1), 'BAD_TYPE');
  const bad = images.slice(0, 784);
  bad[300] = NaN;
  err(() => rt.predict(bad, 1), 'NOT_FINITE');
  bad[300] = 1.5;
  err(() => rt.predict(bad, 1), 'OUT_OF_RANGE');
  const clipped = await BnnRuntime.load(serializeBnn(await calibratedModel('B', 8, 15, images)), { inputRange: 'clip' });
  const ok = bad.slice();
  ok[300] = 1;
  assert.deepEqual(clipped.predict(bad, 1), clipped.predict(ok, 1));
  // Bytes 0–255 are pixels / 255.
  const u8 = Uint8Array.from(images.subarray(0, 784 * 4), (v) => Math.round(v * 255));
  assert.deepEqual(rt.logits(u8, 4), rt.logits(Float32Array.from(u8, (v) => v / 255), 4));
  assert.equal(rt.predict(images, N).length, N);
});

test('memory stays flat over 10,000 calls', async () => {
  const rt = await BnnRuntime.fromModel(await calibratedModel('C', 16, 16, images), { maxBatch: 32 });
  const one = images.subarray(0, 784);
  rt.predict(images, N); // streams in chunks of 32
  const before = rt.memoryBytes;
  for (let i = 0; i < 10000; i++) rt.predict(one, 1);
  assert.equal(rt.memoryBytes, before);
});

test('model A has no biases, so it is positively homogeneous: logits(αx) = α·logits(x) on the runtime', async () => {
  // docs/REPRODUCTION.md leans on this to explain why PGD training cannot make A as robust as
  // Madry's MNIST network: without a bias no unit can threshold a pixel, and an ε-ball around x
  // holds (1 − ε)·x + ε·u for every u, which A sees as x + ε/(1 − ε)·u.
  const model = await calibratedModel('A', 16, 13, images);
  const rt = await BnnRuntime.fromModel(model);
  const base = rt.logits(images, N);
  for (const alpha of [0.7, 0.25]) {
    const scaled = images.map((v) => v * alpha);
    const got = rt.logits(scaled, N);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < base.length; i++) {
      worst = Math.max(worst, Math.abs(got[i]! - alpha * base[i]!));
      scale = Math.max(scale, Math.abs(base[i]!));
    }
    assert.ok(worst <= 1e-4 * scale, `α=${alpha}: logits deviate from α·logits by ${worst} (largest logit ${scale})`);
    assert.deepEqual(rt.predict(scaled, N), rt.predict(images, N), `α=${alpha}: labels change under scaling`);
  }
  // With biases (model R) it is not: a bias is what lets a unit threshold its input. Nor is a
  // binarized model (B): batch norm's shift acts as a per-channel threshold.
  for (const arch of ['R', 'B'] as const) {
    const other = await BnnRuntime.fromModel(await calibratedModel(arch, 16, 13, images));
    const full = other.logits(images, N);
    const quarter = other.logits(images.map((v) => v * 0.25), N);
    assert.ok(full.some((v, i) => Math.abs(quarter[i]! - 0.25 * v) > 1e-3 * Math.max(1, Math.abs(v))), `${arch} scaled exactly like A`);
  }
});

test('trace: each step as its kernel left it, for a batch as for each image alone (the arena reuses memory after a value is last read)', async () => {
  const { readFileSync } = await import('node:fs');
  const { parseBnn } = await import('../src/format/read.js');
  for (const file of ['b64.bnn', 'bireal-fashion.bnn']) {
    const model = parseBnn(readFileSync(new URL(`../../models/${file}`, import.meta.url)));
    const rt = await BnnRuntime.load(serializeBnn(model));
    const px = 784; // both take 28×28×1
    const batch = randomImages(4, 9);
    const all = rt.trace(batch, 4);
    for (let i = 0; i < 4; i++) {
      const one = rt.trace(batch.subarray(i * px, (i + 1) * px), 1);
      for (let k = 0; k < all.length; k++) {
        const per = all[k]!.data.length / 4;
        assert.deepEqual(Array.from(all[k]!.data.subarray(i * per, (i + 1) * per)), Array.from(one[k]!.data), `${file}: image ${i}, step ${all[k]!.step} (${all[k]!.op} ${all[k]!.layer})`);
      }
    }
    // The last step is the logits.
    assert.deepEqual(Array.from(all[all.length - 1]!.data), Array.from(rt.logits(batch, 4)));
    rt.dispose();
  }
});
