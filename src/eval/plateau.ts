/**
 * Has an attack plateaued? One AutoAttack member's accuracy against its budget (APGD's forward
 * passes, Square's runtime queries) on several runs, as an SVG line chart: a curve still falling at
 * its last point says the budget was too small for the figure to be a worst case.
 */
import type { WhiteboxRow } from './attacks.js';
import { lineChart, type Series } from './svg.js';

/** The members with a budget curve, and the unit of each one's budget. */
export const PLATEAU_UNITS = {
  'apgd-ce': 'forward passes per image',
  'apgd-t': 'forward passes per image (9 targets side by side)',
  square: 'runtime queries per image',
} as const;
export type PlateauAttack = keyof typeof PLATEAU_UNITS;

/** The chart of `attack`'s curve in each run's row (runs without one are left out); null if none has it. */
export function plateauChart(attack: PlateauAttack, eps: number, runs: readonly { readonly name: string; readonly row: WhiteboxRow }[]): string | null {
  const series: Series[] = runs.flatMap(({ name, row }) => {
    const m = row.members?.find((x) => x.attack === attack);
    return m?.curve && m.attacked ? [{ name: `${name} ${attack}`, points: m.curve.map(([x, y]) => ({ x, y })) }] : [];
  });
  if (!series.length) return null;
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  return lineChart(`${attack} at ε = ${eps}: accuracy against budget`, PLATEAU_UNITS[attack], 'accuracy (cascade)', series, {
    yMin: Math.max(0, Math.floor(Math.min(...ys) * 10) / 10 - 0.1),
    yMax: Math.min(1, Math.ceil(Math.max(...ys) * 10) / 10),
    markers: false,
  });
}
