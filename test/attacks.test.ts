import { paperModel } from '../src/model/presets.js';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { head } from '../src/data/dataset.js';
import { loadData } from '../src/data/index.js';
import { hopSkipJump, l2AtBudget } from '../src/attacks/hopskipjump.js';
import { LogitsOracle, QueryBudgetExceeded, RuntimeOracle, type Oracle } from '../src/attacks/model.js';
import { trainSubstitute } from '../src/attacks/substitute.js';
import { carliniWagnerL2, CW_PAPER, CW_STRONG, fgsm, meanSuccessfulL2, pgd } from '../src/attacks/whitebox.js';
import { replay } from '../src/eval/replay.js';
import { transferMatrix } from '../src/eval/transfer.js';
import { saturatedFraction, SATURATION_MARGIN, whiteboxEval } from '../src/eval/attacks.js';
import { attackLoss, type AttackLoss } from '../src/attacks/loss.js';
import { modelFromParams, type BnnModel } from '../src/format/model.js';
import { DeployedGraph } from '../src/model/tfjs/deployed.js';
import { accuracy, predictLabels } from '../src/model/tfjs/predict.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { initTfjs, tf } from '../src/tfjs/backend.js';
import { train } from '../src/train/train.js';

const data = loadData();
const attacked = head(data.test, 96);
let modelA: BnnModel;
let modelC: BnnModel;

before(async () => {
  await initTfjs();
  const recipe = { data, epochs: 2, limit: 4096, seed: 3, progress: false, lrSchedule: 'constant', augmentShift: 0 } as const;
  const a = await train({ ...recipe, graph: paperModel('A', 8) });
  const c = await train({ ...recipe, graph: paperModel('C', 16) });
  modelA = modelFromParams(a.graph, a.params);
  modelC = modelFromParams(c.graph, c.params);
});

function lossOf(graph: DeployedGraph, images: Float32Array, labels: Uint8Array): number {
  return tf.tidy(() => {
    const n = labels.length;
    const y = tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), 10);
    return tf.losses.softmaxCrossEntropy(y, graph.logits(tf.tensor4d(images, [n, 28, 28, 1]))).dataSync()[0]!;
  });
}

