/**
 * The exact stage's solvers side by side (issue 40, deliverable 3): on the best verifiable-mnist
 * checkpoint available (runs/vm-adv, runs/vm-clean, runs/vm-trial; a finished training before
 * one still running) or else a shipped model the
 * stage can encode, the first N test images; per ε the images the bounds leave open (correctly
 * classified, not verified by the bounds) go to every solver with the same time limit per image.
 * Per solver: decided / verified / counterexample / timeouts / gave up (a size or memory limit, or a
 * failure, before the time was up), median and p90 ms per image. A verdict that arrives after the
 * limit (HiGHS and z3 overrun theirs while parsing) counts as a timeout, so that every solver gets
 * the same time.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { loadData, testDataOf } from '../../src/data/index.js';
import { readManifest } from '../../src/format/manifest.js';
import { readModelFile } from '../../src/format/file.js';
import type { BnnModel } from '../../src/format/model.js';
import { lower } from '../../src/model/lower.js';
import { BnnRuntime } from '../../src/runtime/index.js';
import { boundImage } from '../../src/verify/bounds.js';
import { checkEncodable, NotEncodableError } from '../../src/verify/exact/encode.js';
import { EXACT_SOLVERS, loadSolver, SolverUnavailableError, type ExactSolverName } from '../../src/verify/exact/solver.js';
import { exactVerdict } from '../../src/verify/exact/stage.js';
import { mdTable, pct } from '../lib.js';
import { MODELS_DIR } from './size.js';

const N = Number(process.env['BNN_EDGE_BENCH_SOLVER_IMAGES'] ?? 30);
const LIMIT_MS = Number(process.env['BNN_EDGE_BENCH_SOLVER_LIMIT_MS'] ?? 5000);
// 0.02: where the checkpoints are mostly robust (proofs); 0.1 and 0.3: issue 40's radii.
const EPS = [0.02, 0.1, 0.3];
const CHECKPOINTS = ['runs/vm-adv', 'runs/vm-clean', 'runs/vm-trial'];

interface SolverRow {
  readonly eps: number;
  readonly solver: ExactSolverName;
  readonly open: number;
  readonly decided: number;
  readonly verified: number;
  readonly counterexamples: number;
  readonly timeouts: number;
  /** Images the solver stopped on without an answer before the limit (a size or memory limit, or a failure). */
  readonly gaveUp: number;
  /** Solutions the runtime classified correctly (reported, never claimed). */
  readonly disagreements: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly skipped?: string;
}

function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** The checkpoint or shipped model to measure, and the data it was trained on. */
function pickModel(): { name: string; model: BnnModel; data: string | undefined; about: string; finished: boolean } | null {
  // A finished training writes its summary to runs/NAME.log; prefer finished checkpoints to one still training.
  const finished = (dir: string) => existsSync(`${dir}.log`) && readFileSync(`${dir}.log`, 'utf8').trim().length > 0;
  for (const dir of [...CHECKPOINTS.filter(finished), ...CHECKPOINTS.filter((d) => !finished(d))]) {
    const file = join(dir, 'model.bnn');
    if (!existsSync(file)) continue;
    // Checkpoints of a running training change: say which one was measured.
    const bytes = readFileSync(file);
    const checkpoint = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { training?: { data?: string }; history?: unknown[]; testAccuracy?: number };
    const about = `sha256 ${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}, ${checkpoint.history?.length ?? '?'} epochs${checkpoint.testAccuracy !== undefined ? `, test accuracy ${pct(checkpoint.testAccuracy, 2)}` : ''}`;
    return { name: `${dir}/model.bnn`, model: readModelFile(file).model, data: checkpoint.training?.data, about, finished: finished(dir) };
  }
  for (const e of readManifest(MODELS_DIR).models) {
    const { model } = readModelFile(join(MODELS_DIR, e.file));
    try {
      checkEncodable(lower(model));
      return { name: e.file, model, data: e.training.data, about: 'shipped', finished: true };
    } catch (err) {
      if (!(err instanceof NotEncodableError)) throw err;
    }
  }
  return null;
}

