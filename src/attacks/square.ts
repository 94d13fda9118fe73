/**
 * Square Attack, L∞ (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020): a score-based random
 * search that needs no gradient. It starts from vertical stripes of ±ε and, query after query,
 * proposes to set one random square window to ±ε (one sign per channel), keeping the proposal
 * when the margin z_y − max_{j≠y} z_j drops. The window's area is a share p of the image that
 * halves on a fixed schedule of iterations: AutoAttack's standard ensemble runs it as written for
 * 10,000 queries even with a 5,000-query budget (`resc_schedule=False`), and so does this by default;
 * the Square paper's own code rescales it to the budget (`rescaleSchedule`).
 *
 * Here it queries the packed runtime's logits directly — the deployed artifact, with no tfjs
 * graph and no straight-through estimate between attacker and model — through a counted
 * ScoreOracle, so a binarized network's sign functions cannot mask anything from it. Every query
 * is one image through the oracle; an image never costs more than the budget.
 */
import type { BnnRuntime } from '../runtime/index.js';
import type { Shape3 } from '../model/graph.js';
import { Rng } from '../util/rng.js';
import { exactLinfBox, linfNorms } from './box.js';
import { geometryOf } from './batch.js';
import { QueryBudgetExceeded, type ModelShape } from './model.js';

/** A model's logits, counted: what a score-based (black-box) attack may ask of it. */
export interface ScoreOracle extends ModelShape {
  /** Logits [n][classes] of n images (n × H·W·C pixels in [0, 1]). */
  logits(images: Float32Array, n: number): Float32Array;
  /** Images scored so far. */
  readonly queries: number;
}

/** Counts images and enforces a budget around a logits function it keeps private. */
export class CountedScoreOracle implements ScoreOracle {
  #logits: (images: Float32Array, n: number) => Float32Array;
  #queries = 0;
  #budget: number;

  constructor(logits: (images: Float32Array, n: number) => Float32Array, budget: number, readonly inputShape: Shape3, readonly classes: number) {
    this.#logits = logits;
    this.#budget = budget;
  }

  logits(images: Float32Array, n: number): Float32Array {
    if (this.#queries + n > this.#budget) throw new QueryBudgetExceeded(this.#budget);
    this.#queries += n;
    return this.#logits(images, n);
  }

  get queries(): number {
    return this.#queries;
  }
}

/** The packed runtime's logits as a counted oracle; the runtime itself stays private. */
export class RuntimeScoreOracle extends CountedScoreOracle {
  constructor(rt: BnnRuntime, budget = Infinity) {
    super((images, n) => rt.logits(images, n), budget, rt.model.graph.input, rt.model.graph.classes);
  }
}

export interface SquareOptions {
  readonly eps: number;
  /** Queries per image, the initial stripes included. Default 5000 (AutoAttack's standard). */
  readonly queries?: number;
  /** Initial share of the image a window covers. Default 0.8. */
  readonly pInit?: number;
  /** Stretch p's schedule to the query budget (the Square paper's default) instead of AutoAttack's fixed one. Default false. */
  readonly rescaleSchedule?: boolean;
  readonly seed?: number;
  readonly bounds?: readonly [number, number];
  /** Called after each round of queries with the images still being attacked. */
  readonly onProgress?: (queriesSoFar: number, active: number) => void;
}

export interface SquareOutcome {
  /** The lowest-margin image found per image (the fooling one where the attack succeeded). */
  readonly adversarial: Float32Array;
  /** 1 where the oracle's argmax (first maximum, as the runtime's predict) left the label. */
  readonly success: Uint8Array;
  /** Queries spent on each image (≤ the budget). */
  readonly queries: Int32Array;
  /** Query (1-based) at which each image was first fooled; 0 if never. */
  readonly firstSuccess: Int32Array;
  /** Final margin z_y − max_{j≠y} z_j per image. */
  readonly margin: Float32Array;
  readonly linf: Float64Array;
}

/** The window's share p at iteration `it`: the schedule of 10,000 iterations, stretched to `budget` when `rescale`. */
export function squareShare(pInit: number, it: number, budget: number, rescale = false): number {
  const i = rescale ? Math.floor((it / budget) * 10000) : it;
  const halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000].filter((t) => i > t).length;
  return pInit / 2 ** halvings;
}

