/**
 * What lets several `bnn-edge repro` processes share one checkpoint cache and one results file.
 * Training runs on at most 2 threads (its 2 batch shards), so a machine with more cores can share
 * the plan among several runs of the same command; on 2 cores a second run only competes (measured
 * on a 2-core AMD EPYC, 2026-12-02: two K = 256 trainings at once took ~10 min per epoch each, one
 * alone 4.5 min).
 *
 * Each run claims a model before training or attacking it (a claim file naming its process, so a
 * claim left by a killed run is taken over), and merges the results file on disk into its own before
 * writing it, under a lock: no run redoes or drops what another measured, even when a second run
 * was started by mistake. Processes are told apart on one machine (pid, and on Linux the pid's start
 * time, so a reused pid does not keep a dead run's claim alive); a cache shared by several machines
 * is not supported.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

interface Holder {
  readonly pid: number;
  /** When that pid started (Linux: clock ticks after boot; null elsewhere), so a reused pid is told apart. */
  readonly started: string | null;
  /** Tells apart two holders in one process (two Repro objects in a test). */
  readonly token: string;
}

/** Field 22 of /proc/PID/stat, the process's start time; null where /proc is missing. */
function startTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  return stat === null ? null : (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null);
}

/** Tokens this process has handed out: a holder with our pid and another token is a dead run's. */
const ours = new Set<string>();

/** Whether the process holding a claim or lock is still running. */
function alive(h: Holder): boolean {
  if (!Number.isInteger(h.pid) || h.pid <= 0) return false;
  if (h.pid === process.pid) return ours.has(h.token);
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(h.pid);
  return h.started === null || now === null || now === h.started;
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
    if (typeof h.pid !== 'number' || typeof h.token !== 'string') return null;
    return { pid: h.pid, token: h.token, started: typeof h.started === 'string' ? h.started : null };
  } catch {
    return null;
  }
}

/** Creates `path` holding `text`, complete, or returns false if it exists (written aside, then hard-linked). */
function createExclusive(path: string, text: string, token: string): boolean {
  const tmp = `${path}.new-${token}`;
  writeFileSync(tmp, text);
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** A break file held longer than this belongs to a run that died in the milliseconds it holds one. */
const BREAK_STALE_MS = 10_000;

/** A file only one live holder can own at a time; a dead holder's file is taken over. */
export class Claim {
  private readonly me: Holder;

  constructor(readonly path: string) {
    this.me = { pid: process.pid, started: startTime(process.pid), token: randomBytes(8).toString('hex') };
    ours.add(this.me.token);
  }

  /** Whether a live holder other than this one owns the file. */
  heldByOther(): boolean {
    const h = parseHolder(readText(this.path));
    return h !== null && h.token !== this.me.token && alive(h);
  }

  /** Takes the file if free or stale; false if another live holder has it. */
  acquire(): boolean {
    for (let attempt = 0; attempt < 3; attempt++) {
      // Linked into place complete: no reader ever sees half a claim (and judges it stale).
      if (createExclusive(this.path, JSON.stringify(this.me), this.me.token)) return true;
      const seen = readText(this.path);
      if (seen === null) continue; // released in between
      const h = parseHolder(seen);
      if (h?.token === this.me.token) return true;
      if (h !== null && alive(h)) return false;
      // Stale (its holder died, or the file is no claim). Runs that judged it so take turns
      // through a break file, and each deletes the claim only if it is still the stale one it
      // read: a claim made meanwhile by a live run is never deleted.
      if (!this.breakStale(seen)) return false;
    }
    return false;
  }

  /** Deletes the claim if it still reads `seen`; false if another run is breaking it right now. */
  private breakStale(seen: string): boolean {
    const brk = `${this.path}.break`;
    if (!createExclusive(brk, this.me.token, this.me.token)) {
      const age = Date.now() - (statMtime(brk) ?? Date.now());
      if (age < BREAK_STALE_MS) return false;
      rmSync(brk, { force: true }); // left by a run that died while breaking; the next attempt retries
      return true;
    }
    try {
      if (readText(this.path) === seen) rmSync(this.path, { force: true });
    } finally {
      rmSync(brk, { force: true });
    }
    return true;
  }

  release(): void {
    if (parseHolder(readText(this.path))?.token === this.me.token) rmSync(this.path, { force: true });
  }
}

function statMtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn` holding the lock file `path` (held for milliseconds: a read, a merge, a write). A lock
 * held by a live process for longer than `timeoutMs` is an error that names the file.
 */
export function withLock<T>(path: string, fn: () => T, timeoutMs = 60_000): T {
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
