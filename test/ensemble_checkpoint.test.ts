/**
 * The ensemble resumes after its last finished part (src/eval/ensemble_checkpoint.ts and the
 * checkpoint hook of src/attacks/auto.ts): a run stopped in the second part of its second attack
 * and started again does not rerun what it finished and ends with the uninterrupted run's figures;
 * a file from other settings or one that does not read back whole is not used.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { head, type Dataset } from '../src/data/dataset.js';
import { loadData } from '../src/data/index.js';
import { partImages, runEnsemble, type EnsembleOptions, type EnsembleOutcome } from '../src/attacks/auto.js';
import { whiteboxEval } from '../src/eval/attacks.js';
import { ensembleKey, fileEnsembleCheckpoint } from '../src/eval/ensemble_checkpoint.js';
import type { BnnModel } from '../src/format/model.js';
import { DeployedGraph } from '../src/model/tfjs/deployed.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { initTfjs } from '../src/tfjs/backend.js';
import { calibratedModel } from './helpers.js';

// More images than one part of the targeted attacks: APGD-T runs in two parts.
const mnist = head(loadData().test, 48);
let model: BnnModel;
let rt: BnnRuntime;
let graph: DeployedGraph;
let labels: Uint8Array;
let cleanLogits: Float32Array;

before(async () => {
  await initTfjs();
  model = await calibratedModel('C', 8, 5, mnist.images);
  rt = await BnnRuntime.fromModel(model);
  graph = new DeployedGraph(model);
  // The model's own labels: every image starts robust, so every attack of the cascade has work.
  labels = Uint8Array.from(rt.predict(mnist.images, mnist.n));
  cleanLogits = rt.logits(mnist.images, mnist.n);
});

const OPTIONS = { eps: 0.001, iterations: 6, targets: 2, queries: 40, seed: 1 } as const;

class Stop extends Error {}

/**
 * Runs the ensemble, recording which members reported progress and the least work done each
 * reported; `stopAt` throws when that member reports `after` images done or more.
 */
function run(o: EnsembleOptions, stopAt?: number, after = 0): { outcome?: EnsembleOutcome; ran: Set<number>; from: Map<number, number> } {
  const ran = new Set<number>();
  const from = new Map<number, number>();
  const onProgress = (m: number, done: number) => {
    if (m === stopAt && done >= after) throw new Stop(`stopped in member ${m}`);
    ran.add(m);
    from.set(m, Math.min(from.get(m) ?? Infinity, done));
  };
  try {
    return { outcome: runEnsemble(graph, rt, mnist.images, labels, { ...o, onProgress }), ran, from };
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return { ran, from };
  }
}

const key = (o: object) => ensembleKey(mnist.images, labels, cleanLogits, o);

test('stopped in the second part of its second attack, the ensemble resumes there and ends with the uninterrupted figures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-ens-'));
  try {
    const whole = run(OPTIONS).outcome!;
    const part = partImages('apgd-t');
    assert.ok(whole.members[1]!.attacked.filter((v) => v === 1).length > part, `APGD-T has more than one part of images: ${whole.members.map((m) => m.attacked.filter((v) => v === 1).length).join(' ')}`);
    const store = fileEnsembleCheckpoint(dir, key(OPTIONS));
    const stopped = run({ ...OPTIONS, checkpoint: store }, 1, part + 1);
    assert.equal(stopped.outcome, undefined);
    assert.deepEqual([...stopped.ran].sort(), [0, 1]);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.v8.gz')).map((f) => f.slice(f.indexOf('-') + 1)).sort(), ['0-apgd-ce-0.v8.gz', '1-apgd-t-0.v8.gz'], "APGD-CE's part and APGD-T's first are on disk");
    const resumed = run({ ...OPTIONS, checkpoint: fileEnsembleCheckpoint(dir, key(OPTIONS)) });
    assert.ok(!resumed.ran.has(0), 'the finished attack is not run again');
    // Its first part, run, would report `part` images done or fewer.
    assert.ok(resumed.from.get(1)! > part, `APGD-T's first part is not run again: it reports from ${resumed.from.get(1)} images done`);
    assert.ok(resumed.ran.has(2) && resumed.ran.has(3));
    const r = resumed.outcome!;
    assert.deepEqual(r.robust, whole.robust);
    assert.deepEqual(r.brokenBy, whole.brokenBy);
    assert.deepEqual(r.worst, whole.worst);
    for (const [k, m] of r.members.entries()) {
      const w = whole.members[k]!;
      assert.equal(m.attack, w.attack);
      assert.deepEqual(m.attacked, w.attacked, `${m.attack}: the same images`);
      assert.deepEqual(m.runtimeLabels, w.runtimeLabels, `${m.attack}: the same labels`);
      assert.deepEqual(m.firstSuccess, w.firstSuccess, `${m.attack}: the same curve`);
      assert.equal(m.zeroGradientFraction, w.zeroGradientFraction);
    }
    store.clear();
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file from other settings, or one that does not read back whole, is run again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-ens-'));
  try {
    run({ ...OPTIONS, checkpoint: fileEnsembleCheckpoint(dir, key(OPTIONS)) }, 1);
    assert.equal(readdirSync(dir).length, 1);
    // Another ε is another key: nothing to resume from.
    const other = { ...OPTIONS, eps: 0.01 };
    assert.notEqual(key(other), key(OPTIONS));
    assert.ok(run({ ...other, checkpoint: fileEnsembleCheckpoint(dir, key(other)) }).ran.has(0));
    // The same key, but the file is cut short: ignored, the attack runs.
    const [file] = readdirSync(dir).filter((f) => f.startsWith(key(OPTIONS)));
    writeFileSync(join(dir, file!), Buffer.from([0xff, 0x0f, 0x6f]));
    assert.ok(run({ ...OPTIONS, checkpoint: fileEnsembleCheckpoint(dir, key(OPTIONS)) }).ran.has(0));
    // A member saved for other images (a different cascade) is not used either.
    const store = fileEnsembleCheckpoint(dir, 'mismatch');
    const first = readdirSync(dir).find((f) => f.startsWith(`${key(OPTIONS)}-0-apgd-ce-0`))!;
    writeFileSync(join(dir, first), Buffer.from([0xff, 0x0f, 0x6f]));
    const saved = run({ ...OPTIONS, checkpoint: fileEnsembleCheckpoint(dir, key(OPTIONS)) }, 1);
    assert.ok(saved.ran.has(0));
    const part = fileEnsembleCheckpoint(dir, key(OPTIONS)).load(0, 'apgd-ce', 0)!;
    store.save(0, 0, { ...part, images: part.images.map((i) => i + 1) });
    assert.equal(store.load(0, 'apgd-ce', 0)!.images.length, part.images.length, 'it reads back');
    assert.ok(run({ ...OPTIONS, checkpoint: store }).ran.has(0), 'but the images it ran on differ: run again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('whiteboxEval with resumeDir: the same report as without, and no files left once it completes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-ens-'));
  try {
    const data: Dataset = { ...mnist, labels };
    const o = { attack: 'auto', eps: [0.006], n: mnist.n, iterations: 6, targets: 2, queries: 40, seed: 1 } as const;
    const plain = await whiteboxEval('c8', model, data, o);
    const kept = await whiteboxEval('c8', model, data, { ...o, resumeDir: dir });
    assert.deepEqual(kept.rows.map((r) => r.runtimeAccuracy), plain.rows.map((r) => r.runtimeAccuracy));
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
