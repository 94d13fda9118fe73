import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadData } from '../src/data/index.js';
import { initParams } from '../src/model/params.js';
import { batchNormalize, type ChannelMoments } from '../src/model/tfjs/batch_norm.js';
import { maxRelErr } from './helpers.js';
import { signSte, bernoulliSte } from '../src/model/tfjs/ops.js';
import { larqTutorial, paperModel } from '../src/model/presets.js';
import { defineGraph } from '../src/model/graph.js';
import { popcount32 } from '../src/format/bits.js';
import { modelFromParams } from '../src/format/model.js';
import { evaluateParity } from '../src/eval/parity.js';
import { widenParams } from '../src/model/widen.js';
import { Rng } from '../src/util/rng.js';
import { TrainableModel, type BatchMoments } from '../src/model/tfjs/trainable.js';
import { Adam } from '../src/train/adam.js';
import { CorruptCheckpointError, loadCheckpoint, saveCheckpoint, type Checkpoint } from '../src/train/checkpoint.js';
import { flatLayout, flattenTrainable } from '../src/train/flat.js';
import { ShardTrainer } from '../src/train/shard.js';
import { rampedAttack, ResumeError, train, trainDataCrc32 } from '../src/train/train.js';
import { initTfjs, tf } from '../src/tfjs/backend.js';

const data = loadData();

test('a short training run lowers the loss and beats chance by far', async () => {
  const ckpt = await train({ graph: paperModel('C', 16), data, epochs: 3, limit: 4096, seed: 5, progress: false, lrSchedule: 'constant', augmentShift: 0 });
  const [e1, , e3] = ckpt.history;
  assert.ok(e3!.loss < e1!.loss, `loss ${e1!.loss} → ${e3!.loss}`);
  assert.ok(ckpt.testAccuracy > 0.5, `test accuracy ${ckpt.testAccuracy} (chance is 0.1)`);
});

test('training is deterministic for a seed, whatever the number of workers', async () => {
  const opts = { graph: paperModel('S', 8), data, epochs: 1, limit: 640, seed: 9, progress: false };
  const a = await train({ ...opts, workers: 0 });
  const b = await train({ ...opts, workers: 2 });
  for (const [name, v] of a.params) assert.deepEqual(b.params.get(name), v, `${name} differs`);
  assert.equal(a.testAccuracy, b.testAccuracy);
  const c = await train({ ...opts, workers: 0, seed: 10 });
  assert.notDeepEqual(c.params.get('conv1/kernel'), a.params.get('conv1/kernel'));
});

test('checkpoints round-trip', async () => {
  const ckpt = await train({ graph: paperModel('C', 8), data, epochs: 1, limit: 256, progress: false, workers: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'bnn-ckpt-'));
  saveCheckpoint(dir, ckpt);
  const back = loadCheckpoint(dir);
  assert.deepEqual(back.graph, ckpt.graph);
  for (const [name, v] of ckpt.params) assert.deepEqual(back.params.get(name), v);
  assert.equal(back.training.seed, ckpt.training.seed);
});

test('PGD adversarial training runs and records its settings', async () => {
  const ckpt = await train({ graph: paperModel('A', 8), data, epochs: 2, limit: 256, progress: false, workers: 0, adversarial: { eps: 0.3, step: 0.1, steps: 3, cleanEpochs: 1 } });
  assert.deepEqual(ckpt.training.adversarial, { kind: 'pgd', eps: 0.3, step: 0.1, steps: 3, cleanEpochs: 1, weight: 0.5 });
  assert.ok(Number.isFinite(ckpt.history[1]!.loss));
});

test('the adversarial loss weight: 1 trains on PGD loss only (higher than the 50/50 mix); out of (0, 1] is refused', async () => {
  const base = await train({ graph: paperModel('A', 8), data, epochs: 2, limit: 512, progress: false, workers: 0, seed: 3 });
  const opts = { graph: paperModel('A', 8), data, epochs: 1, limit: 512, progress: false, workers: 0, seed: 4, initial: base.params };
  const adv = { eps: 0.3, step: 0.1, steps: 3, cleanEpochs: 0 };
  const clean = await train(opts);
  const mix = await train({ ...opts, adversarial: { ...adv, weight: 0.5 } });
  const madry = await train({ ...opts, adversarial: { ...adv, weight: 1 } });
  assert.equal(madry.training.adversarial?.weight, 1);
  // Same start, same batches: the loss reported is clean < 50/50 mix < adversarial only.
  assert.ok(clean.history[0]!.loss < mix.history[0]!.loss, `clean ${clean.history[0]!.loss} vs mix ${mix.history[0]!.loss}`);
  assert.ok(mix.history[0]!.loss < madry.history[0]!.loss, `mix ${mix.history[0]!.loss} vs adversarial ${madry.history[0]!.loss}`);
  // Starting from trained parameters: the first epoch's loss is below a fresh start's.
  const fresh = await train({ ...opts, initial: undefined });
  assert.ok(clean.history[0]!.loss < fresh.history[0]!.loss, `from trained ${clean.history[0]!.loss} vs fresh ${fresh.history[0]!.loss}`);
  await assert.rejects(train({ ...opts, adversarial: { ...adv, weight: 0 } }), /adversarial loss weight must be in \(0, 1\], got 0/);
  // As many clean epochs as epochs: no epoch would be adversarial, yet the record would say it was.
  await assert.rejects(train({ ...opts, adversarial: { ...adv, cleanEpochs: 1 } }), /after 1 clean epochs needs more than 1 epochs in all \(got 1\)/);
});

