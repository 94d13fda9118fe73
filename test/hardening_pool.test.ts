/**
 * BnnPool across threads (issue 38, item 3): errors keep their class, code and position in the
 * caller's batch; bad files and options are typed errors from create; calls after close reject at
 * once, calls in flight when it closes reject instead of hanging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BnnFormatError } from '../src/format/errors.js';
import { BnnPool } from '../src/runtime/pool.js';
import { BnnConfigError, BnnInputError, BnnRuntime } from '../src/runtime/index.js';
import { randomImages } from './helpers.js';

const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));
const bytes = readFileSync(MODELS + 'b64.bnn');

test('BnnPool: a corrupt file and bad options are typed errors from create', async () => {
  const bad = Uint8Array.from(bytes);
  bad[bad.length - 20] ^= 0xff;
  await assert.rejects(BnnPool.create(bad, { workers: 2 }), (e: unknown) => e instanceof BnnFormatError && e.code === 'BAD_CHECKSUM' && e.offset === 20);
  await assert.rejects(BnnPool.create(bytes, { workers: 0 }), (e: unknown) => e instanceof BnnConfigError && e.code === 'BAD_OPTION' && /workers/.test(e.message));
  await assert.rejects(BnnPool.create(bytes, { workers: 2, simd: 'no' as never }), (e: unknown) => e instanceof BnnConfigError && e.code === 'BAD_OPTION');
  // An error raised while a worker loads the model (too little memory allowed) comes back as itself.
  await assert.rejects(BnnPool.create(bytes, { workers: 2, maxMemoryBytes: 1 << 17 }), (e: unknown) => e instanceof BnnConfigError && e.code === 'MEMORY_LIMIT');
});

test('BnnPool: input errors keep class, code and the position in the whole batch; results equal one runtime', { timeout: 60000 }, async () => {
  const pool = await BnnPool.create(bytes, { workers: 3 });
  try {
    const images = randomImages(10, 60);
    const rt = await BnnRuntime.load(bytes);
    assert.deepEqual(await pool.predict(images, 10), rt.predict(images, 10));
    assert.deepEqual(await pool.logits(images, 10), rt.logits(images, 10));
    // The case: a bad pixel in image 7 was reported as "pixel 3 of image 2", in a plain Error.
    const bad = images.slice();
    bad[7 * 784 + 3] = NaN;
    await assert.rejects(pool.predict(bad, 10), (e: unknown) => e instanceof BnnInputError && e.code === 'NOT_FINITE' && e.index === 7 * 784 + 3 && /pixel 3 of image 7 is NaN/.test(e.message));
    bad[7 * 784 + 3] = 2;
    await assert.rejects(pool.logits(bad, 10), (e: unknown) => e instanceof BnnInputError && e.code === 'OUT_OF_RANGE' && /pixel 3 of image 7 is 2/.test(e.message));
    await assert.rejects(pool.predict(images, 9), (e: unknown) => e instanceof BnnInputError && e.code === 'BAD_LENGTH');
    await assert.rejects(pool.predict(new Proxy(images, {}), 10), (e: unknown) => e instanceof BnnInputError && e.code === 'BAD_TYPE');
    await assert.rejects(pool.predict(images, 0), (e: unknown) => e instanceof BnnInputError && e.code === 'BAD_COUNT');
    // Still working after the errors, on fewer images than workers too.
    assert.deepEqual(await pool.predict(images.subarray(0, 784 * 2), 2), rt.predict(images.subarray(0, 784 * 2), 2));
  } finally {
    await pool.close();
  }
});

test('BnnPool: calls after close reject at once; a call in flight when it closes rejects', { timeout: 60000 }, async () => {
  const pool = await BnnPool.create(bytes, { workers: 2 });
  const images = randomImages(2000, 61);
  const inFlight = assert.rejects(pool.predict(images, 2000), (e: unknown) => e instanceof BnnInputError && e.code === 'DISPOSED');
  await pool.close();
  await inFlight;
  // The case: predict() after close() never settled (the test's timeout would catch that).
  await assert.rejects(pool.predict(images.subarray(0, 784), 1), (e: unknown) => e instanceof BnnInputError && e.code === 'DISPOSED' && /closed/.test(e.message));
  await pool.close();
});
