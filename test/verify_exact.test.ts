/**
 * The exact stage (src/verify/exact): on small random models with a binarized input, its verdict
 * equals an exhaustive search of the ball through the runtime (every u8 level of every pixel when
 * that is few enough inputs, else one level per pattern of mask bits), every counterexample lies
 * in the ball and fools the runtime, and the solvers agree with each other where they finish.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { BnnModel } from '../src/format/model.js';
import type { QconvThresholdStep } from '../src/model/lower.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { Rng } from '../src/util/rng.js';
import { quantizeU8 } from '../src/verify/binary_steps.js';
import { verificationBox } from '../src/verify/bounds.js';
import { encode, TRUE, type Encoding } from '../src/verify/exact/encode.js';
import { loadSolver, SolverUnavailableError, type ExactSolver, type ExactSolverName, type SolveOutcome } from '../src/verify/exact/solver.js';
import { centerAssignment, decodeLevels, exactVerdict, imageForLevels } from '../src/verify/exact/stage.js';
import { BnnVerifyError, DEFAULT_SOLVER, verifyRobustness } from '../src/verify/index.js';
import { binarizedInputModel, imageNearCuts, maskCuts } from './verify_exact_models.js';

const MODELS = Number(process.env['BNN_EDGE_EXACT_MODELS'] ?? 250);
const IMAGES = 4;
const MAX_LEVELS = 1 << 16;
const MAX_PATTERNS = 1 << 14;

interface Case {
  readonly model: BnnModel;
  readonly rt: BnnRuntime;
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly eps: number;
  readonly px: number;
}

async function makeCase(g: number): Promise<Case> {
  const rng = new Rng(70_000 + g);
  const model = binarizedInputModel(rng, `x${g}`);
  const rt = await BnnRuntime.fromModel(model);
  const mask = rt.plan.steps.find((s) => s.op === 'qconvThreshold') as QconvThresholdStep;
  const r = 1 + rng.int(3);
  const [h, w] = model.graph.input;
  const px = h * w;
  const images = new Float32Array(IMAGES * px);
  for (let i = 0; i < IMAGES; i++) images.set(imageNearCuts(rng, px, maskCuts(mask), r, 0.3), i * px);
  return { model, rt, images, labels: rt.predict(images, IMAGES), eps: r / 255, px };
}

/** Every distinct input the model can see in the ball, as u8 levels (all levels, or one per pattern of mask bits); null if too many. */
function ballInputs(c: Case, x0: Float32Array): { batch: Uint8Array; count: number; complete: boolean } | null {
  const box = verificationBox(c.rt.plan, x0, c.eps);
  const mask = c.rt.plan.steps.find((s) => s.op === 'qconvThreshold') as QconvThresholdStep;
  const levels = Array.from(box.lo, (lo, p) => Array.from({ length: quantizeU8(box.hi[p]!) - quantizeU8(lo) + 1 }, (_, k) => quantizeU8(lo) + k));
  let choices = levels;
  let complete = true;
  if (levels.reduce((n, l) => n * l.length, 1) > MAX_LEVELS) {
    // One level per pattern of the pixel's mask bits (the model sees the pixel only through them).
    const bits = (q: number) => Array.from(mask.thr, (t, o) => ((mask.flip[o] ? mask.weightsI8[o]! * q <= t : mask.weightsI8[o]! * q >= t) ? 1 : 0)).join('');
    choices = levels.map((l) => [...new Map(l.map((q) => [bits(q), q])).values()]);
    complete = false;
  }
  const count = choices.reduce((n, l) => n * l.length, 1);
  if (count > (complete ? MAX_LEVELS : MAX_PATTERNS)) return null;
  const batch = new Uint8Array(count * c.px);
  for (let k = 0; k < count; k++) {
    let rest = k;
    for (let p = 0; p < c.px; p++) {
      const l = choices[p]!;
      batch[k * c.px + p] = l[rest % l.length]!;
      rest = Math.floor(rest / l.length);
    }
  }
  return { batch, count, complete };
}

