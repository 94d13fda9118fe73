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
    log(`run ${run.id}: ${evals.length - pending().length} of ${evals.length} evaluations done; jobs queued for the ${needed.length} models with work left`);
    if (o.wait === false) return { runId: run.id, done: evals.length - pending().length, total: evals.length, failed: [], blocked: [] };
    const end = needed.length ? await collect(repro, queue, store, needed, retry, o.pollMs ?? 2000, log) : { failed: [], blocked: [] };
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
    } else if (state !== 'unknown' && job.data.kind === 'train') {
      // Another run's training job for this model, still to finish: adding it again would keep
      // that run's evaluations only, so this run's go into it (its worker reads them when done).
      const queued = await queue.getJob(job.id);
      const data = queued?.data as ModelJobs['train']['data'] | undefined;
      const have = new Set(data?.evals.map((e) => e.id) ?? []);
      const extra = job.data.evals.filter((e) => !have.has(e.id));
      if (queued && data && extra.length) await queued.updateData({ ...data, evals: [...data.evals, ...extra] });
    }
  }
  if (retried.length) log(`retrying ${retried.length} jobs that failed before: ${retried.join(', ')}`);
  await addJobs(queue, jobs, retry);
}

type QueuedJob = { readonly id: string; readonly data: EvalJob['data'] | ModelJobs['train']['data'] };

/** What one look at the queue found: counts, failures, and jobs to queue again. */
interface Round {
  running: number;
  waiting: number;
  readonly failed: FailedJob[];
  readonly blocked: string[];
  readonly requeue: QueuedJob[];
  /** Jobs completed without a stored result: once is a race with the read, twice a lost result. */
  readonly completedEmpty: Set<string>;
}

/**
 * Waits for the evaluations, recording each result as it arrives. Each round also repairs what a
 * lost Redis state or a stopped coordinator can leave: evaluations of a trained model that are in
 * no queue, a training job that vanished, a job completed whose result is gone.
 */
async function collect(repro: Repro, queue: Queue, store: Store, groups: readonly ModelJobs[], retry: RetryPolicy, pollMs: number, log: (msg: string) => void): Promise<Omit<QueueRunSummary, 'runId' | 'done' | 'total'>> {
  const evals = groups.flatMap((g) => g.evals);
  const left = (jobs: readonly EvalJob[]) => jobs.filter((e) => !repro.results[e.data.task]);
  let last = '';
  let before = new Set<string>();
  for (;;) {
    const arrived = await store.results(left(evals).map((e) => e.id));
    if (arrived.size) repro.recordAll(left(evals).filter((e) => arrived.has(e.id)).map((e) => [e.data.task, arrived.get(e.id)!]));
    const models = await store.models(groups.map((g) => g.train.id));
    const round: Round = { running: 0, waiting: 0, failed: [], blocked: [], requeue: [], completedEmpty: new Set() };
    for (const g of groups) {
      const todo = left(g.evals);
      if (!todo.length) continue;
      if (models.has(g.train.id)) {
        for (const e of todo) await look(queue, e, e.data.task, round, before);
      } else if (await look(queue, { id: g.train.id, data: { ...g.train.data, evals: todo } }, `train ${keyName(g.train.data.model)}`, round, before)) {
        round.waiting += todo.length;
      } else round.blocked.push(...todo.map((e) => e.data.task));
    }
    before = round.completedEmpty;
    if (round.requeue.length) await addJobs(queue, round.requeue, retry);
    const done = evals.length - left(evals).length;
    const line = `${done} of ${evals.length} evaluations done, ${round.running} jobs running, ${round.waiting} waiting, ${round.failed.length} failed${round.blocked.length ? `, ${round.blocked.length} evaluations blocked by a failed model` : ''}`;
    if (line !== last) log((last = line));
    if (round.running === 0 && round.waiting === 0) return { failed: round.failed, blocked: round.blocked };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Counts a job whose result is not stored yet into `round`; false if it has failed for good. */
async function look(queue: Queue, job: QueuedJob, what: string, round: Round, completedEmptyBefore: ReadonlySet<string>): Promise<boolean> {
  const state = await queue.getJobState(job.id);
  if (state === 'failed') {
    round.failed.push(await failure(queue, job.id, what));
    return false;
  }
  if (state === 'active') round.running++;
  else round.waiting++;
  if (state === 'completed') {
    round.completedEmpty.add(job.id);
    if (!completedEmptyBefore.has(job.id)) return true;
    await (await queue.getJob(job.id))?.remove();
  }
  // In no queue (a Redis that lost its data; evaluations of a model whose job queued an earlier plan's list): queued again.
  if (state === 'unknown' || state === 'completed') round.requeue.push(job);
  return true;
}

async function failure(queue: Queue, id: string, what: string): Promise<FailedJob> {
  const job = await queue.getJob(id);
  return { id, what, error: job?.failedReason ?? 'unknown', attempts: job?.attemptsMade ?? 0 };
}
