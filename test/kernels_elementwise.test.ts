// Elementwise kernels (addF32, chainF32, accToF32, thresholdPackF32, zeroPadFixI32) against the
// plain references in kernel_reference.ts in both builds, bit for bit; the zero-padding pipeline
// (bitPad → bconv2dPopcount → zeroPadFixI32 → accToF32 mode 1) against a zero-padded ±1 conv; traps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builds, assertPaddingZero } from './kernel_harness.js';
import {
  TestRng, type ChainOp, accToF32Ref, addF32Ref, chainF32Ref, conv2dFloat, packSigns, samePadding, thresholdSignsF32,
  wordsPerPixel, zeroPadFixRef,
} from './kernel_reference.js';

const CHANNELS = [1, 3, 4, 5, 31, 33, 65, 100];

/** Bit-exact f32 comparison (any NaN equals any NaN: wasm does not fix payloads). */
function assertSameF32(got: Float32Array, expect: Float32Array, msg: string): void {
  assert.equal(got.length, expect.length, msg);
  const gb = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const eb = new Uint32Array(expect.buffer, expect.byteOffset, expect.length);
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(got[i]) && Number.isNaN(expect[i])) continue;
    if (gb[i] !== eb[i]) assert.fail(`${msg}: element ${i}: got ${got[i]} (0x${gb[i]!.toString(16)}), expected ${expect[i]} (0x${eb[i]!.toString(16)})`);
  }
}

/** Floats with the edge values mixed in: ±0, ±Infinity, NaN, subnormals, large magnitudes. */
function edgyFloats(rng: TestRng, count: number): Float32Array {
  const edges = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3e38, -3e38, 1, -1];
  return Float32Array.from({ length: count }, () => (rng.int(0, 9) === 0 ? rng.pick(edges) : (rng.float() * 2 - 1) * 10 ** rng.int(-3, 3)));
}

