// Float kernels: bias + ReLU, the float convolution (plain, fused bias + ReLU, fused threshold +
// pack), dense and argmax, each against kernel_reference.ts in both builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builds, assertPaddingZero, convGeometry, type ConvCase } from './kernel_harness.js';
import { TestRng, argmaxRef, conv2dFloat, conv2dFloatF32, denseF32Exact, denseRef, packSigns, biasReluRef, thresholdSignsF32, unpackSigns, wordsPerPixel } from './kernel_reference.js';
import { maxRelErr } from './helpers.js';

test('biasReluF32 == x + bias, then max(·, 0) when asked, in place (NaN kept)', () => {
  const rng = new TestRng(6);
  for (const [m, c] of [[1, 1], [3, 7], [5, 64], [2, 101]] as const) {
    const x = new Float32Array(m * c).map(() => 2 * rng.float() - 1);
    x[0] = NaN;
    const bias = new Float32Array(c).map(() => rng.float() - 0.5);
    for (const relu of [true, false]) {
      const expect = biasReluRef(x, bias, relu);
      assert.ok(!relu || expect.some((v) => v === 0) || m * c < 8, 'the case exercises the ReLU');
      for (const k of builds) {
        k.reset();
        const px = k.put(x);
        k.k.biasReluF32(px, m, c, k.put(bias), relu ? 1 : 0);
        assert.deepEqual(k.f32(px, m * c), expect, `${k.name} ${m}x${c} relu=${relu}`);
      }
    }
  }
});

/** A conv case; SAME padding unless `valid`, square kernel k unless kw is given. */
const fconvCases: ConvCase[] = [
  { n: 2, h: 28, w: 28, cin: 1, cout: 64, k: 8, stride: 2 }, // conv1 of the models: pads 3/3
  { n: 1, h: 28, w: 28, cin: 1, cout: 70, k: 8, stride: 2 }, // cout % 16 and % 4 tails
  { n: 2, h: 9, w: 7, cin: 3, cout: 7, k: 3, stride: 1 },
  { n: 1, h: 9, w: 10, cin: 5, cout: 33, k: 5, stride: 2 },
  // VALID layers with windows > 192 taps take the segmented path (chunks of 64 pixels, row
  // segments, sums parked between segments): conv2 / conv3 geometry of model A, an odd pixel
  // count across images, rows of 2 and 3 segments, channel tails.
  { n: 3, h: 14, w: 14, cin: 64, cout: 35, k: 6, stride: 2, valid: true },   // 75 pixels, span 384
  { n: 5, h: 5, w: 5, cin: 128, cout: 20, k: 5, stride: 1, valid: true },    // 1×1 outputs, span 640
  { n: 1, h: 11, w: 9, cin: 40, cout: 16, k: 4, kw: 5, stride: 3, valid: true }, // kh ≠ kw, span 200
  { n: 2, h: 6, w: 6, cin: 9, cout: 18, k: 5, stride: 1, valid: true },      // 225 taps, span 45
  // strideH ≠ strideW: SAME (clipped windows, pairs of pixels) and VALID (segmented path).
  { n: 2, h: 9, w: 10, cin: 3, cout: 7, k: 3, stride: 1, strideW: 2 },
  { n: 1, h: 10, w: 9, cin: 5, cout: 33, k: 5, kw: 3, stride: 2, strideW: 1 },
  { n: 2, h: 11, w: 12, cin: 2, cout: 20, k: 4, stride: 3, strideW: 2 },
  { n: 3, h: 14, w: 13, cin: 64, cout: 20, k: 6, stride: 2, strideW: 1, valid: true },   // span 384
  { n: 1, h: 13, w: 11, cin: 40, cout: 17, k: 4, kw: 5, stride: 1, strideW: 3, valid: true }, // span 200
];

