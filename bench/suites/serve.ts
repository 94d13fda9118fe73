/**
 * bnn-edge serve under load: `bnn-edge serve` in its own process (default options), 60 s of
 * loopback load from autocannon with 50 connections — 25 fetching the page's static files, 25 the
 * samples API — while two clients keep PGD attacks queued. Reports what was answered, p50/p99
 * latency per kind, and the server's RSS before and after.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { fmt, mdTable } from '../lib.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SECONDS = Number(process.env['BNN_EDGE_SERVE_BENCH_SECONDS'] ?? 60);
const CONNECTIONS = 50;
const ATTACK_CLIENTS = 2;

/** Resident set size of a process (Linux /proc), in MiB. */
function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb[1]) / 1024;
}

interface Kind {
  readonly name: string;
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function summary(name: string, r: autocannon.Result): Kind {
  return { name, requests: r.requests.total, ok: r['2xx'], failed: r.non2xx + r.errors + r.timeouts, p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max };
}

type Image = { readonly pixels: number[]; readonly label: number };

/** One PGD attack on c64: its latency (ms), or the error code it got. */
async function attack(url: string, image: Image): Promise<{ ms: number } | { code: string }> {
  const t0 = performance.now();
  const res = await fetch(`${url}api/attack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'c64', pixels: image.pixels, label: image.label, attack: 'pgd', eps: 0.2 }) });
  const body = (await res.json()) as { code?: string };
  return res.ok ? { ms: performance.now() - t0 } : { code: body.code ?? String(res.status) };
}

/** Keeps one attack in flight until `until`; returns each attack's latency (ms) and failures. */
async function attackLoop(url: string, image: Image, until: number): Promise<{ ms: number[]; failed: string[] }> {
  const ms: number[] = [];
  const failed: string[] = [];
  while (Date.now() < until) {
    const r = await attack(url, image);
    if ('ms' in r) ms.push(r.ms);
    else failed.push(r.code);
  }
  return { ms, failed };
}

export async function serveSuite(): Promise<{ markdown: string; data: unknown }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /demo at (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`bnn-edge serve exited with ${code}`)));
    });
    const pid = child.pid!;
    const rssStart = rssMiB(pid);
    const samples = (await (await fetch(`${url}api/samples?model=c64&n=1&start=0`)).json()) as { samples: { pixels: number[]; label: number }[] };
    const image = samples.samples[0]!;
    // One attack first: the worker's tfjs start-up is not part of the load.
    const warm = await attack(url, image);
    if ('code' in warm) throw new Error(`the warm-up attack failed: ${warm.code}`);
    const rssBefore = rssMiB(pid);

    // The machine may be shared (a training run): its load is part of what the figure means.
    const load = loadavg()[0]!;
    const until = Date.now() + SECONDS * 1000;
    const attacks = Promise.all(Array.from({ length: ATTACK_CLIENTS }, () => attackLoop(url, image, until)));
    const common = { url, duration: SECONDS, connections: CONNECTIONS / 2, timeout: 30 };
    const [files, api] = await Promise.all([
      autocannon({ ...common, requests: ['', 'app.js', 'style.css', 'runtime/bnn-edge-runtime.browser.js', 'models/c64.bnn'].map((p) => ({ method: 'GET' as const, path: `/${p}` })) }),
      autocannon({ ...common, requests: [0, 1, 2, 3].map((i) => ({ method: 'GET' as const, path: `/api/samples?model=c64&n=10&start=${10 * i}` })) }),
    ]);
    const attackRuns = await attacks;
    const rssAfter = rssMiB(pid);
    const attackMs = attackRuns.flatMap((r) => r.ms).sort((a, b) => a - b);
    const attackFailed = attackRuns.flatMap((r) => r.failed);
    const kinds = [summary('static files (page, runtime bundle, c64.bnn)', files), summary('GET /api/samples (10 images)', api)];
    const rows: (string | number)[][] = kinds.map((k) => [k.name, fmt(k.requests), fmt(k.requests / SECONDS), fmt(k.failed), fmt(k.p50, 0), fmt(k.p99, 0), fmt(k.max, 0)]);
    const median = attackMs[Math.floor(attackMs.length / 2)] ?? NaN;
    rows.push([`POST /api/attack (PGD-40 on c64, ${ATTACK_CLIENTS} clients back to back)`, fmt(attackMs.length + attackFailed.length), fmt((attackMs.length + attackFailed.length) / SECONDS, 2), fmt(attackFailed.length), fmt(median, 0), '', fmt(attackMs[attackMs.length - 1] ?? NaN, 0)]);
    const markdown = [
      mdTable(['requests', 'answered', 'per second', 'failed', 'p50 ms', 'p99 ms', 'max ms'], rows),
      '',
      mdTable(['server RSS', 'MiB'], [
        ['after start', fmt(rssStart, 1)],
        ['after one attack (worker and tfjs up): before the load', fmt(rssBefore, 1)],
        [`after ${SECONDS} s of load`, fmt(rssAfter, 1)],
      ]),
      '',
      `\`bnn-edge serve --port 0\` with its defaults (one attack worker on this machine, queue 8), loaded over loopback by autocannon for ${SECONDS} s ` +
        `with ${CONNECTIONS} connections (${CONNECTIONS / 2} cycling through the page's static files, ${CONNECTIONS / 2} through /api/samples) while ${ATTACK_CLIENTS} clients ` +
        `kept PGD attacks in the worker pool. Load generator and server share the machine's cores (and the attack worker one of them); ` +
        `the 1-minute load average was ${fmt(load, 1)} when the load started.` +
        (attackFailed.length ? ` Attack failures: ${[...new Set(attackFailed)].join(', ')}.` : ''),
    ].join('\n');
    return { markdown, data: { seconds: SECONDS, connections: CONNECTIONS, kinds, attacks: { answered: attackMs.length, failed: attackFailed, medianMs: median }, rssMiB: { start: rssStart, before: rssBefore, after: rssAfter }, loadAverage: load } };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT');
      await exited;
    }
  }
}
