/**
 * The black-box section: the substitute attack on the runtime's labels beside the paper's table,
 * with true labels and with the paper's (the substitute's own), and what explains the gaps.
 */
import type { BlackboxReport } from '../attacks.js';
import { PAPER_BLACKBOX } from '../paper.js';
import { keyName } from '../repro.js';
import { cellAsKind, compareCells, describeRun } from '../repro_compare.js';
import { bandSentence, explanations, mean, p, showPaper, table, type DocContext, type Explanation } from './common.js';

/** The black-box rows: label, model key parts. */
const ROWS = [['A', false, 'A'], ['A', 'fgsm', 'A+'], ['A', 'pgd', 'A+*'], ['B', false, 'B'], ['B', 'fgsm', 'B+']] as const;

/**
 * Do the binarized targets' extra shortfall (their mean gap to the paper beyond the float targets')
 * shrink in the compared run trained on more images? Over the cells both runs measured; it must
 * shrink by more than one substitute's spread (~5 points) to count.
 */
function binarizedTest(ctx: DocContext): Explanation['test'] {
  const { r, other } = ctx;
  if (!other || other.settings.trainImages === r.settings.trainImages) return undefined;
  const cells = ROWS.flatMap(([arch, adv, label]) =>
    (adv ? ctx.advWidths : ctx.c.widths).flatMap((k) => {
      const id = `blackbox:${keyName({ arch, k, adv, seed: 1 })}`;
      const [here, there] = [(ctx.res[id] as BlackboxReport | undefined)?.runtimeAccuracy, (other.results[id] as BlackboxReport | undefined)?.runtimeAccuracy];
      const pf = PAPER_BLACKBOX[label]?.[k];
      return here !== undefined && there !== undefined && pf ? [{ binary: arch === 'B', here: 100 * here - pf.mean, there: 100 * there - pf.mean }] : [];
    }),
  );
  const [bin, flt] = [cells.filter((x) => x.binary), cells.filter((x) => !x.binary)];
  if (!bin.length || !flt.length) return undefined;
  const excess = (key: 'here' | 'there') => mean(flt.map((x) => x[key])) - mean(bin.map((x) => x[key]));
  const moreHere = r.settings.trainImages > other.settings.trainImages;
  const [withMore, withFewer] = moreHere ? [excess('here'), excess('there')] : [excess('there'), excess('here')];
  return {
    experiment: `the same comparison in the run trained on ${describeRun(other.settings)}, ${ctx.otherName}, on the ${cells.length} cells both runs measured`,
    result: `the binarized targets fall ${withFewer.toFixed(1)} points further below the paper than the float ones with fewer training images, ${withMore.toFixed(1)} with more: ${
      withMore < withFewer - 5 ? 'more images shrink the difference, as the explanation says' : "more images do not shrink the difference beyond one substitute's spread: being the weakest models does not explain it"
    }.`,
  };
}

export function blackboxSection(ctx: DocContext): string {
  const { c, res, advWidths, trainImages } = ctx;
  const bbRows: string[][] = [];
  const substituteAcc: number[] = [];
  const bbBinaryDiffs: number[] = [];
  const bbFloatDiffs: number[] = [];
  for (const [arch, adv, label] of ROWS)
    for (const k of adv ? advWidths : c.widths) {
      const rep = res[`blackbox:${keyName({ arch, k, adv, seed: 1 })}`] as BlackboxReport | undefined;
      const repPaper = res[`blackbox-paper:${keyName({ arch, k, adv, seed: 1 })}`] as BlackboxReport | undefined;
      const pf = PAPER_BLACKBOX[label]?.[k];
      bbRows.push([label, String(k), rep ? p(rep.runtimeAccuracy) : '—', repPaper ? p(repPaper.runtimeAccuracy) : '—', showPaper(pf), rep ? p(rep.substituteAccuracy) : '—', rep ? String(rep.queries) : '—']);
      if (rep && pf) {
        (arch === 'B' ? bbBinaryDiffs : bbFloatDiffs).push(100 * rep.runtimeAccuracy - pf.mean);
        substituteAcc.push(rep.substituteAccuracy);
      }
    }
  const bbBand = ctx.band('blackbox');
  // The cells measured both ways: FGSM on the substitute away from its own labels (the paper's code) and from the true ones (ours).
  const bbCells = ctx.runCells.filter((x) => x.table === 'blackbox');
  const bothWays = compareCells({ cells: bbCells.map((x) => cellAsKind(x, { blackbox: 'blackbox-paper' })), results: res }, { cells: bbCells, results: res }).find((x) => x.table === 'blackbox');
  const bbExplanations = [
    bothWays
      ? {
          claim: "The paper's code ran the substitute's FGSM away from the substitute's own labels, not the true ones.",
          test: {
            experiment: 'the same substitutes with FGSM away from their own labels (the column "ours, the paper\'s labels"), on the cells measured both ways',
            result: (() => {
              const closed = Math.abs(bothWays.other.meanDiff) - Math.abs(bothWays.ours.meanDiff);
              return `with the paper's labels: ${bandSentence(bothWays.ours)} With the true labels, on the same cells: ${bandSentence(bothWays.other)} ${closed > 1 ? `The paper's labels close ${closed.toFixed(1)} points of the gap${Math.abs(bothWays.ours.meanDiff) > 5 ? ', not all of it' : ''}.` : "The paper's labels do not close the gap: they do not explain it."}`;
            })(),
          },
        }
      : null,
    ctx.dataExplanation('blackbox', `A black-box figure measures how well FGSM directions transfer from the substitute (mean clean accuracy here ${p(mean(substituteAcc))}%) to the target, so it moves with both models' clean accuracy.`),
    ctx.r.settings.trainImages < 50000 && bbBinaryDiffs.length && bbFloatDiffs.length && mean(bbBinaryDiffs) < mean(bbFloatDiffs) - 5
      ? {
          claim: `The binarized targets fall furthest below the paper (by ${(-mean(bbBinaryDiffs)).toFixed(1)} points on average, the float ones by ${(-mean(bbFloatDiffs)).toFixed(1)}) because with ${trainImages} training images they are the weakest models here (see the clean column of the FGSM table).`,
          test: binarizedTest(ctx),
        }
      : null,
  ].filter((x): x is Explanation => x !== null);
  const bbSummary = bbBand.cells ? `${bandSentence(bbBand)} Each cell is one substitute (one seed), whose own spread is several points.${explanations(bbExplanations)}` : bandSentence(bbBand);
  return `## Black-box (substitute trained on the runtime's labels; FGSM ε = 0.3 on it)

${table(['model', 'K', 'accuracy ours', "ours, the paper's labels", 'paper', 'substitute clean accuracy', 'oracle queries'], bbRows)}

${bbSummary}`;
}
