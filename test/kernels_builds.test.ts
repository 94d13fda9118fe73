// Both wasm builds: their memory layout, and hardening — every kernel traps on out-of-bounds
// buffers and bad dimensions, and the instance keeps working after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builds, scalarBuild, simdBuild, bconvVariants, type BconvShape, randomPacked, runBconv } from './kernel_harness.js';
import { TestRng, wordsPerPixel } from './kernel_reference.js';

test('builds: heapBase is 16-aligned and simdBuild() matches the file', () => {
  for (const m of builds) {
    assert.equal(m.base % 16, 0, m.name);
    assert.ok(m.base > 0, m.name);
  }
  assert.equal(scalarBuild.k.simdBuild(), 0);
  assert.equal(simdBuild.k.simdBuild(), 1);
});

test('bad calls trap (out of bounds, non-positive dims, window > input) and the instance keeps working', () => {
  for (const m of builds) {
    const s: BconvShape = { n: 2, h: 6, w: 6, c: 40, cout: 5, kh: 3, kw: 3, stride: 1 };
    const rng = new TestRng(12);
    const xw = randomPacked(rng, s.n * s.h * s.w, s.c);
    const ww = randomPacked(rng, s.cout * s.kh * s.kw, s.c);
    const good = runBconv(m, m.k.bconv2dPopcountReference, s, xw, ww);
    m.reset();
    const pin = m.put(xw), pw = m.put(ww), pout = m.junk(good.length * 4);
    const end = m.memBytes();
    const wpp = wordsPerPixel(s.c);
    const args = [pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, s.stride, s.stride, 4, 4];
    const bad: [string, number[], RegExp][] = [
      ['input past end', [end - 64, ...args.slice(1)], /input buffer out of bounds/],
      ['input near 4 GiB', [0xfffffff0, ...args.slice(1)], /input buffer out of bounds/],
      ['weights past end', [pin, end - 16, ...args.slice(2)], /weights buffer out of bounds/],
      ['out past end', [pin, pw, end - 100, ...args.slice(3)], /out buffer out of bounds/],
      ['out below heapBase', [pin, pw, 0, ...args.slice(3)], /out buffer out of bounds/],
      ['n = 0', [pin, pw, pout, 0, ...args.slice(4)], /n must be > 0/],
      ['wpp < 0', [pin, pw, pout, s.n, s.h, s.w, -1, ...args.slice(7)], /wpp must be > 0/],
      ['strideH = 0', [...args.slice(0, 10), 0, 1, 4, 4], /strideH must be > 0/],
      ['strideW = 0', [...args.slice(0, 10), 1, 0, 4, 4], /strideW must be > 0/],
      ['window rows > input', [...args.slice(0, 12), 5, 4], /window rows exceed input/],
      ['window cols > input', [...args.slice(0, 12), 4, 5], /window cols exceed input/],
      // per axis: 4 outputs at stride 2 need 3·2 + 3 = 9 > 6 inputs, on the axis that has stride 2
      ['strideH too large', [...args.slice(0, 10), 2, 1, 4, 4], /window rows exceed input/],
      ['strideW too large', [...args.slice(0, 10), 1, 2, 4, 4], /window cols exceed input/],
      ['kernel wider than input', [pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, 7, s.stride, s.stride, 4, 1], /window cols exceed input/],
      // dims whose 32-bit product wraps to a small number (65536·65536·… ≡ 0 mod 2^32)
      ['overflowing dims', [pin, pw, pout, 65536, 65536, 1, 1, 1, 1, 1, 1, 1, 1, 1], /input buffer out of bounds/],
      ['huge strideH', [pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, 0x7fffffff, 1, 2, 1], /window rows exceed input/],
      ['huge strideW', [pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, 1, 0x7fffffff, 1, 2], /window cols exceed input/],
    ];
    for (const [name, fn] of bconvVariants(m)) {
      for (const [what, a, re] of bad) {
        assert.throws(() => (fn as (...x: number[]) => void)(...a), re, `${m.name} ${name}: ${what}`);
      }
      // still usable after the traps
      fn(pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, s.stride, s.stride, 4, 4);
      assert.deepEqual(m.i32(pout, good.length), good, `${m.name} ${name} after traps`);
    }

    // Every other kernel: one out-of-bounds buffer and one bad dim each.
    m.reset();
    const buf = m.junk(4096);
    const big = m.memBytes();
    const k = m.k;
    const trapping: [string, () => unknown, RegExp][] = [
      ['thresholdPackI32 oob', () => k.thresholdPackI32(buf, 1, 8, buf, buf, big - 2), /out of bounds/],
      ['thresholdPackI32 m=0', () => k.thresholdPackI32(buf, 0, 8, buf, buf, buf), /m must be > 0/],
      ['reluScaleI32 oob', () => k.reluScaleI32(big - 8, 1, 8, 10, 1, buf), /out of bounds/],
      ['reluScaleI32 c<0', () => k.reluScaleI32(buf, 1, -8, 10, 1, buf), /c must be > 0/],
      ['biasReluF32 oob x', () => k.biasReluF32(big - 8, 1, 8, buf, 1), /x buffer out of bounds/],
      ['biasReluF32 oob bias', () => k.biasReluF32(buf, 1, 8, big - 8, 1), /bias buffer out of bounds/],
      ['biasReluF32 m=0', () => k.biasReluF32(buf, 0, 8, buf, 1), /m must be > 0/],
      ['fconv2d oob weights', () => k.fconv2d(buf, big - 4, buf, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 1, 4, 4, 0), /weights buffer out of bounds/],
      ['fconv2d oob out', () => k.fconv2d(buf, buf, big - 4, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 1, 4, 4, 0), /out buffer out of bounds/],
      ['fconv2d cin=0', () => k.fconv2d(buf, buf, buf, 1, 4, 4, 0, 4, 3, 3, 1, 1, 1, 1, 4, 4, 0), /cin must be > 0/],
      ['fconv2d pad >= k', () => k.fconv2d(buf, buf, buf, 1, 4, 4, 1, 4, 3, 3, 1, 1, 3, 1, 4, 4, 0), /padTop must be < kh/],
      ['fconv2d windows past input', () => k.fconv2d(buf, buf, buf, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 1, 6, 4, 0), /last window row/],
      ['fconv2dBiasRelu oob bias', () => k.fconv2dBiasRelu(buf, buf, big - 8, buf, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 1, 4, 4), /bias buffer out of bounds/],
      ['fconv2dBiasRelu oob out', () => k.fconv2dBiasRelu(buf, buf, buf, big - 4, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 1, 4, 4), /out buffer out of bounds/],
      ['fconv2dBiasRelu kh=0', () => k.fconv2dBiasRelu(buf, buf, buf, buf, 1, 4, 4, 1, 4, 0, 3, 1, 1, 1, 1, 4, 4), /kh must be > 0/],
      ['fconv2dThresholdPack oob scratch', () => k.fconv2dThresholdPack(buf, buf, buf, buf, buf, big - 4, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 1, 4, 4), /scratch buffer out of bounds/],
      ['fconv2dThresholdPack strideH=0', () => k.fconv2dThresholdPack(buf, buf, buf, buf, buf, buf, 1, 4, 4, 1, 4, 3, 3, 0, 1, 1, 1, 4, 4), /strideH must be > 0/],
      ['fconv2dThresholdPack strideW=0', () => k.fconv2dThresholdPack(buf, buf, buf, buf, buf, buf, 1, 4, 4, 1, 4, 3, 3, 1, 0, 1, 1, 4, 4), /strideW must be > 0/],
      ['fconv2d strideW too large for outW', () => k.fconv2d(buf, buf, buf, 1, 4, 4, 1, 4, 3, 3, 1, 2, 1, 1, 4, 4, 0), /last window col/],
      ['fconv2d strideH too large for outH', () => k.fconv2d(buf, buf, buf, 1, 4, 4, 1, 4, 3, 3, 2, 1, 1, 1, 4, 4, 0), /last window row/],
      ['denseF32 oob', () => k.denseF32(buf, buf, big - 4, 1, 4, 4), /out buffer out of bounds/],
      ['denseF32 fin=0', () => k.denseF32(buf, buf, buf, 1, 0, 4), /fin must be > 0/],
      ['argmaxF32 oob', () => k.argmaxF32(big - 4, 2, 4, buf), /x buffer out of bounds/],
      ['argmaxF32 c=0', () => k.argmaxF32(buf, 2, 0, buf), /c must be > 0/],
      ['bernoulliPack oob state', () => k.bernoulliPack(buf, 8, 1, buf, big - 8), /state buffer out of bounds/],
      ['bernoulliPack groups=0', () => k.bernoulliPack(buf, 8, 0, buf, buf), /groups must be > 0/],
      ['xorPopcountPeak oob', () => k.xorPopcountPeak(buf, big - 8, 4, 1), /b buffer out of bounds/],
      ['xorPopcountPeakScalar reps=0', () => k.xorPopcountPeakScalar(buf, buf, 4, 0), /reps must be > 0/],
      ['xorPopcountPeak huge words', () => k.xorPopcountPeak(buf, buf, 0x7fffffff, 1), /a buffer out of bounds/],
    ];
    for (const [what, call, re] of trapping) assert.throws(call, re, `${m.name}: ${what}`);
    // still usable
    const x = new Float32Array([1, 5, 5, 2]);
    m.reset();
    const px = m.put(x), po = m.junk(4);
    k.argmaxF32(px, 1, 4, po);
    assert.equal(m.i32(po, 1)[0], 1);
  }
});