function linf(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('FGSM and PGD raise the loss and lower accuracy, within ε and [0, 1]', () => {
  for (const model of [modelA, modelC]) {
    const graph = new DeployedGraph(model);
    const clean = accuracy(graph.logitsFn, attacked);
    assert.ok(clean > 0.6, `the small model learned something (${clean})`);
    const cleanLoss = lossOf(graph, attacked.images, attacked.labels);
    for (const out of [fgsm(graph, attacked.images, attacked.labels, 0.2), pgd(graph, attacked.images, attacked.labels, { eps: 0.2, step: 0.05, steps: 10, randomStart: true, restarts: 2, seed: 1 })]) {
      assert.ok(lossOf(graph, out.adversarial, attacked.labels) > cleanLoss);
      assert.ok(accuracy(graph.logitsFn, { ...attacked, images: out.adversarial }) < clean - 0.2);
      assert.ok(linf(out.adversarial, attacked.images) <= 0.2 + 1e-6, 'perturbation within ε');
      assert.ok(out.adversarial.every((v) => v >= 0 && v <= 1), 'pixels within [0, 1]');
      let s = 0;
      for (const v of out.success) s += v;
      assert.ok(s > 0);
    }
    graph.dispose();
  }
});

test('Carlini–Wagner L2 succeeds with small perturbations; L2 is averaged over successes only', () => {
  const graph = new DeployedGraph(modelA);
  const small = head(attacked, 24);
  const out = carliniWagnerL2(graph, small.images, small.labels, { ...CW_PAPER, iterations: 50 });
  let s = 0;
  for (const v of out.success) s += v;
  assert.ok(s >= 12, `${s}/24 succeeded`);
  assert.ok(out.adversarial.every((v) => v >= 0 && v <= 1));
  const mean = meanSuccessfulL2(out);
  let manual = 0;
  for (let i = 0; i < 24; i++) if (out.success[i]) manual += out.l2[i]!;
  assert.ok(Math.abs(mean - manual / s) < 1e-6);
  for (let i = 0; i < 24; i++) if (!out.success[i]) assert.equal(out.l2[i], 0, 'a failed image is returned unperturbed');
  assert.ok(mean > 0 && mean < 5);
  assert.ok(Number.isNaN(meanSuccessfulL2({ success: new Uint8Array(3), l2: new Float32Array(3) })));
  // `among` restricts the mean to the marked images (e.g. those classified correctly before the attack).
  const two = { success: Uint8Array.from([1, 1, 0]), l2: Float32Array.from([0.01, 3, 0]) };
  assert.equal(meanSuccessfulL2(two, [0, 1, 1]), 3);
  assert.ok(Number.isNaN(meanSuccessfulL2(two, [0, 0, 1])));
  // The stronger default fools at least as many images as the paper's setting, closer to the originals.
  const paper = carliniWagnerL2(graph, small.images, small.labels, CW_PAPER);
  const strong = carliniWagnerL2(graph, small.images, small.labels, CW_STRONG);
  const fooled = (o: { success: Uint8Array }) => o.success.reduce((a, v) => a + v, 0);
  assert.ok(fooled(strong) >= fooled(paper), `strong ${fooled(strong)} vs paper ${fooled(paper)}`);
  assert.ok(meanSuccessfulL2(strong) < meanSuccessfulL2(paper), `strong ${meanSuccessfulL2(strong)} vs paper ${meanSuccessfulL2(paper)}`);
  graph.dispose();
});

test('whiteboxEval CW reports mean L2 over all successes and over images classified correctly before the attack', async () => {
  const report = await whiteboxEval('a8', modelA, data.test, { attack: 'cw-paper', n: 24 });
  const row = report.rows[0]!;
  assert.ok(row.meanL2 !== null && Number.isFinite(row.meanL2));
  assert.ok(row.meanL2OfCorrect !== undefined && row.meanL2OfCorrect !== null);
  // An image misclassified before the attack is a success near L2 = 0, so leaving those out can only raise the mean.
  assert.ok(row.meanL2OfCorrect >= row.meanL2 - 1e-6, `${row.meanL2OfCorrect} vs ${row.meanL2}`);
  await assert.rejects(whiteboxEval('a8', modelA, data.test, { attack: 'fgsm', n: 0 }), /images to attack must be a positive integer, got 0/);
});

test("craftLabels 'predicted' (the paper's code): FGSM moves away from the model's own labels, scored against the true ones", async () => {
  const rt = await BnnRuntime.fromModel(modelC);
  const own = Uint8Array.from(rt.predict(attacked.images, attacked.n));
  rt.dispose();
  let wrong = 0;
  for (let i = 0; i < attacked.n; i++) if (own[i] !== attacked.labels[i]) wrong++;
  assert.ok(wrong > 0, 'the model gets some of the images wrong, where the two choices differ');
  const o = { attack: 'fgsm', eps: [0.1], n: attacked.n, keepExamples: true } as const;
  const predicted = await whiteboxEval('c16', modelC, attacked, { ...o, craftLabels: 'predicted' });
  // The same as attacking a copy of the data labelled with the model's predictions, bit for bit...
  const selfLabelled = await whiteboxEval('c16', modelC, { ...attacked, labels: own }, o);
  assert.deepEqual(predicted.examples![0]!.adversarial, selfLabelled.examples![0]!.adversarial);
  assert.equal(predicted.craftLabels, 'predicted');
  // ...but scored against the true labels, and different from the true-label attack where the model was wrong.
  const truth = await whiteboxEval('c16', modelC, attacked, o);
  assert.equal(truth.craftLabels, undefined);
  assert.equal(predicted.cleanRuntimeAccuracy, truth.cleanRuntimeAccuracy);
  assert.notDeepEqual(predicted.examples![0]!.adversarial, truth.examples![0]!.adversarial);
  await assert.rejects(whiteboxEval('c16', modelC, attacked, { attack: 'apgd-ce', eps: [0.1], n: 4, craftLabels: 'predicted' }), /attacks the true labels/);
});

test('the substitute attack reads nothing from its oracle but labels', async () => {
  const rt = await BnnRuntime.fromModel(modelA);
  const inner = new RuntimeOracle(rt);
  const touched = new Set<string | symbol>();
  const spy = new Proxy(inner, {
    get(target, prop) {
      touched.add(prop);
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Oracle;
  const { substitute, queries, trainImages } = trainSubstitute(spy, data.test.images.slice(0, 50 * 784), { rounds: 3, epochsPerRound: 2, seed: 1 });
  // Labels, the query counter, and what any user of the model knows: its image shape and classes.
  assert.deepEqual([...touched].sort(), ['classes', 'inputShape', 'labels', 'queries']);
  assert.equal(trainImages, 200);
  assert.equal(queries, 200, 'every image is labelled exactly once');
  assert.equal(inner.queries, 200);
  const subAcc = accuracy((x) => substitute.logits(x), head(data.test, 500));
  assert.ok(subAcc > 0.3, `the substitute learned from labels alone (${subAcc})`);
  substitute.dispose();
  // The oracle object exposes labels, a counter and the image shape and class count, not the runtime.
  assert.deepEqual(Object.keys(inner).sort(), ['classes', 'inputShape']);
  assert.ok(Object.values(inner).every((v) => !(v instanceof BnnRuntime)));
});

test('HopSkipJump finds label-only adversarials and respects its query budget', async () => {
  const rt = await BnnRuntime.fromModel(modelA);
  const pred = rt.predict(attacked.images, attacked.n);
  let tried = 0;
  for (let i = 0; i < attacked.n && tried < 3; i++) {
    if (pred[i] !== attacked.labels[i]) continue;
    tried++;
    const oracle = new RuntimeOracle(rt);
    const x = attacked.images.slice(i * 784, (i + 1) * 784);
    const trace = hopSkipJump(oracle, x, attacked.labels[i]!, { budget: 1500, seed: i });
    assert.ok(oracle.queries <= 1500, `used ${oracle.queries} queries`);
    assert.equal(trace.queries, oracle.queries);
    assert.ok(trace.found);
    assert.notEqual(rt.predict(trace.adversarial, 1)[0], attacked.labels[i], 'the result is adversarial on the runtime');
    const l2s = trace.trajectory.map((p) => p.l2);
    for (let j = 1; j < l2s.length; j++) assert.ok(l2s[j]! < l2s[j - 1]!, 'the distance only improves');
    assert.ok(trace.adversarial.every((v) => v >= 0 && v <= 1));
  }
  assert.equal(tried, 3);
  // A budget that runs out inside the first binary search still returns, and scores, the
  // adversarial point reached so far.
  const i = Array.from(pred).findIndex((l, j) => l === attacked.labels[j]);
  const x = attacked.images.slice(i * 784, (i + 1) * 784);
  const short = hopSkipJump(new RuntimeOracle(rt), x, attacked.labels[i]!, { budget: 8, seed: 1 });
  assert.ok(short.queries <= 8);
  assert.ok(short.found, 'uniform noise is adversarial within a few queries');
  assert.notEqual(rt.predict(short.adversarial, 1)[0], attacked.labels[i]);
  assert.ok(Number.isFinite(l2AtBudget(short, 8)), 'the point found is in the trajectory');
});

test('LogitsOracle gives the tfjs graph\'s labels, counts them and keeps its budget', () => {
  const graph = new DeployedGraph(modelA);
  const oracle = new LogitsOracle(graph.logitsFn, graph, 10);
  const some = head(attacked, 8);
  assert.deepEqual(oracle.labels(some.images, 8), predictLabels(graph.logitsFn, some.images, 8, graph.inputShape));
  assert.equal(oracle.queries, 8);
  assert.throws(() => oracle.labels(head(attacked, 3).images, 3), QueryBudgetExceeded);
  assert.equal(oracle.queries, 8, 'a refused batch is not counted');
  // HopSkipJump runs on it as on the runtime.
  const i = Array.from(predictLabels(graph.logitsFn, attacked.images, attacked.n, graph.inputShape)).findIndex((l, j) => l === attacked.labels[j]);
  const trace = hopSkipJump(new LogitsOracle(graph.logitsFn, graph), attacked.images.slice(i * 784, (i + 1) * 784), attacked.labels[i]!, { budget: 800, seed: 1 });
  assert.ok(trace.found && trace.queries <= 800);
  assert.notEqual(predictLabels(graph.logitsFn, trace.adversarial, 1, graph.inputShape)[0], attacked.labels[i]);
  graph.dispose();
});

test('replay scores adversarial inputs on tfjs and the runtime and reports their agreement', async () => {
  const graph = new DeployedGraph(modelC);
  const rt = await BnnRuntime.fromModel(modelC);
  const adv = fgsm(graph, attacked.images, attacked.labels, 0.1).adversarial;
  const r = replay(adv, attacked, graph.logitsFn, rt);
  assert.equal(r.images, attacked.n);
  assert.ok(r.agreement >= 0.97, `agreement ${r.agreement}`);
  assert.ok(Math.abs(r.tfjsAccuracy - r.runtimeAccuracy) <= 1 - r.agreement + 1e-9);
  const report = await whiteboxEval('c16', modelC, data.test, { attack: 'fgsm', eps: [0.05, 0.3], n: 64 });
  assert.equal(report.rows.length, 2);
  assert.ok(report.rows[1]!.runtimeAccuracy <= report.rows[0]!.runtimeAccuracy, 'a larger ε hurts more');
  graph.dispose();
});

test('saturatedFraction: counts images whose float32 softmax rounds p(label) to 1, temperature undoes it', () => {
  // Three images, three classes: margins 20 (saturated), 5 (not), and a misclassified one.
  const logits = Float32Array.from([20, 0, -1, 0, 5, 0, 3, 0, 0]);
  const labels = [0, 1, 1];
  assert.equal(saturatedFraction(logits, labels), 1 / 3);
  assert.equal(saturatedFraction(logits, labels, 100), 0);
  // The boundary is where float32 really rounds: p(label) at margin just above it is exactly 1.
  const p = (margin: number) => Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-margin))));
  assert.equal(p(SATURATION_MARGIN + 0.1), 1);
  assert.ok(p(SATURATION_MARGIN - 1) < 1);
  assert.equal(saturatedFraction(new Float32Array(0), []), 0);
});

