/**
 * The arm64 proof as a figure: the standalone runtime under Debian's arm64 Node (run through
 * qemu-aarch64-static, prepared by test/arm64/setup.sh) against x86, labels and logits.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData } from '../../src/data/index.js';
import { listModels } from '../../src/eval/demo.js';
import { mdTable } from '../lib.js';
import { MODELS_DIR } from './size.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface CheckOutput {
  arch: string;
  node: string;
  checks: { name: string; ok: boolean }[];
  results: Record<string, { labels: number[]; logitsHash: string }>;
}

export async function arm64Suite(): Promise<{ markdown: string; data: unknown }> {
  const armRoot = join(ROOT, '.cache/arm64/root');
  if (!existsSync(join(armRoot, 'usr/bin/node'))) throw new Error('arm64 node is not prepared: run `bash test/arm64/setup.sh` first');
  const dir = mkdtempSync(join(tmpdir(), 'bnn-arm64-'));
  const n = 64;
  writeFileSync(join(dir, 'images.f32'), new Uint8Array(loadData().test.images.slice(0, n * 784).buffer));
  const models = listModels(MODELS_DIR).map((path) => ({ name: path.slice(MODELS_DIR.length, -4), path }));
  writeFileSync(join(dir, 'fixture.json'), JSON.stringify({ n, models }));
  const check = join(ROOT, 'test/arm64/check.mjs');
  const run = (cmd: string, args: string[]) => {
    const t0 = performance.now();
    const out = JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 })) as CheckOutput;
    return { out, seconds: (performance.now() - t0) / 1000 };
  };
  const x86 = run(process.execPath, [check, dir]);
  const arm = run('qemu-aarch64-static', ['-L', armRoot, join(armRoot, 'usr/bin/node'), check, dir]);
  const rows = Object.keys(x86.out.results).map((key) => {
    const a = arm.out.results[key]!;
    const b = x86.out.results[key]!;
    const same = a.labels.filter((l, i) => l === b.labels[i]).length;
    return [key, `${same}/${b.labels.length}`, a.logitsHash === b.logitsHash ? 'identical' : 'DIFFER', a.logitsHash];
  });
  const checks = arm.out.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}`).join('; ');
  return {
    markdown:
      `x86: ${x86.out.arch} Node ${x86.out.node}. Emulated: **${arm.out.arch} Node ${arm.out.node}** (Debian's arm64 nodejs under qemu-aarch64-static), ${arm.seconds.toFixed(1)} s.\n\n` +
      mdTable(['model / build', 'arm64 labels = x86', 'logits (FNV-1a of the bytes)', 'hash'], rows) +
      `\n\narm64 runtime checks: ${checks}.\n\nCommand for the same check as a test: \`npm run test:arm64\` (also run by CI).`,
    data: { n, x86: x86.out, arm64: arm.out },
  };
}