test("FGSM adversarial training (the paper's \"+\" models): recorded as one step of ε; its loss between clean and PGD-10's", async () => {
  const base = await train({ graph: paperModel('A', 8), data, epochs: 2, limit: 512, progress: false, workers: 0, seed: 3 });
  const opts = { graph: paperModel('A', 8), data, epochs: 1, limit: 512, progress: false, workers: 0, seed: 4, initial: base.params };
  const clean = await train(opts);
  // step and steps are FGSM's own whatever is passed.
  const fgsm = await train({ ...opts, adversarial: { kind: 'fgsm', eps: 0.3, step: 0.01, steps: 40, cleanEpochs: 0, weight: 1 } });
  assert.deepEqual(fgsm.training.adversarial, { kind: 'fgsm', eps: 0.3, step: 0.3, steps: 1, cleanEpochs: 0, weight: 1 });
  const pgd = await train({ ...opts, adversarial: { eps: 0.3, step: 0.05, steps: 10, cleanEpochs: 0, weight: 1 } });
  // Same start, same batches: FGSM's single step from the clean image is a weaker attack than ten from a random start.
  assert.ok(clean.history[0]!.loss < fgsm.history[0]!.loss, `clean ${clean.history[0]!.loss} vs FGSM ${fgsm.history[0]!.loss}`);
  assert.ok(fgsm.history[0]!.loss < pgd.history[0]!.loss, `FGSM ${fgsm.history[0]!.loss} vs PGD-10 ${pgd.history[0]!.loss}`);
});

test('ε ramp: grows linearly from 0 to ε over the ramp epochs, the step with it; a ramped run trains at lower loss', async () => {
  const adv = { eps: 0.3, step: 0.1, steps: 3, cleanEpochs: 0, rampEpochs: 2 };
  assert.deepEqual(rampedAttack(adv, 0), { eps: 0, step: 0 });
  const half = rampedAttack(adv, 1);
  assert.ok(Math.abs(half.eps - 0.15) < 1e-12 && Math.abs(half.step - 0.05) < 1e-12);
  assert.deepEqual(rampedAttack(adv, 5), { eps: 0.3, step: 0.1 });
  assert.deepEqual(rampedAttack({ ...adv, rampEpochs: 0 }, 0), { eps: 0.3, step: 0.1 });
  // Same start and batches: the ramped first epoch sees weaker attacks, so a lower loss.
  const opts = { graph: paperModel('A', 8), data, epochs: 1, limit: 512, progress: false, workers: 0, seed: 4 };
  const full = await train({ ...opts, adversarial: { ...adv, rampEpochs: 0, weight: 1 } });
  const ramped = await train({ ...opts, adversarial: { ...adv, rampEpochs: 1, weight: 1 } });
  assert.equal(ramped.training.adversarial?.rampEpochs, 1);
  assert.ok(ramped.history[0]!.loss < full.history[0]!.loss, `ramped ${ramped.history[0]!.loss} vs full ${full.history[0]!.loss}`);
  // A ramp that outlasts the adversarial epochs would never reach ε: refused.
  await assert.rejects(train({ ...opts, adversarial: { ...adv, weight: 1 } }), /the ε ramp \(2 epochs\) must end within the 1 adversarial epochs/);
});

test("sign straight-through estimators: ±1 forward (sign(0) = +1); the paper's clipped gradient, Larq's gradient where |x| ≤ 1", async () => {
  await initTfjs();
  const x = tf.tensor1d([-2, -0.5, 0, 0.3, 4]);
  const g = tf.tensor1d([0.5, -3, 2, 0.1, -0.2]);
  for (const q of ['ste_sign', 'ste_sign_gradclip'] as const) assert.deepEqual(Array.from(signSte(q, x).dataSync()), [-1, -1, 1, 1, 1]);
  const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(signSte('ste_sign_gradclip', v), g)))(x);
  assert.deepEqual(grad.dataSync(), Float32Array.from([0.5, -1, 1, 0.1, -0.2]));
  const larq = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(signSte('ste_sign', v), g)))(x);
  assert.deepEqual(Array.from(larq.dataSync(), (v) => v + 0), [0, -3, 2, Math.fround(0.1), 0]);
  // Bernoulli weights: ±1 values, gradient passes where |w| ≤ 1.
  const w = tf.tensor1d([-1.5, -0.2, 0.7, 2]);
  const sample = bernoulliSte(w, 1).dataSync();
  assert.ok(Array.from(sample).every((v) => v === 1 || v === -1));
  assert.equal(sample[0], -1, 'p = 0 for w ≤ −1');
  assert.equal(sample[3], 1, 'p = 1 for w ≥ 1');
  const gw = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(bernoulliSte(v, 2), tf.tensor1d([2, 0.5, -0.5, 1]))))(w);
  assert.deepEqual(gw.dataSync(), Float32Array.from([0, 0.5, -0.5, 0]));
});

