/**
 * The cluster test: three `bnn-edge worker` processes on a small repro plan, one killed
 * (SIGKILL) in the middle of a training, Redis restarted once, and the document the coordinator
 * renders compared with the one a single local run renders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVALUATIONS, queueTestsSkip, untimed } from './queue_cluster.js';
import { clusterRun, localRun } from './queue_scenario.js';

test('3 workers, one killed mid-training and Redis restarted: the document equals a local run\'s', { timeout: 600_000 }, async (t) => {
  const skip = queueTestsSkip();
  if (skip) return t.skip(skip);
  const root = mkdtempSync(join(tmpdir(), 'bnn-cluster-'));
  try {
    const run = await clusterRun(root, 3, true);
    assert.equal(run.exitCode, 0, run.stdout);
    assert.match(run.stdout, new RegExp(`wrote R\\.md \\(${EVALUATIONS} of ${EVALUATIONS} evaluations\\)`));
    const f = run.fault!;
    // Taken up by another worker once the lock (4 s) expired, from the epoch its checkpoint had.
    assert.match(f.resumeLine, /resuming .*: its cached training stopped after 1 of 2 epochs/);
    assert.ok(f.finishedByResumer, 'the worker that took the killed job up finished it');
    assert.ok(f.redisRestarted);
    assert.ok(f.workersSawRedisGo, 'the workers saw Redis go away');
    assert.ok(f.jobsDoneAfterRestart > 0, 'and finished jobs after it came back');
    // Nothing lost: Redis, restarted, still has every model and result.
    assert.equal(run.status.runs.length, 1);
    const s = run.status.runs[0]!;
    assert.deepEqual([s.evals.done, s.evals.failed, s.models.done], [EVALUATIONS, 0, 4]);

    const local = await localRun(root);
    assert.equal(local.exitCode, 0, local.log.slice(-20).join('\n'));
    // Each document names its own cache (--dir) in its command line; everything else is the same.
    const [queued, alone] = [readFileSync(join(run.out, 'R.md'), 'utf8'), readFileSync(join(local.out, 'R.md'), 'utf8')];
    assert.match(queued, / --dir \S*shared --out R\.md`/);
    assert.match(alone, / --dir \S*local-cache --out R\.md`/);
    const withoutDir = (doc: string) => doc.replace(/ --dir \S+ --out R\.md`/, ' --out R.md`');
    assert.equal(withoutDir(queued), withoutDir(alone), 'the queued run renders the local run\'s document');
    for (const svg of readdirSync(local.out).filter((x) => x.endsWith('.svg'))) assert.equal(readFileSync(join(run.out, svg), 'utf8'), readFileSync(join(local.out, svg), 'utf8'), svg);
    assert.deepEqual(untimed(join(run.out, 'R.json')), untimed(join(local.out, 'R.json')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
