/**
 * The attack pool: attacks take seconds of CPU (PGD with EOT on a stochastic model took 21.8 s),
 * so they run in worker threads, never on the event loop that answers every other request. The
 * queue is bounded (503 QUEUE_FULL beyond it), one client may hold only a few places (429
 * CLIENT_BUSY), and each attack has a time limit: past it the worker is terminated — the only way
 * to stop synchronous tfjs work — the client gets ATTACK_TIMEOUT and a fresh worker is started on
 * demand. A client that disconnects gives its place up (a running attack is stopped the same way).
 */
import { Worker } from 'node:worker_threads';
import type { AttackRequest, AttackResult, JobMessage, WorkerInit, WorkerMessage } from './attack_protocol.js';
import { AttackTimeoutError, QueueFullError, ServeError } from './errors.js';

export interface AttackPoolOptions {
  /** Worker threads (each with its own tfjs). */
  readonly workers: number;
  /** Attacks that may wait for a worker; more are refused at once. */
  readonly queue: number;
  /** Attacks one client (remote address) may have queued or running. */
  readonly perClient: number;
  /** Running time allowed per attack, in milliseconds. */
  readonly timeoutMs: number;
  /** Heap limit per worker (V8 old generation, MiB): a runaway attack dies alone. */
  readonly workerHeapMb: number;
  readonly init: WorkerInit;
}

interface Job {
  readonly id: number;
  readonly request: AttackRequest;
  readonly client: string;
  readonly resolve: (r: AttackResult) => void;
  readonly reject: (e: Error) => void;
  settled: boolean;
}

/** One worker thread, started on demand and replaced after a timeout or a crash. */
class Slot {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  job: Job | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: AttackPoolOptions,
    private readonly onIdle: () => void,
  ) {}

  private start(): Promise<void> {
    const worker = new Worker(new URL('./attack_worker.js', import.meta.url), {
      workerData: this.opts.init,
      resourceLimits: { maxOldGenerationSizeMb: this.opts.workerHeapMb },
    });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        if (m.kind === 'ready') resolve();
        else if (m.kind === 'init-failed') reject(new ServeError(500, 'ATTACK_FAILED', `the attack worker could not start: ${m.message}`));
        else if (this.job?.id === m.id) this.finish(m.kind === 'done' ? { adversarial: m.adversarial, l2: m.l2, ...(m.verify ? { verify: m.verify } : {}) } : new ServeError(m.status, m.code, m.message));
      });
      const died = (why: string) => {
        if (this.worker !== worker) return;
        this.worker = null;
        this.ready = null;
        const e = new ServeError(500, 'ATTACK_FAILED', `the attack worker stopped: ${why}`);
        reject(e);
        if (this.job) this.finish(e);
      };
      worker.on('error', (e) => died(e.message));
      worker.on('exit', (code) => died(`exit code ${code}`));
    });
    return this.ready;
  }

  /** Runs a job; the slot calls onIdle when it can take the next. */
  run(job: Job): void {
    this.job = job;
    (this.ready ?? this.start()).then(
      () => {
        if (this.job !== job || !this.worker) return;
        // The clock starts when the worker has the job: tfjs start-up is not the attack's time.
        this.timer = setTimeout(() => this.stop(new AttackTimeoutError(this.opts.timeoutMs)), this.opts.timeoutMs);
        const pixels = Float32Array.from(job.request.pixels);
        const m: JobMessage = { id: job.id, model: job.request.model, pixels, label: job.request.label, attack: job.request.attack, eps: job.request.eps };
        this.worker.postMessage(m, [pixels.buffer]);
      },
      (e: Error) => {
        if (this.job === job) this.finish(e);
      },
    );
  }

  /** Ends the running job with an error and terminates its worker (it may be mid-computation). */
  stop(e: Error): void {
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    void w?.terminate();
    this.finish(e);
  }

  private finish(outcome: AttackResult | Error): void {
    clearTimeout(this.timer);
    const job = this.job;
    this.job = null;
    if (job && !job.settled) {
      job.settled = true;
      if (outcome instanceof Error) job.reject(outcome);
      else job.resolve(outcome);
    }
    this.onIdle();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    if (this.job) this.finish(new ServeError(503, 'SHUTTING_DOWN', 'the server is shutting down'));
    await w?.terminate();
  }
}

export interface PoolStats {
  readonly running: number;
  readonly queued: number;
}

export class AttackPool {
  private readonly slots: Slot[];
  private readonly waiting: Job[] = [];
  private readonly perClient = new Map<string, number>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: AttackPoolOptions) {
    this.slots = Array.from({ length: opts.workers }, () => new Slot(opts, () => this.pump()));
  }

  stats(): PoolStats {
    return { running: this.slots.filter((s) => s.job !== null).length, queued: this.waiting.length };
  }

  /**
   * Runs an attack for `client`. Refuses at once when the queue or the client's share is full;
   * `signal` (the client went away) drops a waiting job or stops a running one.
   */
  run(request: AttackRequest, client: string, signal?: AbortSignal): Promise<AttackResult> {
    if (this.closed) return Promise.reject(new ServeError(503, 'SHUTTING_DOWN', 'the server is shutting down'));
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.opts.perClient) return Promise.reject(new ServeError(429, 'CLIENT_BUSY', `${mine} of your attacks are already queued or running (at most ${this.opts.perClient})`));
    const idle = this.slots.some((s) => s.job === null);
    if (!idle && this.waiting.length >= this.opts.queue) return Promise.reject(new QueueFullError(this.waiting.length));
    this.perClient.set(client, mine + 1);
    return new Promise<AttackResult>((resolve, reject) => {
      const done = () => {
        const left = (this.perClient.get(client) ?? 1) - 1;
        if (left > 0) this.perClient.set(client, left);
        else this.perClient.delete(client);
        signal?.removeEventListener('abort', abort);
      };
      const job: Job = {
        id: this.nextId++,
        request,
        client,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
        settled: false,
      };
      const abort = () => this.cancel(job);
      signal?.addEventListener('abort', abort, { once: true });
      this.waiting.push(job);
      this.pump();
    });
  }

  private cancel(job: Job): void {
    const e = new ServeError(499, 'ATTACK_FAILED', 'the client went away');
    const i = this.waiting.indexOf(job);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      job.settled = true;
      job.reject(e);
      return;
    }
    this.slots.find((s) => s.job === job)?.stop(e);
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job !== null) continue;
      const job = this.waiting.shift();
      if (!job) return;
      slot.run(job);
    }
  }

  /** Refuses what waits and terminates every worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) {
      job.settled = true;
      job.reject(new ServeError(503, 'SHUTTING_DOWN', 'the server is shutting down'));
    }
    await Promise.all(this.slots.map((s) => s.close()));
  }
}
