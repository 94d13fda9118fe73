/**
 * The exact encoding of "some input of the ε-ball is not classified `label`" for a model with a
 * binarized input, over its execution plan (model/lower.ts), as Boolean variables and reified
 * cardinality constraints y ⇔ [Σ literals ≥ k] — written once, solved by any ExactSolver.
 *
 * - Variables 0..inputs−1 are the *input* variables: per pixel whose u8 range straddles a cut of
 *   the first layer, one order variable per cut c, true ⇔ q ≥ c (q the pixel's u8 level), with
 *   q ≥ c' → q ≥ c for c < c' as hard clauses. A pixel with one mask channel has one cut: one
 *   free bit. Every first-layer bit is then a literal of one order variable, or a constant.
 * - Every other variable is the output of one constraint, defined after its inputs (topological
 *   order), so fixing the input variables fixes everything: a search over them is complete.
 * - A literal is 2·var + (1 if negated); a bit's literal is true when the bit is −1 (packed 1).
 *   Constants (bits fixed over the whole ball) are folded away as they arise.
 * - The goal: OR over classes k ≠ label of "ẑ_k beats ẑ_label" (beats: greater, or equal with a
 *   smaller index — the runtime's argmax keeps the first largest). The logits are float32 values
 *   of one integer each (the head's popcount), monotone in it, so "beats" is an upward-closed set
 *   of pairs of (oriented) counts: an OR of its corners, each the AND of two cardinality
 *   constraints. The float32 values are computed as the runtime computes them, so the comparison
 *   is exact — no float error enters the encoding.
 */
import { wordsPerPixel } from '../../format/layout.js';
import type { BconvStep, BitMaxPoolStep, BitPadStep, ChainStep, ExecutionPlan, PlanStep, QconvThresholdStep, ThresholdStep } from '../../model/lower.js';
import type { ChainOp } from '../../model/threshold.js';
import { quantizeU8 } from '../binary_steps.js';
import type { RangeValue } from '../domain.js';

/** A model or step the exact stage cannot encode exactly: the image stays with the other stages. */
export class NotEncodableError extends Error {
  override readonly name = 'NotEncodableError';
}

export const TRUE = -1;
export const FALSE = -2;
/** A literal (2·var + negated) or TRUE / FALSE. */
export type Lit = number;

export const neg = (l: Lit): Lit => (l === TRUE ? FALSE : l === FALSE ? TRUE : l ^ 1);
export const litVar = (l: Lit): number => l >> 1;

/** out ⇔ [Σ lits ≥ k], 1 ≤ k ≤ lits.length. */
export interface CardConstraint {
  readonly out: number;
  readonly lits: Int32Array;
  readonly k: number;
}

/** An order variable of the first layer: true ⇔ the pixel's u8 level is ≥ cut. */
export interface InputVar {
  readonly pixel: number;
  readonly cut: number;
}

export interface Encoding {
  readonly vars: number;
  /** Variables 0..inputs.length−1. */
  readonly inputs: readonly InputVar[];
  /** Per image pixel its u8 range over the ball. */
  readonly qlo: Int32Array;
  readonly qhi: Int32Array;
  /** In definition order. */
  readonly cards: readonly CardConstraint[];
  /** Clauses that must hold (the order of one pixel's cuts). */
  readonly clauses: readonly Int32Array[];
  /** Must be true: TRUE (every input is a counterexample), FALSE (none is: verified), or a literal. */
  readonly goal: Lit;
}

/** An accumulator element: off + scale·Σ lits. */
interface AccElement {
  readonly off: number;
  readonly scale: number;
  readonly lits: Lit[];
}

type Slot = { kind: 'bits'; lits: Int32Array } | { kind: 'acc'; elems: AccElement[] } | { kind: 'u8' };

class Builder {
  vars = 0;
  readonly inputs: InputVar[] = [];
  readonly cards: CardConstraint[] = [];
  readonly clauses: Int32Array[] = [];
  private readonly memo = new Map<string, Lit>();

