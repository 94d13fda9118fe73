/**
 * Converged robust accuracy: AutoAttack's standard ensemble (APGD-CE, APGD-T, FAB-T, Square),
 * crafted on tfjs, every image scored on the packed runtime, per-image worst case, on the first
 * 1,000 images of the embedded MNIST test split — for the paper's A/B/C/S at K = 64 across an ε
 * grid (bench/robust-eps.svg) and for the PGD-trained models beside 40-step PGD (the gap) and,
 * at ε 0.3, beside PGD-100 × 5 restarts (AutoAttack's reference point: the ensemble must fool every
 * image that PGD does). Each
 * attack's accuracy against its iterations or queries (bench/robust-plateau-*.svg) shows whether
 * it had stopped gaining.
 *
 * Hours of compute: every (model, ε) result is cached in runs/robust/ (keyed by the model file's
 * hash, ε, the images and the ensemble's settings), so a stopped run resumes where it stopped; a
 * cell stopped part-way resumes after the last part of an attack it finished (runs/robust/ensemble-partial/).
 * BNN_ROBUST_MINUTES ends a session: no new cell starts after that many minutes, and the cells not
 * run yet show as such. BNN_ROBUST_N sets the images (default 1,000). The attacks use one core:
 * BNN_ROBUST_SHARD=i/k makes this process run only the uncached cells whose index is i mod k (run
 * k processes side by side, then once more with BNN_ROBUST_MINUTES=0 to tabulate every cached cell).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadData } from '../../src/data/index.js';
import { head, type Dataset } from '../../src/data/dataset.js';
import { isRescaledSquare, rescaledSquareNote, whiteboxEval, type WhiteboxReport } from '../../src/eval/attacks.js';
import { lineChart, type Series } from '../../src/eval/svg.js';
import { PLATEAU_UNITS, plateauChart, type PlateauAttack } from '../../src/eval/plateau.js';
import { readModelFile } from '../../src/format/file.js';
import { Progress } from '../../src/util/progress.js';
import { fmt, pct, mdTable } from '../lib.js';
import { fooledOnlyBy } from './autoattack.js';
import { MODELS_DIR } from './size.js';

/** The paper's four models at K = 64 (A float, B binary, C binary with scaling, S stochastic binary): ε curves. */
const CURVE_MODELS = ['a64', 'b64', 'c64', 's64'];
const CURVE_EPS = [0.02, 0.05, 0.1, 0.2, 0.3];
/** PGD-trained models: the ensemble beside PGD-40 at the paper's ε. */
const ADV_MODELS = ['a64-pgd', 'r64-pgd', 'a128-pgd149'];
const ADV_EPS = [0.3, 0.1];
/** The ensemble's settings (AutoAttack's standard version). */
const ENSEMBLE = { iterations: 100, targets: 9, queries: 5000, seed: 1 } as const;
const PGD40 = { steps: 40, step: 0.01, seed: 1 } as const;
/** The reference point the ensemble must match image by image on the PGD-trained models, at ε 0.3. */
const PGD100X5 = { steps: 100, step: 0.01, restarts: 5, seed: 1 } as const;
const REFERENCE_EPS = 0.3;
const CACHE_DIR = 'runs/robust';

type Summary = Omit<WhiteboxReport, 'examples'>;
interface Cell {
  readonly model: string;
  readonly eps: number;
  readonly images: number;
  readonly auto: Summary;
  readonly pgd40?: Summary;
  /** Images PGD-40 fooled on the runtime that the ensemble left standing (should be 0). */
  readonly pgdOnly?: number;
  /** The ensemble's worst-case runtime label of each image, kept where PGD was run beside it (cells measured earlier lack it). */
  readonly autoRuntimeLabels?: number[];
  readonly minutes: number;
}

/**
 * PGD-100 × 5 on a cell's images, and the images it fooled on the runtime that the ensemble left
 * standing (should be 0; absent where the cell kept no per-image labels: then only the accuracies compare).
 */
interface Reference {
  readonly pgd: Summary;
  readonly pgdOnly?: number;
  readonly minutes: number;
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
}

function cachePath(model: string, file: string, eps: number, n: number, withPgd: boolean): string {
  const key = createHash('sha256').update(JSON.stringify({ model: sha(file), eps, n, ENSEMBLE, pgd: withPgd ? PGD40 : null })).digest('hex').slice(0, 12);
  return join(CACHE_DIR, `${model}-eps${eps}-n${n}-${key}.json`);
}

/**
 * The ensemble's cell of a shipped model at ε on the first `n` images, and PGD-40 on the same
 * images where the cell ran it, if this suite has measured it (for the attacks suite's headlines);
 * null otherwise.
 */
