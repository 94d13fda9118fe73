/**
 * Our own exact solver: a DPLL search over the input variables with native propagation of
 * reified cardinality constraints (EEV's idea, without its clause learning).
 *
 * Every constraint out ⇔ [Σ lits ≥ k] keeps counters of its literals fixed true and fixed false.
 * Forward: k true ⇒ out; more than n − k false ⇒ ¬out — the interval bounds of the verifier,
 * recomputed under the current partial assignment, so they prune each branch. Backward: out with
 * exactly k literals still possible ⇒ all of them; ¬out with k − 1 true ⇒ the rest false. The
 * search branches only on the input variables: once they are all set, forward propagation fixes
 * every other variable (they are defined in topological order), so the search is complete.
 *
 * Chronological backtracking can stay stuck deep in one corner of the tree while a counterexample
 * lies elsewhere, so the search restarts after a number of conflicts that follows the Luby
 * sequence (2048 × 1, 1, 2, 1, 1, 2, 4, …), each time with perturbed phases (a seeded generator:
 * runs repeat), unless the inputs are few. The limits grow without bound, so the search stays
 * complete.
 */
import type { Encoding } from './encode.js';
import { TRUE, FALSE } from './encode.js';
import type { ExactSolver, SolveOutcome, SolveRequest } from './solver.js';

const UNSET = -1;

/** An encoding as flat arrays (clauses as constraints with k = 1 whose outputs are asserted true), for the TS and wasm searches. */
export interface CardinalityLayout {
  readonly vars: number;
  readonly cardOut: Int32Array;
  readonly cardK: Int32Array;
  readonly cardStart: Int32Array;
  readonly cardLits: Int32Array;
  /** Per variable: entries 2·card + negated of its occurrences as an input literal. */
  readonly occStart: Int32Array;
  readonly occ: Int32Array;
  /** Per variable: the constraint defining it, or −1. */
  readonly defCard: Int32Array;
  /** Literals asserted true: the clauses' outputs and the goal. */
  readonly roots: Int32Array;
}

export function cardinalityLayout(enc: Encoding): CardinalityLayout {
  const cards = [...enc.cards, ...enc.clauses.map((lits, i) => ({ out: enc.vars + i, lits, k: 1 }))];
  const vars = enc.vars + enc.clauses.length;
  const m = cards.length;
  const cardStart = new Int32Array(m + 1);
  cards.forEach((c, i) => (cardStart[i + 1] = cardStart[i]! + c.lits.length));
  const cardLits = new Int32Array(cardStart[m]!);
  cards.forEach((c, i) => cardLits.set(c.lits, cardStart[i]!));
  const defCard = new Int32Array(vars).fill(-1);
  cards.forEach((c, i) => (defCard[c.out] = i));
  const counts = new Int32Array(vars + 1);
  for (const l of cardLits) counts[(l >> 1) + 1]!++;
  for (let v = 0; v < vars; v++) counts[v + 1]! += counts[v]!;
  const occStart = counts.slice();
  const occ = new Int32Array(cardLits.length);
  const fill = counts.slice();
  for (let c = 0; c < m; c++) for (let j = cardStart[c]!; j < cardStart[c + 1]!; j++) occ[fill[cardLits[j]! >> 1]!++] = 2 * c + (cardLits[j]! & 1);
  const roots = enc.clauses.map((_, i) => 2 * (enc.vars + i));
  if (enc.goal !== TRUE) roots.push(enc.goal);
  return { vars, cardOut: Int32Array.from(cards, (c) => c.out), cardK: Int32Array.from(cards, (c) => c.k), cardStart, cardLits, occStart, occ, defCard, roots: Int32Array.from(roots) };
}

/** Conflicts before the first restart; later limits are this times the Luby sequence. */
export const RESTART_UNIT = 2048;
/**
 * Up to this many input variables the search does not restart: its whole tree is small, so it
 * cannot stay stuck for long, while restarts would make a proof redo its work (4× on 14 inputs).
 */
