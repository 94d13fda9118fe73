// Pooling kernels (maxPool2dF32, avgPool2dF32, globalAvgPool2dF32, bitMaxPool2d) and bitPad, each
// against the plain references in kernel_reference.ts in both builds, over a grid of pool sizes,
// strides (per axis), VALID / SAME paddings, odd channel counts and batches; plus the traps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Kernels, type PoolFn, builds, assertPaddingZero, randomPacked } from './kernel_harness.js';
import {
  TestRng, type PoolGeometry, avgPool2dRef, bitMaxPoolSignsRef, globalAvgPoolRef, maxPool2dRef, packSigns, padSignsRef,
  samePadding, unpackSigns, wordsPerPixel,
} from './kernel_reference.js';

const CHANNELS = [1, 3, 31, 33, 65, 100];

/** A pooling case: input [n][h][w][c] and its window geometry. */
interface PoolCase { n: number; h: number; w: number; c: number; g: PoolGeometry; same: boolean }

/** Output size and padding as TensorFlow's pooling computes them (VALID or SAME). */
function poolGeometry(h: number, w: number, poolH: number, poolW: number, strideH: number, strideW: number, same: boolean): PoolGeometry {
  if (!same) {
    return { poolH, poolW, strideH, strideW, padTop: 0, padLeft: 0, outH: Math.floor((h - poolH) / strideH) + 1, outW: Math.floor((w - poolW) / strideW) + 1 };
  }
  const ph = samePadding(h, poolH, strideH), pw = samePadding(w, poolW, strideW);
  return { poolH, poolW, strideH, strideW, padTop: ph.before, padLeft: pw.before, outH: ph.out, outW: pw.out };
}

/**
 * The grid: every pool size 1–3 × 1–3, every stride 1–3 × 1–3 (strideH ≠ strideW included),
 * VALID and SAME, with the channel count cycling through CHANNELS, batch 1–3 and input sizes
 * drawn per case (VALID inputs at least the pool size).
 */
function poolGrid(seed: number): PoolCase[] {
  const rng = new TestRng(seed);
  const cases: PoolCase[] = [];
  let i = 0;
  for (let poolH = 1; poolH <= 3; poolH++)
    for (let poolW = 1; poolW <= 3; poolW++)
      for (let strideH = 1; strideH <= 3; strideH++)
        for (let strideW = 1; strideW <= 3; strideW++)
          for (const same of [false, true]) {
            const h = poolH + rng.int(0, 5), w = poolW + rng.int(0, 5);
            const c = CHANNELS[i++ % CHANNELS.length]!;
            cases.push({ n: rng.int(1, 3), h, w, c, g: poolGeometry(h, w, poolH, poolW, strideH, strideW, same), same });
          }
  // Inputs smaller than the pool (SAME only), and a 1×1 image.
  cases.push({ n: 2, h: 2, w: 1, c: 33, g: poolGeometry(2, 1, 3, 3, 1, 2, true), same: true });
  cases.push({ n: 1, h: 1, w: 1, c: 65, g: poolGeometry(1, 1, 3, 2, 2, 3, true), same: true });
  return cases;
}

const what = (s: PoolCase) => JSON.stringify({ n: s.n, h: s.h, w: s.w, c: s.c, same: s.same, ...s.g });

/** Float inputs: uniform values, or (every other case) a few levels with ±0 so ties happen; some NaN. */
function poolInput(rng: TestRng, count: number, ties: boolean): Float32Array {
  const levels = [-1.5, -1, -0, 0, 0.5, 2];
  const x = ties ? Float32Array.from({ length: count }, () => rng.pick(levels)) : rng.floats(count);
  for (let i = 0; i < count; i += 1 + rng.int(20, 60)) x[i] = NaN;
  return x;
}

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

