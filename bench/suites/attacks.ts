/**
 * The shipped models under attack, every adversarial set replayed on the packed runtime:
 * FGSM (on the exact cross-entropy direction, and on float32 cross-entropy as the paper computed
 * it), 40-step PGD (BPDA through sign; EOT for S),
 * the substitute black-box attack (runtime labels only), HopSkipJump on the runtime, and the
 * transfer matrix between the four architectures. The PGD-trained models (per models/manifest.json)
 * also face 100-step PGD with 5 restarts, and the best bias-free A is held to what #5 asks of A+.
 */
import { basename, join } from 'node:path';
import { loadData } from '../../src/data/index.js';
import { blackboxEval, hsjEval, saturationCovers, whiteboxEval, type WhiteboxOptions, type WhiteboxReport } from '../../src/eval/attacks.js';
import { transferMatrix } from '../../src/eval/transfer.js';
import { defineGraph } from '../../src/model/graph.js';
import { paperModelOf } from '../../src/model/presets.js';
import { epochsInAll, readManifest, trainedFrom, type ManifestEntry } from '../../src/format/manifest.js';
import { readModelFile } from '../../src/format/file.js';
import type { BnnModel } from '../../src/format/model.js';
import { A_PLUS_ROBUST_TARGET, A_PLUS_TARGET_NAME } from '../../src/eval/repro_doc/index.js';
import { fmt, mdTable, pct } from '../lib.js';
import { MODELS_DIR } from './size.js';
import { cachedEnsemble } from './robust.js';

/** 40-step PGD at ε = 0.3 (Madry et al.'s evaluation) on the first 500 test images. */
const PGD40 = { attack: 'pgd', eps: [0.3], n: 500, steps: 40, step: 0.01, seed: 1 } as const satisfies WhiteboxOptions;
/** The stronger check of the PGD-trained models: 100 steps, 5 random restarts, first 200 images. */
const PGD100X5 = { attack: 'pgd', eps: [0.3], n: 200, steps: 100, step: 0.01, restarts: 5, seed: 1 } as const satisfies WhiteboxOptions;

/** A PGD-trained model's runtime accuracy under PGD-40 and PGD-100 × 5 at ε = 0.3. */
interface StrongResult {
  readonly name: string;
  readonly arch: string;
  readonly k: number;
  readonly epochs: number;
  readonly pgd40: number;
  readonly pgd100x5: number;
  /** AutoAttack's ensemble's worst case at ε = 0.3 (if the robust suite has measured it), and PGD-40 on the same images where the robust suite ran it. */
  readonly auto: { readonly acc: number; readonly images: number; readonly pgd40?: number } | null;
}

/** A shipped model the attack suites evaluate, with what models/manifest.json records of it. */
export interface AttackedModel {
  readonly name: string;
  readonly arch: string;
  readonly k: number;
  readonly model: BnnModel;
  /** PGD-trained: the attacks suite adds the stronger PGD check, the CW suite leaves it out. */
  readonly adversarial: boolean;
  /** Epochs of training in all, through any `--init` chain of shipped models. */
  readonly epochs: number;
  /** The shipped model its training started from (`--init`), if any, and that model's epochs in all. */
  readonly init?: { readonly name: string; readonly epochs: number };
}

/** Every shipped K = 64 model (a64, b64, c64, s64) and every PGD-trained one, in file-name order. */
export function attackedModels(): AttackedModel[] {
  const entries = readManifest(MODELS_DIR).models;
  return entries
    .map((e) => ({ e, paper: paperModelOf(defineGraph(e.graph)) }))
    .filter(({ e, paper }) => paper && (paper.k === 64 || isAdversarial(e)))
    .map(({ e, paper }) => {
      const { name, model } = readModelFile(join(MODELS_DIR, e.file));
      // A model continued from a shipped one (`train --init models/X.bnn`, maybe through runs never
      // shipped) carries X's epochs and theirs too.
      const init = trainedFrom(entries, e);
      const initEpochs = init ? epochsInAll(entries, init) : 0;
      return {
        name,
        arch: paper!.arch,
        k: paper!.k,
        model,
        adversarial: isAdversarial(e),
        epochs: epochsInAll(entries, e),
        ...(init ? { init: { name: basename(init.file, '.bnn'), epochs: initEpochs } } : {}),
      };
    });
}

