/**
 * Runs gradient shards on worker threads (one tfjs-wasm instance each) or in this thread.
 * tfjs-backend-wasm is single-threaded in Node, so data parallelism over worker_threads is how
 * training uses every core.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ShardTrainer, type MomentsRequest, type PredictRequest, type ShardModel, type StepRequest, type StepResult } from './shard.js';

export interface ShardRunner {
  readonly workers: number;
  step(reqs: StepRequest[]): Promise<StepResult[]>;
  predict(reqs: PredictRequest[]): Promise<Int32Array[]>;
  moments(reqs: MomentsRequest[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Shards run one after another in this thread. */
export class InProcessRunner implements ShardRunner {
  readonly workers = 0;
  private constructor(private readonly trainer: ShardTrainer) {}
  static async create(model: ShardModel): Promise<InProcessRunner> {
    return new InProcessRunner(await ShardTrainer.create(model));
  }
  async step(reqs: StepRequest[]): Promise<StepResult[]> {
    return reqs.map((r) => this.trainer.step(r));
  }
  async predict(reqs: PredictRequest[]): Promise<Int32Array[]> {
    return reqs.map((r) => this.trainer.predict(r));
  }
  async moments(reqs: MomentsRequest[]): Promise<Float32Array[]> {
    return reqs.map((r) => this.trainer.moments(r));
  }
  async close(): Promise<void> {
    this.trainer.dispose();
  }
}

type Kind = 'step' | 'predict' | 'moments';
type Request = StepRequest | PredictRequest | MomentsRequest;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

class WorkerHandle {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  /** Why the thread is gone (it died between calls): later calls fail with it instead of waiting for ever. */
  private dead: Error | null = null;
  readonly worker: Worker;

  constructor(model: ShardModel) {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: model });
    this.worker.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`training worker failed: ${msg.error}`));
    });
    this.worker.on('error', (e) => {
      this.dead ??= e;
      this.failAll(e);
    });
    this.worker.on('exit', (code) => {
      this.dead ??= new Error(`training worker exited with code ${code}`);
      this.failAll(this.dead);
    });
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  call<T>(kind: Kind, req: Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, kind, req });
    });
  }
}

/** Shard i runs on worker i mod W; each worker takes its shards in order. */
export class ThreadRunner implements ShardRunner {
  private readonly handles: WorkerHandle[];
  constructor(
    model: ShardModel,
    readonly workers: number,
  ) {
    this.handles = Array.from({ length: workers }, () => new WorkerHandle(model));
  }
  private async map<R>(kind: Kind, reqs: Request[]): Promise<R[]> {
    const queues = this.handles.map((h, w) =>
      (async () => {
        const out: [number, R][] = [];
        for (let i = w; i < reqs.length; i += this.handles.length) out.push([i, await h.call<R>(kind, reqs[i]!)]);
        return out;
      })(),
    );
    const results = new Array<R>(reqs.length);
    for (const q of await Promise.all(queues)) for (const [i, r] of q) results[i] = r;
    return results;
  }
  step(reqs: StepRequest[]): Promise<StepResult[]> {
    return this.map<StepResult>('step', reqs);
  }
  predict(reqs: PredictRequest[]): Promise<Int32Array[]> {
    return this.map<Int32Array>('predict', reqs);
  }
  moments(reqs: MomentsRequest[]): Promise<Float32Array[]> {
    return this.map<Float32Array>('moments', reqs);
  }
  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}

/** Default worker count: every core, at most `shards`. */
export function defaultWorkers(shards: number): number {
  return Math.max(1, Math.min(shards, availableParallelism()));
}

export async function createRunner(model: ShardModel, workers: number): Promise<ShardRunner> {
  return workers <= 0 ? InProcessRunner.create(model) : new ThreadRunner(model, workers);
}