/** Runs a float pool kernel; checks nothing was written past the output. */
function runPool(m: Kernels, fn: PoolFn, s: PoolCase, x: Float32Array): Float32Array {
  const count = s.n * s.g.outH * s.g.outW * s.c;
  m.reset();
  const px = m.put(x), pout = m.junk(count * 4 + 16);
  fn(px, pout, s.n, s.h, s.w, s.c, s.g.poolH, s.g.poolW, s.g.strideH, s.g.strideW, s.g.padTop, s.g.padLeft, s.g.outH, s.g.outW);
  assert.ok(m.u8(pout + count * 4, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end of out ${what(s)}`);
  return m.f32(pout, count);
}

test('maxPool2dF32 == reference bit for bit (pools 1–3, strides 1–3 per axis, VALID / SAME, ties, ±0, NaN), both builds', () => {
  const rng = new TestRng(101);
  const cases = poolGrid(100);
  cases.forEach((s, i) => {
    const x = poolInput(rng, s.n * s.h * s.w * s.c, i % 2 === 1);
    const expect = maxPool2dRef(x, s.n, s.h, s.w, s.c, s.g);
    for (const m of builds) assertSameF32(runPool(m, m.k.maxPool2dF32, s, x), expect, `${m.name} ${what(s)}`);
  });
  // The order matters: ±0 ties keep the first tap's sign, a NaN first tap stays, a later NaN is skipped.
  const x = Float32Array.from([-0, 0, NaN, 1, 1, NaN, 0, -0]);
  const g: PoolGeometry = { poolH: 1, poolW: 2, strideH: 1, strideW: 2, padTop: 0, padLeft: 0, outH: 1, outW: 4 };
  const expect = maxPool2dRef(x, 1, 1, 8, 1, g);
  assert.ok(Object.is(expect[0], -0) && Number.isNaN(expect[1]) && expect[2] === 1 && Object.is(expect[3], 0));
  for (const m of builds) {
    const got = runPool(m, m.k.maxPool2dF32, { n: 1, h: 1, w: 8, c: 1, g, same: false }, x);
    assertSameF32(got, expect, m.name);
  }
});

test('avgPool2dF32 == reference bit for bit (sum from +0 in (ky, kx) order, one division by the valid-tap count), both builds', () => {
  const rng = new TestRng(102);
  const cases = poolGrid(100);
  cases.forEach((s, i) => {
    const x = poolInput(rng, s.n * s.h * s.w * s.c, i % 2 === 1);
    if (i % 3 === 0) for (let j = 0; j < x.length; j++) if (Number.isNaN(x[j])) x[j] = rng.float();
    const expect = avgPool2dRef(x, s.n, s.h, s.w, s.c, s.g);
    for (const m of builds) assertSameF32(runPool(m, m.k.avgPool2dF32, s, x), expect, `${m.name} ${what(s)}`);
  });
  // Padding is not counted: a 3×3 SAME average at a corner divides by 4.
  const g = poolGeometry(3, 3, 3, 3, 1, 1, true);
  const x = Float32Array.from({ length: 9 }, (_, i) => i + 1);
  const expect = avgPool2dRef(x, 1, 3, 3, 1, g);
  assert.equal(expect[0], (1 + 2 + 4 + 5) / 4);
  // Summation order is visible: 2^24 + 1 + 1 in f32 loses both ones, (1 + 1) + 2^24 does not.
  const y = Float32Array.from([2 ** 24, 1, 1]);
  const g1: PoolGeometry = { poolH: 1, poolW: 3, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 1, outW: 1 };
  assert.equal(avgPool2dRef(y, 1, 1, 3, 1, g1)[0], Math.fround(2 ** 24 / 3));
  for (const m of builds) {
    assertSameF32(runPool(m, m.k.avgPool2dF32, { n: 1, h: 3, w: 3, c: 1, g, same: true }, x), expect, m.name);
    assertSameF32(runPool(m, m.k.avgPool2dF32, { n: 1, h: 1, w: 3, c: 1, g: g1, same: false }, y), Float32Array.from([2 ** 24 / 3]), m.name);
  }
});

test('maxPool2dF32 / avgPool2dF32: huge pools and pads clip to the input (no i32 wrap-around)', () => {
  const rng = new TestRng(103);
  const [n, h, w, c] = [2, 5, 4, 7];
  const x = rng.floats(n * h * w * c);
  const big = 0x7fffffff;
  const geos: PoolGeometry[] = [
    // One window over everything: the global max / mean.
    { poolH: big, poolW: big, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 1, outW: 1 },
    // padTop = poolH - 1 near 2^31; oy·strideH wraps past 2^31 for oy = 2 and must still give y0 = 2.
    { poolH: big, poolW: 3, strideH: 2 ** 30, strideW: 2, padTop: big - 1, padLeft: 1, outH: 3, outW: 2 },
  ];
  for (const g of geos) {
    const s: PoolCase = { n, h, w, c, g, same: false };
    for (const [name, ref] of [['maxPool2dF32', maxPool2dRef], ['avgPool2dF32', avgPool2dRef]] as const) {
      const expect = ref(x, n, h, w, c, g);
      for (const m of builds) assertSameF32(runPool(m, m.k[name], s, x), expect, `${m.name} ${name} ${JSON.stringify(g)}`);
    }
  }
});

test('globalAvgPool2dF32 == reference bit for bit (row-major f32 sums, one division), both builds', () => {
  const rng = new TestRng(104);
  for (const c of CHANNELS) {
    for (const [n, h, w] of [[1, 1, 1], [2, 3, 5], [3, 7, 7], [1, 13, 11]] as const) {
      const x = poolInput(rng, n * h * w * c, (h + c) % 2 === 0);
      if (c !== 33) for (let j = 0; j < x.length; j++) if (Number.isNaN(x[j])) x[j] = rng.float() * 100;
      const expect = globalAvgPoolRef(x, n, h, w, c);
      for (const m of builds) {
        m.reset();
        const px = m.put(x), pout = m.junk(n * c * 4 + 16);
        m.k.globalAvgPool2dF32(px, pout, n, h, w, c);
        assertSameF32(m.f32(pout, n * c), expect, `${m.name} ${n}x${h}x${w}x${c}`);
        assert.ok(m.u8(pout + n * c * 4, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end`);
      }
    }
  }
});

