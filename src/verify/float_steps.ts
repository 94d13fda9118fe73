/**
 * Bounds through the float32 steps of a plan: convolutions, dense layers and pools as sums with
 * the order-free error margin of float.ts, and one-operation steps (chains, adds, max-pools,
 * conversions) on the ends of each interval, which float32's monotone rounding makes exact.
 * Interval arithmetic: sound, loose where values are correlated.
 */
import type { AccMeaning, ChainStep, ConvStep, DenseStep, Geometry2d } from '../model/lower.js';
import type { Shape3 } from '../model/graph.js';
import { rangeValue, UnboundedError, type RangeValue } from './domain.js';
import { monotone, sumBounds } from './float.js';

/** Refuses ends a float32 computation cannot stay within (an overflow to ±∞ could make NaN downstream). */
export function requireFinite(v: RangeValue, what: string): RangeValue {
  for (let i = 0; i < v.lo.length; i++) {
    if (!Number.isFinite(v.lo[i]!) || !Number.isFinite(v.hi[i]!)) throw new UnboundedError(`${what}: a float32 value may overflow`);
  }
  return v;
}

/** Float conv (zero padding: taps outside skipped), HWIO weights. */
export function convBounds(s: ConvStep, input: RangeValue, outShape: Shape3): RangeValue {
  const [h, w, cin] = input.shape;
  const [oh, ow, cout] = outShape;
  const g = s.g;
  const out = rangeValue(outShape);
  const lo = new Float64Array(cout);
  const hi = new Float64Array(cout);
  const mag = new Float64Array(cout);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++) {
      lo.fill(0), hi.fill(0), mag.fill(0);
      let taps = 0;
      for (let ky = 0; ky < g.kh; ky++) {
        const y = oy * g.sh - g.padTop + ky;
        if (y < 0 || y >= h) continue;
        for (let kx = 0; kx < g.kw; kx++) {
          const x = ox * g.sw - g.padLeft + kx;
          if (x < 0 || x >= w) continue;
          for (let ci = 0; ci < cin; ci++) {
            taps++;
            const p = (y * w + x) * cin + ci;
            const row = ((ky * g.kw + kx) * cin + ci) * cout;
            addTerms(input.lo[p]!, input.hi[p]!, s.weights, row, cout, lo, hi, mag);
          }
        }
      }
      const at = (oy * ow + ox) * cout;
      for (let o = 0; o < cout; o++) [out.lo[at + o], out.hi[at + o]] = sumBounds(lo[o]!, hi[o]!, mag[o]!, Math.max(taps, 1));
    }
  return requireFinite(out, s.layer);
}

/** x ∈ [xl, xh] times each weight w[row + o]: the real ranges and magnitudes accumulate per output. */
function addTerms(xl: number, xh: number, weights: Float32Array, row: number, cout: number, lo: Float64Array, hi: Float64Array, mag: Float64Array): void {
  const m = Math.max(Math.abs(xl), Math.abs(xh));
  for (let o = 0; o < cout; o++) {
    const wt = weights[row + o]!;
    if (wt >= 0) (lo[o]! += xl * wt), (hi[o]! += xh * wt);
    else (lo[o]! += xh * wt), (hi[o]! += xl * wt);
    mag[o]! += m * Math.abs(wt);
  }
}

/** Dense layer, weights [in, units], over the input's elements in (h, w, c) order. */
export function denseBounds(s: DenseStep, input: RangeValue, outShape: Shape3): RangeValue {
  const units = outShape[2];
  const fin = input.lo.length;
  const lo = new Float64Array(units);
  const hi = new Float64Array(units);
  const mag = new Float64Array(units);
  for (let i = 0; i < fin; i++) addTerms(input.lo[i]!, input.hi[i]!, s.weights, i * units, units, lo, hi, mag);
  const out = rangeValue(outShape);
  for (let o = 0; o < units; o++) [out.lo[o], out.hi[o]] = sumBounds(lo[o]!, hi[o]!, mag[o]!, fin);
  return requireFinite(out, s.layer);
}

