/**
 * Clean accuracy after default training (`bnn-edge train --arch X --k 64`, nothing else) of A, B,
 * C and S, next to the paper's exact recipe (constant learning rate, no augmentation), on the
 * 2,000 held-out test images. Long (about 40 minutes on 2 cores): run it with --suite accuracy.
 */
import { loadData } from '../../src/data/index.js';
import { ARCHS, paperModel } from '../../src/model/presets.js';
import { train, TRAIN_DEFAULTS } from '../../src/train/train.js';
import { fmt, mdTable, pct } from '../lib.js';

const TARGETS: Record<string, number> = { A: 0.98, B: 0.97, C: 0.97, S: 0.95 };

export async function accuracySuite(): Promise<{ markdown: string; data: unknown }> {
  const data = loadData();
  const rows: (string | number)[][] = [];
  const out = [];
  for (const arch of ARCHS) {
    const def = await train({ graph: paperModel(arch, 64), data, progress: true });
    const paper = await train({ graph: paperModel(arch, 64), data, progress: true, lrSchedule: 'constant', augmentShift: 0 });
    const secs = def.history.reduce((a, h) => a + h.seconds, 0) / def.history.length;
    rows.push([`${arch}-64`, pct(def.testAccuracy), `${pct(TARGETS[arch]!, 0)}${def.testAccuracy >= TARGETS[arch]! ? ' ✓' : ' ✗'}`, pct(paper.testAccuracy), fmt(secs, 1)]);
    out.push({ arch, k: 64, defaultAccuracy: def.testAccuracy, paperRecipeAccuracy: paper.testAccuracy, target: TARGETS[arch], secondsPerEpoch: secs });
  }
  const markdown =
    mdTable(['model', `default training (${TRAIN_DEFAULTS.epochs} epochs, cosine, ±${TRAIN_DEFAULTS.augmentShift} px shifts)`, 'target', 'paper recipe (15 epochs, constant lr, no augmentation)', 's / epoch'], rows) +
    '\n\nSeed 1 for every run. Why below the paper\'s accuracies: the embedded set has 8,000 training images, not 60,000, so 15 epochs are ~940 optimizer steps instead of ~7,000, and the binary models overfit or underfit a set that small. Model B is hit hardest: its unscaled ReLU outputs (integers up to 3,200) feed the dense layer directly, so its logits are in the tens and Adam\'s fixed step makes them swing — which is why C scales them; longer training helps (the shipped models, trained 40 epochs, are in the parity section).';
  return { markdown, data: out };
}
