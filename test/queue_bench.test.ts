/**
 * The benchmark suites on the job queue: a suite queued by the coordinator is measured by a worker
 * of this checkout and comes back with its markdown, figures and machine; queued again for the same
 * code and settings it comes back from the store without running; a job for other code is refused
 * by the worker at once (no retries), and reported as failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchAvailable, benchJobId, benchSettings, codeIdentity, runBenchOnQueue, type BenchSuiteResult } from '../src/queue/bench.js';
import { startWorker } from '../src/queue/worker.js';
import { queueTestsSkip, testRedis } from './queue_cluster.js';

test('bench jobs are named by suite, code and settings (not the Redis address)', () => {
  const a = { kind: 'bench', suite: 'size', code: 'abc', env: { BNN_X: '1' } } as const;
  assert.equal(benchJobId(a), benchJobId({ ...a, env: { BNN_X: '1' } }));
  assert.notEqual(benchJobId(a), benchJobId({ ...a, code: 'abd' }));
  assert.notEqual(benchJobId(a), benchJobId({ ...a, env: { BNN_X: '2' } }));
  assert.notEqual(benchJobId(a), benchJobId({ ...a, suite: 'train' }));
  assert.deepEqual(benchSettings({ BNN_AUTOATTACK_N: '50', FUZZ_RUNS: '9', BNN_EDGE_TEST_REDIS: 'redis://x', HOME: '/root' }), { BNN_AUTOATTACK_N: '50', FUZZ_RUNS: '9' });
  assert.match(codeIdentity(), /^[0-9a-f]{40}(\+[0-9a-f]{12})?$/);
});

test('bench --queue: a worker of this checkout measures the suite; the same suite again comes from the store; other code is refused', { timeout: 180_000 }, async (t) => {
  const skip = process.env['BNN_EDGE_TEST_REDIS'] ? null : queueTestsSkip();
  if (skip) return t.skip(skip);
  assert.ok(benchAvailable(), 'the tests run from a built clone');
  const redis = await testRedis();
  const log: string[] = [];
  const worker = await startWorker({ url: redis.url, lockMs: 5000, log: (m) => log.push(m) });
  const run = async (suites: string[], code?: string) => {
    const results: [string, BenchSuiteResult][] = [];
    const failed = await runBenchOnQueue({ url: redis.url, suites, log: () => {}, onResult: (s, r) => results.push([s, r]), pollMs: 100, retry: { attempts: 3, delayMs: 100 }, ...(code ? { code } : {}) });
    return { results, failed };
  };
  try {
    assert.ok(log.some((l) => /waiting for jobs .*\(repro and bench\)/.test(l)), log.join('\n'));
    const first = await run(['size']);
    assert.deepEqual(first.failed, []);
    assert.equal(first.results.length, 1);
    const [suite, r] = first.results[0]!;
    assert.equal(suite, 'size');
    assert.match(r.markdown, /\| b64 \| /);
    assert.ok(r.machine.nproc >= 1 && r.machine.node === process.version);
    assert.equal(r.worker, worker.name);
    assert.equal(log.filter((l) => /^took bench\/size\//.test(l)).length, 1);

    const again = await run(['size']);
    assert.deepEqual(again.results, first.results);
    assert.equal(log.filter((l) => /^took bench\/size\//.test(l)).length, 1, 'not measured twice');

    const other = await run(['size'], 'f'.repeat(40));
    assert.deepEqual(other.results, []);
    assert.equal(other.failed.length, 1);
    assert.match(other.failed[0]!.error, /this worker's checkout holds .* the job measures f{40}/);
    assert.equal(log.filter((l) => /^took bench\/size\//.test(l) && /try [23] of/.test(l)).length, 0, 'refused at once, not retried');
  } finally {
    await worker.close(true);
    await redis.stop();
  }
});