test('batch normalization: the values, moments and gradients of tf.moments and broadcasting ops', async () => {
  await initTfjs();
  const shape: [number, number, number, number] = [3, 5, 4, 6];
  const x = tf.randomNormal(shape, 0.7, 2, 'float32', 3) as tf.Tensor4D;
  const beta = tf.randomNormal([6], 0, 1, 'float32', 4) as tf.Tensor1D;
  const weight = tf.randomNormal(shape, 0, 1, 'float32', 5);
  const reference = (xv: tf.Tensor, bv: tf.Tensor) => {
    const { mean, variance } = tf.moments(xv, [0, 1, 2]);
    return tf.add(tf.div(tf.sub(xv, mean), tf.sqrt(tf.add(variance, 1e-3))), bv);
  };
  let seen: ChannelMoments | null = null;
  const ours = batchNormalize(x, beta, null, 1e-3, (m) => (seen = m));
  assertClose(ours.dataSync(), reference(x, beta).dataSync(), 1e-5, 'values');
  const expected = tf.moments(x, [0, 1, 2]);
  assert.ok(seen, 'the moments were handed out');
  const got = seen as ChannelMoments;
  assertClose(got.mean.dataSync(), expected.mean.dataSync(), 1e-5, 'mean');
  assertClose(got.variance.dataSync(), expected.variance.dataSync(), 1e-5, 'variance');
  // A loss that weights every output differently, so that no gradient term cancels by symmetry.
  const loss = (norm: (xv: tf.Tensor, bv: tf.Tensor) => tf.Tensor) => tf.grads((xv: tf.Tensor, bv: tf.Tensor) => tf.sum(tf.mul(tf.square(norm(xv, bv)), weight)));
  const [dx, dBeta] = loss((xv, bv) => batchNormalize(xv as tf.Tensor4D, bv as tf.Tensor1D, null, 1e-3))([x, beta]);
  const [dxRef, dBetaRef] = loss(reference)([x, beta]);
  assertClose(dx!.dataSync(), dxRef!.dataSync(), 1e-4, 'dx');
  assertClose(dBeta!.dataSync(), dBetaRef!.dataSync(), 1e-4, 'dβ');
  // With a scale γ (Keras's BatchNormalization(scale=True)): values and all three gradients.
  const gamma = tf.randomNormal([6], 1, 0.5, 'float32', 6) as tf.Tensor1D;
  const refScaled = (xv: tf.Tensor, bv: tf.Tensor, gv: tf.Tensor) => {
    const { mean, variance } = tf.moments(xv, [0, 1, 2]);
    return tf.add(tf.mul(tf.div(tf.sub(xv, mean), tf.sqrt(tf.add(variance, 1e-3))), gv), bv);
  };
  assertClose(batchNormalize(x, beta, gamma, 1e-3).dataSync(), refScaled(x, beta, gamma).dataSync(), 1e-5, 'values with γ');
  const loss3 = (norm: (xv: tf.Tensor, bv: tf.Tensor, gv: tf.Tensor) => tf.Tensor) => tf.grads((xv: tf.Tensor, bv: tf.Tensor, gv: tf.Tensor) => tf.sum(tf.mul(tf.square(norm(xv, bv, gv)), weight)));
  const ours3 = loss3((xv, bv, gv) => batchNormalize(xv as tf.Tensor4D, bv as tf.Tensor1D, gv as tf.Tensor1D, 1e-3))([x, beta, gamma]);
  const ref3 = loss3(refScaled)([x, beta, gamma]);
  for (const [i, what] of ['dx', 'dβ', 'dγ'].entries()) assertClose(ours3[i]!.dataSync(), ref3[i]!.dataSync(), 1e-4, `${what} with γ`);
});

function assertClose(got: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  const err = maxRelErr(got, ref);
  assert.ok(err <= tol, `${what}: relative error ${err} > ${tol}`);
}

test('SReLU scales the ReLU output and learns; model S resamples conv3 at every call', async () => {
  await initTfjs();
  const spec = paperModel('S', 8);
  const params = initParams(spec, 3);
  const model = new TrainableModel(spec, params, 4);
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const a = model.logits(x, 'moving').dataSync();
  const b = model.logits(x, 'moving').dataSync();
  assert.notDeepEqual(a, b, 'two forward passes sample different conv3 weights');
  model.reseed(7);
  const c = model.logits(x, 'moving').dataSync();
  model.reseed(7);
  assert.deepEqual(model.logits(x, 'moving').dataSync(), c);
  // The logits are linear in conv3's SReLU scale (dense has no bias): doubling it doubles them.
  const scale = model.vars.get('scale3/scale')!;
  model.reseed(7);
  scale.assign(tf.scalar(2 * scale.dataSync()[0]!));
  const doubled = model.logits(x, 'moving').dataSync();
  c.forEach((v, i) => assert.ok(Math.abs(doubled[i]! - 2 * v) <= 1e-4 * Math.abs(v) + 1e-6));
  // And the scale gets a gradient.
  const { grads } = tf.variableGrads(() => tf.sum(model.logits(x, 'batch')) as tf.Scalar, [scale]);
  assert.notEqual(grads[scale.name]!.dataSync()[0], 0);
  model.dispose();
});

test('frozen binary weights (the PGD steps of adversarial training): same logits and input gradient, bit for bit, and no weight gradient', async () => {
  await initTfjs();
  const spec = paperModel('C', 8);
  const model = new TrainableModel(spec, initParams(spec, 5), 1);
  const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const inputGrad = () => tf.grad((xi: tf.Tensor) => tf.sum(tf.square(model.logits(xi as tf.Tensor4D, 'batch'))))(x);
  const logits = model.logits(x, 'batch').dataSync();
  const g = inputGrad().dataSync();
  const before = tf.memory().numTensors;
  let frozenLogits: tf.TypedArray = new Float32Array();
  let frozenG: tf.TypedArray = new Float32Array();
  tf.tidy(() => {
    [frozenLogits, frozenG] = model.withFrozenBinaryWeights(() => [model.logits(x, 'batch').dataSync(), inputGrad().dataSync()]);
  });
  assert.deepEqual(frozenLogits, logits);
  assert.deepEqual(frozenG, g);
  assert.ok(g.some((v) => v !== 0), 'the input gradient is not trivially zero');
  assert.equal(tf.memory().numTensors, before, 'the binarized weights are released');
  // Inside, conv2's weights are constants: the loss has no gradient path to them.
  const kernel = model.vars.get('conv2/kernel')!;
  model.withFrozenBinaryWeights(() => {
    assert.throws(() => tf.variableGrads(() => tf.sum(model.logits(x, 'batch')) as tf.Scalar, [kernel]), /connection between any variable/);
  });
  const { grads } = tf.variableGrads(() => tf.sum(model.logits(x, 'batch')) as tf.Scalar, [kernel]);
  assert.ok(grads[kernel.name]!.dataSync().some((v) => v !== 0), 'outside, the straight-through gradient reaches the weights');
  model.dispose();
});

