/**
 * `bnn-edge repro --queue`: puts a repro plan on the queue — a training job per model, its
 * evaluations queued by the worker that trains it — and writes the document from the results as
 * they come back, exactly as a local run writes it. Jobs and results are named by their settings'
 * hash (jobs.ts): what is done, in the results file or in Redis, is never queued again, and a
 * second coordinator of the same plan (or this one, restarted) only collects.
 */
import { resolve } from 'node:path';
import type { Queue } from 'bullmq';
import { keyName, type Repro, type ReproResult } from '../eval/repro.js';
import { openQueue } from './connection.js';
import { addJobs, DEFAULT_RETRY, type RetryPolicy } from './enqueue.js';
import { planJobs, settingsHash, type EvalJob, type ModelJobs } from './jobs.js';
import { Store, type RunRecord } from './store.js';

export interface QueueRunOptions {
  readonly url: string;
  readonly log: (msg: string) => void;
  /** Wait for the jobs, writing the document as results come (default); false: queue them and return. */
  readonly wait?: boolean;
  readonly retry?: RetryPolicy;
  /** How often the coordinator looks for results (default 2 s). */
  readonly pollMs?: number;
  /** How the run was started, for --status. */
  readonly command?: string;
}

export interface FailedJob {
  readonly id: string;
  /** The evaluation (`fgsm:A64-s1`) or the model (`train A64-s1`). */
  readonly what: string;
  readonly error: string;
  readonly attempts: number;
}

export interface QueueRunSummary {
  readonly runId: string;
  /** Evaluations of this run with a result, and how many it has. */
  readonly done: number;
  readonly total: number;
  readonly failed: readonly FailedJob[];
  /** Evaluations that cannot run because their model's training failed. */
  readonly blocked: readonly string[];
}

/** States in which a job will still run (BullMQ's names). */
const LIVE = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

export async function runOnQueue(repro: Repro, o: QueueRunOptions): Promise<QueueRunSummary> {
  const { log } = o;
  const retry = o.retry ?? DEFAULT_RETRY;
  const tasks = repro.selected();
  const groups = planJobs(repro, tasks, resolve(repro.config.dir));
  const evals = groups.flatMap((g) => g.evals);
  const taskOf = new Map(evals.map((e) => [e.id, e.data.task]));
  let connectionError = '';
  const queue = openQueue(o.url, (e) => {
    if (e.message !== connectionError) log(`queue: ${(connectionError = e.message)}`);
  });
  try {
    const store = new Store(queue);
    await syncResults(repro, store, evals);
    const pending = () => evals.filter((e) => !repro.results[e.data.task]);
    const needed = groups.filter((g) => g.evals.some((e) => !repro.results[e.data.task]));
    await enqueue(queue, store, needed, pending(), retry, log);
    const run: RunRecord = {
      id: settingsHash(evals.map((e) => e.id)).slice(0, 12),
      command: o.command ?? 'bnn-edge repro --queue',
      out: repro.config.out,
      created: Date.now(),
      updated: Date.now(),
      train: groups.map((g) => g.train.id),
      evals: evals.map((e) => ({ id: e.id, task: e.data.task, modelJob: e.data.modelJob })),
    };
    await store.putRun(run);
    log(`run ${run.id}: ${evals.length - pending().length} of ${evals.length} evaluations done, ${needed.length} models' jobs queued`);
    if (o.wait === false) return { runId: run.id, done: evals.length - pending().length, total: evals.length, failed: [], blocked: [] };
    const end = await collect(repro, queue, store, needed, retry, o.pollMs ?? 2000, log);
    repro.render();
    return { runId: run.id, total: evals.length, done: evals.length - pending().length, ...end, failed: end.failed.map((f) => ({ ...f, what: taskOf.get(f.id) ?? f.what })) };
  } finally {
    await queue.close();
  }
}

/** Results in Redis the results file lacks go into it; results only in the file go to Redis (for other coordinators and --status). */
async function syncResults(repro: Repro, store: Store, evals: readonly EvalJob[]): Promise<void> {
  const stored = await store.results(evals.map((e) => e.id));
  const fresh: [string, ReproResult][] = [];
  for (const e of evals) {
    const inFile = repro.results[e.data.task];
    const inRedis = stored.get(e.id);
    if (!inFile && inRedis) fresh.push([e.data.task, inRedis]);
    else if (inFile && !inRedis) await store.putResult(e.id, inFile);
  }
  if (fresh.length) repro.recordAll(fresh);
}

/**
 * Queues what is left: a training job per model without a stored model (carrying the evaluations
 * its worker queues after it), the evaluations of models already trained. Jobs that failed in an
 * earlier run are retried: running the command again is how one asks for that.
 */
