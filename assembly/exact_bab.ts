// The exact stage's own solver in AssemblyScript (issue 40: EEV's native reified cardinality
// constraints): src/verify/exact/bab.ts's search — static decision order over the input bits,
// cardinality propagation, Luby restarts with perturbed phases — plus conflict-driven clause
// learning (first UIP, non-chronological backjumping), over arrays the host lays out in this
// module's memory. Built on its own (npm run build:exact → build/exact-bab.wasm) and NOT imported
// by assembly/index.ts: the runtime does not grow.
//
// Layout (i32 arrays, allocated with alloc()): cardOut[m], cardK[m], cardStart[m + 1],
// cardLits[cardStart[m]], occStart[vars + 1], occ[occStart[vars]] (entries 2·card + negated),
// defCard[vars] (−1: none), roots[nRoots] (literals asserted true), order[nInputs] (decision
// order), first[nInputs] (the value tried first per input variable). A literal is 2·var + neg:
// true when its variable is 1 − neg, so the literal of v that is false under value x is 2v + x.
//
// Reasons are not stored as clauses: a variable a constraint implied keeps (constraint, kind),
// and conflict analysis re-derives the literals it rested on from the constraint and the trail
// (those assigned before it). Every such set is implied by the constraint, so every learned
// clause is too: learning never cuts a solution.

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

// Why a variable has its value: a decision or root, or what a constraint implied.
const DECIDED: i8 = 0;
const OUT_TRUE: i8 = 1; // the constraint's output is 1: at least k of its literals are true
const OUT_FALSE: i8 = 2; // the output is 0: fewer than k literals can still be true
const FORCE_TRUE: i8 = 3; // output 1 and exactly k literals can be true: each must be
const FORCE_FALSE: i8 = 4; // output 0 and k − 1 literals true: every other must be false
const CLAUSE: i8 = 5; // a learned clause whose other literals are all false

// Learned clauses: at most this many literals in all; when full, they are all dropped at a restart.
const LEARNED_LITS_CAP = 1 << 21;
const LEARNED_CAP = 1 << 16;

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
let level: usize = 0; // i32 per variable: the decision level it was assigned at
let pos: usize = 0; // i32 per variable: its index on the trail
let reasonC: usize = 0; // i32 per variable: the constraint (or learned clause) that implied it
let reasonKind: usize = 0; // i8 per variable
let seen: usize = 0; // u8 per variable, for conflict analysis
let trueCount: usize = 0;
let falseCount: usize = 0;
let trail: usize = 0; // i32 per variable
let trailLen = 0;
let queue = 0;
let depth = 0;
// Learned clauses: literals (the first two watched), start and length per clause, and a linked
// watch list per literal through nodes 2i and 2i + 1, clause i's two watches (each sits in the list
// of one of its first two literals).
let learnedLits: usize = 0;
let learnedStart: usize = 0;
let learnedLen: usize = 0;
let watchHead: usize = 0; // i32 per literal, −1: empty
let watchNext: usize = 0; // i32 per node
let nLearned = 0;
let nLearnedLits = 0;
// The conflict propagation ran into: the constraint or clause, its kind, and the literal it could not make true.
let confC = 0;
let confKind: i8 = 0;
let confLit = 0;
// The clause conflict analysis learns (its literals at learnt[0..learntLen), the asserting one first).
let learnt: usize = 0;
let learntLen = 0;

@inline function geti(base: usize, i: i32): i32 {
  return load<i32>(base + (<usize>i << 2));
}
@inline function seti(base: usize, i: i32, v: i32): void {
  store<i32>(base + (<usize>i << 2), v);
}
@inline function getv(v: i32): i8 {
  return load<i8>(val + <usize>v);
}
@inline function litTrue(l: i32): bool {
  return <i32>getv(l >> 1) == 1 - (l & 1);
}
@inline function litFalse(l: i32): bool {
  return <i32>getv(l >> 1) == (l & 1);
}

