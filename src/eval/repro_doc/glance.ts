/**
 * The figures a reviewer checks first, in one place: per paper table the cells in the paper's band
 * with our attacks and with the paper's numerics; per model the ensemble's worst case against
 * 40-step PGD and Square's throughput on the runtime; and how many images each kind of evaluation used.
 */
import { evalKind } from '../repro_plan.js';
import { paperCells, TABLE_NAMES, type BandCount, type PaperTable } from '../repro_compare.js';
import { p, table, type DocContext } from './common.js';

/** The paper's numerics: FGSM on float32 loss away from the model's own label; the substitute's FGSM away from its own labels. */
const PAPER_NUMERICS = { fgsm: 'fgsm-paper', blackbox: 'blackbox-paper' };

/** Kinds run on a few images by design (side experiments, not a headline's evidence), and why. */
const SIDE_KINDS: Record<string, string> = { hsj: 'label-only HopSkipJump, thousands of queries per image' };

export function glanceSection(ctx: DocContext): string {
  const { c, res, wb } = ctx;
  const cells = paperCells(c.widths);
  // The FGSM tables scored on another test set too (--also-test): the same cells, read from that kind.
  const onKind = [...new Set(Object.keys(res).map(evalKind))].find((k) => k.startsWith('fgsm-on-'));
  const bandRows = (Object.keys(TABLE_NAMES) as PaperTable[]).flatMap((t) => {
    const of = cells.filter((x) => x.table === t).length;
    if (!of) return [];
    const show = (b: BandCount) => (b.cells ? `${b.inBand} of ${b.cells}${b.cells < of ? ` (${of} in all)` : ''}` : `— (${of} in all)`);
    // CW ran as the paper's code did; only FGSM and the substitute's labels have a paper-numerics variant.
    const theirs = t === 'cw' ? 'the same (our CW is the paper\'s setting)' : show(ctx.band(t, PAPER_NUMERICS));
    const other = onKind && (t === 'fgsm' || t === 'fgsm-adv') ? show(ctx.band(t, { fgsm: onKind })) : 'n/a';
    return [[TABLE_NAMES[t], show(ctx.band(t)), theirs, ...(onKind ? [other] : [])]];
  });

  // Every model the ensemble ran on at ε = 0.3, beside 40-step PGD on the same images.
  const autoIds = Object.keys(res).filter((id) => evalKind(id) === 'auto').sort();
  const gapRows = autoIds.flatMap((id) => {
    const name = id.slice('auto:'.length);
    const auto = wb(id)!;
    const pgd = wb(`pgd:${name}`)?.rows.find((r) => r.eps === 0.3);
    const worst = auto.rows[0]!.runtimeAccuracy;
    const square = auto.rows[0]!.members?.find((m) => m.attack === 'square');
    return [[name, auto.images.toLocaleString('en-US'), p(worst), pgd ? p(pgd.runtimeAccuracy) : '—', pgd ? p(pgd.runtimeAccuracy - worst) : '—', square?.queries ? Math.round(square.queries.perSecond).toLocaleString('en-US') : '—']];
  });

  // Images per kind of evaluation.
  const byKind = new Map<string, number[]>();
  for (const [id, r] of Object.entries(res)) {
    const n = (r as { images?: number }).images;
    if (n !== undefined) byKind.set(evalKind(id), [...(byKind.get(evalKind(id)) ?? []), n]);
  }
  const imageRows = [...byKind.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, ns]) => {
      const [lo, hi] = [Math.min(...ns), Math.max(...ns)];
      return [kind, String(ns.length), lo === hi ? lo.toLocaleString('en-US') : `${lo.toLocaleString('en-US')}–${hi.toLocaleString('en-US')}`, SIDE_KINDS[kind] ?? (lo >= 1000 ? '' : 'below 1,000')];
    });
  const below = imageRows.filter((r) => r[3] === 'below 1,000').map((r) => r[0]);

  return `## At a glance

Cells of the paper's tables within its band (±2 spreads + 2 points), over the cells measured so far: with our attacks, and with the paper's numerics (FGSM on float32 cross-entropy away from each model's own label; the substitute's FGSM away from its own labels).

${table(['table', 'ours', "the paper's numerics", ...(onKind ? [`ours, on ${onKind.slice('fgsm-on-'.length)}'s test images`] : [])], bandRows)}

AutoAttack's worst case at ε = 0.3 beside 40-step PGD on the same images (%), and Square's queries per second on the runtime (measured with other jobs on the same 2 cores: a lower bound on its speed; — where the gradient attacks left it no image).

${gapRows.length ? table(['model', 'images', 'AutoAttack', 'PGD-40', 'PGD-40 overstates by', 'Square queries/s'], gapRows) : 'The ensemble has not run on any model yet.'}

Images per evaluation${below.length ? ` (below 1,000: ${below.join(', ')})` : ''}:

${table(['evaluation', 'results', 'images', 'note'], imageRows)}`;
}
