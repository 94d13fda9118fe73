/**
 * The AutoAttack family (src/attacks/apgd.ts, fab.ts, square.ts, auto.ts): each attack lowers
 * accuracy within ε and [0, 1] exactly, Square's queries are counted and bounded, the ensemble's
 * worst case is per image, and on a PGD-trained model it is at least as strong as PGD-100 × 5.
 * Small models with labels set to their own runtime predictions (clean accuracy 100%), so no
 * training is needed.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { head, type Dataset } from '../src/data/dataset.js';
import { loadData } from '../src/data/index.js';
import { apgd, apgdCheckpoints, apgdTargeted } from '../src/attacks/apgd.js';
import { runEnsemble, type EnsembleOutcome } from '../src/attacks/auto.js';
import { exactLinfBox, nextFloat32 } from '../src/attacks/box.js';
import { fab, projectLinfHyperplane } from '../src/attacks/fab.js';
import { attackLoss, dlrLoss, targetedDlrLoss } from '../src/attacks/loss.js';
import { QueryBudgetExceeded } from '../src/attacks/model.js';
import { RuntimeScoreOracle, squareAttack, squareShare } from '../src/attacks/square.js';
import { pgd } from '../src/attacks/whitebox.js';
import { budgetCurve, cascadeGain, isRescaledSquare, rescaledSquareNote, whiteboxEval, type WhiteboxRow } from '../src/eval/attacks.js';
import { parseBnn } from '../src/format/read.js';
import { modelFromParams, type BnnModel } from '../src/format/model.js';
import { defineGraph } from '../src/model/graph.js';
import { initParams } from '../src/model/params.js';
import { DeployedGraph } from '../src/model/tfjs/deployed.js';
import { predictLabels } from '../src/model/tfjs/predict.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { initTfjs, tf } from '../src/tfjs/backend.js';
import { Rng } from '../src/util/rng.js';
import { calibratedModel, randomModel } from './helpers.js';

const mnist = head(loadData().test, 40);
let binary: BnnModel;
let color: BnnModel;
let colorImages: Float32Array;

before(async () => {
  await initTfjs();
  binary = await calibratedModel('C', 8, 5, mnist.images);
  // A 12×12 RGB, five-class graph: shapes and class counts must come from the model, not MNIST.
  const graph = defineGraph({
    name: 'rgb5',
    input: [12, 12, 3],
    classes: 5,
    layers: [
      { kind: 'quantConv2d', name: 'stem', filters: 8, kernelSize: 3, padding: 'same' },
      { kind: 'batchNorm', name: 'bn0' },
      { kind: 'quantConv2d', name: 'conv', filters: 8, kernelSize: 3, strides: 2, padding: 'valid', inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
      { kind: 'batchNorm', name: 'bn1' },
      { kind: 'flatten', name: 'flat' },
      { kind: 'quantDense', name: 'logits', units: 5 },
    ],
  });
  color = modelFromParams(graph, initParams(graph, 3));
  const rng = new Rng(11);
  colorImages = Float32Array.from({ length: 24 * 12 * 12 * 3 }, () => rng.next());
});

/** The model's own runtime labels for `images`: every image starts classified correctly. */
async function selfLabelled(model: BnnModel, images: Float32Array, n: number): Promise<{ rt: BnnRuntime; graph: DeployedGraph; labels: Uint8Array }> {
  const rt = await BnnRuntime.fromModel(model);
  return { rt, graph: new DeployedGraph(model), labels: Uint8Array.from(rt.predict(images, n)) };
}

/** Every pixel within ε of the clean one (float64 difference of the float32 values) and in [0, 1]. */
function assertInBall(adv: Float32Array, clean: Float32Array, eps: number, what: string): void {
  assert.equal(adv.length, clean.length);
  for (let i = 0; i < adv.length; i++) {
    if (!(Math.abs(adv[i]! - clean[i]!) <= eps) || !(adv[i]! >= 0 && adv[i]! <= 1)) assert.fail(`${what}: pixel ${i} is ${adv[i]} for clean ${clean[i]} at ε=${eps}`);
  }
}

const ceLoss = (graph: DeployedGraph, images: Float32Array, labels: Uint8Array): number =>
  tf.tidy(() => tf.mean(attackLoss('ce', graph.logits(tf.tensor4d(images, [labels.length, ...graph.inputShape])), tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), graph.classes) as tf.Tensor2D)).dataSync()[0]!);