/** Bytes of host data: returns where to write them. */
export function alloc(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

/** Frees everything (between solves). */
export function reset(): void {
  heap.reset();
}

/** Makes literal l true because of (c, kind); false (and the conflict recorded) if it is already false. */
function assign(l: i32, c: i32, kind: i8): bool {
  const v = l >> 1;
  const value: i8 = <i8>(1 - (l & 1));
  const cur = getv(v);
  if (cur != UNSET) {
    if (cur == value) return true;
    confC = c;
    confKind = kind;
    confLit = l;
    return false;
  }
  store<i8>(val + <usize>v, value);
  seti(level, v, depth);
  seti(pos, v, trailLen);
  seti(reasonC, v, c);
  store<i8>(reasonKind + <usize>v, kind);
  seti(trail, trailLen++, v);
  const end = geti(occStart, v + 1);
  for (let j = geti(occStart, v); j < end; j++) {
    const e = geti(occ, j);
    const cc = e >> 1;
    if ((e & 1) != <i32>value) seti(trueCount, cc, geti(trueCount, cc) + 1);
    else seti(falseCount, cc, geti(falseCount, cc) + 1);
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
    if (getv(l >> 1) == UNSET && !assign(value ? l : l ^ 1, c, value ? FORCE_TRUE : FORCE_FALSE)) return false;
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
  if (t >= k) return assign(2 * out, c, OUT_TRUE);
  if (possible < k) return assign(2 * out + 1, c, OUT_FALSE);
  if (o == 1 && possible == k) return forceUnset(c, true);
  if (o == 0 && t == k - 1) return forceUnset(c, false);
  return true;
}

/** Learned clauses watching literal `falseLit`, which just became false: move the watch, imply, or conflict. */
function propagateClauses(falseLit: i32): bool {
  let prev = -1;
  let node = geti(watchHead, falseLit);
  while (node >= 0) {
    const next = geti(watchNext, node);
    const i = node >> 1;
    const start = geti(learnedStart, i);
    const len = geti(learnedLen, i);
    // Keep the false watched literal at position 1, the other watched one at 0.
    if (geti(learnedLits, start) == falseLit) {
      seti(learnedLits, start, geti(learnedLits, start + 1));
      seti(learnedLits, start + 1, falseLit);
    }
    const other = geti(learnedLits, start);
    let moved = false;
    if (!litTrue(other)) {
      for (let j = 2; j < len; j++) {
        const l = geti(learnedLits, start + j);
        if (!litFalse(l)) {
          seti(learnedLits, start + j, falseLit);
          seti(learnedLits, start + 1, l);
          // Move this node (either of clause i's two: each only says "clause i") from falseLit's list to l's.
          if (prev < 0) seti(watchHead, falseLit, next);
          else seti(watchNext, prev, next);
          seti(watchNext, node, geti(watchHead, l));
          seti(watchHead, l, node);
          moved = true;
          break;
        }
      }
      if (!moved) {
        if (litFalse(other)) {
          confC = i;
          confKind = CLAUSE;
          confLit = other;
          return false;
        }
        if (!assign(other, i, CLAUSE)) return false;
      }
    }
    if (!moved) prev = node;
    node = next;
  }
  return true;
}

function propagate(): bool {
  while (queue < trailLen) {
    const v = geti(trail, queue++);
    const end = geti(occStart, v + 1);
    for (let j = geti(occStart, v); j < end; j++) if (!check(geti(occ, j) >> 1)) return false;
    const d = geti(defCard, v);
    if (d >= 0 && !check(d)) return false;
    if (!propagateClauses(2 * v + <i32>getv(v))) return false;
  }
  return true;
}

// Conflict analysis state: seen variables of the current level not yet resolved, and the highest
// level among the learned clause's other literals.
let pathC = 0;
let maxOther = 0;

function visit(w: i32): void {
  if (load<u8>(seen + <usize>w) != 0) return;
  const lv = geti(level, w);
  if (lv == 0) return;
  store<u8>(seen + <usize>w, 1);
  if (lv == depth) pathC++;
  else {
    seti(learnt, learntLen++, 2 * w + <i32>getv(w));
    if (lv > maxOther) maxOther = lv;
  }
}

/** Visits the variables an implication by (c, kind) rested on: those assigned before trail position p, but `self`. */
function visitReason(c: i32, kind: i8, p: i32, self: i32): void {
  if (kind == CLAUSE) {
    const start = geti(learnedStart, c);
    const len = geti(learnedLen, c);
    for (let j = 0; j < len; j++) {
      const w = geti(learnedLits, start + j) >> 1;
      if (w != self) visit(w);
    }
    return;
  }
  if (kind == FORCE_TRUE || kind == FORCE_FALSE) visit(geti(cardOut, c));
  // OUT_TRUE and FORCE_FALSE rest on the true literals, OUT_FALSE and FORCE_TRUE on the false ones.
  const onTrue = kind == OUT_TRUE || kind == FORCE_FALSE;
  const end = geti(cardStart, c + 1);
  for (let j = geti(cardStart, c); j < end; j++) {
    const l = geti(cardLits, j);
    const w = l >> 1;
    if (w == self || getv(w) == UNSET || geti(pos, w) >= p) continue;
    if (onTrue ? litTrue(l) : litFalse(l)) visit(w);
  }
}

/**
 * First-UIP analysis of the recorded conflict: learnt[0] is the asserting literal, learnt[1..] the
 * rest (all false now). Returns false when no variable of the current level took part (the
 * conflict belongs to level maxOther; the caller goes back there and propagates again).
 */
function analyze(): bool {
  learntLen = 1;
  pathC = 0;
  maxOther = 0;
  if (confKind == CLAUSE) visitReason(confC, CLAUSE, trailLen, -1);
  else {
    const cv = confLit >> 1;
    visit(cv);
    visitReason(confC, confKind, trailLen, cv);
  }
  if (pathC == 0) {
    for (let j = 1; j < learntLen; j++) store<u8>(seen + <usize>(geti(learnt, j) >> 1), 0);
    return false;
  }
  let index = trailLen - 1;
  let uip = -1;
  for (;;) {
    while (load<u8>(seen + <usize>geti(trail, index)) == 0) index--;
    const v = geti(trail, index--);
    store<u8>(seen + <usize>v, 0);
    pathC--;
    if (pathC == 0) {
      uip = v;
      break;
    }
    visitReason(geti(reasonC, v), load<i8>(reasonKind + <usize>v), geti(pos, v), v);
  }
  seti(learnt, 0, 2 * uip + <i32>getv(uip));
  for (let j = 1; j < learntLen; j++) store<u8>(seen + <usize>(geti(learnt, j) >> 1), 0);
  return true;
}

/** Stores learnt[0..learntLen) (≥ 2 literals) watching its first two; −1 if the store is full. */
function addLearned(): i32 {
  if (nLearned >= LEARNED_CAP || nLearnedLits + learntLen > LEARNED_LITS_CAP) return -1;
  const i = nLearned++;
  seti(learnedStart, i, nLearnedLits);
  seti(learnedLen, i, learntLen);
  for (let j = 0; j < learntLen; j++) seti(learnedLits, nLearnedLits + j, geti(learnt, j));
  nLearnedLits += learntLen;
  for (let w = 0; w < 2; w++) {
    const node = 2 * i + w;
    const l = geti(learnt, w);
    seti(watchNext, node, geti(watchHead, l));
    seti(watchHead, l, node);
  }
  return i;
}

function dropLearned(): void {
  nLearned = 0;
  nLearnedLits = 0;
  memory.fill(watchHead, 0xff, <usize>(2 * vars) << 2);
}

/**
 * Solves; returns 0 unsat, 1 sat (the input variables' values are then at valuesOut, one byte
 * each), 2 deadline (performance.now() milliseconds, read through env.now). Restarts after
 * restartUnit × luby(i) conflicts (0: never; bab.ts's defaultRestartUnit); learned clauses stay.
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
  level = heap.alloc(<usize>vars << 2);
  pos = heap.alloc(<usize>vars << 2);
  reasonC = heap.alloc(<usize>vars << 2);
  reasonKind = heap.alloc(<usize>vars);
  seen = heap.alloc(<usize>vars);
  memory.fill(seen, 0, <usize>vars);
  trueCount = heap.alloc(<usize>m << 2);
  falseCount = heap.alloc(<usize>m << 2);
  memory.fill(trueCount, 0, <usize>m << 2);
  memory.fill(falseCount, 0, <usize>m << 2);
  trail = heap.alloc(<usize>vars << 2);
  learnt = heap.alloc(<usize>(vars + 1) << 2);
  learnedLits = heap.alloc(<usize>LEARNED_LITS_CAP << 2);
  learnedStart = heap.alloc(<usize>LEARNED_CAP << 2);
  learnedLen = heap.alloc(<usize>LEARNED_CAP << 2);
  watchHead = heap.alloc(<usize>(2 * vars) << 2);
  watchNext = heap.alloc(<usize>(2 * LEARNED_CAP) << 2);
  dropLearned();
  trailLen = 0;
  queue = 0;
  depth = 0;
  // The trail length before each level's decision (where backjumps and restarts cut the trail).
  const stackMark = heap.alloc(<usize>(nInputs + 1) << 2);
  for (let i = 0; i < nRoots; i++) if (!assign(geti(roots, i), -1, DECIDED)) return 0;
  // The phases in use (first[] stays the base they are perturbed from).
  const phase = heap.alloc(<usize>nInputs + 1);
  memory.copy(phase, first, <usize>nInputs);
  let steps = 0;
  let restarts = 0;
  let conflicts = 0;
  let random: u32 = 0x9e3779b9;
  for (;;) {
    if ((++steps & 255) == 0 && now() > deadline) return 2;
    if (!propagate()) {
      if (depth == 0) return 0;
      if (!analyze()) {
        if (maxOther == 0) return 0;
        undo(geti(stackMark, maxOther));
        depth = maxOther;
        queue = 0;
        continue;
      }
      conflicts++;
      // Back to the highest level among the other literals, where the clause asserts learnt[0].
      let back = 0;
      for (let j = 1; j < learntLen; j++) {
        const lv = geti(level, geti(learnt, j) >> 1);
        if (lv > back) {
          back = lv;
          const l = geti(learnt, j);
          seti(learnt, j, geti(learnt, 1));
          seti(learnt, 1, l);
        }
      }
      undo(geti(stackMark, back));
      depth = back;
      if (learntLen == 1) {
        if (!assign(geti(learnt, 0), -1, DECIDED)) return 0;
      } else {
        let i = addLearned();
        if (i < 0) {
          // Store full: drop every learned clause and start over from level 0 with this one.
          if (depth > 0) undo(geti(stackMark, 0));
          depth = 0;
          dropLearned();
          addLearned();
        } else if (!assign(geti(learnt, 0), i, CLAUSE)) return 0;
      }
      if (restartUnit > 0 && <i64>conflicts >= <i64>restartUnit * <i64>luby(restarts + 1) && depth > 0) {
        undo(geti(stackMark, 0));
        depth = 0;
        restarts++;
        conflicts = 0;
        for (let v = 0; v < nInputs; v++) {
          random = nextRandom(random);
          const b = load<u8>(first + <usize>v);
          store<u8>(phase + <usize>v, (random & 3) == 0 ? 1 - b : b);
        }
      }
      continue;
    }
    let pick = -1;
    for (let i = 0; i < nInputs; i++) {
      const v = geti(order, i);
      if (getv(v) == UNSET) {
        pick = v;
        break;
      }
    }
    if (pick < 0) {
      for (let v = 0; v < nInputs; v++) store<u8>(valuesOut + <usize>v, <u8>getv(v));
      return 1;
    }
    seti(stackMark, depth, trailLen);
    depth++;
    assign(2 * pick + 1 - <i32>load<u8>(phase + <usize>pick), -1, DECIDED);
  }
  return 2;
}