test('addF32 == f32 a + b, out of place and in place (out = a, out = b), both builds', () => {
  const rng = new TestRng(201);
  for (const count of [1, 3, 4, 5, 7, 8, 9, 31, 33, 65, 100, 1000]) {
    const a = edgyFloats(rng, count), b = edgyFloats(rng, count);
    const expect = addF32Ref(a, b);
    for (const m of builds) {
      m.reset();
      const pa = m.put(a), pb = m.put(b), pout = m.junk(count * 4 + 16);
      m.k.addF32(pa, pb, pout, count);
      assertSameF32(m.f32(pout, count), expect, `${m.name} count=${count}`);
      assert.ok(m.u8(pout + count * 4, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end`);
      m.k.addF32(pa, pb, pa, count);
      assertSameF32(m.f32(pa, count), expect, `${m.name} count=${count} in place (a)`);
      const pa2 = m.put(a);
      m.k.addF32(pa2, pb, pb, count);
      assertSameF32(m.f32(pb, count), expect, `${m.name} count=${count} in place (b)`);
    }
  }
});

/** Writes the (code, ptr) records of `ops` (vectors put in m first); returns the records' pointer. */
function putOps(m: (typeof builds)[number], ops: readonly ChainOp[]): number {
  const recs = new Int32Array(Math.max(ops.length, 1) * 2);
  ops.forEach((op, i) => {
    recs[2 * i] = op.code;
    recs[2 * i + 1] = op.vec ? m.put(op.vec) : 0;
  });
  return m.put(recs);
}

test('chainF32 == the ops in order, each rounded to f32 (MUL, ADD, RELU incl. -0 and NaN), both builds', () => {
  const rng = new TestRng(202);
  for (const c of CHANNELS) {
    for (const rows of [1, 2, 5]) {
      const x = edgyFloats(rng, rows * c);
      const vec = () => edgyFloats(rng, c);
      // Folded batch norm + ReLU, a bias then a scale, ReLU twice, a single op, and no op at all.
      const chains: ChainOp[][] = [
        [{ code: 1, vec: vec() }, { code: 2, vec: vec() }, { code: 3 }],
        [{ code: 2, vec: vec() }, { code: 1, vec: vec() }],
        [{ code: 3 }, { code: 1, vec: vec() }, { code: 3 }, { code: 2, vec: vec() }],
        [{ code: 3 }],
        [],
      ];
      for (const ops of chains) {
        const expect = chainF32Ref(x, rows, c, ops);
        for (const m of builds) {
          m.reset();
          const px = m.put(x);
          const pops = putOps(m, ops);
          m.k.chainF32(px, rows, c, pops, ops.length);
          assertSameF32(m.f32(px, rows * c), expect, `${m.name} ${rows}x${c} ops ${ops.map((o) => o.code).join(',')}`);
        }
      }
    }
  }
  // RELU is f32.max(x, +0): -0 → +0, NaN stays NaN, and no FMA in MUL then ADD.
  const x = Float32Array.from([-0, NaN, -1, 2, 0.1]);
  const expect = chainF32Ref(x, 1, 5, [{ code: 3 }]);
  assert.ok(Object.is(expect[0], 0) && Number.isNaN(expect[1]) && Object.is(expect[2], 0) && expect[3] === 2);
  for (const m of builds) {
    m.reset();
    const px = m.put(x);
    m.k.chainF32(px, 1, 5, putOps(m, [{ code: 3 }]), 1);
    assertSameF32(m.f32(px, 5), expect, m.name);
    // (1 + 2^-23)·(1 - 2^-23) - 1 is -2^-46 exactly with an FMA and 0 when the product is rounded first.
    const a = Math.fround(1 + 2 ** -23), b = Math.fround(1 - 2 ** -23);
    const py = m.put(Float32Array.from([a]));
    m.k.chainF32(py, 1, 1, putOps(m, [{ code: 1, vec: Float32Array.from([b]) }, { code: 2, vec: Float32Array.from([-1]) }]), 2);
    assert.equal(m.f32(py, 1)[0], 0, `${m.name}: MUL then ADD was fused`);
  }
});

test('accToF32 modes 0 / 1 / 2 == reference bit for bit (incl. values past 2^24 that round), in place, both builds', () => {
  const rng = new TestRng(203);
  for (const c of CHANNELS) {
    const rows = rng.int(1, 5);
    const nValid = rng.int(1, 5000);
    const small = Int32Array.from({ length: rows * c }, () => rng.int(0, nValid));
    // Mode 2 sees int8-conv sums, up to ±2^31 - 1: many are not exact in f32.
    const big = Int32Array.from({ length: rows * c }, () => (rng.int(0, 3) === 0 ? rng.int(-(2 ** 31) + 1, 2 ** 31 - 1) : rng.int(-(2 ** 25), 2 ** 25)));
    big[0] = 2 ** 31 - 1; // rounds up to 2^31
    const dq = Float32Array.from({ length: c }, () => rng.float() * 1e-3);
    dq[0] = -0.5;
    for (const [mode, acc, nv] of [[0, small, nValid], [1, small, nValid], [2, big, 0], [0, big.map((v) => v >> 2), 2 ** 30 - 1], [1, big, -1]] as const) {
      const expect = accToF32Ref(acc, c, mode, nv, dq);
      for (const m of builds) {
        m.reset();
        const pacc = m.put(acc), pdq = m.put(dq), pout = m.junk(rows * c * 4 + 16);
        // dq is ignored in modes 0 and 1: pass 0 there.
        m.k.accToF32(pacc, rows, c, mode, nv, mode === 2 ? pdq : 0, pout);
        assertSameF32(m.f32(pout, rows * c), expect, `${m.name} mode ${mode} ${rows}x${c}`);
        assert.ok(m.u8(pout + rows * c * 4, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end`);
        m.k.accToF32(pacc, rows, c, mode, nv, pdq, pacc);
        assertSameF32(m.f32(pacc, rows * c), expect, `${m.name} mode ${mode} ${rows}x${c} in place`);
      }
    }
  }
});

