/**
 * The shipped models beyond the paper (issue 36: larq-mnist, larq-fashion, bireal-fashion,
 * plain-fashion) under attack, each on the test split of the data it was trained on (its manifest
 * entry), every adversarial set replayed on the packed runtime: FGSM at several ε, 40-step PGD,
 * the substitute black-box attack (runtime labels only) and HopSkipJump on the runtime.
 */
import { join } from 'node:path';
import { testDataOf } from '../../src/data/index.js';
import { blackboxEval, hsjEval, whiteboxEval, type WhiteboxReport } from '../../src/eval/attacks.js';
import { defineGraph } from '../../src/model/graph.js';
import { paperModelOf } from '../../src/model/presets.js';
import { readManifest } from '../../src/format/manifest.js';
import { readModelFile } from '../../src/format/file.js';
import { fmt, mdTable, pct } from '../lib.js';
import { MODELS_DIR } from './size.js';

const N = Number(process.env['BNN_GRAPH_ATTACK_N'] ?? 500);
const FGSM_EPS = [0.05, 0.1, 0.3];
/** Fashion-MNIST's usual L∞ budget is 0.1; MNIST's 0.3. Both for every model, so rows compare. */
const PGD_EPS = [0.1, 0.3];
const PGD = { attack: 'pgd', n: N, steps: 40, step: 0.01, seed: 1 } as const;

export async function graphAttacksSuite(): Promise<{ markdown: string; data: unknown }> {
  const entries = readManifest(MODELS_DIR).models.filter((e) => !paperModelOf(defineGraph(e.graph)));
  if (!entries.length) return { markdown: 'No model beyond the paper is shipped in models/.', data: [] };
  const rows: (string | number)[][] = [];
  const agreeRows: (string | number)[][] = [];
  const out = [];
  for (const e of entries) {
    const { name, model } = readModelFile(join(MODELS_DIR, e.file));
    const data = e.training.data;
    const test = testDataOf(data);
    const t0 = performance.now();
    process.stderr.write(`graph-attacks: ${name} on ${data} (${fmt(test.n)} test images)\n`);
    const fgsm = await whiteboxEval(name, model, test, { attack: 'fgsm', eps: FGSM_EPS, n: N });
    const pgd = await whiteboxEval(name, model, test, { ...PGD, eps: PGD_EPS });
    const bb = await blackboxEval(name, model, test, { seed: 1, eps: 0.1, n: 2000 });
    const hsj = await hsjEval(name, model, test, { n: 10, budgets: [1000, 5000], seed: 1 });
    const h = hsj.budgets[hsj.budgets.length - 1]!;
    rows.push([
      name,
      data,
      pct(e.testAccuracy.runtime, 2),
      ...fgsm.rows.map((r) => pct(r.runtimeAccuracy, 1)),
      ...pgd.rows.map((r) => pct(r.runtimeAccuracy, 1)),
      pct(bb.runtimeAccuracy, 1),
      `${pct(1 - h.successAtL2, 0)} / ${Number.isFinite(h.medianL2) ? h.medianL2.toFixed(2) : '∞'}`,
    ]);
    const replays: WhiteboxReport[] = [fgsm, pgd];
    for (const rep of replays) for (const r of rep.rows) agreeRows.push([name, `${rep.attack} ε=${r.eps}`, pct(r.tfjsAccuracy, 1), pct(r.runtimeAccuracy, 1), pct(r.agreement, 2), r.disagreements]);
    agreeRows.push([name, `black-box ε=${bb.eps} (${fmt(bb.images)} images)`, pct(bb.tfjsAccuracy, 1), pct(bb.runtimeAccuracy, 1), pct(bb.agreement, 2), Math.round((1 - bb.agreement) * bb.images)]);
    out.push({ model: name, data, cleanRuntime: e.testAccuracy.runtime, fgsm: fgsm.rows, pgd: pgd.rows, blackbox: bb, hsj, minutes: (performance.now() - t0) / 60_000 });
  }
  const markdown =
    `Each model on the test split of the data it was trained on (models/manifest.json), accuracy on the packed runtime (%): clean on the whole split; FGSM and PGD (40 steps of 0.01, random start, sign crossed by the straight-through gradient) on the first ${fmt(N)} test images (\`bnn-edge attack MODEL --attack pgd --eps 0.1,0.3 --n ${N} --seed 1\`); black-box: FGSM ε = 0.1 on a substitute trained from 150 seed images and the runtime's labels only, on the next 2,000; HopSkipJump on the runtime, 10 images, ${fmt(5000)} queries (share not fooled within L2 ≤ 2 / median L2).\n\n` +
    mdTable(['model', 'data', 'clean', ...FGSM_EPS.map((e) => `FGSM ε=${e}`), ...PGD_EPS.map((e) => `PGD-40 ε=${e}`), 'black-box ε=0.1', 'HSJ'], rows) +
    '\n\nReplay: the same adversarial images scored by the tfjs graph they were crafted on and by the runtime.\n\n' +
    mdTable(['model', 'attack', 'tfjs accuracy', 'runtime accuracy', 'agreement', 'images that differ'], agreeRows);
  return { markdown, data: out };
}
