import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeBnn } from '../src/format/write.js';
import { BnnRuntime, BnnRuntimeError } from '../src/runtime/index.js';
import { instantiateKernels } from '../src/runtime/wasm.js';
import { calibratedModel, randomImages } from './helpers.js';

test('a kernel called out of bounds traps cleanly and the instance keeps working', async () => {
  for (const flavor of ['simd', 'scalar'] as const) {
    const ex = await instantiateKernels(flavor);
    const base = ex.heapBase();
    const size = ex.memory.buffer.byteLength;
    // 1 image, 3×3 input of 1 word per pixel, 2 filters 3×3 → 1×1 output.
    const ok = () => ex.bconv2dPopcount(base, base + 64, base + 256, 1, 3, 3, 1, 2, 3, 3, 1, 1, 1, 1);
    ok();
    assert.throws(() => ex.bconv2dPopcount(size - 8, base + 64, base + 256, 1, 3, 3, 1, 2, 3, 3, 1, 1, 1, 1), /out of bounds/);
    assert.throws(() => ex.bconv2dPopcount(base, base + 64, base + 256, 1, 3, 3, 1, 2, 5, 5, 1, 1, 1, 1), /exceed/);
    assert.throws(() => ex.denseF32(base, base, base, 0x7fffffff, 0x7fffffff, 2));
    assert.throws(() => ex.thresholdPackI32(base, -1, 3, base, base, base));
    ok();
    new Int32Array(ex.memory.buffer, base + 256, 2).fill(-1);
    ok();
    assert.deepEqual(Array.from(new Int32Array(ex.memory.buffer, base + 256, 2)), [0, 0], 'zero input and weights: no differing bits');
  }
});

test('the runtime turns a trap into a BnnRuntimeError and keeps working', async () => {
  const images = randomImages(8, 40);
  const rt = await BnnRuntime.fromModel(await calibratedModel('B', 8, 41, images));
  const before = rt.predict(images, 8);
  const inner = rt as unknown as { call(name: string, f: () => void): void; ex: { denseF32(...a: number[]): void } };
  assert.throws(
    () => inner.call('denseF32', () => inner.ex.denseF32(0, 0, 0, 1, 1, 1)),
    (e: unknown) => e instanceof BnnRuntimeError && e.kernel === 'denseF32' && /out of bounds/.test(e.message),
  );
  assert.deepEqual(rt.predict(images, 8), before);
});

test('memory stays flat: 100,000 predictions and 1,000 load/unload cycles', async () => {
  const images = randomImages(16, 42);
  const bytes = serializeBnn(await calibratedModel('C', 8, 43, images));
  const rt = await BnnRuntime.load(bytes, { maxBatch: 16 });
  const one = images.subarray(0, 784);
  const wasmBefore = rt.memoryBytes;
  const heap0 = process.memoryUsage();
  for (let i = 0; i < 100000; i++) rt.predict(one, 1);
  assert.equal(rt.memoryBytes, wasmBefore, 'linear memory did not grow');
  for (let i = 0; i < 1000; i++) {
    const r = await BnnRuntime.load(bytes, { maxBatch: 16 });
    r.predict(one, 1);
    r.dispose();
  }
  const heap1 = process.memoryUsage();
  const grew = (heap1.rss - heap0.rss) / 2 ** 20;
  // Generous: a leak of one instance (≥ 128 KiB) per load would add ≥ 125 MiB.
  assert.ok(grew < 100, `RSS grew by ${grew.toFixed(1)} MiB`);
});
