/**
 * What every section of the reproduction document shares: number formats, tables, the
 * explanations of gaps, and one context that reads the run's results.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { WhiteboxReport } from '../attacks.js';
import type { PaperFigure } from '../paper.js';
import { keyName, type AdvKind, type Repro, type ReproResults } from '../repro.js';
import { bandCount, cellAsKind, cellStat, compareCells, describeRun, paperCells, stat, type BandCount, type PaperCell, type PaperTable, type Stat, type TableComparison } from '../repro_compare.js';

export const p = (x: number) => (100 * x).toFixed(1);
export const showStat = (s: Stat | null) => (s ? (s.n > 1 ? `${p(s.mean)} ± ${p(s.std)}` : p(s.mean)) : '—');
export const showPaper = (f: PaperFigure | undefined) => (f ? `${f.mean} ± ${f.pm}` : '—');
export const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
export const mean = (xs: number[]) => stat(xs).mean;

export function table(headers: string[], rows: string[][]): string {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * A reason offered for a gap between our figures and the paper's. A tested one names the
 * experiment (of this run, or of the run it is compared with) that tests it and what it gave; one
 * without a test is labelled a hypothesis.
 */
export interface Explanation {
  readonly claim: string;
  readonly test?: { readonly experiment: string; readonly result: string; /** Why the result may still change (e.g. it rests on upper bounds). */ readonly provisional?: string } | undefined;
  /** What is left after every explanation offered: a gap no experiment here accounts for. */
  readonly unexplained?: true;
  /** For an untested claim: why, when the experiment that would test it exists but has not run here. */
  readonly untestedBecause?: string;
}

export function explanations(xs: readonly Explanation[]): string {
  if (!xs.length) return '';
  const line = (x: Explanation) =>
    x.unexplained
      ? `- **Unexplained.** ${x.claim}`
      : x.test
        ? `- **Tested${x.test.provisional ? `, provisionally** (${x.test.provisional}).` : '.**'} ${x.claim} *Experiment:* ${x.test.experiment}. *Result:* ${x.test.result}`
        : `- **Hypothesis** (${x.untestedBecause ?? 'no experiment here tests it'}). ${x.claim}`;
  return `\n\nWhat explains the gaps:\n\n${xs.map(line).join('\n')}`;
}

/** "in band 3 of 9 here against 5 of 9 there; mean gap −12.0 here, −4.0 there" for one table's comparison. */
export function comparisonResult(x: TableComparison, here: string, there: string): string {
  return `in the paper's band ${x.ours.inBand} of ${x.ours.cells} cells ${here} against ${x.other.inBand} of ${x.other.cells} ${there}; mean gap to the paper ${signed(x.ours.meanDiff)} points ${here}, ${signed(x.other.meanDiff)} ${there} (mean distance ${x.ours.meanDistance.toFixed(1)} and ${x.other.meanDistance.toFixed(1)}).`;
}

/** How many cells fall in the paper's band, the mean signed gap, and (when cells above and below cancel in it) the mean distance. */
export function bandSentence(b: BandCount): string {
  if (!b.cells) return 'No cell of this table has been measured yet.';
  const cancel = b.meanDistance > Math.abs(b.meanDiff) + 1 ? ` (mean distance ${b.meanDistance.toFixed(1)}: some cells lie above the paper's, some below)` : '';
  return `${b.inBand} of ${b.cells} ${b.cells === 1 ? 'cell falls' : 'cells fall'} within the paper's band (±2 spreads + 2 points); on average ours are ${Math.abs(b.meanDiff).toFixed(1)} points ${b.meanDiff >= 0 ? 'higher' : 'lower'}${cancel}.`;
}

/**
 * When the run on more images lies on the other side of the paper than the run on fewer: it moved
 * past the paper's figures, so training data accounts for more than the whole gap.
 */