test('thresholdPackF32 == reference threshold + pack (flip, ±Infinity, equality, NaN → -1), padding bits 0, both builds', () => {
  const rng = new TestRng(204);
  for (const c of [...CHANNELS, 32, 64, 96, 129]) {
    const rows = rng.int(1, 7);
    const x = edgyFloats(rng, rows * c);
    const thr = Float32Array.from({ length: c }, () => (rng.int(0, 7) === 0 ? rng.pick([Infinity, -Infinity, 0, -0]) : rng.float() - 0.5));
    const flip = Int32Array.from({ length: c }, () => rng.pick([0, 0, 1, -1, 7]));
    // Equality cases: a threshold equal to a value of its column, and +0 against -0.
    thr[c - 1] = x[c - 1]!;
    x[0] = -0;
    thr[0] = 0;
    const expect = packSigns(thresholdSignsF32(x, rows, c, thr, flip), rows, c);
    // NaN is -1 whatever the flip.
    for (let i = 0; i < rows * c; i++) {
      if (Number.isNaN(x[i])) assert.equal((expect[Math.floor(i / c) * wordsPerPixel(c) + ((i % c) >> 5)]! >>> (i % c % 32)) & 1, 1);
    }
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pthr = m.put(thr), pflip = m.put(flip), pout = m.junk(rows * wordsPerPixel(c) * 4 + 16);
      m.k.thresholdPackF32(px, rows, c, pthr, pflip, pout);
      const got = m.u32(pout, rows * wordsPerPixel(c));
      assert.deepEqual(got, expect, `${m.name} ${rows}x${c}`);
      assertPaddingZero(got, rows, c, `${m.name} ${rows}x${c}`);
      assert.ok(m.u8(pout + rows * wordsPerPixel(c) * 4, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end`);
    }
  }
});

test('zeroPadFixI32 == 2·acc + corr per image, in place, both builds', () => {
  const rng = new TestRng(205);
  for (const perImage of [1, 3, 4, 5, 31, 33, 65, 100, 1000]) {
    for (const n of [1, 2, 3]) {
      const acc = Int32Array.from({ length: n * perImage }, () => rng.int(-(2 ** 29), 2 ** 29));
      const corr = Int32Array.from({ length: perImage }, () => rng.int(-(2 ** 29), 2 ** 29));
      const expect = zeroPadFixRef(acc, perImage, corr);
      for (const m of builds) {
        m.reset();
        const pacc = m.put(acc), pcorr = m.put(corr);
        m.k.zeroPadFixI32(pacc, n, perImage, pcorr);
        assert.deepEqual(m.i32(pacc, n * perImage), expect, `${m.name} ${n}x${perImage}`);
      }
    }
  }
});

test('zero padding pipeline: bitPad (+1) → bconv2dPopcount → zeroPadFixI32 → accToF32 mode 1 == SAME conv with zero padding', () => {
  const rng = new TestRng(206);
  const cases = [
    { n: 2, h: 7, w: 6, c: 33, cout: 5, kh: 3, kw: 3, sh: 1, sw: 1 },
    { n: 1, h: 8, w: 9, c: 3, cout: 7, kh: 3, kw: 2, sh: 2, sw: 1 },
    { n: 3, h: 5, w: 5, c: 100, cout: 4, kh: 5, kw: 5, sh: 1, sw: 2 },
    { n: 1, h: 6, w: 7, c: 65, cout: 9, kh: 4, kw: 3, sh: 3, sw: 2 },
  ];
  for (const s of cases) {
    const ph = samePadding(s.h, s.kh, s.sh), pw = samePadding(s.w, s.kw, s.sw);
    const padBottom = Math.max((ph.out - 1) * s.sh + s.kh - s.h, 0) - ph.before;
    const padRight = Math.max((pw.out - 1) * s.sw + s.kw - s.w, 0) - pw.before;
    const H = s.h + ph.before + padBottom, W = s.w + pw.before + padRight;
    const x = rng.signs(s.n * s.h * s.w * s.c);
    const f = rng.signs(s.cout * s.kh * s.kw * s.c); // [cout][kh][kw][c]
    // The model: a zero-padded float conv of the ±1 values (HWIO weights), exact in f64.
    const hwio = new Float32Array(s.kh * s.kw * s.c * s.cout);
    for (let o = 0; o < s.cout; o++)
      for (let t = 0; t < s.kh * s.kw * s.c; t++) hwio[t * s.cout + o] = f[o * s.kh * s.kw * s.c + t]!;
    const expect = Float32Array.from(conv2dFloat(Float32Array.from(x), s.n, s.h, s.w, s.c, hwio, s.cout, s.kh, s.kw, s.sh, s.sw, ph.before, pw.before, ph.out, pw.out));
    // corr[oy][ox][o] = Σ of filter o's ±1 weights over the taps that fall in the padding.
    const perImage = ph.out * pw.out * s.cout;
    const corr = new Int32Array(perImage);
    for (let oy = 0; oy < ph.out; oy++)
      for (let ox = 0; ox < pw.out; ox++)
        for (let o = 0; o < s.cout; o++) {
          let sum = 0;
          for (let ky = 0; ky < s.kh; ky++)
            for (let kx = 0; kx < s.kw; kx++) {
              const y = oy * s.sh - ph.before + ky, xx = ox * s.sw - pw.before + kx;
              if (y >= 0 && y < s.h && xx >= 0 && xx < s.w) continue;
              for (let ch = 0; ch < s.c; ch++) sum += f[((o * s.kh + ky) * s.kw + kx) * s.c + ch]!;
            }
          corr[(oy * pw.out + ox) * s.cout + o] = sum;
        }
    const wpp = wordsPerPixel(s.c);
    const nValid = s.kh * s.kw * s.c;
    for (const m of builds) {
      m.reset();
      const px = m.put(packSigns(x, s.n * s.h * s.w, s.c)), pw8 = m.put(packSigns(f, s.cout * s.kh * s.kw, s.c));
      const padded = m.junk(s.n * H * W * wpp * 4), acc = m.junk(s.n * perImage * 4), pcorr = m.put(corr);
      const out = m.junk(s.n * perImage * 4);
      m.k.bitPad(px, padded, s.n, s.h, s.w, wpp, ph.before, padBottom, pw.before, padRight);
      m.k.bconv2dPopcount(padded, pw8, acc, s.n, H, W, wpp, s.cout, s.kh, s.kw, s.sh, s.sw, ph.out, pw.out);
      m.k.zeroPadFixI32(acc, s.n, perImage, pcorr);
      m.k.accToF32(acc, s.n * ph.out * pw.out, s.cout, 1, nValid, 0, out);
      assertSameF32(m.f32(out, s.n * perImage), expect, `${m.name} ${JSON.stringify(s)}`);
    }
  }
});

test('elementwise kernels: bad calls trap and the instance keeps working', () => {
  for (const m of builds) {
    m.reset();
    const buf = m.junk(4096);
    const end = m.memBytes();
    const k = m.k;
    const vec = m.put(new Float32Array(8).fill(2));
    const opsWith = (code: number, ptr: number) => m.put(Int32Array.from([1, vec, code, ptr]));
    const trapping: [string, () => unknown, RegExp][] = [
      ['addF32 a past end', () => k.addF32(end - 8, buf, buf, 4), /a buffer out of bounds/],
      ['addF32 b below heapBase', () => k.addF32(buf, 8, buf, 4), /b buffer out of bounds/],
      ['addF32 out past end', () => k.addF32(buf, buf, end - 4, 4), /out buffer out of bounds/],
      ['addF32 count = 0', () => k.addF32(buf, buf, buf, 0), /count must be > 0/],
      ['addF32 huge count', () => k.addF32(buf, buf, buf, 0x7fffffff), /a buffer out of bounds/],
      ['chainF32 unknown code', () => k.chainF32(buf, 2, 8, opsWith(4, 0), 2), /unknown op code/],
      ['chainF32 code 0', () => k.chainF32(buf, 2, 8, opsWith(0, vec), 2), /unknown op code/],
      ['chainF32 vec past end', () => k.chainF32(buf, 2, 8, opsWith(2, end - 16), 2), /vec buffer out of bounds/],
      ['chainF32 vec below heapBase', () => k.chainF32(buf, 2, 8, opsWith(1, 0), 2), /vec buffer out of bounds/],
      ['chainF32 ops past end', () => k.chainF32(buf, 2, 8, end - 8, 2), /ops buffer out of bounds/],
      ['chainF32 x past end', () => k.chainF32(end - 32, 2, 8, opsWith(3, 0), 2), /x buffer out of bounds/],
      ['chainF32 nOps < 0', () => k.chainF32(buf, 2, 8, buf, -1), /nOps must be >= 0/],
      ['chainF32 c = 0', () => k.chainF32(buf, 2, 0, buf, 0), /c must be > 0/],
      ['accToF32 mode 3', () => k.accToF32(buf, 2, 8, 3, 10, 0, buf), /mode must be 0, 1 or 2/],
      ['accToF32 mode 2 without dq', () => k.accToF32(buf, 2, 8, 2, 10, 0, buf), /dq buffer out of bounds/],
      ['accToF32 acc past end', () => k.accToF32(end - 32, 2, 8, 0, 10, 0, buf), /acc buffer out of bounds/],
      ['accToF32 out past end', () => k.accToF32(buf, 2, 8, 1, 10, 0, end - 32), /out buffer out of bounds/],
      ['accToF32 rows = 0', () => k.accToF32(buf, 0, 8, 0, 10, 0, buf), /rows must be > 0/],
      ['thresholdPackF32 out past end', () => k.thresholdPackF32(buf, 2, 40, buf, buf, end - 8), /out buffer out of bounds/],
      ['thresholdPackF32 thr past end', () => k.thresholdPackF32(buf, 2, 40, end - 100, buf, buf), /thr buffer out of bounds/],
      ['thresholdPackF32 flip below heapBase', () => k.thresholdPackF32(buf, 2, 40, buf, 4, buf), /flip buffer out of bounds/],
      ['thresholdPackF32 c < 0', () => k.thresholdPackF32(buf, 2, -40, buf, buf, buf), /c must be > 0/],
      ['zeroPadFixI32 corr past end', () => k.zeroPadFixI32(buf, 2, 16, end - 32), /corr buffer out of bounds/],
      ['zeroPadFixI32 acc past end', () => k.zeroPadFixI32(end - 64, 2, 16, buf), /acc buffer out of bounds/],
      ['zeroPadFixI32 n = 0', () => k.zeroPadFixI32(buf, 0, 16, buf), /n must be > 0/],
      ['zeroPadFixI32 overflowing dims', () => k.zeroPadFixI32(buf, 65536, 65536, buf), /acc buffer out of bounds/],
    ];
    for (const [w, call, re] of trapping) assert.throws(call, re, `${m.name}: ${w}`);
    // An invalid op after valid ones traps before x is touched.
    const x = m.put(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    assert.throws(() => k.chainF32(x, 1, 8, opsWith(9, 0), 2), /unknown op code/);
    assert.deepEqual(Array.from(m.f32(x, 8)), [1, 2, 3, 4, 5, 6, 7, 8], `${m.name}: x touched before validation`);
    // Still usable.
    k.chainF32(x, 1, 8, opsWith(3, 0), 2);
    assert.deepEqual(Array.from(m.f32(x, 8)), [2, 4, 6, 8, 10, 12, 14, 16], m.name);
  }
});
