/** The `bnn-edge` command as a user meets it: help for every command, exit codes, clear errors. */
import { paperModel, paperModelOf } from '../src/model/presets.js';
import { defineGraph } from '../src/model/graph.js';
import { parseBnn } from '../src/format/read.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData } from '../src/data/index.js';
import { epochsInAll, readManifest, sha256, trainedFrom } from '../src/format/manifest.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { train } from '../src/train/train.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('every command listed by --help has its own --help with usage and options', () => {
  const top = cli('--help');
  assert.equal(top.code, 0);
  const names = top.stdout
    .split('Commands:\n')[1]!
    .split('\n\n')[0]!
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0]!);
  for (const expected of ['demo', 'train', 'export', 'info', 'eval', 'attack', 'blackbox', 'hsj', 'transfer', 'bench', 'serve', 'repro', 'ship']) assert.ok(names.includes(expected), `${expected} is listed`);
  for (const name of names) {
    const r = cli(name, '--help');
    assert.equal(r.code, 0, `${name} --help exits 0`);
    assert.match(r.stdout, new RegExp(`^Usage: bnn-edge ${name}`), `${name} --help starts with its usage`);
    assert.match(r.stdout, /Options:\n[\s\S]*-h, --help/, `${name} --help lists its options`);
  }
});

