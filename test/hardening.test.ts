/**
 * Hardening of the runtime (issue 38, items 1 and 4): every size checked against the memory
 * allowed (no wrap, no overlap), guard words after every buffer checked after every kernel call,
 * inputs read for what they are (subclasses, Proxies, shared memory), every option checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serializeBnn } from '../src/format/write.js';
import { modelFromParams } from '../src/format/model.js';
import { BnnConfigError, BnnInputError, BnnRuntime, BnnRuntimeError } from '../src/runtime/index.js';
import { valueBytes } from '../src/runtime/plan.js';
import { instantiateKernels } from '../src/runtime/wasm.js';
import { Rng } from '../src/util/rng.js';
import { CONFORMANCE_DIR, f32OfHex, type ConformanceVector } from './conformance/generate.js';
import { calibratedModel, randomImages } from './helpers.js';
import { dyadicImages, randomGraph, randomGraphParams } from './random_graphs.js';

const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));

const isConfig = (code: string, msg?: RegExp) => (e: unknown) => e instanceof BnnConfigError && e.code === code && (!msg || msg.test(e.message));
const isInput = (code: string, msg?: RegExp) => (e: unknown) => e instanceof BnnInputError && e.code === code && (!msg || msg.test(e.message));

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

test('maxBatch at the edge of memory: the largest that fits computes the same logits, one more is a BnnConfigError (a128-pgd149)', async () => {
  const bytes = readFileSync(MODELS + 'a128-pgd149.bnn');
  const images = randomImages(4, 44);
  const ref = (await BnnRuntime.load(bytes, { maxBatch: 4 })).logits(images, 4);
  // The case: buffers used to wrap at 2^32 and overlap the weights, silently.
  await assert.rejects(BnnRuntime.load(bytes, { maxBatch: 42800 }), isConfig('MEMORY_LIMIT', /maxBatch/));
  let lo = 4;
  let hi = 65537;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    try {
      const rt = await BnnRuntime.load(bytes, { maxBatch: mid });
      assert.ok(rt.memoryBytes < 2 ** 32, `maxBatch ${mid}: ${rt.memoryBytes} bytes of memory`);
      const got = rt.logits(images, 4);
      assert.ok(got.every((v, i) => Object.is(v, ref[i])), `maxBatch ${mid}: logits differ from maxBatch 4`);
      rt.dispose();
      lo = mid;
    } catch (e) {
      assert.ok(isConfig('MEMORY_LIMIT')(e), `maxBatch ${mid}: ${String(e)}`);
      hi = mid;
    }
  }
  assert.ok(lo > 20000 && lo < 22000, `largest maxBatch ${lo}`);
  // A caller's own limit is honoured the same way, before anything is allocated.
  await assert.rejects(BnnRuntime.load(bytes, { maxMemoryBytes: 1 << 20 }), isConfig('MEMORY_LIMIT', /1048576 bytes/));
  const small = await BnnRuntime.load(readFileSync(MODELS + 'b64.bnn'), { maxMemoryBytes: 1 << 22, maxBatch: 2 });
  assert.ok(small.memoryBytes <= 1 << 22);
});

/** A runtime's private parts, for injecting a faulty kernel. */
interface Inner {
  execs: { kernel: string; run: (m: number) => void }[];
  ptr: number[];
  plan: BnnRuntime['plan'];
  ex: { memory: WebAssembly.Memory };
}

