// Independent plain-TypeScript reference for the WebAssembly kernels (assembly/).
//
// Everything here works on UNPACKED tensors (±1 Int8Arrays, Float32Arrays) with the most direct
// loops possible; the only functions that know the packed layout are packSigns / unpackSigns,
// which implement the project's bit convention:
//   bit 0 <-> +1, bit 1 <-> -1 (sign bit), sign(0) = +1;
//   per pixel, channel ch is bit (ch % 32) of word (ch >> 5); wpp = ceil(c / 32); padding bits 0.

/** Words per pixel for c channels. */
export function wordsPerPixel(c: number): number {
  return Math.ceil(c / 32);
}

/** Packs `pixels` × `c` values (negative → bit 1, else bit 0) into u32 words [pixels][wpp]. */
export function packSigns(values: Int8Array | Float32Array, pixels: number, c: number): Uint32Array {
  if (values.length !== pixels * c) throw new Error(`packSigns: ${values.length} != ${pixels}·${c}`);
  const wpp = wordsPerPixel(c);
  const out = new Uint32Array(pixels * wpp);
  for (let p = 0; p < pixels; p++) {
    for (let ch = 0; ch < c; ch++) {
      if (values[p * c + ch]! < 0) out[p * wpp + (ch >> 5)]! |= (1 << (ch & 31)) >>> 0;
    }
  }
  return out;
}

/** Inverse of packSigns: ±1 Int8Array [pixels][c]. */
export function unpackSigns(words: Uint32Array, pixels: number, c: number): Int8Array {
  const wpp = wordsPerPixel(c);
  const out = new Int8Array(pixels * c);
  for (let p = 0; p < pixels; p++) {
    for (let ch = 0; ch < c; ch++) {
      out[p * c + ch] = (words[p * wpp + (ch >> 5)]! >>> (ch & 31)) & 1 ? -1 : 1;
    }
  }
  return out;
}

/** Popcount of a 32-bit value. */
export function popcount32(x: number): number {
  x = x >>> 0;
  let n = 0;
  while (x) {
    x &= x - 1;
    n++;
  }
  return n;
}

/** Deterministic test PRNG (mulberry32). */
export class TestRng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform u32. */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.float() * xs.length)]!;
  }
  /** Random ±1 values. */
  signs(n: number): Int8Array {
    const a = new Int8Array(n);
    for (let i = 0; i < n; i++) a[i] = this.u32() & 1 ? -1 : 1;
    return a;
  }
  /** Uniform floats in [-1, 1). */
  floats(n: number): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.float() * 2 - 1;
    return a;
  }
}

/**
 * ±1 VALID convolution: x [n][h][w][c] (±1), filters [cout][kh][kw][c] (±1) → Int32Array
 * [n][outH][outW][cout] of dot products, outH = floor((h - kh) / strideH) + 1,
 * outW = floor((w - kw) / strideW) + 1.
 */
export function conv2dSigns(
  x: Int8Array, n: number, h: number, w: number, c: number,
  filters: Int8Array, cout: number, kh: number, kw: number, strideH: number, strideW: number,
): { dot: Int32Array; outH: number; outW: number } {
  const outH = Math.floor((h - kh) / strideH) + 1;
  const outW = Math.floor((w - kw) / strideW) + 1;
  const dot = new Int32Array(n * outH * outW * cout);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++)
        for (let o = 0; o < cout; o++) {
          let s = 0;
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++)
              for (let ch = 0; ch < c; ch++) {
                const xv = x[((b * h + oy * strideH + ky) * w + ox * strideW + kx) * c + ch]!;
                const fv = filters[((o * kh + ky) * kw + kx) * c + ch]!;
                s += xv * fv;
              }
          dot[((b * outH + oy) * outW + ox) * cout + o] = s;
        }
  return { dot, outH, outW };
}

/** TensorFlow SAME geometry for one spatial dim: output size and padding before (top/left). */
export function samePadding(inSize: number, k: number, stride: number): { out: number; before: number } {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + k - inSize, 0);
  return { out, before: Math.floor(total / 2) };
}

/**
 * Float conv in f64: x [n][h][w][cin], weights HWIO [kh][kw][cin][cout], explicit top/left
 * padding (outside positions read as 0) → Float64Array [n][outH][outW][cout].
 */