export const NO_RESTART_INPUTS = 16;

/** The restart unit for an encoding with this many input variables (0: never restart). */
export function defaultRestartUnit(inputs: number): number {
  return inputs <= NO_RESTART_INPUTS ? 0 : RESTART_UNIT;
}

/** The i-th term (1-based) of the Luby sequence 1, 1, 2, 1, 1, 2, 4, … */
export function luby(i: number): number {
  for (;;) {
    let k = 1;
    while ((1 << k) - 1 < i) k++;
    if ((1 << k) - 1 === i) return 1 << (k - 1);
    i -= (1 << (k - 1)) - 1;
  }
}

/** xorshift32: the perturbations of a restart (the same in the wasm build). */
export function nextRandom(state: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
}

/**
 * A restart's phases: each flipped back towards the image with probability 1/4. (The order stays:
 * phases do not matter to a proof, which visits both values; the order does.)
 */
export function perturb(first: Uint8Array, base: Uint8Array, seed: number): number {
  let r = seed;
  for (let v = 0; v < first.length; v++) {
    r = nextRandom(r);
    first[v] = (r & 3) === 0 ? 1 - base[v]! : base[v]!;
  }
  return r;
}

/** Decisions: most-read input variable first; the value away from the image first. */
export function decisionOrder(layout: CardinalityLayout, inputs: number, center: Uint8Array | undefined): { order: Int32Array; first: Uint8Array } {
  const reads = (v: number) => layout.occStart[v + 1]! - layout.occStart[v]!;
  const order = Int32Array.from({ length: inputs }, (_, v) => v).sort((a, b) => reads(b) - reads(a));
  return { order, first: Uint8Array.from({ length: inputs }, (_, v) => (center ? 1 - center[v]! : 1)) };
}

/** The search state over one encoding. */
class CardinalitySearch {
  readonly val: Int8Array;
  private readonly cardOut: Int32Array;
  private readonly cardK: Int32Array;
  private readonly cardStart: Int32Array;
  private readonly cardLits: Int32Array;
  private readonly trueCount: Int32Array;
  private readonly falseCount: Int32Array;
  private readonly occStart: Int32Array;
  private readonly occ: Int32Array;
  private readonly defCard: Int32Array;
  readonly trail: number[] = [];
  private queue = 0;

  constructor(layout: CardinalityLayout) {
    ({ cardOut: this.cardOut, cardK: this.cardK, cardStart: this.cardStart, cardLits: this.cardLits, occStart: this.occStart, occ: this.occ, defCard: this.defCard } = layout);
    this.val = new Int8Array(layout.vars).fill(UNSET);
    this.trueCount = new Int32Array(layout.cardK.length);
    this.falseCount = new Int32Array(layout.cardK.length);
  }

  /** Makes literal l true; false on a contradiction. Counters move at assignment. */
  assign(l: number): boolean {
    const v = l >> 1;
    const value = 1 - (l & 1);
    const cur = this.val[v]!;
    if (cur !== UNSET) return cur === value;
    this.val[v] = value;
    this.trail.push(v);
    for (let j = this.occStart[v]!; j < this.occStart[v + 1]!; j++) {
      const e = this.occ[j]!;
      if ((e & 1) !== value) this.trueCount[e >> 1]!++;
      else this.falseCount[e >> 1]!++;
    }
    return true;
  }

  /** Undoes assignments back to trail length `to`. */
  undo(to: number): void {
    while (this.trail.length > to) {
      const v = this.trail.pop()!;
      const value = this.val[v]!;
      this.val[v] = UNSET;
      for (let j = this.occStart[v]!; j < this.occStart[v + 1]!; j++) {
        const e = this.occ[j]!;
        if ((e & 1) !== value) this.trueCount[e >> 1]!--;
        else this.falseCount[e >> 1]!--;
      }
    }
    this.queue = Math.min(this.queue, to);
  }

