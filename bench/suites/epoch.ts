/**
 * One epoch of the shipped larq-mnist's recipe (Larq's tutorial network, 60,000 MNIST training
 * images, batch 64) through the CLI as a user runs it, with the native conv kernels and without
 * (BNN_EDGE_NATIVE=0: WebAssembly only), each in its own process, alternated so that the shared
 * machine's load falls on both. Seconds per epoch come from the run's checkpoint (training only;
 * the test pass after the epoch is not counted).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, mdTable } from '../lib.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ARGS = ['train', '--model', 'larq-tutorial', '--data', 'mnist', '--epochs', '1', '--batch-size', '64', '--weight-clip', '--augment', '0', '--seed', '1', '--quiet'];
const ROUNDS = Number(process.env['BNN_EPOCH_ROUNDS'] ?? 1);

interface EpochRun {
  readonly kernels: 'native' | 'wasm';
  readonly seconds: number;
  readonly backend: string;
  readonly load: number;
}

function oneEpoch(kernels: 'native' | 'wasm'): EpochRun {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-epoch-'));
  try {
    const load = loadavg()[0]!;
    process.stderr.write(`epoch: larq-tutorial on mnist, ${kernels} kernels (load ${load.toFixed(1)})\n`);
    const env = { ...process.env, ...(kernels === 'wasm' ? { BNN_EDGE_NATIVE: '0' } : {}) };
    const r = spawnSync(process.execPath, [CLI, ...ARGS, '--out', join(dir, 'run')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`bnn-edge train (${kernels}) exited ${r.status}`);
    const ckpt = JSON.parse(readFileSync(join(dir, 'run', 'checkpoint.json'), 'utf8')) as { history: { seconds: number }[]; training: { backend: string } };
    return { kernels, seconds: ckpt.history[0]!.seconds, backend: ckpt.training.backend, load };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function epochSuite(): Promise<{ markdown: string; data: unknown }> {
  const runs: EpochRun[] = [];
  for (let i = 0; i < ROUNDS; i++) for (const k of ['native', 'wasm'] as const) runs.push(oneEpoch(k));
  const best = (k: 'native' | 'wasm') => Math.min(...runs.filter((r) => r.kernels === k).map((r) => r.seconds));
  const native = best('native');
  const wasm = best('wasm');
  const markdown =
    `One epoch of larq-mnist's recipe (\`bnn-edge train --model larq-tutorial --data mnist --epochs 1 --batch-size 64 --weight-clip --augment 0 --seed 1\`, 60,000 images, 938 batches, two worker threads), each run in its own process, native and WebAssembly alternated (${ROUNDS} round${ROUNDS > 1 ? 's' : ''}; best shown). The load average at each start says how shared the 2 cores were.\n\n` +
    mdTable(
      ['conv kernels', 'backend recorded', 'seconds per epoch', 'minutes', 'load at start'],
      runs.map((r) => [r.kernels, r.backend, fmt(r.seconds, 1), fmt(r.seconds / 60, 2), r.load.toFixed(1)]),
    ) +
    `\n\nNative kernels: ${fmt(native / 60, 2)} min per epoch (aim: under 3); WebAssembly only: ${fmt(wasm / 60, 2)} min, ${fmt(wasm / native, 2)}× the time.`;
  return { markdown, data: { runs, native, wasm } };
}
