/**
 * Soundness of the verifier (src/verify): on small random models whose input box can be
 * enumerated, every "verified" claim survives an exhaustive search through the runtime, and
 * every counterexample lies in the ball and is misclassified by the runtime.
 *
 * Inputs are tiny (at most 9 pixels). Models with an int8 first layer see the image only through
 * its u8 quantisation, so the reachable inputs are the product of per-pixel u8 ranges (ε = 1/255
 * or 2/255: 3 or 5 values a pixel); models whose first layer stays float get boxes of a few
 * float32 values a pixel (ε of one or two ulps), enumerated value by value. Half the images sit on
 * a decision boundary (found by bisecting between two differently classified images), where a
 * wrong proof would show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nextFloat32 } from '../src/attacks/box.js';
import { modelFromParams } from '../src/format/model.js';
import { defineGraph, GraphError, type ModelGraph } from '../src/model/graph.js';
import type { ParamValues } from '../src/model/params.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { Rng } from '../src/util/rng.js';
import { quantizeU8 } from '../src/verify/binary_steps.js';
import { verificationBox } from '../src/verify/bounds.js';
import { BnnVerifyError, verifyRobustness, type ImageResult } from '../src/verify/index.js';
import { randomGraphParams } from './random_graphs.js';

const MODELS = Number(process.env['BNN_EDGE_VERIFY_MODELS'] ?? 1000);
const IMAGES = 4;
const MAX_BOX = 1 << 18;

type Json = Record<string, unknown>;

/** A tiny random graph: a first conv, binary convs (zero / +1 padding, stochastic, pools of bits), maybe a residual add, float pools, a float or binary head. */
function tinyGraph(rng: Rng, name: string): ModelGraph {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  for (;;) {
    const input = pick([[2, 2, 1], [2, 2, 2], [3, 3, 1], [1, 4, 2], [3, 2, 1], [1, 1, 5]] as const);
    const layers: Json[] = [];
    let last = 'input';
    const add = (l: Json): string => {
      const named = { name: `l${layers.length}`, inputs: [last], ...l };
      layers.push(named);
      return (last = named.name);
    };
    const elementwise = () => {
      if (rng.next() < 0.9) add({ kind: 'batchNorm', center: rng.next() < 0.8, scale: rng.next() < 0.5, epsilon: 1e-3 });
      if (rng.next() < 0.3) add({ kind: 'relu' });
      if (rng.next() < 0.3) add({ kind: 'scale', init: 0.5 });
    };
    const binaryConv = (filters: number, k: number, same: boolean) => {
      const stochastic = rng.next() < 0.1;
      add({ kind: 'quantConv2d', filters, kernelSize: k, strides: 1 + (rng.next() < 0.2 ? 1 : 0), padding: same ? 'same' : 'valid', inputQuantizer: 'ste_sign', kernelQuantizer: stochastic ? 'stochastic' : 'ste_sign', ...(same ? { padValue: stochastic ? 1 : pick([0, 1]) } : {}) });
    };
    const first = add({ kind: 'quantConv2d', filters: 2 + rng.int(7), kernelSize: 1 + rng.int(2), strides: 1 + rng.int(2), padding: pick(['same', 'valid']), useBias: rng.next() < 0.3, ...(rng.next() < 0.2 ? { kernelQuantizer: 'ste_sign' } : {}) });
    if (rng.next() < 0.2) {
      // A residual block around a binary conv: the first layer's output is then used as floats.
      const shortcut = first;
      elementwise();
      if (layers[layers.length - 1]!['kind'] !== 'batchNorm') add({ kind: 'batchNorm', epsilon: 1e-3 });
      const filters = (layers[0]!['filters'] as number);
      binaryConv(filters, 1 + 2 * rng.int(2), true);
      layers[layers.length - 1]!['strides'] = 1;
      add({ kind: 'batchNorm', epsilon: 1e-3 });
      add({ kind: 'add', inputs: [last, shortcut] });
    }
    const convs = rng.next() < 0.15 ? 0 : 1 + rng.int(2);
    for (let i = 0; i < convs; i++) {
      elementwise();
      if (rng.next() < 0.25) add({ kind: 'maxPool2d', poolSize: 2, strides: 1, padding: 'same' });
      binaryConv(1 + rng.int(40), 1 + rng.int(2), rng.next() < 0.6);
    }
    elementwise();
    if (rng.next() < 0.2) add({ kind: pick(['maxPool2d', 'avgPool2d']), poolSize: 2, strides: 1, padding: 'same' });
    add({ kind: rng.next() < 0.3 ? 'globalAvgPool2d' : 'flatten' });
    if (rng.next() < 0.3) add({ kind: 'batchNorm', epsilon: 1e-3 });
    if (rng.next() < 0.4) {
      add({ kind: 'quantDense', units: 2 + rng.int(20), inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' });
      add({ kind: 'batchNorm', epsilon: 1e-3 });
    }
    const classes = 2 + rng.int(4);
    add({ kind: 'quantDense', units: classes, ...(rng.next() < 0.5 ? { inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' } : { useBias: rng.next() < 0.5 }) });
    if (rng.next() < 0.3) add({ kind: 'batchNorm', center: true, scale: rng.next() < 0.5, epsilon: 1e-3 });
    try {
      return defineGraph({ name, input, classes, layers });
    } catch (e) {
      if (!(e instanceof GraphError)) throw e;
    }
  }
}

/** The graph with its sign-bit binary weights made ternary (not where zero padding forbids it). */
function ternaryOf(graph: ModelGraph): ModelGraph {
  const layers = graph.layers.map((l) => ((l.kind === 'quantConv2d' && l.padValue !== 0) || l.kind === 'quantDense') && l.kernelQuantizer === 'ste_sign' ? { ...l, kernelQuantizer: 'ste_tern' as const } : l);
  return defineGraph({ ...graph, layers } as unknown as Record<string, unknown>);
}

/**
 * Half the models get float weights and biases that are not dyadic, so that their float32 sums
 * round (random_graphs.ts keeps them dyadic for exact runtime-vs-tfjs agreement, which this test
 * does not need): what the float error margins are for.
 */
function withRoundingWeights(graph: ModelGraph, params: ParamValues, rng: Rng): ParamValues {
  if (rng.next() < 0.5) return params;
  const float = new Set(graph.layers.filter((l) => (l.kind === 'quantConv2d' || l.kind === 'quantDense') && !l.kernelQuantizer).map((l) => l.name));
  for (const [name, v] of params) {
    const [layer, param] = name.split('/') as [string, string];
    if (float.has(layer) && (param === 'kernel' || param === 'bias')) for (let i = 0; i < v.length; i++) v[i] = Math.fround(rng.normal() / 3);
  }
  return params;
}

/** The values each pixel can take inside the box, as the model sees them: u8 levels, or float32 values. */
function pixelChoices(rt: BnnRuntime, x0: Float32Array, eps: number, int8: boolean): number[][] {
  const box = verificationBox(rt.plan, x0, eps);
  return Array.from(box.lo, (lo, i) => {
    const hi = box.hi[i]!;
    if (int8) return Array.from({ length: quantizeU8(hi) - quantizeU8(lo) + 1 }, (_, k) => quantizeU8(lo) + k);
    const vs: number[] = [];
    for (let v = lo; v <= hi; v = nextFloat32(v, 1)) vs.push(v);
    return vs;
  });
}

/** Every input of the box, as a batch the runtime takes (u8 levels as bytes: b/255 quantises back to b). */
function enumerate(choices: number[][], int8: boolean): { batch: Float32Array | Uint8Array; count: number } {
  const count = choices.reduce((n, c) => n * c.length, 1);
  const px = choices.length;
  const batch = int8 ? new Uint8Array(count * px) : new Float32Array(count * px);
  for (let k = 0; k < count; k++) {
    let r = k;
    for (let p = 0; p < px; p++) {
      const c = choices[p]!;
      batch[k * px + p] = c[r % c.length]!;
      r = Math.floor(r / c.length);
    }
  }
  return { batch, count };
}

/** An image on a decision boundary: bisection between a and b (different labels) on the input's grid. */
function boundaryImage(rt: BnnRuntime, a: Float32Array, b: Float32Array, int8: boolean): Float32Array<ArrayBufferLike> {
  const at = (t: number) => Float32Array.from(a, (v, i) => (int8 ? Math.round(255 * (v + t * (b[i]! - v))) / 255 : v + t * (b[i]! - v)));
  const la = rt.predict(a, 1)[0];
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (rt.predict(at(mid), 1)[0] === la) lo = mid;
    else hi = mid;
  }
  return at(lo);
}

test('the runtime reads a byte b as b/255, which quantises back to b (what the exhaustive search relies on)', () => {
  for (let b = 0; b <= 255; b++) assert.equal(quantizeU8(Math.fround(b / 255)), b);
});

test('verifyRobustness refuses bad requests with typed errors', async () => {
  const rng = new Rng(1);
  const graph = tinyGraph(rng, 'bad');
  const model = modelFromParams(graph, randomGraphParams(graph, rng));
  const px = graph.input[0] * graph.input[1] * graph.input[2];
  const images = new Float32Array(px).fill(0.5);
  await assert.rejects(verifyRobustness(model, { images, labels: [0] }, { eps: -0.1 }), (e) => e instanceof BnnVerifyError && e.code === 'BAD_EPS');
  await assert.rejects(verifyRobustness(model, { images: new Float32Array(px + 1), labels: [0] }, { eps: 0.1 }), (e) => e instanceof BnnVerifyError && e.code === 'BAD_IMAGES');
  await assert.rejects(verifyRobustness(model, { images: images.map(() => 2), labels: [0] }, { eps: 0.1 }), (e) => e instanceof BnnVerifyError && e.code === 'BAD_IMAGES');
  await assert.rejects(verifyRobustness(model, { images, labels: [99] }, { eps: 0.1 }), (e) => e instanceof BnnVerifyError && e.code === 'BAD_IMAGES');
  await assert.rejects(verifyRobustness(model, { images, labels: [0] }, { eps: 0.1, timeoutMs: 0 }), (e) => e instanceof BnnVerifyError && e.code === 'BAD_OPTION');
  await assert.rejects(verifyRobustness(model, { images, labels: [0] }, { eps: 0.1, search: 'fgsm' as 'pgd' }), (e) => e instanceof BnnVerifyError && e.code === 'BAD_OPTION' && /search/.test(e.message));
});

test('labels of a model with more than 256 classes are not wrapped', async () => {
  // One pixel, 300 classes; the bias makes the runtime pick class `winner` for every input.
  const graph = defineGraph({ name: 'c300', input: [1, 1, 1], classes: 300, layers: [{ kind: 'flatten', name: 'f' }, { kind: 'quantDense', name: 'd', units: 300, useBias: true }] });
  for (const winner of [0, 256]) {
    const bias = new Float32Array(300);
    bias[winner] = 1;
    const model = modelFromParams(graph, new Map([['d/kernel', new Float32Array(300)], ['d/bias', bias]]));
    const r = (await verifyRobustness(model, { images: Float32Array.of(0.5), labels: [256] }, { eps: 0.1, search: 'none', solver: 'none' })).rows[0]!.results[0]!;
    assert.equal(r.label, 256);
    assert.equal(r.verdict, winner === 256 ? 'verified' : 'misclassified');
  }
});

/** x as an exact integer multiple of 2⁻¹⁰⁷⁴ (every finite double is one). */
function exactUnits(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const exp = Number(bits >> 52n);
  const frac = bits & ((1n << 52n) - 1n);
  const units = exp === 0 ? frac : (frac | (1n << 52n)) << BigInt(exp - 1);
  return x < 0 ? -units : units;
}

test('verificationBox is the exact set of float32 inputs within ε, even where a float64 difference rounds', () => {
  const rng = new Rng(11);
  const cases: [number, number][] = [[0.5, 0.5 - 2 ** -54], [0.5, 0.5 + 2 ** -54], [1, 1 - 2 ** -53], [Math.fround(1 / 255), 1 / 255], [0.25, 0], [0, 0.3], [1, 0.3]];
  for (let k = 0; k < 300; k++) {
    const v = Math.fround(rng.next() < 0.2 ? rng.next() * 2 ** -30 : rng.next());
    const tiny = 2 ** -(30 + rng.int(90));
    cases.push([v, rng.next() < 0.5 ? v - tiny : 1 - v - tiny], [v, rng.next() * 0.5]);
  }
  const plan = { input: 0, values: [{ shape: [1, 1, 1] }] } as unknown as Parameters<typeof verificationBox>[0];
  const within = (x: number, v: number, eps: number) => { const d = exactUnits(x) - exactUnits(v); return (d < 0n ? -d : d) <= exactUnits(eps); };
  for (const [v, eps] of cases) {
    if (!(eps >= 0)) continue;
    const box = verificationBox(plan, Float32Array.of(v), eps);
    const lo = box.lo[0]!;
    const hi = box.hi[0]!;
    const where = `v ${v}, ε ${eps}: box [${lo}, ${hi}]`;
    assert.ok(within(lo, v, eps) && within(hi, v, eps) && lo >= 0 && hi <= 1, `${where} has an end outside the ball`);
    assert.ok(lo === 0 || !within(nextFloat32(lo, -1), v, eps), `${where}: a smaller float32 is still within ε`);
    assert.ok(hi === 1 || !within(nextFloat32(hi, 1), v, eps), `${where}: a larger float32 is still within ε`);
  }
});

test(`soundness: ${MODELS} small random models, every verified claim survives an exhaustive search of the box, every counterexample fools the runtime`, async () => {
  const tally = { verified: 0, counterexample: 0, unknown: 0, misclassified: 0, robustByEnumeration: 0, verifiedOfRobust: 0, verifiedUnchecked: 0, int8Models: 0, floatModels: 0, boxes: 0, inputs: 0 };
  const ops = new Map<string, number>();
  for (let g = 0; g < MODELS; g++) {
    const rng = new Rng(40_000 + g);
    // Every third model with ternary weights (ste_tern) wherever they are allowed.
    const graph = g % 3 === 2 ? ternaryOf(tinyGraph(rng, `v${g}`)) : tinyGraph(rng, `v${g}`);
    const model = modelFromParams(graph, withRoundingWeights(graph, randomGraphParams(graph, rng), rng), { int8: rng.next() < 0.85 ? 'auto' : false });
    const rt = await BnnRuntime.fromModel(model);
    const plan = rt.plan;
    for (const s of plan.steps) ops.set(s.op, (ops.get(s.op) ?? 0) + 1);
    for (const s of plan.steps) if (s.op === 'bconv' && s.maskWords) ops.set('ternary', (ops.get('ternary') ?? 0) + 1);
    if (plan.stochastic) ops.set('stochastic', (ops.get('stochastic') ?? 0) + 1);
    // int8 models: the image reaches the model only through the u8 quantisation.
    const int8 = plan.steps.every((s) => !s.inputs.includes(plan.input) || s.op === 'quantizeU8');
    tally[int8 ? 'int8Models' : 'floatModels']++;
    const px = graph.input[0] * graph.input[1] * graph.input[2];
    const random = () => Float32Array.from({ length: px }, () => (int8 ? rng.int(256) / 255 : 0.5 + rng.int(129) / 256));
    const images = new Float32Array(IMAGES * px);
    for (let i = 0; i < IMAGES; i++) {
      let x: Float32Array<ArrayBufferLike> = random();
      if (i % 2 === 1) {
        const other = random();
        if (rt.predict(x, 1)[0] !== rt.predict(other, 1)[0]) x = boundaryImage(rt, x, other, int8);
      }
      images.set(x, i * px);
    }
    const clean = rt.predict(images, IMAGES);
    const labels = Array.from(clean, (l, i) => (i === 3 && rng.next() < 0.3 ? (l + 1) % graph.classes : l));
    // Boxes of at most 5 values a pixel on at most 6 pixels, else 3 (at most 3⁹ inputs).
    const eps = int8 ? (px <= 6 ? [1 / 255, 2 / 255] : [1 / 255]) : px <= 6 ? [2 ** -24, 2 ** -23] : [2 ** -24];
    const report = await verifyRobustness(model, { images, labels }, { eps, search: 'random', keepCounterexamples: true });
    for (const row of report.rows) {
      for (const r of row.results) {
        tally[r.verdict]++;
        const x0 = images.subarray(r.index * px, (r.index + 1) * px);
        check(r, x0, row.eps);
      }
    }
    rt.dispose();

    function check(r: ImageResult, x0: Float32Array, eps: number): void {
      const where = `model ${g} (${graph.layers.map((l) => l.kind).join(' ')}), image ${r.index}, ε ${eps}`;
      // A stochastic model's labels change with each draw: its clean labels and counterexamples were the verifier's own draws.
      if (r.verdict === 'misclassified') return void (plan.stochastic || assert.notEqual(clean[r.index], r.label, `${where}: called misclassified but the runtime is right`));
      if (r.verdict === 'counterexample') {
        const x = r.counterexample as Float32Array;
        for (let p = 0; p < px; p++) assert.ok(Math.abs(x[p]! - x0[p]!) <= eps && x[p]! >= 0 && x[p]! <= 1, `${where}: counterexample pixel ${p} is outside the ball`);
        if (!plan.stochastic) assert.notEqual(rt.predict(x, 1)[0], r.label, `${where}: the counterexample is classified correctly`);
        return;
      }
      const choices = pixelChoices(rt, x0, eps, int8);
      const count = choices.reduce((n, c) => n * c.length, 1);
      if (count > MAX_BOX) return void (r.verdict === 'verified' && tally.verifiedUnchecked++);
      const { batch } = enumerate(choices, int8);
      tally.boxes++;
      tally.inputs += count;
      // Stochastic models: the claim holds for every draw, so for the draw of this call too.
      const predicted = rt.predict(batch, count);
      const robust = predicted.every((l) => l === r.label);
      if (robust) tally.robustByEnumeration++;
      if (r.verdict === 'verified') {
        tally.verifiedOfRobust++;
        assert.ok(robust, `${where}: verified, but input ${predicted.findIndex((l) => l !== r.label)} of the ${count} in the box is classified ${predicted.find((l) => l !== r.label)}`);
      }
    }
  }
  process.stdout.write(`# verify soundness: ${JSON.stringify(tally)}\n# steps: ${[...ops].map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
  // The test can fail: the verifier proves things, and the attack finds things.
  assert.ok(tally.verified >= MODELS / 4, `only ${tally.verified} verified`);
  assert.ok(tally.counterexample >= Math.floor(MODELS / 25), `only ${tally.counterexample} counterexamples`);
  assert.ok(tally.boxes >= MODELS, `only ${tally.boxes} boxes enumerated`);
  assert.ok(tally.verifiedUnchecked <= tally.verified / 100, `${tally.verifiedUnchecked} verified claims had boxes too large to enumerate`);
  for (const op of ['quantizeU8', 'qconvThreshold', 'conv', 'bconv', 'bitPad', 'bitMaxPool', 'threshold', 'dense', 'chain', 'accToF32', 'add', 'maxPool', 'avgPool', 'globalAvgPool', 'stochastic', 'ternary']) {
    assert.ok((ops.get(op) ?? 0) >= Math.min(3, MODELS / 50), `the models ran ${op} only ${ops.get(op) ?? 0} times`);
  }
});

test('bnn-edge verify: figures per ε as JSON, with the model\'s own data; a bad ε is a usage error', () => {
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'verify', ...args], { encoding: 'utf8', timeout: 120_000 });
  const ok = run('larq-mnist', '--eps', '0,1/255', '--n', '8', '--search', 'random', '--json');
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as { images: number; rows: { eps: number; verified: number; counterexamples: number; unknown: number; misclassified: number }[] };
  assert.equal(report.images, 8);
  assert.deepEqual(report.rows.map((r) => r.eps), [0, 1 / 255]);
  for (const r of report.rows) assert.equal(r.verified + r.counterexamples + r.unknown + r.misclassified, 8);
  // At ε = 0 the box is the image itself: every correctly classified image is proven.
  assert.equal(report.rows[0]!.verified, 8 - report.rows[0]!.misclassified);
  const bad = run('larq-mnist', '--eps', '0.1,x');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--eps values must be numbers in \[0, 1\]/);
});

test('what cannot be bounded is unknown, never verified: a float that may overflow, the time limit', async () => {
  const graph = defineGraph({ name: 'huge', input: [1, 2, 1], classes: 2, layers: [{ kind: 'flatten', name: 'f' }, { kind: 'quantDense', name: 'd', units: 2 }] });
  const params = randomGraphParams(graph, new Rng(5));
  params.set('d/kernel', Float32Array.from([3e38, -3e38, 3e38, -3e38]));
  const model = modelFromParams(graph, params);
  const images = Float32Array.from([1, 1]);
  const huge = await verifyRobustness(model, { images, labels: [0] }, { eps: 0.01, search: 'none' });
  const r = huge.rows[0]!.results[0]!;
  // The runtime's logits are +∞ and −∞: class 0 wins, and the bounds refuse to claim it.
  assert.deepEqual([r.verdict, r.reason], ['unknown', 'unbounded']);
  const rng = new Rng(6);
  const small = tinyGraph(rng, 'slow');
  const slow = await verifyRobustness(modelFromParams(small, randomGraphParams(small, rng)), { images: new Float32Array(small.input[0] * small.input[1] * small.input[2]).fill(0.5), labels: [0] }, { eps: 0.01, timeoutMs: 1e-9, search: 'none' });
  const s = slow.rows[0]!.results[0]!;
  if (s.verdict !== 'misclassified') assert.deepEqual([s.verdict, s.reason], ['unknown', 'timeout']);
});

test('terms too large for float32 make a sum unbounded even when its total is finite (a partial sum may overflow)', async () => {
  // Class 1's logit is 2¹²⁷·(x₀ + x₁ − x₂ − x₃): finite in real arithmetic, but x₀ + x₁ first reaches ∞ at the corner (1, 1, c, c).
  const graph = defineGraph({ name: 'ovf', input: [1, 1, 4], classes: 2, layers: [{ kind: 'flatten', name: 'f' }, { kind: 'quantDense', name: 'd', units: 2, useBias: true }] });
  const W = 2 ** 127;
  const model = modelFromParams(graph, new Map([['d/kernel', Float32Array.from([0, W, 0, W, 0, -W, 0, -W])], ['d/bias', Float32Array.from([1e33, 0])]]));
  const c = Math.fround(1 - 2 ** -24);
  const rt = await BnnRuntime.fromModel(model);
  assert.equal(rt.predict(Float32Array.of(c, c, c, c), 1)[0], 0);
  assert.equal(rt.predict(Float32Array.of(1, 1, c, c), 1)[0], 1, 'the corner overflows to +∞ on the runtime');
  rt.dispose();
  const r = (await verifyRobustness(model, { images: Float32Array.of(c, c, c, c), labels: [0] }, { eps: 2 ** -24, search: 'none', solver: 'none' })).rows[0]!.results[0]!;
  assert.deepEqual([r.verdict, r.reason], ['unknown', 'unbounded']);
  // The counterexample search still runs on such images, and finds the corner.
  const found = (await verifyRobustness(model, { images: Float32Array.of(c, c, c, c), labels: [0] }, { eps: 2 ** -24, search: 'random', solver: 'none' })).rows[0]!.results[0]!;
  assert.deepEqual([found.verdict, found.stage], ['counterexample', 'search']);
});

test('images left open by the time limit are still attacked', async () => {
  // logit₀ = x, logit₁ = 1 − x: at x = 0.6 class 0, at 0.4 (ε 0.2) class 1.
  const graph = defineGraph({ name: 'flip', input: [1, 1, 1], classes: 2, layers: [{ kind: 'flatten', name: 'f' }, { kind: 'quantDense', name: 'd', units: 2, useBias: true }] });
  const model = modelFromParams(graph, new Map([['d/kernel', Float32Array.from([1, -1])], ['d/bias', Float32Array.from([0, 1])]]));
  const images = Float32Array.of(0.6);
  const open = (await verifyRobustness(model, { images, labels: [0] }, { eps: 0.2, timeoutMs: 1e-9, search: 'none' })).rows[0]!;
  assert.deepEqual([open.results[0]!.verdict, open.results[0]!.reason], ['unknown', 'timeout']);
  const attacked = (await verifyRobustness(model, { images, labels: [0] }, { eps: 0.2, timeoutMs: 1e-9, search: 'random' })).rows[0]!;
  assert.deepEqual([attacked.results[0]!.verdict, attacked.attackedAccuracy], ['counterexample', 0]);
});

test('the package entry exports verifyRobustness', async () => {
  const lib = await import('../src/index.js');
  assert.equal(typeof lib.verifyRobustness, 'function');
  assert.deepEqual([...lib.COUNTEREXAMPLE_SEARCHES], ['pgd', 'random', 'none']);
});
