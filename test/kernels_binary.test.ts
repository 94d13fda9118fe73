// Binary-layer kernels: XNOR-popcount convolution, threshold + pack, ReLU scale, Bernoulli weight
// sampling (model S), and the popcount peak probe, each against kernel_reference.ts in both builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builds, scalarBuild, simdBuild, bconvVariants, type BconvFn, type BconvShape, outDims, randomPacked, runBconv, runMaskedBconv, assertPaddingZero, strides } from './kernel_harness.js';
import { TestRng, bernoulliSignsRef, conv2dSigns, packSigns, popcount32, reluScaleRef, thresholdSignsI32, unpackSigns, wordsPerPixel } from './kernel_reference.js';

test('reference packing: round trip, bit convention, padding bits zero', () => {
  const rng = new TestRng(1);
  for (const c of [1, 31, 32, 33, 64, 100]) {
    const x = rng.signs(7 * c);
    const w = packSigns(x, 7, c);
    assert.equal(w.length, 7 * wordsPerPixel(c));
    assert.deepEqual(unpackSigns(w, 7, c), x);
    assertPaddingZero(w, 7, c, `c=${c}`);
  }
  // channel 0 = -1 → bit 0 set; channel 33 = -1 → bit 1 of word 1; 0.0 counts as +1.
  const f = new Float32Array(40).fill(1);
  f[0] = -0.5;
  f[33] = -2;
  f[5] = 0;
  assert.deepEqual(Array.from(packSigns(f, 1, 40)), [1, 2]);
});

test('bconv2dPopcount (all variants, both builds) == ±1 conv reference', () => {
  const rng = new TestRng(2);
  const shapes: BconvShape[] = [
    { n: 2, h: 5, w: 6, c: 1, cout: 5, kh: 3, kw: 3, stride: 1 },
    { n: 1, h: 7, w: 7, c: 31, cout: 4, kh: 2, kw: 3, stride: 2 },
    { n: 3, h: 6, w: 5, c: 33, cout: 7, kh: 3, kw: 2, stride: 1 },
    { n: 2, h: 8, w: 8, c: 64, cout: 9, kh: 4, kw: 4, stride: 3 },
    { n: 2, h: 5, w: 5, c: 100, cout: 6, kh: 5, kw: 5, stride: 1 },
    { n: 1, h: 4, w: 9, c: 32, cout: 3, kh: 1, kw: 1, stride: 2 },
    // rows longer than 31 vectors (chunking) with a word tail: kw·wpp = 6·25 = 150 words
    { n: 2, h: 7, w: 8, c: 800, cout: 5, kh: 2, kw: 6, stride: 2 },
    // window equal to the input
    { n: 2, h: 3, w: 4, c: 65, cout: 8, kh: 3, kw: 4, stride: 5 },
    // strideH ≠ strideW
    { n: 2, h: 7, w: 9, c: 33, cout: 5, kh: 3, kw: 3, stride: 1, strideW: 2 },
    { n: 1, h: 9, w: 7, c: 3, cout: 6, kh: 2, kw: 3, stride: 2, strideW: 1 },
    { n: 3, h: 10, w: 9, c: 100, cout: 9, kh: 3, kw: 2, stride: 3, strideW: 2 },
    { n: 2, h: 6, w: 11, c: 31, cout: 4, kh: 1, kw: 4, stride: 2, strideW: 3 },
    { n: 1, h: 7, w: 8, c: 800, cout: 5, kh: 2, kw: 6, stride: 1, strideW: 2 },
  ];
  for (let i = 0; i < 12; i++) {
    const kh = rng.int(1, 5), kw = rng.int(1, 5), stride = rng.int(1, 3);
    shapes.push({
      n: rng.int(1, 3), h: kh + rng.int(0, 6), w: kw + rng.int(0, 6), c: rng.pick([1, 2, 31, 33, 64, 96, 100, 130]),
      cout: rng.int(1, 9), kh, kw, stride,
    });
  }
  // Random shapes with independent strides per axis (drawn from their own generator).
  const rngS = new TestRng(21);
  for (let i = 0; i < 12; i++) {
    const kh = rngS.int(1, 4), kw = rngS.int(1, 4);
    shapes.push({
      n: rngS.int(1, 3), h: kh + rngS.int(0, 7), w: kw + rngS.int(0, 7), c: rngS.pick([1, 3, 31, 33, 65, 100]),
      cout: rngS.int(1, 9), kh, kw, stride: rngS.int(1, 3), strideW: rngS.int(1, 3),
    });
  }
  for (const s of shapes) {
    const x = rng.signs(s.n * s.h * s.w * s.c);
    const f = rng.signs(s.cout * s.kh * s.kw * s.c);
    const { strideH, strideW } = strides(s);
    const ref = conv2dSigns(x, s.n, s.h, s.w, s.c, f, s.cout, s.kh, s.kw, strideH, strideW);
    const xw = packSigns(x, s.n * s.h * s.w, s.c);
    const ww = packSigns(f, s.cout * s.kh * s.kw, s.c);
    const nValid = s.kh * s.kw * s.c;
    for (const m of builds) {
      for (const [name, fn] of bconvVariants(m)) {
        const p = runBconv(m, fn, s, xw, ww);
        const dot = p.map((v) => nValid - 2 * v);
        assert.deepEqual(dot, ref.dot, `${m.name} ${name} ${JSON.stringify(s)}`);
      }
    }
  }
});

