/** The worker's side of job_thread.ts: one job at a time in a thread, started again if it dies. */
import { Worker } from 'node:worker_threads';
import type { ThreadMessage, ThreadRequest, ThreadResult } from './job_thread.js';

export interface RunHooks {
  readonly log: (msg: string) => void;
  readonly progress: (task: string, done: number, total: number) => void;
}

/** A job's error from the thread, with whether retrying can help. */
export class JobThreadError extends Error {
  override name = 'JobThreadError';
  constructor(
    message: string,
    readonly unrecoverable: boolean,
    threadStack: string,
  ) {
    super(message);
    this.stack = threadStack;
  }
}

export class JobRunner {
  private thread: Worker | null = null;
  private seq = 0;
  private current: { seq: number; hooks: RunHooks; resolve: (r: ThreadResult) => void; reject: (e: Error) => void } | null = null;

  run(req: Omit<ThreadRequest, 'seq'>, hooks: RunHooks): Promise<ThreadResult> {
    if (this.current) return Promise.reject(new Error('JobRunner runs one job at a time'));
    const thread = this.ensureThread();
    const seq = ++this.seq;
    return new Promise<ThreadResult>((resolve, reject) => {
      this.current = { seq, hooks, resolve, reject };
      thread.postMessage({ ...req, seq } satisfies ThreadRequest);
    });
  }

  private ensureThread(): Worker {
    if (this.thread) return this.thread;
    const thread = new Worker(new URL('./job_thread.js', import.meta.url));
    thread.on('message', (m: ThreadMessage) => this.onMessage(m));
    // A thread that crashed (out of memory, say) fails its job, which is retried; the next job gets a new thread.
    const lost = (e: Error) => {
      if (this.thread === thread) this.thread = null;
      this.finish(null, e);
    };
    thread.on('error', lost);
    thread.on('exit', (code) => lost(new Error(`the job's thread exited (code ${code})`)));
    this.thread = thread;
    return thread;
  }

  private onMessage(m: ThreadMessage): void {
    const c = this.current;
    if (!c || c.seq !== m.seq) return;
    if (m.type === 'log') c.hooks.log(m.msg);
    else if (m.type === 'progress') c.hooks.progress(m.task, m.done, m.total);
    else if (m.type === 'done') this.finish(m.result, null);
    else this.finish(null, new JobThreadError(m.message, m.unrecoverable, m.stack));
  }

  private finish(result: ThreadResult | null, error: Error | null): void {
    const c = this.current;
    if (!c) return;
    this.current = null;
    if (error) c.reject(error);
    else c.resolve(result!);
  }

  async close(): Promise<void> {
    const t = this.thread;
    this.thread = null;
    if (t) await t.terminate();
  }
}