/** Runs bitMaxPool2d on packed words; returns the packed output. */
function runBitPool(m: Kernels, s: PoolCase, xw: Uint32Array, mask: Uint32Array): Uint32Array {
  const wpp = wordsPerPixel(s.c);
  const words = s.n * s.g.outH * s.g.outW * wpp;
  m.reset();
  const px = m.put(xw), pm = m.put(mask), pout = m.junk(words * 4 + 16);
  m.k.bitMaxPool2d(px, pout, s.n, s.h, s.w, wpp, s.g.poolH, s.g.poolW, s.g.strideH, s.g.strideW, s.g.padTop, s.g.padLeft, s.g.outH, s.g.outW, pm);
  assert.ok(m.u8(pout + words * 4, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end of out ${what(s)}`);
  return m.u32(pout, words);
}

test('bitMaxPool2d == ±1 max / min pool reference (orMask per channel), padding bits 0, both builds', () => {
  const rng = new TestRng(105);
  const cases = poolGrid(100);
  // Wide pixels: the 2-vector / 1-vector / word tails of the SIMD path and the u64 pairs of the scalar one.
  for (const c of [128, 160, 256, 288, 300, 513]) {
    cases.push({ n: 2, h: 6, w: 5, c, g: poolGeometry(6, 5, 2, 2, 2, 2, false), same: false });
    cases.push({ n: 1, h: 5, w: 7, c, g: poolGeometry(5, 7, 3, 3, 2, 1, true), same: true });
  }
  // Windows of 64 taps (the largest of the paired fast path) and of 72 (nested loops only), and
  // a stride wider than the image (each row holds one window).
  cases.push({ n: 2, h: 10, w: 18, c: 100, g: poolGeometry(10, 18, 8, 8, 2, 1, true), same: true });
  cases.push({ n: 1, h: 11, w: 19, c: 65, g: poolGeometry(11, 19, 8, 8, 1, 3, false), same: false });
  cases.push({ n: 2, h: 12, w: 20, c: 33, g: poolGeometry(12, 20, 9, 8, 1, 2, false), same: false });
  cases.push({ n: 2, h: 4, w: 5, c: 40, g: poolGeometry(4, 5, 2, 2, 1, 9, true), same: true });
  for (const s of cases) {
    const x = rng.signs(s.n * s.h * s.w * s.c);
    // Mixed masks: all AND, all OR, or a random mix of channels.
    const mode = rng.int(0, 2);
    const useMin = Array.from({ length: s.c }, () => (mode === 0 ? false : mode === 1 ? true : rng.int(0, 1) === 1));
    const mask = packSigns(Int8Array.from(useMin, (u) => (u ? -1 : 1)), 1, s.c);
    const expect = packSigns(bitMaxPoolSignsRef(x, s.n, s.h, s.w, s.c, s.g, useMin), s.n * s.g.outH * s.g.outW, s.c);
    const xw = packSigns(x, s.n * s.h * s.w, s.c);
    for (const m of builds) {
      const got = runBitPool(m, s, xw, mask);
      assert.deepEqual(got, expect, `${m.name} ${what(s)}`);
      assertPaddingZero(got, s.n * s.g.outH * s.g.outW, s.c, `${m.name} ${what(s)}`);
      // orMask bits on the padding channels do not leak into the output.
      if (s.c % 32 !== 0) {
        const dirty = mask.slice();
        dirty[dirty.length - 1] = 0xffffffff;
        assertPaddingZero(runBitPool(m, s, xw, dirty), s.n * s.g.outH * s.g.outW, s.c, `${m.name} dirty mask ${what(s)}`);
      }
    }
  }
});

test('bitMaxPool2d: scalar and simd builds agree on random words (every bit position, every word of wide pixels)', () => {
  const rng = new TestRng(106);
  for (let it = 0; it < 40; it++) {
    const c = rng.int(1, 700), h = rng.int(1, 9), w = rng.int(1, 9);
    const poolH = rng.int(1, 4), poolW = rng.int(1, 4), same = rng.int(0, 1) === 1 || h < poolH || w < poolW;
    const s: PoolCase = { n: rng.int(1, 3), h, w, c, g: poolGeometry(h, w, poolH, poolW, rng.int(1, 3), rng.int(1, 3), same), same };
    const xw = randomPacked(rng, s.n * h * w, c);
    const mask = randomPacked(rng, 1, c);
    const a = runBitPool(builds[0]!, s, xw, mask), b = runBitPool(builds[1]!, s, xw, mask);
    assert.deepEqual(b, a, what(s));
    const useMin = Array.from(unpackSigns(mask, 1, c), (v) => v === -1);
    const expect = packSigns(bitMaxPoolSignsRef(unpackSigns(xw, s.n * h * w, c), s.n, h, w, c, s.g, useMin), s.n * s.g.outH * s.g.outW, c);
    assert.deepEqual(a, expect, what(s));
  }
});

test('bitPad == +1 padding of the unpacked signs, padding words 0, both builds', () => {
  const rng = new TestRng(107);
  const pads: [number, number, number, number][] = [[0, 0, 0, 0], [1, 1, 1, 1], [0, 2, 3, 0], [3, 0, 0, 1], [2, 1, 0, 0], [0, 0, 2, 2]];
  let i = 0;
  for (const c of [...CHANNELS, 256, 300]) {
    for (const [pt, pb, pl, pr] of pads) {
      const n = 1 + (i++ % 3), h = rng.int(1, 6), w = rng.int(1, 6);
      const x = rng.signs(n * h * w * c);
      const H = h + pt + pb, W = w + pl + pr, wpp = wordsPerPixel(c);
      const expect = packSigns(padSignsRef(x, n, h, w, c, pt, pb, pl, pr), n * H * W, c);
      for (const m of builds) {
        m.reset();
        const px = m.put(packSigns(x, n * h * w, c)), pout = m.junk(n * H * W * wpp * 4 + 16);
        m.k.bitPad(px, pout, n, h, w, wpp, pt, pb, pl, pr);
        const got = m.u32(pout, n * H * W * wpp);
        assert.deepEqual(got, expect, `${m.name} c=${c} ${n}x${h}x${w} pads ${[pt, pb, pl, pr]}`);
        assert.ok(m.u8(pout + n * H * W * wpp * 4, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end`);
        // The padding words are exactly 0.
        for (let b = 0; b < n; b++)
          for (let y = 0; y < H; y++)
            for (let xx = 0; xx < W; xx++) {
              if (y >= pt && y < pt + h && xx >= pl && xx < pl + w) continue;
              for (let k = 0; k < wpp; k++) assert.equal(got[((b * H + y) * W + xx) * wpp + k], 0);
            }
      }
    }
  }
});