test('usage errors exit 2 and say what was wrong', () => {
  const unknown = cli('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const badArch = cli('train', '--arch', 'Z', '--out', join(tmpdir(), 'never'));
  assert.equal(badArch.code, 2);
  assert.match(badArch.stderr, /unknown architecture "Z" \(expected one of A, B, C, S, R\)/);
  const badInit = cli('train', '--arch', 'A', '--init', join(tmpdir(), 'no-such-run'), '--out', join(tmpdir(), 'never'));
  assert.equal(badInit.code, 2);
  assert.match(badInit.stderr, /--init .*no-such-run: neither a \.bnn file nor a directory with checkpoint\.json/);
  const wrongInit = cli('train', '--arch', 'A', '--init', join(MODELS, 'b64.bnn'), '--out', join(tmpdir(), 'never'));
  assert.equal(wrongInit.code, 2);
  assert.match(wrongInit.stderr, /--init .*b64\.bnn: the model is b64, but a64 was asked for, a different graph/);
  const narrowed = cli('train', '--arch', 'A', '--k', '32', '--init', join(MODELS, 'a64.bnn'), '--out', join(tmpdir(), 'never'));
  assert.equal(narrowed.code, 2);
  assert.match(narrowed.stderr, /the model is a64, but a32 was asked for, a different graph \(a paper model can be widened to a larger K, not changed otherwise\)/);
  const binaryWidened = cli('train', '--arch', 'B', '--k', '128', '--init', join(MODELS, 'b64.bnn'), '--out', join(tmpdir(), 'never'));
  assert.equal(binaryWidened.code, 2);
  assert.match(binaryWidened.stderr, /--init .*b64\.bnn: widen: b64 \(B-64\) has binary layers; only float models \(A, R\) can be widened/);
  const noModel = cli('train', '--out', join(tmpdir(), 'never'));
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /--model is required: a graph JSON file, or a paper model by name/);
  const badModel = cli('train', '--model', 'b64x', '--out', join(tmpdir(), 'never'));
  assert.equal(badModel.code, 2);
  assert.match(badModel.stderr, /--model b64x: neither a preset \(a paper model by name/);
  const badAttack = cli('attack', join(MODELS, 'b64.bnn'), '--attack', 'nope');
  assert.equal(badAttack.code, 2);
  assert.match(badAttack.stderr, /--attack must be one of/);
  const resumePgd = cli('attack', join(MODELS, 'b64.bnn'), '--attack', 'pgd', '--resume-dir', join(tmpdir(), 'never'));
  assert.equal(resumePgd.code, 2);
  assert.match(resumePgd.stderr, /--resume-dir keeps the finished work of an ensemble: it needs --attack auto, got "pgd"/);
  const badEps = cli('transfer', '--eps', '2');
  assert.equal(badEps.code, 2);
  assert.match(badEps.stderr, /--eps must be a number in \[0, 1\]/);
  const badBudget = cli('hsj', join(MODELS, 'b64.bnn'), '--budgets', '1000,5k');
  assert.equal(badBudget.code, 2);
  assert.match(badBudget.stderr, /--budgets must be positive integers, got "5k"/);
  const noModels = cli('repro', '--models', ',', '--out', join(tmpdir(), 'never.md'));
  assert.equal(noModels.code, 2);
  assert.match(noModels.stderr, /--models needs model names such as B256-s2,C256-s2/);
});

test('a missing or corrupt model file exits 1 with a message naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-cli-'));
  try {
    const missing = cli('info', join(dir, 'nope.bnn'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.bnn: model file not found/);
    const truncated = join(dir, 'truncated.bnn');
    writeFileSync(truncated, readFileSync(join(MODELS, 'b64.bnn')).subarray(0, 5000));
    const r = cli('eval', truncated);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /truncated\.bnn/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('info and eval --json report what the issue promises', () => {
  const info = JSON.parse(cli('info', join(MODELS, 'b64.bnn'), '--json').stdout) as { paper: { arch: string; k: number }; compression: number; layers: { name: string; kind: string; bytes: number }[] };
  assert.deepEqual(info.paper, { arch: 'B', k: 64 });
  assert.ok(info.compression >= 25, `b64 is ${info.compression.toFixed(1)}× smaller than float32`);
  assert.deepEqual(
    info.layers.map((l) => l.name),
    ['conv1', 'relu1', 'bn2', 'conv2', 'relu2', 'bn3', 'conv3', 'relu3', 'flatten', 'dense'],
  );
  assert.deepEqual(info.layers.filter((l) => l.bytes > 0).map((l) => l.kind), ['quantConv2d', 'batchNorm', 'quantConv2d', 'batchNorm', 'quantConv2d', 'quantDense']);
  const r = cli('eval', join(MODELS, 'c64.bnn'), '--n', '300', '--json');
  assert.equal(r.code, 0, r.stderr);
  const ev = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const key of ['model', 'images', 'runtimeAccuracy', 'tfjsAccuracy', 'agreement']) assert.ok(key in ev, `eval --json has ${key}`);
  assert.equal(ev['images'], 300);
  assert.equal(ev['agreement'], 1);
  assert.ok((ev['runtimeAccuracy'] as number) > 0.9);
});

test('export --json reports the format version written in the file: 2.0 for binary weights, 2.1 with ternary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-export-'));
  try {
    for (const [model, expected] of [['b64', '2.0'], ['verifiable-mnist', '2.1']] as const) {
      const out = join(dir, `${model}.bnn`);
      const r = cli('export', join(MODELS, `${model}.bnn`), '--out', out, '--json');
      assert.equal(r.code, 0, r.stderr);
      const { version } = parseBnn(readFileSync(out));
      assert.equal(`${version.major}.${version.minor}`, expected, `${model}'s header`);
      assert.equal((JSON.parse(r.stdout) as { format: string }).format, expected, `${model}'s reported format`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train then ship --json: the run lands in a models directory with its manifest entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-ship-'));
  try {
    const run = join(dir, 'run');
    const t = cli('train', '--arch', 'C', '--k', '8', '--epochs', '1', '--limit', '512', '--workers', '0', '--quiet', '--out', run);
    assert.equal(t.code, 0, t.stderr);
    // The run directory itself is a model argument (its model.bnn), named after the directory.
    const ev = cli('eval', run, '--n', '50', '--json');
    assert.equal(ev.code, 0, ev.stderr);
    assert.equal((JSON.parse(ev.stdout) as { model: string }).model, 'run');
    const notRun = cli('info', dir);
    assert.equal(notRun.code, 1);
    assert.match(notRun.stderr, /a directory without model\.bnn/);
    const models = join(dir, 'models');
    const r = cli('ship', run, '--name', 'tiny', '--models', models, '--json');
    assert.equal(r.code, 0, r.stderr);
    const entry = JSON.parse(r.stdout) as { path: string; file: string; graph: unknown; bytes: number; testAccuracy: { agreement: number; runtime: number } };
    assert.equal(entry.path, join(models, 'tiny.bnn'));
    assert.equal(entry.file, 'tiny.bnn');
    assert.deepEqual(defineGraph(entry.graph), parseBnn(readFileSync(entry.path)).graph, 'the manifest records the model as its graph');
    assert.deepEqual(paperModelOf(defineGraph(entry.graph)), { arch: 'C', k: 8 });
    assert.equal(entry.bytes, readFileSync(entry.path).length);
    assert.equal(entry.testAccuracy.agreement, 1, 'a deterministic model agrees with its tfjs graph on every test image');
    assert.deepEqual(readManifest(models).models.map((m) => m.file), ['tiny.bnn']);
    // Trained on from the shipped model, and shipped: the manifest knows which model it grew from.
    const more = join(dir, 'more');
    const m = cli('train', '--arch', 'C', '--k', '8', '--epochs', '2', '--limit', '512', '--workers', '0', '--quiet', '--init', entry.path, '--out', more);
    assert.equal(m.code, 0, m.stderr);
    assert.deepEqual(loadCheckpoint(more).training.init, { path: entry.path, sha256: sha256(readFileSync(entry.path)) });
    assert.equal(cli('ship', more, '--name', 'tiny-more', '--models', models).code, 0);
    const entries = readManifest(models).models;
    const [tiny, tinyMore] = [entries.find((e) => e.file === 'tiny.bnn')!, entries.find((e) => e.file === 'tiny-more.bnn')!];
    assert.equal(trainedFrom(entries, tinyMore), tiny);
    assert.equal(trainedFrom(entries, tiny), undefined, 'a fresh start grew from nothing');
    assert.equal(epochsInAll(entries, tinyMore), 3, '2 epochs on top of the 1 of the model it started from');
    // Trained on from a run that is never shipped: its epochs and start come along, so the chain holds.
    const top = join(dir, 'top');
    const t2 = cli('train', '--arch', 'C', '--k', '8', '--epochs', '1', '--limit', '512', '--workers', '0', '--quiet', '--init', more, '--out', top);
    assert.equal(t2.code, 0, t2.stderr);
    assert.deepEqual(loadCheckpoint(top).training.init, { path: more, sha256: sha256(readFileSync(join(more, 'model.bnn'))), epochs: 2, init: { path: entry.path, sha256: sha256(readFileSync(entry.path)) } });
    assert.equal(cli('ship', top, '--name', 'tiny-top', '--models', models).code, 0);
    const withTop = readManifest(models).models.filter((e) => e.file !== 'tiny-more.bnn');
    const tinyTop = withTop.find((e) => e.file === 'tiny-top.bnn')!;
    assert.equal(trainedFrom(withTop, tinyTop)?.file, 'tiny.bnn', 'the nearest shipped start, through the unshipped run');
    assert.equal(epochsInAll(withTop, tinyTop), 4, '1 epoch on the 2 of the run it started from, on the 1 of tiny');
    // A float model given a larger K is widened first, and the record says from which K.
    const wide = join(dir, 'wide');
    const a64 = join(MODELS, 'a64.bnn');
    const w = cli('train', '--arch', 'A', '--k', '80', '--epochs', '1', '--limit', '256', '--workers', '0', '--quiet', '--init', a64, '--out', wide);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stderr, /widened from K 64 to 80/);
    assert.deepEqual(loadCheckpoint(wide).training.init, { path: a64, sha256: sha256(readFileSync(a64)), widenedFromK: 64 });
    assert.deepEqual(loadCheckpoint(wide).graph, paperModel('A', 80));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train --resume continues a stopped run, with its recorded settings, to the model an unstopped run ends with; refuses other settings and a finished run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-resume-cli-'));
  try {
    // The library run stands in for an interrupted `bnn-edge train`: it saves its state after epoch 1 of 2.
    const whole = await train({
      graph: paperModel('C', 8),
      data: loadData(),
      epochs: 2,
      limit: 512,
      workers: 0,
      progress: false,
      command: 'bnn-edge train --arch C --k 8 --epochs 2 --limit 512',
      onEpoch: (r, snapshot) => r.epoch === 1 && saveCheckpoint(dir, snapshot()),
    });
    const typed = ['train', '--arch', 'C', '--k', '8', '--epochs', '2', '--limit', '500', '--workers', '0', '--quiet', '--out', dir, '--resume'];
    const different = cli(...typed);
    assert.equal(different.code, 1);
    assert.match(different.stderr, /cannot resume: these settings differ .*trainImages 500 \(the run: 512\) \[set by trainImages: --limit\]/);
    const otherSeed = cli('train', '--seed', '7', '--workers', '0', '--quiet', '--out', dir, '--resume');
    assert.equal(otherSeed.code, 1);
    assert.match(otherSeed.stderr, /seed 7 \(the run: 1\) \[set by seed: --seed\]/, 'a typed option is checked against the run even when the rest come from its record');
    const adversarial = cli('train', '--adv', 'pgd', '--workers', '0', '--quiet', '--out', dir, '--resume');
    assert.equal(adversarial.code, 1);
    assert.match(adversarial.stderr, /adversarial PGD ε 0\.3, 40 steps .*\(the run: none\) \[set by adversarial: --adv --adv-eps --adv-step --adv-steps --adv-clean-epochs --adv-weight --adv-ramp\]/);
    const decay = cli('train', '--cbd', '0.001', '--workers', '0', '--quiet', '--out', dir, '--resume');
    assert.equal(decay.code, 1);
    assert.match(decay.stderr, /cardinalityBoundDecay \{"coeff":0\.001,"bound":5\} \(the run: null\) \[set by cardinalityBoundDecay: --cbd --cbd-bound\]/);
    const boundAlone = cli('train', '--cbd-bound', '3', '--workers', '0', '--quiet', '--out', dir, '--resume');
    assert.equal(boundAlone.code, 2);
    assert.match(boundAlone.stderr, /--cbd-bound goes with --cbd X/);
    // Nothing but --out: every setting comes from the checkpoint's record.
    const args = ['train', '--workers', '0', '--quiet', '--out', dir, '--resume'];
    const r = cli(...args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /resuming c8 in .* after epoch 1 of 2/);
    const back = loadCheckpoint(dir);
    for (const [name, v] of whole.params) assert.deepEqual(back.params.get(name), v, `${name} differs from the unstopped run`);
    assert.equal(back.training.command, 'bnn-edge train --arch C --k 8 --epochs 2 --limit 512', 'the command that started the run is kept');
    const again = cli(...args);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /--resume: the run in .* already finished its 2 epochs/);
    // A library run may record a value the command line does not take: the error says it is the record's, not a typo.
    rmSync(dir, { recursive: true, force: true });
    await train({ graph: paperModel('C', 8), data: loadData(), epochs: 2, limit: 128, augmentShift: 9, workers: 0, progress: false, onEpoch: (r, snapshot) => r.epoch === 1 && saveCheckpoint(dir, snapshot()) });
    const outside = cli(...args);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /--augment must be an integer in \[0, 8\], got "9": the value recorded in .*checkpoint\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('attack --save writes the adversarial images: .npy per ε, PNG grids, and examples.json with both sides\' labels', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-save-'));
  try {
    const r = cli('attack', join(MODELS, 'b64.bnn'), '--attack', 'fgsm', '--eps', '0.1,0.3', '--n', '6', '--save', dir, '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { saved: string[]; rows: { eps: number; runtimeAccuracy: number }[]; examples?: unknown };
    assert.equal(report.examples, undefined, 'the images are saved, not printed');
    assert.deepEqual(report.saved.map((f) => f.slice(dir.length + 1)).sort(), ['adversarial-eps0.1.npy', 'adversarial-eps0.3.npy', 'clean.npy', 'examples.json', 'grid-eps0.1.png', 'grid-eps0.3.png']);
    // .npy: NumPy's magic, a float32 header of the right shape, 6 × 28 × 28 × 1 values in [0, 1].
    const npy = readFileSync(join(dir, 'adversarial-eps0.3.npy'));
    assert.deepEqual([...npy.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLen = npy.readUInt16LE(8);
    assert.equal((10 + headerLen) % 64, 0);
    assert.match(npy.subarray(10, 10 + headerLen).toString('latin1'), /'descr': '<f4', 'fortran_order': False, 'shape': \(6, 28, 28, 1\)/);
    const body = (f: Buffer) => new Float32Array(f.buffer.slice(f.byteOffset + 10 + f.readUInt16LE(8), f.byteOffset + f.length));
    const values = body(npy);
    assert.equal(values.length, 6 * 784);
    assert.ok(values.every((v) => v >= 0 && v <= 1));
    const clean = body(readFileSync(join(dir, 'clean.npy')));
    const linf = Math.max(...values.map((v, i) => Math.abs(v - clean[i]!)));
    assert.ok(linf <= 0.3 + 1e-6 && linf > 0.2, `L∞ distance ${linf}`);
    const { PNG } = await import('pngjs');
    const png = PNG.sync.read(readFileSync(join(dir, 'grid-eps0.1.png')));
    assert.ok(png.width > 6 * 56 && png.height >= 56, `${png.width}×${png.height}`);
    const ex = JSON.parse(readFileSync(join(dir, 'examples.json'), 'utf8')) as { images: { label: string; 'eps0.3': { tfjs: string; runtime: string } }[] };
    assert.equal(ex.images.length, 6);
    assert.match(ex.images[0]!.label, /^\d \(\d\)$/, 'labels carry the class names');
    const wrong = ex.images.filter((i) => i['eps0.3'].runtime !== i.label).length;
    assert.equal(1 - wrong / 6, report.rows[1]!.runtimeAccuracy, 'examples.json agrees with the reported accuracy');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no surprises: --version, the nearest command, negative numbers, image and model errors', () => {
  const v = cli('--version');
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  const typo = cli('evl', 'b64');
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown command "evl" — did you mean "eval"\?/);
  assert.doesNotMatch(cli('frobnicate').stderr, /did you mean/, 'nothing near: no suggestion');
  const negative = cli('eval', 'b64', '--n', '-5');
  assert.equal(negative.code, 2);
  assert.match(negative.stderr, /--n must be an integer in \[1, ∞\], got "-5"/);
  const negativeEps = cli('attack', 'b64', '--eps', '-0.1');
  assert.equal(negativeEps.code, 2);
  assert.match(negativeEps.stderr, /--eps values must be numbers in \[0, 1\] \(or fractions like 1\/255\), got "-0.1"/);
  const unknownModel = cli('eval', 'no-such-model');
  assert.equal(unknownModel.code, 2);
  assert.match(unknownModel.stderr, /no-such-model: no such file, and no model of that name in .*models/);
  const cwPlot = cli('attack', 'b64', '--attack', 'cw', '--plot', join(tmpdir(), 'never.svg'));
  assert.equal(cwPlot.code, 2);
  assert.match(cwPlot.stderr, /--plot draws accuracy against ε: it needs an L∞ attack/);
  const noImage = cli('classify', 'b64', join(tmpdir(), 'no-such-image.png'));
  assert.equal(noImage.code, 1);
  assert.match(noImage.stderr, /no-such-image\.png: file not found/);
  const notImage = cli('classify', 'b64', join(MODELS, 'manifest.json'));
  assert.equal(notImage.code, 1);
  assert.match(notImage.stderr, /manifest\.json: cannot read as an image/);
  const noFiles = cli('classify', 'b64');
  assert.equal(noFiles.code, 2);
  assert.match(noFiles.stderr, /give a model and at least one image/);
  const both = cli('train', '--model', 'b8', '--out', join(tmpdir(), 'never'), '--resume', '--force');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--resume continues the run in --out; --force replaces it: give one/);
  const models = cli('models');
  assert.equal(models.code, 0);
  assert.match(models.stdout, /^name +architecture +input +data +size +accuracy +where/);
  assert.match(models.stdout, /\nb64 +paper B, K=64 +28×28×1 +mnist \(embedded\)/);
});

test('CLI: stray words, empty ε entries, adversarial options without --adv, a zero learning rate and misspelled data names are refused, naming what is wrong', () => {
  const refused = (args: string[], message: RegExp) => {
    const r = cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  };
  refused(['format-doc', 'extra'], /unexpected argument "extra"/);
  refused(['serve', 'extra'], /unexpected argument "extra"/);
  refused(['--version', 'extra'], /unexpected argument "extra"/);
  refused(['attack', 'b64', '--eps', ''], /--eps values must be numbers in \[0, 1\].*got ""/);
  refused(['attack', 'b64', '--eps', '0.1,,0.3'], /--eps values must be numbers in \[0, 1\].*got ""/);
  refused(['train', '--arch', 'B', '--k', '8', '--out', join(tmpdir(), 'bnn-never'), '--adv-steps', '3'], /--adv-steps sets adversarial training, which needs --adv pgd or --adv fgsm/);
  refused(['train', '--arch', 'B', '--k', '8', '--out', join(tmpdir(), 'bnn-never'), '--lr', '0'], /--lr must be a number in \(0, ∞\], got "0"/);
  refused(['repro', '--adv-epochs', '3', '--out', join(tmpdir(), 'bnn-never', 'R.md')], /--adv-clean-epochs 5 leaves no adversarial epoch of --adv-epochs 3/);
  const data = cli('eval', 'b64', '--data', 'mnistt');
  assert.equal(data.code, 1);
  assert.match(data.stderr, /"mnistt" is not a data set's name \(mnist, mnist-full, fashion-mnist\)/);
  // `help COMMAND` is the command's help; fractions are ε values in attack as in verify.
  refused(['help', 'models', 'extra'], /bnn-edge help: unexpected argument "extra"/);
  for (const args of [['help', 'version'], ['--version', '--help']]) assert.match(cli(...args).stdout, /^\d+\.\d+\.\d+\n$/, args.join(' '));
  const help = cli('help', 'attack');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: bnn-edge attack MODEL/);
  assert.match(help.stdout, /8\/255/);
});

test('CLI: verify --per-image prints every image\'s verdict; models counts ternary layers apart from binary ones', () => {
  const v = cli('verify', 'verifiable-mnist', '--eps', '1/255', '--n', '3', '--search', 'none', '--per-image');
  assert.equal(v.code, 0, v.stderr);
  const rows = v.stdout.split('\n').filter((l) => /^0\.003922\s+\d+\s+\d+\s+(verified|counterexample|unknown|misclassified)\b/.test(l));
  assert.equal(rows.length, 3, v.stdout);
  const models = cli('models');
  assert.match(models.stdout, /verifiable-mnist: 10 layers, 0\/5 weight layers binary, 4 ternary/);
  assert.match(models.stdout, /larq-mnist: 13 layers, 5\/5 weight layers binary\s/);
});

test('CLI: output piped into a reader that stops early ends quietly; export --int8 no gives a first layer Larq can load', () => {
  // `true` reads nothing and exits at once (long before node has started): the first write meets EPIPE.
  const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" info b64 | true; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8', cwd: join(MODELS, '..'), timeout: 60_000 });
  // 0 when the command had finished its work, 141 (a process SIGPIPE ended) when the pipe closed first.
  assert.match(piped.stdout, /status (0|141)\n/);
  assert.doesNotMatch(piped.stderr, /EPIPE|Unhandled/, piped.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'bnn-export-'));
  try {
    const x = cli('export', 'b64', '--format', 'tfjs', '--int8', 'no', '--out', join(dir, 'tfjs'));
    assert.equal(x.code, 0, x.stderr);
    const json = readFileSync(join(dir, 'tfjs', 'model.json'), 'utf8');
    assert.doesNotMatch(json, /"int8":true|weight_scale/);
    assert.match(cli('export', 'b64', '--int8', 'auto', '--out', join(dir, 'x.bnn')).stderr, /--int8 auto applies to a checkpoint/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