test('bconv2dPopcountMasked (fast and reference, both builds) == {−1, 0, +1} conv reference, and == bconv2dPopcount with a full mask', () => {
  const rng = new TestRng(31);
  const shapes: BconvShape[] = [
    { n: 2, h: 5, w: 6, c: 1, cout: 5, kh: 3, kw: 3, stride: 1 },
    { n: 1, h: 7, w: 7, c: 31, cout: 4, kh: 2, kw: 3, stride: 2 },
    { n: 2, h: 8, w: 8, c: 64, cout: 9, kh: 4, kw: 4, stride: 3 },
    { n: 1, h: 4, w: 9, c: 32, cout: 3, kh: 1, kw: 1, stride: 2 },
    { n: 2, h: 7, w: 8, c: 800, cout: 5, kh: 2, kw: 6, stride: 2 },
    { n: 2, h: 7, w: 9, c: 33, cout: 5, kh: 3, kw: 3, stride: 1, strideW: 2 },
    { n: 1, h: 1, w: 1, c: 1152, cout: 10, kh: 1, kw: 1, stride: 1 },
  ];
  for (let i = 0; i < 16; i++) {
    const kh = rng.int(1, 5), kw = rng.int(1, 5);
    shapes.push({ n: rng.int(1, 3), h: kh + rng.int(0, 6), w: kw + rng.int(0, 6), c: rng.pick([1, 2, 31, 33, 64, 96, 100]), cout: rng.int(1, 9), kh, kw, stride: rng.int(1, 3), strideW: rng.int(1, 3) });
  }
  for (const s of shapes) {
    const x = rng.signs(s.n * s.h * s.w * s.c);
    // Ternary filters, about a third zeros; one shape with every weight zero in its first filter.
    const f = Int8Array.from(rng.signs(s.cout * s.kh * s.kw * s.c), (v) => (rng.int(0, 3) === 0 ? 0 : v));
    if (s.c === 33) f.fill(0, 0, s.kh * s.kw * s.c);
    const { strideH, strideW } = strides(s);
    const ref = conv2dSigns(x, s.n, s.h, s.w, s.c, f, s.cout, s.kh, s.kw, strideH, strideW);
    const xw = packSigns(x, s.n * s.h * s.w, s.c);
    const ww = packSigns(f, s.cout * s.kh * s.kw, s.c);
    const mw = packSigns(Int8Array.from(f, (v) => (v === 0 ? 1 : -1)), s.cout * s.kh * s.kw, s.c);
    const perFilter = s.kh * s.kw * wordsPerPixel(s.c);
    const nonzero = Array.from({ length: s.cout }, (_, o) => Array.from(mw.subarray(o * perFilter, (o + 1) * perFilter)).reduce((a, v) => a + popcount32(v), 0));
    const full = packSigns(new Int8Array(f.length).fill(-1), s.cout * s.kh * s.kw, s.c);
    for (const m of builds) {
      for (const [name, fn] of [['masked', m.k.bconv2dPopcountMasked], ['maskedReference', m.k.bconv2dPopcountMaskedReference]] as const) {
        const p = runMaskedBconv(m, fn, s, xw, ww, mw);
        const dot = Array.from(p, (v, i) => nonzero[i % s.cout]! - 2 * v);
        assert.deepEqual(Int32Array.from(dot), ref.dot, `${m.name} ${name} ${JSON.stringify(s)}`);
        // With every mask bit set (and sign bits of ±1 weights) it is the unmasked kernel.
        const ws = packSigns(Int8Array.from(f, (v) => (v === 0 ? 1 : v)), s.cout * s.kh * s.kw, s.c);
        assert.deepEqual(runMaskedBconv(m, fn, s, xw, ws, full), runBconv(m, m.k.bconv2dPopcount, s, xw, ws), `${m.name} ${name} full mask ${JSON.stringify(s)}`);
      }
    }
  }
});

