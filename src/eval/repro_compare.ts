/**
 * The paper's four tables as cells (which of our evaluations each compares with which of the
 * paper's figures), counted against the paper's band for one run, or for two runs on the cells
 * both measured: what `repro --compare` sets side by side (say, 8,000 training images against 58,000).
 */
import type { BlackboxReport, WhiteboxReport } from './attacks.js';
import { PAPER_BLACKBOX, PAPER_CW, PAPER_FGSM, PAPER_FGSM_ADV, type PaperFigure } from './paper.js';
import { advMark, evalKind, keyName, type AdvKind, type ModelKey, type ReproResults, type ReproSettings } from './repro_plan.js';

export interface Stat {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

export function stat(xs: readonly number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Our mean (a share) is inside the paper's band (in %) widened by both spreads and 2 points. */
export function within(ours: Stat, paper: PaperFigure): boolean {
  return Math.abs(100 * ours.mean - paper.mean) <= 2 * (paper.pm + 100 * ours.std) + 2;
}

export type PaperTable = 'fgsm' | 'fgsm-adv' | 'cw' | 'blackbox';

export const TABLE_NAMES: Record<PaperTable, string> = {
  fgsm: 'white-box FGSM',
  'fgsm-adv': 'PGD-trained models under FGSM',
  cw: 'Carlini–Wagner',
  blackbox: 'black-box',
};

/** One figure of the paper's tables and the evaluations (one per seed) that measure ours. */
export interface PaperCell {
  readonly table: PaperTable;
  /** e.g. `B64 ε=0.3`, `B+64`. */
  readonly label: string;
  readonly model: ModelKey;
  readonly ids: readonly string[];
  readonly read: (results: ReproResults, id: string) => number | undefined;
  readonly paper: PaperFigure;
}

const seedIds = (kind: string, m: Omit<ModelKey, 'seed'>, seeds: number) => Array.from({ length: seeds }, (_, i) => `${kind}:${keyName({ ...m, seed: i + 1 })}`);

/** Every cell of the paper's tables at `widths`, with `seeds` seeds per FGSM-table model (the others: seed 1). */
export function paperCells(widths: readonly number[], seeds = 3, fgsmKind = 'fgsm'): PaperCell[] {
  const cells: PaperCell[] = [];
  const fgsmRow = (i: number) => (res: ReproResults, id: string) => (res[id] as WhiteboxReport | undefined)?.rows[i]?.runtimeAccuracy;
  for (const [table, adv, paper] of [['fgsm', false, PAPER_FGSM], ['fgsm-adv', 'pgd', PAPER_FGSM_ADV]] as const)
    for (const arch of adv ? (['A', 'C'] as const) : (['A', 'B', 'C'] as const))
      for (const k of widths)
        paper[arch]?.[k]?.forEach((pf, i) => {
          const model = { arch, k, adv: adv as AdvKind | false, seed: 1 };
          cells.push({ table, label: `${arch}${advMark(model.adv)}${k} ε=${(i + 1) / 10}`, model, ids: seedIds(fgsmKind, model, seeds), read: fgsmRow(i), paper: pf });
        });
  for (const [arch, adv, label] of [['B', false, 'B'], ['B', 'fgsm', 'B+'], ['S', false, 'S']] as const)
    for (const k of widths) {
      const pf = PAPER_CW[label]?.[k];
      const model = { arch, k, adv, seed: 1 } as const;
      if (pf) cells.push({ table: 'cw', label: `${label}${k}`, model, ids: [`cw-paper:${keyName(model)}`], read: (res, id) => (res[id] as WhiteboxReport | undefined)?.rows[0]?.runtimeAccuracy, paper: pf.acc });
    }
  for (const [arch, adv, label] of [['A', false, 'A'], ['A', 'fgsm', 'A+'], ['A', 'pgd', 'A+*'], ['B', false, 'B'], ['B', 'fgsm', 'B+']] as const)
    for (const k of widths) {
      const pf = PAPER_BLACKBOX[label]?.[k];
      const model = { arch, k, adv, seed: 1 } as const;
      if (pf) cells.push({ table: 'blackbox', label: `${label}${k}`, model, ids: [`blackbox:${keyName(model)}`], read: (res, id) => (res[id] as BlackboxReport | undefined)?.runtimeAccuracy, paper: pf });
    }
  return cells;
}

/** The same cell read from other kinds of evaluation of the same models (`kinds`: ours → theirs, e.g. fgsm → fgsm-paper). */
export function cellAsKind(cell: PaperCell, kinds: Readonly<Record<string, string>>): PaperCell {
  const swap = (id: string) => {
    const to = kinds[evalKind(id)];
    return to ? `${to}${id.slice(evalKind(id).length)}` : id;
  };
  return { ...cell, ids: cell.ids.map(swap) };
}

/** A cell's figure in one run: the mean (± std) over its seeds measured, restricted to `ids` if given. */
export function cellStat(cell: PaperCell, results: ReproResults, ids: readonly string[] = cell.ids): Stat | null {
  const xs = ids.map((id) => cell.read(results, id)).filter((x): x is number => x !== undefined);
  return xs.length ? stat(xs) : null;
}

export interface BandCount {
  readonly cells: number;
  readonly inBand: number;
  /** Mean of ours − paper's, in points. */
  readonly meanDiff: number;
  /** Mean of |ours − paper's|, in points: how far from the paper, whichever side. */
  readonly meanDistance: number;
}

export function bandCount(stats: readonly { ours: Stat; paper: PaperFigure }[]): BandCount {
  const inBand = stats.filter((x) => within(x.ours, x.paper)).length;
  const mean = (f: (d: number) => number) => (stats.length ? stats.reduce((a, x) => a + f(100 * x.ours.mean - x.paper.mean), 0) / stats.length : 0);
  return { cells: stats.length, inBand, meanDiff: mean((d) => d), meanDistance: mean(Math.abs) };
}

/** Two sets of figures' band counts per table, on the cells (and seeds) both measured: the same cells, so the counts compare. */
export interface TableComparison {
  readonly table: PaperTable;
  readonly ours: BandCount;
  readonly other: BandCount;
}

/**
 * Band counts of `a` and `b` per table, each cell counted only where both measured it (over the
 * seeds both measured). `a.cells` and `b.cells` are aligned: the same cells of two runs, or of two
 * kinds of evaluation of one run (`fgsm` and `fgsm-paper`).
 */
export function compareCells(a: { cells: readonly PaperCell[]; results: ReproResults }, b: { cells: readonly PaperCell[]; results: ReproResults }): TableComparison[] {
  const out: TableComparison[] = [];
  for (const table of Object.keys(TABLE_NAMES) as PaperTable[]) {
    const ours: { ours: Stat; paper: PaperFigure }[] = [];
    const other: { ours: Stat; paper: PaperFigure }[] = [];
    a.cells.forEach((ca, i) => {
      const cb = b.cells[i]!;
      if (ca.table !== table) return;
      const seeds = ca.ids.map((_, s) => s).filter((s) => cb.ids[s] !== undefined && ca.read(a.results, ca.ids[s]!) !== undefined && cb.read(b.results, cb.ids[s]!) !== undefined);
      if (!seeds.length) return;
      ours.push({ ours: cellStat(ca, a.results, seeds.map((s) => ca.ids[s]!))!, paper: ca.paper });
      other.push({ ours: cellStat(cb, b.results, seeds.map((s) => cb.ids[s]!))!, paper: cb.paper });
    });
    if (ours.length) out.push({ table, ours: bandCount(ours), other: bandCount(other) });
  }
  return out;
}

/** A run in a few words: how many images of which data its models trained on. */
export function describeRun(s: ReproSettings): string {
  const data = s.data === 'embedded:mnist' ? 'the embedded MNIST digits' : s.data;
  return `${s.trainImages.toLocaleString('en-US')} training images (${data})`;
}
