/**
 * AutoAttack (src/attacks/auto.ts) on the shipped models against 40-step PGD, every adversarial
 * image scored on the packed runtime: per model and ε the robust accuracy after APGD-CE, APGD-T,
 * FAB-T and Square (the cascade's per-image worst case), the gap to PGD-40, the images PGD-40 fools
 * that the ensemble does not (should be none), and the runtime's Square queries per second. Square
 * alone on the binary models shows what a gradient-free attack on the artifact finds by itself.
 *
 * Images: the first N of the embedded MNIST test split (the held-out split of every model here).
 * BNN_AUTOATTACK_N sets N for every model; by default the binary models take 1,000 and the
 * PGD-trained float models fewer, since there every image survives to Square's 5,000 runtime queries.
 */
import { join } from 'node:path';
import { loadData } from '../../src/data/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { whiteboxEval, type WhiteboxReport } from '../../src/eval/attacks.js';
import { readModelFile } from '../../src/format/file.js';
import { fmt, mdTable, pct } from '../lib.js';
import { MODELS_DIR } from './size.js';

const EPS = [0.1, 0.3];
/** Images per model by default (BNN_AUTOATTACK_N overrides). */
const IMAGES: Record<string, number> = { b64: 1000, c64: 1000, 'a64-pgd': 200, 'r64-pgd': 200 };
/** Square alone on the first images of the binary models, ε = 0.1. */
const SQUARE_ALONE = { models: ['b64', 'c64'], n: 200, eps: 0.1 };

/** Images a PGD run fooled on the runtime that the ensemble (its worst-case runtime labels) left standing: should be 0. */
export function fooledOnlyBy(pgd: WhiteboxReport, autoLabels: ArrayLike<number>, labels: Uint8Array): number {
  const p = pgd.examples![0]!.runtimeLabels;
  let k = 0;
  for (let i = 0; i < p.length; i++) if (p[i] !== labels[i] && autoLabels[i] === labels[i]) k++;
  return k;
}

/** Images PGD-40 fooled on the runtime that the ensemble's worst case left standing. */
export function pgdOnly(pgd: WhiteboxReport, auto: WhiteboxReport, labels: Uint8Array): number {
  return fooledOnlyBy(pgd, auto.examples![0]!.runtimeLabels, labels);
}

function progress(label: string): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    if (now - last < 60_000 && done < total) return;
    last = now;
    process.stderr.write(`autoattack: ${label} ${Math.round((100 * done) / total)}%\n`);
  };
}

