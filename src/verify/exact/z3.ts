/**
 * z3 (npm z3-solver, WebAssembly; optional): each constraint as out = AtLeast(lits, k), z3's
 * native pseudo-Boolean constraint, the clauses as Or, the goal asserted; its time limit is z3's
 * own `timeout` parameter. z3 runs in a worker thread (z3_worker.ts), which is ended if z3 does
 * not keep that limit, and started afresh for the next encoding.
 */
import { Worker } from 'node:worker_threads';
import type { Z3Answer } from './z3_worker.js';
import { SolverUnavailableError, type ExactSolver, type SolveOutcome, type SolveRequest } from './solver.js';

const Z3 = 'z3-solver';
/** How long past the deadline z3 may take to notice its own time limit before its thread is ended. */
const GRACE_MS = 1000;

type Reply = Z3Answer | { status: 'ready' } | { status: 'error'; message: string };

/** A started worker with z3 loaded (its start-up does not count against any one encoding's limit). */
async function startWorker(script: URL): Promise<Worker> {
  const w = new Worker(script);
  await new Promise<void>((resolve, reject) => {
    const done = (v: Reply | Error | number) => {
      w.off('message', done).off('error', done).off('exit', done);
      if (typeof v === 'object' && 'status' in v && v.status === 'ready') resolve();
      else reject(v instanceof Error ? v : new Error(`the z3 worker did not start: ${JSON.stringify(v)}`));
    };
    w.on('message', done).on('error', done).on('exit', done);
  });
  return w;
}

export async function z3Solver(): Promise<ExactSolver> {
  try {
    await import(Z3);
  } catch (e) {
    throw new SolverUnavailableError('z3', 'z3-solver', e);
  }
  const script = new URL('./z3_worker.js', import.meta.url);
  let worker: Worker | null = await startWorker(script);
  return {
    name: 'z3',
    async solve({ encoding, deadline }: SolveRequest): Promise<SolveOutcome> {
      const w = (worker ??= await startWorker(script));
      const ms = Math.floor(deadline - performance.now());
      if (ms <= 0) return { status: 'timeout' };
      const answer = await new Promise<Reply | 'overrun' | Error>((resolve) => {
        const timer = setTimeout(() => resolve('overrun'), ms + GRACE_MS);
        const exit = (code: number) => done(new Error(`the z3 worker exited with code ${code}`));
        const done = (v: Reply | Error) => (clearTimeout(timer), w.off('message', done).off('error', done).off('exit', exit), resolve(v));
        w.on('message', done).on('error', done).on('exit', exit);
        w.postMessage({ encoding, ms });
      });
      if (answer === 'overrun' || answer instanceof Error || answer.status === 'error' || answer.status === 'ready') {
        void w.terminate();
        worker = null;
        if (answer === 'overrun') return { status: 'timeout', detail: `z3 overran its time limit by ${GRACE_MS} ms; its thread was ended` };
        // A failure inside z3 (e.g. its wasm memory) leaves the image unknown.
        return { status: 'gave-up', detail: `z3 failed: ${answer instanceof Error ? answer.message : JSON.stringify(answer)}` };
      }
      if (answer.status === 'unsat') return { status: 'unsat' };
      if (answer.status === 'unknown') return { status: 'timeout' };
      return { status: 'sat', inputs: answer.inputs };
    },
    dispose() {
      void worker?.terminate();
      worker = null;
    },
  };
}
