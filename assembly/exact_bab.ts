// The exact stage's own solver in AssemblyScript (issue 40: EEV's native reified cardinality
// constraints): the same DPLL search as src/verify/exact/bab.ts, over arrays the host lays out
// in this module's memory. Built on its own (npm run build:exact → build/exact-bab.wasm) and NOT
// imported by assembly/index.ts: the runtime does not grow.
//
// Layout (i32 arrays, allocated with alloc()): cardOut[m], cardK[m], cardStart[m + 1],
// cardLits[cardStart[m]], occStart[vars + 1], occ[occStart[vars]] (entries 2·card + negated),
// defCard[vars] (−1: none), roots[nRoots] (literals asserted true), order[nInputs] (decision
// order), first[nInputs] (the value tried first per input variable). A literal is 2·var + neg.

@external("env", "now")
declare function now(): f64;

const UNSET: i8 = -1;
// Restarts as in bab.ts: after restartUnit × luby(i) conflicts, phases perturbed by xorshift32.

function luby(i: i32): i32 {
  for (;;) {
    let k = 1;
    while ((1 << k) - 1 < i) k++;
    if ((1 << k) - 1 == i) return 1 << (k - 1);
    i -= (1 << (k - 1)) - 1;
  }
  return 1;
}

@inline function nextRandom(state: u32): u32 {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

let vars = 0;
let m = 0;
let cardOut: usize = 0;
let cardK: usize = 0;
let cardStart: usize = 0;
let cardLits: usize = 0;
let occStart: usize = 0;
let occ: usize = 0;
let defCard: usize = 0;
let val: usize = 0; // i8 per variable
let trueCount: usize = 0;
let falseCount: usize = 0;
let trail: usize = 0; // i32 per variable
let trailLen = 0;
let queue = 0;

@inline function geti(base: usize, i: i32): i32 {
  return load<i32>(base + (<usize>i << 2));
}
@inline function seti(base: usize, i: i32, v: i32): void {
  store<i32>(base + (<usize>i << 2), v);
}
@inline function getv(v: i32): i8 {
  return load<i8>(val + <usize>v);
}

/** Bytes of host data: returns where to write them. */
export function alloc(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

/** Frees everything (between solves). */
export function reset(): void {
  heap.reset();
}

function assign(l: i32): bool {
  const v = l >> 1;
  const value: i8 = <i8>(1 - (l & 1));
  const cur = getv(v);
  if (cur != UNSET) return cur == value;
  store<i8>(val + <usize>v, value);
  seti(trail, trailLen++, v);
  const end = geti(occStart, v + 1);
  for (let j = geti(occStart, v); j < end; j++) {
    const e = geti(occ, j);
    const c = e >> 1;
    if ((e & 1) != <i32>value) seti(trueCount, c, geti(trueCount, c) + 1);
    else seti(falseCount, c, geti(falseCount, c) + 1);
  }
  return true;
}

function undo(to: i32): void {
  while (trailLen > to) {
    const v = geti(trail, --trailLen);
    const value = <i32>getv(v);
    store<i8>(val + <usize>v, UNSET);
    const end = geti(occStart, v + 1);
    for (let j = geti(occStart, v); j < end; j++) {
      const e = geti(occ, j);
      const c = e >> 1;
      if ((e & 1) != value) seti(trueCount, c, geti(trueCount, c) - 1);
      else seti(falseCount, c, geti(falseCount, c) - 1);
    }
  }
  if (queue > to) queue = to;
}

function forceUnset(c: i32, value: bool): bool {
  const end = geti(cardStart, c + 1);
  for (let j = geti(cardStart, c); j < end; j++) {
    const l = geti(cardLits, j);
    if (getv(l >> 1) == UNSET && !assign(value ? l : l ^ 1)) return false;
  }
  return true;
}

function check(c: i32): bool {
  const out = geti(cardOut, c);
  const k = geti(cardK, c);
  const n = geti(cardStart, c + 1) - geti(cardStart, c);
  const t = geti(trueCount, c);
  const possible = n - geti(falseCount, c);
  const o = getv(out);
  if (t >= k) return assign(2 * out);
  if (possible < k) return assign(2 * out + 1);
  if (o == 1 && possible == k) return forceUnset(c, true);
  if (o == 0 && t == k - 1) return forceUnset(c, false);
  return true;
}

function propagate(): bool {
  while (queue < trailLen) {
    const v = geti(trail, queue++);
    const end = geti(occStart, v + 1);
    for (let j = geti(occStart, v); j < end; j++) if (!check(geti(occ, j) >> 1)) return false;
    const d = geti(defCard, v);
    if (d >= 0 && !check(d)) return false;
  }
  return true;
}

/**
 * Solves; returns 0 unsat, 1 sat (the input variables' values are then at valuesOut, one byte
 * each), 2 deadline (performance.now() milliseconds, read through env.now). Restarts after
 * restartUnit × luby(i) conflicts (0: never; bab.ts's defaultRestartUnit).
 */
export function solve(nVars: i32, nCards: i32, cardOutPtr: usize, cardKPtr: usize, cardStartPtr: usize, cardLitsPtr: usize, occStartPtr: usize, occPtr: usize, defCardPtr: usize, roots: usize, nRoots: i32, order: usize, first: usize, nInputs: i32, valuesOut: usize, deadline: f64, restartUnit: i32): i32 {
  vars = nVars;
  m = nCards;
  cardOut = cardOutPtr;
  cardK = cardKPtr;
  cardStart = cardStartPtr;
  cardLits = cardLitsPtr;
  occStart = occStartPtr;
  occ = occPtr;
  defCard = defCardPtr;
  val = heap.alloc(<usize>vars);
  memory.fill(val, <u8>0xff, <usize>vars);
  trueCount = heap.alloc(<usize>m << 2);
  falseCount = heap.alloc(<usize>m << 2);
  memory.fill(trueCount, 0, <usize>m << 2);
  memory.fill(falseCount, 0, <usize>m << 2);
  trail = heap.alloc(<usize>vars << 2);
  trailLen = 0;
  queue = 0;
  // Decision stack: variable, trail mark, flipped.
  const stackVar = heap.alloc(<usize>(nInputs + 1) << 2);
  const stackMark = heap.alloc(<usize>(nInputs + 1) << 2);
  const stackFlipped = heap.alloc(<usize>(nInputs + 1));
  let depth = 0;
  for (let i = 0; i < nRoots; i++) if (!assign(geti(roots, i))) return 0;
  // The phases in use (first[] stays the base they are perturbed from).
  const phase = heap.alloc(<usize>nInputs + 1);
  memory.copy(phase, first, <usize>nInputs);
  const root = trailLen;
  let steps = 0;
  let restarts = 0;
  let conflicts = 0;
  let random: u32 = 0x9e3779b9;
  for (;;) {
    if ((++steps & 255) == 0 && now() > deadline) return 2;
    if (!propagate()) {
      if (restartUnit > 0 && <i64>++conflicts >= <i64>restartUnit * <i64>luby(restarts + 1) && depth > 0) {
        undo(root);
        depth = 0;
        restarts++;
        conflicts = 0;
        for (let v = 0; v < nInputs; v++) {
          random = nextRandom(random);
          const b = load<u8>(first + <usize>v);
          store<u8>(phase + <usize>v, (random & 3) == 0 ? 1 - b : b);
        }
        continue;
      }
      let resumed = false;
      while (depth > 0) {
        depth--;
        const v = geti(stackVar, depth);
        undo(geti(stackMark, depth));
        if (load<u8>(stackFlipped + <usize>depth)) continue;
        store<u8>(stackFlipped + <usize>depth, 1);
        depth++;
        // The other value: literal 2v + first[v] sets v to 1 − first[v].
        assign(2 * v + <i32>load<u8>(phase + <usize>v));
        resumed = true;
        break;
      }
      if (!resumed) return 0;
      continue;
    }
    let pick = -1;
    for (let i = 0; i < nInputs; i++) {
      const v = geti(order, i);
      if (getv(v) == UNSET) {
        pick = i;
        break;
      }
    }
    if (pick < 0) {
      for (let v = 0; v < nInputs; v++) store<u8>(valuesOut + <usize>v, <u8>getv(v));
      return 1;
    }
    const v = geti(order, pick);
    seti(stackVar, depth, v);
    seti(stackMark, depth, trailLen);
    store<u8>(stackFlipped + <usize>depth, 0);
    depth++;
    assign(2 * v + 1 - <i32>load<u8>(phase + <usize>v));
  }
  return 2;
}
