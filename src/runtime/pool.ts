/**
 * BnnPool: one BnnRuntime per worker thread, a batch split across them (Node only). WebAssembly
 * here is single-threaded, so this is how a multi-core device uses every core.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { parseBnn } from '../format/read.js';
import type { ImageBatch, RuntimeOptions } from './runtime.js';

export interface PoolOptions extends RuntimeOptions {
  /** Worker threads (default: one per core). */
  readonly workers?: number;
}

type Reply = { id: number; ok: true; labels?: Int32Array; logits?: Float32Array } | { id: number; ok: false; error: string; name: string };

class PoolWorker {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;
  constructor(readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      worker.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(m.error ?? 'worker failed to start'))));
      worker.once('error', reject);
    });
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve(m);
    });
    worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }
  request(kind: 'predict' | 'logits', images: ImageBatch, n: number): Promise<Reply> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, kind, images, n });
    });
  }
}

export class BnnPool {
  private constructor(
    private readonly workers: PoolWorker[],
    /** Logits per image. */
    readonly classes: number,
  ) {}

  /** Starts `workers` threads, each loading the model (checked here first: a bad file is a BnnFormatError). */
  static async create(bytes: Uint8Array, opts: PoolOptions = {}): Promise<BnnPool> {
    const { classes } = parseBnn(bytes).graph;
    const count = opts.workers ?? availableParallelism();
    if (!Number.isInteger(count) || count < 1 || count > 256) throw new RangeError(`workers must be an integer in 1..256, got ${count}`);
    const { workers: _unused, ...runtimeOptions } = opts;
    const ws = Array.from({ length: count }, () => new PoolWorker(new Worker(new URL('./pool_worker.js', import.meta.url), { workerData: { bytes, options: runtimeOptions } })));
    try {
      await Promise.all(ws.map((w) => w.ready));
    } catch (e) {
      await Promise.all(ws.map((w) => w.worker.terminate()));
      throw e;
    }
    return new BnnPool(ws, classes);
  }

  get size(): number {
    return this.workers.length;
  }

  private async split<T extends Int32Array | Float32Array>(kind: 'predict' | 'logits', images: ImageBatch, n: number, per: number): Promise<T> {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`image count must be a positive integer, got ${n}`);
    const px = images.length / n;
    const parts = Math.min(this.workers.length, n);
    const size = Math.ceil(n / parts);
    const replies = await Promise.all(
      Array.from({ length: parts }, (_, i) => {
        const lo = i * size;
        const hi = Math.min(n, lo + size);
        return this.workers[i]!.request(kind, images.subarray(lo * px, hi * px), hi - lo);
      }),
    );
    const out = (kind === 'predict' ? new Int32Array(n) : new Float32Array(n * per)) as T;
    replies.forEach((r, i) => {
      if (!r.ok) {
        const e = new Error(r.error);
        e.name = r.name;
        throw e;
      }
      out.set((kind === 'predict' ? r.labels! : r.logits!) as T, i * size * per);
    });
    return out;
  }

  predict(images: ImageBatch, n: number): Promise<Int32Array> {
    return this.split<Int32Array>('predict', images, n, 1);
  }

  logits(images: ImageBatch, n: number): Promise<Float32Array> {
    return this.split<Float32Array>('logits', images, n, this.classes);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