function overshoot(more: BandCount, fewer: BandCount): string | null {
  if (more.meanDiff * fewer.meanDiff >= 0) return null;
  return `The run on more images moves the cells ${Math.abs(more.meanDiff - fewer.meanDiff).toFixed(1)} points on average (mean gap ${signed(fewer.meanDiff)} → ${signed(more.meanDiff)}), past the paper's figures: training data accounts for more than the whole gap, and overshoots by ${Math.abs(more.meanDiff).toFixed(1)}.`;
}

/** The plots' file-name prefix: `repro` beside REPRODUCTION.md, `repro-full` beside REPRODUCTION-full.md, `repro-NAME` beside NAME.md, so documents in one folder keep their own. */
export function plotPrefix(out: string): string {
  const stem = basename(out).replace(/\.md$/i, '');
  const rest = stem.replace(/^REPRODUCTION-?/i, '');
  return rest ? `repro-${rest}` : 'repro';
}

export type PaperArch = 'A' | 'B' | 'C';

/** The run as the document's sections read it. */
export interface DocContext {
  readonly r: Repro;
  readonly c: Repro['config'];
  readonly res: ReproResults;
  /** The number of training images, as the document prints it. */
  readonly trainImages: string;
  readonly advWidths: readonly number[];
  /** The most seeds any model of the run has. */
  readonly seedsAll: number;
  /** The run `--compare` names, its name as the command line gave it, and the paper's cells compared with it. */
  readonly other: Repro['compared'];
  readonly otherName: string;
  readonly vsOther: readonly TableComparison[];
  /** The paper's cells at this run's widths, over its seeds (FGSM tables read from `fgsm`; `cellAsKind` reads them from another kind). */
  readonly runCells: readonly PaperCell[];
  wb(id: string): WhiteboxReport | undefined;
  seeds(adv: AdvKind | false): readonly number[];
  /** Mean ± std over seeds of an FGSM-kind evaluation's accuracy at its `i`-th ε, or of its clean accuracy. */
  fgsmStat(arch: PaperArch, k: number, adv: AdvKind | false, i: number, kind?: string): Stat | null;
  cleanStat(arch: PaperArch, k: number, adv: AdvKind | false, kind?: string): Stat | null;
  /**
   * Table `t`'s cells measured so far (over each model's seeds), counted against the paper's band;
   * `kinds` reads the same cells from other kinds of evaluation (fgsm → fgsm-paper). Every section
   * and At a glance count through here, so the document states one count per table.
   */
  band(t: PaperTable, kinds?: Readonly<Record<string, string>>): BandCount;
  /** Writes an SVG named `<prefix>-<name>` beside the document; returns its markdown image. */
  plot(name: string, body: string): string;
  /**
   * What training on more (or fewer) images changed in table `t`, from the compared run (if it
   * trained on another number of images). `fewerClaim` is the explanation of a run on fewer images
   * than the paper's; a run on as many is only compared.
   */
  dataExplanation(t: PaperTable, fewerClaim: string): Explanation | null;
}