export function conv2dFloat(
  x: Float32Array, n: number, h: number, w: number, cin: number,
  weights: Float32Array, cout: number, kh: number, kw: number, strideH: number, strideW: number,
  padTop: number, padLeft: number, outH: number, outW: number,
): Float64Array {
  const y = new Float64Array(n * outH * outW * cout);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++)
        for (let o = 0; o < cout; o++) {
          let s = 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * strideH - padTop + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * strideW - padLeft + kx;
              if (ix < 0 || ix >= w) continue;
              for (let ci = 0; ci < cin; ci++) {
                s += x[((b * h + iy) * w + ix) * cin + ci]! * weights[((ky * kw + kx) * cin + ci) * cout + o]!;
              }
            }
          }
          y[((b * outH + oy) * outW + ox) * cout + o] = s;
        }
  return y;
}

/** ±1 of "popcount ≤ thr" (flip = 0) or "popcount ≥ thr" (flip ≠ 0): Int8Array [m][c]. */
export function thresholdSignsI32(acc: Int32Array, m: number, c: number, thr: Int32Array, flip: Int32Array): Int8Array {
  const s = new Int8Array(m * c);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < c; j++) {
      const a = acc[i * c + j]!;
      s[i * c + j] = (flip[j] === 0 ? a <= thr[j]! : a >= thr[j]!) ? 1 : -1;
    }
  return s;
}

/** ±1 of "y ≥ thr" (flip = 0) or "y ≤ thr" (flip ≠ 0) on floats: Int8Array [m][c]. */
export function thresholdSignsF32(y: ArrayLike<number>, m: number, c: number, thr: Float32Array, flip: Int32Array): Int8Array {
  const s = new Int8Array(m * c);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < c; j++) {
      const v = y[i * c + j]!;
      s[i * c + j] = (flip[j] === 0 ? v >= thr[j]! : v <= thr[j]!) ? 1 : -1;
    }
  return s;
}

/** max(nValid - 2·acc, 0) · scale, rounded to f32 like the kernel: Float32Array [m·c]. */
export function reluScaleRef(acc: Int32Array, nValid: number, scale: number): Float32Array {
  const out = new Float32Array(acc.length);
  const sc = Math.fround(scale);
  for (let i = 0; i < acc.length; i++) out[i] = Math.fround(Math.max(nValid - 2 * acc[i]!, 0) * sc);
  return out;
}

/** x [m][c] + bias [c] in float32, then max(·, 0) if relu (NaN stays NaN). */
export function biasReluRef(x: Float32Array, bias: Float32Array, relu: boolean): Float32Array {
  const c = bias.length;
  return x.map((v, i) => {
    const y = Math.fround(v + bias[i % c]!);
    return relu && y < 0 ? 0 : y;
  });
}

/** x [m][fin] · w [fin][fout] in f64 → Float64Array [m][fout]. */
export function denseRef(x: Float32Array, w: Float32Array, m: number, fin: number, fout: number): Float64Array {
  const out = new Float64Array(m * fout);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < fout; j++) {
      let s = 0;
      for (let k = 0; k < fin; k++) s += x[i * fin + k]! * w[k * fout + j]!;
      out[i * fout + j] = s;
    }
  return out;
}

