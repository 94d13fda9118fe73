/**
 * verifyRobustness: per image and ε, `misclassified` (the runtime gets the clean image wrong),
 * `verified` (the bounds, or the exact solver, prove every input of the ball keeps the label),
 * `counterexample` (an input of the ball the runtime misclassifies, found by the exact solver or a
 * quick attack, and replayed) or `unknown`. Stages: bounds, then the exact solver (models with a
 * binarized input, exact/encode.ts), then the attack on what is still open.
 */
import type { BnnModel } from '../format/model.js';
import { inputSize } from '../model/graph.js';
import { lower } from '../model/lower.js';
import { BnnRuntime } from '../runtime/index.js';
import { COUNTEREXAMPLE_SEARCHES, searchCounterexamples, type CounterexampleSearch } from './attack.js';
import { boundImage } from './bounds.js';
import { differenceExceeds } from './float.js';
import { checkEncodable, NotEncodableError } from './exact/encode.js';
import { EXACT_SOLVERS, loadSolver, SolverUnavailableError, type ExactSolver, type ExactSolverName } from './exact/solver.js';
import { exactVerdict } from './exact/stage.js';

export type Verdict = 'verified' | 'counterexample' | 'unknown' | 'misclassified';

/**
 * Why an image stayed unknown (the attack found nothing either): the bounds were too loose and no
 * exact solver ran, time ran out, a float may overflow, an attack fooled tfjs but not the runtime,
 * the exact solver's counterexample was classified correctly by the runtime (reported, never
 * claimed), the solver gave up, or the image's ball is not one the exact stage encodes.
 */
export type UnknownReason = 'bounds' | 'timeout' | 'unbounded' | 'not-replayed' | 'runtime-disagrees' | 'solver-gave-up' | 'not-encodable';

/** Which stage settled an image: the bounds, the exact solver, or the attack. */
export type VerifyStage = 'bounds' | 'exact' | 'search';

/** The exact stage's solver, or none. */
export type SolverChoice = ExactSolverName | 'none';
export const SOLVER_CHOICES: readonly SolverChoice[] = [...EXACT_SOLVERS, 'none'];
/** The solver used when none is named and the model is encodable (the fastest measured, bench suite verify-solvers); `bab` if its wasm is not built. */
export const DEFAULT_SOLVER: ExactSolverName = 'bab-wasm';
/** The exact stage's time limit per image when no timeoutMs is given. */
export const DEFAULT_EXACT_TIMEOUT_MS = 10_000;

export interface ImageResult {
  readonly index: number;
  readonly label: number;
  readonly verdict: Verdict;
  /** Milliseconds: this image's bound propagation plus its share of the attack (0 for a counterexample found at a smaller ε, reused). */
  readonly ms: number;
  /** The proven lower bound of (true logit − largest other) over the ball; > 0 iff verified by the bounds. */
  readonly margin: number;
  readonly reason?: UnknownReason;
  /** The stage that settled it (verified / counterexample), or the exact stage for its timeouts. */
  readonly stage?: VerifyStage;
  /** The exact stage ran out of time on it (whatever the attack after it found). */
  readonly exactTimeout?: true;
  /** The runtime-confirmed counterexample (when `keepCounterexamples`). */
  readonly counterexample?: Float32Array;
}

export interface VerifyRow {
  readonly eps: number;
  readonly images: number;
  readonly misclassified: number;
  readonly verified: number;
  readonly counterexamples: number;
  readonly unknown: number;
  /** Images where the attack fooled the tfjs graph but the runtime held (counted as unknown). */
  readonly notReplayed: number;
  /** Images the exact solver settled (verified or counterexample). */
  readonly exactDecided: number;
  /** Images the exact solver left at its time limit (some of them then settled by the attack). */
  readonly exactTimeouts: number;
  readonly cleanAccuracy: number;
  /** Proven robust accuracy (a lower bound). */
  readonly verifiedAccuracy: number;
  /** Accuracy under the attack, replayed on the runtime (an upper bound on robust accuracy). */
  readonly attackedAccuracy: number;
  readonly unknownFraction: number;
  readonly medianMs: number;
  readonly results: readonly ImageResult[];
}

