/**
 * The verdict's last step: a lower bound on ẑ_t − ẑ_k, the runtime's float32 logit of the true
 * class minus each other's, over the whole box. Positive for every k ≠ t means the runtime's
 * argmax (first largest, assembly/dense.ts) is t for every input in the box.
 *
 * Two bounds, the better one kept:
 * - independent: lo(ẑ_t) − hi(ẑ_k) from the logits' own ranges;
 * - through the last linear layer: when the logits are a per-class chain of muls and adds (bias,
 *   batch norm, scale; no ReLU) of a float dense layer or of a binary dense / 1×1-output binary
 *   conv, ẑ_j = c_j·S_j + d_j + e_j with S_j = Σᵢ xᵢ·W_ij the exact real sum over the head's input
 *   x, and |e_j| ≤ E_j the float32 error, bounded as in float.ts (the sum's margin, then u'·|v| +
 *   2⁻¹⁴⁹ per chain operation). Then ẑ_t − ẑ_k ≥ min over the box of Σᵢ xᵢ·(c_t W_it − c_k W_ik)
 *   + d_t − d_k − E_t − E_k, which keeps what the classes share (the same xᵢ) instead of letting
 *   each logit take its own worst case.
 */
import { wordsPerPixel } from '../format/layout.js';
import type { ChainStep, ExecutionPlan, PlanStep } from '../model/lower.js';
import type { ChainOp } from '../model/threshold.js';
import { bitRange, type AbstractValue, type BitsValue, type RangeValue } from './domain.js';
import { F32_TINY, F32_UNIT, monotone, sumErrorMargin } from './float.js';

/** u/(1 − u), slightly rounded up: |x·a − f32(x·a)| ≤ this · |f32(x·a)|. */
const UNIT = F32_UNIT * (1 + 2 ** -20);

/** The head's input as intervals, its weights W[i][j], and per class the start of the chain. */
interface LinearHead {
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /** W[i·classes + j]. */
  readonly weights: Float64Array;
  /** The head's float output (before the chain) per class, as computed bounds. */
  readonly base: RangeValue;
  /** Offset d_j and error E_j of the head's output before the chain. */
  readonly offset: Float64Array;
  readonly error: Float64Array;
  readonly ops: readonly ChainOp[];
}

function producer(plan: ExecutionPlan, value: number): PlanStep | undefined {
  return plan.steps.find((s) => s.output === value);
}

/** The linear head of the logits, if the plan ends in one (see the file's comment). */
function linearHead(plan: ExecutionPlan, values: readonly AbstractValue[]): LinearHead | null {
  let step = producer(plan, plan.output);
  let ops: readonly ChainOp[] = [];
  if (step?.op === 'chain') {
    if ((step as ChainStep).ops.some((o) => o.kind === 'relu')) return null;
    ops = step.ops;
    step = producer(plan, step.inputs[0]!);
  }
  const classes = plan.graph.classes;
  if (step?.op === 'dense') {
    const x = values[step.inputs[0]!];
    const base = values[step.output];
    if (x?.kind !== 'range' || base?.kind !== 'range') return null;
    const fin = x.lo.length;
    const error = new Float64Array(classes);
    for (let j = 0; j < classes; j++) {
      let mag = 0;
      for (let i = 0; i < fin; i++) mag += Math.max(Math.abs(x.lo[i]!), Math.abs(x.hi[i]!)) * Math.abs(step.weights[i * classes + j]!);
      error[j] = sumErrorMargin(fin, mag);
    }
    return { lo: x.lo, hi: x.hi, weights: Float64Array.from(step.weights), base, offset: new Float64Array(classes), error, ops };
  }
  if (step?.op !== 'accToF32') return null;
  const base = values[step.output];
  const conv = producer(plan, step.inputs[0]!);
  const acc = plan.values[step.inputs[0]!]!.acc;
  if (conv?.op !== 'bconv' || !conv.signWords || base?.kind !== 'range' || !acc || acc.mode === 'int8') return null;
  const x = values[conv.inputs[0]!];
  if (x?.kind !== 'bits') return null;
  return binaryHead(conv.signWords, conv.maskWords, conv.kh, conv.kw, x, base, classes, acc.n, ops, conv.correction);
}

/**
 * A binary head with a 1×1 output: y_j = n − 2P_j = Σ xᵢ·w_ij over the (padded) window, exact, or
 * for zero padding n − (2P_j + corr_j) = Σ xᵢ·w_ij − corr_j; with ternary weights (a mask) the
 * correction only counts the zero weights, so y_j = Σ xᵢ·w_ij with w_ij ∈ {−1, 0, +1}. Its float32
 * conversion is exact below 2²⁴.
 */