test('debugGuards: guard words after every buffer, checked after every layer — clean on every conformance vector, shipped model and 40 random graphs', async () => {
  const cases: { name: string; bytes: Uint8Array; images: Float32Array; n: number; seed?: number }[] = [];
  for (const f of readdirSync(CONFORMANCE_DIR).filter((f) => f.endsWith('.json'))) {
    const v = JSON.parse(readFileSync(CONFORMANCE_DIR + f, 'utf8')) as ConformanceVector;
    cases.push({ name: v.model, bytes: readFileSync(CONFORMANCE_DIR + v.model), images: f32OfHex(v.input), n: v.images, seed: v.seed });
  }
  for (const m of ['b64', 'c64', 's64', 'r64-pgd']) cases.push({ name: m, bytes: readFileSync(MODELS + m + '.bnn'), images: randomImages(5, 45), n: 5 });
  for (let g = 0; g < 40; g++) {
    const rng = new Rng(9100 + g);
    const graph = randomGraph(rng, `guard${g}`);
    const bytes = serializeBnn(modelFromParams(graph, randomGraphParams(graph, rng), { int8: rng.next() < 0.5 ? 'auto' : false }));
    cases.push({ name: graph.name, bytes, images: dyadicImages(graph, 5, rng), n: 5 });
  }
  for (const c of cases) {
    for (const simd of [true, false]) {
      // maxBatch 2 on 5 images: full chunks and a last chunk of one image (its output's tail checked).
      const plain = await BnnRuntime.load(c.bytes, { simd, maxBatch: 2, seed: c.seed ?? 0 });
      const guarded = await BnnRuntime.load(c.bytes, { simd, maxBatch: 2, seed: c.seed ?? 0, debugGuards: true });
      const want = plain.logits(c.images, c.n);
      const got = guarded.logits(c.images, c.n);
      assert.ok(got.every((v, i) => Object.is(v, want[i])), `${c.name}: guarded logits differ`);
      assert.deepEqual(guarded.predict(c.images, c.n), plain.predict(c.images, c.n));
    }
  }
});

test('debugGuards catches a kernel that writes past its buffer, into the weights, or beyond its images', async () => {
  const bytes = readFileSync(MODELS + 'b64.bnn');
  const images = randomImages(3, 46);
  const fresh = async () => {
    const rt = await BnnRuntime.load(bytes, { maxBatch: 4, debugGuards: true });
    return { rt, inner: rt as unknown as Inner };
  };
  // One word past the end of the first exec's output buffer (sized for maxBatch = 4 images).
  {
    const { rt, inner } = await fresh();
    const out = inner.plan.steps[0]!.output;
    const bytesPerImage = valueBytes(inner.plan.values[out]!);
    const first = inner.execs[0]!;
    const run = first.run;
    first.run = (m) => {
      run(m);
      const end = inner.ptr[out]! + Math.ceil((4 * bytesPerImage) / 16) * 16;
      new Uint32Array(inner.ex.memory.buffer, end, 1)[0] = 7;
    };
    assert.throws(() => rt.predict(images, 3), (e: unknown) => e instanceof BnnRuntimeError && e.kernel === first.kernel && /guard after value v\d+/.test(e.message));
  }
  // A write into the weights of a later layer.
  {
    const { rt, inner } = await fresh();
    const first = inner.execs[0]!;
    const run = first.run;
    first.run = (m) => {
      run(m);
      new Uint8Array(inner.ex.memory.buffer)[(inner as unknown as { ex: { heapBase(): number } }).ex.heapBase() + 16] ^= 1;
    };
    assert.throws(() => rt.predict(images, 3), (e: unknown) => e instanceof BnnRuntimeError && /weights\/constants changed|guard after/.test(e.message));
  }
  // Three images asked, four written: the unused tail of the output is checked too.
  {
    const { rt, inner } = await fresh();
    const last = inner.execs[inner.execs.length - 1]!;
    const run = last.run;
    last.run = (m) => run(m + 1);
    assert.throws(() => rt.logits(images, 3), (e: unknown) => e instanceof BnnRuntimeError && /wrote beyond 3 image/.test(e.message));
  }
  // Without debugGuards the same fault goes unnoticed (what the guards are for).
  {
    const rt = await BnnRuntime.load(bytes, { maxBatch: 4 });
    const inner = rt as unknown as Inner;
    const last = inner.execs[inner.execs.length - 1]!;
    const run = last.run;
    last.run = (m) => run(m + 1);
    assert.equal(rt.logits(images, 3).length, 30);
  }
});

