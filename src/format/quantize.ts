/**
 * Integer first layer: the image as u8 and the weights as int8 with one scale per output channel.
 * Both the runtime and the tfjs rebuild use exactly these definitions, so their integer sums —
 * and the bits thresholded from them — are identical.
 */

/** q = floor(x·255 + 0.5), each step in float32 (as the runtime's kernel computes it). */
export function quantizePixel(x: number): number {
  const q = Math.floor(Math.fround(Math.fround(x * 255) + 0.5));
  return q < 0 ? 0 : q > 255 ? 255 : q;
}

/**
 * Symmetric per-output-channel int8 quantization of HWIO weights (last axis = cout):
 * scale[c] = max|w[·][c]| / 127 (1 for an all-zero channel), q = round(w / scale) ∈ [−127, 127].
 */
export function quantizeWeightsPerChannel(w: ArrayLike<number>, cout: number): { q: Int8Array; scale: Float32Array } {
  const maxAbs = new Float64Array(cout);
  for (let i = 0; i < w.length; i++) maxAbs[i % cout] = Math.max(maxAbs[i % cout]!, Math.abs(w[i]!));
  const scale = Float32Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / scale[i % cout]!)));
  return { q, scale };
}
