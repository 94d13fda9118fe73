/**
 * Clean accuracy of every shipped model on the 2,000 held-out test images: the checkpoint that
 * training produced, the tfjs graph rebuilt from the .bnn, the packed runtime, and the agreement
 * of the last two.
 */
import { basename } from 'node:path';
import { loadData } from '../../src/data/index.js';
import { listModels } from '../../src/eval/demo.js';
import { evaluateParity } from '../../src/eval/parity.js';
import { readManifest } from '../../src/format/manifest.js';
import { readModelFile } from '../../src/format/file.js';
import { mdTable, pct } from '../lib.js';
import { MODELS_DIR } from './size.js';

export async function paritySuite(): Promise<{ markdown: string; data: unknown }> {
  const data = loadData();
  const manifest = readManifest(MODELS_DIR);
  const rows: (string | number)[][] = [];
  const out = [];
  for (const p of listModels(MODELS_DIR)) {
    const name = basename(p, '.bnn');
    const r = await evaluateParity(name, readModelFile(p).model, data.test);
    const m = manifest.models.find((e) => e.file === `${name}.bnn`);
    out.push({ name, tfjs: r.tfjsAccuracy, runtime: r.runtimeAccuracy, agreement: r.agreement, disagreements: r.disagreements });
    rows.push([name, m ? `\`${m.training.command}\`` : '', m ? pct(m.testAccuracy.checkpoint) : '', pct(r.tfjsAccuracy), pct(r.runtimeAccuracy), pct(r.agreement, 2), String(r.disagreements.length)]);
  }
  const markdown =
    mdTable(['model', 'trained with', 'checkpoint (training graph)', 'tfjs (rebuilt from .bnn)', 'runtime', 'agreement', 'images that differ'], rows) +
    '\n\nThe rebuilt graph binarizes with the same folded thresholds as the runtime, so binary layers agree exactly; differences can only enter through float rounding in conv1 (XNNPACK vs the runtime\'s summation order) flipping a bit that sits on its threshold, and through the dense layer\'s float sums for near-tied logits. Model S samples its stochastic layer independently on each side, so its agreement measures sampling noise, not a defect.';
  return { markdown, data: out };
}