const fooledShare = (pred: Int32Array, labels: Uint8Array): number => pred.filter((p, i) => p !== labels[i]).length / labels.length;

test('the exact ε-box holds in real arithmetic where float32 x − ε rounds outward', () => {
  const x = Float32Array.from({ length: 4096 }, (_, i) => Math.fround((i * 0.618034) % 1));
  let naiveOutside = 0;
  for (const eps of [0.1, 0.3, 1 / 3, 0.03]) {
    const box = exactLinfBox(x, eps);
    for (let i = 0; i < x.length; i++) {
      assert.ok(x[i]! - box.lower[i]! <= eps && box.upper[i]! - x[i]! <= eps, `pixel ${i} at ε=${eps}`);
      assert.ok(box.lower[i]! >= 0 && box.upper[i]! <= 1 && box.lower[i]! <= x[i]! && x[i]! <= box.upper[i]!);
    }
    // Tight: one float32 further out leaves the ball or [0, 1].
    for (let i = 0; i < x.length; i++) {
      assert.ok(box.upper[i] === 1 || nextFloat32(box.upper[i]!, 1) - x[i]! > eps);
      assert.ok(box.lower[i] === 0 || x[i]! - nextFloat32(box.lower[i]!, -1) > eps);
    }
    naiveOutside += x.filter((v) => Math.fround(v + eps) - v > eps && Math.fround(v + eps) <= 1).length;
  }
  assert.ok(naiveOutside > 0, 'float32 rounding of x + ε does leave the ball for some pixels');
  assert.throws(() => exactLinfBox(Float32Array.of(1.5), 0.1), RangeError);
});

test('DLR: the formula, invariant to shifting and scaling the logits, and differentiable', () => {
  const z = tf.tensor2d([[3, 1, 2, 0]]);
  const y = tf.tensor2d([[1, 0, 0, 0]]);
  const t = tf.tensor2d([[0, 0, 1, 0]]);
  // −(z_y − max other) / (z_π1 − z_π3) = −(3 − 2) / (3 − 1); targeted: −(3 − 2) / (3 − (1 + 0)/2).
  assert.ok(Math.abs(dlrLoss(z, y).dataSync()[0]! + 0.5) < 1e-6);
  assert.ok(Math.abs(targetedDlrLoss(z, y, t).dataSync()[0]! + 0.4) < 1e-6);
  const scaled = tf.add(tf.mul(z, 7), 3) as tf.Tensor2D;
  assert.ok(Math.abs(dlrLoss(scaled, y).dataSync()[0]! - dlrLoss(z, y).dataSync()[0]!) < 1e-6);
  assert.ok(Math.abs(targetedDlrLoss(scaled, y, t).dataSync()[0]! - targetedDlrLoss(z, y, t).dataSync()[0]!) < 1e-6);
  const g = tf.grad((v: tf.Tensor) => tf.sum(dlrLoss(v as tf.Tensor2D, y)))(z).dataSync();
  assert.ok(g.some((v) => v !== 0), 'DLR has a gradient');
  tf.dispose([z, y, t, scaled]);
});