test('bconv2dPopcount: SIMD variant == scalar variants bit for bit (random + model shapes)', () => {
  const rng = new TestRng(3);
  const shapes: BconvShape[] = [];
  for (const K of [64, 128, 256]) {
    shapes.push({ n: 2, h: 14, w: 14, c: K, cout: 2 * K, kh: 6, kw: 6, stride: 2 }); // conv2
    shapes.push({ n: 2, h: 5, w: 5, c: 2 * K, cout: 2 * K, kh: 5, kw: 5, stride: 1 }); // conv3
  }
  for (let i = 0; i < 40; i++) {
    const kh = rng.int(1, 7), kw = rng.int(1, 7), stride = rng.int(1, 3);
    shapes.push({
      n: rng.int(1, 4), h: kh + rng.int(0, 8), w: kw + rng.int(0, 8), c: rng.int(1, 600),
      cout: rng.int(1, 13), kh, kw, stride,
    });
  }
  // strideH ≠ strideW (their own generator, so the shapes above stay what they were).
  const rngS = new TestRng(31);
  for (let i = 0; i < 20; i++) {
    const kh = rngS.int(1, 7), kw = rngS.int(1, 7), stride = rngS.int(1, 3);
    shapes.push({
      n: rngS.int(1, 4), h: kh + rngS.int(0, 8), w: kw + rngS.int(0, 8), c: rngS.int(1, 600),
      cout: rngS.int(1, 13), kh, kw, stride, strideW: 1 + ((stride - 1 + rngS.int(1, 2)) % 3),
    });
  }
  for (const s of shapes) {
    const xw = randomPacked(rng, s.n * s.h * s.w, s.c);
    const ww = randomPacked(rng, s.cout * s.kh * s.kw, s.c);
    const what = JSON.stringify(s);
    const expect = runBconv(scalarBuild, scalarBuild.k.bconv2dPopcountScalar, s, xw, ww);
    assert.deepEqual(runBconv(simdBuild, simdBuild.k.bconv2dPopcountSimd, s, xw, ww), expect, `simd ${what}`);
    assert.deepEqual(runBconv(simdBuild, simdBuild.k.bconv2dPopcount, s, xw, ww), expect, `simd dispatch ${what}`);
    assert.deepEqual(runBconv(scalarBuild, scalarBuild.k.bconv2dPopcount, s, xw, ww), expect, `scalar dispatch ${what}`);
    if (s.n * s.h * s.w * s.c <= 20000) {
      assert.deepEqual(runBconv(simdBuild, simdBuild.k.bconv2dPopcountReference, s, xw, ww), expect, `reference ${what}`);
    }
    // Sanity: popcounts are within [0, kh·kw·32·wpp] and not all equal.
    const nBits = s.kh * s.kw * 32 * wordsPerPixel(s.c);
    assert.ok(expect.every((v) => v >= 0 && v <= nBits), what);
  }
});

/** Runs a bconv variant with one buffer ending exactly at the end of memory: a read past it traps. */
function runBconvAtEnd(fn: BconvFn, s: BconvShape, xw: Uint32Array, ww: Uint32Array, last: 'input' | 'weights'): Int32Array {
  const m = simdBuild;
  const { outH, outW } = outDims(s);
  const wpp = wordsPerPixel(s.c);
  m.reset();
  const count = s.n * outH * outW * s.cout;
  const pout = m.junk(count * 4);
  const other = m.put(last === 'input' ? ww : xw);
  const end = last === 'input' ? xw : ww;
  m.alloc(end.byteLength);                               // memory now reaches past the bump pointer
  const at = m.memBytes() - end.byteLength;
  new Uint32Array(m.k.memory.buffer, at, end.length).set(end);
  const [pin, pw] = last === 'input' ? [at, other] : [other, at];
  const { strideH, strideW } = strides(s);
  fn(pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, strideH, strideW, outH, outW);
  return m.i32(pout, count);
}

