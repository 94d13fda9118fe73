/**
 * A cluster on one machine for the queue's tests and its bench suite: a private redis-server (on a
 * free loopback port, its append-only file in a temporary directory, so a restart loses nothing),
 * and `bnn-edge worker` processes whose logs can be waited on.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** 4 models (K = 8, 2 epochs on 1,000 images) and 16 quick evaluations: about a minute of work on 2 cores. */
export const SMALL_PLAN = ['--widths', '8', '--seeds', '1', '--epochs', '2', '--train-images', '1000', '--n', '32', '--cw-n', '4', '--hsj-n', '2', '--hsj-queries', '50', '--models', 'A8-s1,B8-s1,C8-s1,S8-s1', '--evals', 'fgsm,pgd,cw-paper,hsj'];
export const EVALUATIONS = 16;

/** A results file's reports without the fields that time the run (seconds, rates). */
export function untimed(path: string): unknown {
  const file = JSON.parse(readFileSync(path, 'utf8')) as { results: Record<string, unknown> };
  return JSON.parse(JSON.stringify(file.results), (k, v: unknown) => (/^(seconds|queriesPerSecond|imagesPerSecond)$/.test(k) ? undefined : v));
}

export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/**
 * Why the queue tests cannot run here, or null if they can. Without redis-server they fail — CI
 * installs it — unless BNN_EDGE_SKIP_QUEUE_TESTS=1 says this machine is a developer's without it.
 */
export function queueTestsSkip(): string | null {
  if (spawnSync('redis-server', ['--version']).status === 0) return null;
  const why = 'redis-server is not installed (apt-get install redis-server)';
  if (process.env['BNN_EDGE_SKIP_QUEUE_TESTS'] === '1') return `${why}; skipped: BNN_EDGE_SKIP_QUEUE_TESTS=1`;
  throw new Error(`${why}: the queue tests need it (set BNN_EDGE_SKIP_QUEUE_TESTS=1 to skip them on a machine without it)`);
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** The server's pid (a new one after `restart`). */
  pid(): number;
  /** Stops the server (SIGTERM: it writes its data), waits `downMs`, and starts it again on the same port and files. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something answers PING on `port` with PONG. */
async function waitForPong(port: number, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ port, host: '127.0.0.1' });
      c.once('error', () => resolve(false));
      c.once('connect', () => c.write('PING\r\n'));
      c.once('data', (d) => {
        c.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
    });
    if (ok) return;
    if (Date.now() - start > timeoutMs) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (p: ChildProcess) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r())));

/** A redis-server of this test's own: durable (append-only file, fsync on every write), on loopback. */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
  let proc: ChildProcess;
  const start = async () => {
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPong(port);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => proc.pid!,
    restart: async (downMs = 0) => {
      proc.kill('SIGTERM');
      await exited(proc);
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    stop: async () => {
      proc.kill('SIGTERM');
      await exited(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends RESP commands to a server and resolves with its first reply line. */
function command(port: number, host: string, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection({ port, host });
    let reply = '';
    c.once('error', reject);
    c.once('connect', () => c.write(lines.map((l) => `${l}\r\n`).join('')));
    c.on('data', (d) => {
      reply += d.toString();
      if (reply.split('\r\n').length > lines.length) c.destroy(), resolve(reply);
    });
  });
}

/**
 * The Redis a test that needs no restart uses: BNN_EDGE_TEST_REDIS (redis://HOST:PORT/DB, the one
 * .ci/run starts; the test empties that database first), or a private server.
 */
export async function testRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env['BNN_EDGE_TEST_REDIS'];
  if (!given) return startRedis();
  const u = new URL(given);
  const db = u.pathname.replace(/^\//, '') || '0';
  const reply = await command(Number(u.port || 6379), u.hostname, [`SELECT ${db}`, 'FLUSHDB']);
  if (!/^\+OK\r\n\+OK/.test(reply)) throw new Error(`BNN_EDGE_TEST_REDIS=${given}: could not empty database ${db}: ${reply}`);
  return { url: given, stop: async () => {} };
}

export interface WorkerProcess {
  readonly proc: ChildProcess;
  /** Its stderr so far, line by line. */
  readonly lines: string[];
  /** The first line (past or future) matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM: it finishes its job and exits. */
  stop(): Promise<void>;
}

/** Any process of ours whose stderr lines are kept and can be waited on. */
export function watchProcess(proc: ChildProcess, name: string): WorkerProcess {
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let partial = '';
  proc.stderr!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (process.env['BNN_EDGE_TEST_VERBOSE']) process.stderr.write(`${name}: ${line}\n`);
      for (const w of [...waiters]) if (w.re.test(line)) waiters.splice(waiters.indexOf(w), 1), w.resolve(line);
    }
  });
  return {
    proc,
    lines,
    waitFor: (re, timeoutMs = 120_000) => {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms; its log:\n${lines.slice(-30).join('\n')}`)), timeoutMs);
        // A waiter nobody awaits any more (it lost a race) must not keep the test's process alive.
        timer.unref();
        waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
    stop: async () => {
      proc.kill('SIGTERM');
      await exited(proc);
    },
  };
}

/** `bnn-edge worker --queue URL` as a process of its own. */
export function spawnWorker(url: string, o: { cwd: string; lockSeconds: number; name: string }): WorkerProcess {
  const proc = spawn(process.execPath, [CLI, 'worker', '--queue', url, '--lock-seconds', String(o.lockSeconds)], { cwd: o.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  return watchProcess(proc, o.name);
}

/** The first line matching `re` in any of the processes' logs. */
export async function firstLine(procs: readonly WorkerProcess[], re: RegExp, timeoutMs: number): Promise<{ proc: WorkerProcess; line: string }> {
  const start = Date.now();
  for (;;) {
    for (const proc of procs) {
      const line = proc.lines.find((l) => re.test(l));
      if (line) return { proc, line };
    }
    if (Date.now() - start > timeoutMs) throw new Error(`no line matching ${re} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const waitExit = (p: ChildProcess): Promise<number | null> =>
  p.exitCode !== null || p.signalCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));