export function cachedEnsemble(model: string, eps: number, n = 1000): Pick<Cell, 'auto' | 'pgd40'> | null {
  const file = join(MODELS_DIR, `${model}.bnn`);
  if (!existsSync(file)) return null;
  for (const withPgd of [true, false]) {
    const path = cachePath(model, file, eps, n, withPgd);
    if (existsSync(path)) {
      const { auto, pgd40 } = JSON.parse(readFileSync(path, 'utf8')) as Cell;
      return { auto, ...(pgd40 ? { pgd40 } : {}) };
    }
  }
  return null;
}

function referencePath(cell: Cell): string {
  const key = createHash('sha256').update(JSON.stringify({ model: sha(join(MODELS_DIR, `${cell.model}.bnn`)), eps: cell.eps, n: cell.images, ENSEMBLE, pgd: PGD100X5 })).digest('hex').slice(0, 12);
  return join(CACHE_DIR, `${cell.model}-eps${cell.eps}-n${cell.images}-pgd100x5-${key}.json`);
}

/** PGD-100 × 5 on a PGD-trained model's cell (cached beside it). */
async function runReference(cell: Cell, test: Dataset): Promise<Reference> {
  const path = referencePath(cell);
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as Reference;
  const { model: m } = readModelFile(join(MODELS_DIR, `${cell.model}.bnn`));
  const t0 = performance.now();
  const bar = new Progress({ label: `robust: ${cell.model} ε=${cell.eps} pgd-100×5`, total: test.n });
  const pgd = await whiteboxEval(cell.model, m, test, { attack: 'pgd', eps: [cell.eps], n: test.n, ...PGD100X5, keepExamples: true, onProgress: (d) => bar.update(d) });
  bar.finish();
  const labels = cell.autoRuntimeLabels;
  const ref: Reference = { pgd: strip(pgd), ...(labels ? { pgdOnly: fooledOnlyBy(pgd, labels, test.labels) } : {}), minutes: (performance.now() - t0) / 60_000 };
  writeFileSync(path, JSON.stringify(ref));
  return ref;
}

function strip(r: WhiteboxReport): Summary {
  const { examples: _e, ...rest } = r;
  return rest;
}

async function runCell(model: string, eps: number, test: Dataset, withPgd: boolean): Promise<Cell> {
  const file = join(MODELS_DIR, `${model}.bnn`);
  const path = cachePath(model, file, eps, test.n, withPgd);
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as Cell;
  const { model: m } = readModelFile(file);
  const t0 = performance.now();
  const bar = new Progress({ label: `robust: ${model} ε=${eps} auto`, total: test.n });
  const auto = await whiteboxEval(model, m, test, { attack: 'auto', eps: [eps], n: test.n, ...ENSEMBLE, keepExamples: withPgd, resumeDir: join(CACHE_DIR, 'ensemble-partial'), onProgress: (d) => bar.update(d) });
  bar.finish();
  let pgd40: WhiteboxReport | undefined;
  let pgdOnly: number | undefined;
  if (withPgd) {
    const pgdBar = new Progress({ label: `robust: ${model} ε=${eps} pgd-40`, total: test.n });
    pgd40 = await whiteboxEval(model, m, test, { attack: 'pgd', eps: [eps], n: test.n, ...PGD40, keepExamples: true, onProgress: (d) => pgdBar.update(d) });
    pgdBar.finish();
    pgdOnly = fooledOnlyBy(pgd40, auto.examples![0]!.runtimeLabels, test.labels);
  }
  const cell: Cell = {
    model,
    eps,
    images: test.n,
    auto: strip(auto),
    ...(pgd40 ? { pgd40: strip(pgd40), pgdOnly, autoRuntimeLabels: Array.from(auto.examples![0]!.runtimeLabels) } : {}),
    minutes: (performance.now() - t0) / 60_000,
  };
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(path, JSON.stringify(cell));
  return cell;
}

