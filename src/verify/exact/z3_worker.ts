/**
 * Runs z3 (npm z3-solver) on one encoding at a time in a worker thread, through its low-level C
 * API: a fresh non-refcounted context per encoding (z3 owns every term; nothing is left to
 * JavaScript finalizers, which could free terms on this thread while z3 searches on its own),
 * deleted after the answer. The main thread ends this thread if z3 overruns its own time limit.
 * Message in: { encoding, ms }; out: { status: 'sat', inputs } | { status: 'unsat' | 'unknown' }.
 */
import { parentPort } from 'node:worker_threads';
import type { Encoding, Lit } from './encode.js';
import { FALSE, TRUE } from './encode.js';

/** What is used of z3-solver's low-level API (typed here: the package is optional, and may be absent at build time). */
type Ptr = number;
interface Z3Low {
  mk_config(): Ptr;
  del_config(c: Ptr): void;
  mk_context(c: Ptr): Ptr;
  del_context(c: Ptr): void;
  mk_bool_sort(c: Ptr): Ptr;
  mk_string_symbol(c: Ptr, s: string): Ptr;
  mk_const(c: Ptr, s: Ptr, sort: Ptr): Ptr;
  mk_true(c: Ptr): Ptr;
  mk_false(c: Ptr): Ptr;
  mk_not(c: Ptr, a: Ptr): Ptr;
  mk_or(c: Ptr, args: Ptr[]): Ptr;
  mk_eq(c: Ptr, a: Ptr, b: Ptr): Ptr;
  mk_atleast(c: Ptr, args: Ptr[], k: number): Ptr;
  mk_solver(c: Ptr): Ptr;
  solver_inc_ref(c: Ptr, s: Ptr): void;
  solver_dec_ref(c: Ptr, s: Ptr): void;
  mk_params(c: Ptr): Ptr;
  params_inc_ref(c: Ptr, p: Ptr): void;
  params_dec_ref(c: Ptr, p: Ptr): void;
  params_set_uint(c: Ptr, p: Ptr, k: Ptr, v: number): void;
  solver_set_params(c: Ptr, s: Ptr, p: Ptr): void;
  solver_assert(c: Ptr, s: Ptr, a: Ptr): void;
  solver_check(c: Ptr, s: Ptr): Promise<number>;
  solver_get_model(c: Ptr, s: Ptr): Ptr;
  model_inc_ref(c: Ptr, m: Ptr): void;
  model_dec_ref(c: Ptr, m: Ptr): void;
  model_eval(c: Ptr, m: Ptr, t: Ptr, completion: boolean): Ptr | null;
  get_bool_value(c: Ptr, a: Ptr): number;
}
const Z3 = 'z3-solver';
const { Z3: z3 } = (await ((await import(Z3)) as { init(): Promise<{ Z3: Z3Low }> }).init());
const L_TRUE = 1;
const L_FALSE = -1;

export type Z3Answer = { status: 'sat'; inputs: Uint8Array } | { status: 'unsat' } | { status: 'unknown' };

async function solve(enc: Encoding, ms: number): Promise<Z3Answer> {
  const cfg = z3.mk_config();
  const ctx = z3.mk_context(cfg);
  z3.del_config(cfg);
  try {
    const bool = z3.mk_bool_sort(ctx);
    const vars = Array.from({ length: enc.vars }, (_, v) => z3.mk_const(ctx, z3.mk_string_symbol(ctx, `v${v}`), bool));
    const lit = (l: Lit): Ptr => (l === TRUE ? z3.mk_true(ctx) : l === FALSE ? z3.mk_false(ctx) : l & 1 ? z3.mk_not(ctx, vars[l >> 1]!) : vars[l >> 1]!);
    const solver = z3.mk_solver(ctx);
    z3.solver_inc_ref(ctx, solver);
    const params = z3.mk_params(ctx);
    z3.params_inc_ref(ctx, params);
    z3.params_set_uint(ctx, params, z3.mk_string_symbol(ctx, 'timeout'), Math.max(1, Math.min(Math.floor(ms), 2 ** 31 - 1)));
    z3.solver_set_params(ctx, solver, params);
    z3.params_dec_ref(ctx, params);
    // Each constraint as out = AtLeast(lits, k), z3's native pseudo-Boolean constraint.
    for (const c of enc.cards) z3.solver_assert(ctx, solver, z3.mk_eq(ctx, vars[c.out]!, z3.mk_atleast(ctx, Array.from(c.lits, lit), c.k)));
    for (const cl of enc.clauses) z3.solver_assert(ctx, solver, z3.mk_or(ctx, Array.from(cl, lit)));
    z3.solver_assert(ctx, solver, lit(enc.goal));
    const r = await z3.solver_check(ctx, solver);
    let answer: Z3Answer = r === L_FALSE ? { status: 'unsat' } : { status: 'unknown' };
    if (r === L_TRUE) {
      const model = z3.solver_get_model(ctx, solver);
      z3.model_inc_ref(ctx, model);
      const inputs = Uint8Array.from(enc.inputs, (_, v) => {
        const value = z3.model_eval(ctx, model, vars[v]!, true);
        return value !== null && z3.get_bool_value(ctx, value) === L_TRUE ? 1 : 0;
      });
      z3.model_dec_ref(ctx, model);
      answer = { status: 'sat', inputs };
    }
    z3.solver_dec_ref(ctx, solver);
    return answer;
  } finally {
    z3.del_context(ctx);
  }
}

parentPort!.on('message', (m: { encoding: Encoding; ms: number }) => {
  solve(m.encoding, m.ms).then(
    (a) => parentPort!.postMessage(a),
    (e: unknown) => parentPort!.postMessage({ status: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
});
parentPort!.postMessage({ status: 'ready' });
