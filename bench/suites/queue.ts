/**
 * The job queue of `bnn-edge repro --queue` (issue 41): the test's small plan (4 models of K = 8,
 * 16 evaluations) run locally and on 1, 2 and 3 local workers, the queue's own cost per job, and
 * the cluster test's faults (a worker killed mid-training, Redis restarted) with their outcome.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { loadData } from '../../src/data/index.js';
import { ReproPlan } from '../../src/eval/repro.js';
import { openQueue } from '../../src/queue/connection.js';
import { addJobs } from '../../src/queue/enqueue.js';
import { planJobs } from '../../src/queue/jobs.js';
import { Store } from '../../src/queue/store.js';
import { startWorker } from '../../src/queue/worker.js';
import { EVALUATIONS, queueTestsSkip, SMALL_PLAN, startRedis, untimed } from '../../test/queue_cluster.js';
import { clusterRun, localRun } from '../../test/queue_scenario.js';
import { fmt, mdTable } from '../lib.js';

const JOBS = EVALUATIONS + 4;

/** Milliseconds per job through BullMQ and a worker when the job has nothing left to do (its result is stored). */
async function roundTrip(n: number): Promise<number> {
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'bnn-queue-rt-'));
  const worker = await startWorker({ url: redis.url, log: () => {} });
  const queue = openQueue(redis.url, () => {});
  try {
    const plan = new ReproPlan({ widths: [8], seeds: 1, epochs: 1, adv: { seeds: 1, epochs: 1, cleanEpochs: 0, steps: 2, step: 0.1, eps: 0.3 }, attackImages: 8, cwImages: 4, blackboxImages: 8, hsjImages: 1, hsjQueries: 20, dir, log: () => {} }, loadData());
    const template = planJobs(plan, plan.plan().slice(0, 1), dir)[0]!.evals[0]!;
    const jobs = Array.from({ length: n }, (_, i) => ({ id: `${template.id}-${i}`, data: template.data }));
    const store = new Store(queue);
    for (const j of jobs) await store.putResult(j.id, { model: 'none', images: 0, budgets: [], l2Radius: 0, totalQueries: 0, seconds: 0, queriesPerSecond: 0 });
    const t0 = performance.now();
    await addJobs(queue, jobs, { attempts: 1, delayMs: 1000 });
    while ((await queue.getJobCounts('completed')).completed! < n) await new Promise((r) => setTimeout(r, 5));
    return (performance.now() - t0) / n;
  } finally {
    await queue.close();
    await worker.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wall times of one configuration over the rounds, with the jobs' own time summed and the load average at each start. */
interface Config {
  readonly label: string;
  readonly workers: number;
  readonly seconds: number[];
  readonly jobSeconds: number[];
  readonly load: number[];
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ROUNDS = 2;

/** The plan locally and on 1, 2, 3 workers, in interleaved rounds so that the load of the shared machine's other jobs falls on all alike. */
async function scaling(root: string): Promise<{ configs: Config[]; localOut: string }> {
  const configs: Config[] = [0, 1, 2, 3].map((n) => ({ label: n ? `${n} worker${n > 1 ? 's' : ''}` : 'local (no queue)', workers: n, seconds: [], jobSeconds: [], load: [] }));
  let localOut = '';
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of configs) {
      process.stderr.write(`round ${round + 1}: ${c.label}\n`);
      c.load.push(loadavg()[0]!);
      const dir = join(root, `r${round}-${c.workers}`);
      if (c.workers === 0) {
        const r = await localRun(dir);
        if (r.exitCode !== 0) throw new Error(`local run exited ${r.exitCode}: ${r.log.slice(-5).join('\n')}`);
        c.seconds.push(r.seconds);
        localOut = r.out;
      } else {
        const r = await clusterRun(dir, c.workers, false);
        if (r.exitCode !== 0) throw new Error(`${c.label}: the coordinator exited ${r.exitCode}: ${r.stdout}`);
        c.seconds.push(r.seconds);
        c.jobSeconds.push(r.jobSeconds);
      }
    }
  }
  return { configs, localOut };
}