export function docContext(r: Repro): DocContext {
  const c = r.config;
  const res = r.results;
  const trainImages = r.settings.trainImages.toLocaleString('en-US');
  const wb = (id: string) => res[id] as WhiteboxReport | undefined;
  const seeds = (adv: AdvKind | false) => r.seedsFor(adv !== false);
  const overSeeds = (arch: PaperArch, k: number, adv: AdvKind | false, kind: string, of: (x: WhiteboxReport) => number | undefined): Stat | null => {
    const xs = seeds(adv)
      .map((seed) => {
        const x = wb(`${kind}:${keyName({ arch, k, adv, seed })}`);
        return x && of(x);
      })
      .filter((x): x is number => x !== undefined);
    return xs.length ? stat(xs) : null;
  };
  const outDir = dirname(c.out);
  mkdirSync(outDir, { recursive: true });
  const other = r.compared;
  // As the command line gave it, so the document reads the same wherever it is rendered.
  const otherName = other ? other.path : '';
  const seedsAll = Math.max(c.seeds, c.adv.seeds);
  const allCells = paperCells([64, 128, 256], Math.max(3, seedsAll));
  const vsOther = other ? compareCells({ cells: allCells, results: res }, { cells: allCells, results: other.results }) : [];
  const runCells = paperCells(c.widths, seedsAll);
  const band = (t: PaperTable, kinds: Readonly<Record<string, string>> = {}): BandCount =>
    bandCount(
      runCells
        .filter((x) => x.table === t)
        .flatMap((x) => {
          const cell = cellAsKind(x, kinds);
          const s = cellStat(cell, res, cell.ids.slice(0, seeds(cell.model.adv).length));
          return s ? [{ ours: s, paper: cell.paper }] : [];
        }),
    );
  /** The first of a comparison is closer to the paper (by more than a point). */
  const closer = (x: TableComparison) => x.ours.meanDistance < x.other.meanDistance - 1;
  return {
    r,
    c,
    res,
    trainImages,
    advWidths: r.advWidths(),
    seedsAll,
    other,
    otherName,
    vsOther,
    runCells,
    wb,
    seeds,
    fgsmStat: (arch, k, adv, i, kind = 'fgsm') => overSeeds(arch, k, adv, kind, (x) => x.rows[i]?.runtimeAccuracy),
    cleanStat: (arch, k, adv, kind = 'fgsm') => overSeeds(arch, k, adv, kind, (x) => x.cleanRuntimeAccuracy),
    band,
    plot: (name, body) => {
      const file = `${plotPrefix(c.out)}-${name}`;
      writeFileSync(join(outDir, file), body);
      return `![${file}](${file})`;
    },
    dataExplanation: (t, fewerClaim) => {
      const fewer = r.settings.trainImages < 50000;
      const x = other && other.settings.trainImages !== r.settings.trainImages ? vsOther.find((y) => y.table === t) : undefined;
      const claim = fewer ? fewerClaim : `Training data: the number of training images moves these figures (here ${trainImages}, the paper 60,000).`;
      if (!x || !other) return fewer ? { claim } : null;
      const moreHere = r.settings.trainImages > other.settings.trainImages;
      const [moreRun, fewerRun] = moreHere ? [x.ours, x.other] : [x.other, x.ours];
      const moreCloser = closer({ table: t, ours: moreRun, other: fewerRun });
      // From the distances as printed, so the sentence's arithmetic checks against them.
      const gain = Math.abs(Number(moreRun.meanDistance.toFixed(1)) - Number(fewerRun.meanDistance.toFixed(1))).toFixed(1);
      const distances = `${moreRun.meanDistance.toFixed(1)} against ${fewerRun.meanDistance.toFixed(1)}`;
      const notCloser =
        `By mean distance (${distances}) the run on more images is not closer to the paper by more than a point` +
        (moreRun.inBand > fewerRun.inBand
          ? `, though more of its cells fall in the band (${moreRun.inBand} of ${moreRun.cells} against ${fewerRun.inBand} of ${fewerRun.cells}): training data moves some cells toward the paper and others away, and does not explain this gap as a whole.`
          : ': training data does not explain this gap.');
      const closerText =
        `By mean distance (${distances}) the run on more images is ${gain} points closer to the paper: training data explains that much of the gap of the run on fewer images` +
        (moreHere ? `; this run's own remaining gap, at ${trainImages} training images against the paper's 60,000, is left to the other explanations.` : '.');
      return {
        claim,
        test: {
          experiment: `the same cells of the run trained on ${describeRun(other.settings)}, ${otherName} (\`--compare\`; the comparison section below${other.differences.length ? `; that run also differs in ${other.differences.join(', ')}` : ''})`,
          result: `${comparisonResult(x, 'here', 'there')} ${moreCloser ? (overshoot(moreRun, fewerRun) ?? closerText) : notCloser}`,
        },
      };
    },
  };
}
