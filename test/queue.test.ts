/**
 * The queue's job names (settings hashes), its URL parsing and ETA, and — against a Redis — what
 * re-running repro on a queue does (nothing it did before; new evaluations, not new trainings,
 * under new attack settings) and how a job that fails three times is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadData } from '../src/data/index.js';
import type { DataSplit } from '../src/data/dataset.js';
import type { WhiteboxReport } from '../src/eval/attacks.js';
import { Repro, ReproPlan, type ReproConfig } from '../src/eval/repro.js';
import { connectionOptions, openQueue, QueueUnreachableError, QueueUrlError, redactUrls, safeUrl } from '../src/queue/connection.js';
import { runOnQueue } from '../src/queue/coordinator.js';
import { priorityOf } from '../src/queue/enqueue.js';
import { canonicalJson, planJobs } from '../src/queue/jobs.js';
import { eta, queueStatus } from '../src/queue/status.js';
import { startWorker } from '../src/queue/worker.js';
import { CLI, queueTestsSkip, testRedis } from './queue_cluster.js';

const data = loadData();

function config(dir: string, over: Partial<ReproConfig> = {}): ReproConfig {
  return {
    widths: [8],
    seeds: 1,
    epochs: 1,
    trainImages: 500,
    adv: { seeds: 1, epochs: 1, cleanEpochs: 0, steps: 2, step: 0.15, eps: 0.3 },
    attackImages: 16,
    cwImages: 4,
    blackboxImages: 32,
    hsjImages: 1,
    hsjQueries: 20,
    dir,
    out: join(dir, 'R.md'),
    log: () => {},
    ...over,
  };
}

/** Job ids of a plan: model name → training job, task → evaluation job. */
function ids(c: ReproConfig, d: DataSplit = data): { train: Map<string, string>; evals: Map<string, string> } {
  const plan = new ReproPlan(c, d);
  const groups = planJobs(plan, plan.plan(), c.dir);
  return {
    train: new Map(groups.map((g) => [g.train.id.split('/')[1]!, g.train.id])),
    evals: new Map(groups.flatMap((g) => g.evals.map((e) => [e.data.task, e.id]))),
  };
}

test('job ids: the same settings give the same ids; a setting a result depends on changes them, one it does not leaves them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-queue-ids-'));
  try {
    const base = ids(config(dir));
    assert.deepEqual(ids(config(dir)), base, 'stable across plans');
    assert.ok([...base.train.values(), ...base.evals.values()].every((id) => !id.includes(':')), 'BullMQ refuses ":" in ids');
    assert.equal(new Set(base.evals.values()).size, base.evals.size);
    assert.match(base.train.get('B8-s1')!, /^train\/B8-s1\/[0-9a-f]{16}$/);
    assert.match(base.evals.get('pgd-t100:A8-s1')!, /^eval\/pgd-t100\.A8-s1\/[0-9a-f]{16}$/);

    const same = (a: Map<string, string>, b: Map<string, string>) => [...a].filter(([k, v]) => b.get(k) === v).length;
    // A training setting: the trainings it applies to and, through their models, their evaluations.
    const longer = ids(config(dir, { epochs: 2 }));
    const changed = [...base.train.keys()].filter((m) => longer.train.get(m) !== base.train.get(m));
    assert.deepEqual(changed, [...base.train.keys()].filter((m) => !m.includes('+')), '--epochs is the clean models\' (--adv-epochs the others\')');
    assert.deepEqual([...base.evals.keys()].filter((t) => longer.evals.get(t) !== base.evals.get(t)), [...base.evals.keys()].filter((t) => !t.includes('+')));
    const fewerImages = ids(config(dir, { trainImages: 400 }));
    assert.equal(same(base.train, fewerImages.train), 0);
    assert.equal(same(base.evals, fewerImages.evals), 0);
    // An attack setting: the evaluations, not the models.
    const fewer = ids(config(dir, { attackImages: 8 }));
    assert.deepEqual(fewer.train, base.train);
    assert.equal(same(base.evals, fewer.evals), 0);
    // The plan's extent (another width, more seeds) is no setting of a result: K = 8's jobs keep their ids.
    const wider = ids(config(dir, { widths: [8, 16], seeds: 2 }));
    assert.ok(wider.evals.size > base.evals.size);
    assert.equal(same(base.evals, wider.evals), base.evals.size);
    // The data's bytes, not only its name: one label changed among the training images.
    const labels = data.train.labels.slice();
    labels[3] = (labels[3]! + 1) % 10;
    const relabelled = ids(config(dir), { ...data, train: { ...data.train, labels } });
    assert.equal(same(base.train, relabelled.train), 0);
    // A test image changed: the evaluations only.
    const images = data.test.images.slice();
    images[0] = 1 - images[0]!;
    const retested = ids(config(dir), { ...data, test: { ...data.test, images } });
    assert.deepEqual(retested.train, base.train);
    assert.equal(same(base.evals, retested.evals), 0);

    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, e: 'x' }] }), '{"a":[{"d":2,"e":"x"}],"b":1}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('queue URLs: host, port, database, credentials and TLS; anything else is refused by name', () => {
  const o = connectionOptions('redis://lab:p%40ss@10.0.0.5:7000/3') as Record<string, unknown>;
  assert.deepEqual([o['host'], o['port'], o['db'], o['username'], o['password'], o['tls']], ['10.0.0.5', 7000, 3, 'lab', 'p@ss', undefined]);
  assert.equal(o['maxRetriesPerRequest'], null, 'commands wait for a restarted Redis instead of failing');
  const tls = connectionOptions('rediss://cache.example') as Record<string, unknown>;
  assert.deepEqual([tls['port'], tls['db'], tls['tls']], [6379, 0, {}]);
  for (const [url, re] of [['http://lab:6379', /expected redis:\/\/HOST:PORT/], ['lab:6379x', /expected redis:\/\/|not a URL/], ['redis://lab/x', /database after the "\/" must be a number/]] as const) {
    assert.throws(() => connectionOptions(url), (e: Error) => e instanceof QueueUrlError && re.test(e.message), url);
  }
});

