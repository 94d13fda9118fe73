/**
 * Counterexamples for the images the bounds did not settle: a quick attack, then a replay on the
 * runtime. Only an input the runtime misclassifies, inside the ε-ball bit for bit, counts; an
 * attack that fools the tfjs graph but not the runtime is reported as such.
 *
 * - `pgd`: L∞ PGD with the cross-entropy direction on the tfjs graph rebuilt from the .bnn
 *   (attacks/whitebox.ts; tfjs is loaded only when this runs), then the random search below on
 *   what it did not break.
 * - `random`: box corners drawn at random (and the box's two extreme corners), on the runtime.
 * - `none`: no search; unsettled images stay unknown.
 */
import type { BnnModel } from '../format/model.js';
import type { BnnRuntime } from '../runtime/index.js';
import { clipInto, exactLinfBox } from '../attacks/box.js';
import type { Labels } from '../attacks/model.js';
import { Rng } from '../util/rng.js';

export type CounterexampleSearch = 'pgd' | 'random' | 'none';
export const COUNTEREXAMPLE_SEARCHES: readonly CounterexampleSearch[] = ['pgd', 'random', 'none'];

export interface SearchOptions {
  readonly search: CounterexampleSearch;
  readonly eps: number;
  /** PGD iterations (default 20) and random corners per image (default 32). */
  readonly steps?: number;
  readonly corners?: number;
  readonly seed?: number;
}

export interface SearchOutcome {
  /** Per attacked image (by position in the batch): a runtime-confirmed counterexample, or null. */
  readonly found: (Float32Array | null)[];
  /** Per image: the attack fooled the tfjs graph but the runtime classified its input correctly (and nothing else was found). */
  readonly notReplayed: boolean[];
}

/** Searches the n images for counterexamples (images [n][px], labels their true classes). */
export async function searchCounterexamples(model: BnnModel, rt: BnnRuntime, images: Float32Array, labels: Labels, o: SearchOptions): Promise<SearchOutcome> {
  const n = labels.length;
  const found: (Float32Array | null)[] = new Array<Float32Array | null>(n).fill(null);
  const notReplayed = new Array<boolean>(n).fill(false);
  if (o.search === 'none' || n === 0) return { found, notReplayed };
  const px = images.length / n;
  const box = exactLinfBox(images, o.eps);
  if (o.search === 'pgd' && o.eps > 0) {
    const adversarial = await pgdImages(model, images, labels, o);
    clipInto(adversarial.images, box);
    const predicted = rt.predict(adversarial.images, n);
    for (let i = 0; i < n; i++) {
      if (predicted[i] !== labels[i]) found[i] = adversarial.images.slice(i * px, (i + 1) * px);
      else if (adversarial.fooledTfjs[i]) notReplayed[i] = true;
    }
  }
  const rng = new Rng(o.seed ?? 0);
  const corners = Math.max(2, o.corners ?? 32);
  for (let i = 0; i < n; i++) {
    if (found[i]) continue;
    const batch = new Float32Array(corners * px);
    for (let c = 0; c < corners; c++)
      for (let p = 0; p < px; p++) {
        // Corner 0 is the box's lower corner, 1 its upper; the rest are random.
        const up = c === 0 ? false : c === 1 ? true : rng.next() < 0.5;
        batch[c * px + p] = up ? box.upper[i * px + p]! : box.lower[i * px + p]!;
      }
    const predicted = rt.predict(batch, corners);
    const hit = predicted.findIndex((l) => l !== labels[i]);
    if (hit >= 0) (found[i] = batch.slice(hit * px, (hit + 1) * px)), (notReplayed[i] = false);
  }
  return { found, notReplayed };
}

/** PGD on the tfjs graph rebuilt from the model: step 2.5·ε/steps, one random start. */
async function pgdImages(model: BnnModel, images: Float32Array, labels: Labels, o: SearchOptions): Promise<{ images: Float32Array; fooledTfjs: Uint8Array }> {
  const [{ initTfjs }, { DeployedGraph }, { pgd }] = await Promise.all([import('../tfjs/backend.js'), import('../model/tfjs/deployed.js'), import('../attacks/whitebox.js')]);
  await initTfjs();
  const graph = new DeployedGraph(model, o.seed ?? 0);
  try {
    const steps = o.steps ?? 20;
    const out = pgd(graph, images, labels, { eps: o.eps, step: (2.5 * o.eps) / steps, steps, randomStart: true, seed: o.seed ?? 0 });
    return { images: out.adversarial, fooledTfjs: out.success };
  } finally {
    graph.dispose();
  }
}
