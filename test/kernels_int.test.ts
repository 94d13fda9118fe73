// Integer first layer: quantizeInputU8, qconv2dPackWeights, qconv2dThresholdPack against the
// integer reference in kernel_reference.ts, in both builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Kernels, builds, scalarBuild, assertPaddingZero, convGeometry, type ConvCase } from './kernel_harness.js';
import { TestRng, conv2dInt, packQconvWeightsRef, packSigns, quantizeU8Ref, thresholdSignsGE, unpackSigns, wordsPerPixel } from './kernel_reference.js';

/** The f32 neighbours of v (next below, next above). */
function f32Neighbours(v: number): [number, number] {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer);
  const bits = u[0]!;
  if (v === 0) return [-1.401298464324817e-45, 1.401298464324817e-45];
  u[0] = v > 0 ? bits - 1 : bits + 1;
  const below = f[0]!;
  u[0] = v > 0 ? bits + 1 : bits - 1;
  return [below, f[0]!];
}

test('quantizeInputU8 == Math.floor(fround(fround(x·255) + 0.5)) on edge values, both builds, every lane position', () => {
  const vals: number[] = [0, 1, 0.5 / 255, 1 / 255, 254.5 / 255, 0.5, 0.25, 0.75];
  for (let k = 0; k < 256; k++) {
    const mid = Math.fround((k + 0.5) / 255);
    vals.push(mid, ...f32Neighbours(mid), Math.fround(k / 255), ...f32Neighbours(Math.fround(k / 255)));
  }
  const rng = new TestRng(20);
  for (let i = 0; i < 500; i++) vals.push(rng.float());
  vals.push(...f32Neighbours(1), ...f32Neighbours(0.5 / 255));
  // "Be safe": out-of-range inputs the caller should never pass still clamp (NaN → 0).
  const unsafe = [-0, -1e-30, -0.5, -1, 1.0001, 1.5, 255, 1e9, 3e38, Infinity, -Infinity, NaN, 1e-45, -3e38, 128.6 / 255];
  const x = Float32Array.from([...vals, ...unsafe]);
  const expect = quantizeU8Ref(x);
  // Spot checks of the formula itself.
  assert.equal(expect[0], 0);
  assert.equal(expect[1], 255);
  assert.equal(quantizeU8Ref([0.5 / 255])[0], 1);
  assert.deepEqual(Array.from(quantizeU8Ref([NaN, -1, 2, Infinity, -Infinity])), [0, 0, 255, 255, 0]);
  for (const m of builds) {
    // Every start offset 0..16 so each value passes through every SIMD lane and the scalar tail.
    for (let shift = 0; shift <= 16; shift++) {
      const xs = x.slice(shift);
      m.reset();
      const ps = m.put(xs), pd = m.junk(xs.length);
      m.k.quantizeInputU8(ps, pd, xs.length);
      assert.deepEqual(m.u8(pd, xs.length), expect.slice(shift), `${m.name} shift ${shift}`);
    }
    // Short counts (tail only) and an exact multiple of 16.
    for (const count of [1, 2, 15, 16, 17, 32]) {
      m.reset();
      const ps = m.put(x.slice(0, count)), pd = m.junk(count + 16);
      m.k.quantizeInputU8(ps, pd, count);
      assert.deepEqual(m.u8(pd, count), expect.slice(0, count), `${m.name} count ${count}`);
      assert.ok(m.u8(pd + count, 16).every((v) => v === 0xa5), `${m.name} count ${count}: wrote past the end`);
    }
  }
});