export interface VerifyReport {
  readonly model: string;
  readonly images: number;
  readonly search: CounterexampleSearch;
  /** The exact stage's solver ('none': not run, e.g. the model has no binarized input). */
  readonly solver: SolverChoice;
  /** Why the exact stage did not run, when the default was chosen and the model is not encodable. */
  readonly solverSkipped?: string;
  readonly rows: readonly VerifyRow[];
}

export interface VerifyImages {
  /** n × H·W·C float32 pixels in [0, 1]. */
  readonly images: Float32Array;
  /** n true labels. */
  readonly labels: ArrayLike<number>;
}

export interface VerifyOptions {
  /** L∞ radius, or several. */
  readonly eps: number | readonly number[];
  /** Verify the first n images (default: all). */
  readonly n?: number;
  /** Time limit of one image's bounds and exact solver together, ms (default: none for the bounds, 10 s for the solver). */
  readonly timeoutMs?: number;
  /**
   * The exact stage between the bounds and the attack (models with a binarized input): `bab` our
   * own search with native cardinality propagation, `bab-wasm` the same in AssemblyScript, `z3`,
   * `highs`, `minisat` (optional packages), `none`. Default: DEFAULT_SOLVER when the model is encodable, else none.
   */
  readonly solver?: SolverChoice;
  /** How counterexamples are searched for (default `pgd`). */
  readonly search?: CounterexampleSearch;
  /** PGD iterations (default 20). */
  readonly steps?: number;
  readonly seed?: number;
  /** Keep each counterexample's pixels in the results. */
  readonly keepCounterexamples?: boolean;
  /** Called as images are settled: done of total (images × ε values). */
  readonly onProgress?: (done: number, total: number) => void;
}

export type VerifyErrorCode = 'BAD_EPS' | 'BAD_IMAGES' | 'BAD_OPTION';

/** A request verifyRobustness cannot run: a bad ε, images of the wrong size, a bad option. */
export class BnnVerifyError extends Error {
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
  ) {
    super(`${message} [${code}]`);
    this.name = 'BnnVerifyError';
  }
}

/** Images settled between progress reports and attacked together. */
const CHUNK = 25;

function median(xs: readonly number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function checkRequest(model: BnnModel, data: VerifyImages, o: VerifyOptions): { eps: number[]; n: number } {
  const eps = typeof o.eps === 'number' ? [o.eps] : [...o.eps];
  if (!eps.length) throw new BnnVerifyError('BAD_EPS', 'give at least one ε');
  for (const e of eps) if (!(e >= 0 && e <= 1)) throw new BnnVerifyError('BAD_EPS', `ε must be a number in [0, 1], got ${e}`);
  const px = inputSize(model.graph);
  if (!(data.images instanceof Float32Array) || data.images.length % px !== 0) throw new BnnVerifyError('BAD_IMAGES', `images must be a Float32Array of ${model.graph.input.join('×')} images (${px} values each)`);
  const available = Math.min(data.images.length / px, data.labels.length);
  const n = o.n ?? available;
  if (!Number.isSafeInteger(n) || n < 1 || n > available) throw new BnnVerifyError('BAD_IMAGES', `n must be an integer in 1..${available}, got ${n}`);
  for (let i = 0; i < n * px; i++) if (!(data.images[i]! >= 0 && data.images[i]! <= 1)) throw new BnnVerifyError('BAD_IMAGES', `pixel ${i % px} of image ${Math.floor(i / px)} is ${data.images[i]}, outside [0, 1]`);
  for (let i = 0; i < n; i++) {
    const l = data.labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= model.graph.classes) throw new BnnVerifyError('BAD_IMAGES', `label ${i} is ${l}, not a class of ${model.graph.classes}`);
  }
  if (o.timeoutMs !== undefined && !(o.timeoutMs > 0)) throw new BnnVerifyError('BAD_OPTION', `timeoutMs must be positive, got ${o.timeoutMs}`);
  if (o.steps !== undefined && !(Number.isSafeInteger(o.steps) && o.steps >= 1)) throw new BnnVerifyError('BAD_OPTION', `steps must be a positive integer, got ${o.steps}`);
  if (o.search !== undefined && !COUNTEREXAMPLE_SEARCHES.includes(o.search)) throw new BnnVerifyError('BAD_OPTION', `search must be one of ${COUNTEREXAMPLE_SEARCHES.join(', ')}, got ${String(o.search)}`);
  if (o.solver !== undefined && !SOLVER_CHOICES.includes(o.solver)) throw new BnnVerifyError('BAD_OPTION', `solver must be one of ${SOLVER_CHOICES.join(', ')}, got ${String(o.solver)}`);
  return { eps, n };
}