export async function queueSuite(): Promise<{ markdown: string; data: unknown }> {
  const skip = queueTestsSkip();
  if (skip) throw new Error(skip);
  const root = mkdtempSync(join(tmpdir(), 'bnn-bench-queue-'));
  try {
    const { configs, localOut } = await scaling(root);
    process.stderr.write('round trip\n');
    const perJobMs = await roundTrip(200);
    process.stderr.write('faults\n');
    const faulty = await clusterRun(join(root, 'fault'), 3, true);
    const f = faulty.fault!;
    const sameDoc = readFileSync(join(faulty.out, 'R.md'), 'utf8') === readFileSync(join(localOut, 'R.md'), 'utf8');
    const sameResults = isDeepStrictEqual(untimed(join(faulty.out, 'R.json')), untimed(join(localOut, 'R.json')));
    const [local, one, two, three] = configs as [Config, Config, Config, Config];
    const t = (c: Config) => mean(c.seconds);
    const rows = configs.map((c) => [
      c.label,
      `${fmt(t(c), 1)} (${c.seconds.map((x) => fmt(x, 1)).join(', ')})`,
      c.workers ? `${(t(one) / t(c)).toFixed(2)}×` : '—',
      c.workers ? `${((100 * t(one)) / t(c) / c.workers).toFixed(0)}%` : '—',
      c.workers ? fmt(mean(c.jobSeconds), 1) : '—',
      c.load.map((x) => x.toFixed(1)).join(', '),
    ]);
    const loads = configs.flatMap((c) => c.load);
    const spread = Math.max(...configs.map((c) => (Math.max(...c.seconds) - Math.min(...c.seconds)) / t(c)));
    const markdown = [
      `The cluster test's plan: \`bnn-edge repro ${SMALL_PLAN.join(' ')}\` — ${JOBS} jobs (4 trainings of K = 8, 2 epochs on 1,000 images, and ${EVALUATIONS} evaluations), the coordinator and each worker a process of its own, workers started and waiting before the clock starts, Redis on loopback. ${ROUNDS} rounds, each running every configuration in turn; the machine's other jobs kept its load average at ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on its 2 cores, so a configuration's rounds differ by up to ${(100 * spread).toFixed(0)}%.`,
      '',
      mdTable(['run', 'wall (s): mean (rounds)', 'speed-up vs 1 worker', 'per-worker efficiency', "jobs' own time, summed (s)", 'load average at start'], rows),
      '',
      `2 workers ran the plan ${(t(one) / t(two)).toFixed(2)}× as fast as 1, 3 workers ${(t(one) / t(three)).toFixed(2)}×. A training uses 2 threads and an attack 1, so 2 workers can fill 2 cores and a third adds none: the jobs' own time summed goes from ${fmt(mean(one.jobSeconds), 1)} s with 1 worker to ${fmt(mean(three.jobSeconds), 1)} s with 3, the same work spread thinner over the cores they share (with each other and with the machine's other jobs).`,
      '',
      `The queue's cost: with 1 worker the plan took ${fmt(t(one), 1)} s against ${fmt(t(local), 1)} s in one local process, ${((1000 * (t(one) - t(local))) / JOBS).toFixed(0)} ms per job, and the worker's wall time exceeded its jobs' own time by ${((1000 * (t(one) - mean(one.jobSeconds))) / JOBS).toFixed(0)} ms per job (its thread's first job loads tfjs and the data, an evaluation loads its model's checkpoint, the coordinator looks every 2 s). BullMQ's own part: a job with nothing to do (its result already stored) took ${perJobMs.toFixed(1)} ms from being queued to completed (200 such jobs through 1 worker).`,
      '',
      `Faults (the cluster test, 3 workers): the worker training ${f.model} was killed (SIGKILL) after its first epoch's checkpoint; another worker took the job up ${f.takenUpAfter.toFixed(1)} s later (lock 4 s) and ${f.resumeLine.includes('resuming') ? 'continued from the saved epoch' : 'trained from the start'}${f.finishedByResumer ? ', finishing it' : ''}. Redis was then stopped for 1 s and started again on its append-only file${f.workersSawRedisGo ? ' (the workers logged the refused connections and reconnected)' : ''}; ${f.jobsDoneAfterRestart} jobs finished after it. Jobs failed: ${faulty.status.runs[0]?.evals.failed ?? '?'}. The document ${sameDoc ? 'equals' : 'DIFFERS from'} the local run's, and the results ${sameResults ? 'are identical' : 'DIFFER'} but for their timings; the run took ${fmt(faulty.seconds, 1)} s.`,
    ].join('\n');
    return { markdown, data: { configs, perJobMs, fault: { ...f, seconds: faulty.seconds, sameDoc, sameResults } } };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