  /** A literal equivalent to [Σ lits ≥ k], constants folded. */
  atLeast(lits: readonly Lit[], k: number): Lit {
    const free: Lit[] = [];
    for (const l of lits) {
      if (l === TRUE) k--;
      else if (l !== FALSE) free.push(l);
    }
    if (k <= 0) return TRUE;
    if (k > free.length) return FALSE;
    if (free.length === 1) return free[0]!;
    free.sort((a, b) => a - b);
    // Units reading the same literals with the same bound are one variable.
    const key = `${k}:${free.join(',')}`;
    const seen = this.memo.get(key);
    if (seen !== undefined) return seen;
    const out = this.vars++;
    this.cards.push({ out, lits: Int32Array.from(free), k });
    this.memo.set(key, 2 * out);
    return 2 * out;
  }
}

const idx = (shape: readonly number[], y: number, x: number, c: number) => (y * shape[1]! + x) * shape[2]! + c;

/** The plan's head: the bconv popcounts of the logits, the float chain after them. */
interface Head {
  readonly conv: BconvStep;
  readonly accMode: 'popcount' | 'doubled';
  readonly n: number;
  readonly ops: readonly ChainOp[];
  /** Steps before the head (the Boolean part). */
  readonly body: readonly PlanStep[];
}

function findHead(plan: ExecutionPlan): Head {
  const steps = plan.steps;
  let i = steps.length - 1;
  let ops: readonly ChainOp[] = [];
  let head = plan.output;
  if (steps[i]?.op === 'chain' && steps[i]!.output === head) {
    ops = (steps[i] as ChainStep).ops;
    head = steps[i--]!.inputs[0]!;
  }
  const toF32 = steps[i];
  if (toF32?.op !== 'accToF32' || toF32.output !== head) throw new NotEncodableError('the logits are not a binary layer with an optional per-class chain');
  const conv = steps[i - 1];
  const acc = plan.values[toF32.inputs[0]!]!.acc;
  if (conv?.op !== 'bconv' || conv.output !== toF32.inputs[0] || !acc || acc.mode === 'int8') throw new NotEncodableError('the logits do not come from a binary layer');
  return { conv, accMode: acc.mode, n: acc.n, ops, body: steps.slice(0, i - 1) };
}

/** The runtime's float32 logit of a head accumulator value (accToF32, then the chain). */
export function headLogit(head: { accMode: 'popcount' | 'doubled'; n: number; ops: readonly ChainOp[] }, cls: number, acc: number): number {
  let v = Math.fround(head.accMode === 'popcount' ? head.n - 2 * acc : head.n - acc);
  for (const op of head.ops) {
    if (op.kind === 'relu') v = v > 0 ? v : 0;
    else {
      const k = Math.fround(op.v[cls]!);
      v = Math.fround(op.kind === 'mul' ? v * k : v + k);
    }
  }
  return v;
}

/** Throws NotEncodableError if the plan is not one the exact stage handles (cheap; no image needed). */
export function checkEncodable(plan: ExecutionPlan): void {
  const head = findHead(plan);
  if (plan.stochastic) throw new NotEncodableError('stochastic weights are drawn at run time');
  for (const s of head.body) {
    if (s.op === 'qconvThreshold') {
      if (s.g.kh !== 1 || s.g.kw !== 1 || plan.values[s.inputs[0]!]!.shape[2] !== 1) throw new NotEncodableError(`${s.layer}: the exact stage needs a 1×1 first layer on a one-channel image (each bit a function of one pixel)`);
    } else if (s.op === 'threshold') {
      if (plan.values[s.inputs[0]!]!.form !== 'acc') throw new NotEncodableError(`${s.layer}: a threshold on floats`);
    } else if (!['quantizeU8', 'bitPad', 'bconv', 'bitMaxPool', 'flatten'].includes(s.op)) throw new NotEncodableError(`${s.layer}: ${s.op} is not a Boolean step`);
  }
  if (!head.body.some((s) => s.op === 'qconvThreshold')) throw new NotEncodableError('the model has no binarized input');
}

