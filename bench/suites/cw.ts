/**
 * Carlini–Wagner L2 on the shipped models, replayed on the packed runtime: the paper's setting
 * (1 search step, lr 0.1, c = 10, 100 iterations) on every architecture, and the stronger default
 * (CW_STRONG: more search steps over c) on fewer images of the paper's CW models B and S. The mean L2 of
 * successes is given both ways: over all of them (an image already misclassified counts near 0, as
 * in Carlini & Wagner's code and so, presumably, in the paper's table) and over the images the
 * model classified correctly before the attack.
 */
import { loadData } from '../../src/data/index.js';
import { whiteboxEval, type WhiteboxAttack } from '../../src/eval/attacks.js';
import { CW_PAPER, CW_STRONG } from '../../src/attacks/whitebox.js';
import { PAPER_CW } from '../../src/eval/paper.js';
import { fmt, mdTable, pct } from '../lib.js';
import { attackedModels } from './attacks.js';

const PAPER_IMAGES = 200;
const STRONG_IMAGES = 40;
const STRONG_MODELS = ['b64', 's64'];

export async function cwSuite(): Promise<{ markdown: string; data: unknown }> {
  const test = loadData().test;
  const rows: (string | number)[][] = [];
  const data = [];
  const l2 = (v: number | null | undefined) => (v === null || v === undefined ? '—' : fmt(v, 2));
  for (const { name, model } of attackedModels().filter((m) => !m.adversarial)) {
    const runs: [WhiteboxAttack, number][] = [['cw-paper', PAPER_IMAGES]];
    if (STRONG_MODELS.includes(name)) runs.push(['cw', STRONG_IMAGES]);
    for (const [attack, n] of runs) {
      process.stderr.write(`cw: ${name} ${attack} (${n} images)\n`);
      const t0 = performance.now();
      const r = await whiteboxEval(name, model, test, { attack, n, seed: 1 });
      const seconds = (performance.now() - t0) / 1000;
      const row = r.rows[0]!;
      // The paper's CW table has B and S (and B+, not shipped); its figures are for the paper's setting.
      const paper = attack === 'cw-paper' ? PAPER_CW[name[0]!.toUpperCase()]?.[64] : undefined;
      rows.push([
        name,
        attack === 'cw-paper' ? 'paper' : 'strong',
        n,
        pct(r.cleanRuntimeAccuracy, 1),
        pct(row.tfjsAccuracy, 1),
        pct(row.runtimeAccuracy, 1),
        pct(row.agreement, 1),
        l2(row.meanL2),
        l2(row.meanL2OfCorrect),
        paper ? `${paper.acc.mean} ± ${paper.acc.pm}% / ${paper.l2.mean} ± ${paper.l2.pm}` : '—',
        fmt(seconds, 0),
      ]);
      data.push({ ...r, seconds });
    }
  }
  const markdown =
    `Carlini–Wagner L2, untargeted, crafted on the tfjs graph rebuilt from each .bnn and replayed on the runtime. "paper": ${CW_PAPER.binarySteps} binary-search step from c = ${CW_PAPER.initialConst}, ${CW_PAPER.iterations} iterations at lr ${CW_PAPER.learningRate}, first ${PAPER_IMAGES} test images; "strong": ${CW_STRONG.binarySteps} binary-search steps from c = ${CW_STRONG.initialConst}, ${CW_STRONG.iterations} iterations each at lr ${CW_STRONG.learningRate}, first ${STRONG_IMAGES} test images. Mean L2 of successes over all of them (an image the model already misclassifies is a success near L2 = 0, as in Carlini & Wagner's code) and over the images the tfjs graph classified correctly before the attack. s64 resamples its weights at every pass, so its CW (one sample per step, no EOT) crafts against samples the runtime does not draw.\n\n` +
    mdTable(['model', 'CW', 'images', 'clean (runtime)', 'tfjs accuracy', 'runtime accuracy', 'agreement', 'mean L2, all successes', 'mean L2, clean-correct', 'paper (K=64): accuracy / mean L2', 'seconds'], rows);
  return { markdown, data };
}
