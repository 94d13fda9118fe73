/**
 * The exact stage for one image: encode, solve, and for a solution decode it into a float image
 * of the ball and replay it on the runtime — a counterexample counts only if the runtime
 * misclassifies it.
 */
import { nextFloat32 } from '../../attacks/box.js';
import type { ExecutionPlan } from '../../model/lower.js';
import type { BnnRuntime } from '../../runtime/index.js';
import { quantizeU8 } from '../binary_steps.js';
import type { RangeValue } from '../domain.js';
import { verificationBox } from '../bounds.js';
import { encode, NotEncodableError, type Encoding } from './encode.js';
import type { ExactSolver } from './solver.js';

export type ExactVerdict =
  | { readonly verdict: 'verified' }
  | { readonly verdict: 'counterexample'; readonly input: Float32Array }
  | { readonly verdict: 'unknown'; readonly reason: 'timeout' | 'not-encodable' | 'solver-gave-up' | 'runtime-disagrees'; readonly detail?: string };

/** Per input variable its value at the image: q0 ≥ cut. */
export function centerAssignment(enc: Encoding, x0: Float32Array): Uint8Array {
  return Uint8Array.from(enc.inputs, (v) => (quantizeU8(x0[v.pixel]!) >= v.cut ? 1 : 0));
}

/** The u8 level of each pixel an assignment of the input variables asks for (the lowest one it allows). */
export function decodeLevels(enc: Encoding, x0: Float32Array, inputs: Uint8Array): Int32Array {
  const q = Int32Array.from(x0, quantizeU8);
  const touched = new Set<number>();
  enc.inputs.forEach((v, i) => {
    if (!touched.has(v.pixel)) (q[v.pixel] = enc.qlo[v.pixel]!), touched.add(v.pixel);
    if (inputs[i]) q[v.pixel] = Math.max(q[v.pixel]!, v.cut);
  });
  return q;
}

/** A float32 in [lo, hi] whose u8 quantisation is q (x0 itself if it already is), or null. */
export function pixelFor(q: number, x0: number, lo: number, hi: number): number | null {
  if (quantizeU8(x0) === q) return x0;
  const guess = Math.fround(q / 255);
  if (guess >= lo && guess <= hi && quantizeU8(guess) === q) return guess;
  // Bisection over the float32 values of [lo, hi] (quantisation is monotone): the first with level ≥ q.
  if (quantizeU8(hi) < q || quantizeU8(lo) > q) return null;
  let a = lo;
  let b = hi;
  if (quantizeU8(a) >= q) return quantizeU8(a) === q ? a : null;
  for (let i = 0; i < 200 && nextFloat32(a, 1) < b; i++) {
    const mid = Math.fround(a + (b - a) / 2);
    const m = mid <= a ? nextFloat32(a, 1) : mid >= b ? nextFloat32(b, -1) : mid;
    if (quantizeU8(m) >= q) b = m;
    else a = m;
  }
  return quantizeU8(b) === q ? b : null;
}

/** The float image of the ball for the levels q (null if some level is outside a pixel's range). */
export function imageForLevels(q: Int32Array, x0: Float32Array, box: RangeValue): Float32Array | null {
  const x = new Float32Array(x0.length);
  for (let p = 0; p < x0.length; p++) {
    const v = pixelFor(q[p]!, x0[p]!, box.lo[p]!, box.hi[p]!);
    if (v === null) return null;
    x[p] = v;
  }
  return x;
}

/** The exact verdict for one image and label, with the solver given until `deadline` (performance.now()). */
export async function exactVerdict(plan: ExecutionPlan, rt: BnnRuntime, solver: ExactSolver, x0: Float32Array, eps: number, label: number, deadline: number): Promise<ExactVerdict> {
  const box = verificationBox(plan, x0, eps);
  let enc: Encoding;
  try {
    enc = encode(plan, box, label);
  } catch (e) {
    if (e instanceof NotEncodableError) return { verdict: 'unknown', reason: 'not-encodable', detail: e.message };
    throw e;
  }
  const out = await solver.solve({ encoding: enc, deadline, center: centerAssignment(enc, x0) });
  if (out.status === 'unsat') return { verdict: 'verified' };
  if (out.status === 'timeout') return { verdict: 'unknown', reason: 'timeout', ...(out.detail ? { detail: out.detail } : {}) };
  if (out.status === 'gave-up') return { verdict: 'unknown', reason: 'solver-gave-up', detail: out.detail };
  const x = imageForLevels(decodeLevels(enc, x0, out.inputs), x0, box);
  if (!x) return { verdict: 'unknown', reason: 'runtime-disagrees', detail: `${solver.name}: the solution asks for a pixel level outside the ball` };
  if (rt.predict(x, 1)[0] !== label) return { verdict: 'counterexample', input: x };
  return { verdict: 'unknown', reason: 'runtime-disagrees', detail: `${solver.name}: the runtime classifies the solver's counterexample correctly` };
}