export async function verifySolversSuite(): Promise<{ markdown: string; data: unknown }> {
  const picked = pickModel();
  if (!picked) return { markdown: 'No verifiable-mnist checkpoint under runs/ and no shipped model the exact stage can encode: nothing measured.', data: null };
  const { model, name } = picked;
  const test = picked.data ? testDataOf(picked.data) : loadData().test;
  const plan = lower(model);
  const rt = await BnnRuntime.fromModel(model);
  const rows: SolverRow[] = [];
  const loadBefore = loadavg()[0]!;
  const t0 = performance.now();
  // A solver that timed out on every open image at one ε is not run at a larger one (it only gets harder).
  const hopeless = new Set<ExactSolverName>();
  const context: { eps: number; correct: number; boundsVerified: number; open: number }[] = [];
  try {
    const px = 784;
    const images = test.images.subarray(0, N * px);
    const clean = rt.predict(images, N);
    for (const eps of EPS) {
      const open: number[] = [];
      let boundsVerified = 0;
      for (let i = 0; i < N; i++) {
        if (clean[i] !== test.labels[i]) continue;
        const b = boundImage(plan, images.subarray(i * px, (i + 1) * px), eps, test.labels[i]!);
        if (b.verdict === 'verified') boundsVerified++;
        else if (b.reason === 'bounds') open.push(i);
      }
      context.push({ eps, correct: clean.filter((l, i) => l === test.labels[i]).length, boundsVerified, open: open.length });
      for (const solverName of EXACT_SOLVERS) {
        const base = { eps, solver: solverName, open: open.length };
        if (hopeless.has(solverName)) {
          rows.push({ ...base, decided: 0, verified: 0, counterexamples: 0, timeouts: 0, gaveUp: 0, disagreements: 0, medianMs: 0, p90Ms: 0, skipped: 'decided no image at a smaller ε' });
          continue;
        }
        let solver;
        try {
          solver = await loadSolver(solverName);
        } catch (e) {
          if (!(e instanceof SolverUnavailableError)) throw e;
          rows.push({ ...base, decided: 0, verified: 0, counterexamples: 0, timeouts: 0, gaveUp: 0, disagreements: 0, medianMs: 0, p90Ms: 0, skipped: 'package not installed' });
          continue;
        }
        process.stderr.write(`verify-solvers: ${solverName} at ε = ${eps} on ${open.length} images\n`);
        const ms: number[] = [];
        const tally = { verified: 0, counterexamples: 0, timeouts: 0, gaveUp: 0, disagreements: 0 };
        try {
          for (const i of open) {
            const start = performance.now();
            const v = await exactVerdict(plan, rt, solver, images.subarray(i * px, (i + 1) * px), eps, test.labels[i]!, start + LIMIT_MS);
            const spent = performance.now() - start;
            ms.push(spent);
            if (spent > LIMIT_MS) tally.timeouts++;
            else if (v.verdict === 'verified') tally.verified++;
            else if (v.verdict === 'counterexample') tally.counterexamples++;
            else if (v.reason === 'runtime-disagrees') tally.disagreements++;
            else if (v.reason === 'timeout') tally.timeouts++;
            else tally.gaveUp++;
          }
        } finally {
          solver.dispose();
        }
        const decided = tally.verified + tally.counterexamples;
        if (open.length && decided === 0) hopeless.add(solverName);
        rows.push({ ...base, decided, ...tally, medianMs: quantile(ms, 0.5), p90Ms: quantile(ms, 0.9) });
      }
    }
  } finally {
    rt.dispose();
  }
  const minutes = (performance.now() - t0) / 60_000;
  const load = `${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`;
  const table = mdTable(
    ['ε', 'solver', 'open images', 'decided', 'verified', 'counterexample', 'timeouts', 'gave up', 'runtime disagreed', 'median ms/image', 'p90 ms/image'],
    rows.map((r) => [r.eps, r.solver, r.open, r.skipped ? `not run (${r.skipped})` : `${r.decided} (${pct(r.open ? r.decided / r.open : 1, 0)})`, r.verified, r.counterexamples, r.timeouts, r.gaveUp, r.disagreements, r.skipped ? '–' : r.medianMs.toFixed(0), r.skipped ? '–' : r.p90Ms.toFixed(0)]),
  );
  const markdown =
    `The exact stage's solvers on the same encodings (src/verify/exact): model \`${name}\` (${picked.about}${picked.finished ? '' : ', training still running'}; data ${picked.data ?? 'embedded mnist'}), the first ${N} test images; at each ε the images the interval bounds leave open ` +
    `(correctly classified, not verified by the bounds) go to each solver with a limit of ${LIMIT_MS / 1000} s per image (encoding, solving, decoding and the runtime replay included; a verdict after the limit counts as a timeout; gave up: stopped before the limit without an answer, at a size or memory limit or on a failure). ` +
    'bab: our DPLL search with native cardinality propagation (TypeScript); bab-wasm: the same search plus conflict-driven clause learning, in AssemblyScript; z3: z3-solver 5.2.0 (z3 in wasm), AtLeast constraints; highs: highs 1.15.3 (HiGHS wasm MILP), big-M rows; minisat: logic-solver 2.0.1 (MiniSat in JavaScript), totalizer CNF. ' +
    `Per ε, correctly classified / verified by the bounds / left open: ${context.map((c) => `ε ${c.eps}: ${c.correct} / ${c.boundsVerified} / ${c.open}`).join('; ')}. ` +
    `Load average ${load}${loadBefore > 1 ? ' (the CPU was shared with other jobs)' : ''}; ${minutes.toFixed(1)} minutes.\n\n` +
    table;
  return { markdown, data: { model: name, about: picked.about, images: N, limitMs: LIMIT_MS, load, context, rows } };
}