  /** Propagates every assignment not yet looked at; false on a conflict. */
  propagate(): boolean {
    while (this.queue < this.trail.length) {
      const v = this.trail[this.queue++]!;
      for (let j = this.occStart[v]!; j < this.occStart[v + 1]!; j++) if (!this.check(this.occ[j]! >> 1)) return false;
      const d = this.defCard[v]!;
      if (d >= 0 && !this.check(d)) return false;
    }
    return true;
  }

  private check(c: number): boolean {
    const out = this.cardOut[c]!;
    const k = this.cardK[c]!;
    const n = this.cardStart[c + 1]! - this.cardStart[c]!;
    const t = this.trueCount[c]!;
    const possible = n - this.falseCount[c]!;
    const o = this.val[out]!;
    if (t >= k) return this.assign(2 * out);
    if (possible < k) return this.assign(2 * out + 1);
    if (o === 1 && possible === k) return this.forceUnset(c, true);
    if (o === 0 && t === k - 1) return this.forceUnset(c, false);
    return true;
  }

  /** Sets every unset literal of constraint c to `value`. */
  private forceUnset(c: number, value: boolean): boolean {
    for (let j = this.cardStart[c]!; j < this.cardStart[c + 1]!; j++) {
      const l = this.cardLits[j]!;
      if (this.val[l >> 1] === UNSET && !this.assign(value ? l : l ^ 1)) return false;
    }
    return true;
  }
}

/** Runs the search; decisions only on input variables, most-read first, away from the image first. */
export function solveCardinality(request: SolveRequest): SolveOutcome {
  const { encoding: enc, deadline, center } = request;
  const restartUnit = request.restartUnit ?? defaultRestartUnit(enc.inputs.length);
  if (enc.goal === FALSE) return { status: 'unsat' };
  const inputs = enc.inputs.length;
  if (enc.goal === TRUE && enc.clauses.length === 0) return { status: 'sat', inputs: center ? Uint8Array.from(center) : new Uint8Array(inputs) };
  const layout = cardinalityLayout(enc);
  const s = new CardinalitySearch(layout);
  for (const l of layout.roots) if (!s.assign(l)) return { status: 'unsat' };
  const { order, first: base } = decisionOrder(layout, inputs, center);
  const firstValue = base.slice();
  const first = (v: number) => firstValue[v]!;
  let stack: { v: number; mark: number; flipped: boolean }[] = [];
  const root = s.trail.length;
  let steps = 0;
  let restarts = 0;
  let conflicts = 0;
  let random = 0x9e3779b9;
  for (;;) {
    if ((++steps & 255) === 0 && performance.now() > deadline) return { status: 'timeout' };
    if (!s.propagate()) {
      if (++conflicts >= restartUnit * luby(restarts + 1) && restartUnit > 0 && stack.length) {
        s.undo(root);
        stack = [];
        restarts++;
        conflicts = 0;
        random = perturb(firstValue, base, random);
        continue;
      }
      let resumed = false;
      while (stack.length) {
        const top = stack.pop()!;
        s.undo(top.mark);
        if (top.flipped) continue;
        stack.push({ v: top.v, mark: top.mark, flipped: true });
        s.assign(2 * top.v + first(top.v));
        resumed = true;
        break;
      }
      if (!resumed) return { status: 'unsat' };
      continue;
    }
    const v = order.find((x) => s.val[x] === UNSET);
    if (v === undefined) return { status: 'sat', inputs: Uint8Array.from({ length: inputs }, (_, i) => s.val[i]!) };
    stack.push({ v, mark: s.trail.length, flipped: false });
    s.assign(2 * v + 1 - first(v));
  }
}

export function babSolver(): ExactSolver {
  return { name: 'bab', solve: async (r) => solveCardinality(r), dispose: () => {} };
}