function isAdversarial(e: ManifestEntry): boolean {
  return e.training.adversarial !== null && e.training.adversarial !== undefined;
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
  const strong: StrongResult[] = [];
  const shipped = attackedModels();
  for (const { name, arch, k, model, adversarial, epochs, init } of shipped) {
    const stochastic = arch === 'S';
    const f1 = await whiteboxEval(name, model, test, { attack: 'fgsm', eps: [0.1, 0.2, 0.3], n });
    const f32 = await whiteboxEval(name, model, test, { attack: 'fgsm', eps: [0.3], n, loss: 'ce-float32' });
    const p = await whiteboxEval(name, model, test, { ...PGD40, attack: stochastic ? 'eot-pgd' : 'pgd', eot: stochastic ? 10 : 1 });
    const bb = await blackboxEval(name, model, test, { seed: 1 });
    const hsj = await hsjEval(name, model, test, { n: 10, budgets: [1000, 5000], seed: 1 });
    const whiteMin = Math.min(f1.rows[2]!.runtimeAccuracy, f32.rows[0]!.runtimeAccuracy, p.rows[0]!.runtimeAccuracy);
    if (bb.runtimeAccuracy < whiteMin - 0.02) warnings.push(`${name}: the black-box attack (${pct(bb.runtimeAccuracy, 1)}) beats every white-box attack at ε=0.3 (best ${pct(whiteMin, 1)}) — gradient masking.`);
    if (f32.rows[0]!.runtimeAccuracy > f1.rows[2]!.runtimeAccuracy + 0.1)
      warnings.push(`${name}: FGSM on float32 cross-entropy leaves ${pct(f32.rows[0]!.runtimeAccuracy, 1)} at ε=0.3 where the exact direction leaves ${pct(f1.rows[2]!.runtimeAccuracy, 1)}; on ${pct(f32.saturatedFraction, 0)} of the images the float32 softmax rounds p(label) to 1 and the gradient loses its true-class term${saturationCovers(f32.rows[0]!.runtimeAccuracy - f1.rows[2]!.runtimeAccuracy, f32.saturatedFraction) ? ', which accounts for the gap' : ': fewer images than the gap, so saturation is not the whole cause'}.`);
    const h = hsj.budgets[hsj.budgets.length - 1]!;
    const ensemble = cachedEnsemble(name, 0.3);
    rows.push([
      name,
      pct(f1.cleanRuntimeAccuracy, 1),
      ...f1.rows.map((r) => pct(r.runtimeAccuracy, 1)),
      pct(f32.rows[0]!.runtimeAccuracy, 1),
      pct(p.rows[0]!.runtimeAccuracy, 1),
      pct(bb.runtimeAccuracy, 1),
      `${pct(1 - h.successAtL2, 0)} / ${Number.isFinite(h.medianL2) ? h.medianL2.toFixed(2) : '∞'}`,
      pct(whiteMin, 1),
      ensemble ? pct(ensemble.auto.rows[0]!.runtimeAccuracy, 1) : 'not run',
    ]);
    const all: WhiteboxReport[] = [f1, f32, p];
    for (const rep of all) for (const r of rep.rows) agreeRows.push([name, `${rep.attack}${rep === f32 ? ' (float32 CE)' : ''} ε=${r.eps}`, pct(r.tfjsAccuracy, 1), pct(r.runtimeAccuracy, 1), pct(r.agreement, 2), r.disagreements]);
    agreeRows.push([name, `black-box ε=${bb.eps} (${bb.images} images)`, pct(bb.tfjsAccuracy, 1), pct(bb.runtimeAccuracy, 1), pct(bb.agreement, 2), Math.round((1 - bb.agreement) * bb.images)]);
    // The PGD-trained models also under a stronger PGD: does the robustness survive more steps and restarts?
    const pgdStrong = adversarial ? await whiteboxEval(name, model, test, PGD100X5) : undefined;
    if (pgdStrong) {
      const r = pgdStrong.rows[0]!;
      const trained = init ? `${epochs} (from ${init.name}: +${epochs - init.epochs})` : String(epochs);
      strongRows.push([name, `${arch}-${k}${arch === 'A' ? ' (no biases)' : arch === 'R' ? ' (A with biases)' : ''}`, trained, pct(p.rows[0]!.runtimeAccuracy, 1), pct(r.runtimeAccuracy, 1), pct(r.agreement, 2), pct(r.zeroGradientFraction, 1)]);
      strong.push({ name, arch, k, epochs, pgd40: p.rows[0]!.runtimeAccuracy, pgd100x5: r.runtimeAccuracy, auto: ensemble && { acc: ensemble.auto.rows[0]!.runtimeAccuracy, images: ensemble.auto.images, ...(ensemble.pgd40 ? { pgd40: ensemble.pgd40.rows[0]!.runtimeAccuracy } : {}) } });
    }
    out.push({ model: name, fgsm: f1, fgsmFloat32: f32, pgd: p, blackbox: bb, hsj, pgdStrong });
  }
  const strongMd =
    `PGD-trained models (models/manifest.json has each one's command) under PGD at ε=0.3: 40 steps of 0.01 (first ${n} images, as above) and 100 steps of 0.01 with 5 random restarts (\`bnn-edge attack MODEL --attack pgd --eps 0.3 --steps 100 --restarts 5 --seed 1 --n ${strongN}\`).\n\n` +
    mdTable(['model', 'architecture', 'epochs trained', `PGD-40 (${n} images)`, `PGD-100 × 5 restarts (${strongN} images)`, 'agreement (tfjs vs runtime)', 'zero input gradients'], strongRows) +
    `\n\n${aPlusVerdict(strong)}\n\n`;
  const transfer = await transferMatrix(shipped.filter((m) => /^[abcs]64$/.test(m.name)), test, { attack: 'fgsm', eps: 0.3, n });
  const transferMd =
    `Transfer (\`bnn-edge transfer --n ${n}\`): FGSM ε=0.3 crafted on each row's tfjs graph (EOT over 10 samples for s64), runtime accuracy (%) of each column's model.\n\n` +
    mdTable(
      ['crafted on ↓ / scored on →', ...transfer.models],
      [['(clean)', ...transfer.cleanAccuracy.map((a) => pct(a, 1))], ...transfer.models.map((m, s) => [m, ...transfer.accuracy[s]!.map((a) => pct(a, 1))])],
    );
  const markdown =
    `Accuracy on the packed runtime (%), first ${n} test images for the white-box attacks, the 1,850 after the substitute's 150 seeds for black-box, 10 for HopSkipJump (${fmt(5000)} queries: share not fooled within L2 ≤ 2 / median L2). FGSM ascends cross-entropy's exact gradient direction; "float32 CE" is the same attack on tfjs's float32 cross-entropy (the paper's numerics), whose gradient loses its true-class term where the softmax rounds p(label) to 1. PGD: 40 steps of 0.01, random start, sign crossed by the straight-through gradient; for s64, EOT over 10 weight samples. Every figure here is an upper bound on robust accuracy; the last column is the worst case of AutoAttack's standard ensemble on the first 1,000 images, from the robust section below (\`npm run bench -- --suite robust\`; "not run" until that suite has measured the model).\n\n` +
    mdTable(['model', 'clean', 'FGSM ε=0.1', 'FGSM ε=0.2', 'FGSM ε=0.3', 'FGSM ε=0.3, float32 CE', 'PGD ε=0.3', 'black-box ε=0.3', 'HSJ', 'worst of these ε=0.3 (upper bound)', 'AutoAttack ε=0.3, 1,000 images'], rows) +
    (warnings.length ? `\n\n${warnings.map((w) => `- ${w}`).join('\n')}` : '') +
    '\n\n' +
    strongMd +
    'Replay: the same adversarial images scored by the tfjs graph they were crafted on and by the runtime.\n\n' +
    mdTable(['model', 'attack', 'tfjs accuracy', 'runtime accuracy', 'agreement', 'images that differ'], agreeRows) +
    '\n\nFor the deterministic models the runtime and the rebuilt graph compute the same integers in every binary layer and (int8 first layer) in conv1 too, so they cannot disagree except through the dense layer\'s float sums on exact logit ties; a64 keeps a float conv1, where a bit on its threshold can flip with summation order. s64 samples its stochastic layer independently on each side, so its agreement measures sampling noise.\n\n' +
    transferMd;
  return { markdown, data: { models: out, transfer } };
}

