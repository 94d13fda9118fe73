/**
 * Runs MiniSat (npm logic-solver, MiniSat compiled to JavaScript) on one CNF in a worker thread,
 * so that the main thread can end it at the time limit (MiniSat cannot be interrupted).
 * Message in: { vars, clauses } (DIMACS literals, ±(var + 1)); out: { sat, values? }.
 */
import { parentPort } from 'node:worker_threads';

interface LogicSolution {
  getTrueVars(): string[];
}
interface LogicSolver {
  require(formula: unknown): void;
  solve(): LogicSolution | null;
}
interface LogicModule {
  Solver: new () => LogicSolver;
  or(...terms: string[]): unknown;
  disablingAssertions<T>(f: () => T): T;
}

// Typed here: the package is optional, and may be absent at build time.
const LOGIC_SOLVER = 'logic-solver';
const mod = (await import(LOGIC_SOLVER)) as { default: LogicModule };
const Logic = mod.default;

parentPort!.on('message', (m: { vars: number; clauses: Int32Array[] }) => {
  const name = (l: number) => (l > 0 ? `v${l}` : `-v${-l}`);
  const result = Logic.disablingAssertions(() => {
    const solver = new Logic.Solver();
    for (const c of m.clauses) solver.require(Logic.or(...Array.from(c, name)));
    const sol = solver.solve();
    if (!sol) return { sat: false };
    const values = new Uint8Array(m.vars);
    for (const v of sol.getTrueVars()) if (v.startsWith('v')) values[Number(v.slice(1)) - 1] = 1;
    return { sat: true, values };
  });
  parentPort!.postMessage(result);
});
