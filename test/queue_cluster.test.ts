/**
 * The cluster test: three `bnn-edge worker` processes on a small repro plan, one killed
 * (SIGKILL) in the middle of a training, Redis restarted once, and the document the coordinator
 * renders compared with the one a single local run renders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, EVALUATIONS, firstLine, queueTestsSkip, SMALL_PLAN, spawnWorker, startRedis, untimed, waitExit, watchProcess, type WorkerProcess } from './queue_cluster.js';

/** The first training seen mid-way (its checkpoint saved after epoch 1 of 2): its model's name. */
async function trainingMidway(shared: string, timeoutMs: number): Promise<string> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    for (const name of existsSync(shared) ? readdirSync(shared) : []) {
      try {
        const ckpt = JSON.parse(readFileSync(join(shared, name, 'checkpoint.json'), 'utf8')) as { history: unknown[]; training: { epochs: number } };
        if (ckpt.history.length === 1 && ckpt.training.epochs === 2) return name;
      } catch {
        // not there yet, or being renamed into place
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no training was seen between its epochs within ${timeoutMs} ms`);
}

test('3 workers, one killed mid-training and Redis restarted: the document equals a local run\'s', { timeout: 600_000 }, async (t) => {
  const skip = queueTestsSkip();
  if (skip) return t.skip(skip);
  const root = mkdtempSync(join(tmpdir(), 'bnn-cluster-'));
  const redis = await startRedis();
  const workers: WorkerProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) workers.push(spawnWorker(redis.url, { cwd: root, lockSeconds: 4, name: `worker${i + 1}` }));
    await Promise.all(workers.map((w) => w.waitFor(/waiting for jobs/)));
    const queued = join(root, 'queued');
    mkdirSync(queued);
    const coordinator = watchProcess(spawn(process.execPath, [CLI, 'repro', '--queue', redis.url, ...SMALL_PLAN, '--dir', join(root, 'shared'), '--out', 'R.md'], { cwd: queued, stdio: ['ignore', 'pipe', 'pipe'] }), 'coordinator');
    let stdout = '';
    coordinator.proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));

    // Kill the worker training a model once that model's first epoch is saved.
    const name = await trainingMidway(join(root, 'shared'), 300_000);
    const victim = workers.find((w) => w.lines.some((l) => l.includes(`took train/${name}/`)));
    assert.ok(victim, `a worker took ${name}'s training`);
    const jobId = /took (train\/\S+)/.exec(victim.lines.find((l) => l.includes(`took train/${name}/`))!)![1]!;
    assert.ok(!victim.lines.some((l) => l.includes(`${jobId} done`)), 'the victim is killed mid-job');
    victim.proc.kill('SIGKILL');
    await waitExit(victim.proc);
    const survivors = workers.filter((w) => w !== victim);
    // Another worker takes the job once its lock expires, and continues from the saved epoch.
    const escaped = (s: string) => s.replace(/[+/.]/g, '\\$&');
    const resumed = await firstLine(survivors, new RegExp(`${escaped(jobId)}: resuming ${escaped(name)}: its cached training stopped after 1 of 2 epochs`), 120_000);

    // Redis restarted (down for a second) while that training and the evaluations after it are still to do.
    const pidBefore = redis.pid();
    const linesBefore = survivors.map((w) => w.lines.length);
    await redis.restart(1000);
    assert.notEqual(redis.pid(), pidBefore);

    assert.equal(await waitExit(coordinator.proc), 0, coordinator.lines.slice(-20).join('\n'));
    assert.match(stdout, new RegExp(`wrote R\\.md \\(${EVALUATIONS} of ${EVALUATIONS} evaluations\\)`));
    assert.ok(resumed.proc.lines.some((l) => l.startsWith(`[worker] ${jobId} done`)), 'the worker that took the killed job up finished it');
    assert.ok(survivors.some((w) => w.lines.some((l) => /queue: .*ECONNREFUSED/.test(l))), 'the workers saw Redis go away');
    assert.ok(survivors.some((w, i) => w.lines.slice(linesBefore[i]).some((l) => / done in /.test(l))), 'and finished jobs after it came back');

    // A single local run of the same plan, with no Redis.
    const local = join(root, 'local');
    mkdirSync(local);
    const ref = watchProcess(spawn(process.execPath, [CLI, 'repro', ...SMALL_PLAN, '--dir', join(root, 'local-cache'), '--out', 'R.md'], { cwd: local, stdio: ['ignore', 'ignore', 'pipe'] }), 'local');
    assert.equal(await waitExit(ref.proc), 0, ref.lines.slice(-20).join('\n'));
    assert.equal(readFileSync(join(queued, 'R.md'), 'utf8'), readFileSync(join(local, 'R.md'), 'utf8'), 'the queued run renders the local run\'s document');
    for (const svg of readdirSync(local).filter((f) => f.endsWith('.svg'))) assert.equal(readFileSync(join(queued, svg), 'utf8'), readFileSync(join(local, svg), 'utf8'), svg);
    assert.deepEqual(untimed(join(queued, 'R.json')), untimed(join(local, 'R.json')));

    // --status after the run: everything done, nothing failed.
    const status = spawn(process.execPath, [CLI, 'repro', '--queue', redis.url, '--status', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let json = '';
    status.stdout!.on('data', (d: Buffer) => (json += d.toString()));
    assert.equal(await waitExit(status), 0);
    const s = JSON.parse(json) as { runs: { evals: { done: number; failed: number }; models: { done: number } }[] };
    assert.equal(s.runs.length, 1);
    assert.deepEqual([s.runs[0]!.evals.done, s.runs[0]!.evals.failed, s.runs[0]!.models.done], [EVALUATIONS, 0, 4]);
  } finally {
    await Promise.all(workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null).map((w) => w.stop()));
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