/** Row-wise argmax, ties → lowest index: Int32Array [m]. */
export function argmaxRef(x: Float32Array, m: number, c: number): Int32Array {
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (x[i * c + j]! > x[i * c + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** One xoshiro128** step on a 4-word state (mutated in place); returns the u32 output. */
export function xoshiro128ss(s: Uint32Array): number {
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
  const t = (s[1]! << 9) >>> 0;
  s[2]! ^= s[0]!;
  s[3]! ^= s[1]!;
  s[1]! ^= s[2]!;
  s[0]! ^= s[3]!;
  s[2]! ^= t;
  s[3] = rotl(s[3]!, 11);
  return result;
}

/**
 * Mirror of the documented bernoulliPack draw order, on unpacked signs: weights in prob order,
 * low 16 bits of each xoshiro output first, then the high 16 bits; r = (half·255) >>> 16;
 * +1 iff r < q. A leftover high half at the end of a call is discarded. Mutates `state`.
 */
export function bernoulliSignsRef(prob: Uint8Array, state: Uint32Array): Int8Array {
  const out = new Int8Array(prob.length);
  let high = -1;
  for (let i = 0; i < prob.length; i++) {
    let half: number;
    if (high >= 0) {
      half = high;
      high = -1;
    } else {
      const v = xoshiro128ss(state);
      half = v & 0xffff;
      high = v >>> 16;
    }
    const r = (half * 255) >>> 16;
    out[i] = r < prob[i]! ? 1 : -1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Exact float emulation: the f32 operation order the float kernels document
// ---------------------------------------------------------------------------------------------

/**
 * Float conv emulating the kernels' f32 arithmetic exactly: per output, s = +0, then for taps in
 * (ky, kx, ci) ascending order (taps outside the input skipped) s = f32(s + f32(x·w)).
 * (Math.fround of an f64 sum / product of two f32 values is the correctly rounded f32 result.)
 * Returns Float32Array [n][outH][outW][cout].
 */
export function conv2dFloatF32(
  x: Float32Array, n: number, h: number, w: number, cin: number,
  weights: Float32Array, cout: number, kh: number, kw: number, strideH: number, strideW: number,
  padTop: number, padLeft: number, outH: number, outW: number,
): Float32Array {
  const y = new Float32Array(n * outH * outW * cout);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++)
        for (let o = 0; o < cout; o++) {
          let s = 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * strideH - padTop + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * strideW - padLeft + kx;
              if (ix < 0 || ix >= w) continue;
              for (let ci = 0; ci < cin; ci++) {
                const p = Math.fround(x[((b * h + iy) * w + ix) * cin + ci]! * weights[((ky * kw + kx) * cin + ci) * cout + o]!);
                s = Math.fround(s + p);
              }
            }
          }
          y[((b * outH + oy) * outW + ox) * cout + o] = s;
        }
  return y;
}

/** denseF32 in its documented f32 order: per output s = +0, s = f32(s + f32(x[i][k]·w[k][j])), k ascending. */
export function denseF32Exact(x: Float32Array, w: Float32Array, m: number, fin: number, fout: number): Float32Array {
  const out = new Float32Array(m * fout);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < fout; j++) {
      let s = 0;
      for (let k = 0; k < fin; k++) s = Math.fround(s + Math.fround(x[i * fin + k]! * w[k * fout + j]!));
      out[i * fout + j] = s;
    }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Integer first layer (quantizeInputU8, qconv2dThresholdPack)
// ---------------------------------------------------------------------------------------------

/**
 * The quantization formula, as a TensorFlow.js emulation computes it:
 * Math.floor(Math.fround(Math.fround(x · 255) + 0.5)), clamped to [0, 255]; NaN → 0.
 */
export function quantizeU8Ref(x: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const q = Math.floor(Math.fround(Math.fround(Math.fround(x[i]!) * 255) + 0.5));
    out[i] = Number.isNaN(q) ? 0 : Math.min(255, Math.max(0, q));
  }
  return out;
}

/**
 * Exact integer conv: x u8 [n][h][w][cin], weights int8 HWIO [kh][kw][cin][cout], explicit
 * top/left padding (outside positions are 0) → Int32Array [n][outH][outW][cout] of Σ x·w.
 */
export function conv2dInt(
  x: Uint8Array, n: number, h: number, w: number, cin: number,
  weights: Int8Array, cout: number, kh: number, kw: number, strideH: number, strideW: number,
  padTop: number, padLeft: number, outH: number, outW: number,
): Int32Array {
  const acc = new Int32Array(n * outH * outW * cout);
  const s = new Float64Array(cout);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < outH; oy++)
      for (let ox = 0; ox < outW; ox++) {
        s.fill(0);
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * strideH - padTop + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * strideW - padLeft + kx;
            if (ix < 0 || ix >= w) continue;
            for (let ci = 0; ci < cin; ci++) {
              const xv = x[((b * h + iy) * w + ix) * cin + ci]!;
              const wb = ((ky * kw + kx) * cin + ci) * cout;
              for (let o = 0; o < cout; o++) s[o] += xv * weights[wb + o]!;
            }
          }
        }
        const base = ((b * outH + oy) * outW + ox) * cout;
        for (let o = 0; o < cout; o++) {
          if (!Number.isSafeInteger(s[o]!) || Math.abs(s[o]!) >= 2 ** 31) throw new Error('conv2dInt: sum leaves int32');
          acc[base + o] = s[o]!;
        }
      }
  return acc;
}

