/**
 * Batch norm (and ReLU, scale, bias) followed by sign, lowered to one exact comparison per
 * channel — the one place this happens; the runtime plan and the tfjs graph rebuilt from a .bnn
 * both take their thresholds from here.
 *
 * The deployed semantics of a binarized input is: +1 iff f(y) ≥ 0, where y is the value a layer
 * produced and f the chain of per-channel operations between it and the sign, evaluated in
 * float64 (`evalChain`: the constants are exact float64 numbers, every operation is one IEEE
 * float64 operation). Float64 rather than float32, because the sign of a batch-normalized value
 * near 0 is decided by cancellation: float32 rounds γ(y − μ)/σ + β = −2e−9 to 0 (+1) where
 * the real value is negative; float64 agrees with real arithmetic except within ~1e−16 of the
 * threshold. f is monotone in y (each operation is), so {y : f(y) ≥ 0} is a ray, and
 * `searchThreshold` finds its end exactly by bisection over the values y can take: the integers
 * of an accumulator's range, or every float32. The comparison "y ≥ t" (or "y ≤ t") is then
 * equivalent to evaluating f, for every possible y. Values that are *not* binarized (a residual
 * path, the logits) are computed in float32 with the constants rounded to float32.
 */

/** One per-channel operation of a chain, with float64 constants (one per channel). */
export type ChainOp = { readonly kind: 'mul'; readonly v: Float64Array } | { readonly kind: 'add'; readonly v: Float64Array } | { readonly kind: 'relu' };

/**
 * Batch norm in inference as two chain operations, x·a + b, with a = γ / √(σ² + ε) and
 * b = β − μ·a in float64 from the float32 parameters (ε the float32 value stored in the file).
 * Throws a RangeError naming the channel if a or b, or their float32 roundings (what float paths
 * compute with), are not finite (overflow on a crafted file).
 */
export function batchNormAffine(mean: Float32Array, variance: Float32Array, beta: Float32Array, gamma: Float32Array, epsilon: number): { a: Float64Array; b: Float64Array } {
  const c = mean.length;
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    a[i] = gamma[i]! / Math.sqrt(variance[i]! + epsilon);
    b[i] = beta[i]! - mean[i]! * a[i]!;
    if (!Number.isFinite(Math.fround(a[i]!)) || !Number.isFinite(Math.fround(b[i]!))) throw new RangeError(`batch norm channel ${i}: γ/√(σ²+ε) = ${a[i]} and β − μ·γ/√(σ²+ε) = ${b[i]} must be finite in float32`);
  }
  return { a, b };
}

/** The chain's constants rounded to float32: what the float paths (runtime kernels, tfjs) compute with. */
export function float32Op(op: ChainOp): { kind: ChainOp['kind']; v?: Float32Array } {
  return op.kind === 'relu' ? { kind: 'relu' } : { kind: op.kind, v: Float32Array.from(op.v) };
}

/** ReLU as the runtime computes it (wasm f32.max with +0): −0 → +0, NaN stays NaN. */
export function relu(x: number): number {
  return x !== x ? x : x > 0 ? x : 0;
}

/** f(y) for channel c, in float64. */
export function evalChain(ops: readonly ChainOp[], c: number, y: number): number {
  let x = y;
  for (const op of ops) {
    if (op.kind === 'mul') x = x * op.v[c]!;
    else if (op.kind === 'add') x = x + op.v[c]!;
    else x = relu(x);
  }
  return x;
}

/** Whether the chain is non-increasing in y for channel c (an odd number of negative factors). */
export function chainDecreasing(ops: readonly ChainOp[], c: number): boolean {
  let neg = false;
  for (const op of ops) if (op.kind === 'mul' && op.v[c]! < 0) neg = !neg;
  return neg;
}

/** +1 iff y ≥ t (`ge`), y ≤ t (`le`), for every y (`always`) or for none (`never`). */
export type ThresholdDirection = 'ge' | 'le' | 'always' | 'never';

export interface ChannelThreshold {
  readonly direction: ThresholdDirection;
  /** t, in the units of the domain (an integer accumulator value, or a float32). 0 for always / never. */
  readonly t: number;
}

/**
 * The values y may take. `int`: the integers lo..hi of an accumulator, with `value` the real
 * number it stands for, in float64 (monotone in the accumulator). `f32`: every finite float32.
 */
export type ThresholdDomain =
  | { readonly kind: 'int'; readonly lo: number; readonly hi: number; readonly value: (acc: number, c: number) => number }
  | { readonly kind: 'f32' };

const MAX_F32 = 3.4028234663852886e38;
const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);

