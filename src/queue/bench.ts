/**
 * The benchmark suites on the job queue (`npm run bench -- --suite attacks,cw --queue URL`): one
 * job per suite, on a queue of their own that only workers started from a clone of the repository
 * serve (an installed package has no benchmarks). A job is named by the suite, the code it measures
 * (git commit and uncommitted changes) and the settings read from the environment, so a suite is
 * never run twice for the same code and settings, and a worker whose checkout differs refuses the
 * job instead of measuring other code. The suite runs in a child process (the worker's main thread
 * keeps renewing the job's lock); its result (markdown, figures, the machine it ran on) is kept in
 * Redis for the coordinator, which writes it into bench/RESULTS.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { connectionOptions, PREFIX, workerOptions } from './connection.js';
import { DEFAULT_RETRY, type RetryPolicy } from './enqueue.js';

export const BENCH_QUEUE_NAME = 'bench';
const BENCH_RESULTS = `${PREFIX}:bench-store:results`;

/** What a suite's result depends on besides the code: the bench's own settings, from the environment. */
const SETTINGS = /^(BNN_|FUZZ_)/;

/** A suite's result as the bench runner records it. */
export interface BenchSuiteResult {
  readonly markdown: string;
  readonly data: unknown;
  readonly machine: { readonly nproc: number; readonly cpu: string; readonly node: string; readonly date: string };
  /** The worker that measured it (host:pid). */
  readonly worker: string;
}

export interface BenchJobData {
  readonly kind: 'bench';
  readonly suite: string;
  /** The code measured: `git rev-parse HEAD`, plus a hash of uncommitted changes when there are any. */
  readonly code: string;
  readonly env: Readonly<Record<string, string>>;
}

/** The repository a bench job runs in: this module's checkout (dist/src/queue → the root). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The suite runner of a checkout's compiled benchmarks, if this is a checkout. */
const SUITE_CHILD = join(ROOT, 'dist', 'bench', 'queue_job.js');

/** Whether this installation can run benchmark jobs (a built clone of the repository). */
export function benchAvailable(): boolean {
  return existsSync(SUITE_CHILD) && existsSync(join(ROOT, '.git'));
}

/** The code a checkout holds: its commit, and a hash of what differs from it (tracked files). */
export function codeIdentity(root = ROOT): string {
  const git = (args: string[]) => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20 });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${root}: ${r.stderr?.trim() || r.error?.message}`);
    return r.stdout;
  };
  const head = git(['rev-parse', 'HEAD']).trim();
  const diff = git(['diff', 'HEAD', '--', '.', ':(exclude)bench/results.json', ':(exclude)bench/RESULTS.md']);
  return diff ? `${head}+${createHash('sha256').update(diff).digest('hex').slice(0, 12)}` : head;
}

export function benchSettings(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => SETTINGS.test(e[0]) && e[1] !== undefined && !/REDIS/.test(e[0])).sort(([a], [b]) => a.localeCompare(b)));
}

export function benchJobId(job: BenchJobData): string {
  const hash = createHash('sha256').update(JSON.stringify([job.suite, job.code, job.env])).digest('hex').slice(0, 16);
  return `bench/${job.suite}/${hash}`;
}

function openBenchQueue(url: string, onError: (e: Error) => void): Queue<BenchJobData> {
  const queue = new Queue<BenchJobData>(BENCH_QUEUE_NAME, { connection: connectionOptions(url), prefix: PREFIX });
  queue.on('error', onError);
  return queue;
}

/** Suites running in their own process groups: stopped with this process (a stop-now), never left behind. */
const suiteChildren = new Set<number>();
function stopSuiteChildren(): void {
  for (const pid of suiteChildren)
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
}
process.on('exit', stopSuiteChildren);

/** Runs one suite in a child process of this checkout, with the job's settings as its environment. */
function runSuiteChild(job: BenchJobData, log: (msg: string) => void): Promise<Omit<BenchSuiteResult, 'worker'>> {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-bench-job-'));
  const out = join(dir, 'result.json');
  // Only the settings a job may carry (BNN_*, FUZZ_*): whoever can write to the queue must not set NODE_OPTIONS or PATH here.
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !SETTINGS.test(k) || /REDIS/.test(k))), ...benchSettings(job.env) };
  return new Promise((resolve, reject) => {
    // Its own process group: a Ctrl-C at the worker's terminal lets the suite finish (the worker stops after it).
    const child = spawn(process.execPath, [SUITE_CHILD, job.suite, out], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid !== undefined) suiteChildren.add(child.pid);
    let tail = '';
    const keep = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2000);
      for (const line of d.toString().split(/[\r\n]+/)) if (line.trim()) log(line.trim());
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (child.pid !== undefined) suiteChildren.delete(child.pid);
      try {
        if (code !== 0) return reject(new Error(`suite ${job.suite} exited ${code ?? signal}: ${tail.trim().split('\n').slice(-3).join(' | ')}`));
        resolve(JSON.parse(readFileSync(out, 'utf8')) as Omit<BenchSuiteResult, 'worker'>);
      } catch (e) {
        reject(e as Error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

export interface BenchWorkerConfig {
  readonly url: string;
  readonly lockMs?: number;
  readonly log: (msg: string) => void;
}

/** Serves the bench queue from this checkout (call only where `benchAvailable()`). */
export async function startBenchWorker(c: BenchWorkerConfig): Promise<{ close(force?: boolean): Promise<void> }> {
  const name = `${hostname()}:${process.pid}`;
  const code = codeIdentity();
  const lockMs = c.lockMs ?? 30_000;
  const queue = openBenchQueue(c.url, (e) => c.log(`bench queue: ${e.message}`));
  const processor = async (job: Job<BenchJobData, BenchSuiteResult>): Promise<BenchSuiteResult> => {
    const client = await queue.client;
    const stored = await client.hget(BENCH_RESULTS, job.id!);
    if (stored) return JSON.parse(stored) as BenchSuiteResult;
    if (benchJobId(job.data) !== job.id) throw new UnrecoverableError(`${job.id}: its id does not match its suite, code and settings (the job was not queued by bnn-edge)`);
    if (job.data.code !== code) throw new UnrecoverableError(`this worker's checkout holds ${code}, the job measures ${job.data.code}: check out the same code (and changes) to run it here`);
    const r = { ...(await runSuiteChild(job.data, (m) => c.log(`${job.id}: ${m}`))), worker: name };
    await client.hset(BENCH_RESULTS, { [job.id!]: JSON.stringify(r) });
    return r;
  };
  const worker = new Worker<BenchJobData, BenchSuiteResult>(BENCH_QUEUE_NAME, processor, workerOptions(c.url, name, lockMs));
  worker.on('error', (e) => c.log(`bench queue: ${e.message}`));
  worker.on('active', (job) => c.log(`took ${job.id} (suite ${job.data.suite}, try ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1})`));
  worker.on('failed', (job, e) => c.log(`${job?.id ?? 'a bench job'} failed: ${e.message}`));
  await worker.waitUntilReady();
  return {
    close: async (force = false) => {
      if (force) stopSuiteChildren();
      await worker.close(force);
      await queue.close();
    },
  };
}

