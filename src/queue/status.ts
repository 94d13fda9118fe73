/**
 * `bnn-edge repro --queue URL --status`: for each run put on the queue, how many of its jobs are
 * done, running, queued, failed (and evaluations blocked behind a failed training), with an ETA
 * from the time finished jobs of the same kind took, shared among the connected workers.
 */
import type { Job, Queue } from 'bullmq';
import { formatSeconds } from '../util/progress.js';
import { connectionOptions, openQueue, QueueUnreachableError, safeUrl } from './connection.js';
import type { JobData } from './jobs.js';
import { Store, type JobOutcome, type RunRecord } from './store.js';

export interface JobCounts {
  done: number;
  running: number;
  queued: number;
  failed: number;
  blocked: number;
}

export interface RunStatus {
  readonly run: RunRecord;
  readonly models: JobCounts;
  readonly evals: JobCounts;
  /** Seconds until the run's last job finishes at the pace measured so far; null before any job has finished. */
  readonly etaSeconds: number | null;
  readonly running: readonly { readonly id: string; readonly worker: string; readonly progress: string }[];
  readonly failed: readonly { readonly id: string; readonly error: string; readonly attempts: number }[];
}

export interface QueueStatus {
  readonly workers: readonly string[];
  readonly runs: readonly RunStatus[];
}

const zero = (): JobCounts => ({ done: 0, running: 0, queued: 0, failed: 0, blocked: 0 });

/** A job's kind for the ETA: training of clean or PGD-trained models, or the evaluation's attack. */
function kindOf(id: string, task?: string): string {
  if (task) return task.slice(0, task.indexOf(':'));
  return id.split('/')[1]?.includes('+') ? 'train+' : 'train';
}

export async function queueStatus(url: string): Promise<QueueStatus> {
  const queue = openQueue(url, () => {}, { failFast: true });
  try {
    try {
      await queue.getJobCounts();
    } catch (e) {
      throw new QueueUnreachableError(`--queue ${safeUrl(url)}: no answer (${(e as Error).message})`);
    }
    const store = new Store(queue);
    // CLIENT LIST shows the workers of every database on the server: ours are those on our database.
    const db = String((connectionOptions(url) as { db?: number }).db ?? 0);
    const clients = (await queue.getWorkers()).filter((w) => w['db'] === undefined || String(w['db']) === db);
    const workers = [...new Set(clients.map((w) => String(w['rawname'] ?? w['name'] ?? '').replace(/^.*?:w:/, '')))].filter(Boolean);
    const runs = await store.runs();
    return { workers, runs: await Promise.all(runs.map((r) => runStatus(queue, store, r, Math.max(1, workers.length)))) };
  } finally {
    await queue.close();
  }
}

async function runStatus(queue: Queue, store: Store, run: RunRecord, workers: number): Promise<RunStatus> {
  const models = await store.models(run.train);
  const results = await store.results(run.evals.map((e) => e.id));
  const jobs = new Map<string, { job: Job<JobData, JobOutcome> | undefined; state: string }>();
  for (const id of [...run.train, ...run.evals.map((e) => e.id)]) jobs.set(id, { job: (await queue.getJob(id)) as Job<JobData, JobOutcome> | undefined, state: await queue.getJobState(id) });
  const status: { models: JobCounts; evals: JobCounts; running: RunStatus['running'][number][]; failed: RunStatus['failed'][number][] } = { models: zero(), evals: zero(), running: [], failed: [] };
  // Measured seconds per kind, and the jobs still to run with how long they have run so far.
  const took = new Map<string, number[]>();
  const left: { kind: string; elapsed: number }[] = [];
  const failedModels = new Set<string>();
  const visit = (id: string, counts: JobCounts, done: boolean, task?: string) => {
    const { job, state } = jobs.get(id)!;
    const kind = kindOf(id, task);
    const r = job?.returnvalue;
    if (r && !r.cached) took.set(kind, [...(took.get(kind) ?? []), r.seconds]);
    if (done) return void counts.done++;
    if (job && state === 'failed') {
      counts.failed++;
      status.failed.push({ id, error: job.failedReason, attempts: job.attemptsMade });
      if (!task) failedModels.add(id);
      return;
    }
    let elapsed = 0;
    if (job && state === 'active') {
      counts.running++;
      elapsed = job.processedOn ? (Date.now() - job.processedOn) / 1000 : 0;
      const p = job.progress as { done?: number; total?: number } | number;
      status.running.push({ id, worker: job.processedBy ?? '?', progress: typeof p === 'object' && p.total ? `${p.done}/${p.total}` : '' });
    } else counts.queued++;
    left.push({ kind, elapsed });
  };
  // A model none of whose evaluations is left was never queued (or its record is gone): done all the same.
  const evalsLeft = (id: string) => run.evals.some((e) => e.modelJob === id && !results.has(e.id));
  for (const id of run.train) visit(id, status.models, models.has(id) || !evalsLeft(id));
  for (const e of run.evals) {
    if (!results.has(e.id) && failedModels.has(e.modelJob)) status.evals.blocked++;
    else visit(e.id, status.evals, results.has(e.id), e.task);
  }
  return { run, ...status, etaSeconds: eta(took, left, workers) };
}

/** The work left at the mean pace of each kind (or of all kinds, for a kind not yet measured), spread over the workers. */
export function eta(took: ReadonlyMap<string, readonly number[]>, left: readonly { kind: string; elapsed: number }[], workers: number): number | null {
  if (!left.length) return 0;
  const all = [...took.values()].flat();
  if (!all.length) return null;
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const overall = mean(all);
  const work = left.reduce((a, j) => a + Math.max(0, (took.has(j.kind) ? mean(took.get(j.kind)!) : overall) - j.elapsed), 0);
  return work / Math.max(1, workers);
}

export function formatStatus(s: QueueStatus): string {
  const lines = [`workers connected: ${s.workers.length}${s.workers.length ? ` (${s.workers.join(', ')})` : ''}`];
  if (!s.runs.length) lines.push('no repro run has been put on this queue');
  const counts = (c: JobCounts, blocked: boolean) => `${c.done} done, ${c.running} running, ${c.queued} queued, ${c.failed} failed${blocked ? `, ${c.blocked} blocked by a failed model` : ''}`;
  for (const r of s.runs) {
    const eta = r.etaSeconds === null ? 'ETA: unknown until a job finishes' : r.etaSeconds === 0 ? 'finished' : `ETA ${formatSeconds(r.etaSeconds)} at the pace so far`;
    lines.push('', `run ${r.run.id} (${new Date(r.run.updated).toISOString().slice(0, 16).replace('T', ' ')}): ${r.run.command}`);
    lines.push(`  models:      ${counts(r.models, false)}`, `  evaluations: ${counts(r.evals, true)}`, `  ${eta}`);
    for (const j of r.running) lines.push(`  running ${j.id} on ${j.worker}${j.progress ? ` (${j.progress})` : ''}`);
    for (const f of r.failed) lines.push(`  FAILED ${f.id} after ${f.attempts} tries: ${f.error}`);
  }
  return lines.join('\n') + '\n';
}