/**
 * The encoding for one image (its verification box) and label. Throws NotEncodableError for a
 * plan outside the exact stage's reach.
 */
export function encode(plan: ExecutionPlan, box: RangeValue, label: number): Encoding {
  checkEncodable(plan);
  const head = findHead(plan);
  const b = new Builder();
  const slots: Slot[] = [];
  const qlo = Int32Array.from(box.lo, quantizeU8);
  const qhi = Int32Array.from(box.hi, quantizeU8);
  for (const s of head.body) {
    const input = slots[s.inputs[0]!];
    const outShape = plan.values[s.output]!.shape;
    switch (s.op) {
      case 'quantizeU8':
        slots[s.output] = { kind: 'u8' };
        break;
      case 'qconvThreshold':
        slots[s.output] = { kind: 'bits', lits: firstLayer(b, s, plan.values[s.inputs[0]!]!.shape, outShape, qlo, qhi) };
        break;
      case 'bitPad':
        slots[s.output] = { kind: 'bits', lits: pad(s, bitsOf(input, s), plan.values[s.inputs[0]!]!.shape, outShape) };
        break;
      case 'bconv':
        slots[s.output] = { kind: 'acc', elems: bconv(s, bitsOf(input, s), plan.values[s.inputs[0]!]!.shape, outShape) };
        break;
      case 'threshold':
        slots[s.output] = { kind: 'bits', lits: threshold(b, s, accOf(input, s), outShape[2]) };
        break;
      case 'bitMaxPool':
        slots[s.output] = { kind: 'bits', lits: maxPool(b, s, bitsOf(input, s), plan.values[s.inputs[0]!]!.shape, outShape) };
        break;
      case 'flatten':
        // Same elements, same (h, w, c) order.
        if (!input) throw new NotEncodableError(`${s.layer}: flatten of an unknown value`);
        slots[s.output] = input;
        break;
      default:
        throw new NotEncodableError(`${s.layer}: ${s.op} is not a Boolean step`);
    }
  }
  const logits = bconv(head.conv, bitsOf(slots[head.conv.inputs[0]!], head.conv), plan.values[head.conv.inputs[0]!]!.shape, plan.values[head.conv.output]!.shape);
  const beats: Lit[] = [];
  for (let k = 0; k < plan.graph.classes; k++) if (k !== label) beats.push(classBeats(b, head, logits, label, k));
  const goal = b.atLeast(beats, 1);
  return { vars: b.vars, inputs: b.inputs, qlo, qhi, cards: b.cards, clauses: b.clauses, goal };
}

function bitsOf(v: Slot | undefined, s: PlanStep): Int32Array {
  if (v?.kind !== 'bits') throw new NotEncodableError(`${s.layer}: expected bits`);
  return v.lits;
}
function accOf(v: Slot | undefined, s: PlanStep): AccElement[] {
  if (v?.kind !== 'acc') throw new NotEncodableError(`${s.layer}: expected an accumulator`);
  return v.elems;
}

/**
 * 1×1 int8 conv on the one-channel u8 image, then the threshold: bit o of a pixel is −1 iff not
 * (flip ? w·q ≤ thr : w·q ≥ thr), a monotone function of q. Its cut points in the pixel's range
 * become order variables (see the file's comment).
 */