test("APGD's checkpoints are the paper's w_j = ⌈p_j N⌉", () => {
  assert.deepEqual(apgdCheckpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
  assert.deepEqual(apgdCheckpoints(1000), [220, 410, 570, 700, 800, 870, 930, 990]);
});

test('APGD-CE, APGD-DLR and APGD-T raise their loss and fool the model, within ε and [0, 1] bit for bit', async () => {
  const { rt, graph, labels } = await selfLabelled(binary, mnist.images, mnist.n);
  const eps = 0.05;
  const before = ceLoss(graph, mnist.images, labels);
  for (const [name, out] of [
    ['apgd-ce', apgd(graph, mnist.images, labels, { eps, iterations: 20, seed: 1 })],
    ['apgd-dlr', apgd(graph, mnist.images, labels, { eps, iterations: 20, seed: 1, loss: 'dlr' })],
    ['apgd-t', apgdTargeted(graph, mnist.images, labels, { eps, iterations: 20, targets: 3, seed: 1 })],
  ] as const) {
    assertInBall(out.adversarial, mnist.images, eps, name);
    const tfjs = predictLabels(graph.logitsFn, out.adversarial, mnist.n, graph.inputShape);
    // success is what the crafting model says of the returned images, and its first pass is recorded.
    for (let i = 0; i < mnist.n; i++) {
      assert.equal(out.success[i], tfjs[i] !== labels[i] ? 1 : 0, `${name} image ${i}`);
      assert.equal(out.firstSuccess[i]! > 0, out.success[i] === 1);
    }
    assert.ok(fooledShare(tfjs, labels) > 0.3, `${name} fooled ${fooledShare(tfjs, labels)}`);
    assert.ok(fooledShare(rt.predict(out.adversarial, mnist.n), labels) > 0.3, `${name} on the runtime`);
    if (name === 'apgd-ce') assert.ok(ceLoss(graph, out.adversarial, labels) > before + 0.2, 'APGD-CE raised the cross-entropy');
    assert.ok(Math.max(...out.linf) <= eps);
  }
  graph.dispose();
  rt.dispose();
});

test('the L∞ projection onto a hyperplane within the box is exact and minimal', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 20; trial++) {
    const D = 50;
    const p = Float32Array.from({ length: D }, () => rng.next());
    const w = Float32Array.from({ length: D }, () => rng.normal());
    const d = (rng.next() - 0.5) * 4;
    const lower = new Float32Array(D).fill(0);
    const upper = new Float32Array(D).fill(1);
    const delta = new Float64Array(D);
    const t = projectLinfHyperplane(p, w, d, lower, upper, delta);
    let reach = 0;
    let dot = 0;
    for (let i = 0; i < D; i++) {
      assert.ok(p[i]! + delta[i]! >= -1e-12 && p[i]! + delta[i]! <= 1 + 1e-12);
      dot += w[i]! * delta[i]!;
      // The most w·δ can change in d's direction with every coordinate moved at most 0.999 t.
      const room = Math.sign(d) * w[i]! > 0 ? 1 - p[i]! : p[i]!;
      reach += Math.abs(w[i]!) * Math.min(0.999 * t, room);
    }
    if (t < Math.max(...p.map((v) => Math.max(v, 1 - v)))) {
      assert.ok(Math.abs(dot - d) <= 1e-9 * Math.max(1, Math.abs(d)), `w·δ = ${dot}, asked ${d}`);
      assert.ok(reach < Math.abs(d), 'no smaller L∞ radius reaches the hyperplane');
    }
  }
});

test('FAB finds minimum-norm adversarials: the distance it reports is the perturbation, and FAB-T within ε fools', async () => {
  const { rt, graph, labels } = await selfLabelled(binary, mnist.images, mnist.n);
  const small = head({ ...mnist, labels }, 16);
  const out = fab(graph, small.images, small.labels, { iterations: 20 });
  const tfjs = predictLabels(graph.logitsFn, out.adversarial, small.n, graph.inputShape);
  let found = 0;
  for (let i = 0; i < small.n; i++) {
    if (!out.success[i]) continue;
    found++;
    assert.notEqual(tfjs[i], small.labels[i], `image ${i} is adversarial`);
    let m = 0;
    for (let j = i * 784; j < (i + 1) * 784; j++) m = Math.max(m, Math.abs(out.adversarial[j]! - small.images[j]!));
    assert.equal(m, out.linf[i]);
  }
  assert.ok(found >= 12, `${found}/16 found`);
  assert.ok(out.adversarial.every((v) => v >= 0 && v <= 1));
  // At a radius above most distances FAB-T (3 targets) fools most images too.
  const sorted = [...out.linf].sort((a, b) => a - b);
  const eps = sorted[12]!;
  const t = fab(graph, small.images, small.labels, { iterations: 20, targets: 3, eps });
  assert.ok(t.linf.filter((d) => d <= eps).length >= 8, `FAB-T: ${[...t.linf].map((d) => d.toFixed(3))} at ε=${eps.toFixed(3)}`);
  graph.dispose();
  rt.dispose();
});