test('images are read for what they are: a subclass cannot claim another length, a Proxy is refused, shared memory is checked on the copy', async () => {
  const bytes = readFileSync(MODELS + 'b64.bnn');
  const rt = await BnnRuntime.load(bytes);
  const one = randomImages(1, 47);
  const want = rt.logits(one, 1);
  // The case: a subclass claiming 1,568 values while holding 784 made a second image out of stale memory.
  class Liar extends Float32Array {
    override get length(): number {
      return 1568;
    }
    override subarray(): Float32Array<ArrayBuffer> {
      return new Float32Array(1568);
    }
  }
  const liar = new Liar(784);
  liar.set(one);
  assert.throws(() => rt.logits(liar, 2), isInput('BAD_LENGTH', /got 784 \(1 images\)/));
  assert.deepEqual(rt.logits(liar, 1), want, 'read as the one image it holds');
  assert.throws(() => rt.predict(new Proxy(one, {}), 1), isInput('BAD_TYPE'));
  assert.throws(() => rt.predict(Array.from(one) as unknown as Float32Array, 1), isInput('BAD_TYPE'));
  assert.throws(() => rt.predict(new Uint8ClampedArray(784) as unknown as Uint8Array, 1), isInput('BAD_TYPE'));
  assert.throws(() => rt.predict(one, 1.5), isInput('BAD_COUNT'));
  assert.throws(() => rt.predict(one, NaN), isInput('BAD_COUNT'));
  const shared = new Float32Array(new SharedArrayBuffer(784 * 4));
  shared.set(one);
  assert.deepEqual(rt.logits(shared, 1), want);
  shared[300] = NaN;
  assert.throws(() => rt.logits(shared, 1), isInput('NOT_FINITE', /pixel 300 of image 0 is NaN/));
  // A Node Buffer and a Uint8Array at an offset are read from their own bytes.
  const u8 = Uint8Array.from(one, (v) => Math.round(v * 255));
  const buf = Buffer.alloc(784 + 16);
  buf.set(u8, 16);
  assert.deepEqual(rt.logits(buf.subarray(16), 1), rt.logits(u8, 1));
  const detached = new Float32Array(784);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  assert.throws(() => rt.predict(detached, 1), (e: unknown) => e instanceof BnnInputError);
});

test('options are checked, read once, never coerced; profile and reseed check their arguments', async () => {
  const bytes = readFileSync(MODELS + 'b64.bnn');
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ simd: 'no' }, /simd must be true or false/],
    [{ resample: 'bogus' }, /resample must be/],
    [{ inputRange: 'wrap' }, /inputRange must be/],
    [{ maxBatch: 0 }, /maxBatch/],
    [{ maxBatch: 65537 }, /maxBatch/],
    [{ maxBatch: '8' }, /maxBatch/],
    [{ seed: 1.5 }, /seed/],
    [{ seed: 2 ** 60 }, /seed/],
    [{ wasmBase: 5 }, /wasmBase/],
    [{ maxMemoryBytes: 100 }, /maxMemoryBytes/],
    [{ maxMemoryBytes: 2 ** 32 }, /maxMemoryBytes/],
    [{ debugGuards: 1 }, /debugGuards/],
  ];
  for (const [opts, msg] of bad) {
    await assert.rejects(BnnRuntime.load(bytes, opts as never), isConfig('BAD_OPTION', msg), JSON.stringify(opts));
  }
  await assert.rejects(BnnRuntime.load(bytes, null as never), isConfig('BAD_OPTION', /options must be an object/));
  // Found by fuzzing: a wasmBase without the builds gave a plain Error.
  await assert.rejects(BnnRuntime.load(bytes, { wasmBase: '/nonexistent-bnn-dir' }), isConfig('WASM_UNAVAILABLE', /nonexistent-bnn-dir\/bnn-/));
  await assert.rejects(
    BnnRuntime.load(bytes, {
      get maxBatch(): number {
        throw new Error('boom');
      },
    }),
    isConfig('BAD_OPTION', /could not be read: boom/),
  );
  // A getter answering 8 when checked and 70000 afterwards: the runtime uses what it checked.
  let reads = 0;
  const rt = await BnnRuntime.load(bytes, {
    get maxBatch(): number {
      return reads++ === 0 ? 8 : 70000;
    },
  });
  assert.equal(reads, 1);
  assert.equal(rt.maxBatch, 8);
  const one = randomImages(1, 48);
  assert.throws(() => rt.profile(one, 1, 0), isConfig('BAD_OPTION', /reps/));
  assert.throws(() => rt.profile(one, 1, NaN), isConfig('BAD_OPTION', /reps/));
  assert.equal(rt.profile(one, 1, 1).length > 0, true);
  assert.throws(() => rt.reseed(NaN), isConfig('BAD_OPTION', /seed/));
  rt.dispose();
  assert.throws(() => rt.predict(one, 1), isInput('DISPOSED'));
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
