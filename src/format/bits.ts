/**
 * Sign-bit packing, the bnn-edge bit convention in code: a ±1 value is one bit, bit 0 ↔ +1,
 * bit 1 ↔ −1 (sign(0) = +1), 32 channels per u32 word, channel c at bit c mod 32 of word
 * ⌊c/32⌋, unused high bits 0. Activations pack as [pixels][⌈c/32⌉] words; binary weights as
 * [cout][kh][kw][⌈cin/32⌉] (one "pixel" per output channel and tap).
 */
import { wordsPerPixel } from './layout.js';

/** Set bits of a 32-bit word (SWAR, as i32.popcnt). */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Packs `pixels × c` values (any sign) into [pixels][⌈c/32⌉] words. */
export function packSigns(values: ArrayLike<number>, pixels: number, c: number): Uint32Array {
  const wpp = wordsPerPixel(c);
  const out = new Uint32Array(pixels * wpp);
  for (let p = 0; p < pixels; p++) {
    for (let ch = 0; ch < c; ch++) {
      if (values[p * c + ch]! < 0) out[p * wpp + (ch >> 5)]! |= 1 << (ch & 31);
    }
  }
  return out;
}

/** Inverse of packSigns: ±1 values. */
export function unpackSigns(words: Uint32Array, pixels: number, c: number): Float32Array {
  const wpp = wordsPerPixel(c);
  const out = new Float32Array(pixels * c);
  for (let p = 0; p < pixels; p++) {
    for (let ch = 0; ch < c; ch++) out[p * c + ch] = (words[p * wpp + (ch >> 5)]! >>> (ch & 31)) & 1 ? -1 : 1;
  }
  return out;
}

/** HWIO [kh][kw][cin][cout] → OHWI [cout][kh][kw][cin] (float values). */
export function hwioToOhwi(w: ArrayLike<number>, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(kh * kw * cin * cout);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * kh + y) * kw + x) * cin + i] = w[((y * kw + x) * cin + i) * cout + o]!;
  return out;
}

/** OHWI [cout][kh][kw][cin] → HWIO [kh][kw][cin][cout]. */
export function ohwiToHwio(w: ArrayLike<number>, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(kh * kw * cin * cout);
  for (let o = 0; o < cout; o++)
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < cin; i++) out[((y * kw + x) * cin + i) * cout + o] = w[((o * kh + y) * kw + x) * cin + i]!;
  return out;
}

/** Binary conv weights (float HWIO) → packed sign words [cout][kh][kw][⌈cin/32⌉]. */
export function packConvSigns(w: ArrayLike<number>, kh: number, kw: number, cin: number, cout: number): Uint32Array {
  return packSigns(hwioToOhwi(w, kh, kw, cin, cout), cout * kh * kw, cin);
}

/** Packed sign words → ±1 float weights in HWIO (what the tfjs rebuild convolves with). */
export function unpackConvSigns(words: Uint32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  return ohwiToHwio(unpackSigns(words, cout * kh * kw, cin), kh, kw, cin, cout);
}

/**
 * Ternary conv weights (float HWIO) as Larq's SteTern gives them: +1 where w > t, −1 where w < −t,
 * 0 between. Returns packed sign words (1 only where −1) and the mask of nonzero weights.
 */
export function packConvTernary(w: ArrayLike<number>, kh: number, kw: number, cin: number, cout: number, t: number): { signWords: Uint32Array; maskWords: Uint32Array } {
  const ohwi = hwioToOhwi(w, kh, kw, cin, cout);
  t = Math.fround(t); // compared as tfjs compares float32 weights (ternarize)
  const sign = new Float32Array(ohwi.length);
  const nonzero = new Float32Array(ohwi.length);
  for (let i = 0; i < ohwi.length; i++) {
    const v = ohwi[i]!;
    sign[i] = v < -t ? -1 : 1;
    nonzero[i] = v > t || v < -t ? -1 : 1;
  }
  return { signWords: packSigns(sign, cout * kh * kw, cin), maskWords: packSigns(nonzero, cout * kh * kw, cin) };
}

/** Packed ternary weights → {−1, 0, +1} float weights in HWIO. */
export function unpackConvTernary(signWords: Uint32Array, maskWords: Uint32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const w = unpackConvSigns(signWords, kh, kw, cin, cout);
  const m = unpackConvSigns(maskWords, kh, kw, cin, cout);
  for (let i = 0; i < w.length; i++) if (m[i]! > 0) w[i] = 0;
  return w;
}

/** Model S: P(+1) = clip((w+1)/2, 0, 1), quantized to q = round(255·p), OHWI order. */
export function quantizeProbabilities(w: ArrayLike<number>, kh: number, kw: number, cin: number, cout: number): Uint8Array {
  const ohwi = hwioToOhwi(w, kh, kw, cin, cout);
  const q = new Uint8Array(ohwi.length);
  for (let i = 0; i < ohwi.length; i++) q[i] = Math.round(255 * Math.min(1, Math.max(0, (ohwi[i]! + 1) / 2)));
  return q;
}

/** P(+1) of each stochastic weight, HWIO float (q / 255). */
export function probabilitiesHwio(q: Uint8Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const p = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) p[i] = q[i]! / 255;
  return ohwiToHwio(p, kh, kw, cin, cout);
}