function binaryHead(signWords: Uint32Array, maskWords: Uint32Array | undefined, kh: number, kw: number, x: BitsValue, base: RangeValue, classes: number, n: number, ops: readonly ChainOp[], correction: Int32Array | undefined): LinearHead {
  const [, w, cin] = x.shape;
  const wpp = wordsPerPixel(cin);
  const fin = kh * kw * cin;
  const lo = new Float64Array(fin);
  const hi = new Float64Array(fin);
  const weights = new Float64Array(fin * classes);
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++)
      for (let ci = 0; ci < cin; ci++) {
        const i = (ky * kw + kx) * cin + ci;
        [lo[i], hi[i]] = bitRange(x, ky * w + kx, ci);
        for (let j = 0; j < classes; j++) {
          const word = ((j * kh + ky) * kw + kx) * wpp + (ci >> 5);
          weights[i * classes + j] = maskWords && !((maskWords[word]! >>> (ci & 31)) & 1) ? 0 : (signWords[word]! >>> (ci & 31)) & 1 ? -1 : 1;
        }
      }
  const offset = Float64Array.from({ length: classes }, (_, j) => (correction && !maskWords ? -correction[j]! : 0));
  const largest = n + (correction ? Math.max(...Array.from(correction, Math.abs)) : 0);
  const error = new Float64Array(classes).fill(largest > 2 ** 24 ? UNIT * largest : 0);
  return { lo, hi, weights, base, offset, error, ops };
}

/** Per class: the chain folded into ẑ_j = c_j·S_j + d_j ± E_j. */
function foldChain(head: LinearHead, classes: number): { c: Float64Array; d: Float64Array; e: Float64Array } {
  const c = new Float64Array(classes).fill(1);
  const d = Float64Array.from(head.offset);
  const e = Float64Array.from(head.error);
  for (let j = 0; j < classes; j++) {
    let lo = head.base.lo[j]!;
    let hi = head.base.hi[j]!;
    for (const op of head.ops) {
      if (op.kind === 'relu') throw new Error('unreachable: a head chain has no relu');
      const k = Math.fround(op.v[j]!);
      [lo, hi] = monotone(lo, hi, op.kind === 'mul' ? (v) => v * k : (v) => v + k);
      const m = Math.max(Math.abs(lo), Math.abs(hi));
      if (op.kind === 'mul') (c[j]! *= k), (d[j]! *= k), (e[j] = Math.abs(k) * e[j]! + UNIT * m + F32_TINY);
      else (d[j]! += k), (e[j] = e[j]! + UNIT * m + F32_TINY);
    }
  }
  return { c, d, e };
}

/**
 * The proven lower bound of min over k ≠ label of (ẑ_label − ẑ_k) over the box (> 0: verified),
 * and the class k where it is smallest.
 */
export function logitMargin(plan: ExecutionPlan, values: readonly AbstractValue[], label: number): { margin: number; against: number } {
  const classes = plan.graph.classes;
  const out = values[plan.output];
  if (out?.kind !== 'range') return { margin: -Infinity, against: -1 };
  const head = linearHead(plan, values);
  const fold = head ? foldChain(head, classes) : null;
  let margin = Infinity;
  let against = -1;
  for (let k = 0; k < classes; k++) {
    if (k === label) continue;
    // f64 subtraction of float32 ends keeps the sign of the real difference.
    let bound = out.lo[label]! - out.hi[k]!;
    if (head && fold) bound = Math.max(bound, headBound(head, fold, label, k, classes));
    if (bound < margin) (margin = bound), (against = k);
  }
  return { margin, against };
}

/** min over the box of ẑ_t − ẑ_k through the head (see the file's comment), with float64's own error allowed for. */
function headBound(head: LinearHead, fold: { c: Float64Array; d: Float64Array; e: Float64Array }, t: number, k: number, classes: number): number {
  let sum = 0;
  let mag = 0;
  const fin = head.lo.length;
  for (let i = 0; i < fin; i++) {
    const g = fold.c[t]! * head.weights[i * classes + t]! - fold.c[k]! * head.weights[i * classes + k]!;
    const l = head.lo[i]!;
    const h = head.hi[i]!;
    sum += Math.min(l * g, h * g);
    mag += Math.abs(g) * Math.max(Math.abs(l), Math.abs(h));
  }
  const rest = fold.d[t]! - fold.d[k]! - fold.e[t]! - fold.e[k]!;
  const slack = (fin + head.ops.length + 16) * 2 ** -50 * (mag + Math.abs(fold.d[t]!) + Math.abs(fold.d[k]!) + fold.e[t]! + fold.e[k]!) + 16 * F32_TINY;
  return sum + rest - slack;
}