test('pooling and bitPad: bad calls trap and the instance keeps working', () => {
  for (const m of builds) {
    m.reset();
    const buf = m.junk(1 << 14);
    const end = m.memBytes();
    const k = m.k;
    // A good call: 2×4×4×3 floats, 2×2 pool stride 2 VALID → 2×2×2×3.
    const good = () => k.maxPool2dF32(buf, buf + 4096, 2, 4, 4, 3, 2, 2, 2, 2, 0, 0, 2, 2);
    const args = [buf, buf + 4096, 2, 4, 4, 3, 2, 2, 2, 2, 0, 0, 2, 2];
    const withArg = (i: number, v: number) => args.map((a, j) => (j === i ? v : a));
    const pools: [string, PoolFn][] = [['maxPool2dF32', k.maxPool2dF32], ['avgPool2dF32', k.avgPool2dF32]];
    const bad: [string, number[], RegExp][] = [
      ['input past end', withArg(0, end - 64), /input buffer out of bounds/],
      ['input below heapBase', withArg(0, 0), /input buffer out of bounds/],
      ['input near 4 GiB', withArg(0, 0xfffffff0), /input buffer out of bounds/],
      ['out past end', withArg(1, end - 16), /out buffer out of bounds/],
      ['n = 0', withArg(2, 0), /n must be > 0/],
      ['c < 0', withArg(5, -3), /must be > 0/],
      ['poolH = 0', withArg(6, 0), /poolH must be > 0/],
      ['strideW = 0', withArg(9, 0), /strideW must be > 0/],
      ['padTop < 0', withArg(10, -1), /padTop must be >= 0/],
      ['padTop >= poolH', withArg(10, 2), /padTop must be < poolH/],
      ['padLeft >= poolW', withArg(11, 2), /padLeft must be < poolW/],
      ['last window row below the input', withArg(12, 3), /last window row/],
      ['last window col right of the input', withArg(13, 3), /last window col/],
      ['overflowing dims', [buf, buf, 65536, 65536, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1], /input buffer out of bounds/],
    ];
    for (const [name, fn] of pools) {
      for (const [w, a, re] of bad) assert.throws(() => (fn as (...v: number[]) => void)(...a), re, `${m.name} ${name}: ${w}`);
    }
    const words = m.put(new Uint32Array(64));
    const others: [string, () => unknown, RegExp][] = [
      ['bitMaxPool2d orMask past end', () => k.bitMaxPool2d(buf, buf + 4096, 2, 4, 4, 2, 2, 2, 2, 2, 0, 0, 2, 2, end - 4), /orMask buffer out of bounds/],
      ['bitMaxPool2d input past end', () => k.bitMaxPool2d(end - 64, buf + 4096, 2, 4, 4, 2, 2, 2, 2, 2, 0, 0, 2, 2, words), /input buffer out of bounds/],
      ['bitMaxPool2d out past end', () => k.bitMaxPool2d(buf, end - 32, 2, 4, 4, 2, 2, 2, 2, 2, 0, 0, 2, 2, words), /out buffer out of bounds/],
      ['bitMaxPool2d wpp = 0', () => k.bitMaxPool2d(buf, buf + 4096, 2, 4, 4, 0, 2, 2, 2, 2, 0, 0, 2, 2, words), /must be > 0/],
      ['bitMaxPool2d padTop >= poolH', () => k.bitMaxPool2d(buf, buf + 4096, 2, 4, 4, 2, 2, 2, 2, 2, 2, 0, 2, 2, words), /padTop must be < poolH/],
      ['bitMaxPool2d strideH = 0', () => k.bitMaxPool2d(buf, buf + 4096, 2, 4, 4, 2, 2, 2, 0, 2, 0, 0, 2, 2, words), /strideH must be > 0/],
      ['bitMaxPool2d windows past input', () => k.bitMaxPool2d(buf, buf + 4096, 2, 4, 4, 2, 2, 2, 2, 2, 0, 0, 2, 3, words), /last window col/],
      ['globalAvgPool2dF32 out past end', () => k.globalAvgPool2dF32(buf, end - 8, 1, 4, 4, 3), /out buffer out of bounds/],
      ['globalAvgPool2dF32 input past end', () => k.globalAvgPool2dF32(end - 100, buf, 1, 4, 4, 3), /input buffer out of bounds/],
      ['globalAvgPool2dF32 h = 0', () => k.globalAvgPool2dF32(buf, buf, 1, 0, 4, 3), /h must be > 0/],
      ['globalAvgPool2dF32 overflowing dims', () => k.globalAvgPool2dF32(buf, buf, 65536, 65536, 1, 1), /input buffer out of bounds/],
      ['bitPad out past end', () => k.bitPad(buf, end - 100, 1, 4, 4, 1, 1, 1, 1, 1), /out buffer out of bounds/],
      ['bitPad input past end', () => k.bitPad(end - 32, buf, 1, 4, 4, 1, 1, 1, 1, 1), /input buffer out of bounds/],
      ['bitPad padLeft < 0', () => k.bitPad(buf, buf + 4096, 1, 4, 4, 1, 1, 1, -1, 1), /padLeft must be >= 0/],
      ['bitPad wpp = 0', () => k.bitPad(buf, buf + 4096, 1, 4, 4, 0, 1, 1, 1, 1), /wpp must be > 0/],
      ['bitPad pads past i32', () => k.bitPad(buf, buf + 4096, 1, 4, 4, 1, 0x7ffffffe, 0x7ffffffe, 0, 0), /out buffer out of bounds/],
      ['bitPad huge padded image', () => k.bitPad(buf, buf + 4096, 1, 4, 4, 1, 65536, 0, 65536, 0), /out buffer out of bounds/],
    ];
    for (const [w, call, re] of others) assert.throws(call, re, `${m.name}: ${w}`);
    // Still usable after the traps: a 2×2 max of known values.
    new Float32Array(m.k.memory.buffer, buf, 2 * 16 * 3).set(Float32Array.from({ length: 96 }, (_, i) => i));
    good();
    const out = m.f32(buf + 4096, 24);
    assert.deepEqual(Array.from(out.slice(0, 3)), [15, 16, 17], m.name);
  }
});