test('a queue password stays out of messages and the recorded command; --status gives up on a queue that does not answer', async () => {
  assert.throws(() => connectionOptions('redis://u:s3cret@host/abc'), (e: Error) => e instanceof QueueUrlError && !e.message.includes('s3cret') && e.message.includes('***'));
  assert.throws(() => connectionOptions('redis://u:s3cret@host:99999'), (e: Error) => !e.message.includes('s3cret'));
  assert.equal(safeUrl('redis://u:s3cret@host:99999/0'), 'redis://u:***@host:99999/0');
  assert.equal(redactUrls('bnn-edge repro --queue redis://:p%40ss@lab1:6379/2 --n 10 --queue=rediss://me:x@h'), 'bnn-edge repro --queue redis://:***@lab1:6379/2 --n 10 --queue=rediss://me:***@h');
  assert.equal(redactUrls('--queue rediss://user:p@ss@host:6380 --queue REDIS://u:pw@h/1'), '--queue rediss://user:***@host:6380 --queue REDIS://u:***@h/1');
  // Nothing listens on port 1: an error in a few seconds, naming the URL without its password.
  await assert.rejects(queueStatus('redis://u:s3cret@127.0.0.1:1/0'), (e: Error) => e instanceof QueueUnreachableError && /redis:\/\/u:\*\*\*@127\.0\.0\.1:1\/0: no answer/.test(e.message));
});