/** Verifies local robustness of `model` (as the runtime computes it) around each image, for each ε. */
export async function verifyRobustness(model: BnnModel, data: VerifyImages, o: VerifyOptions): Promise<VerifyReport> {
  const { eps: epsList, n } = checkRequest(model, data, o);
  const search = o.search ?? 'pgd';
  const px = inputSize(model.graph);
  const plan = lower(model);
  const { solver, skipped } = await chooseSolver(plan, o.solver);
  const rt = await BnnRuntime.fromModel(model, { seed: o.seed ?? 0 });
  try {
    const images = data.images.subarray(0, n * px);
    // Int32: a model may have up to 65535 classes.
    const labels = Int32Array.from({ length: n }, (_, i) => data.labels[i]!);
    const clean = rt.predict(images, n);
    const total = n * epsList.length;
    let done = 0;
    const rows = [];
    // Runtime-confirmed counterexamples so far: one within a later ε is a counterexample there too.
    const known = new Map<number, Float32Array>();
    for (const eps of epsList) {
      const results: ImageResult[] = [];
      for (let start = 0; start < n; start += CHUNK) {
        const end = Math.min(n, start + CHUNK);
        const pending: Pending[] = [];
        for (let i = start; i < end; i++) {
          const label = labels[i]!;
          if (clean[i] !== label) {
            results.push({ index: i, label, verdict: 'misclassified', ms: 0, margin: -Infinity });
            continue;
          }
          const x = known.get(i);
          if (x && withinBall(x, images.subarray(i * px, (i + 1) * px), eps)) {
            results.push({ index: i, label, verdict: 'counterexample', ms: 0, margin: -Infinity, ...(o.keepCounterexamples ? { counterexample: x } : {}) });
            continue;
          }
          const t0 = performance.now();
          const b = boundImage(plan, images.subarray(i * px, (i + 1) * px), eps, label, o.timeoutMs !== undefined ? t0 + o.timeoutMs : Infinity);
          const ms = performance.now() - t0;
          if (b.verdict === 'verified') results.push({ index: i, label, verdict: 'verified', ms, margin: b.margin, stage: 'bounds' });
          // Open after the bounds (loose, out of time, or a float that may overflow): the solver, then the attack.
          else if (b.reason !== 'bounds' || !solver) pending.push({ index: i, ms, margin: b.margin, reason: b.reason });
          else {
            const x0 = images.subarray(i * px, (i + 1) * px);
            const limit = o.timeoutMs ?? DEFAULT_EXACT_TIMEOUT_MS;
            const e = await exactVerdict(plan, rt, solver, x0, eps, label, t0 + limit);
            const spent = performance.now() - t0;
            const base = { index: i, label, ms: spent, margin: b.margin };
            if (e.verdict === 'verified') results.push({ ...base, verdict: 'verified', stage: 'exact' });
            else if (e.verdict === 'counterexample') {
              known.set(i, e.input);
              results.push({ ...base, verdict: 'counterexample', stage: 'exact', ...(o.keepCounterexamples ? { counterexample: e.input } : {}) });
            }
            // Out of time, not encodable, the solver gave up early, or the runtime disagreed: the attack may still find something.
            else pending.push({ index: i, ms: spent, margin: b.margin, reason: e.reason, ...(e.reason === 'timeout' ? { stage: 'exact' as const } : {}) });
          }
        }
        for (const r of await attackPending(model, rt, images, labels, pending, px, eps, search, o)) {
          const { counterexample, ...rest } = r;
          if (counterexample) known.set(r.index, counterexample);
          results.push(counterexample && o.keepCounterexamples ? r : rest);
        }
        done += end - start;
        o.onProgress?.(done, total);
      }
      results.sort((a, b) => a.index - b.index);
      rows.push(summarize(eps, n, results));
    }
    return { model: model.graph.name, images: n, search, solver: solver?.name ?? 'none', ...(skipped ? { solverSkipped: skipped } : {}), rows };
  } finally {
    rt.dispose();
    solver?.dispose();
  }
}