export async function robustSuite(): Promise<{ markdown: string; data: unknown }> {
  const n = Number(process.env['BNN_ROBUST_N'] ?? 1000);
  const minutes = Number(process.env['BNN_ROBUST_MINUTES'] ?? Infinity);
  const shard = /^(\d+)\/(\d+)$/.exec(process.env['BNN_ROBUST_SHARD'] ?? '0/1');
  if (!shard || Number(shard[1]) >= Number(shard[2])) throw new Error(`BNN_ROBUST_SHARD must be i/k with i < k, got ${process.env['BNN_ROBUST_SHARD']}`);
  const [shardIndex, shards] = [Number(shard[1]), Number(shard[2])];
  const full = loadData().test;
  const test = head(full, Math.min(n, full.n));
  const start = performance.now();
  // Cheapest first within what the headlines need: the small PGD-trained models at the paper's
  // ε 0.3; the curves from large ε (everything falls to APGD-CE) to small (most images go on to
  // Square's queries); then the wide A+; S, whose gradient attacks average 10 samples a step, and ε
  // 0.1 of the PGD-trained models (nearly every image goes to Square) last.
  const curve = (eps: readonly number[]) => eps.flatMap((e) => CURVE_MODELS.filter((m) => m !== 's64').map((model) => ({ model, eps: e, withPgd: false })));
  const plan = [
    ...ADV_MODELS.slice(0, 2).map((model) => ({ model, eps: ADV_EPS[0]!, withPgd: true })),
    ...curve([0.3, 0.2, 0.1]),
    ...ADV_MODELS.slice(2).map((model) => ({ model, eps: ADV_EPS[0]!, withPgd: true })),
    ...curve([0.05, 0.02]),
    ...ADV_EPS.slice(1).flatMap((eps) => ADV_MODELS.map((model) => ({ model, eps, withPgd: true }))),
    ...[...CURVE_EPS].reverse().map((eps) => ({ model: 's64', eps, withPgd: false })),
  ];
  const cells = new Map<string, Cell>();
  const references = new Map<string, Reference>();
  const key = (model: string, eps: number) => `${model}@${eps}`;
  let skipped = 0;
  for (const [index, p] of plan.entries()) {
    const cached = existsSync(cachePath(p.model, join(MODELS_DIR, `${p.model}.bnn`), p.eps, test.n, p.withPgd));
    if (!cached && (index % shards !== shardIndex || (performance.now() - start) / 60_000 > minutes)) {
      skipped++;
      continue;
    }
    process.stderr.write(`robust: ${p.model} ε=${p.eps}, ${test.n} images${cached ? ' (cached)' : ''}\n`);
    const cell = await runCell(p.model, p.eps, test, p.withPgd);
    cells.set(key(p.model, p.eps), cell);
    // The reference point right after its cell, unless the session's time is up (it resumes next run).
    const refCached = p.withPgd && existsSync(referencePath(cell));
    if (p.withPgd && p.eps === REFERENCE_EPS && (refCached || (index % shards === shardIndex && (performance.now() - start) / 60_000 <= minutes))) {
      references.set(key(p.model, p.eps), await runReference(cell, test));
    }
  }
  const get = (model: string, eps: number) => cells.get(key(model, eps));
  // Cells whose Square stretched its schedule to the budget (measured before AutoAttack's fixed one was adopted): marked †.
  const dagger = (c: Cell) => (isRescaledSquare(c.auto) ? '†' : '');
  const worst = (c: Cell | undefined) => (c ? `${pct(c.auto.rows[0]!.runtimeAccuracy, 1)}${dagger(c)}` : 'not run yet');
  const se = (p: number) => Math.sqrt((p * (1 - p)) / test.n);

  // Clean accuracy is the same in every cell of a model (same images): take any measured one.
  const clean = (model: string) => CURVE_EPS.map((eps) => get(model, eps)).find((c) => c)?.auto.cleanRuntimeAccuracy;
  const curveRows = CURVE_MODELS.map((model) => [model, clean(model) !== undefined ? pct(clean(model)!, 1) : '–', ...CURVE_EPS.map((eps) => worst(get(model, eps)))]);
  const series: Series[] = CURVE_MODELS.map((model) => ({
    name: model,
    points: [0, ...CURVE_EPS].flatMap((eps) => {
      const y = eps === 0 ? clean(model) : get(model, eps)?.auto.rows[0]!.runtimeAccuracy;
      return y === undefined ? [] : [{ x: eps, y, err: 2 * se(y) }];
    }),
  })).filter((s) => s.points.length > 1);
  if (series.length) writeFileSync('bench/robust-eps.svg', lineChart(`Worst case of the ensemble on the runtime, ${fmt(test.n)} images`, 'ε (L∞)', 'robust accuracy', series));

  const advRows = ADV_EPS.flatMap((eps) =>
    ADV_MODELS.map((model) => {
      const c = get(model, eps);
      if (!c) return [model, String(eps), 'not run yet', ...Array<string>(10).fill('')];
      const row = c.auto.rows[0]!;
      const members = row.members!;
      const sq = members.find((x) => x.attack === 'square');
      const pgd = c.pgd40!.rows[0]!.runtimeAccuracy;
      const ref = references.get(key(model, eps));
      const reference = ref ? `${pct(ref.pgd.rows[0]!.runtimeAccuracy, 1)} / ${ref.pgdOnly ?? '–‡'}` : eps === REFERENCE_EPS ? 'not run yet' : '';
      return [model, eps, pct(c.auto.cleanRuntimeAccuracy, 1), pct(pgd, 1), ...members.map((x) => pct(x.runtimeAccuracy, 1)).slice(0, 3), `**${pct(row.runtimeAccuracy, 1)}**${dagger(c)} ± ${fmt(100 * se(row.runtimeAccuracy), 1)}`, `${fmt(100 * (pgd - row.runtimeAccuracy), 1)} pts`, c.pgdOnly ?? '–', reference, sq?.queries ? fmt(sq.queries.perSecond) : '–', fmt(c.minutes, 1)].map(String);
    }),
  );
  // Plateaus at the paper's ε = 0.3 on the PGD-trained models, where the attacks have the most to do.
  const charts: string[] = [];
  for (const attack of Object.keys(PLATEAU_UNITS) as PlateauAttack[]) {
    const chart = plateauChart(attack, 0.3, ADV_MODELS.flatMap((model) => (get(model, 0.3) ? [{ name: model, row: get(model, 0.3)!.auto.rows[0]! }] : [])));
    if (!chart) continue;
    writeFileSync(`bench/robust-plateau-${attack}.svg`, chart);
    charts.push(`![${attack} plateau](robust-plateau-${attack}.svg)`);
  }
  const rescaled = [...cells.values()].filter((c) => isRescaledSquare(c.auto)).map((c) => ({ name: `${c.model} at ε ${c.eps}`, row: c.auto.rows[0]! }));
  const rescaledNote = rescaled.length ? `\n\n${rescaledSquareNote(rescaled)}` : '';
  const markdown =
    `AutoAttack's standard ensemble (APGD-CE, APGD-T with 9 targets and FAB-T, 100 iterations each, crafted on the tfjs graph; Square with 5,000 queries of the runtime's logits) in AutoAttack's cascade, every adversarial image scored on the packed runtime: the per-image worst case (an image is robust only if every attack fails on it) on the first ${fmt(test.n)} images of the embedded MNIST test split (\`bnn-edge attack MODEL --attack auto --eps E --n ${test.n} --seed 1\`; results cached in ${CACHE_DIR}/, so the suite resumes). ± is one standard error. ` +
    (skipped ? `**${skipped} of ${plan.length} cells not run yet** (rerun to resume). ` : '') +
    '\n\nThe paper\'s A/B/C/S at K = 64 as shipped (trained on 8,000 digits, so their clean accuracies differ; docs/REPRODUCTION-full.md\'s "Robust accuracy against ε" measures the same four trained on the full training set, at close clean accuracies):\n\n' +
    mdTable(['model', 'clean', ...CURVE_EPS.map((e) => `ε ${e}`)], curveRows) +
    (series.length ? '\n\n![robust accuracy against ε](robust-eps.svg)\n\n(ε = 0 is clean accuracy; bars ± 2 standard errors.)' : '') +
    '\n\nPGD-trained models: the ensemble against 40-step PGD (step 0.01, random start); the columns after PGD-40 are the cascade\'s accuracy after each attack, the bold one the worst case. "PGD-40 only" counts images PGD-40 fooled that the ensemble left standing (should be 0). "PGD-100×5 / only", at ε 0.3: AutoAttack\'s reference point, 100 steps of 0.01 with 5 random restarts on the same images (`bnn-edge attack MODEL --attack pgd --eps 0.3 --steps 100 --restarts 5 --seed 1 --n 1000`), its accuracy and the images it fooled that the ensemble left standing (must be 0: the ensemble at least as strong on every image; ‡ the cell was measured before cells kept per-image labels, so only the accuracies compare). Minutes and Square\'s queries/s are as each cell measured them, possibly with other jobs on the same 2 cores (cells run side by side): read them as bounds, not speeds.\n\n' +
    mdTable(['model', 'ε', 'clean', 'PGD-40', 'APGD-CE', '+ APGD-T', '+ FAB-T', '+ Square = worst case', 'gap to PGD-40', 'PGD-40 only', 'PGD-100×5 / only', 'Square queries/s', 'minutes'], advRows) +
    rescaledNote +
    (charts.length ? `\n\nAccuracy against each attack's budget at ε = 0.3 (an image counts once the model the attack crafts on is fooled: tfjs for APGD, the runtime for Square; each attack starts from the images the earlier ones left):\n\n${charts.join('\n')}` : '');
  // Per-image labels stay in runs/robust/, not in the results file.
  const summaries = [...cells.values()].map(({ autoRuntimeLabels: _l, ...rest }) => ({ ...rest, ...(references.has(key(rest.model, rest.eps)) ? { reference: references.get(key(rest.model, rest.eps)) } : {}) }));
  return { markdown, data: { images: test.n, cells: summaries } };
}