/** ±1 of "acc ≥ thr" (flip = 0) or "acc ≤ thr" (flip ≠ 0), the first-layer rule: Int8Array [m][c]. */
export function thresholdSignsGE(acc: ArrayLike<number>, m: number, c: number, thr: ArrayLike<number>, flip: Int32Array): Int8Array {
  const s = new Int8Array(m * c);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < c; j++) {
      const a = acc[i * c + j]!;
      s[i * c + j] = (flip[j] === 0 ? a >= thr[j]! : a <= thr[j]!) ? 1 : -1;
    }
  return s;
}

/**
 * The documented qconv2d packed weight layout, built independently: i16 [B][P][16][2] with
 * P = ceil(kh·kw·cin / 2), B = ceil(cout / 16); element [blk][p][c][j] = w[tap 2p + j][16·blk + c]
 * (tap t = (ky·kw + kx)·cin + ci), 0 for the odd padding tap and for channels >= cout.
 */
export function packQconvWeightsRef(w: Int8Array, kh: number, kw: number, cin: number, cout: number): Int16Array {
  const taps = kh * kw * cin;
  const pairs = Math.ceil(taps / 2);
  const blocks = Math.ceil(cout / 16);
  const out = new Int16Array(blocks * pairs * 16 * 2);
  for (let blk = 0; blk < blocks; blk++)
    for (let p = 0; p < pairs; p++)
      for (let c = 0; c < 16; c++)
        for (let j = 0; j < 2; j++) {
          const t = 2 * p + j, co = 16 * blk + c;
          out[((blk * pairs + p) * 16 + c) * 2 + j] = t < taps && co < cout ? w[t * cout + co]! : 0;
        }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pooling (maxPool2dF32, avgPool2dF32, globalAvgPool2dF32, bitMaxPool2d) and bit padding (bitPad)
// ---------------------------------------------------------------------------------------------

/** Pooling geometry: window (oy, ox) covers input rows oy·strideH - padTop + [0, poolH), etc. */
export interface PoolGeometry {
  poolH: number; poolW: number; strideH: number; strideW: number;
  padTop: number; padLeft: number; outH: number; outW: number;
}

/**
 * Visits the valid taps of output pixel (oy, ox) in (ky, kx) ascending order, i.e. input rows
 * y ∈ [y0, y0 + poolH) ∩ [0, h) outer, columns x likewise inner; calls f(y, x).
 */
function forEachTap(g: PoolGeometry, h: number, w: number, oy: number, ox: number, f: (y: number, x: number) => void): void {
  const y0 = oy * g.strideH - g.padTop, x0 = ox * g.strideW - g.padLeft;
  for (let y = Math.max(0, y0); y < Math.min(h, y0 + g.poolH); y++)
    for (let x = Math.max(0, x0); x < Math.min(w, x0 + g.poolW); x++) f(y, x);
}

/**
 * Max pooling on floats [n][h][w][c]: m = the first valid tap, then m = (v > m) ? v : m over the
 * later ones; taps outside the input are ignored. Float32Array [n][outH][outW][c].
 */
export function maxPool2dRef(x: Float32Array, n: number, h: number, w: number, c: number, g: PoolGeometry): Float32Array {
  const out = new Float32Array(n * g.outH * g.outW * c);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let ch = 0; ch < c; ch++) {
          let m: number | undefined;
          forEachTap(g, h, w, oy, ox, (y, xx) => {
            const v = x[((b * h + y) * w + xx) * c + ch]!;
            m = m === undefined ? v : v > m ? v : m;
          });
          if (m === undefined) throw new Error('maxPool2dRef: empty window');
          out[((b * g.outH + oy) * g.outW + ox) * c + ch] = m;
        }
  return out;
}

/** Average pooling: s = +0, s = f32(s + v) over the valid taps, then f32(s / count). */
export function avgPool2dRef(x: Float32Array, n: number, h: number, w: number, c: number, g: PoolGeometry): Float32Array {
  const out = new Float32Array(n * g.outH * g.outW * c);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let ch = 0; ch < c; ch++) {
          let s = 0, count = 0;
          forEachTap(g, h, w, oy, ox, (y, xx) => {
            s = Math.fround(s + x[((b * h + y) * w + xx) * c + ch]!);
            count++;
          });
          if (count === 0) throw new Error('avgPool2dRef: empty window');
          out[((b * g.outH + oy) * g.outW + ox) * c + ch] = Math.fround(s / count);
        }
  return out;
}