test('bconv2dPopcount: every SIMD path (pixel lanes, pixel pairs, row groups, general) == scalar, tails of every length, buffers at the end of memory', () => {
  // Row lengths kw·wpp ≡ 0, 1, 2, 3 (mod 4), below and above 4 words; strides per axis; outW of
  // every residue mod 4 (the lane path does 4, 2, then 1 pixel); odd pixel counts (the pair path
  // pairs across rows and images); cout not a multiple of 4.
  const rng = new TestRng(4);
  const shapes: BconvShape[] = [];
  const rows: [number, number][] = [
    [3, 1], [3, 2], [3, 3], [1, 5], [1, 6], [1, 7], [2, 3], [1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [4, 1], [5, 2], [3, 4], [3, 6],
  ];
  let i = 0;
  for (const [kw, wpp] of rows) {
    for (const [sh, sw] of [[1, 1], [2, 2], [1, 2], [2, 1]] as const) {
      const kh = [1, 2, 3][i % 3]!;
      const outW = 1 + (i % 7), outH = 1 + (i % 3);
      shapes.push({
        n: 1 + (i % 2), h: (outH - 1) * sh + kh + (i % 2), w: (outW - 1) * sw + kw, c: 32 * (wpp - 1) + rng.int(1, 32),
        cout: 4 + (i % 5), kh, kw, stride: sh, strideW: sw,
      });
      i++;
    }
  }
  // Windows past one byte accumulator: 7×7 and 9×9 at 64 channels, 12 rows of 9 words, 33 rows of 2 words.
  shapes.push({ n: 2, h: 9, w: 10, c: 64, cout: 6, kh: 7, kw: 7, stride: 1 });
  shapes.push({ n: 1, h: 10, w: 12, c: 60, cout: 5, kh: 9, kw: 9, stride: 1 });
  shapes.push({ n: 2, h: 13, w: 5, c: 96, cout: 4, kh: 12, kw: 3, stride: 1 });
  shapes.push({ n: 1, h: 34, w: 4, c: 50, cout: 7, kh: 33, kw: 1, stride: 1 });
  for (const s of shapes) {
    const xw = randomPacked(rng, s.n * s.h * s.w, s.c);
    const ww = randomPacked(rng, s.cout * s.kh * s.kw, s.c);
    const what = JSON.stringify(s);
    const expect = runBconv(scalarBuild, scalarBuild.k.bconv2dPopcountReference, s, xw, ww);
    assert.deepEqual(runBconv(scalarBuild, scalarBuild.k.bconv2dPopcountScalar, s, xw, ww), expect, `scalar ${what}`);
    assert.deepEqual(runBconv(simdBuild, simdBuild.k.bconv2dPopcountSimd, s, xw, ww), expect, `simd ${what}`);
    for (const last of ['input', 'weights'] as const) {
      assert.deepEqual(runBconvAtEnd(simdBuild.k.bconv2dPopcountSimd, s, xw, ww, last), expect, `simd, ${last} at the end of memory ${what}`);
      assert.deepEqual(runBconvAtEnd(simdBuild.k.bconv2dPopcount, s, xw, ww, last), expect, `simd dispatch, ${last} at the end of memory ${what}`);
    }
  }
});

test('bconv2dPopcount: worst-case counts (every bit differs) do not overflow byte accumulators', () => {
  // Input all -1 (bits set) against all +1 filters: every byte popcount is 8, so an i8x16
  // accumulator that took 32 additions would wrap. Long rows (> 31 vectors), many short rows
  // (flushes across rows), and rows with word tails.
  const shapes: BconvShape[] = [
    { n: 1, h: 3, w: 6, c: 1024, cout: 5, kh: 3, kw: 5, stride: 1 },   // 160 words = 40 vectors per row
    { n: 2, h: 9, w: 8, c: 96, cout: 6, kh: 9, kw: 7, stride: 1 },     // 21 words per row, 9 rows
    { n: 1, h: 14, w: 14, c: 256, cout: 8, kh: 6, kw: 6, stride: 2 },  // conv2 K=256 geometry
    { n: 1, h: 4, w: 4, c: 32 * 124, cout: 4, kh: 1, kw: 1, stride: 1 }, // exactly 31 vectors per row
    // SIMD paths at exactly 31 additions per byte accumulator (see assembly/bconv2d/simd.ts):
    { n: 1, h: 1, w: 35, c: 64, cout: 4, kh: 1, kw: 31, stride: 1 },    // pixel lanes: 31 units, 4 + 1 pixels
    { n: 1, h: 1, w: 36, c: 64, cout: 4, kh: 1, kw: 31, stride: 1 },    // pixel lanes: 4 + 2 pixels
    { n: 1, h: 33, w: 5, c: 64, cout: 5, kh: 31, kw: 1, stride: 2 },    // pixel pairs: 31 rows of a 2-word tail
    { n: 1, h: 2, w: 3, c: 32 * 61, cout: 4, kh: 1, kw: 2, stride: 1 }, // pixel pairs: 30 vectors + 2-word tail
    { n: 1, h: 41, w: 3, c: 128, cout: 4, kh: 40, kw: 1, stride: 1 },   // row groups: 31 rows of 1 vector, then 9
    { n: 1, h: 3, w: 2, c: 32 * 121, cout: 4, kh: 2, kw: 1, stride: 1 }, // row groups: 30 vectors + masked 1-word tail
    { n: 2, h: 5, w: 6, c: 160, cout: 6, kh: 3, kw: 3, stride: 1 },     // masked 3-word tails
    { n: 1, h: 11, w: 5, c: 320, cout: 4, kh: 9, kw: 3, stride: 1 },    // masked 2-word tails in groups of 3 rows
  ];
  for (const s of shapes) {
    const wpp = wordsPerPixel(s.c);
    const xw = new Uint32Array(s.n * s.h * s.w * wpp).fill(0xffffffff);
    const ww = new Uint32Array(s.cout * s.kh * s.kw * wpp);
    const nValid = s.kh * s.kw * s.c;
    for (const m of builds) {
      for (const [name, fn] of bconvVariants(m)) {
        const p = runBconv(m, fn, s, xw, ww);
        assert.ok(p.every((v) => v === nValid), `${m.name} ${name} ${JSON.stringify(s)}: ${p[0]} != ${nValid}`);
      }
    }
  }
});

test('bconv2dPopcountSimd aborts in the scalar build', () => {
  const m = scalarBuild;
  m.reset();
  const p = m.alloc(64);
  assert.throws(() => m.k.bconv2dPopcountSimd(p, p, p, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), /not available in the scalar build/);
});

test('thresholdPackI32 == reference threshold + pack; padding bits zero', () => {
  const rng = new TestRng(4);
  for (const c of [1, 5, 31, 32, 33, 64, 100]) {
    const m = rng.int(1, 9);
    const acc = new Int32Array(m * c).map(() => rng.int(0, 40));
    const thr = new Int32Array(c).map(() => rng.int(-2, 42));
    const flip = new Int32Array(c).map(() => rng.int(0, 1));
    thr[0] = acc[0]!; // equality case
    const expect = packSigns(thresholdSignsI32(acc, m, c, thr, flip), m, c);
    for (const k of builds) {
      k.reset();
      const pacc = k.put(acc), pthr = k.put(thr), pflip = k.put(flip);
      const pout = k.junk(m * wordsPerPixel(c) * 4);
      k.k.thresholdPackI32(pacc, m, c, pthr, pflip, pout);
      const got = k.u32(pout, m * wordsPerPixel(c));
      assert.deepEqual(got, expect, `${k.name} c=${c}`);
      assertPaddingZero(got, m, c, `${k.name} c=${c}`);
    }
  }
});

test('reluScaleI32 == max(nValid - 2·acc, 0)·scale', () => {
  const rng = new TestRng(5);
  for (const [m, c] of [[1, 1], [3, 7], [5, 64], [2, 101]] as const) {
    const nValid = 150;
    const acc = new Int32Array(m * c).map(() => rng.int(0, nValid));
    const scale = 0.0371;
    const expect = reluScaleRef(acc, nValid, scale);
    assert.ok(expect.some((v) => v === 0) || m * c < 8);
    for (const k of builds) {
      k.reset();
      const pacc = k.put(acc);
      const pout = k.junk(m * c * 4);
      k.k.reluScaleI32(pacc, m, c, nValid, scale, pout);
      assert.deepEqual(k.f32(pout, m * c), expect, `${k.name} ${m}x${c}`);
    }
  }
});

test('bernoulliPack: q=0 → -1, q=255 → +1, q=128 ≈ half, state advances, deterministic, exact draw order', () => {
  for (const m of builds) {
    const count = 100, groups = 50;
    const wpg = wordsPerPixel(count);
    const run = (prob: Uint8Array, state: Uint32Array) => {
      m.reset();
      const pp = m.put(prob), ps = m.put(state), pout = m.junk(groups * wpg * 4);
      m.k.bernoulliPack(pp, count, groups, pout, ps);
      return { words: m.u32(pout, groups * wpg), state: m.u32(ps, 4) };
    };
    const seed = new Uint32Array([0x12345678, 0x9abcdef0, 0x0badf00d, 0xdeadbeef]);
    const zeros = run(new Uint8Array(count * groups).fill(0), seed);
    assert.ok(unpackSigns(zeros.words, groups, count).every((v) => v === -1), 'q=0');
    assertPaddingZero(zeros.words, groups, count, 'q=0');
    const ones = run(new Uint8Array(count * groups).fill(255), seed);
    assert.ok(ones.words.every((v) => v === 0), 'q=255');
    const half = run(new Uint8Array(count * groups).fill(128), seed);
    const plus = unpackSigns(half.words, groups, count).filter((v) => v === 1).length;
    const frac = plus / (count * groups);
    assert.ok(Math.abs(frac - 128 / 255) < 0.02, `q=128 fraction ${frac}`);
    assertPaddingZero(half.words, groups, count, 'q=128');
    // Deterministic for a given state; the state advances; the next call differs.
    const again = run(new Uint8Array(count * groups).fill(128), seed);
    assert.deepEqual(again.words, half.words);
    assert.notDeepEqual(half.state, seed);
    const next = run(new Uint8Array(count * groups).fill(128), half.state);
    assert.notDeepEqual(next.words, half.words);
    // Exact mirror of the documented order (odd number of draws per call: 3·7 = 21).
    const rng = new TestRng(10);
    const prob = new Uint8Array(3 * 7).map(() => rng.int(0, 255));
    const st = new Uint32Array([1, 2, 3, 4]);
    const refState = st.slice();
    const refSigns = bernoulliSignsRef(prob, refState);
    m.reset();
    const pp = m.put(prob), ps = m.put(st), pout = m.junk(3 * 4);
    m.k.bernoulliPack(pp, 7, 3, pout, ps);
    assert.deepEqual(m.u32(pout, 3), packSigns(refSigns, 3, 7), m.name);
    assert.deepEqual(m.u32(ps, 4), refState, m.name);
    // All-zero state would be a constant stream: rejected.
    const pz = m.put(new Uint32Array(4));
    assert.throws(() => m.k.bernoulliPack(pp, 7, 3, pout, pz), /all zero/);
  }
});

test('xorPopcountPeak / xorPopcountPeakScalar return the exact total', () => {
  const rng = new TestRng(11);
  for (const words of [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 127, 248, 249, 250, 997, 1000, 4096]) {
    const a = new Uint32Array(words).map(() => rng.u32());
    const b = new Uint32Array(words).map(() => rng.u32());
    let once = 0;
    for (let i = 0; i < words; i++) once += popcount32(a[i]! ^ b[i]!);
    for (const m of builds) {
      m.reset();
      const pa = m.put(a), pb = m.put(b);
      for (const reps of [1, 3]) {
        assert.equal(m.k.xorPopcountPeak(pa, pb, words, reps), BigInt(once * reps), `${m.name} ${words}x${reps}`);
        assert.equal(m.k.xorPopcountPeakScalar(pa, pb, words, reps), BigInt(once * reps), `${m.name} scalar ${words}x${reps}`);
      }
    }
  }
  // All bits differ: 32 per word.
  const m = simdBuild;
  m.reset();
  const pa = m.put(new Uint32Array(301).fill(0)), pb = m.put(new Uint32Array(301).fill(0xffffffff));
  assert.equal(m.k.xorPopcountPeak(pa, pb, 301, 2), BigInt(301 * 32 * 2));
});