function firstLayer(b: Builder, s: QconvThresholdStep, inShape: readonly number[], outShape: readonly number[], qlo: Int32Array, qhi: Int32Array): Int32Array {
  const [oh, ow, cout] = outShape as [number, number, number];
  const [h, w] = inShape as [number, number];
  const lits = new Int32Array(oh * ow * cout);
  const minusAt = (o: number, q: number) => {
    const a = s.weightsI8[o]! * q;
    const t = s.thr[o]!;
    return !(s.flip[o] ? a <= t : a >= t);
  };
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++) {
      const y = oy * s.g.sh - s.g.padTop;
      const x = ox * s.g.sw - s.g.padLeft;
      const inside = y >= 0 && y < h && x >= 0 && x < w;
      const p = inside ? y * w + x : -1;
      const lo = inside ? qlo[p]! : 0;
      const hi = inside ? qhi[p]! : 0;
      // Each channel: constant on [lo, hi], or one cut c (the bit differs on [lo, c) and [c, hi]).
      const cuts = new Map<number, number>();
      for (let o = 0; o < cout; o++) {
        const first = minusAt(o, lo);
        let cut = -1;
        for (let q = lo + 1; q <= hi; q++)
          if (minusAt(o, q) !== first) {
            cut = q;
            break;
          }
        const at = idx(outShape, oy, ox, o);
        if (cut < 0) {
          lits[at] = first ? TRUE : FALSE;
          continue;
        }
        let v = cuts.get(cut);
        if (v === undefined) {
          v = b.vars++;
          b.inputs.push({ pixel: p, cut });
          cuts.set(cut, v);
        }
        // bit −1 ⇔ (q ≥ cut) when it is −1 above the cut, else ⇔ (q < cut).
        lits[at] = 2 * v + (first ? 1 : 0);
      }
      const order = [...cuts.entries()].sort((a, c) => a[0] - c[0]);
      for (let j = 1; j < order.length; j++) b.clauses.push(Int32Array.of(2 * order[j - 1]![1], 2 * order[j]![1] + 1)); // q ≥ c_j → q ≥ c_{j−1}
    }
  if (b.inputs.length !== b.vars) throw new NotEncodableError(`${s.layer}: a second binarized input layer`);
  return lits;
}

function pad(s: BitPadStep, input: Int32Array, inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const [h, w, c] = inShape as [number, number, number];
  const out = new Int32Array(outShape[0]! * outShape[1]! * c).fill(FALSE);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) out[idx(outShape, y + s.pads.top, x + s.pads.left, ch)] = input[idx(inShape, y, x, ch)]!;
  return out;
}

/** XOR-popcount (VALID on its padded input; ternary: over the nonzero weights): per unit off + scale·Σ mismatch literals. */
function bconv(s: BconvStep, input: Int32Array, inShape: readonly number[], outShape: readonly number[]): AccElement[] {
  if (!s.signWords) throw new NotEncodableError(`${s.layer}: stochastic weights`);
  const cin = inShape[2]!;
  const wpp = wordsPerPixel(cin);
  const [oh, ow, cout] = outShape as [number, number, number];
  const out: AccElement[] = [];
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let o = 0; o < cout; o++) {
        let fixed = 0;
        const lits: Lit[] = [];
        for (let ky = 0; ky < s.kh; ky++)
          for (let kx = 0; kx < s.kw; kx++)
            for (let ci = 0; ci < cin; ci++) {
              const word = ((o * s.kh + ky) * s.kw + kx) * wpp + (ci >> 5);
              // A ternary weight of 0 counts nowhere (its tap is in the correction).
              if (s.maskWords && !((s.maskWords[word]! >>> (ci & 31)) & 1)) continue;
              const wbit = (s.signWords[word]! >>> (ci & 31)) & 1;
              const l = input[idx(inShape, oy * s.sh + ky, ox * s.sw + kx, ci)]!;
              const mismatch = wbit ? neg(l) : l;
              if (mismatch === TRUE) fixed++;
              else if (mismatch !== FALSE) lits.push(mismatch);
            }
        const i = (oy * ow + ox) * cout + o;
        const scale = s.correction ? 2 : 1;
        out[i] = { off: scale * fixed + (s.correction ? s.correction[i]! : 0), scale, lits };
      }
  return out;
}

