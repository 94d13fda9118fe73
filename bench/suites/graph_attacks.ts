/**
 * The shipped models beyond the paper (issue 36: larq-mnist, larq-fashion, bireal-fashion,
 * plain-fashion) under attack, each on the test split of the data it was trained on (its manifest
 * entry), every adversarial set replayed on the packed runtime: FGSM at several ε, 40-step PGD,
 * the substitute black-box attack (runtime labels only) and HopSkipJump on the runtime. A model's
 * figures are reused from bench/results.json while its .bnn is unchanged, so shipping one more
 * model attacks only that one.
 */
import { basename, join } from 'node:path';
import { testDataOf } from '../../src/data/index.js';
import { blackboxEval, hsjEval, whiteboxEval, type BlackboxReport, type HsjReport, type WhiteboxRow } from '../../src/eval/attacks.js';
import { defineGraph } from '../../src/model/graph.js';
import { paperModelOf } from '../../src/model/presets.js';
import { readManifest, type ManifestEntry } from '../../src/format/manifest.js';
import { readModelFile } from '../../src/format/file.js';
import { fmt, loadResults, machine, mdTable, pct } from '../lib.js';
import { MODELS_DIR } from './size.js';

const N = Number(process.env['BNN_GRAPH_ATTACK_N'] ?? 500);
const FGSM_EPS = [0.05, 0.1, 0.3];
/** Fashion-MNIST's usual L∞ budget is 0.1; MNIST's 0.3. Both for every model, so rows compare. */
const PGD_EPS = [0.1, 0.3];
const PGD = { attack: 'pgd', n: N, steps: 40, step: 0.01, seed: 1 } as const;

/** One model's figures; kept in results.json so a later run reuses them while the .bnn is unchanged. */
interface ModelAttacks {
  readonly model: string;
  readonly sha256: string;
  readonly data: string;
  readonly cleanRuntime: number;
  readonly n: number;
  readonly fgsm: readonly WhiteboxRow[];
  readonly pgd: readonly WhiteboxRow[];
  readonly blackbox: BlackboxReport;
  readonly hsj: HsjReport;
  readonly minutes: number;
  readonly date: string;
}

async function attackModel(e: ManifestEntry): Promise<ModelAttacks> {
  const { name, model } = readModelFile(join(MODELS_DIR, e.file));
  const data = e.training.data;
  const test = testDataOf(data);
  const t0 = performance.now();
  process.stderr.write(`graph-attacks: ${name} on ${data} (${fmt(test.n)} test images)\n`);
  const fgsm = await whiteboxEval(name, model, test, { attack: 'fgsm', eps: FGSM_EPS, n: N });
  const pgd = await whiteboxEval(name, model, test, { ...PGD, eps: PGD_EPS });
  const blackbox = await blackboxEval(name, model, test, { seed: 1, eps: 0.1, n: 2000 });
  const hsj = await hsjEval(name, model, test, { n: 10, budgets: [1000, 5000], seed: 1 });
  return { model: name, sha256: e.sha256, data, cleanRuntime: e.testAccuracy.runtime, n: N, fgsm: fgsm.rows, pgd: pgd.rows, blackbox, hsj, minutes: (performance.now() - t0) / 60_000, date: machine().date };
}

export async function graphAttacksSuite(): Promise<{ markdown: string; data: unknown }> {
  const entries = readManifest(MODELS_DIR).models.filter((e) => !paperModelOf(defineGraph(e.graph)));
  if (!entries.length) return { markdown: 'No model beyond the paper is shipped in models/.', data: [] };
  const before = (loadResults()['graph-attacks']?.data ?? []) as ModelAttacks[];
  const runs: ModelAttacks[] = [];
  for (const e of entries) {
    const kept = Array.isArray(before) ? before.find((r) => r.model === basename(e.file, '.bnn') && r.sha256 === e.sha256 && r.n === N) : undefined;
    runs.push(kept ?? (await attackModel(e)));
  }
  const rows: (string | number)[][] = [];
  const agreeRows: (string | number)[][] = [];
  for (const r of runs) {
    const bb = r.blackbox;
    const h = r.hsj.budgets[r.hsj.budgets.length - 1]!;
    rows.push([
      r.model,
      r.data,
      pct(r.cleanRuntime, 2),
      ...r.fgsm.map((x) => pct(x.runtimeAccuracy, 1)),
      ...r.pgd.map((x) => pct(x.runtimeAccuracy, 1)),
      pct(bb.runtimeAccuracy, 1),
      `${pct(1 - h.successAtL2, 0)} / ${Number.isFinite(h.medianL2) ? h.medianL2.toFixed(2) : '∞'}`,
      r.date,
    ]);
    for (const [attack, set] of [['fgsm', r.fgsm], ['pgd', r.pgd]] as const) for (const x of set) agreeRows.push([r.model, `${attack} ε=${x.eps}`, pct(x.tfjsAccuracy, 1), pct(x.runtimeAccuracy, 1), pct(x.agreement, 2), x.disagreements]);
    agreeRows.push([r.model, `black-box ε=${bb.eps} (${fmt(bb.images)} images)`, pct(bb.tfjsAccuracy, 1), pct(bb.runtimeAccuracy, 1), pct(bb.agreement, 2), Math.round((1 - bb.agreement) * bb.images)]);
  }
  const markdown =
    `Each model on the test split of the data it was trained on (models/manifest.json), accuracy on the packed runtime (%): clean on the whole split; FGSM and PGD (40 steps of 0.01, random start, sign crossed by the straight-through gradient) on the first ${fmt(N)} test images (\`bnn-edge attack MODEL --attack pgd --eps 0.1,0.3 --n ${N} --seed 1\`); black-box: FGSM ε = 0.1 on a substitute trained from 150 seed images and the runtime's labels only, on the next 2,000; HopSkipJump on the runtime, 10 images, ${fmt(5000)} queries (share not fooled within L2 ≤ 2 / median L2). A model's figures are kept from an earlier run while its .bnn (SHA-256) is unchanged; the last column dates them.\n\n` +
    mdTable(['model', 'data', 'clean', ...FGSM_EPS.map((e) => `FGSM ε=${e}`), ...PGD_EPS.map((e) => `PGD-40 ε=${e}`), 'black-box ε=0.1', 'HSJ', 'attacked on'], rows) +
    '\n\nReplay: the same adversarial images scored by the tfjs graph they were crafted on and by the runtime.\n\n' +
    mdTable(['model', 'attack', 'tfjs accuracy', 'runtime accuracy', 'agreement', 'images that differ'], agreeRows);
  return { markdown, data: runs };
}