test('the CLI loads BullMQ only for --queue and the worker, and refuses a bad queue URL before loading it', () => {
  // Static imports from the CLI's entry: a local repro (or any other command) never loads the queue's code.
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) walk(fileURLToPath(new URL(spec, pathToFileURL(file))));
      else seen.add(spec);
    }
  };
  walk(CLI);
  assert.ok(seen.has('node:fs') && [...seen].some((f) => f.endsWith('cmd_worker.js')), 'the walk follows the imports');
  assert.ok(!seen.has('bullmq') && ![...seen].some((f) => /queue\/(connection|worker|coordinator|status)\.js$/.test(f)), [...seen].filter((f) => /bullmq|queue\//.test(f)).join(', '));
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  for (const [args, re] of [
    [['repro', '--queue', 'http://lab:6379', '--status'], /--queue http:\/\/lab:6379: expected redis:\/\/HOST:PORT/],
    [['worker'], /--queue URL is required/],
    [['worker', '--queue', 'redis://lab/db'], /database after the "\/" must be a number/],
    [['repro', '--status'], /--status needs --queue URL/],
    [['repro', '--queue', 'redis://lab:6379', '--stop-after', '3'], /--stop-after is for a local run/],
  ] as const) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('ETA: work left at the mean pace of its kind (or of all kinds), less what running jobs have done, over the workers', () => {
  const took = new Map([['train', [10, 20]], ['fgsm', [1]]]);
  // train: 15 − 5 already run; pgd never measured: the mean of all (31 / 3).
  assert.ok(Math.abs(eta(took, [{ kind: 'train', elapsed: 5 }, { kind: 'pgd', elapsed: 0 }], 2)! - (10 + 31 / 3) / 2) < 1e-9);
  assert.equal(eta(took, [{ kind: 'train', elapsed: 60 }], 1), 0, 'a job past its mean adds nothing');
  assert.equal(eta(new Map(), [{ kind: 'train', elapsed: 0 }], 3), null, 'nothing measured yet');
  assert.equal(eta(took, [], 3), 0);
});

test('queue order: evaluations first, then clean trainings, then PGD-trained models', () => {
  const plan = new ReproPlan({ ...config(mkdtempSync(join(tmpdir(), 'bnn-queue-order-'))) }, data);
  const groups = planJobs(plan, plan.plan(), plan.config.dir);
  const adv = groups.find((g) => g.train.data.model.adv)!;
  const clean = groups.find((g) => !g.train.data.model.adv)!;
  assert.ok(priorityOf(clean.evals[0]!.data) < priorityOf(clean.train.data));
  assert.ok(priorityOf(clean.train.data) < priorityOf(adv.train.data));
  rmSync(plan.config.dir, { recursive: true, force: true });
});

test('on a queue: a job failing 3 times is reported and blocks only its own; re-running repeats nothing done, retries the failure, and new attack settings get new evaluations on the same models', { timeout: 300_000 }, async (t) => {
  const skip = process.env['BNN_EDGE_TEST_REDIS'] ? null : queueTestsSkip();
  if (skip) return t.skip(skip);
  const redis = await testRedis();
  const root = mkdtempSync(join(tmpdir(), 'bnn-queue-'));
  const log: string[] = [];
  const worker = await startWorker({ url: redis.url, lockMs: 5000, log: (m) => log.push(m) });
  const coordinatorLog: string[] = [];
  const run = (over: Partial<ReproConfig> = {}) =>
    runOnQueue(new Repro(config(join(root, 'shared'), { out: join(root, 'doc', 'R.md'), only: ['A8-s1', 'B8-s1'], evals: ['fgsm', 'hsj'], ...over }), data), {
      url: redis.url,
      log: (m) => coordinatorLog.push(m),
      retry: { attempts: 3, delayMs: 100 },
      pollMs: 100,
    });
  const took = (re: RegExp) => log.filter((l) => /^took /.test(l) && re.test(l)).length;
  try {
    // B8-s1's checkpoint directory cannot be made: its training fails every time.
    mkdirSync(join(root, 'shared'), { recursive: true });
    writeFileSync(join(root, 'shared', 'B8-s1'), 'in the way');
    const first = await run();
    assert.equal(first.total, 4);
    assert.equal(first.done, 2, 'A8-s1\'s evaluations went on');
    assert.equal(first.failed.length, 1);
    assert.equal(first.failed[0]!.what, 'train B8-s1');
    assert.equal(first.failed[0]!.attempts, 3);
    assert.match(first.failed[0]!.error, /B8-s1/);
    assert.deepEqual([...first.blocked].sort(), ['fgsm:B8-s1', 'hsj:B8-s1']);
    assert.equal(took(/train\/B8-s1\//), 3, 'tried three times');
    const status = await queueStatus(redis.url);
    assert.equal(status.runs.length, 1);
    const r = status.runs[0]!;
    assert.deepEqual([r.models.done, r.models.failed, r.evals.done, r.evals.blocked, r.evals.queued], [1, 1, 2, 2, 0]);
    assert.match(r.failed[0]!.error, /B8-s1/);
    assert.deepEqual(status.workers.length, 1);

    // The obstacle gone, the same command again: the failed training is retried, nothing else redone.
    rmSync(join(root, 'shared', 'B8-s1'));
    const second = await run();
    assert.deepEqual([second.done, second.failed.length, second.blocked.length], [4, 0, 0]);
    assert.ok(coordinatorLog.some((l) => /^retrying 1 jobs that failed before: train\/B8-s1\//.test(l)), coordinatorLog.join('\n'));
    assert.equal(took(/train\/A8-s1\//), 1);
    assert.equal(took(/eval\/fgsm\.A8-s1\//), 1);

    // Once more: nothing to queue, nothing run; the document is complete for this selection.
    const before = log.length;
    const queue = openQueue(redis.url, () => {});
    const counts = await queue.getJobCounts();
    const third = await run();
    assert.equal(third.done, 4);
    assert.deepEqual(await queue.getJobCounts(), counts, 'no job added');
    assert.equal(log.length, before, 'the worker did nothing');
    await queue.close();

    // Another --n: new evaluations (measured on 8 images), the same models (no training), in another results file.
    const other = await run({ attackImages: 8, out: join(root, 'doc8', 'R.md') });
    assert.equal(other.done, 4);
    assert.equal(took(/^took train\//), 1 + 3 + 1, 'no training since');
    assert.equal(took(/eval\/fgsm\.A8-s1\//), 2);
    const fgsm = (out: string) => (JSON.parse(readFileSync(out, 'utf8')) as { results: Record<string, WhiteboxReport> }).results['fgsm:A8-s1']!;
    assert.equal(fgsm(join(root, 'doc8', 'R.json')).images, 8);
    assert.equal(fgsm(join(root, 'doc', 'R.json')).images, 16, 'the first run\'s results are its own');

    // Other data, the settings of the run just before, same --dir, same worker: the worker's plan is
    // not the one it kept from that run (which would train and score on mnist), so the cached mnist
    // model is refused by name.
    const full = await runOnQueue(new Repro(config(join(root, 'shared'), { attackImages: 8, out: join(root, 'docfull', 'R.md'), only: ['A8-s1'], evals: ['fgsm'] }), loadData({ dir: 'mnist-full' })), { url: redis.url, log: () => {}, retry: { attempts: 1, delayMs: 100 }, pollMs: 100 });
    assert.deepEqual([full.done, full.failed.length], [0, 1]);
    assert.match(full.failed[0]!.error, /the cached model is not the one this run trains: .*Give another --dir/);
  } finally {
    await worker.close();
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
