/** Adding repro's jobs to the queue: the one place their retry policy and order are set. */
import type { BackoffOptions, JobsOptions, Queue } from 'bullmq';
import type { JobData } from './jobs.js';

export interface RetryPolicy {
  /** Tries before a job is reported failed (the "three times"). */
  readonly attempts: number;
  /** Wait before the first retry, doubled for each one after. */
  readonly delayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, delayMs: 10_000 };

/**
 * Lower runs first. Evaluations of trained models come before any training, and clean models
 * (minutes) before adversarially trained ones (an hour each at K = 64 on 2 cores), as a local run
 * orders them: a run stopped early has filled as many table cells as it could.
 */
export function priorityOf(job: JobData): number {
  return job.kind === 'eval' ? 1 : job.model.adv ? 3 : 2;
}

export function jobOptions(id: string, job: JobData, retry: RetryPolicy): JobsOptions {
  const backoff: BackoffOptions = { type: 'exponential', delay: retry.delayMs };
  // Finished and failed jobs are kept: they answer --status, and the id of a kept job makes adding it again a no-op.
  return { jobId: id, priority: priorityOf(job), attempts: retry.attempts, backoff, removeOnComplete: false, removeOnFail: false };
}

/** Adds jobs (those already in the queue under the same id are left as they are). */
export async function addJobs(queue: Queue, jobs: readonly { readonly id: string; readonly data: JobData }[], retry: RetryPolicy): Promise<void> {
  if (!jobs.length) return;
  await queue.addBulk(jobs.map(({ id, data }) => ({ name: data.kind, data, opts: jobOptions(id, data, retry) })));
}

/** The retry policy a job was added with, for the jobs it adds in turn. */
export function retryOf(opts: JobsOptions): RetryPolicy {
  const b = opts.backoff;
  const delayMs = typeof b === 'number' ? b : (b?.delay ?? DEFAULT_RETRY.delayMs);
  return { attempts: opts.attempts ?? DEFAULT_RETRY.attempts, delayMs };
}
