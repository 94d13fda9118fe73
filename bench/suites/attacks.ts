/**
 * The shipped models under attack, every adversarial set replayed on the packed runtime:
 * FGSM (on the exact cross-entropy direction, and on float32 cross-entropy as the paper computed
 * it), 40-step PGD (BPDA through sign; EOT for S),
 * the substitute black-box attack (runtime labels only), HopSkipJump on the runtime, and the
 * transfer matrix between the four architectures.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadData } from '../../src/data/index.js';
import { listModels } from '../../src/eval/demo.js';
import { blackboxEval, hsjEval, whiteboxEval, type WhiteboxOptions, type WhiteboxReport } from '../../src/eval/attacks.js';
import { transferMatrix } from '../../src/eval/transfer.js';
import { parseBnn } from '../../src/format/read.js';
import type { BnnModel } from '../../src/format/model.js';
import { fmt, mdTable, pct } from '../lib.js';
import { MODELS_DIR } from './size.js';

/** 40-step PGD at ε = 0.3 (Madry et al.'s evaluation) on the first 500 test images. */
export const PGD40 = { attack: 'pgd', eps: [0.3], n: 500, steps: 40, step: 0.01, seed: 1 } as const satisfies WhiteboxOptions;
/** The stronger check of the PGD-trained models: 100 steps, 5 random restarts, first 200 images. */
export const PGD100X5 = { attack: 'pgd', eps: [0.3], n: 200, steps: 100, step: 0.01, restarts: 5, seed: 1 } as const satisfies WhiteboxOptions;

/** The shipped K = 64 models the attack suites evaluate (a64, b64, c64, s64, a64-pgd, r64-pgd). */
export function attackedModels(): { name: string; model: BnnModel }[] {
  return listModels(MODELS_DIR)
    .filter((p) => /\/([abcs]64|[ar]64-pgd)\.bnn$/.test(p))
    .map((path) => ({ name: basename(path, '.bnn'), model: parseBnn(readFileSync(path), { source: path }) }));
}

