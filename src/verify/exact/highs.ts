/**
 * HiGHS (npm highs, WebAssembly MILP; optional): every variable binary, each constraint
 * out ⇔ [S ≥ k] over m literals (S = Σ x for a literal x, 1 − x for a negated one) as two big-M
 * rows, S − k·out ≥ 0 and S − (m − k + 1)·out ≤ k − 1, the clauses as S ≥ 1, the goal fixed to 1,
 * and no objective: a feasibility problem. HiGHS stops at its own `time_limit`. A MILP solution is
 * read by rounding; the stage replays it on the runtime, so a rounding mistake could not become a
 * wrong counterexample, and "infeasible" is HiGHS's proof (its tolerances are the trust assumption).
 */
import type { Encoding, Lit } from './encode.js';
import { FALSE, TRUE } from './encode.js';
import { SolverUnavailableError, type ExactSolver, type SolveOutcome, type SolveRequest } from './solver.js';

/** What is used of the highs package (typed here: it is optional, and may be absent at build time). */
interface Highs {
  solve(lp: string, options: { time_limit: number; output_flag: boolean; presolve: 'on' | 'off' }): { Status: string; Columns: Record<string, { Primal: number } | undefined> };
}
const HIGHS = 'highs';

/** A linear row: coefficients per variable (duplicates summed) and a constant. */
class Row {
  readonly coef = new Map<number, number>();
  constant = 0;
  lit(l: Lit, c = 1): this {
    if (l === TRUE) this.constant += c;
    else if (l !== FALSE) {
      const v = l >> 1;
      if (l & 1) (this.constant += c), this.coef.set(v, (this.coef.get(v) ?? 0) - c);
      else this.coef.set(v, (this.coef.get(v) ?? 0) + c);
    }
    return this;
  }
  /** "terms op rhs" with the constant moved right. */
  text(op: '>=' | '<=' | '=', rhs: number): string {
    const terms = [...this.coef].filter(([, c]) => c !== 0).map(([v, c]) => `${c < 0 ? '-' : '+'} ${Math.abs(c)} v${v}`);
    return `${terms.length ? terms.join(' ') : '0 v0'} ${op} ${rhs - this.constant}`;
  }
}

/** The encoding as CPLEX LP text. */
export function lpText(enc: Encoding): string {
  const rows: string[] = [];
  for (const c of enc.cards) {
    const m = c.lits.length;
    const sum = () => c.lits.reduce((r, l) => r.lit(l), new Row());
    rows.push(sum().lit(2 * c.out, -c.k).text('>=', 0));
    rows.push(sum().lit(2 * c.out, -(m - c.k + 1)).text('<=', c.k - 1));
  }
  for (const cl of enc.clauses) rows.push(cl.reduce((r, l) => r.lit(l), new Row()).text('>=', 1));
  rows.push(new Row().lit(enc.goal).text('=', 1));
  const vars = Array.from({ length: Math.max(1, enc.vars) }, (_, v) => `v${v}`);
  return ['Minimize', ' obj: 0 v0', 'Subject To', ...rows.map((r, i) => ` r${i}: ${r}`), 'Binary', ...vars.map((v) => ` ${v}`), 'End', ''].join('\n');
}

export async function highsSolver(): Promise<ExactSolver> {
  let highs: Highs;
  try {
    const mod = (await import(HIGHS)) as { default: () => Promise<Highs> };
    highs = await mod.default();
  } catch (e) {
    throw new SolverUnavailableError('highs', 'highs', e);
  }
  return {
    name: 'highs',
    async solve({ encoding: enc, deadline }: SolveRequest): Promise<SolveOutcome> {
      if (enc.goal === FALSE) return { status: 'unsat' };
      const lp = lpText(enc);
      // Writing the LP counts against the limit; HiGHS's own time_limit covers parsing and the search.
      const seconds = (deadline - performance.now()) / 1000;
      if (seconds <= 0) return { status: 'timeout' };
      const r = highs.solve(lp, { time_limit: seconds, output_flag: false, presolve: 'on' });
      if (r.Status === 'Infeasible') return { status: 'unsat' };
      if (r.Status === 'Time limit reached') return { status: 'timeout' };
      if (r.Status !== 'Optimal') return { status: 'gave-up', detail: `HiGHS ended with status "${r.Status}"` };
      const cols = r.Columns;
      return { status: 'sat', inputs: Uint8Array.from(enc.inputs, (_, v) => ((cols[`v${v}`]?.Primal ?? 0) > 0.5 ? 1 : 0)) };
    },
    dispose() {},
  };
}
