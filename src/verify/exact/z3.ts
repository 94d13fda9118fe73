/**
 * z3 (npm z3-solver, WebAssembly; optional): each constraint as out = AtLeast(lits, k), z3's
 * native pseudo-Boolean constraint, the clauses as Or, the goal asserted; its time limit is z3's
 * own `timeout` parameter. One z3 module per solver, its worker threads ended by dispose().
 */
import type { Encoding, Lit } from './encode.js';
import { FALSE, TRUE } from './encode.js';
import { SolverUnavailableError, type ExactSolver, type SolveOutcome, type SolveRequest } from './solver.js';

/** What is used of z3-solver's high-level API (typed here: the package is optional, and may be absent at build time). */
interface Z3Bool {
  eq(other: Z3Bool): Z3Bool;
}
interface Z3Solver {
  set(key: string, value: number): void;
  add(b: Z3Bool): void;
  check(): Promise<'sat' | 'unsat' | 'unknown'>;
  model(): { eval(b: Z3Bool, completion: boolean): Z3Bool };
}
interface Z3Context {
  Bool: { const(name: string): Z3Bool; val(v: boolean): Z3Bool };
  Solver: new () => Z3Solver;
  Not(b: Z3Bool): Z3Bool;
  Or(...bs: Z3Bool[]): Z3Bool;
  AtLeast(bs: Z3Bool[], k: number): Z3Bool;
  isTrue(b: Z3Bool): boolean;
}
interface Z3Api {
  Context: new (name: string) => Z3Context;
  em: unknown;
}
interface Z3Module {
  init(): Promise<Z3Api>;
  killThreads(em: unknown): Promise<void>;
}
const Z3 = 'z3-solver';

async function loadZ3(): Promise<{ mod: Z3Module; api: Z3Api }> {
  let mod: Z3Module;
  try {
    mod = (await import(Z3)) as Z3Module;
  } catch (e) {
    throw new SolverUnavailableError('z3', 'z3-solver', e);
  }
  return { mod, api: await mod.init() };
}

function build(ctx: Z3Context, enc: Encoding): { vars: Z3Bool[]; assertions: Z3Bool[] } {
  const vars = Array.from({ length: enc.vars }, (_, v) => ctx.Bool.const(`v${v}`));
  const lit = (l: Lit): Z3Bool => (l === TRUE ? ctx.Bool.val(true) : l === FALSE ? ctx.Bool.val(false) : l & 1 ? ctx.Not(vars[l >> 1]!) : vars[l >> 1]!);
  const assertions: Z3Bool[] = [];
  for (const c of enc.cards) {
    const lits = Array.from(c.lits, lit);
    assertions.push(vars[c.out]!.eq(ctx.AtLeast(lits, c.k)));
  }
  for (const cl of enc.clauses) assertions.push(ctx.Or(...Array.from(cl, lit)));
  assertions.push(lit(enc.goal));
  return { vars, assertions };
}

export async function z3Solver(): Promise<ExactSolver> {
  const { mod, api } = await loadZ3();
  const ctx = new api.Context('exact');
  return {
    name: 'z3',
    async solve({ encoding: enc, deadline }: SolveRequest): Promise<SolveOutcome> {
      const solver = new ctx.Solver();
      const { vars, assertions } = build(ctx, enc);
      for (const a of assertions) solver.add(a);
      // Building counts against the limit; z3's own timeout covers the search.
      const ms = Math.floor(deadline - performance.now());
      if (ms <= 0) return { status: 'timeout' };
      solver.set('timeout', Math.min(ms, 2 ** 31 - 1));
      const r = await solver.check();
      if (r === 'unsat') return { status: 'unsat' };
      if (r !== 'sat') return { status: 'timeout' };
      const model = solver.model();
      return { status: 'sat', inputs: Uint8Array.from(enc.inputs, (_, v) => (ctx.isTrue(model.eval(vars[v]!, true)) ? 1 : 0)) };
    },
    dispose() {
      void mod.killThreads(api.em);
    },
  };
}
