/**
 * BnnPool: one BnnRuntime per worker thread, a batch split across them (Node only). WebAssembly
 * here is single-threaded, so this is how a multi-core device uses every core.
 *
 * It behaves like one BnnRuntime: the model and the options are checked here first (a corrupt
 * file is a BnnFormatError from create, a bad option a BnnConfigError), the images too (type,
 * count, length), and an error raised in a worker comes back as the same class with the same code
 * and, for a pixel, its position in the caller's batch. After close() every call rejects at once,
 * and calls still running when it closes reject rather than hang.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { parseBnn } from '../format/read.js';
import { plainBytes } from '../format/views.js';
import { BnnConfigError, BnnInputError, BnnRuntimeError } from './errors.js';
import { checkOptions, type RuntimeOptions } from './options.js';
import { reviveError, type SerializedError } from './pool_errors.js';
import { checkImages, pixelError, type ImageBatch } from './runtime.js';

export interface PoolOptions extends RuntimeOptions {
  /** Worker threads (1–256; default: one per core). */
  readonly workers?: number;
}

type Reply = { id: number; ok: true; labels?: Int32Array; logits?: Float32Array } | { id: number; ok: false; error: SerializedError };

class PoolWorker {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;
  /** Why this worker can take no more requests (it exited), once it cannot. */
  private dead: Error | null = null;

  constructor(readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      worker.once('message', (m: { ready?: boolean; error?: SerializedError }) => (m.ready ? resolve() : reject(reviveError(m.error ?? { name: 'Error', message: 'worker failed to start' }))));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new BnnRuntimeError('worker', new Error(`worker exited with code ${code} while loading the model`))));
    });
    // The ready promise may be abandoned (create rejects on the first failure): never unhandled.
    this.ready.catch(() => {});
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve(m);
    });
    worker.on('error', (e) => this.fail(new BnnRuntimeError('worker', e)));
    worker.on('exit', (code) => this.fail(new BnnRuntimeError('worker', new Error(`worker exited with code ${code}`))));
  }

  /** Rejects every pending request (and all later ones) with `e`. */
  fail(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  request(kind: 'predict' | 'logits', images: ImageBatch, n: number): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The part is a copy of its own: transfer it instead of cloning it again.
      this.worker.postMessage({ id, kind, images, n }, [images.buffer as ArrayBuffer]);
    });
  }
}

export class BnnPool {
  private closed = false;

  private constructor(
    private readonly workers: PoolWorker[],
    /** Logits per image. */
    readonly classes: number,
    private readonly input: readonly [number, number, number],
  ) {}

  /** Starts `workers` threads, each loading the model (checked here first: a bad file is a BnnFormatError). */
  static async create(bytes: Uint8Array | ArrayBuffer, opts: PoolOptions = {}): Promise<BnnPool> {
    const runtimeOptions = checkOptions(opts);
    const count = (opts as { workers?: unknown }).workers ?? availableParallelism();
    if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 256) throw new BnnConfigError('BAD_OPTION', `workers must be an integer in 1..256, got ${String(count)}`);
    // Copied first, then checked: the workers read exactly the bytes checked, even if the caller's
    // (a SharedArrayBuffer's) change meanwhile. Input that is not bytes fails in parseBnn.
    const copy = plainBytes(bytes)?.bytes.slice();
    const { graph } = parseBnn(copy ?? bytes);
    const own = copy!;
    const ws = Array.from({ length: count as number }, () => new PoolWorker(new Worker(new URL('./pool_worker.js', import.meta.url), { workerData: { bytes: own, options: runtimeOptions } })));
    try {
      await Promise.all(ws.map((w) => w.ready));
    } catch (e) {
      await Promise.all(ws.map((w) => w.worker.terminate()));
      throw e;
    }
    return new BnnPool(ws, graph.classes, graph.input);
  }

  get size(): number {
    return this.workers.length;
  }

  private async split<T extends Int32Array | Float32Array>(kind: 'predict' | 'logits', images: ImageBatch, n: number, per: number): Promise<T> {
    if (this.closed) throw new BnnInputError('DISPOSED', 'this pool was closed');
    const view = checkImages(images, n, this.input);
    const px = view.length / n;
    const parts = Math.min(this.workers.length, n);
    const size = Math.ceil(n / parts);
    const bounds = Array.from({ length: parts }, (_, i) => [i * size, Math.min(n, (i + 1) * size)] as const).filter(([lo, hi]) => hi > lo);
    const replies = await Promise.all(bounds.map(([lo, hi], i) => this.workers[i]!.request(kind, view.slice(lo * px, hi * px), hi - lo)));
    const out = (kind === 'predict' ? new Int32Array(n) : new Float32Array(n * per)) as T;
    replies.forEach((r, i) => {
      const lo = bounds[i]![0];
      if (!r.ok) {
        const e = r.error;
        // A pixel's position in the worker's part, made a position in the caller's batch.
        if (e.name === 'BnnInputError' && e.index !== undefined && e.value !== undefined) throw pixelError(lo * px + e.index, px, e.value);
        throw reviveError(e);
      }
      out.set((kind === 'predict' ? r.labels! : r.logits!) as T, lo * per);
    });
    return out;
  }

  predict(images: ImageBatch, n: number): Promise<Int32Array> {
    return this.split<Int32Array>('predict', images, n, 1);
  }

  logits(images: ImageBatch, n: number): Promise<Float32Array> {
    return this.split<Float32Array>('logits', images, n, this.classes);
  }

  /** Stops the workers; calls running now reject, later calls reject at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closedError = new BnnInputError('DISPOSED', 'the pool was closed before this call finished');
    for (const w of this.workers) w.fail(closedError);
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