test(`exact stage: ${MODELS} random binarized-input models, its verdict equals an exhaustive search through the runtime`, async () => {
  const tally = { verified: 0, counterexample: 0, unknown: 0, exactDecided: 0, boundsVerified: 0, enumerated: 0, allLevels: 0, inputs: 0, skipped: 0, maskChannels2: 0, ternary: 0 };
  for (let g = 0; g < MODELS; g++) {
    const c = await makeCase(g);
    if (c.model.graph.layers[0]!.kind === 'quantConv2d' && c.model.graph.layers[0]!.filters > 1) tally.maskChannels2++;
    if (c.rt.plan.steps.some((s) => s.op === 'bconv' && s.maskWords)) tally.ternary++;
    const report = await verifyRobustness(c.model, { images: c.images, labels: c.labels }, { eps: c.eps, search: 'none', solver: 'bab', keepCounterexamples: true, timeoutMs: 60_000 });
    assert.equal(report.solver, 'bab');
    for (const r of report.rows[0]!.results) {
      const where = `model ${g} (${c.model.graph.layers.map((l) => l.name).join(' ')}), image ${r.index}, ε ${c.eps * 255}/255`;
      assert.notEqual(r.verdict, 'misclassified', `${where}: labels are the runtime's own`);
      assert.notEqual(r.verdict, 'unknown', `${where}: the exact stage left it ${r.reason}`);
      tally[r.verdict as 'verified' | 'counterexample']++;
      if (r.stage === 'exact') tally.exactDecided++;
      if (r.stage === 'bounds') tally.boundsVerified++;
      const x0 = c.images.subarray(r.index * c.px, (r.index + 1) * c.px);
      if (r.verdict === 'counterexample') {
        const x = r.counterexample!;
        for (let p = 0; p < c.px; p++) assert.ok(Math.abs(x[p]! - x0[p]!) <= c.eps && x[p]! >= 0 && x[p]! <= 1, `${where}: counterexample pixel ${p} is outside the ball`);
        assert.notEqual(c.rt.predict(x, 1)[0], r.label, `${where}: the counterexample is classified correctly by the runtime`);
      }
      const ball = ballInputs(c, x0);
      if (!ball) {
        tally.skipped++;
        continue;
      }
      tally.enumerated++;
      if (ball.complete) tally.allLevels++;
      tally.inputs += ball.count;
      const predicted = c.rt.predict(ball.batch, ball.count);
      const robust = predicted.every((l) => l === r.label);
      assert.equal(r.verdict, robust ? 'verified' : 'counterexample', `${where}: the exhaustive search says ${robust ? 'robust' : `input ${predicted.findIndex((l) => l !== r.label)} of ${ball.count} is classified ${predicted.find((l) => l !== r.label)}`}, the exact stage ${r.verdict}`);
    }
    c.rt.dispose();
  }
  process.stdout.write(`# exact stage: ${JSON.stringify(tally)}\n`);
  // The test can fail: both verdicts occur, the solver decides what the bounds leave, the boxes get enumerated.
  assert.ok(tally.verified >= MODELS / 4, `only ${tally.verified} verified`);
  assert.ok(tally.counterexample >= MODELS / 4, `only ${tally.counterexample} counterexamples`);
  assert.ok(tally.exactDecided >= MODELS / 2, `the exact stage decided only ${tally.exactDecided} images`);
  assert.ok(tally.skipped <= (MODELS * IMAGES) / 50, `${tally.skipped} balls too large to enumerate`);
  assert.ok(tally.maskChannels2 >= MODELS / 10, `only ${tally.maskChannels2} models with several mask channels`);
  assert.ok(tally.ternary >= MODELS / 10, `only ${tally.ternary} models with ternary weights`);
});

/** A solver, or a skip with the reason when its optional package is missing. */
async function solverOrSkip(t: TestContext, name: ExactSolverName): Promise<ExactSolver | null> {
  try {
    return await loadSolver(name);
  } catch (e) {
    if (e instanceof SolverUnavailableError) {
      t.skip(e.message);
      return null;
    }
    throw e;
  }
}

for (const name of ['bab-wasm', 'z3', 'highs', 'minisat'] as const) {
  test(`solver ${name} agrees with bab on the same encodings; its solutions fool the runtime`, async (t) => {
    const other = await solverOrSkip(t, name);
    if (!other) return;
    const bab = await loadSolver('bab');
    const tally = { agreed: 0, sat: 0, unsat: 0, timeouts: 0 };
    try {
      for (let g = 0; g < Math.min(MODELS, 120); g++) {
        const c = await makeCase(g);
        for (let i = 0; i < IMAGES; i++) {
          const x0 = c.images.subarray(i * c.px, (i + 1) * c.px);
          const box = verificationBox(c.rt.plan, x0, c.eps);
          const enc = encode(c.rt.plan, box, c.labels[i]!);
          const center = centerAssignment(enc, x0);
          const want = await bab.solve({ encoding: enc, deadline: performance.now() + 60_000, center, ...(g % 2 ? { restartUnit: 1 } : {}) });
          // bab-wasm restarts after every conflict here, so that its restarts are exercised.
          const got: SolveOutcome = await other.solve({ encoding: enc, deadline: performance.now() + 20_000, center, ...(name === 'bab-wasm' ? { restartUnit: 1 } : {}) });
          // No answer from one of them (its time, or a size or memory limit): nothing to compare.
          if (got.status === 'timeout' || got.status === 'gave-up' || want.status === 'timeout' || want.status === 'gave-up') {
            tally.timeouts++;
            continue;
          }
          assert.equal(got.status, want.status, `model ${g}, image ${i}: ${name} says ${got.status}, bab ${want.status}`);
          tally.agreed++;
          tally[got.status]++;
          if (got.status === 'sat') {
            const x = imageForLevels(decodeLevels(enc, x0, got.inputs), x0, box);
            assert.ok(x, `model ${g}, image ${i}: ${name}'s solution asks for a level outside the ball`);
            assert.notEqual(c.rt.predict(x, 1)[0], c.labels[i], `model ${g}, image ${i}: ${name}'s counterexample is classified correctly by the runtime`);
          }
        }
        c.rt.dispose();
      }
    } finally {
      other.dispose();
    }
    process.stdout.write(`# ${name} vs bab: ${JSON.stringify(tally)}\n`);
    // Where a solver timed out nothing is compared; it must still have answered both ways.
    assert.ok(tally.sat > 0 && tally.unsat > 0, `${name} answered sat ${tally.sat} and unsat ${tally.unsat} times`);
  });
}

