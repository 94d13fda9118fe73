/**
 * `bab-wasm`: bab.ts's search plus conflict-driven clause learning, compiled from AssemblyScript
 * (assembly/exact_bab.ts → build/exact-bab.wasm, `npm run build:exact`; not part of the runtime's
 * module). The host lays out the encoding's arrays (cardinalityLayout) in the module's memory and
 * calls solve().
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cardinalityLayout, decisionOrder, defaultRestartUnit } from './bab.js';
import { FALSE, TRUE } from './encode.js';
import { SolverUnavailableError, type ExactSolver, type SolveOutcome, type SolveRequest } from './solver.js';

interface ExactBabExports {
  readonly memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  reset(): void;
  solve(vars: number, cards: number, cardOut: number, cardK: number, cardStart: number, cardLits: number, occStart: number, occ: number, defCard: number, roots: number, nRoots: number, order: number, first: number, nInputs: number, valuesOut: number, deadline: number, restartUnit: number): number;
}

const WASM = new URL('../../../../build/exact-bab.wasm', import.meta.url);

export async function babWasmSolver(): Promise<ExactSolver> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(fileURLToPath(WASM));
  } catch (e) {
    throw new SolverUnavailableError('bab-wasm', 'build/exact-bab.wasm (npm run build:exact)', e);
  }
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(new Uint8Array(bytes)), {
    env: {
      now: () => performance.now(),
      abort: () => {
        throw new Error('exact-bab.wasm aborted');
      },
    },
  });
  const ex = instance.exports as unknown as ExactBabExports;
  const put = (a: Int32Array | Uint8Array): number => {
    const at = ex.alloc(Math.max(4, a.byteLength));
    new Uint8Array(ex.memory.buffer, at, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return at;
  };
  return {
    name: 'bab-wasm',
    async solve({ encoding: enc, deadline, center, restartUnit }: SolveRequest): Promise<SolveOutcome> {
      if (enc.goal === FALSE) return { status: 'unsat' };
      const inputs = enc.inputs.length;
      if (enc.goal === TRUE && enc.clauses.length === 0) return { status: 'sat', inputs: center ? Uint8Array.from(center) : new Uint8Array(inputs) };
      const l = cardinalityLayout(enc);
      const { order, first } = decisionOrder(l, inputs, center);
      ex.reset();
      const args = [l.cardOut, l.cardK, l.cardStart, l.cardLits, l.occStart, l.occ, l.defCard].map(put);
      const roots = put(l.roots);
      const orderAt = put(order);
      const firstAt = put(first);
      const out = ex.alloc(Math.max(4, inputs));
      const r = ex.solve(l.vars, l.cardK.length, args[0]!, args[1]!, args[2]!, args[3]!, args[4]!, args[5]!, args[6]!, roots, l.roots.length, orderAt, firstAt, inputs, out, deadline, restartUnit ?? defaultRestartUnit(inputs));
      if (r === 0) return { status: 'unsat' };
      if (r === 2) return { status: 'timeout' };
      return { status: 'sat', inputs: new Uint8Array(ex.memory.buffer, out, inputs).slice() };
    },
    dispose() {},
  };
}
