/**
 * Bounds through the integer and bit steps of a plan, which the runtime computes exactly: the u8
 * input quantisation, the int8 first layer with its threshold, float / accumulator thresholds,
 * bit padding, XOR-popcount convolutions and max-pools of bits. Each is exact per element (the
 * range of every unit over the box); only the dependence between units is lost.
 */
import { wordsPerPixel } from '../format/layout.js';
import type { BconvStep, BitMaxPoolStep, BitPadStep, QconvThresholdStep, ThresholdStep } from '../model/lower.js';
import type { Shape3 } from '../model/graph.js';
import { popcount32 } from '../format/bits.js';
import { bitsValue, rangeValue, setBit, type BitsValue, type RangeValue } from './domain.js';

/** The runtime's u8 quantisation, clamp(⌊f32(f32(x·255) + ½)⌋, 0, 255) (assembly/qconv.ts): monotone in x. */
export function quantizeU8(x: number): number {
  const q = Math.floor(Math.fround(Math.fround(x * 255) + 0.5));
  return q !== q ? 0 : q < 0 ? 0 : q > 255 ? 255 : q;
}

export function quantizeU8Bounds(input: RangeValue, shape: Shape3): RangeValue {
  const out = rangeValue(shape);
  for (let i = 0; i < out.lo.length; i++) {
    out.lo[i] = quantizeU8(input.lo[i]!);
    out.hi[i] = quantizeU8(input.hi[i]!);
  }
  return out;
}

/** Which of +1 / −1 a comparison allows over [lo, hi]: fixed when the whole range is on one side. */
function decide(lo: number, hi: number, plusAt: (x: number) => boolean): 'plus' | 'minus' | 'free' {
  // plusAt is monotone on the range (a threshold comparison), so its ends decide it.
  const a = plusAt(lo);
  const b = plusAt(hi);
  return a && b ? 'plus' : !a && !b ? 'minus' : 'free';
}

/** int8 conv on the u8 box (exact integer range per unit), then its threshold: +1 iff (flip ? acc ≤ thr : acc ≥ thr). */
export function qconvThresholdBounds(s: QconvThresholdStep, u8: RangeValue, outShape: Shape3): BitsValue {
  const [h, w, cin] = u8.shape;
  const [oh, ow, cout] = outShape;
  const { g, weightsI8 } = s;
  const out = bitsValue(outShape);
  const lo = new Float64Array(cout);
  const hi = new Float64Array(cout);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++) {
      lo.fill(0);
      hi.fill(0);
      for (let ky = 0; ky < g.kh; ky++) {
        const y = oy * g.sh - g.padTop + ky;
        if (y < 0 || y >= h) continue;
        for (let kx = 0; kx < g.kw; kx++) {
          const x = ox * g.sw - g.padLeft + kx;
          if (x < 0 || x >= w) continue;
          for (let ci = 0; ci < cin; ci++) {
            const p = (y * w + x) * cin + ci;
            const ql = u8.lo[p]!;
            const qh = u8.hi[p]!;
            const row = ((ky * g.kw + kx) * cin + ci) * cout;
            for (let o = 0; o < cout; o++) {
              const q = weightsI8[row + o]!;
              if (q >= 0) (lo[o]! += q * ql), (hi[o]! += q * qh);
              else (lo[o]! += q * qh), (hi[o]! += q * ql);
            }
          }
        }
      }
      const pixel = oy * ow + ox;
      for (let o = 0; o < cout; o++) {
        const t = s.thr[o]!;
        setBit(out, pixel, o, decide(lo[o]!, hi[o]!, s.flip[o] ? (a) => a <= t : (a) => a >= t));
      }
    }
  return out;
}

/**
 * A threshold on floats (+1 iff (flip ? y ≤ thr : y ≥ thr), NaN thr: never) or on accumulators
 * (+1 iff (flip ? acc ≥ thr : acc ≤ thr)), per element of the input's range.
 */
export function thresholdBounds(s: ThresholdStep, input: RangeValue, floatInput: boolean, outShape: Shape3): BitsValue {
  const out = bitsValue(outShape);
  const c = outShape[2];
  for (let i = 0; i < input.lo.length; i++) {
    const ch = i % c;
    const t = s.thr[ch]!;
    const flip = s.flip[ch] !== 0;
    const plusAt = floatInput ? (flip ? (y: number) => y <= t : (y: number) => y >= t) : flip ? (a: number) => a >= t : (a: number) => a <= t;
    setBit(out, Math.floor(i / c), ch, decide(input.lo[i]!, input.hi[i]!, plusAt));
  }
  return out;
}

/** Padding with +1 bits (zero words), fixed. */
export function bitPadBounds(s: BitPadStep, input: BitsValue, outShape: Shape3): BitsValue {
  const [h, w, c] = input.shape;
  const wpp = wordsPerPixel(c);
  const out = bitsValue(outShape);
  const ow = outShape[1];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const from = (y * w + x) * wpp;
      const to = ((y + s.pads.top) * ow + x + s.pads.left) * wpp;
      out.val.set(input.val.subarray(from, from + wpp), to);
      out.free.set(input.free.subarray(from, from + wpp), to);
    }
  return out;
}

