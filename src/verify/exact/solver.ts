/**
 * What an exact solver answers for an encoding (encode.ts), and the solvers by name. The
 * heavyweight ones are optional dependencies, loaded only when asked for.
 */
import type { Encoding } from './encode.js';

export type ExactSolverName = 'bab' | 'bab-wasm' | 'z3' | 'highs' | 'minisat';
export const EXACT_SOLVERS: readonly ExactSolverName[] = ['bab', 'bab-wasm', 'z3', 'highs', 'minisat'];

export type SolveOutcome =
  /** No input of the ball satisfies the goal: the label holds on the whole ball. */
  | { readonly status: 'unsat' }
  /** A value per input variable satisfying every constraint and the goal. */
  | { readonly status: 'sat'; readonly inputs: Uint8Array }
  /** The time limit was reached first. */
  | { readonly status: 'timeout'; readonly detail?: string }
  /** The solver stopped without an answer before its time was up: a size or memory limit, or a failure inside it. */
  | { readonly status: 'gave-up'; readonly detail: string };

export interface SolveRequest {
  readonly encoding: Encoding;
  /** performance.now() after which the solver gives up. */
  readonly deadline: number;
  /** Per input variable its value at the image itself (search heuristics may start away from it). */
  readonly center?: Uint8Array;
  /** bab / bab-wasm: conflicts before the first restart, 0 for none (default: bab.ts's defaultRestartUnit; small values test the restarts). */
  readonly restartUnit?: number;
}

export interface ExactSolver {
  readonly name: ExactSolverName;
  solve(request: SolveRequest): Promise<SolveOutcome>;
  /** Frees what the solver holds (workers, wasm contexts). */
  dispose(): void;
}

/** An optional solver package that is not installed. */
export class SolverUnavailableError extends Error {
  override readonly name = 'SolverUnavailableError';
  constructor(
    readonly solver: ExactSolverName,
    readonly packageName: string,
    cause: unknown,
  ) {
    super(`solver ${solver} needs the optional package ${packageName}, which is not installed (npm install ${packageName}): ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Loads a solver by name (dynamic imports: the optional packages load only here). */
export async function loadSolver(name: ExactSolverName): Promise<ExactSolver> {
  switch (name) {
    case 'bab':
      return (await import('./bab.js')).babSolver();
    case 'bab-wasm':
      return (await import('./bab_wasm.js')).babWasmSolver();
    case 'z3':
      return (await import('./z3.js')).z3Solver();
    case 'highs':
      return (await import('./highs.js')).highsSolver();
    case 'minisat':
      return (await import('./minisat.js')).minisatSolver();
  }
}
