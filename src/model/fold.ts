/**
 * Folding a binary layer's input transform — the previous layer's ReLU and SReLU scale, then
 * batch norm, then sign — into one comparison per channel on the previous layer's
 * pre-activation y:
 *
 *   +1  ⟺  γ·(s·relu(y) − μ)/√(σ²+ε) + β ≥ 0  ⟺  α·relu(y) + b ≥ 0,   α = s·γ/√(σ²+ε), b = β − μ·γ/√(σ²+ε)
 *
 * α > 0: relu(y) ≥ t = −b/α, i.e. always when t ≤ 0, else y ≥ t.
 * α < 0: relu(y) ≤ t, i.e. never when t < 0, else y ≤ t.
 * α = 0: the sign of b.
 *
 * This is the deployed semantics: the runtime (on integers or floats) and the tfjs graph rebuilt
 * from a .bnn both use exactly these thresholds, so they agree bit for bit given the same y.
 */
import type { BatchNormParams } from '../format/model.js';

export type FoldDirection = 'ge' | 'le' | 'always' | 'never';

export interface FoldedChannel {
  readonly direction: FoldDirection;
  /** Threshold t on y (meaningful for 'ge' / 'le'). */
  readonly threshold: number;
  /** α, the slope of the pre-sign value in relu(y): the straight-through gradient's scale. */
  readonly slope: number;
}

export function foldBinaryInput(bn: BatchNormParams, epsilon: number, prevScale = 1): FoldedChannel[] {
  const out: FoldedChannel[] = [];
  for (let c = 0; c < bn.mean.length; c++) {
    const a = bn.gamma[c]! / Math.sqrt(bn.variance[c]! + epsilon);
    const slope = prevScale * a;
    const b = bn.beta[c]! - bn.mean[c]! * a;
    let direction: FoldDirection;
    let threshold = 0;
    if (slope > 0) {
      threshold = -b / slope;
      direction = threshold <= 0 ? 'always' : 'ge';
    } else if (slope < 0) {
      threshold = -b / slope;
      direction = threshold < 0 ? 'never' : 'le';
    } else {
      direction = b >= 0 ? 'always' : 'never';
    }
    out.push({ direction, threshold, slope });
  }
  return out;
}

/**
 * Thresholds for a float y (e.g. conv1's output): +1 iff (flip ? y ≤ thr : y ≥ thr), compared
 * in float32. The float32 threshold is part of the deployed semantics.
 */
export function floatThresholds(ch: readonly FoldedChannel[]): { thr: Float32Array; flip: Int32Array } {
  const thr = new Float32Array(ch.length);
  const flip = new Int32Array(ch.length);
  ch.forEach((c, i) => {
    if (c.direction === 'always') thr[i] = -Infinity;
    else if (c.direction === 'never') thr[i] = Infinity;
    else thr[i] = c.threshold;
    flip[i] = c.direction === 'le' ? 1 : 0;
  });
  return { thr, flip };
}

/**
 * Thresholds for an integer y (a binary conv's ±1 dot product): +1 iff (flip ? y ≤ thr : y ≥ thr)
 * with integer thr; `always` / `never` become bounds outside [−n, n].
 */
export function integerThresholds(ch: readonly FoldedChannel[], n: number): { thr: Int32Array; flip: Int32Array } {
  return roundedThresholds(ch, n, (c) => c.threshold);
}

/**
 * Integer thresholds on a value v with |v| ≤ bound whose real counterpart y relates to it by
 * y ≥ t ⟺ v ≥ toV(t) (monotone increasing): ⌈toV(t)⌉ for ≥, ⌊toV(t)⌋ for ≤, clamped just
 * outside [−bound, bound], which is also where `always` / `never` go.
 */
function roundedThresholds(ch: readonly FoldedChannel[], bound: number, toV: (c: FoldedChannel, i: number) => number): { thr: Int32Array; flip: Int32Array } {
  const thr = new Int32Array(ch.length);
  const flip = new Int32Array(ch.length);
  const clamp = (v: number) => Math.max(-bound - 1, Math.min(bound + 1, v));
  ch.forEach((c, i) => {
    if (c.direction === 'always') thr[i] = -bound - 1;
    else if (c.direction === 'never') thr[i] = bound + 1;
    else if (c.direction === 'ge') thr[i] = clamp(Math.ceil(toV(c, i)));
    else {
      thr[i] = clamp(Math.floor(toV(c, i)));
      flip[i] = 1;
    }
  });
  return { thr, flip };
}

/**
 * The same integer thresholds expressed on P = popcount(x XOR w), since y = n − 2P:
 * y ≥ t ⟺ P ≤ ⌊(n − t)/2⌋ and y ≤ t ⟺ P ≥ ⌈(n − t)/2⌉. +1 iff (flip ? P ≥ thr : P ≤ thr).
 */
export function popcountThresholds(ch: readonly FoldedChannel[], n: number): { thr: Int32Array; flip: Int32Array } {
  const { thr: yThr, flip } = integerThresholds(ch, n);
  const thr = new Int32Array(ch.length);
  for (let i = 0; i < ch.length; i++) {
    // y ≤ t ⟺ P ≥ ⌈(n−t)/2⌉ (flip); y ≥ t ⟺ P ≤ ⌊(n−t)/2⌋.
    thr[i] = flip[i] ? Math.ceil((n - yThr[i]!) / 2) : Math.floor((n - yThr[i]!) / 2);
  }
  return { thr, flip };
}

/**
 * Thresholds for a quantized first layer (see ConvLayerSpec.quantized): its output is the integer
 * acc with real value y = acc · scale[c] / 255, so y ≥ t ⟺ acc ≥ ⌈t·255/scale⌉ and
 * y ≤ t ⟺ acc ≤ ⌊t·255/scale⌋. +1 iff (flip ? acc ≤ thr : acc ≥ thr); |acc| ≤ maxAbs.
 * Also returns the straight-through slope per unit of acc, α · scale / 255.
 */
export function quantizedThresholds(ch: readonly FoldedChannel[], scale: Float32Array, maxAbs: number): { thr: Int32Array; flip: Int32Array; slope: Float32Array } {
  const { thr, flip } = roundedThresholds(ch, maxAbs, (c, i) => (c.threshold * 255) / scale[i]!);
  return { thr, flip, slope: Float32Array.from(ch, (c, i) => (c.slope * scale[i]!) / 255) };
}

/** Largest |acc| of a quantized layer with weights [kh, kw, cin, ·]: taps · 255 · 127. */
export function quantizedMaxAbs(weightShape: readonly number[]): number {
  const [kh, kw, cin] = weightShape as [number, number, number];
  return kh * kw * cin * 255 * 127;
}