export async function attacksSuite(): Promise<{ markdown: string; data: unknown }> {
  const test = loadData().test;
  const n = PGD40.n;
  const rows: (string | number)[][] = [];
  const agreeRows: (string | number)[][] = [];
  const out = [];
  const warnings: string[] = [];
  const strongN = PGD100X5.n;
  const strongRows: (string | number)[][] = [];
  const shipped = attackedModels();
  for (const { name, model } of shipped) {
    const stochastic = name.startsWith('s');
    const f1 = await whiteboxEval(name, model, test, { attack: 'fgsm', eps: [0.1, 0.2, 0.3], n });
    const f32 = await whiteboxEval(name, model, test, { attack: 'fgsm', eps: [0.3], n, loss: 'ce-float32' });
    const p = await whiteboxEval(name, model, test, { ...PGD40, attack: stochastic ? 'eot-pgd' : 'pgd', eot: stochastic ? 10 : 1 });
    const bb = await blackboxEval(name, model, test, { seed: 1 });
    const hsj = await hsjEval(name, model, test, { n: 10, budgets: [1000, 5000], seed: 1 });
    const whiteMin = Math.min(f1.rows[2]!.runtimeAccuracy, f32.rows[0]!.runtimeAccuracy, p.rows[0]!.runtimeAccuracy);
    if (bb.runtimeAccuracy < whiteMin - 0.02) warnings.push(`${name}: the black-box attack (${pct(bb.runtimeAccuracy, 1)}) beats every white-box attack at ε=0.3 (best ${pct(whiteMin, 1)}) — gradient masking.`);
    if (f32.rows[0]!.runtimeAccuracy > f1.rows[2]!.runtimeAccuracy + 0.1)
      warnings.push(`${name}: FGSM on float32 cross-entropy leaves ${pct(f32.rows[0]!.runtimeAccuracy, 1)} at ε=0.3 where the exact direction leaves ${pct(f1.rows[2]!.runtimeAccuracy, 1)} — ${pct(f32.saturatedFraction, 0)} of the images saturate the float32 softmax.`);
    const h = hsj.budgets[hsj.budgets.length - 1]!;
    rows.push([
      name,
      pct(f1.cleanRuntimeAccuracy, 1),
      ...f1.rows.map((r) => pct(r.runtimeAccuracy, 1)),
      pct(f32.rows[0]!.runtimeAccuracy, 1),
      pct(p.rows[0]!.runtimeAccuracy, 1),
      pct(bb.runtimeAccuracy, 1),
      `${pct(1 - h.successAtL2, 0)} / ${Number.isFinite(h.medianL2) ? h.medianL2.toFixed(2) : '∞'}`,
      pct(whiteMin, 1),
    ]);
    const all: WhiteboxReport[] = [f1, f32, p];
    for (const rep of all) for (const r of rep.rows) agreeRows.push([name, `${rep.attack}${rep === f32 ? ' (float32 CE)' : ''} ε=${r.eps}`, pct(r.tfjsAccuracy, 1), pct(r.runtimeAccuracy, 1), pct(r.agreement, 2), r.disagreements]);
    agreeRows.push([name, `black-box ε=${bb.eps} (${bb.images} images)`, pct(bb.tfjsAccuracy, 1), pct(bb.runtimeAccuracy, 1), pct(bb.agreement, 2), Math.round((1 - bb.agreement) * bb.images)]);
    // The PGD-trained models also under a stronger PGD: does the robustness survive more steps and restarts?
    const pgdStrong = name.endsWith('-pgd') ? await whiteboxEval(name, model, test, PGD100X5) : undefined;
    if (pgdStrong) {
      const r = pgdStrong.rows[0]!;
      strongRows.push([name, pct(p.rows[0]!.runtimeAccuracy, 1), pct(r.runtimeAccuracy, 1), pct(r.agreement, 2), pct(r.zeroGradientFraction, 1)]);
    }
    out.push({ model: name, fgsm: f1, fgsmFloat32: f32, pgd: p, blackbox: bb, hsj, pgdStrong });
  }
  const strongMd =
    `PGD-trained models (a64-pgd: the paper's A, no biases; r64-pgd: A with a bias per channel, the same recipe) under PGD at ε=0.3: 40 steps of 0.01 (first ${n} images, as above) and 100 steps of 0.01 with 5 random restarts (\`bnn-edge attack MODEL --attack pgd --eps 0.3 --steps 100 --restarts 5 --seed 1 --n ${strongN}\`).\n\n` +
    mdTable(['model', `PGD-40 (${n} images)`, `PGD-100 × 5 restarts (${strongN} images)`, 'agreement (tfjs vs runtime)', 'zero input gradients'], strongRows) +
    '\n\n';
  const transfer = await transferMatrix(shipped.filter((m) => /^[abcs]64$/.test(m.name)), test, { attack: 'fgsm', eps: 0.3, n });
  const transferMd =
    `Transfer (\`bnn-edge transfer --n ${n}\`): FGSM ε=0.3 crafted on each row's tfjs graph (EOT over 10 samples for s64), runtime accuracy (%) of each column's model.\n\n` +
    mdTable(
      ['crafted on ↓ / scored on →', ...transfer.models],
      [['(clean)', ...transfer.cleanAccuracy.map((a) => pct(a, 1))], ...transfer.models.map((m, s) => [m, ...transfer.accuracy[s]!.map((a) => pct(a, 1))])],
    );
  const markdown =
    `Accuracy on the packed runtime (%), first ${n} test images for the white-box attacks, the 1,850 after the substitute's 150 seeds for black-box, 10 for HopSkipJump (${fmt(5000)} queries: share not fooled within L2 ≤ 2 / median L2). FGSM ascends cross-entropy's exact gradient direction; "float32 CE" is the same attack on tfjs's float32 cross-entropy (the paper's numerics), whose gradient a saturated softmax zeroes. PGD: 40 steps of 0.01, random start, sign crossed by the straight-through gradient; for s64, EOT over 10 weight samples.\n\n` +
    mdTable(['model', 'clean', 'FGSM ε=0.1', 'FGSM ε=0.2', 'FGSM ε=0.3', 'FGSM ε=0.3, float32 CE', 'PGD ε=0.3', 'black-box ε=0.3', 'HSJ', 'worst white-box ε=0.3'], rows) +
    (warnings.length ? `\n\n${warnings.map((w) => `- ${w}`).join('\n')}` : '') +
    '\n\n' +
    strongMd +
    'Replay: the same adversarial images scored by the tfjs graph they were crafted on and by the runtime.\n\n' +
    mdTable(['model', 'attack', 'tfjs accuracy', 'runtime accuracy', 'agreement', 'images that differ'], agreeRows) +
    '\n\nFor the deterministic models the runtime and the rebuilt graph compute the same integers in every binary layer and (int8 first layer) in conv1 too, so they cannot disagree except through the dense layer\'s float sums on exact logit ties; a64 keeps a float conv1, where a bit on its threshold can flip with summation order. s64 samples its stochastic layer independently on each side, so its agreement measures sampling noise.\n\n' +
    transferMd;
  return { markdown, data: { models: out, transfer } };
}
