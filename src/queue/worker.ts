/**
 * `bnn-edge worker`: takes repro's jobs from the queue one at a time and runs them with repro's
 * own code (in a thread, job_thread.ts). A training job leaves its checkpoint and .bnn in the
 * shared directory and its record in Redis, then queues the evaluations waiting for its model; an
 * evaluation leaves its report in Redis. A job already done (its result stored) returns at once.
 *
 * Faults are BullMQ's: a worker that dies holding a job stops renewing the job's lock, and once the
 * lock expires another worker's stalled-job check queues it again (training continues from the
 * checkpoint its last finished epoch saved); a job that throws is retried with a growing delay and
 * reported failed after its third try.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { openQueue, QUEUE_NAME, safeUrl, workerOptions } from './connection.js';
import { addJobs, retryOf } from './enqueue.js';
import type { EvalJobData, JobData, TrainJobData } from './jobs.js';
import { JobRunner, JobThreadError, type RunHooks } from './runner.js';
import { Store, type JobOutcome } from './store.js';
import { benchAvailable, startBenchWorker } from './bench.js';

export interface WorkerConfig {
  readonly url: string;
  /** This machine's path to the shared directory; by default the path the coordinator gave. */
  readonly dir?: string;
  /**
   * How long a job's lock lasts without renewal (renewed at half this by a live worker): a job
   * of a killed worker is taken up again within about twice this. Default 30 s.
   */
  readonly lockMs?: number;
  /** Serve the benchmark suites' queue too, where this is a built clone of the repository (default true). */
  readonly bench?: boolean;
  readonly log: (msg: string) => void;
}

export interface ReproWorker {
  /** The name it has in the queue (host:pid), which --status lists. */
  readonly name: string;
  /** Stops taking jobs; waits for the one under way unless `force`. */
  close(force?: boolean): Promise<void>;
}

/** Progress is written to the job at most this often (it is a Redis write). */
const PROGRESS_EVERY_MS = 1000;

export async function startWorker(c: WorkerConfig): Promise<ReproWorker> {
  const name = `${hostname()}:${process.pid}`;
  const errors = errorLog(c.log);
  const queue = openQueue(c.url, errors);
  const store = new Store(queue);
  const runner = new JobRunner();
  const lockMs = c.lockMs ?? 30_000;

  const hooks = (job: Job<JobData, JobOutcome>): RunHooks => {
    let last = 0;
    return {
      log: (msg) => c.log(`${job.id}: ${msg}`),
      progress: (task, done, total) => {
        const now = Date.now();
        if (now - last < PROGRESS_EVERY_MS && done < total) return;
        last = now;
        job.updateProgress({ task, done, total }).catch(errors);
      },
    };
  };

  const trainJob = async (job: Job<JobData, JobOutcome>, data: TrainJobData): Promise<boolean> => {
    const id = job.id!;
    let cached = true;
    if (!(await store.models([id])).has(id)) {
      const r = await runner.run({ job: data, dir: c.dir ?? data.dir }, hooks(job));
      if (r.kind !== 'train') throw new Error(`${id}: the thread returned a ${r.kind} result`);
      await store.putModel(id, r.artifact);
      cached = false;
    }
    // The evaluations waiting for this model, but for those already measured. Queued after the
    // model's record is stored: a worker that dies between the two leaves this job to be retried,
    // which finds the model and queues them then. Read again: another run may have added some.
    const evals = ((await queue.getJob(id))?.data as TrainJobData | undefined)?.evals ?? data.evals;
    const done = await store.results(evals.map((e) => e.id));
    await addJobs(queue, evals.filter((e) => !done.has(e.id)), retryOf(job.opts));
    return cached;
  };

  const evalJob = async (job: Job<JobData, JobOutcome>, data: EvalJobData): Promise<boolean> => {
    const id = job.id!;
    if ((await store.results([id])).has(id)) return true;
    const model = (await store.models([data.modelJob])).get(data.modelJob);
    if (!model) throw new Error(`${id}: its model's training job ${data.modelJob} has stored no model`);
    const r = await runner.run({ job: data, dir: c.dir ?? data.dir, modelSha256: model.sha256 }, hooks(job));
    if (r.kind !== 'eval') throw new Error(`${id}: the thread returned a ${r.kind} result`);
    await store.putResult(id, r.result);
    return false;
  };

  const processor = async (job: Job<JobData, JobOutcome>): Promise<JobOutcome> => {
    const t0 = performance.now();
    try {
      const cached = job.data.kind === 'train' ? await trainJob(job, job.data) : await evalJob(job, job.data);
      return { seconds: (performance.now() - t0) / 1000, cached, worker: name };
    } catch (e) {
      // Another run's model in the cache: the same on every try, so no retry.
      if (e instanceof JobThreadError && e.unrecoverable) throw new UnrecoverableError(e.message);
      throw e;
    }
  };

  const worker = new Worker<JobData, JobOutcome>(QUEUE_NAME, processor, workerOptions(c.url, name, lockMs));
  worker.on('error', errors);
  worker.on('active', (job) => c.log(`took ${job.id} (try ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1})`));
  worker.on('completed', (job, r) => c.log(`${job.id} ${r.cached ? 'was already done' : `done in ${r.seconds.toFixed(1)} s`}`));
  worker.on('failed', (job, e) => c.log(`${job?.id ?? 'a job'} failed (try ${job?.attemptsMade ?? '?'} of ${job?.opts.attempts ?? '?'}): ${e.message}`));
  worker.on('stalled', (id) => c.log(`${id}: its worker stopped renewing its lock (killed?): queued again`));
  await worker.waitUntilReady();
  // From a clone of the repository, the benchmark suites' jobs too (`npm run bench -- --queue URL`).
  let bench: Awaited<ReturnType<typeof startBenchWorker>> | null = null;
  try {
    if (c.bench !== false && benchAvailable()) bench = await startBenchWorker({ url: c.url, lockMs, log: c.log });
  } catch (e) {
    // Not half a worker: the repro worker would go on taking jobs with nobody to stop it.
    await worker.close();
    await runner.close();
    await queue.close();
    throw e;
  }
  c.log(`worker ${name} waiting for jobs on ${safeUrl(c.url)}${bench ? ' (repro and bench)' : ''}`);

  return {
    name,
    close: async (force = false) => {
      // Both at once: neither takes a new job while the other finishes its own.
      await Promise.all([bench?.close(force), worker.close(force)]);
      await runner.close();
      await queue.close();
    },
  };
}

/** Logs connection errors once per kind while they repeat (a Redis restart raises one per retry). */
function errorLog(log: (msg: string) => void): (e: Error) => void {
  let last = '';
  return (e) => {
    const msg = e.message;
    if (msg === last) return;
    last = msg;
    log(`queue: ${msg}${/ECONNREFUSED|ECONNRESET|Connection is closed/.test(msg) ? ' (reconnecting)' : ''}`);
  };
}