async function enqueue(queue: Queue, store: Store, groups: readonly ModelJobs[], pending: readonly EvalJob[], retry: RetryPolicy, log: (msg: string) => void): Promise<void> {
  const models = await store.models(groups.map((g) => g.train.id));
  const wanted = new Set(pending.map((e) => e.id));
  const jobs: { id: string; data: ModelJobs['train']['data'] | EvalJob['data'] }[] = [];
  for (const g of groups) {
    const left = g.evals.filter((e) => wanted.has(e.id));
    if (models.has(g.train.id)) jobs.push(...left);
    else jobs.push({ id: g.train.id, data: { ...g.train.data, evals: left } });
  }
  const retried: string[] = [];
  for (const job of jobs) {
    const state = await queue.getJobState(job.id);
    if (state === 'failed') {
      await (await queue.getJob(job.id))?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      retried.push(job.id);
    } else if (state === 'completed') {
      // Completed, yet its result is not stored (the store was cleared): run it again.
      await (await queue.getJob(job.id))?.remove();
    }
  }
  if (retried.length) log(`retrying ${retried.length} jobs that failed before: ${retried.join(', ')}`);
  await addJobs(queue, jobs, retry);
}

/**
 * Waits for the evaluations, recording each result as it arrives. Each round also repairs what a
 * lost Redis state or a stopped coordinator can leave: evaluations of a trained model that are in
 * no queue, a training job that vanished.
 */
async function collect(repro: Repro, queue: Queue, store: Store, groups: readonly ModelJobs[], retry: RetryPolicy, pollMs: number, log: (msg: string) => void): Promise<Omit<QueueRunSummary, 'runId' | 'done' | 'total'>> {
  if (!groups.length) return { failed: [], blocked: [] };
  let last = '';
  // Completed evaluations whose result was not there: once is a race with the read, twice a lost result.
  let completedEmpty = new Set<string>();
  for (;;) {
    const seenEmpty = new Set<string>();
    const pending = groups.flatMap((g) => g.evals).filter((e) => !repro.results[e.data.task]);
    const arrived = await store.results(pending.map((e) => e.id));
    if (arrived.size) repro.recordAll(pending.filter((e) => arrived.has(e.id)).map((e) => [e.data.task, arrived.get(e.id)!]));
    const failed: FailedJob[] = [];
    const blocked: string[] = [];
    let running = 0;
    let waiting = 0;
    const models = await store.models(groups.map((g) => g.train.id));
    const readd: { id: string; data: EvalJob['data'] | ModelJobs['train']['data'] }[] = [];
    for (const g of groups) {
      const left = g.evals.filter((e) => !repro.results[e.data.task]);
      if (!left.length) continue;
      if (!models.has(g.train.id)) {
        const state = await queue.getJobState(g.train.id);
        if (state === 'failed') {
          failed.push(await failure(queue, g.train.id, `train ${keyName(g.train.data.model)}`));
          blocked.push(...left.map((e) => e.data.task));
          continue;
        }
        if (state === 'active') running++;
        else waiting++;
        // Gone from the queue without storing its model (a Redis that lost its data): queued again.
        if (state === 'unknown') readd.push({ id: g.train.id, data: { ...g.train.data, evals: left } });
        waiting += left.length;
        continue;
      }
      for (const e of left) {
        const state = await queue.getJobState(e.id);
        if (state === 'failed') failed.push(await failure(queue, e.id, e.data.task));
        else if (state === 'active') running++;
        else if (LIVE.has(state)) waiting++;
        // Trained, but this evaluation is in no queue (its model's job queued an earlier plan's list, or the job was lost).
        else if (state === 'unknown') readd.push(e), waiting++;
        else if (state === 'completed') {
          waiting++;
          seenEmpty.add(e.id);
          if (completedEmpty.has(e.id)) await (await queue.getJob(e.id))?.remove(), readd.push(e);
        }
      }
    }
    completedEmpty = seenEmpty;
    if (readd.length) await addJobs(queue, readd, retry);
    const total = groups.reduce((a, g) => a + g.evals.length, 0);
    const done = total - groups.flatMap((g) => g.evals).filter((e) => !repro.results[e.data.task]).length;
    const line = `${done} of ${total} evaluations done, ${running} jobs running, ${waiting} waiting, ${failed.length} failed${blocked.length ? `, ${blocked.length} evaluations blocked by a failed model` : ''}`;
    if (line !== last) log((last = line));
    if (running === 0 && waiting === 0) return { failed, blocked };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function failure(queue: Queue, id: string, what: string): Promise<FailedJob> {
  const job = await queue.getJob(id);
  return { id, what, error: job?.failedReason ?? 'unknown', attempts: job?.attemptsMade ?? 0 };
}