/** The exact solver asked for (or the default if the model is encodable), loaded; a typed error if it cannot run. */
async function chooseSolver(plan: ReturnType<typeof lower>, asked: SolverChoice | undefined): Promise<{ solver: ExactSolver | null; skipped?: string }> {
  if (asked === 'none') return { solver: null };
  try {
    checkEncodable(plan);
  } catch (e) {
    if (!(e instanceof NotEncodableError)) throw e;
    if (asked === undefined) return { solver: null, skipped: e.message };
    throw new BnnVerifyError('BAD_OPTION', `solver ${asked}: the model is not one the exact stage encodes (${e.message}); use --solver none`);
  }
  try {
    return { solver: await loadSolver(asked ?? DEFAULT_SOLVER) };
  } catch (e) {
    if (!(e instanceof SolverUnavailableError)) throw e;
    // The default falls back to the TypeScript search, which is always there.
    if (asked === undefined) return { solver: await loadSolver('bab') };
    throw new BnnVerifyError('BAD_OPTION', e.message);
  }
}

/** An image the bounds and the exact stage left open, and why (kept if the attack finds nothing either). */
interface Pending {
  readonly index: number;
  readonly ms: number;
  readonly margin: number;
  readonly reason: UnknownReason;
  /** 'exact' when the exact stage ran out of time on it (counted in exactTimeouts). */
  readonly stage?: VerifyStage;
}

/** The counterexample search on the images the bounds left open; each gets its share of the time. */
async function attackPending(model: BnnModel, rt: BnnRuntime, images: Float32Array, labels: Int32Array, pending: readonly Pending[], px: number, eps: number, search: CounterexampleSearch, o: VerifyOptions): Promise<ImageResult[]> {
  if (!pending.length) return [];
  const batch = new Float32Array(pending.length * px);
  pending.forEach((p, k) => batch.set(images.subarray(p.index * px, (p.index + 1) * px), k * px));
  const t0 = performance.now();
  const { found, notReplayed } = await searchCounterexamples(model, rt, batch, Int32Array.from(pending, (p) => labels[p.index]!), { search, eps, ...(o.steps !== undefined ? { steps: o.steps } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}) });
  const share = (performance.now() - t0) / pending.length;
  return pending.map((p, k): ImageResult => {
    const base = { index: p.index, label: labels[p.index]!, ms: p.ms + share, margin: p.margin, ...(p.stage === 'exact' ? { exactTimeout: true as const } : {}) };
    const x = found[k];
    if (x) return { ...base, verdict: 'counterexample', stage: 'search', counterexample: x };
    // An attack that fooled tfjs but not the runtime is the news, unless the runtime disagreed with the solver.
    return { ...base, verdict: 'unknown', reason: notReplayed[k] && p.reason !== 'runtime-disagrees' ? 'not-replayed' : p.reason, ...(p.stage ? { stage: p.stage } : {}) };
  });
}

/** Whether |x − x0|∞ ≤ ε in real arithmetic. */
function withinBall(x: Float32Array, x0: Float32Array, eps: number): boolean {
  for (let p = 0; p < x.length; p++) if (differenceExceeds(x[p]!, x0[p]!, eps) || differenceExceeds(x0[p]!, x[p]!, eps)) return false;
  return true;
}

function summarize(eps: number, n: number, results: readonly ImageResult[]): VerifyRow {
  const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  const misclassified = count('misclassified');
  const verified = count('verified');
  const counterexamples = count('counterexample');
  const unknown = count('unknown');
  return {
    eps,
    images: n,
    misclassified,
    verified,
    counterexamples,
    unknown,
    notReplayed: results.filter((r) => r.reason === 'not-replayed').length,
    exactDecided: results.filter((r) => r.stage === 'exact' && r.verdict !== 'unknown').length,
    exactTimeouts: results.filter((r) => r.exactTimeout).length,
    cleanAccuracy: (n - misclassified) / n,
    verifiedAccuracy: verified / n,
    attackedAccuracy: (n - misclassified - counterexamples) / n,
    unknownFraction: unknown / n,
    medianMs: median(results.filter((r) => r.verdict !== 'misclassified').map((r) => r.ms)),
    results,
  };
}
