import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData } from '../src/data/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARM64_ROOT = join(ROOT, '.cache/arm64/root');
const ARM64_NODE = join(ARM64_ROOT, 'usr/bin/node');
const QEMU = '/usr/bin/qemu-aarch64-static';
const ready = existsSync(ARM64_NODE) && existsSync(QEMU);

test('arm64: the standalone runtime under arm64 Node gives the x86 labels and logits bit for bit, and matches every conformance vector', { skip: ready ? false : 'arm64 node not prepared (run test/arm64/setup.sh or npm run test:arm64)', timeout: 600000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-arm64-'));
  const n = 64;
  const images = loadData().test.images.slice(0, n * 784);
  writeFileSync(join(dir, 'images.f32'), new Uint8Array(images.buffer));
  const models = ['a64', 'b64', 'c64', 's64'].map((name) => ({ name, path: join(ROOT, 'models', `${name}.bnn`) })).filter((m) => existsSync(m.path));
  assert.ok(models.length >= 2, 'shipped models are present');
  writeFileSync(join(dir, 'fixture.json'), JSON.stringify({ n, models }));
  const check = join(ROOT, 'test/arm64/check.mjs');
  const run = (cmd: string, args: string[]) => JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 })) as { arch: string; node: string; checks: { name: string; ok: boolean }[]; results: Record<string, { labels: number[]; logitsHash: string }> };
  const x86 = run(process.execPath, [check, dir]);
  const arm = run(QEMU, ['-L', ARM64_ROOT, ARM64_NODE, check, dir]);
  t.diagnostic(`x86: ${x86.arch} ${x86.node}; emulated: ${arm.arch} ${arm.node}; models ${models.map((m) => m.name).join(', ')} × simd/scalar on ${n} images`);
  assert.equal(arm.arch, 'arm64');
  for (const c of arm.checks) assert.ok(c.ok, `arm64 check failed: ${c.name}`);
  assert.deepEqual(Object.keys(arm.results), Object.keys(x86.results));
  for (const [key, r] of Object.entries(x86.results)) {
    assert.deepEqual(arm.results[key]!.labels, r.labels, `${key}: labels differ`);
    assert.equal(arm.results[key]!.logitsHash, r.logitsHash, `${key}: logits differ`);
  }
});