test("Square queries the runtime's logits, counts every query and never exceeds its budget", async () => {
  const { rt, labels } = await selfLabelled(binary, mnist.images, mnist.n);
  const eps = 0.1;
  const budget = 150;
  const oracle = new RuntimeScoreOracle(rt, mnist.n * budget);
  const out = squareAttack(oracle, mnist.images, labels, { eps, queries: budget, seed: 2 });
  assertInBall(out.adversarial, mnist.images, eps, 'square');
  assert.equal(out.queries.reduce((a, b) => a + b, 0), oracle.queries, 'every query is counted');
  const onRuntime = rt.predict(out.adversarial, mnist.n);
  for (let i = 0; i < mnist.n; i++) {
    assert.ok(out.queries[i]! >= 1 && out.queries[i]! <= budget);
    // Success is the runtime's own verdict on the returned image; a failed image used its whole budget.
    assert.equal(out.success[i], onRuntime[i] !== labels[i] ? 1 : 0, `image ${i}`);
    if (out.success[i]) assert.equal(out.firstSuccess[i], out.queries[i]);
    else assert.equal(out.queries[i], budget);
  }
  assert.ok(fooledShare(onRuntime, labels) > 0.3, `Square fooled ${fooledShare(onRuntime, labels)}`);
  assert.throws(() => squareAttack(new RuntimeScoreOracle(rt, mnist.n - 1), mnist.images, labels, { eps, queries: 10 }), QueryBudgetExceeded);
  // The window's share against iterations: AutoAttack's fixed schedule, whatever the budget (its
  // resc_schedule=False), and the Square paper's, stretched to the budget.
  assert.deepEqual([0, 10, 11, 51, 201, 8001].map((it) => squareShare(0.8, it, 10000)), [0.8, 0.8, 0.4, 0.2, 0.1, 0.8 / 512]);
  assert.equal(squareShare(0.8, 4001, 5000), 0.8 / 128);
  assert.equal(squareShare(0.8, 4001, 5000, true), 0.8 / 512);
  assert.equal(squareShare(0.8, 2001, 5000, true), squareShare(0.8, 4002, 10000));
  rt.dispose();
});

/** Per image: the worst case is robust only if the clean image and every member's image are right on the runtime. */
function assertWorstCase(e: EnsembleOutcome, rt: BnnRuntime, images: Float32Array, labels: Uint8Array): void {
  const n = labels.length;
  for (const m of e.members) {
    assertInBall(m.adversarial, images, e.eps, m.attack);
    // Each member's images were scored on the runtime: its labels are the runtime's.
    const again = rt.predict(m.adversarial, n);
    for (let i = 0; i < n; i++) if (m.attacked[i]) assert.equal(m.runtimeLabels[i], again[i], `${m.attack} image ${i}`);
    // Where it was first fooled (for accuracy-against-iterations curves) is recorded exactly for the images it fooled.
    if (m.firstSuccess) for (let i = 0; i < n; i++) assert.equal(m.firstSuccess[i]! > 0, m.success[i] === 1, `${m.attack} image ${i}`);
    assert.equal(m.firstSuccess !== undefined, m.attack !== 'fab-t');
  }
  for (let i = 0; i < n; i++) {
    const ok = e.cleanRuntimeLabels[i] === labels[i] && e.members.every((m) => !m.attacked[i] || m.runtimeLabels[i] === labels[i]);
    assert.equal(e.robust[i], ok ? 1 : 0, `image ${i}`);
    for (const m of e.members) if (m.attacked[i]) assert.ok(e.robust[i]! <= (m.runtimeLabels[i] === labels[i] ? 1 : 0));
  }
}

test('the ensemble: per-image worst case ≤ every member, standalone and cascade', async () => {
  const { rt, graph, labels } = await selfLabelled(binary, mnist.images, mnist.n);
  const o = { eps: 0.006, iterations: 10, targets: 2, queries: 60, seed: 1 } as const;
  const squareDone: number[] = [];
  const alone = runEnsemble(graph, rt, mnist.images, labels, { ...o, mode: 'standalone', onProgress: (m, done) => m === 3 && squareDone.push(done) });
  assertWorstCase(alone, rt, mnist.images, labels);
  // Square's progress counts the queries images it has not fooled spend, not only the images it fooled.
  const squareLeft = alone.members[3]!.runtimeLabels.filter((p, i) => p === labels[i]).length;
  assert.ok(squareLeft > 0, 'some images survive Square');
  assert.ok(squareDone.every((d, i) => i === 0 || d >= squareDone[i - 1]!), 'progress never goes back');
  assert.equal(squareDone[squareDone.length - 1], mnist.n);
  assert.ok(squareDone.some((d) => d > mnist.n - squareLeft && d < mnist.n), 'the bar moves while only unfooled images are left');
  const worst = alone.robust.reduce((a, b) => a + b, 0);
  for (const m of alone.members) {
    assert.equal(m.attacked.reduce((a, b) => a + b, 0), mnist.n, `${m.attack} ran on every image`);
    assert.ok(worst <= m.runtimeLabels.filter((p, i) => p === labels[i]).length, `worst case ≤ ${m.attack}`);
  }
  assert.equal(alone.members.find((m) => m.attack === 'square')!.queries!.reduce((a, b) => a + b, 0) <= mnist.n * o.queries, true);
  const cascade = runEnsemble(graph, rt, mnist.images, labels, o);
  assertWorstCase(cascade, rt, mnist.images, labels);
  // A cascade attack only sees images every earlier one left standing on the runtime.
  for (const [k, m] of cascade.members.entries())
    for (let i = 0; i < mnist.n; i++)
      if (m.attacked[i]) assert.ok(cascade.members.slice(0, k).every((p) => p.runtimeLabels[i] === labels[i]));
  assert.ok(worst < mnist.n, 'the ensemble fooled something');
  assert.ok(cascade.members.every((m) => m.attacked.some((v) => v === 1)), 'every attack of the cascade had images left to attack');
  graph.dispose();
  rt.dispose();
});