export async function autoattackSuite(): Promise<{ markdown: string; data: unknown }> {
  const test: Dataset = loadData().test;
  const override = process.env['BNN_AUTOATTACK_N'] ? Number(process.env['BNN_AUTOATTACK_N']) : undefined;
  const rows: (string | number)[][] = [];
  const squareRows: (string | number)[][] = [];
  const aloneRows: (string | number)[][] = [];
  const data = [];
  for (const name of Object.keys(IMAGES)) {
    const { model } = readModelFile(join(MODELS_DIR, `${name}.bnn`));
    const n = Math.min(override ?? IMAGES[name]!, test.n);
    for (const eps of EPS) {
      process.stderr.write(`autoattack: ${name} ε=${eps}, ${n} images\n`);
      const t0 = performance.now();
      const pgd = await whiteboxEval(name, model, test, { attack: 'pgd', eps: [eps], n, steps: 40, step: 0.01, seed: 1, keepExamples: true });
      const t1 = performance.now();
      const auto = await whiteboxEval(name, model, test, { attack: 'auto', eps: [eps], n, seed: 1, keepExamples: true, onProgress: progress(`${name} ε=${eps}`) });
      const minutes = (performance.now() - t1) / 60_000;
      const row = auto.rows[0]!;
      const m = row.members!;
      const square = m.find((x) => x.attack === 'square')!;
      rows.push([
        name,
        eps,
        n,
        pct(auto.cleanRuntimeAccuracy, 1),
        pct(pgd.rows[0]!.runtimeAccuracy, 1),
        ...m.map((x) => pct(x.runtimeAccuracy, 1)),
        `${fmt(100 * (pgd.rows[0]!.runtimeAccuracy - row.runtimeAccuracy), 1)} pts`,
        pgdOnly(pgd, auto, test.labels),
        pct(Math.min(...m.filter((x) => x.attacked > 0 && x.attack !== 'square').map((x) => x.agreement), 1), 1),
        fmt((t1 - t0) / 60_000, 1),
        fmt(minutes, 1),
      ]);
      if (square.attacked > 0) squareRows.push([name, eps, square.attacked, square.newlyFooled, fmt(square.queries!.total), fmt(square.seconds, 0), fmt(square.queries!.perSecond)]);
      const { examples: _p, ...pgdSummary } = pgd;
      const { examples: _a, ...autoSummary } = auto;
      data.push({ model: name, eps, images: n, pgd40: pgdSummary, auto: autoSummary, pgdOnly: pgdOnly(pgd, auto, test.labels), minutes });
    }
    if (SQUARE_ALONE.models.includes(name)) {
      process.stderr.write(`autoattack: ${name} Square alone\n`);
      const r = await whiteboxEval(name, model, test, { attack: 'square', eps: [SQUARE_ALONE.eps], n: SQUARE_ALONE.n, seed: 1 });
      const s = r.rows[0]!.members![0]!;
      aloneRows.push([name, SQUARE_ALONE.n, pct(r.cleanRuntimeAccuracy, 1), pct(r.rows[0]!.runtimeAccuracy, 1), fmt(s.queries!.total), fmt(s.queries!.total / Math.max(s.attacked, 1)), fmt(s.queries!.perSecond)]);
      data.push({ model: name, squareAlone: r });
    }
  }
  const counts = Object.entries(IMAGES).map(([k, v]) => `${k} ${fmt(Math.min(override ?? v, test.n))}`).join(', ');
  const markdown =
    `AutoAttack's standard ensemble (Croce & Hein 2020) against 40-step PGD at ε = ${EPS.join(' and ')}, on the first images of the embedded MNIST test split (${counts}), every adversarial image scored on the packed runtime (\`bnn-edge attack MODEL --attack auto --eps E --n N --seed 1\`). ` +
    'APGD-CE, APGD-T (9 targets) and FAB-T (9 targets) take 100 iterations each, crafted on the tfjs graph rebuilt from the .bnn (sign crossed by the straight-through gradient); Square takes 5,000 queries of the runtime\'s logits. ' +
    'As in AutoAttack, each attack runs only on the images every earlier one left robust on the runtime, so the columns are robust accuracy after that attack and all before it, and the last is the per-image worst case: an image counts as robust only if every attack fails on it. ' +
    '"PGD-40 only" counts images PGD-40 fooled on the runtime that the ensemble left standing (it should be 0: the ensemble must be at least as strong per image). Agreement is the lowest, over the gradient attacks, of the share of their adversarial images on which tfjs and the runtime give the same label.\n\n' +
    mdTable(['model', 'ε', 'images', 'clean', 'PGD-40', 'APGD-CE', '+ APGD-T', '+ FAB-T', '+ Square = worst case', 'gap to PGD-40', 'PGD-40 only', 'agreement', 'PGD-40 min', 'auto min'], rows) +
    '\n\nSquare on the runtime in the cascade (only the images the gradient attacks left robust): images it fooled that they had not, and the runtime\'s throughput as Square queries it (batches shrink as images fall).\n\n' +
    (squareRows.length ? mdTable(['model', 'ε', 'images attacked', 'newly fooled', 'queries', 'seconds', 'queries/s'], squareRows) : 'Square had no image left to attack in any run.') +
    `\n\nSquare alone on the binary models (ε = ${SQUARE_ALONE.eps}, first ${SQUARE_ALONE.n} images, 5,000 queries, \`--attack square\`): the gradient-free attack on the runtime's logits, with no straight-through estimate anywhere.\n\n` +
    mdTable(['model', 'images', 'clean', 'Square alone', 'queries', 'queries per attacked image', 'queries/s'], aloneRows);
  return { markdown, data };
}
