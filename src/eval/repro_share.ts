/**
 * What lets several `bnn-edge repro` processes share one checkpoint cache and one results file.
 * Training runs on at most 2 threads (its 2 batch shards), so a machine with more cores can share
 * the plan among several runs of the same command; on 2 cores a second run only competes (measured
 * on a 2-core AMD EPYC, 2026-12-02: two K = 256 trainings at once took ~10 min per epoch each, one
 * alone 4.5 min).
 *
 * Each run claims a model before training or attacking it (a claim file holding its pid, so a claim
 * left by a killed run is taken over), and merges the results file on disk into its own before
 * writing it, under a lock: no run redoes or drops what another measured, even when a second run
 * was started by mistake.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

interface Holder {
  readonly pid: number;
  /** Tells apart two holders in one process (two Repro objects in a test). */
  readonly token: string;
}

/** Whether the process holding a claim or lock is still running (on this machine). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function parseHolder(text: string | null): Holder | null {
  try {
    const h = JSON.parse(text ?? '') as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.token === 'string' ? { pid: h.pid, token: h.token } : null;
  } catch {
    return null;
  }
}

/** A file only one live holder can own at a time; a dead holder's file is taken over. */
export class Claim {
  private readonly me: Holder = { pid: process.pid, token: randomBytes(8).toString('hex') };

  constructor(readonly path: string) {}

  /** Whether a live process other than this holder owns the file. */
  heldByOther(): boolean {
    const h = parseHolder(readText(this.path));
    return h !== null && h.token !== this.me.token && alive(h.pid);
  }

  /** Takes the file if free or stale; false if another live holder has it. */
  acquire(): boolean {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.create()) return true;
      const seen = readText(this.path);
      if (seen === null) continue; // released in between: try again
      const h = parseHolder(seen);
      if (h?.token === this.me.token) return true;
      if (h !== null && alive(h.pid)) return false;
      // Stale: its holder died (or the file is not a claim). Move it aside, then check that what
      // was moved is the file judged stale, not a claim another run made in between.
      const aside = `${this.path}.stale-${this.me.token}`;
      try {
        renameSync(this.path, aside);
      } catch {
        continue; // another run moved it first
      }
      const moved = readText(aside);
      if (moved !== seen) {
        // A live claim: put it back (unless yet another claim took its place) and yield.
        try {
          linkSync(aside, this.path);
        } catch {
          // The newer claim stands.
        }
        rmSync(aside, { force: true });
        return false;
      }
      rmSync(aside, { force: true });
    }
    return false;
  }

  /**
   * Creates the file holding this holder, complete, or returns false if it exists. Written aside
   * and hard-linked into place: `link` fails if the name exists, and no reader ever sees a
   * half-written claim (which it would have to judge stale).
   */
  private create(): boolean {
    const tmp = `${this.path}.new-${this.me.token}`;
    writeFileSync(tmp, JSON.stringify(this.me));
    try {
      linkSync(tmp, this.path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  release(): void {
    if (parseHolder(readText(this.path))?.token === this.me.token) rmSync(this.path, { force: true });
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Runs `fn` holding the lock file `path` (held for milliseconds: a read, a merge, a write). */
export function withLock<T>(path: string, fn: () => T, timeoutMs = 30_000): T {
  const lock = new Claim(path);
  const start = Date.now();
  while (!lock.acquire()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${path}: held by another bnn-edge repro for over ${timeoutMs / 1000} s; delete it if no other run is writing`);
    Atomics.wait(pause, 0, 0, 50);
  }
  try {
    return fn();
  } finally {
    lock.release();
  }
}

/** Writes a file by renaming a complete copy over it, so a reader never sees half of it. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