/** Per-channel operations in float32, one at a time (constants rounded to float32, as the runtime's chain). */
export function chainBounds(s: ChainStep, input: RangeValue): RangeValue {
  const c = input.shape[2];
  const out = rangeValue(input.shape);
  out.lo.set(input.lo);
  out.hi.set(input.hi);
  for (const op of s.ops) {
    const v = op.kind === 'relu' ? null : Float32Array.from(op.v);
    for (let i = 0; i < out.lo.length; i++) {
      const k = v ? v[i % c]! : 0;
      const f = op.kind === 'mul' ? (x: number) => x * k : op.kind === 'add' ? (x: number) => x + k : (x: number) => (x > 0 ? x : 0);
      [out.lo[i], out.hi[i]] = monotone(out.lo[i]!, out.hi[i]!, f);
    }
    requireFinite(out, s.layer);
  }
  return out;
}

/** f32(n − 2·acc) (popcount) or f32(n − acc) (doubled): a decreasing conversion of exact integers. */
export function accToF32Bounds(acc: AccMeaning, input: RangeValue, layer: string): RangeValue {
  if (acc.mode === 'int8') throw new UnboundedError(`${layer}: an int8 accumulator used as floats`);
  const out = rangeValue(input.shape);
  const k = acc.mode === 'popcount' ? 2 : 1;
  for (let i = 0; i < out.lo.length; i++) [out.lo[i], out.hi[i]] = monotone(input.lo[i]!, input.hi[i]!, (a) => acc.n - k * a);
  return out;
}

/** Max-pool (taps inside the input) or average pool (the taps' float32 sum, then one division by their count). */
export function poolBounds(op: 'maxPool' | 'avgPool', g: Geometry2d, input: RangeValue, outShape: Shape3, layer: string): RangeValue {
  const [h, w, c] = input.shape;
  const [oh, ow] = outShape;
  const out = rangeValue(outShape);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let ch = 0; ch < c; ch++) {
        let lo = op === 'maxPool' ? -Infinity : 0;
        let hi = lo;
        let mag = 0;
        let count = 0;
        for (let ky = 0; ky < g.kh; ky++) {
          const y = oy * g.sh - g.padTop + ky;
          if (y < 0 || y >= h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const x = ox * g.sw - g.padLeft + kx;
            if (x < 0 || x >= w) continue;
            const p = (y * w + x) * c + ch;
            count++;
            if (op === 'maxPool') (lo = Math.max(lo, input.lo[p]!)), (hi = Math.max(hi, input.hi[p]!));
            else (lo += input.lo[p]!), (hi += input.hi[p]!), (mag += Math.max(Math.abs(input.lo[p]!), Math.abs(input.hi[p]!)));
          }
        }
        const i = (oy * ow + ox) * c + ch;
        if (op === 'maxPool') [out.lo[i], out.hi[i]] = [lo, hi];
        else [out.lo[i], out.hi[i]] = averaged(lo, hi, mag, count);
      }
  return requireFinite(out, layer);
}

/** The float32 sum of `count` values with real range [lo, hi], divided by f32(count). */
function averaged(lo: number, hi: number, mag: number, count: number): readonly [number, number] {
  const [sl, sh] = sumBounds(lo, hi, mag, count);
  const d = Math.fround(count);
  return monotone(sl, sh, (x) => x / d);
}

/** Global average pool: per channel the float32 sum over pixels, divided by f32(h·w). */
export function globalAvgPoolBounds(input: RangeValue, outShape: Shape3, layer: string): RangeValue {
  const [h, w, c] = input.shape;
  const out = rangeValue(outShape);
  for (let ch = 0; ch < c; ch++) {
    let lo = 0;
    let hi = 0;
    let mag = 0;
    for (let p = 0; p < h * w; p++) {
      const i = p * c + ch;
      lo += input.lo[i]!;
      hi += input.hi[i]!;
      mag += Math.max(Math.abs(input.lo[i]!), Math.abs(input.hi[i]!));
    }
    [out.lo[ch], out.hi[ch]] = averaged(lo, hi, mag, h * w);
  }
  return requireFinite(out, layer);
}

/** a + b elementwise in float32. */
export function addBounds(a: RangeValue, b: RangeValue, layer: string): RangeValue {
  const out = rangeValue(a.shape);
  for (let i = 0; i < out.lo.length; i++) {
    out.lo[i] = Math.fround(a.lo[i]! + b.lo[i]!);
    out.hi[i] = Math.fround(a.hi[i]! + b.hi[i]!);
  }
  return requireFinite(out, layer);
}