/** Accumulator threshold: the bit is −1 iff not (flip ? acc ≥ thr : acc ≤ thr). */
function threshold(b: Builder, s: ThresholdStep, input: AccElement[], c: number): Int32Array {
  return Int32Array.from(input, (e, i) => {
    const t = s.thr[i % c]!;
    const r = (t - e.off) / e.scale;
    // not flip: −1 ⇔ acc > t ⇔ S ≥ ⌊r⌋ + 1; flip: −1 ⇔ acc < t ⇔ S ≤ ⌈r⌉ − 1 ⇔ Σ ¬lits ≥ m − ⌈r⌉ + 1.
    if (!s.flip[i % c]) return b.atLeast(e.lits, Math.floor(r) + 1);
    return b.atLeast(e.lits.map(neg), e.lits.length - Math.ceil(r) + 1);
  });
}

/** Max of ±1 (AND of the −1 literals) where orMask is 0, min (OR) where 1, over the taps inside the input. */
function maxPool(b: Builder, s: BitMaxPoolStep, input: Int32Array, inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const [h, w, c] = inShape as [number, number, number];
  const [oh, ow] = outShape as [number, number];
  const out = new Int32Array(oh * ow * c);
  const g = s.g;
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let ch = 0; ch < c; ch++) {
        const taps: Lit[] = [];
        for (let ky = 0; ky < g.kh; ky++)
          for (let kx = 0; kx < g.kw; kx++) {
            const y = oy * g.sh - g.padTop + ky;
            const x = ox * g.sw - g.padLeft + kx;
            if (y >= 0 && y < h && x >= 0 && x < w) taps.push(input[idx(inShape, y, x, ch)]!);
          }
        const or = (s.orMask[ch >> 5]! >>> (ch & 31)) & 1;
        out[idx(outShape, oy, ox, ch)] = b.atLeast(taps, or ? 1 : taps.length);
      }
  return out;
}

/**
 * "ẑ_k beats ẑ_t" over the head's counts S_t, S_k (acc_j = off_j + scale·S_j): with the counts
 * oriented so that a larger A lowers ẑ_t and a larger B raises ẑ_k, the set of (A, B) where k
 * beats t is upward closed: an OR over its minimal corners (a, b) of [A ≥ a] ∧ [B ≥ b].
 */
function classBeats(b: Builder, head: Head, logits: AccElement[], t: number, k: number): Lit {
  const table = (j: number) => Array.from({ length: logits[j]!.lits.length + 1 }, (_, s) => headLogit(head, j, logits[j]!.off + logits[j]!.scale * s));
  const zt = table(t);
  const zk = table(k);
  for (const z of [zt, zk]) if (z.some((v) => !Number.isFinite(v))) throw new NotEncodableError('a logit is not finite');
  const tFalls = zt[zt.length - 1]! <= zt[0]!;
  const kRises = zk[zk.length - 1]! >= zk[0]!;
  const monotone = (z: number[], up: boolean) => z.every((v, i) => i === 0 || (up ? v >= z[i - 1]! : v <= z[i - 1]!));
  if (!monotone(zt, !tFalls) || !monotone(zk, kRises)) throw new NotEncodableError('a logit is not monotone in its count');
  // A: the count that lowers ẑ_t as it grows; zA[a] = ẑ_t at A = a. Likewise B for ẑ_k.
  const litsA = tFalls ? logits[t]!.lits : logits[t]!.lits.map(neg);
  const litsB = kRises ? logits[k]!.lits : logits[k]!.lits.map(neg);
  const zA = tFalls ? zt : [...zt].reverse();
  const zB = kRises ? zk : [...zk].reverse();
  const wins = (zb: number, za: number) => zb > za || (zb === za && k < t);
  const corners: Lit[] = [];
  let bestB = zB.length; // the smallest b that wins at the previous a
  for (let a = 0; a < zA.length && bestB > 0; a++) {
    let bmin = bestB;
    while (bmin > 0 && wins(zB[bmin - 1]!, zA[a]!)) bmin--;
    if (bmin === bestB) continue;
    // Everything from bmin up wins at a (monotone); a new corner.
    bestB = bmin;
    corners.push(b.atLeast([b.atLeast(litsA, a), b.atLeast(litsB, bmin)], 2));
  }
  return b.atLeast(corners, 1);
}