test("attack loss 'ce' has cross-entropy's exact gradient direction where float32 cross-entropy saturates", () => {
  // Rows: unsaturated, saturated (margin 30: p(label) = 1 in float32), underflowed (margin 200),
  // and misclassified. Reference: p − e_y in float64, normalized per row.
  const z = [
    [2, 1, -1, 0.5],
    [30, 0, -2, 1],
    [200, 0, 3, -5],
    [0, 4, 1, 0],
  ];
  const y = [0, 0, 0, 0];
  const exact = z.map((row, i) => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    // p_y − 1 written as −Σ_{j≠y} p_j: no cancellation.
    const g = e.map((v, j) => (j === y[i] ? 0 : v / s));
    g[y[i]!] = -g.reduce((a, b) => a + b, 0);
    const scale = Math.max(...g.map(Math.abs));
    return g.map((v) => v / scale);
  });
  const gradOf = (kind: AttackLoss) =>
    tf.tidy(() => {
      const onehot = tf.oneHot(tf.tensor1d(y, 'int32'), 4) as tf.Tensor2D;
      const g = tf.grad((l: tf.Tensor) => tf.sum(attackLoss(kind, l as tf.Tensor2D, onehot)))(tf.tensor2d(z));
      return g.arraySync() as number[][];
    });
  const ce = gradOf('ce');
  const f32 = gradOf('ce-float32');
  for (let i = 0; i < z.length; i++) {
    const scale = Math.max(...ce[i]!.map(Math.abs));
    assert.ok(scale > 0, `row ${i}: the gradient survives`);
    for (let j = 0; j < 4; j++) assert.ok(Math.abs(ce[i]![j]! / scale - exact[i]![j]!) < 1e-5, `row ${i}, class ${j}: ${ce[i]![j]! / scale} vs ${exact[i]![j]}`);
  }
  // What the exact form fixes: float32 cross-entropy loses the true-class term, then everything.
  assert.equal(f32[1]![0], 0, 'float32 cross-entropy drops p_y − 1 at margin 30');
  assert.ok(f32[2]!.every((v) => v === 0), 'and the whole gradient at margin 200');
  // The margin loss pushes exactly the runner-up up and the label down, at any margin.
  const margin = gradOf('margin');
  const runnerUp = [1, 3, 2, 1];
  for (let i = 0; i < z.length; i++) assert.deepEqual(margin[i], [0, 1, 2, 3].map((j) => (j === runnerUp[i] ? 1 : 0) - (j === y[i] ? 1 : 0)), `row ${i}`);
  // Where nothing saturates, the two are the same direction.
  const s0 = Math.max(...f32[0]!.map(Math.abs));
  for (let j = 0; j < 4; j++) assert.ok(Math.abs(f32[0]![j]! / s0 - exact[0]![j]!) < 1e-5);
});

test('transferMatrix: crafts on each source, scores every runtime; the diagonal is the replayed white-box attack', async () => {
  const r = await transferMatrix(
    [
      { name: 'a8', model: modelA },
      { name: 'c16', model: modelC },
    ],
    data.test,
    { attack: 'fgsm', eps: 0.3, n: 96 },
  );
  assert.deepEqual(r.models, ['a8', 'c16']);
  assert.equal(r.images, 96);
  assert.equal(r.accuracy.length, 2);
  for (const row of r.accuracy) assert.equal(row.length, 2);
  for (let s = 0; s < 2; s++) {
    assert.ok(r.accuracy[s]![s]! < r.cleanAccuracy[s]! - 0.2, `the white-box attack on ${r.models[s]} lowers its accuracy`);
    assert.equal(r.accuracy[s]![s], r.replay[s]!.runtimeAccuracy, 'diagonal = the replay on the source runtime');
    assert.ok(r.replay[s]!.agreement >= 0.95);
  }
  await assert.rejects(transferMatrix([], data.test, { attack: 'fgsm', eps: 0.3 }), /at least one model/);
});
