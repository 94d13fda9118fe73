/**
 * A user's own model on their own images, through the CLI only: a folder of 32×32 RGB PNGs (one
 * folder per class), a graph written as JSON, then train → ship → models → info → eval → classify
 * → attack (with --save and --plot) → export to tfjs → import back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { Rng } from '../src/util/rng.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const CLASSES = ['reds', 'greens', 'blues'];

function cli(cwd: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A 32×32 RGB image of class `c`: noise with one dominant channel, a brighter square somewhere. */
function image(c: number, rng: Rng): Buffer {
  const png = new PNG({ width: 32, height: 32 });
  const x0 = rng.int(20);
  const y0 = rng.int(20);
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++) {
      const inSquare = x >= x0 && x < x0 + 12 && y >= y0 && y < y0 + 12;
      const rgb = [0, 1, 2].map((ch) => Math.round(255 * Math.min(1, 0.35 * rng.next() + (ch === c ? (inSquare ? 0.6 : 0.3) : 0.05))));
      png.data.set([...rgb, 255], (y * 32 + x) * 4);
    }
  return PNG.sync.write(png);
}

const graph = {
  name: 'rgb-bnn',
  input: [32, 32, 3],
  classes: 3,
  layers: [
    { kind: 'quantConv2d', name: 'stem', filters: 16, kernelSize: 3, strides: 2, padding: 'same', kernelQuantizer: 'ste_sign' },
    { kind: 'batchNorm', name: 'bn0' },
    { kind: 'quantConv2d', name: 'conv1', filters: 16, kernelSize: 3, padding: 'same', padValue: 1, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' },
    { kind: 'batchNorm', name: 'bn1' },
    { kind: 'add', name: 'res', inputs: ['bn1', 'bn0'] },
    { kind: 'maxPool2d', name: 'pool', poolSize: 2 },
    { kind: 'globalAvgPool2d', name: 'gap' },
    { kind: 'quantDense', name: 'logits', units: 3 },
  ],
};

test('your own RGB images and JSON graph: train, ship, classify, attack, export and import through the CLI', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-workflow-'));
  try {
    const rng = new Rng(7);
    for (const [c, name] of CLASSES.entries()) {
      mkdirSync(join(dir, 'images', name), { recursive: true });
      for (let i = 0; i < 40; i++) writeFileSync(join(dir, 'images', name, `${i}.png`), image(c, rng));
    }
    writeFileSync(join(dir, 'rgb-bnn.json'), JSON.stringify(graph));
    writeFileSync(join(dir, 'query.png'), image(2, new Rng(99)));

    const t = cli(dir, 'train', '--model', 'rgb-bnn.json', '--data', 'images', '--epochs', '4', '--batch-size', '16', '--lr', '0.01', '--workers', '0', '--quiet', '--out', 'runs/rgb', '--json');
    assert.equal(t.code, 0, t.stderr);
    const trained = JSON.parse(t.stdout) as { model: string; testAccuracy: number; data: string; backend: string };
    assert.equal(trained.model, 'rgb-bnn');
    assert.match(trained.data, /^images:.*images$/);
    assert.ok(trained.testAccuracy >= 0.9, `an easy task is learned: ${trained.testAccuracy}`);

    const s = cli(dir, 'ship', 'runs/rgb', '--json');
    assert.equal(s.code, 0, s.stderr);
    assert.ok(existsSync(join(dir, 'models', 'rgb-bnn.bnn')), 'shipped into ./models');
    const listed = JSON.parse(cli(dir, 'models', '--json').stdout) as { models: { name: string; input: number[]; accuracy: number }[] };
    const mine = listed.models.find((m) => m.name === 'rgb-bnn');
    assert.deepEqual(mine?.input, [32, 32, 3]);

    const info = cli(dir, 'info', 'rgb-bnn');
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /32×32×3 → 3 classes/);
    assert.match(info.stdout, /res ← bn1, bn0/);

    // eval by name: the model's recorded data (the image folder) is its test set, no --data needed.
    const e = JSON.parse(cli(dir, 'eval', 'rgb-bnn', '--json').stdout) as { images: number; agreement: number; runtimeAccuracy: number; data: string };
    assert.equal(e.images, 24, '20% of 120 images held out');
    assert.equal(e.agreement, 1);

    const c = cli(dir, 'classify', 'rgb-bnn', 'query.png', '--json');
    assert.equal(c.code, 0, c.stderr);
    const [hit] = (JSON.parse(c.stdout) as { classifications: { label: number; className: string; top: unknown[] }[] }).classifications;
    assert.equal(hit!.className, 'blues', 'class names come from the folders');
    assert.equal(hit!.top.length, 3);
    const wrongShape = cli(dir, 'eval', 'rgb-bnn', '--data', 'mnist');
    assert.equal(wrongShape.code, 2);
    assert.match(wrongShape.stderr, /rgb-bnn takes 32×32×3 images but mnist has 28×28×1/);

    const a = cli(dir, 'attack', 'rgb-bnn', '--attack', 'pgd', '--steps', '10', '--eps', '0.02,0.05', '--n', '20', '--save', 'adv', '--plot', 'adv.svg', '--json');
    assert.equal(a.code, 0, a.stderr);
    const report = JSON.parse(a.stdout) as { rows: { eps: number; agreement: number; tfjsAccuracy: number }[] };
    assert.equal(report.rows.length, 2);
    for (const r of report.rows) assert.equal(r.agreement, 1, `ε ${r.eps}: tfjs and the runtime agree on every adversarial image`);
    assert.ok(readdirSync(join(dir, 'adv')).some((f) => f.endsWith('.png')), 'adversarial examples as PNG');
    const svg = readFileSync(join(dir, 'adv.svg'), 'utf8');
    assert.match(svg, /^<svg /);
    assert.equal((svg.match(/<polyline [^>]*stroke-width="2"/g) ?? []).length, 2, 'one curve for tfjs, one for the runtime');

    const x = cli(dir, 'export', 'rgb-bnn', '--format', 'tfjs', '--out', 'tfjs-model');
    assert.equal(x.code, 0, x.stderr);
    assert.ok(existsSync(join(dir, 'tfjs-model', 'model.json')));
    const back = cli(dir, 'import', 'tfjs-model', '--out', 'back.bnn');
    assert.equal(back.code, 0, back.stderr);
    assert.ok(readFileSync(join(dir, 'back.bnn')).equals(readFileSync(join(dir, 'models', 'rgb-bnn.bnn'))), '.bnn → tfjs → .bnn is the same file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