/** Global average pooling: out [n][c] = f32(Σ_pixels (f32 adds from +0) / f32(h·w)). */
export function globalAvgPoolRef(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(n * c);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let p = 0; p < h * w; p++) s = Math.fround(s + x[(b * h * w + p) * c + ch]!);
      out[b * c + ch] = Math.fround(s / Math.fround(h * w));
    }
  return out;
}

/**
 * Max pooling on ±1 values [n][h][w][c]: per channel the max over the valid taps, or the min for
 * channels with useMin[ch] (the packed kernel's orMask bits). Int8Array [n][outH][outW][c].
 */
export function bitMaxPoolSignsRef(x: Int8Array, n: number, h: number, w: number, c: number, g: PoolGeometry, useMin: ArrayLike<boolean>): Int8Array {
  const out = new Int8Array(n * g.outH * g.outW * c);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let ch = 0; ch < c; ch++) {
          let hi = -Infinity, lo = Infinity;
          forEachTap(g, h, w, oy, ox, (y, xx) => {
            const v = x[((b * h + y) * w + xx) * c + ch]!;
            hi = Math.max(hi, v);
            lo = Math.min(lo, v);
          });
          if (hi === -Infinity) throw new Error('bitMaxPoolSignsRef: empty window');
          out[((b * g.outH + oy) * g.outW + ox) * c + ch] = useMin[ch] ? lo : hi;
        }
  return out;
}

/** Pads ±1 values [n][h][w][c] with +1 (what sign(0) gives): Int8Array [n][h+pt+pb][w+pl+pr][c]. */
export function padSignsRef(x: Int8Array, n: number, h: number, w: number, c: number, pt: number, pb: number, pl: number, pr: number): Int8Array {
  const H = h + pt + pb, W = w + pl + pr;
  const out = new Int8Array(n * H * W * c).fill(1);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++) out[((b * H + y + pt) * W + xx + pl) * c + ch] = x[((b * h + y) * w + xx) * c + ch]!;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Elementwise (addF32, chainF32, accToF32, thresholdPackF32, zeroPadFixI32)
// ---------------------------------------------------------------------------------------------

/** a + b in f32. */
export function addF32Ref(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => Math.fround(v + b[i]!));
}

/** One chainF32 op: code 1 MUL by vec, 2 ADD vec, 3 RELU (f32.max(x, +0): -0 → +0, NaN stays). */
export interface ChainOp { code: 1 | 2 | 3; vec?: Float32Array }

/** chainF32 on a copy of x [rows][c]: every op in order on every element, each rounded to f32. */
export function chainF32Ref(x: Float32Array, rows: number, c: number, ops: readonly ChainOp[]): Float32Array {
  const out = x.slice();
  for (let i = 0; i < rows * c; i++) {
    let v = out[i]!;
    for (const op of ops) {
      if (op.code === 1) v = Math.fround(v * op.vec![i % c]!);
      else if (op.code === 2) v = Math.fround(v + op.vec![i % c]!);
      else v = Number.isNaN(v) ? NaN : v > 0 ? v : 0; // f32.max(v, +0): max(-0, +0) = +0
    }
    out[i] = v;
  }
  return out;
}

/** accToF32: mode 0 f32(nValid - 2·acc), 1 f32(nValid - acc), 2 f32(f32(acc)·dq[j]). */
export function accToF32Ref(acc: Int32Array, c: number, mode: 0 | 1 | 2, nValid: number, dq?: Float32Array): Float32Array {
  return Float32Array.from(acc, (a, i) => {
    if (mode === 0) return Math.fround(nValid - 2 * a);
    if (mode === 1) return Math.fround(nValid - a);
    return Math.fround(Math.fround(a) * dq![i % c]!);
  });
}

/** zeroPadFixI32: 2·acc[b][i] + corr[i] per image (exact; the tests stay inside int32). */
export function zeroPadFixRef(acc: Int32Array, perImage: number, corr: Int32Array): Int32Array {
  return acc.map((a, i) => {
    const v = 2 * a + corr[i % perImage]!;
    if (v < -(2 ** 31) || v >= 2 ** 31) throw new Error('zeroPadFixRef: leaves int32');
    return v;
  });
}