/** Margin and whether the first-maximum argmax differs from y, for one row of logits. */
function score(z: Float32Array, y: number): { margin: number; fooled: boolean } {
  let arg = 0;
  let other = -Infinity;
  for (let j = 0; j < z.length; j++) {
    if (z[j]! > z[arg]!) arg = j;
    if (j !== y) other = Math.max(other, z[j]!);
  }
  return { margin: z[y]! - other, fooled: arg !== y };
}

export function squareAttack(oracle: ScoreOracle, images: Float32Array, labels: Uint8Array, o: SquareOptions): SquareOutcome {
  const n = labels.length;
  const { px, shape, classes } = geometryOf(oracle, images, n);
  const [H, W, C] = shape;
  const budget = o.queries ?? 5000;
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`Square needs a query budget of at least 1 per image, got ${budget}`);
  const box = exactLinfBox(images, o.eps, o.bounds);
  const rng = new Rng(o.seed ?? 0);
  const sign = () => (rng.next() < 0.5 ? -1 : 1);
  // Clipping x + 2ε·sign into the box lands on a face of it: the bound itself, exactly.
  const face = (q: number, s: number) => (s > 0 ? box.upper[q]! : box.lower[q]!);
  const best = new Float32Array(images.length);
  for (let i = 0; i < n; i++)
    for (let w = 0; w < W; w++)
      for (let c = 0; c < C; c++) {
        const s = sign();
        for (let h = 0; h < H; h++) best[i * px + (h * W + w) * C + c] = face(i * px + (h * W + w) * C + c, s);
      }
  const queries = new Int32Array(n);
  const firstSuccess = new Int32Array(n);
  const margin = new Float32Array(n);
  const success = new Uint8Array(n);
  const absorb = (i: number, z: Float32Array): boolean => {
    queries[i]!++;
    const r = score(z, labels[i]!);
    if (r.fooled) (success[i] = 1), (firstSuccess[i] = queries[i]!);
    if (r.fooled || r.margin < margin[i]!) {
      margin[i] = r.margin;
      return true;
    }
    return false;
  };
  margin.fill(Infinity);
  const z0 = oracle.logits(best, n);
  for (let i = 0; i < n; i++) absorb(i, z0.subarray(i * classes, (i + 1) * classes));
  const side = Math.max(Math.min(H, W) - 1, 1);
  for (let it = 0; ; it++) {
    const active: number[] = [];
    for (let i = 0; i < n; i++) if (!success[i] && queries[i]! < budget) active.push(i);
    o.onProgress?.(it + 1, active.length);
    if (!active.length) break;
    const s = Math.min(Math.max(Math.round(Math.sqrt(squareShare(o.pInit ?? 0.8, it, budget, o.rescaleSchedule ?? false) * H * W)), 1), side);
    const proposals = new Float32Array(active.length * px);
    active.forEach((i, k) => {
      const cand = proposals.subarray(k * px, (k + 1) * px);
      cand.set(best.subarray(i * px, (i + 1) * px));
      // Redraw (a few times) a window that would change nothing: a query must propose something new.
      for (let tries = 0, changed = false; !changed && tries < 10; tries++) {
        const vh = rng.int(Math.max(H - s, 1));
        const vw = rng.int(Math.max(W - s, 1));
        for (let c = 0; c < C; c++) {
          const sg = sign();
          for (let h = vh; h < Math.min(vh + s, H); h++)
            for (let w = vw; w < Math.min(vw + s, W); w++) {
              const q = (h * W + w) * C + c;
              const v = face(i * px + q, sg);
              if (v !== cand[q]) (changed = true), (cand[q] = v);
            }
        }
      }
    });
    const z = oracle.logits(proposals, active.length);
    active.forEach((i, k) => {
      if (absorb(i, z.subarray(k * classes, (k + 1) * classes))) best.set(proposals.subarray(k * px, (k + 1) * px), i * px);
    });
  }
  return { adversarial: best, success, queries, firstSuccess, margin, linf: linfNorms(best, images, n) };
}
