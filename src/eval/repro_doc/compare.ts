/** The section that sets this run beside the one `--compare` names: what the training data changed. */
import type { WhiteboxReport } from '../attacks.js';
import type { Repro, ReproResults } from '../repro.js';
import { describeRun, TABLE_NAMES, type TableComparison } from '../repro_compare.js';
import { p, signed, table } from './common.js';

/**
 * This run beside the one `--compare` names, on the cells both measured: band counts per table
 * and each model's clean accuracy, FGSM at ε = 0.3 and CW mean L2, here and there.
 */
export function comparisonSection(r: Repro, other: NonNullable<Repro['compared']>, vs: readonly TableComparison[], otherName: string): string {
  const here = describeRun(r.settings);
  const there = describeRun(other.settings);
  const bandRows = vs.map((x) => [TABLE_NAMES[x.table], String(x.ours.cells), String(x.ours.inBand), String(x.other.inBand), signed(x.ours.meanDiff), signed(x.other.meanDiff)]);
  const models = Object.keys(r.results)
    .filter((id) => id.startsWith('fgsm:') && other.results[id])
    .map((id) => id.slice('fgsm:'.length))
    .sort();
  const fgsmOf = (res: ReproResults, name: string) => res[`fgsm:${name}`] as WhiteboxReport;
  const l2Of = (res: ReproResults, name: string) => (res[`cw-paper:${name}`] as WhiteboxReport | undefined)?.rows[0]?.meanL2;
  const modelRows = models.map((name) => {
    const [a, b] = [fgsmOf(r.results, name), fgsmOf(other.results, name)];
    const [la, lb] = [l2Of(r.results, name), l2Of(other.results, name)];
    return [name, p(a.cleanRuntimeAccuracy), p(b.cleanRuntimeAccuracy), p(a.rows[2]!.runtimeAccuracy), p(b.rows[2]!.runtimeAccuracy), la != null && lb != null ? `${la.toFixed(2)} / ${lb.toFixed(2)}` : '—'];
  });
  return `\n\n## This run beside ${otherName}: what the training data changed\n\nHere: models trained on ${here}. There: the same models (same architectures and seeds) trained on ${there}, from ${otherName}${other.differences.length ? `; the runs also differ in ${other.differences.join(', ')}` : ', with the same recipe and attack settings'}. Only the cells and seeds both runs measured are counted, so each pair of figures compares like with like; each run is scored on its own test split.\n\n${
    bandRows.length ? table(['table', 'cells both measured', 'in band here', 'in band there', 'mean gap to the paper here', 'there'], bandRows) : 'No cell of the paper\'s tables has been measured by both runs yet.'
  }${modelRows.length ? `\n\n${table(['model', 'clean here', 'there', 'FGSM ε=0.3 here', 'there', 'CW mean L2 here / there'], modelRows)}` : ''}`;
}
