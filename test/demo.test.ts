/**
 * `bnn-edge demo`, the README's main command: on a machine without a model's data (Fashion-MNIST
 * comes from a Debian package) the models picked from the directory are skipped with a note, not
 * the whole run ended; a model the user names (by path or name) is scored on the data recorded
 * beside it, and fails with the data's error when that is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));
const MISSING = '/nonexistent/bnn-edge-demo-test';

interface ManifestEntry {
  file: string;
  training: { data: string };
}

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A models directory with b64 (embedded digits) and c64, whose recorded data is a directory that is not there. */
function modelsWithMissingData(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-demo-'));
  const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as { description: string; models: ManifestEntry[] };
  const models = manifest.models
    .filter((e) => e.file === 'b64.bnn' || e.file === 'c64.bnn')
    .map((e) => (e.file === 'c64.bnn' ? { ...e, training: { ...e.training, data: `idx:${MISSING}` } } : e));
  assert.equal(models.length, 2);
  for (const e of models) copyFileSync(join(MODELS, e.file), join(dir, e.file));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, models }));
  return dir;
}

test('demo skips a model whose test images are not on this machine, says so, and evaluates the rest', { timeout: 300_000 }, () => {
  const dir = modelsWithMissingData();
  try {
    const json = cli('demo', '--models', dir, '--n', '40', '--attack-n', '8', '--json');
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as { models: { model: string; clean: { images: number } }[]; skipped: { model: string; reason: string }[] };
    assert.deepEqual(out.models.map((r) => r.model), ['b64']);
    assert.equal(out.models[0]!.clean.images, 40);
    assert.equal(out.skipped.length, 1);
    assert.equal(out.skipped[0]!.model, 'c64');
    assert.match(out.skipped[0]!.reason, new RegExp(`${MISSING}: data directory not found`));

    const table = cli('demo', '--models', dir, '--n', '40', '--attack-n', '8');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /\bb64\b/);
    assert.match(table.stdout, /Skipped, their test images not being on this machine: c64 \(/);
    assert.match(table.stderr, /skipped: its test images are not here/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('demo takes models by name, as every command does', { timeout: 300_000 }, () => {
  const r = cli('demo', 'b64', '--n', '40', '--attack-n', '8', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { models: { model: string; data: string }[] };
  assert.deepEqual(out.models.map((m) => [m.model, m.data]), [['b64', 'embedded:mnist']]);
});

test('demo on a named model whose data is missing fails with the data error; with every model skipped it fails too', { timeout: 300_000 }, () => {
  const dir = modelsWithMissingData();
  try {
    // The data recorded in the manifest beside the named file is the data it is scored on.
    const named = cli('demo', join(dir, 'c64.bnn'), '--n', '40', '--attack-n', '8');
    assert.equal(named.code, 1);
    assert.match(named.stderr, new RegExp(`${MISSING}: data directory not found`));
    // A manifest that cannot be read: the model it would have named the data of is not scored on a guess.
    const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
    writeFileSync(join(dir, 'manifest.json'), '{"models": [');
    const broken = cli('demo', join(dir, 'b64.bnn'), '--n', '40', '--attack-n', '8');
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /manifest\.json: cannot tell what b64\.bnn was trained on: .*give its test data with --data/);
    writeFileSync(join(dir, 'manifest.json'), manifest);
    rmSync(join(dir, 'b64.bnn'));
    const none = cli('demo', '--models', dir, '--all', '--n', '40', '--attack-n', '8');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no model in it could be evaluated: c64/);
    assert.doesNotMatch(none.stderr, /TypeError|at .*\.js:\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
