/**
 * Where the queue lives: a Redis server named by a redis:// (or rediss://, TLS) URL, the BullMQ
 * queue of repro's jobs in it, and the hashes beside it that keep what the jobs produced.
 */
import { Queue, type WorkerOptions } from 'bullmq';
import { connectionOptions } from './url.js';

export { connectionOptions, QueueUnreachableError, QueueUrlError, redactUrls, safeUrl } from './url.js';

/** Every key bnn-edge writes starts with this (BullMQ's own keys: `bnn-edge:repro:…`). */
export const PREFIX = 'bnn-edge';
export const QUEUE_NAME = 'repro';

/** Our own keys, outside BullMQ's namespace so that cleaning the queue never drops a result. */
export const STORE_KEYS = {
  /** eval job id → JSON of its result (what the results file holds under the task's id). */
  results: `${PREFIX}:repro-store:results`,
  /** train job id → JSON ModelArtifact. */
  models: `${PREFIX}:repro-store:models`,
  /** run id → JSON RunRecord: what `repro --queue --status` reports on. */
  runs: `${PREFIX}:repro-store:runs`,
} as const;

/**
 * The queue of repro's jobs; errors (a lost connection, while it reconnects) go to `onError`.
 * `failFast`: commands fail after a few tries instead of waiting for Redis to come back.
 */
export function openQueue(url: string, onError: (e: Error) => void, o: { failFast?: boolean } = {}): Queue {
  const queue = new Queue(QUEUE_NAME, { connection: connectionOptions(url, o), prefix: PREFIX });
  queue.on('error', onError);
  return queue;
}

/**
 * A worker's BullMQ settings, for repro's queue and the bench queue alike: one job at a time, its
 * lock renewed at half `lockMs` while it runs; a job whose worker died under it is queued again
 * once the lock expires, and failed after its third such death (three strikes, as for errors).
 */
export function workerOptions(url: string, name: string, lockMs: number): WorkerOptions {
  return { connection: connectionOptions(url), prefix: PREFIX, name, concurrency: 1, lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: 2 };
}