test('host Adam matches tf.train.adam', async () => {
  await initTfjs();
  const init = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
  const target = Float32Array.from({ length: 50 }, (_, i) => Math.cos(i));
  const v = tf.variable(tf.tensor1d(init));
  const t = tf.tensor1d(target);
  const opt = tf.train.adam(0.01);
  const mine = new Adam(50, 0.01);
  const p = init.slice();
  for (let s = 0; s < 20; s++) {
    opt.minimize(() => tf.sum(tf.square(tf.sub(v, t))) as tf.Scalar, false, [v]);
    const g = p.map((x, i) => 2 * (x - target[i]!));
    mine.step(p, g);
  }
  const ref = v.dataSync();
  for (let i = 0; i < 50; i++) assert.ok(Math.abs(ref[i]! - p[i]!) < 1e-5, `param ${i}: ${ref[i]} vs ${p[i]}`);
});

/** The resume state files in a checkpoint directory. */
const resumeFiles = (dir: string) => readdirSync(dir).filter((f) => /^resume-\d+\.bin$/.test(f));

test('a run stopped between epochs resumes from its checkpoint to the same model, bit for bit', async () => {
  // S (weight sampling), augmentation and PGD after a clean epoch: every random draw must continue where it stopped.
  const opts = { graph: paperModel('S', 8), data, epochs: 3, limit: 384, seed: 11, progress: false, workers: 0, adversarial: { eps: 0.3, step: 0.1, steps: 2, cleanEpochs: 1 } };
  const dir = mkdtempSync(join(tmpdir(), 'bnn-resume-'));
  try {
    const whole = await train({
      ...opts,
      onEpoch: (r, snapshot) => {
        if (r.epoch <= 2) saveCheckpoint(dir, snapshot());
      },
    });
    assert.equal(whole.resume, undefined, 'a finished run carries no resume state');
    assert.deepEqual(resumeFiles(dir), ['resume-6.bin'], "each save replaces the previous save's state (3 batches per epoch)");
    const stopped = loadCheckpoint(dir, { resume: true });
    assert.equal(stopped.history.length, 2);
    assert.ok(stopped.resume, 'a mid-run checkpoint keeps its resume state');
    assert.equal(loadCheckpoint(dir).resume, undefined, 'read only when asked for');
    const resumed = await train({ ...opts, resume: stopped });
    for (const [name, v] of whole.params) assert.deepEqual(resumed.params.get(name), v, `${name} differs after resuming`);
    assert.deepEqual(resumed.history.map((h) => [h.epoch, h.loss, h.testAccuracy]), whole.history.map((h) => [h.epoch, h.loss, h.testAccuracy]));
    // Saving the finished run drops the resume state.
    saveCheckpoint(dir, resumed);
    assert.equal(loadCheckpoint(dir, { resume: true }).resume, undefined);
    assert.deepEqual(resumeFiles(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resuming refuses a different run, a finished run, and damaged resume state', async () => {
  const opts = { graph: paperModel('C', 8), data, epochs: 2, limit: 256, seed: 2, progress: false, workers: 0 };
  const dir = mkdtempSync(join(tmpdir(), 'bnn-resume-'));
  try {
    const whole = await train({ ...opts, onEpoch: (_, snapshot) => saveCheckpoint(dir, snapshot()) });
    await assert.rejects(train({ ...opts, resume: whole }), (e: Error) => e instanceof ResumeError && /cannot resume: the checkpoint holds no resume state: it finished its run/.test(e.message) && e.settings.length === 0);
    await train({ ...opts, onEpoch: (r, snapshot) => r.epoch === 1 && saveCheckpoint(dir, snapshot()) });
    const stopped = loadCheckpoint(dir, { resume: true });
    const state = stopped.resume!;
    await assert.rejects(train({ ...opts, seed: 3, resume: stopped }), /settings differ from the checkpoint's run .*seed 3 \(the run: 2\)/);
    await assert.rejects(train({ ...opts, seed: 3, limit: 200, resume: stopped }), (e: Error) => e instanceof ResumeError && e.settings.join() === 'seed,trainImages', 'the error names the differing record fields for callers to act on');
    await assert.rejects(train({ ...opts, lrSchedule: 'constant', resume: stopped }), /lrSchedule "constant" \(the run: "cosine"\)/);
    await assert.rejects(train({ ...opts, shards: 4, resume: stopped }), /shards 4 \(the run: 2\)/);
    await assert.rejects(train({ ...opts, graph: paperModel('C', 16), resume: stopped }), /the checkpoint's model \(c8\) is not the model of this run \(c16\)/);
    // Other images under the same name and count: caught by the CRC of the data; a record without one (older) is known by name and size.
    const images = data.train.images.slice();
    images[100 * 784] = 1 - images[100 * 784]!; // the first pixel of image 100
    const otherData = { ...data, train: { ...data.train, images } };
    await assert.rejects(train({ ...opts, data: otherData, resume: stopped }), /trainCrc32 0x[0-9a-f]{8} \(the run: 0x[0-9a-f]{8}\)/);
    assert.equal(stopped.training.trainCrc32, trainDataCrc32(data.train, 256));
    assert.notEqual(trainDataCrc32(otherData.train, 256), trainDataCrc32(data.train, 256));
    assert.equal(trainDataCrc32(otherData.train, 99), trainDataCrc32(data.train, 99), 'only the images the run trains on count');
    await assert.rejects(train({ ...opts, initial: whole.params, resume: stopped }), /either initial parameters or a checkpoint to resume/);
    // Damaged state is refused before training, never followed into a crash or a silently different model.
    const damaged = (change: Partial<typeof state>) => train({ ...opts, resume: { ...stopped, resume: { ...state, ...change } } });
    await assert.rejects(damaged({ order: state.order.map(() => 7) }), /ResumeError: cannot resume: resume state: batch order is not a permutation of the 256 training images/);
    await assert.rejects(damaged({ steps: state.steps + 1 }), /3 optimizer steps recorded, but 1 epochs of 2 batches were run/);
    await assert.rejects(damaged({ rng: 'abcd' as unknown as number[] }), /the generator state "abcd" is not four 32-bit words/);
    await assert.rejects(damaged({ adamV: state.adamV.slice(1) }), /optimizer moments, the model has/);
    // On disk: files from different saves are caught by their CRCs, malformed fields by name.
    const jsonPath = join(dir, 'checkpoint.json');
    const json = readFileSync(jsonPath, 'utf8');
    writeFileSync(jsonPath, json.replace(/"values": \d+/, '"values": -3'));
    assert.throws(() => loadCheckpoint(dir, { resume: true }), (e: Error) => e instanceof CorruptCheckpointError && /"resume" must name a resume-N\.bin file and give non-negative integer steps, values/.test(e.message));
    assert.ok(loadCheckpoint(dir).params.size > 0, 'the model itself still loads (export, --init)');
    writeFileSync(jsonPath, json);
    const file = join(dir, resumeFiles(dir)[0]!);
    const bytes = readFileSync(file);
    // A longer or shorter file is corrupt state (a run then trains again), not a read failure.
    for (const wrong of [Buffer.concat([bytes, Buffer.alloc(4)]), bytes.subarray(4)]) {
      writeFileSync(file, wrong);
      assert.throws(() => loadCheckpoint(dir, { resume: true }), (e: Error) => e instanceof CorruptCheckpointError && new RegExp(`${wrong.length === bytes.length + 4 ? bytes.length + 1 : bytes.length - 4} bytes, expected ${bytes.length}`).test(e.message));
    }
    bytes[10] = bytes[10]! ^ 0xff;
    writeFileSync(file, bytes);
    assert.throws(() => loadCheckpoint(dir, { resume: true }), /resume-2\.bin: CRC-32 does not match checkpoint\.json/);
    const weights = join(dir, 'weights.bin');
    const w = readFileSync(weights);
    w[0] = w[0]! ^ 0xff;
    writeFileSync(weights, w);
    assert.throws(() => loadCheckpoint(dir), (e: Error) => e instanceof CorruptCheckpointError && /weights\.bin: CRC-32 does not match/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('widening a float model (Net2WiderNet) keeps its logits, breaks the copies\' symmetry, and refuses binary models', async () => {
  await initTfjs();
  const x = tf.randomUniform([6, 28, 28, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
  for (const arch of ['A', 'R'] as const) {
    const spec = paperModel(arch, 8);
    const params = initParams(spec, 5);
    const rng = new Rng(9);
    // Non-zero biases, so copying them is tested too.
    for (const [name, v] of params) if (name.endsWith('/bias')) for (let i = 0; i < v.length; i++) v[i] = 0.1 * rng.normal();
    const narrow = new TrainableModel(spec, params);
    const before = narrow.logits(x, 'moving').dataSync();
    for (const toK of [12, 16]) {
      const widened = widenParams(spec, params, toK, 3);
      assert.deepEqual(widened.graph, paperModel(arch, toK));
      const wide = new TrainableModel(widened.graph, widened.params);
      assertClose(wide.logits(x, 'moving').dataSync(), before, 1e-4, `${arch}-8 → ${toK} logits`);
      // conv1 unit j + 8 copies unit j: same incoming weights, but different outgoing shares, so
      // the loss's gradient on the two copies' weights differs.
      const k1 = widened.params.get('conv1/kernel')!;
      for (let i = 0; i < k1.length; i += toK) assert.equal(k1[i + 8], k1[i]);
      const [g] = Object.values(tf.variableGrads(() => tf.sum(tf.square(wide.logits(x, 'moving'))) as tf.Scalar, [wide.vars.get('conv1/kernel')!]).grads);
      const gv = g!.dataSync();
      let differ = 0;
      for (let i = 0; i < gv.length; i += toK) if (Math.abs(gv[i]! - gv[i + 8]!) > 1e-6 * (Math.abs(gv[i]!) + 1e-6)) differ++;
      assert.ok(differ > 0.9 * (gv.length / toK), `${arch}-8 → ${toK}: the copies' gradients differ on only ${differ} of ${gv.length / toK} weights`);
      wide.dispose();
    }
    narrow.dispose();
  }
  assert.throws(() => widenParams(paperModel('B', 8), initParams(paperModel('B', 8), 1), 16, 1), /has binary layers; only float models/);
  assert.throws(() => widenParams(paperModel('A', 8), initParams(paperModel('A', 8), 1), 4, 1), /below the model's 8/);
});

test('every layer kind trains (strides, both SAME pad values, pools, residual add, scale, Larq ste_sign, bias), and the export runs as trained', async () => {
  const graph = defineGraph({
    name: 'everything',
    input: [28, 28, 1],
    classes: 10,
    layers: [
      { kind: 'quantConv2d', name: 'stem', filters: 16, kernelSize: 3, strides: [2, 1], padding: 'same', kernelQuantizer: 'ste_sign' },
      { kind: 'batchNorm', name: 'bn0' },
      { kind: 'maxPool2d', name: 'p0', poolSize: 2, padding: 'same' },
      { kind: 'batchNorm', name: 'bn1', scale: false },
      { kind: 'quantConv2d', name: 'c1', filters: 16, kernelSize: 3, padding: 'same', padValue: 0, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
      { kind: 'batchNorm', name: 'bn2' },
      { kind: 'add', name: 'res', inputs: ['bn2', 'p0'] },
      { kind: 'relu', name: 'r' },
      { kind: 'scale', name: 's', init: 0.5 },
      { kind: 'avgPool2d', name: 'ap', poolSize: 2 },
      { kind: 'batchNorm', name: 'bn3' },
      { kind: 'quantConv2d', name: 'c2', filters: 40, kernelSize: [2, 3], padding: 'same', padValue: 1, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
      { kind: 'batchNorm', name: 'bn4' },
      { kind: 'globalAvgPool2d', name: 'gap' },
      { kind: 'quantDense', name: 'd1', units: 32, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
      { kind: 'batchNorm', name: 'bn5' },
      { kind: 'quantDense', name: 'd2', units: 10, useBias: true },
    ],
  });
  const ckpt = await train({ graph, data, epochs: 2, limit: 1024, progress: false, workers: 0, seed: 2 });
  assert.ok(ckpt.history[1]!.loss < ckpt.history[0]!.loss, `loss ${ckpt.history.map((h) => h.loss).join(' → ')}`);
  assert.ok(ckpt.testAccuracy > 0.2, `test accuracy ${ckpt.testAccuracy} (chance is 0.1)`);
  // Parameters that start at a constant moved: γ from 1, β and the bias from 0, the scale from its init.
  for (const [name, start] of [['bn0/gamma', 1], ['bn1/beta', 0], ['s/scale', 0.5], ['d2/bias', 0]] as const) {
    assert.ok(ckpt.params.get(name)!.some((x) => x !== start), `${name} was trained`);
  }
  const model = modelFromParams(ckpt.graph, ckpt.params);
  const r = await evaluateParity('everything', model, data.test, { limit: 300 });
  assert.equal(r.agreement, 1, 'the runtime agrees with the tfjs rebuild on every image');
  assert.ok(Math.abs(r.runtimeAccuracy - ckpt.testAccuracy) < 0.08, `runtime ${r.runtimeAccuracy} on 300 images vs checkpoint ${ckpt.testAccuracy} on 2,000`);
});

test("--weight-clip: binary layers' latent weights stay in [−1, 1] (Larq's weight_clip); without it they are not clipped", async () => {
  const graph = larqTutorial();
  const initial = initParams(graph, 4);
  for (const [name, v] of initial) if (name.endsWith('/kernel')) for (let i = 0; i < v.length; i++) v[i] = v[i]! * 20;
  const opts = { graph, data, epochs: 1, limit: 256, progress: false, workers: 0, seed: 1, initial };
  const clipped = await train({ ...opts, weightClip: true });
  const free = await train(opts);
  assert.equal(clipped.training.weightClip, true);
  assert.equal(free.training.weightClip, undefined);
  for (const l of graph.layers) {
    if (l.kind !== 'quantConv2d' && l.kind !== 'quantDense') continue;
    const k = clipped.params.get(`${l.name}/kernel`)!;
    const extreme = Math.max(...Array.from(k, Math.abs));
    if (l.kernelQuantizer) assert.ok(extreme <= 1, `${l.name}: |w| up to ${extreme}`);
    assert.ok(Math.max(...Array.from(free.params.get(`${l.name}/kernel`)!, Math.abs)) > 1, `${l.name}: without clipping the scaled weights stay large`);
  }
});

test('ternary layers (ste_tern) train, export as trained, and --l1 makes them sparser; only ternary kernels are pulled toward 0', async () => {
  const graph = defineGraph({
    name: 'ternary',
    input: [28, 28, 1],
    classes: 10,
    layers: [
      { kind: 'quantConv2d', name: 'mask', filters: 1, kernelSize: 1, useBias: true },
      { kind: 'quantConv2d', name: 'c1', filters: 16, kernelSize: 3, strides: 2, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
      { kind: 'batchNorm', name: 'bn1', scale: false },
      { kind: 'flatten', name: 'f' },
      { kind: 'quantDense', name: 'd1', units: 32, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
      { kind: 'batchNorm', name: 'bn2', scale: false },
      { kind: 'quantDense', name: 'd2', units: 10, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
      { kind: 'batchNorm', name: 'bn3', scale: false },
    ],
  });
  const opts = { graph, data, epochs: 2, limit: 1024, progress: false, workers: 0, seed: 3, weightClip: true, learningRate: 0.005 } as const;
  const plain = await train(opts);
  const sparse = await train({ ...opts, l1: 2 });
  assert.equal(sparse.training.l1, 2);
  assert.equal(plain.training.l1, undefined);
  assert.ok(plain.testAccuracy > 0.3, `test accuracy ${plain.testAccuracy} (chance is 0.1)`);
  // Zero weights of a ternary layer: its weights less its mask's set bits (bits past cin are 0).
  const weightsOf = (layer: string) => (layer === 'c1' ? 16 * 9 : 10 * 32);
  const zeros = (ckpt: typeof plain, layer: string) => {
    const t = modelFromParams(ckpt.graph, ckpt.params).layers[graph.layers.findIndex((l) => l.name === layer)]!;
    return weightsOf(layer) - t.maskWords!.reduce((n, w) => n + popcount32(w), 0);
  };
  for (const layer of ['c1', 'd2']) assert.ok(zeros(sparse, layer) > zeros(plain, layer), `${layer}: ${zeros(sparse, layer)} zero weights with --l1, ${zeros(plain, layer)} without`);
  // The binary (ste_sign) layer is not shrunk: its latent weights are the same kind of spread as without --l1.
  const spread = (ckpt: typeof plain) => Math.max(...Array.from(ckpt.params.get('d1/kernel')!, Math.abs));
  assert.ok(spread(sparse) > 0.1, `d1's latent weights up to ${spread(sparse)}`);
  // What was trained runs as trained.
  const r = await evaluateParity('ternary', modelFromParams(sparse.graph, sparse.params), data.test, { limit: 300 });
  assert.equal(r.agreement, 1, 'the runtime agrees with the tfjs rebuild on every image');
});

test('a pixel threshold (1×1 float conv with bias on a one-channel image, only binarized) starts as thresholds spread over [0, 1]; other first layers start at random', () => {
  const graph = (channels: number) =>
    defineGraph({
      name: 'thresholds',
      input: [8, 8, channels],
      classes: 2,
      layers: [
        { kind: 'quantConv2d', name: 'mask', filters: 3, kernelSize: 1, useBias: true },
        { kind: 'quantConv2d', name: 'c', filters: 4, kernelSize: 8, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
        { kind: 'flatten', name: 'f' },
        { kind: 'quantDense', name: 'd', units: 2, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
      ],
    });
  const p = initParams(graph(1), 1);
  assert.deepEqual(Array.from(p.get('mask/kernel')!), [1, 1, 1]);
  assert.deepEqual(Array.from(p.get('mask/bias')!), [-0.25, -0.5, -0.75].map(Math.fround));
  // On a two-channel image: an ordinary layer (random unit-norm filters, biases 0).
  const q = initParams(graph(2), 1);
  assert.ok(q.get('mask/kernel')!.some((v) => Math.abs(v) !== 1));
  assert.deepEqual(Array.from(q.get('mask/bias')!), [0, 0, 0]);
});

test('--precise-bn: batch-norm statistics re-estimated from whole training batches as training computes them; the weights never change, and resuming may switch it on', async () => {
  const graph = paperModel('B', 8);
  const opts = { graph, data, epochs: 2, limit: 512, batchSize: 64, shards: 1, progress: false, workers: 0, seed: 4 } as const;
  let plainAfterFirst: Checkpoint | undefined;
  let preciseAfterFirst: Checkpoint | undefined;
  const plain = await train({ ...opts, onEpoch: (r, snap) => void (r.epoch === 1 && (plainAfterFirst = snap())) });
  const precise = await train({ ...opts, preciseBn: 128, onEpoch: (r, snap) => void (r.epoch === 1 && (preciseAfterFirst = snap())) });
  assert.equal(precise.training.preciseBn, 128);
  assert.equal(plain.training.preciseBn, undefined);
  const isStatistic = (name: string) => name.includes('/moving_');
  for (const [name, v] of plain.params) {
    if (isStatistic(name)) assert.notDeepEqual(precise.params.get(name), v, `${name}: re-estimated`);
    else assert.deepEqual(precise.params.get(name), v, `${name}: the same weights`);
  }
  // After epoch 1: the mean of the moments of the first two batches (64 images each) of that epoch's order.
  const snap = preciseAfterFirst!;
  const layout = flatLayout(graph);
  const trainer = await ShardTrainer.create({ graph });
  try {
    const px = 28 * 28;
    const batch = (k: number) => {
      const images = new Float32Array(64 * px);
      for (let i = 0; i < 64; i++) {
        const src = snap.resume!.order[64 * k + i]!;
        images.set(data.train.images.subarray(src * px, (src + 1) * px), i * px);
      }
      return trainer.moments({ params: flattenTrainable(layout, snap.params), images, sampleSeed: 0 });
    };
    const [m0, m1] = [batch(0), batch(1)];
    for (const b of layout.bnLayers) {
      const mean = snap.params.get(`${b.layer}/moving_mean`)!;
      const variance = snap.params.get(`${b.layer}/moving_variance`)!;
      for (let c = 0; c < b.channels; c++) {
        const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${b.layer} ${what}[${c}]: ${got}, expected ${want}`);
        close(mean[c]!, (m0[b.offset + c]! + m1[b.offset + c]!) / 2, 'mean');
        close(variance[c]!, (m0[b.offset + b.channels + c]! + m1[b.offset + b.channels + c]!) / 2, 'variance');
      }
    }
  } finally {
    trainer.dispose();
  }
  // A run without it, resumed with it, ends as the run that had it all along.
  const resumed = await train({ ...opts, preciseBn: 128, resume: plainAfterFirst! });
  for (const [name, v] of precise.params) assert.deepEqual(resumed.params.get(name), v, `${name} after resuming with --precise-bn`);
  assert.equal(resumed.testAccuracy, precise.testAccuracy);
});

test('cardinality bound decay: the penalty is Σ max(0, b − bound) over threshold units, b = (μ − β·σ/γ + Σw)/2; training with it lowers the bounds', async () => {
  await initTfjs();
  // A float first layer, then one binary dense layer of 4 inputs and 3 units whose norm feeds a sign, then the logits.
  const graph = defineGraph({
    name: 'cbd',
    input: [1, 1, 4],
    classes: 2,
    layers: [
      { kind: 'quantDense', name: 'd0', units: 4, useBias: true },
      { kind: 'quantDense', name: 'd1', units: 3, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
      { kind: 'batchNorm', name: 'bn1', scale: true },
      { kind: 'quantDense', name: 'd2', units: 2, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
      { kind: 'batchNorm', name: 'bn2', scale: false },
    ],
  });
  const values = initParams(graph, 1);
  // Kernel [4 inputs, 3 units]; ternarized, the columns sum to Σw = 3 (0.02 is a zero), 0, 1 (0.01 is a zero).
  values.set('d1/kernel', Float32Array.from([1, -1, 1, 0.9, 0.3, -0.8, 0.02, -0.6, 0.01, 0.7, 0.5, 0.4]));
  values.set('bn1/beta', Float32Array.from([0.5, -1, 2]));
  values.set('bn1/gamma', Float32Array.from([1, 2, -1]));
  const model = new TrainableModel(graph, values);
  try {
    const moments: BatchMoments = new Map([['bn1', { mean: tf.tensor1d([3, 1, 0]), variance: tf.tensor1d([4 - 1e-3, 9 - 1e-3, 1 - 1e-3]) }]]);
    // Unit 0: t = 3 − 0.5·2/1 = 2, b = (2 + 3)/2 = 2.5. Unit 1: t = 1 + 1·3/2 = 2.5, b = (2.5 + 0)/2 = 1.25. Unit 2: γ < 0, left out.
    const at = (bound: number) => model.cardinalityBoundPenalty(moments, bound).dataSync()[0]!;
    assert.ok(Math.abs(at(0) - 3.75) < 1e-5, `bound 0: ${at(0)}`);
    assert.ok(Math.abs(at(2) - 0.5) < 1e-5, `bound 2: ${at(2)}`);
    assert.ok(Math.abs(at(5)) < 1e-6, `bound 5: ${at(5)}`);
    tf.dispose([...moments.values()].flatMap((m) => [m.mean, m.variance]));
  } finally {
    model.dispose();
  }

  // Trained with it, the threshold units' bounds past 0 (from the exported statistics) shrink.
  const net = defineGraph({
    name: 'cbd-net',
    input: [28, 28, 1],
    classes: 10,
    layers: [
      { kind: 'quantConv2d', name: 'mask', filters: 1, kernelSize: 1, useBias: true },
      { kind: 'quantConv2d', name: 'c1', filters: 8, kernelSize: 3, strides: 2, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
      { kind: 'batchNorm', name: 'bn1', scale: false },
      { kind: 'flatten', name: 'f' },
      { kind: 'quantDense', name: 'd1', units: 32, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
      { kind: 'batchNorm', name: 'bn2', scale: false },
      { kind: 'quantDense', name: 'd2', units: 10, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
      { kind: 'batchNorm', name: 'bn3', scale: false },
    ],
  });
  const opts = { graph: net, data, epochs: 2, limit: 1024, batchSize: 32, progress: false, workers: 0, seed: 3, weightClip: true, learningRate: 0.005, preciseBn: 512 } as const;
  const meanExcess = (ckpt: Checkpoint, layer: string, bn: string, units: number) => {
    const k = ckpt.params.get(`${layer}/kernel`)!;
    const t = Math.fround(0.05);
    const [mu, v, beta] = ['moving_mean', 'moving_variance', 'beta'].map((p) => ckpt.params.get(`${bn}/${p}`)!) as [Float32Array, Float32Array, Float32Array];
    let sum = 0;
    for (let j = 0; j < units; j++) {
      let w = 0;
      for (let i = j; i < k.length; i += units) w += k[i]! > t ? 1 : k[i]! < -t ? -1 : 0;
      sum += Math.max(0, (mu[j]! - beta[j]! * Math.sqrt(v[j]! + 1e-3) + w) / 2);
    }
    return sum / units;
  };
  const plain = await train(opts);
  const decayed = await train({ ...opts, cardinalityBoundDecay: { coeff: 0.05, bound: 0 } });
  assert.deepEqual(decayed.training.cardinalityBoundDecay, { coeff: 0.05, bound: 0 });
  for (const [layer, bn, units] of [['c1', 'bn1', 8], ['d1', 'bn2', 32]] as const) {
    const [a, b] = [meanExcess(plain, layer, bn, units), meanExcess(decayed, layer, bn, units)];
    assert.ok(b < 0.9 * a, `${layer}: mean max(0, cardinality bound) ${b} with decay, ${a} without`);
  }
  assert.ok(decayed.testAccuracy > 0.3, `test accuracy ${decayed.testAccuracy}`);
});

test('a training thread that died between calls fails the next call instead of leaving it waiting for ever', { timeout: 60_000 }, async () => {
  const { createRunner } = await import('../src/train/pool.js');
  const runner = await createRunner({ graph: paperModel('A', 8) }, 1);
  try {
    const thread = (runner as unknown as { handles: { worker: import('node:worker_threads').Worker }[] }).handles[0]!.worker;
    await thread.terminate();
    await assert.rejects(runner.predict([{ params: new Float32Array(0), moving: new Float32Array(0), images: new Float32Array(0), sampleSeed: 0 }]), /training worker exited with code \d+/);
  } finally {
    await runner.close();
  }
});