/**
 * Does a shipped PGD-trained bias-free A (the paper's A+* row) reach what issue #5 asked (≥ 85% at ε = 0.3)? Only under the
 * strongest attack measured: AutoAttack's ensemble where the robust suite has run it, else the claim
 * is withheld (PGD figures are upper bounds).
 */
function aPlusVerdict(strong: readonly StrongResult[]): string {
  const p = (x: number) => pct(x, 1);
  const target = p(A_PLUS_ROBUST_TARGET);
  const as = strong.filter((m) => m.arch === 'A');
  if (!as.length) return 'No PGD-trained A is shipped.';
  const figures = (m: StrongResult) =>
    `${p(m.pgd40)} under 40-step PGD, ${p(m.pgd100x5)} under 100 steps × 5 restarts` +
    (m.auto ? ` and ${p(m.auto.acc)} under AutoAttack's ensemble (${fmt(m.auto.images)} images)` : " (AutoAttack's ensemble not run on it yet: these are upper bounds)");
  const worst = (m: StrongResult) => Math.min(m.pgd40, m.pgd100x5, m.auto?.acc ?? 1);
  // Ranked by PGD-100 × 5, which every PGD-trained model has faced.
  const strongest = as.reduce((a, b) => (b.pgd100x5 > a.pgd100x5 ? b : a));
  const r = strong.find((m) => m.arch === 'R');
  const control = !r
    ? ''
    : ` R, A with biases, keeps ${figures(r)} after ${r.epochs} epochs` +
      (r.auto && strongest.auto && worst(r) >= worst(strongest) && r.epochs < strongest.epochs ? ': the biases A lacks make robustness cheaper to train.' : '.');
  const measured = as.filter((m) => m.auto);
  const ensembleLine = measured.length
    ? ` Under the ensemble: ${measured.map((m) => `${m.name} (${m.epochs} epochs) ${p(m.auto!.acc)} where PGD-40 ${m.auto!.pgd40 !== undefined ? `on the same images leaves ${p(m.auto!.pgd40)}` : `leaves ${p(m.pgd40)} on the first ${fmt(PGD40.n)}`}`).join('; ')}.`
    : '';
  return strongest.auto && worst(strongest) >= A_PLUS_ROBUST_TARGET
    ? `A+* (${strongest.name}, the paper's bias-free A at K = ${strongest.k} after ${strongest.epochs} epochs of PGD training) keeps ${figures(strongest)}: at or above the ${target} ${A_PLUS_TARGET_NAME}, under the strongest attack.${ensembleLine}${control}`
    : `No shipped PGD-trained bias-free A is shown to reach the ${target} ${A_PLUS_TARGET_NAME}: the most robust under 100 steps × 5 restarts, ${strongest.name} after ${strongest.epochs} epochs, keeps ${figures(strongest)}.${ensembleLine}${control}`;
}
