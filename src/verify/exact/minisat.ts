/**
 * MiniSat (npm logic-solver; optional) on a CNF: each constraint out ⇔ [Σ lits ≥ k] as a
 * totalizer (Bailleux & Boufkhad 2003) truncated at k, with clauses in both directions so that its
 * outputs are exactly the counts' unary digits, then out ⇔ (count ≥ k); k = 1 and k = m as plain
 * OR / AND. MiniSat cannot be interrupted, so it runs in a worker thread ended at the time limit.
 */
import { Worker } from 'node:worker_threads';
import type { Encoding, Lit } from './encode.js';
import { FALSE, TRUE } from './encode.js';
import { SolverUnavailableError, type ExactSolver, type SolveOutcome, type SolveRequest } from './solver.js';

/** A CNF over DIMACS literals (±(var + 1)); variables past the encoding's are the totalizers'. */
export interface Cnf {
  vars: number;
  readonly clauses: Int32Array[];
}

const LOGIC_SOLVER = 'logic-solver';

const dimacs = (l: Lit): number => (l & 1 ? -((l >> 1) + 1) : (l >> 1) + 1);

/** CNFs beyond this many clauses are not built (the totalizer grows as m·k per constraint): the image stays unknown. */
export const MAX_CLAUSES = 3_000_000;

export class CnfTooLargeError extends Error {
  override readonly name = 'CnfTooLargeError';
}

/** Unary outputs r[t−1] ⇔ [Σ ≥ t], t = 1..min(m, k), of a totalizer over the DIMACS literals. */
function totalizer(cnf: Cnf, lits: readonly number[], k: number): number[] {
  if (lits.length === 1) return [lits[0]!];
  const half = lits.length >> 1;
  const a = totalizer(cnf, lits.slice(0, half), k);
  const b = totalizer(cnf, lits.slice(half), k);
  const size = Math.min(a.length + b.length, k);
  const r = Array.from({ length: size }, () => ++cnf.vars);
  if (cnf.clauses.length + 2 * (a.length + 1) * (b.length + 1) > MAX_CLAUSES) throw new CnfTooLargeError(`the totalizers need more than ${MAX_CLAUSES} clauses`);
  for (let i = 0; i <= a.length; i++)
    for (let j = 0; j <= b.length; j++) {
      // a ≥ i ∧ b ≥ j → r ≥ i + j (saturating at k).
      if (i + j >= 1) cnf.clauses.push(Int32Array.from([...(i ? [-a[i - 1]!] : []), ...(j ? [-b[j - 1]!] : []), r[Math.min(i + j, size) - 1]!]));
      // a < i + 1 ∧ b < j + 1 → r < i + j + 1 (a, b are exact below k, so this holds where t ≤ size).
      const t = i + j + 1;
      if (t <= size) cnf.clauses.push(Int32Array.from([...(i < a.length ? [a[i]!] : []), ...(j < b.length ? [b[j]!] : []), -r[t - 1]!]));
    }
  return r;
}

/**
 * The encoding as CNF. Constraints over the same literals (the head's corners: one count against
 * many bounds) share one totalizer, built up to the largest bound asked of it.
 */
export function toCnf(enc: Encoding): Cnf {
  const cnf: Cnf = { vars: enc.vars, clauses: [] };
  // Each count as the smaller side: Σ lits ≥ k ⇔ ¬(Σ ¬lits ≥ m − k + 1).
  const counts = enc.cards.map((c) => {
    const lits = Array.from(c.lits, dimacs);
    const flip = 2 * c.k > lits.length + 1;
    return flip ? { lits: lits.map((l) => -l), k: lits.length - c.k + 1, flip } : { lits, k: c.k, flip };
  });
  const key = (lits: readonly number[]) => [...lits].sort((a, b) => a - b).join(',');
  const cap = new Map<string, number>();
  for (const c of counts) if (c.k > 1 && c.k < c.lits.length) cap.set(key(c.lits), Math.max(cap.get(key(c.lits)) ?? 0, c.k));
  const built = new Map<string, number[]>();
  enc.cards.forEach((card, i) => {
    const out = card.out + 1;
    const lits = Array.from(card.lits, dimacs);
    if (card.k === 1) {
      cnf.clauses.push(Int32Array.from([-out, ...lits]));
      for (const l of lits) cnf.clauses.push(Int32Array.of(-l, out));
    } else if (card.k === lits.length) {
      cnf.clauses.push(Int32Array.from([out, ...lits.map((l) => -l)]));
      for (const l of lits) cnf.clauses.push(Int32Array.of(l, -out));
    } else {
      const c = counts[i]!;
      const k = key(c.lits);
      let unary = built.get(k);
      if (!unary) built.set(k, (unary = totalizer(cnf, c.lits, cap.get(k)!)));
      const r = c.flip ? -unary[c.k - 1]! : unary[c.k - 1]!;
      cnf.clauses.push(Int32Array.of(-out, r), Int32Array.of(out, -r));
    }
  });
  for (const cl of enc.clauses) cnf.clauses.push(Int32Array.from(cl, dimacs));
  if (enc.goal === FALSE) cnf.clauses.push(Int32Array.of(1), Int32Array.of(-1));
  else if (enc.goal !== TRUE) cnf.clauses.push(Int32Array.of(dimacs(enc.goal)));
  return cnf;
}

export async function minisatSolver(): Promise<ExactSolver> {
  try {
    await import(LOGIC_SOLVER);
  } catch (e) {
    throw new SolverUnavailableError('minisat', 'logic-solver', e);
  }
  const script = new URL('./minisat_worker.js', import.meta.url);
  let worker: Worker | null = null;
  return {
    name: 'minisat',
    async solve({ encoding: enc, deadline }: SolveRequest): Promise<SolveOutcome> {
      let cnf: Cnf;
      try {
        cnf = toCnf(enc);
      } catch (e) {
        if (e instanceof CnfTooLargeError) return { status: 'gave-up', detail: e.message };
        throw e;
      }
      const ms = deadline - performance.now();
      if (ms <= 0) return { status: 'timeout' };
      const w = (worker ??= new Worker(script));
      const answer = await new Promise<{ sat: boolean; values?: Uint8Array } | 'timeout' | Error>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), ms);
        const done = (v: { sat: boolean; values?: Uint8Array } | Error) => (clearTimeout(timer), w.off('message', done), w.off('error', done), resolve(v));
        w.on('message', done);
        w.on('error', done);
        w.postMessage({ vars: cnf.vars, clauses: cnf.clauses });
      });
      if (answer === 'timeout' || answer instanceof Error) {
        // MiniSat cannot be stopped: end its thread, start afresh next time.
        void w.terminate();
        worker = null;
        // A MiniSat failure (its memory is fixed at 64 MB) leaves the image unknown.
        return answer instanceof Error ? { status: 'gave-up', detail: `minisat failed: ${answer.message}` } : { status: 'timeout' };
      }
      if (!answer.sat) return { status: 'unsat' };
      return { status: 'sat', inputs: answer.values!.slice(0, enc.inputs.length) };
    },
    dispose() {
      void worker?.terminate();
      worker = null;
    },
  };
}