test('fconv2d (SAME and VALID) == float reference (1e-5 relative) and == the f32 order exactly, relu, builds bit-identical', () => {
  const rng = new TestRng(6);
  // The model's conv1 geometry: 8×8 stride 2 on 28×28 → 14×14, pads top/left 3.
  assert.deepEqual(convGeometry(fconvCases[0]!), { outH: 14, outW: 14, padTop: 3, padLeft: 3, kh: 8, kw: 8, strideH: 2, strideW: 2 });
  for (const s of fconvCases) {
    const g = convGeometry(s);
    const x = rng.floats(s.n * s.h * s.w * s.cin);
    const wt = rng.floats(g.kh * g.kw * s.cin * s.cout);
    const ref = conv2dFloat(x, s.n, s.h, s.w, s.cin, wt, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
    // The documented summation order, emulated in f32: the kernels must match it bit for bit.
    const exact = conv2dFloatF32(x, s.n, s.h, s.w, s.cin, wt, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
    const count = s.n * g.outH * g.outW * s.cout;
    const results: Float32Array[] = [];
    for (const m of builds) {
      for (const relu of [0, 1]) {
        m.reset();
        const px = m.put(x), pw = m.put(wt), pout = m.junk(count * 4);
        m.k.fconv2d(px, pw, pout, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW, relu);
        const got = m.f32(pout, count);
        const expect = relu ? ref.map((v) => Math.max(v, 0)) : ref;
        const err = maxRelErr(got, expect);
        assert.ok(err <= 1e-5, `${m.name} relu=${relu} ${JSON.stringify(s)}: rel err ${err}`);
        assert.deepEqual(got, relu ? exact.map((v) => Math.max(v, 0)) : exact, `${m.name} relu=${relu} ${JSON.stringify(s)}: not the documented f32 order`);
        if (relu) assert.ok(got.every((v) => v >= 0));
        else results.push(got);
      }
    }
    assert.deepEqual(results[1], results[0], `scalar and simd builds differ: ${JSON.stringify(s)}`);
  }
});

test('fconv2d: random shapes (SAME / VALID, strides, kh ≠ kw, channel tails) == the f32 order exactly in both builds', () => {
  const rng = new TestRng(61);
  let segmented = 0;
  for (let it = 0; it < 80; it++) {
    const k = rng.int(1, 7), kw = rng.int(1, 7), stride = rng.int(1, 3);
    const s: ConvCase = {
      n: rng.int(1, 3), h: k + rng.int(0, 7), w: kw + rng.int(0, 7), cin: rng.pick([1, 2, 3, 8, 17, 40, 64]),
      cout: rng.pick([1, 3, 4, 5, 16, 17, 21, 32, 36]), k, kw, stride, valid: rng.int(0, 1) === 1,
    };
    const g = convGeometry(s);
    if (g.padTop >= g.kh || g.padLeft >= g.kw) continue;
    if (s.valid && g.kh * g.kw * s.cin > 192) segmented++;
    const x = rng.floats(s.n * s.h * s.w * s.cin);
    const wt = rng.floats(g.kh * g.kw * s.cin * s.cout);
    const exact = conv2dFloatF32(x, s.n, s.h, s.w, s.cin, wt, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
    const count = s.n * g.outH * g.outW * s.cout;
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pw = m.put(wt), pout = m.junk(count * 4);
      m.k.fconv2d(px, pw, pout, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW, 0);
      assert.deepEqual(m.f32(pout, count), exact, `${m.name} ${JSON.stringify(s)}`);
    }
  }
  assert.ok(segmented >= 8, `only ${segmented} shapes took the segmented path`);
});

test('fconv2d: random shapes with strideH ≠ strideW == the f32 order exactly in both builds', () => {
  const rng = new TestRng(62);
  let segmented = 0;
  for (let it = 0; it < 60; it++) {
    const k = rng.int(1, 7), kw = rng.int(1, 7), stride = rng.int(1, 3);
    const strideW = 1 + ((stride - 1 + rng.int(1, 2)) % 3);   // 1..3, never equal to stride
    const s: ConvCase = {
      n: rng.int(1, 3), h: k + rng.int(0, 7), w: kw + rng.int(0, 7), cin: rng.pick([1, 2, 3, 8, 17, 40, 64]),
      cout: rng.pick([1, 3, 4, 5, 16, 17, 21, 32, 36]), k, kw, stride, strideW, valid: rng.int(0, 1) === 1,
    };
    const g = convGeometry(s);
    assert.notEqual(g.strideH, g.strideW);
    if (s.valid && g.kh * g.kw * s.cin > 192) segmented++;
    const x = rng.floats(s.n * s.h * s.w * s.cin);
    const wt = rng.floats(g.kh * g.kw * s.cin * s.cout);
    const exact = conv2dFloatF32(x, s.n, s.h, s.w, s.cin, wt, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
    const count = s.n * g.outH * g.outW * s.cout;
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pw = m.put(wt), pout = m.junk(count * 4);
      m.k.fconv2d(px, pw, pout, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW, 0);
      assert.deepEqual(m.f32(pout, count), exact, `${m.name} ${JSON.stringify(s)}`);
    }
  }
  assert.ok(segmented >= 5, `only ${segmented} shapes took the segmented path`);
});

test('fconv2dBiasRelu == max(f32-order conv + bias, 0) exactly == fconv2d then biasReluF32, both builds, NaN kept', () => {
  const rng = new TestRng(71);
  for (const s of fconvCases) {
    const g = convGeometry(s);
    const x = rng.floats(s.n * s.h * s.w * s.cin);
    x[0] = NaN; // reaches the first output pixel of every channel whose window covers it
    const wt = rng.floats(g.kh * g.kw * s.cin * s.cout);
    // Biases large enough that some sums cross zero only because of them.
    const bias = new Float32Array(s.cout).map(() => 4 * (rng.float() - 0.5));
    const exact = conv2dFloatF32(x, s.n, s.h, s.w, s.cin, wt, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
    const expect = biasReluRef(exact, bias, true);
    assert.ok(expect.some((v) => Number.isNaN(v)) && expect.some((v) => v === 0) && expect.some((v) => v > 0), 'the case has NaN, rectified and positive outputs');
    const count = s.n * g.outH * g.outW * s.cout;
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pw = m.put(wt), pb = m.put(bias);
      const fused = m.junk(count * 4), twoPass = m.junk(count * 4);
      m.k.fconv2dBiasRelu(px, pw, pb, fused, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
      m.k.fconv2d(px, pw, twoPass, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW, 0);
      m.k.biasReluF32(twoPass, count / s.cout, s.cout, pb, 1);
      // As plain numbers: NaN equals NaN whatever its payload bits (wasm does not fix them).
      const got = Array.from(m.f32(fused, count));
      assert.deepEqual(got, Array.from(expect), `${m.name} ${JSON.stringify(s)}`);
      assert.deepEqual(got, Array.from(m.f32(twoPass, count)), `${m.name} ${JSON.stringify(s)}: fused != two passes`);
    }
  }
});

test('fconv2dThresholdPack == threshold(fconv2d) exactly, incl. ±Infinity and flip', () => {
  const rng = new TestRng(7);
  for (const s of fconvCases) {
    const g = convGeometry(s);
    const x = rng.floats(s.n * s.h * s.w * s.cin);
    const wt = rng.floats(g.kh * g.kw * s.cin * s.cout);
    const pixels = s.n * g.outH * g.outW;
    const thr = new Float32Array(s.cout).map(() => rng.float() - 0.5);
    const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
    thr[0] = Infinity;
    flip[0] = 0;                           // y ≥ +∞: always -1
    if (s.cout > 1) { thr[1] = -Infinity; flip[1] = 0; } // y ≥ -∞: always +1
    if (s.cout > 2) { thr[2] = Infinity; flip[2] = 1; }  // y ≤ +∞: always +1
    if (s.cout > 3) { thr[3] = -Infinity; flip[3] = 1; } // y ≤ -∞: always -1
    const wpp = wordsPerPixel(s.cout);
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pw = m.put(wt), pthr = m.put(thr), pflip = m.put(flip);
      const py = m.junk(pixels * s.cout * 4);
      m.k.fconv2d(px, pw, py, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW, 0);
      const y = m.f32(py, pixels * s.cout);
      // Exact threshold of a value in the middle of the data must hit the equality case too.
      const pthr2 = m.put(thr.map((t, j) => (j === s.cout - 1 ? y[s.cout - 1]! : t)));
      for (const tp of [pthr, pthr2]) {
        const thrNow = m.f32(tp, s.cout);
        const expect = packSigns(thresholdSignsF32(y, pixels, s.cout, thrNow, flip), pixels, s.cout);
        const pout = m.junk(pixels * wpp * 4);
        const scratch = m.junk(s.cout * 4);
        m.k.fconv2dThresholdPack(px, pw, tp, pflip, pout, scratch, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, g.strideH, g.strideW,
          g.padTop, g.padLeft, g.outH, g.outW);
        const got = m.u32(pout, pixels * wpp);
        assert.deepEqual(got, expect, `${m.name} ${JSON.stringify(s)}`);
        assertPaddingZero(got, pixels, s.cout, m.name);
        const signs = unpackSigns(got, pixels, s.cout);
        for (let p = 0; p < pixels; p++) {
          assert.equal(signs[p * s.cout], -1);
          if (s.cout > 1) assert.equal(signs[p * s.cout + 1], 1);
          if (s.cout > 2) assert.equal(signs[p * s.cout + 2], 1);
          if (s.cout > 3) assert.equal(signs[p * s.cout + 3], -1);
        }
      }
    }
  }
});

test('denseF32 == reference (1e-5 relative) and == the f32 order exactly, builds bit-identical', () => {
  const rng = new TestRng(8);
  for (const [mm, fin, fout] of [[1, 1, 1], [3, 50, 10], [4, 200, 37], [2, 33, 64], [5, 128, 10], [7, 9, 23], [128, 128, 10]] as const) {
    const x = rng.floats(mm * fin), w = rng.floats(fin * fout);
    const ref = denseRef(x, w, mm, fin, fout);
    const exact = denseF32Exact(x, w, mm, fin, fout);
    const results: Float32Array[] = [];
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pw = m.put(w), pout = m.junk(mm * fout * 4);
      m.k.denseF32(px, pw, pout, mm, fin, fout);
      const got = m.f32(pout, mm * fout);
      assert.ok(maxRelErr(got, ref) <= 1e-5, `${m.name} ${mm}x${fin}x${fout}`);
      assert.deepEqual(got, exact, `${m.name} ${mm}x${fin}x${fout}: not the documented f32 order`);
      results.push(got);
    }
    assert.deepEqual(results[1], results[0]);
  }
});

test('argmaxF32: row maxima, ties → lowest index', () => {
  const rng = new TestRng(9);
  const m = 6, c = 10;
  const x = rng.floats(m * c);
  x.fill(0.5, 0, c);          // row 0 all equal → 0
  x[c + 3] = 9; x[c + 7] = 9; // row 1 tie at 3 and 7 → 3
  x[2 * c + 9] = 5;           // row 2 max at the last index
  x[3 * c] = 7;               // row 3 max at index 0
  for (let j = 0; j < c; j++) x[4 * c + j] = -1 - j; // row 4 all negative → 0
  const expect = argmaxRef(x, m, c);
  assert.deepEqual(Array.from(expect.slice(0, 5)), [0, 3, 9, 0, 0]);
  for (const k of builds) {
    k.reset();
    const px = k.put(x), pout = k.junk(m * 4);
    k.k.argmaxF32(px, m, c, pout);
    assert.deepEqual(k.i32(pout, m), expect, k.name);
  }
});