/** float32 → an unsigned key with the same order (−∞ … −0, +0 … +∞); NaNs fall outside keyOf(±∞). */
function keyOf(x: number): number {
  f32Bits[0] = x;
  const b = u32Bits[0]!;
  return b >= 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
}

function floatOfKey(k: number): number {
  u32Bits[0] = k >= 0x80000000 ? (k & 0x7fffffff) >>> 0 : ~k >>> 0;
  return f32Bits[0]!;
}

/**
 * The exact threshold of sign(f(y)) for channel c over a domain: bisection on the predicate
 * f(y) ≥ 0 (false for NaN), which is monotone because f is.
 */
export function searchThreshold(ops: readonly ChainOp[], c: number, domain: ThresholdDomain): ChannelThreshold {
  let lo: number;
  let hi: number;
  let at: (k: number) => boolean;
  let unit: (k: number) => number;
  if (domain.kind === 'int') {
    lo = domain.lo;
    hi = domain.hi;
    at = (k) => evalChain(ops, c, domain.value(k, c)) >= 0;
    unit = (k) => k;
  } else {
    // Finite values only: f(±∞) may be NaN (∞·0 where γ = 0) although f is constant on every
    // finite y. An infinite y (an overflowed float sum) then takes the comparison's side, which
    // is the sign f has on the largest finite values of that sign.
    lo = keyOf(-MAX_F32);
    hi = keyOf(MAX_F32);
    at = (k) => evalChain(ops, c, floatOfKey(k)) >= 0;
    unit = floatOfKey;
  }
  const pLo = at(lo);
  const pHi = at(hi);
  if (pLo === pHi) return { direction: pLo ? 'always' : 'never', t: 0 };
  // Invariant: at(lo) === pLo, at(hi) === pHi; find the boundary between them.
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (at(mid) === pLo) lo = mid;
    else hi = mid;
  }
  // Rising (false … true): +1 iff y ≥ first true. Falling (true … false): +1 iff y ≤ last true.
  return pHi ? { direction: 'ge', t: unit(hi) } : { direction: 'le', t: unit(lo) };
}

/** Thresholds of every channel. */
export function searchThresholds(ops: readonly ChainOp[], channels: number, domain: ThresholdDomain): ChannelThreshold[] {
  return Array.from({ length: channels }, (_, c) => searchThreshold(ops, c, domain));
}

/**
 * Integer thresholds in the runtime kernel's convention, +1 iff (flip ? acc ≥ thr : acc ≤ thr)
 * (thresholdPackI32, qconv's is the mirror: see `int8Kernel`): always / never become bounds just
 * outside [lo, hi].
 */
export function accKernelThresholds(th: readonly ChannelThreshold[], lo: number, hi: number): { thr: Int32Array; flip: Int32Array } {
  const thr = new Int32Array(th.length);
  const flip = new Int32Array(th.length);
  th.forEach((x, i) => {
    if (x.direction === 'always') thr[i] = hi + 1;
    else if (x.direction === 'never') thr[i] = lo - 1;
    else if (x.direction === 'le') thr[i] = x.t;
    else {
      thr[i] = x.t;
      flip[i] = 1;
    }
  });
  return { thr, flip };
}

/**
 * Float thresholds in the float kernels' convention, +1 iff (flip ? y ≤ thr : y ≥ thr), NaN → −1:
 * always = y ≥ −∞, never = y ≥ NaN (false for every y). A finite t extends the rule to y = ±∞.
 */
export function floatKernelThresholds(th: readonly ChannelThreshold[]): { thr: Float32Array; flip: Int32Array } {
  const thr = new Float32Array(th.length);
  const flip = new Int32Array(th.length);
  th.forEach((x, i) => {
    if (x.direction === 'always') thr[i] = -Infinity;
    else if (x.direction === 'never') thr[i] = NaN;
    else {
      thr[i] = x.t;
      flip[i] = x.direction === 'le' ? 1 : 0;
    }
  });
  return { thr, flip };
}

/**
 * Thresholds for the int8 kernel (qconv2dThresholdPack): +1 iff (flip ? acc ≤ thr : acc ≥ thr),
 * the mirror of thresholdPackI32's convention.
 */
export function int8KernelThresholds(th: readonly ChannelThreshold[], lo: number, hi: number): { thr: Int32Array; flip: Int32Array } {
  const thr = new Int32Array(th.length);
  const flip = new Int32Array(th.length);
  th.forEach((x, i) => {
    if (x.direction === 'always') thr[i] = lo - 1;
    else if (x.direction === 'never') thr[i] = hi + 1;
    else if (x.direction === 'ge') thr[i] = x.t;
    else {
      thr[i] = x.t;
      flip[i] = 1;
    }
  });
  return { thr, flip };
}