test('z3 past its time limit answers timeout, and answers the next encoding again', async (t) => {
  const z3 = await solverOrSkip(t, 'z3');
  if (!z3) return;
  try {
    // Random 3-SAT at the threshold ratio over 400 variables: far more than 50 ms of search.
    const rng = new Rng(7);
    const vars = 400;
    const clauses = Array.from({ length: Math.round(4.26 * vars) }, () => Int32Array.from({ length: 3 }, () => 2 * rng.int(vars) + rng.int(2)));
    const hard: Encoding = { vars, inputs: [], qlo: new Int32Array(0), qhi: new Int32Array(0), cards: [], clauses, goal: TRUE };
    assert.equal((await z3.solve({ encoding: hard, deadline: performance.now() + 50 })).status, 'timeout');
    // out ⇔ (v0 + v1 ≥ 2), with v0 ∨ v1 and the goal out: only v0 = v1 = 1.
    const easy = { vars: 3, inputs: [{}, {}], qlo: new Int32Array(0), qhi: new Int32Array(0), cards: [{ out: 2, lits: Int32Array.of(0, 2), k: 2 }], clauses: [Int32Array.of(0, 2)], goal: 4 };
    const sat = await z3.solve({ encoding: easy as unknown as Encoding, deadline: performance.now() + 20_000 });
    assert.deepEqual(sat, { status: 'sat', inputs: Uint8Array.of(1, 1) });
    const unsat = await z3.solve({ encoding: { ...easy, clauses: [Int32Array.of(1)] } as unknown as Encoding, deadline: performance.now() + 20_000 });
    assert.equal(unsat.status, 'unsat');
  } finally {
    z3.dispose();
  }
});

test('the exact stage refuses what it cannot do with typed errors, and the default skips models it cannot encode', async () => {
  const c = await makeCase(1);
  const data = { images: c.images, labels: c.labels };
  await assert.rejects(verifyRobustness(c.model, data, { eps: c.eps, solver: 'nope' as 'bab' }), (e) => e instanceof BnnVerifyError && e.code === 'BAD_OPTION');
  // Unasked, an encodable model gets the default solver, and nothing is left unknown.
  const byDefault = await verifyRobustness(c.model, data, { eps: c.eps, search: 'none' });
  assert.equal(byDefault.solver, DEFAULT_SOLVER);
  assert.equal(byDefault.rows[0]!.unknown, 0);
  const rng = new Rng(3);
  const floatFirst = binarizedInputModel(rng, 'f');
  // The same shape exported with a float32 first layer: thresholds on floats, not encodable.
  const { modelFromParams, paramsFromModel } = await import('../src/format/model.js');
  const { graph, params } = paramsFromModel(floatFirst);
  const model = modelFromParams(graph, params, { int8: false });
  const px = graph.input[0] * graph.input[1];
  const images = new Float32Array(px).fill(0.5);
  await assert.rejects(verifyRobustness(model, { images, labels: [0] }, { eps: 0.01, solver: 'bab' }), (e) => e instanceof BnnVerifyError && e.code === 'BAD_OPTION' && /not one the exact stage encodes/.test(e.message));
  const report = await verifyRobustness(model, { images, labels: [0] }, { eps: 0.01, search: 'none' });
  assert.equal(report.solver, 'none');
  assert.match(report.solverSkipped ?? '', /threshold on floats|binarized input|not a Boolean step/);
  c.rt.dispose();
});