/**
 * Weight bits of a bconv as (value, free) words [cout][kh][kw][wpp]. Stochastic weights are free
 * except where the draw is certain: q = 0 is always −1, q = 255 always +1 (FORMAT.md: +1 iff
 * r < q with r ≤ 254), so a proof holds for every draw.
 */
function weightWords(s: BconvStep, cin: number, cout: number): { val: Uint32Array; free: Uint32Array } {
  if (s.signWords) return { val: s.signWords, free: new Uint32Array(s.signWords.length) };
  const wpp = wordsPerPixel(cin);
  const taps = cout * s.kh * s.kw;
  const val = new Uint32Array(taps * wpp);
  const free = new Uint32Array(taps * wpp);
  const q = s.probabilities!;
  for (let t = 0; t < taps; t++)
    for (let ci = 0; ci < cin; ci++) {
      const p = q[t * cin + ci]!;
      const word = t * wpp + (ci >> 5);
      const bit = 1 << (ci & 31);
      if (p === 0) val[word]! |= bit;
      else if (p !== 255) free[word]! |= bit;
    }
  return { val, free };
}

/**
 * XOR-popcount conv (VALID on its already padded input): P ranges over [fixed mismatches, fixed
 * mismatches + free bits] per unit (with ternary weights, among the nonzero ones); acc = P, or
 * 2P + correction for zero padding and ternary weights.
 */
export function bconvBounds(s: BconvStep, input: BitsValue, outShape: Shape3): RangeValue {
  const [, w, cin] = input.shape;
  const [oh, ow, cout] = outShape;
  const wpp = wordsPerPixel(cin);
  const weights = weightWords(s, cin, cout);
  const out = rangeValue(outShape);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let o = 0; o < cout; o++) {
        let fixed = 0;
        let free = 0;
        for (let ky = 0; ky < s.kh; ky++)
          for (let kx = 0; kx < s.kw; kx++) {
            const at = ((oy * s.sh + ky) * w + ox * s.sw + kx) * wpp;
            const wt = ((o * s.kh + ky) * s.kw + kx) * wpp;
            for (let j = 0; j < wpp; j++) {
              // A ternary weight of 0 (mask bit 0) counts nowhere.
              const used = s.maskWords ? s.maskWords[wt + j]! : ~0;
              const loose = (input.free[at + j]! | weights.free[wt + j]!) & used;
              fixed += popcount32((input.val[at + j]! ^ weights.val[wt + j]!) & ~loose & used);
              free += popcount32(loose);
            }
          }
        const i = (oy * ow + ox) * cout + o;
        const corr = s.correction ? s.correction[i]! : 0;
        const scale = s.correction ? 2 : 1;
        out.lo[i] = scale * fixed + corr;
        out.hi[i] = scale * (fixed + free) + corr;
      }
  return out;
}

/**
 * Max-pool of ±1 bits over the taps inside the input: per channel the max (AND of bits) where
 * orMask is 0, the min (OR) where it is 1. A max is fixed +1 if any tap is fixed +1, fixed −1 if
 * every tap is fixed −1; a min the mirror.
 */
export function bitMaxPoolBounds(s: BitMaxPoolStep, input: BitsValue, outShape: Shape3): BitsValue {
  const [h, w, c] = input.shape;
  const [oh, ow] = outShape;
  const wpp = wordsPerPixel(c);
  const out = bitsValue(outShape);
  const g = s.g;
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let j = 0; j < wpp; j++) {
        let anyPlus = 0;
        let allPlus = ~0;
        let anyMinus = 0;
        let allMinus = ~0;
        for (let ky = 0; ky < g.kh; ky++) {
          const y = oy * g.sh - g.padTop + ky;
          if (y < 0 || y >= h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const x = ox * g.sw - g.padLeft + kx;
            if (x < 0 || x >= w) continue;
            const k = (y * w + x) * wpp + j;
            const plus = ~input.val[k]! & ~input.free[k]!;
            const minus = input.val[k]! & ~input.free[k]!;
            anyPlus |= plus;
            allPlus &= plus;
            anyMinus |= minus;
            allMinus &= minus;
          }
        }
        const or = s.orMask[j]!;
        const plus = (anyPlus & ~or) | (allPlus & or);
        const minus = (allMinus & ~or) | (anyMinus & or);
        const valid = c - 32 * j >= 32 ? ~0 : (1 << (c - 32 * j)) - 1;
        const k = (oy * ow + ox) * wpp + j;
        out.val[k] = minus & valid;
        out.free[k] = ~(plus | minus) & valid;
      }
  return out;
}

/** A flattened bits value, repacked over its h·w·c features (the same words when c is a multiple of 32). */
export function flattenBits(input: BitsValue, outShape: Shape3): BitsValue {
  const [h, w, c] = input.shape;
  const out = bitsValue(outShape);
  const wpp = wordsPerPixel(c);
  for (let p = 0; p < h * w; p++)
    for (let ch = 0; ch < c; ch++) {
      const word = p * wpp + (ch >> 5);
      const s = ch & 31;
      const f = p * c + ch;
      out.val[f >> 5]! |= ((input.val[word]! >>> s) & 1) << (f & 31);
      out.free[f >> 5]! |= ((input.free[word]! >>> s) & 1) << (f & 31);
    }
  return out;
}