test('qconv2dPackWeights / qconv2dPackedWeightBytes: the documented [C/16][P][16][2] i16 layout', () => {
  const rng = new TestRng(21);
  for (const [kh, kw, cin, cout] of [[8, 8, 1, 64], [8, 8, 3, 33], [3, 3, 1, 5], [3, 3, 3, 16], [1, 1, 1, 1], [2, 3, 5, 47]] as const) {
    const w = Int8Array.from({ length: kh * kw * cin * cout }, () => rng.int(-128, 127));
    w[0] = -128;
    w[w.length - 1] = 127;
    const expect = packQconvWeightsRef(w, kh, kw, cin, cout);
    for (const m of builds) {
      const bytes = m.k.qconv2dPackedWeightBytes(kh, kw, cin, cout);
      assert.equal(bytes, Math.ceil((kh * kw * cin) / 2) * Math.ceil(cout / 16) * 16 * 4, `${m.name} bytes ${kh}x${kw}x${cin}x${cout}`);
      assert.equal(bytes, expect.byteLength);
      m.reset();
      const ps = m.put(w), pd = m.junk(bytes + 16);
      m.k.qconv2dPackWeights(ps, pd, kh, kw, cin, cout);
      assert.deepEqual(m.i16(pd, bytes / 2), expect, `${m.name} layout ${kh}x${kw}x${cin}x${cout}`);
      assert.ok(m.u8(pd + bytes, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end`);
    }
  }
  // The model shapes: exactly ceil(T/2)·cout·4 bytes (no channel padding when cout % 16 == 0).
  for (const K of [64, 128, 256]) assert.equal(scalarBuild.k.qconv2dPackedWeightBytes(8, 8, 1, K), 32 * K * 4);
});

/** Packs int8 HWIO weights w in build m and runs qconv2dThresholdPack; returns the packed words. */
function runQconv(m: Kernels, s: ConvCase, x: Uint8Array, w: Int8Array, thr: Int32Array, flip: Int32Array): Uint32Array {
  const g = convGeometry(s);
  const pixels = s.n * g.outH * g.outW;
  const wpp = wordsPerPixel(s.cout);
  m.reset();
  const px = m.put(x), pw8 = m.put(w);
  const pw = m.junk(m.k.qconv2dPackedWeightBytes(g.kh, g.kw, s.cin, s.cout));
  m.k.qconv2dPackWeights(pw8, pw, g.kh, g.kw, s.cin, s.cout);
  const pthr = m.put(thr), pflip = m.put(flip), scratch = m.junk(s.cout * 4);
  const pout = m.junk(pixels * wpp * 4 + 16);
  m.k.qconv2dThresholdPack(px, pw, pthr, pflip, pout, scratch, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, g.strideH, g.strideW,
    g.padTop, g.padLeft, g.outH, g.outW);
  assert.ok(m.u8(pout + pixels * wpp * 4, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end of out`);
  return m.u32(pout, pixels * wpp);
}

const I32_MIN = -(2 ** 31), I32_MAX = 2 ** 31 - 1;

test('qconv2dThresholdPack == integer conv reference + threshold, SIMD == scalar bit for bit', () => {
  const rng = new TestRng(22);
  const cases: ConvCase[] = [];
  // The first layer: 8×8 stride 2 SAME on 28×28 (pads 3/3), cin 1 and 3, K up to 256 and tails.
  for (const cout of [64, 33, 5, 256]) cases.push({ n: 2, h: 28, w: 28, cin: 1, cout, k: 8, stride: 2 });
  for (const cout of [64, 33, 5]) cases.push({ n: 1, h: 28, w: 28, cin: 3, cout, k: 8, stride: 2 });
  // 3×3 stride 1 (SAME and VALID), odd tap counts (T = 9, 27), odd pixel counts.
  for (const cout of [5, 33, 64]) {
    cases.push({ n: 3, h: 7, w: 5, cin: 1, cout, k: 3, stride: 1 });
    cases.push({ n: 1, h: 9, w: 8, cin: 3, cout, k: 3, stride: 1, valid: true });
  }
  cases.push(
    { n: 2, h: 10, w: 11, cin: 2, cout: 17, k: 4, kw: 5, stride: 3 },            // kh ≠ kw, stride 3
    { n: 1, h: 48, w: 48, cin: 4, cout: 20, k: 5, stride: 2 },                   // image > padded buffer: clipped gather
    { n: 1, h: 9, w: 9, cin: 64, cout: 17, k: 8, stride: 2 },                    // T = 4096: two patches fill the buffer
    { n: 1, h: 5, w: 4, cin: 2049, cout: 5, k: 2, kw: 1, stride: 2, valid: true }, // T = 4098 > 4096: direct path
    { n: 1, h: 12, w: 12, cin: 130, cout: 37, k: 8, stride: 2 },                 // T = 8320: direct path, SAME
    { n: 2, h: 3, w: 3, cin: 1, cout: 1, k: 3, stride: 1, valid: true },         // one pixel per image, one channel
    { n: 1, h: 1, w: 1, cin: 1, cout: 3, k: 1, stride: 1 },
    // strideH ≠ strideW: padded-image gather, clipped gather, direct path
    { n: 2, h: 28, w: 28, cin: 1, cout: 33, k: 8, stride: 1, strideW: 2 },
    { n: 1, h: 11, w: 10, cin: 3, cout: 17, k: 3, kw: 4, stride: 2, strideW: 1 },
    { n: 2, h: 12, w: 13, cin: 2, cout: 5, k: 4, stride: 3, strideW: 2, valid: true },
    { n: 1, h: 48, w: 40, cin: 4, cout: 20, k: 5, stride: 1, strideW: 3 },
    { n: 1, h: 12, w: 12, cin: 130, cout: 37, k: 8, stride: 3, strideW: 2 },
  );
  for (const s of cases) {
    const g = convGeometry(s);
    const pixels = s.n * g.outH * g.outW;
    const x = Uint8Array.from({ length: s.n * s.h * s.w * s.cin }, () => rng.int(0, 255));
    const w = Int8Array.from({ length: g.kh * g.kw * s.cin * s.cout }, () => rng.int(-128, 127));
    // Extreme pixels: a saturated region and the most negative weights.
    x.fill(255, 0, Math.min(x.length, 3 * s.w * s.cin));
    w.fill(-128, 0, Math.min(w.length, s.cout * 2));
    const acc = conv2dInt(x, s.n, s.h, s.w, s.cin, w, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
    // Thresholds: mostly an actual sum (equality) or near one, so both outcomes occur; plus the
    // int32 bounds (always / never true) on a few channels.
    const thr = new Int32Array(s.cout).map((_, j) => acc[rng.int(0, pixels - 1) * s.cout + j]! + rng.int(-2, 2));
    const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
    if (s.cout > 4) {
      thr[0] = I32_MIN + 1; flip[0] = 0;  // acc ≥ -2^31+1: always +1
      thr[1] = I32_MAX; flip[1] = 0;      // acc ≥ 2^31-1: always -1
      thr[2] = I32_MIN + 1; flip[2] = 1;  // acc ≤ -2^31+1: always -1
      thr[3] = I32_MAX; flip[3] = 7;      // acc ≤ 2^31-1 (any nonzero flip): always +1
      thr[4] = I32_MIN; flip[4] = 0;      // acc ≥ -2^31: always +1
    }
    const expect = packSigns(thresholdSignsGE(acc, pixels, s.cout, thr, flip), pixels, s.cout);
    const what = JSON.stringify(s);
    const got = builds.map((m) => runQconv(m, s, x, w, thr, flip));
    assert.deepEqual(got[0], expect, `scalar ${what}`);
    assert.deepEqual(got[1], got[0], `simd != scalar ${what}`);
    assertPaddingZero(got[0]!, pixels, s.cout, what);
    const signs = unpackSigns(got[0]!, pixels, s.cout);
    if (s.cout > 4) {
      for (let p = 0; p < pixels; p++) {
        assert.deepEqual(Array.from(signs.slice(p * s.cout, p * s.cout + 5)), [1, -1, -1, 1, 1], `${what} pixel ${p}`);
      }
    }
    // Both outcomes occur on the data-driven channels.
    if (s.cout > 8 && pixels > 8) assert.ok(signs.some((v) => v === 1) && signs.some((v) => v === -1), what);
  }
});

test('qconv2dThresholdPack: random shapes and extreme sums, both builds == reference', () => {
  const rng = new TestRng(23);
  for (let it = 0; it < 40; it++) {
    const k = rng.int(1, 8), kw = rng.int(1, 8), stride = rng.int(1, 3);
    const s: ConvCase = {
      n: rng.int(1, 3), h: k + rng.int(0, 9), w: kw + rng.int(0, 9), cin: rng.pick([1, 2, 3, 5]),
      cout: rng.pick([1, 4, 5, 15, 16, 17, 31, 33, 48, 64]), k, kw, stride, valid: rng.int(0, 1) === 1,
    };
    const g = convGeometry(s);
    if (g.padTop >= g.kh || g.padLeft >= g.kw) continue;
    const pixels = s.n * g.outH * g.outW;
    // Half of the shapes use extreme values only (255 × ±128), the largest possible sums.
    const extreme = it % 2 === 0;
    const x = Uint8Array.from({ length: s.n * s.h * s.w * s.cin }, () => (extreme ? rng.pick([0, 255]) : rng.int(0, 255)));
    const w = Int8Array.from({ length: g.kh * g.kw * s.cin * s.cout }, () => (extreme ? rng.pick([-128, 127]) : rng.int(-128, 127)));
    const acc = conv2dInt(x, s.n, s.h, s.w, s.cin, w, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
    const thr = new Int32Array(s.cout).map((_, j) => acc[rng.int(0, pixels - 1) * s.cout + j]!);
    const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
    const expect = packSigns(thresholdSignsGE(acc, pixels, s.cout, thr, flip), pixels, s.cout);
    for (const m of builds) assert.deepEqual(runQconv(m, s, x, w, thr, flip), expect, `${m.name} ${JSON.stringify(s)}`);
  }
});

test('qconv2dThresholdPack: random shapes with strideH ≠ strideW, both builds == reference', () => {
  const rng = new TestRng(26);
  for (let it = 0; it < 30; it++) {
    const k = rng.int(1, 8), kw = rng.int(1, 8), stride = rng.int(1, 3);
    const strideW = 1 + ((stride - 1 + rng.int(1, 2)) % 3);   // 1..3, never equal to stride
    const s: ConvCase = {
      n: rng.int(1, 3), h: k + rng.int(0, 9), w: kw + rng.int(0, 9), cin: rng.pick([1, 2, 3, 5]),
      cout: rng.pick([1, 4, 5, 15, 16, 17, 31, 33, 48, 64]), k, kw, stride, strideW, valid: rng.int(0, 1) === 1,
    };
    const g = convGeometry(s);
    const pixels = s.n * g.outH * g.outW;
    const x = Uint8Array.from({ length: s.n * s.h * s.w * s.cin }, () => rng.int(0, 255));
    const w = Int8Array.from({ length: g.kh * g.kw * s.cin * s.cout }, () => rng.int(-128, 127));
    const acc = conv2dInt(x, s.n, s.h, s.w, s.cin, w, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
    const thr = new Int32Array(s.cout).map((_, j) => acc[rng.int(0, pixels - 1) * s.cout + j]!);
    const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
    const expect = packSigns(thresholdSignsGE(acc, pixels, s.cout, thr, flip), pixels, s.cout);
    for (const m of builds) assert.deepEqual(runQconv(m, s, x, w, thr, flip), expect, `${m.name} ${JSON.stringify(s)}`);
  }
});

test('qconv2dThresholdPack: quantized float images give the same bits as the integer reference', () => {
  // End to end as the runtime will use it: f32 image in [0,1] → quantizeInputU8 → qconv.
  const rng = new TestRng(24);
  const s: ConvCase = { n: 4, h: 28, w: 28, cin: 1, cout: 64, k: 8, stride: 2 };
  const g = convGeometry(s);
  const pixels = s.n * g.outH * g.outW;
  const img = Float32Array.from({ length: s.n * 784 }, () => (rng.float() < 0.3 ? 0 : rng.float()));
  const xq = quantizeU8Ref(img);
  const w = Int8Array.from({ length: 64 * s.cout }, () => rng.int(-128, 127));
  const acc = conv2dInt(xq, s.n, s.h, s.w, s.cin, w, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
  const thr = new Int32Array(s.cout).map(() => rng.int(-20000, 20000));
  const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
  const expect = packSigns(thresholdSignsGE(acc, pixels, s.cout, thr, flip), pixels, s.cout);
  for (const m of builds) {
    m.reset();
    const pimg = m.put(img), pq = m.junk(img.length);
    m.k.quantizeInputU8(pimg, pq, img.length);
    const q = m.u8(pq, img.length);
    assert.deepEqual(q, xq, m.name);
    assert.deepEqual(runQconv(m, s, q, w, thr, flip), expect, m.name);
  }
});

test('integer first layer: bad calls trap and the instance keeps working', () => {
  for (const m of builds) {
    const s: ConvCase = { n: 2, h: 28, w: 28, cin: 1, cout: 33, k: 8, stride: 2 };
    const g = convGeometry(s);
    const rng = new TestRng(25);
    const x = Uint8Array.from({ length: s.n * 784 }, () => rng.int(0, 255));
    const w = Int8Array.from({ length: 64 * s.cout }, () => rng.int(-128, 127));
    const acc = conv2dInt(x, s.n, s.h, s.w, s.cin, w, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
    const thr = new Int32Array(s.cout).map((_, j) => acc[j]!);
    const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
    const good = runQconv(m, s, x, w, thr, flip);

    m.reset();
    const px = m.put(x), pw8 = m.put(w);
    const wBytes = m.k.qconv2dPackedWeightBytes(8, 8, 1, s.cout);
    const pw = m.junk(wBytes);
    m.k.qconv2dPackWeights(pw8, pw, 8, 8, 1, s.cout);
    const pthr = m.put(thr), pflip = m.put(flip), scratch = m.junk(s.cout * 4);
    const outWords = s.n * 14 * 14 * 2;
    const pout = m.junk(outWords * 4);
    const f = m.junk(64 * 4);
    const end = m.memBytes();
    const k = m.k;
    const args = [px, pw, pthr, pflip, pout, scratch, s.n, 28, 28, 1, s.cout, 8, 8, 2, 2, 3, 3, 14, 14];
    const call = (a: number[]) => () => (k.qconv2dThresholdPack as (...v: number[]) => void)(...a);
    const withArg = (i: number, v: number) => args.map((a, j) => (j === i ? v : a));
    const bad: [string, () => unknown, RegExp][] = [
      ['input past end', call(withArg(0, end - 100)), /input buffer out of bounds/],
      ['input below heapBase', call(withArg(0, 0)), /input buffer out of bounds/],
      ['weights past end', call(withArg(1, end - wBytes + 4)), /weights buffer out of bounds/],
      ['thr past end', call(withArg(2, end - 8)), /thr buffer out of bounds/],
      ['flip near 4 GiB', call(withArg(3, 0xfffffff0)), /flip buffer out of bounds/],
      ['out past end', call(withArg(4, end - 16)), /out buffer out of bounds/],
      ['scratch past end', call(withArg(5, end - 4)), /scratch buffer out of bounds/],
      ['n = 0', call(withArg(6, 0)), /n must be > 0/],
      ['inH < 0', call(withArg(7, -28)), /inH must be > 0/],
      ['cin = 0', call(withArg(9, 0)), /cin must be > 0/],
      ['cout = 0', call(withArg(10, 0)), /cout must be > 0/],
      ['strideH = 0', call(withArg(13, 0)), /strideH must be > 0/],
      ['strideW < 0', call(withArg(14, -2)), /strideW must be > 0/],
      ['padTop >= kh', call(withArg(15, 8)), /padTop must be < kh/],
      ['padLeft < 0', call(withArg(16, -1)), /padLeft must be >= 0/],
      ['windows below the input', call(withArg(17, 20)), /last window row/],
      ['windows right of the input', call(withArg(18, 20)), /last window col/],
      // per axis: 14 columns at stride 2 fit, at stride 3 the last starts at 39 - 3 > 27
      ['strideW too large for outW', call(withArg(14, 3)), /last window col/],
      ['strideH too large for outH', call(withArg(13, 3)), /last window row/],
      ['too many taps', call([px, pw, pthr, pflip, pout, scratch, 1, 300, 300, 1, 1, 257, 256, 1, 1, 0, 0, 1, 1]), /must be <= 65536/],
      ['overflowing dims', call([px, pw, pthr, pflip, pout, scratch, 65536, 65536, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1]), /input buffer out of bounds/],
      ['pack: src past end', () => k.qconv2dPackWeights(end - 100, pw, 8, 8, 1, s.cout), /src buffer out of bounds/],
      ['pack: dst past end', () => k.qconv2dPackWeights(pw8, end - 100, 8, 8, 1, s.cout), /dst buffer out of bounds/],
      ['pack: kh = 0', () => k.qconv2dPackWeights(pw8, pw, 0, 8, 1, s.cout), /kh must be > 0/],
      ['bytes: cout < 0', () => k.qconv2dPackedWeightBytes(8, 8, 1, -5), /cout must be > 0/],
      ['bytes: too many taps', () => k.qconv2dPackedWeightBytes(256, 256, 2, 1), /must be <= 65536/],
      ['quantize: src past end', () => k.quantizeInputU8(end - 32, f, 16), /src buffer out of bounds/],
      ['quantize: dst past end', () => k.quantizeInputU8(f, end - 8, 16), /dst buffer out of bounds/],
      ['quantize: count = 0', () => k.quantizeInputU8(f, f, 0), /count must be > 0/],
      ['quantize: huge count', () => k.quantizeInputU8(f, f, 0x7fffffff), /src buffer out of bounds/],
    ];
    for (const [what, fn, re] of bad) assert.throws(fn, re, `${m.name}: ${what}`);
    // Still usable after the traps.
    k.qconv2dThresholdPack(px, pw, pthr, pflip, pout, scratch, s.n, 28, 28, 1, s.cout, 8, 8, 2, 2, 3, 3, 14, 14);
    assert.deepEqual(m.u32(pout, outWords), good, `${m.name} after traps`);
  }
});
