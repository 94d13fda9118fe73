/**
 * The small repro plan run on a local cluster (N worker processes, a coordinator process, a
 * private Redis), with or without faults, and the same plan run locally: what the cluster test
 * asserts on and what the queue bench suite measures.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, firstLine, SMALL_PLAN, spawnWorker, startRedis, waitExit, watchProcess, type WorkerProcess } from './queue_cluster.js';

export interface FaultOutcome {
  /** The model whose training was under way when its worker was killed, and the job. */
  readonly model: string;
  readonly jobId: string;
  /** The surviving worker's log line saying it continued from the saved epoch. */
  readonly resumeLine: string;
  /** That worker finished the job. */
  readonly finishedByResumer: boolean;
  /** Seconds from the SIGKILL to another worker taking the job up. */
  readonly takenUpAfter: number;
  /** Redis was restarted (a new pid), the workers logged its absence, and finished jobs after it. */
  readonly redisRestarted: boolean;
  readonly workersSawRedisGo: boolean;
  readonly jobsDoneAfterRestart: number;
}

export interface ClusterOutcome {
  /** The coordinator's wall time, workers already waiting. */
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly stdout: string;
  /** Where R.md, its .json and SVGs were written. */
  readonly out: string;
  /** `repro --queue … --status --json` after the run. */
  readonly status: { runs: { evals: { done: number; failed: number }; models: { done: number } }[] };
  readonly fault: FaultOutcome | null;
  /** The seconds the workers' jobs took, summed (what each logged on finishing one). */
  readonly jobSeconds: number;
  /** Every worker's log. */
  readonly logs: readonly (readonly string[])[];
}

/** The first training seen between its epochs (checkpoint saved after epoch 1 of 2): its model's name. */
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

const escaped = (s: string) => s.replace(/[+/.]/g, '\\$&');

/** Kills the worker of the first training seen mid-way, waits for another to take it up, and restarts Redis. */
async function injectFaults(workers: WorkerProcess[], shared: string, redis: Awaited<ReturnType<typeof startRedis>>): Promise<{ fault: Omit<FaultOutcome, 'finishedByResumer' | 'workersSawRedisGo' | 'jobsDoneAfterRestart'>; survivors: WorkerProcess[]; resumer: WorkerProcess; linesAtRestart: number[] }> {
  const model = await trainingMidway(shared, 300_000);
  const victim = workers.find((w) => w.lines.some((l) => l.includes(`took train/${model}/`)));
  if (!victim) throw new Error(`no worker logged taking ${model}'s training`);
  const jobId = /took (train\/\S+)/.exec(victim.lines.find((l) => l.includes(`took train/${model}/`))!)![1]!;
  if (victim.lines.some((l) => l.includes(`${jobId} done`))) throw new Error(`${jobId} finished before its worker could be killed`);
  victim.proc.kill('SIGKILL');
  const killedAt = Date.now();
  await waitExit(victim.proc);
  const survivors = workers.filter((w) => w !== victim);
  const taken = await firstLine(survivors, new RegExp(`^\\[worker\\] took ${escaped(jobId)} `), 120_000);
  const takenUpAfter = (Date.now() - killedAt) / 1000;
  const resumed = await firstLine(survivors, new RegExp(`${escaped(jobId)}: resuming ${escaped(model)}: its cached training stopped after 1 of 2 epochs`), 120_000);
  // Down for a second while that training and the evaluations after it are still to do.
  const pid = redis.pid();
  const linesAtRestart = survivors.map((w) => w.lines.length);
  await redis.restart(1000);
  return { fault: { model, jobId, resumeLine: resumed.line, takenUpAfter, redisRestarted: redis.pid() !== pid }, survivors, resumer: taken.proc, linesAtRestart };
}

/** The small plan on `n` worker processes (with a SIGKILL and a Redis restart if `faults`), in `root`. */
export async function clusterRun(root: string, n: number, faults: boolean): Promise<ClusterOutcome> {
  mkdirSync(root, { recursive: true });
  const redis = await startRedis();
  const workers: WorkerProcess[] = [];
  try {
    for (let i = 0; i < n; i++) workers.push(spawnWorker(redis.url, { cwd: root, lockSeconds: 4, name: `worker${i + 1}` }));
    await Promise.all(workers.map((w) => w.waitFor(/waiting for jobs/)));
    const out = join(root, 'queued');
    mkdirSync(out, { recursive: true });
    const t0 = performance.now();
    const coordinator = watchProcess(spawn(process.execPath, [CLI, 'repro', '--queue', redis.url, ...SMALL_PLAN, '--dir', join(root, 'shared'), '--out', 'R.md'], { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] }), 'coordinator');
    let stdout = '';
    coordinator.proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const injected = faults ? await injectFaults(workers, join(root, 'shared'), redis) : null;
    const exitCode = await waitExit(coordinator.proc);
    const seconds = (performance.now() - t0) / 1000;
    let fault: FaultOutcome | null = null;
    if (injected) {
      const { survivors, resumer, linesAtRestart } = injected;
      fault = {
        ...injected.fault,
        finishedByResumer: resumer.lines.some((l) => l.startsWith(`[worker] ${injected.fault.jobId} done`)),
        workersSawRedisGo: survivors.some((w) => w.lines.some((l) => /queue: .*ECONNREFUSED/.test(l))),
        jobsDoneAfterRestart: survivors.reduce((a, w, i) => a + w.lines.slice(linesAtRestart[i]).filter((l) => / done in /.test(l)).length, 0),
      };
    }
    const statusProc = spawn(process.execPath, [CLI, 'repro', '--queue', redis.url, '--status', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let json = '';
    statusProc.stdout!.on('data', (d: Buffer) => (json += d.toString()));
    await waitExit(statusProc);
    const jobSeconds = workers.flatMap((w) => w.lines).reduce((a, l) => a + Number(/ done in ([\d.]+) s$/.exec(l)?.[1] ?? 0), 0);
    return { seconds, exitCode, stdout, out, status: JSON.parse(json) as ClusterOutcome['status'], fault, jobSeconds, logs: workers.map((w) => w.lines) };
  } finally {
    await Promise.all(workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null).map((w) => w.stop()));
    await redis.stop();
  }
}

/** The same plan in one local process, with no Redis: its wall time and where it wrote. */
export async function localRun(root: string): Promise<{ seconds: number; exitCode: number | null; out: string; log: readonly string[] }> {
  const out = join(root, 'local');
  mkdirSync(out, { recursive: true });
  const t0 = performance.now();
  const p = watchProcess(spawn(process.execPath, [CLI, 'repro', ...SMALL_PLAN, '--dir', join(root, 'local-cache'), '--out', 'R.md'], { cwd: out, stdio: ['ignore', 'ignore', 'pipe'] }), 'local');
  const exitCode = await waitExit(p.proc);
  return { seconds: (performance.now() - t0) / 1000, exitCode, out, log: p.lines };
}