test('any input shape: a 12×12×3 five-class graph through the whole ensemble', async () => {
  const n = colorImages.length / (12 * 12 * 3);
  const { rt, graph, labels } = await selfLabelled(color, colorImages, n);
  const e = runEnsemble(graph, rt, colorImages, labels, { eps: 0.05, iterations: 5, targets: 4, queries: 30, seed: 3, mode: 'standalone' });
  assert.equal(e.members.length, 4);
  assertWorstCase(e, rt, colorImages, labels);
  graph.dispose();
  rt.dispose();
});

test('whiteboxEval: auto reports the worst case per ε with a column per attack; fab reports distances; S gets EOT', async () => {
  const { rt, labels } = await selfLabelled(binary, mnist.images, mnist.n);
  rt.dispose();
  const data: Dataset = { ...mnist, labels };
  const r = await whiteboxEval('c8', binary, data, { attack: 'auto', eps: [0.003, 0.01], n: 16, iterations: 5, targets: 2, queries: 40 });
  assert.equal(r.rows.length, 2);
  for (const row of r.rows) {
    assert.deepEqual(row.members!.map((m) => m.attack), ['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    // Cascade: accuracy after each attack never rises, and the last is the worst case.
    for (let k = 1; k < row.members!.length; k++) assert.ok(row.members![k]!.runtimeAccuracy <= row.members![k - 1]!.runtimeAccuracy);
    assert.equal(row.members![row.members!.length - 1]!.runtimeAccuracy, row.runtimeAccuracy);
    assert.ok(row.runtimeAccuracy <= r.cleanRuntimeAccuracy);
    for (const key of ['eps', 'images', 'tfjsAccuracy', 'runtimeAccuracy', 'agreement', 'disagreements', 'successRate', 'meanL2', 'zeroGradientFraction']) assert.ok(key in row, key);
    // Plateau curves: APGD over its passes (5 iterations + 1; APGD-T's targets run side by side), Square over its queries; never rising.
    const budgets = { 'apgd-ce': 6, 'apgd-t': 6, square: 40 } as Record<string, number>;
    for (const m of row.members!) {
      if (m.attack === 'fab-t' || !m.attacked) continue;
      const c = m.curve!;
      assert.equal(c[c.length - 1]![0], budgets[m.attack], m.attack);
      for (let k = 1; k < c.length; k++) assert.ok(c[k]![0] > c[k - 1]![0] && c[k]![1] <= c[k - 1]![1], `${m.attack} curve at ${k}`);
    }
  }
  assert.deepEqual(r.ensemble, { attacks: ['apgd-ce', 'apgd-t', 'fab-t', 'square'], mode: 'cascade', iterations: 5, targets: 2, queries: 40, eot: 1, squareSchedule: 'autoattack' });
  // A report records AutoAttack's fixed Square schedule; one without the field (made before it) is flagged.
  assert.equal(isRescaledSquare(r), false);
  const { squareSchedule: _s, ...older } = r.ensemble!;
  assert.equal(isRescaledSquare({ ensemble: older }), true);
  // What each attack of the cascade took off: the accuracies after each member, differenced.
  for (const row of r.rows) {
    const m = row.members!;
    assert.equal(cascadeGain(row, 'apgd-ce'), 0);
    assert.ok(Math.abs(cascadeGain(row, 'square') - (m[2]!.runtimeAccuracy - m[3]!.runtimeAccuracy)) < 1e-12);
  }
  assert.ok(Math.abs(cascadeGain({ members: [{ attack: 'apgd-ce', runtimeAccuracy: 0.5 }, { attack: 'square', runtimeAccuracy: 0.4 }] } as unknown as WhiteboxRow, 'square') - 0.1) < 1e-12);
  // The † footnote names what Square took off each flagged result, and says so of the others.
  const row = (after: number) => ({ members: [{ attack: 'fab-t', runtimeAccuracy: 0.5 }, { attack: 'square', runtimeAccuracy: after }] }) as unknown as WhiteboxRow;
  assert.equal(rescaledSquareNote([]), '');
  assert.match(rescaledSquareNote([{ name: 'x at ε 0.3', row: row(0.431) }, { name: 'y at ε 0.1', row: row(0.5) }]), /lowered the worst case by 6\.9 points on x at ε 0\.3, and not at all in the others\.$/);
  const f = await whiteboxEval('c8', binary, data, { attack: 'fab', eps: [0.05, 0.2], n: 8, iterations: 10 });
  assert.equal(f.distances!.linf.length, 8);
  assert.ok(f.rows[0]!.runtimeAccuracy >= f.rows[1]!.runtimeAccuracy);
  const s = randomModel('S', 8, 4);
  const sData: Dataset = { ...head(mnist, 4), labels: Uint8Array.from(mnist.labels.subarray(0, 4)) };
  const rs = await whiteboxEval('s8', s, sData, { attack: 'apgd-ce', eps: [0.1], n: 4, iterations: 2 });
  assert.equal(rs.ensemble!.eot, 10, 'a stochastic model gets EOT');
  assert.ok(rs.warnings.some((w) => w.includes('EOT')));
});

test('budgetCurve: accuracy against budget from first successes, counting only images robust before', () => {
  // Five images: #4 already fell to an earlier attack; #0 fooled at pass 1, #2 at pass 4, #3 never, #1 not attacked.
  const robustBefore = Uint8Array.of(1, 1, 1, 1, 0);
  const attacked = Uint8Array.of(1, 0, 1, 1, 1);
  const first = Int32Array.of(1, 0, 4, 0, 2);
  assert.deepEqual(budgetCurve(robustBefore, attacked, first, 4), [
    [0, 4 / 5],
    [1, 3 / 5],
    [2, 3 / 5],
    [3, 3 / 5],
    [4, 2 / 5],
  ]);
  // More budget than points: sampled evenly, ending at the budget.
  const c = budgetCurve(robustBefore, attacked, first, 5000);
  assert.equal(c.length, 51);
  assert.deepEqual(c[50], [5000, 2 / 5]);
  assert.deepEqual(c[1], [100, 2 / 5]);
});

test('reference point: on PGD-trained a64-pgd the ensemble fools every image PGD-100 × 5 fools (ε = 0.3, 24 images)', async () => {
  const model = parseBnn(readFileSync(new URL('../../models/a64-pgd.bnn', import.meta.url)));
  const data = head(loadData().test, 24);
  const rt = await BnnRuntime.fromModel(model);
  const graph = new DeployedGraph(model);
  const p = pgd(graph, data.images, data.labels, { eps: 0.3, step: 0.01, steps: 100, randomStart: true, restarts: 5, seed: 1 });
  const pgdRuntime = rt.predict(p.adversarial, data.n);
  // The cascade's first two attacks at AutoAttack's settings (100 iterations, 9 targets). A cascade's
  // prefix runs exactly as in the full ensemble, whose later attacks only add fooled images, so the
  // check holds a fortiori for APGD-CE, APGD-T, FAB-T, Square.
  const e = runEnsemble(graph, rt, data.images, data.labels, { eps: 0.3, attacks: ['apgd-ce', 'apgd-t'], seed: 1 });
  const missed = [...pgdRuntime.keys()].filter((i) => pgdRuntime[i] !== data.labels[i] && e.robust[i]);
  assert.deepEqual(missed, [], 'images PGD-100 × 5 fools that the ensemble does not');
  const pgdRobust = pgdRuntime.filter((v, i) => v === data.labels[i]).length;
  assert.ok(e.robust.reduce((a, b) => a + b, 0) <= pgdRobust);
  assert.ok(pgdRobust < data.n, 'PGD fooled something: the check is not vacuous');
  graph.dispose();
  rt.dispose();
});