export interface QueuedBenchOptions {
  readonly url: string;
  readonly suites: readonly string[];
  readonly log: (msg: string) => void;
  /** Called with each suite's result as it arrives. */
  readonly onResult: (suite: string, result: BenchSuiteResult) => void;
  readonly retry?: RetryPolicy;
  readonly pollMs?: number;
  /** The code identity the jobs name (this checkout's by default). */
  readonly code?: string;
}

/**
 * Queues one job per suite (a suite already measured for this code and these settings comes back
 * at once) and waits for them; returns the suites that failed, with why.
 */
export async function runBenchOnQueue(o: QueuedBenchOptions): Promise<{ suite: string; error: string }[]> {
  const queue = openBenchQueue(o.url, (e) => o.log(`queue: ${e.message}`));
  const retry = o.retry ?? DEFAULT_RETRY;
  try {
    const code = o.code ?? codeIdentity();
    const env = benchSettings();
    const jobs = o.suites.map((suite) => {
      const data: BenchJobData = { kind: 'bench', suite, code, env };
      return { id: benchJobId(data), data };
    });
    // A job that failed before is tried again (the cause may be gone); others are left as they are.
    for (const j of jobs) {
      const was = await queue.getJob(j.id);
      if (was && (await was.getState()) === 'failed') {
        o.log(`retrying ${j.id}, which failed before`);
        await was.retry('failed');
      }
    }
    await queue.addBulk(jobs.map(({ id, data }) => ({ name: 'bench', data, opts: { jobId: id, attempts: retry.attempts, backoff: { type: 'exponential', delay: retry.delayMs }, removeOnComplete: false, removeOnFail: false } })));
    o.log(`queued ${jobs.length} suite${jobs.length > 1 ? 's' : ''} (${jobs.map((j) => j.data.suite).join(', ')}) for code ${code.slice(0, 12)}`);
    const client = await queue.client;
    const left = new Map(jobs.map((j) => [j.id, j.data.suite]));
    const failed: { suite: string; error: string }[] = [];
    while (left.size) {
      for (const [id, suite] of [...left]) {
        const stored = await client.hget(BENCH_RESULTS, id);
        if (stored) {
          left.delete(id);
          o.onResult(suite, JSON.parse(stored) as BenchSuiteResult);
          continue;
        }
        const job = await queue.getJob(id);
        if (job && (await job.getState()) === 'failed') {
          left.delete(id);
          // Read again: the job was fetched before it failed, so its failedReason may not be in that copy.
          const reason = (await queue.getJob(id))?.failedReason;
          failed.push({ suite, error: reason || 'failed (the queue recorded no reason)' });
        }
      }
      if (left.size) await new Promise((r) => setTimeout(r, o.pollMs ?? 2000));
    }
    return failed;
  } finally {
    await queue.close();
  }
}