test('a solver time limit leaves the image unknown (timeout), never verified', async () => {
  for (let g = 0; g < 40; g++) {
    const c = await makeCase(g);
    const report = await verifyRobustness(c.model, { images: c.images, labels: c.labels }, { eps: c.eps, search: 'none', solver: 'bab', timeoutMs: 1e-9 });
    for (const r of report.rows[0]!.results) assert.ok(r.verdict === 'unknown' || r.stage !== 'exact', `model ${g}: decided by the solver with no time`);
    c.rt.dispose();
  }
});

test('a solver that gives up before its time (a size or memory limit) leaves the image unknown with that reason, not a timeout', async () => {
  const c = await makeCase(3);
  const gaveUp: ExactSolver = { name: 'minisat', solve: async () => ({ status: 'gave-up', detail: 'the totalizers need more than 3000000 clauses' }), dispose() {} };
  const timedOut: ExactSolver = { name: 'minisat', solve: async () => ({ status: 'timeout' }), dispose() {} };
  const x0 = c.images.subarray(0, c.px);
  const deadline = performance.now() + 10_000;
  assert.deepEqual(await exactVerdict(c.rt.plan, c.rt, gaveUp, x0, c.eps, c.labels[0]!, deadline), { verdict: 'unknown', reason: 'solver-gave-up', detail: 'the totalizers need more than 3000000 clauses' });
  assert.deepEqual(await exactVerdict(c.rt.plan, c.rt, timedOut, x0, c.eps, c.labels[0]!, deadline), { verdict: 'unknown', reason: 'timeout' });
  c.rt.dispose();
});

test('bab and bab-wasm (clause learning) on random layered cardinality circuits: satisfiable exactly when some input assignment makes the goal true, with restarts or without', async () => {
  const solvers = await Promise.all((['bab', 'bab-wasm'] as const).map((n) => loadSolver(n)));
  try {
    const rng = new Rng(424242);
    let sat = 0;
    let unsat = 0;
    for (let g = 0; g < 300; g++) {
      // inputs → a layer of wide constraints → a layer over those outputs (and some inputs) → goal.
      const n = 4 + rng.int(11);
      const cards: { out: number; lits: Int32Array; k: number }[] = [];
      let vars = n;
      const layer = (from: number[], count: number) => {
        const outs: number[] = [];
        for (let u = 0; u < count; u++) {
          const size = 1 + rng.int(Math.min(from.length, 9));
          const picked = [...from].sort(() => rng.int(3) - 1).slice(0, size);
          const lits = Int32Array.from(picked, (v) => 2 * v + rng.int(2));
          cards.push({ out: vars, lits, k: 1 + rng.int(size) });
          outs.push(vars++);
        }
        return outs;
      };
      const inputs = Array.from({ length: n }, (_, i) => i);
      const first = layer(inputs, 2 + rng.int(8));
      const second = layer([...first, ...inputs.slice(0, 3)], 1 + rng.int(4));
      const goalVar = second[rng.int(second.length)]!;
      const goal = 2 * goalVar + rng.int(2);
      const clauses = rng.int(2) ? [Int32Array.from([2 * first[0]! + 1, 2 * inputs[n - 1]!])] : [];
      const encoding = { vars, inputs: inputs.map((p) => ({ pixel: p, cut: 0 })), qlo: new Int32Array(n), qhi: new Int32Array(n), cards, clauses, goal };
      const value = (bits: number): Uint8Array => {
        const v = new Uint8Array(vars);
        for (let i = 0; i < n; i++) v[i] = (bits >> i) & 1;
        const lit = (l: number) => (v[l >> 1]! ^ (l & 1)) === 1;
        for (const c of cards) v[c.out] = c.lits.reduce((t, l) => t + (lit(l) ? 1 : 0), 0) >= c.k ? 1 : 0;
        return v;
      };
      const holds = (v: Uint8Array) => {
        const lit = (l: number) => (v[l >> 1]! ^ (l & 1)) === 1;
        return lit(goal) && clauses.every((cl) => cl.some(lit));
      };
      let expected = false;
      for (let bits = 0; bits < 1 << n && !expected; bits++) expected = holds(value(bits));
      expected ? sat++ : unsat++;
      for (const solver of solvers) {
        for (const restartUnit of [0, 1, 3]) {
          const r = await solver.solve({ encoding, deadline: performance.now() + 10_000, restartUnit });
          assert.equal(r.status, expected ? 'sat' : 'unsat', `${solver.name}, circuit ${g} (${n} inputs), restart unit ${restartUnit}`);
          if (r.status === 'sat') {
            const bits = Array.from(r.inputs).reduce((b, x, i) => b | (x << i), 0);
            assert.ok(holds(value(bits)), `${solver.name}, circuit ${g}: its assignment does not make the goal true`);
          }
        }
      }
    }
    assert.ok(sat > 30 && unsat > 30, `both outcomes are exercised (${sat} satisfiable, ${unsat} not)`);
  } finally {
    for (const s of solvers) s.dispose();
  }
});
