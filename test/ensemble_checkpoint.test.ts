/**
 * The ensemble resumes after its last finished attack (src/eval/ensemble_checkpoint.ts and the
 * checkpoint hook of src/attacks/auto.ts): a run stopped in its third attack and started again
 * does not rerun the first two and ends with the uninterrupted run's figures; a file from other
 * settings or one that does not read back whole is not used.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { head, type Dataset } from '../src/data/dataset.js';
import { loadData } from '../src/data/index.js';
import { runEnsemble, type EnsembleOptions, type EnsembleOutcome } from '../src/attacks/auto.js';
import { whiteboxEval } from '../src/eval/attacks.js';
import { ensembleKey, fileEnsembleCheckpoint } from '../src/eval/ensemble_checkpoint.js';
import type { BnnModel } from '../src/format/model.js';
import { DeployedGraph } from '../src/model/tfjs/deployed.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { initTfjs } from '../src/tfjs/backend.js';
import { calibratedModel } from './helpers.js';

const mnist = head(loadData().test, 24);
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

const OPTIONS = { eps: 0.006, iterations: 6, targets: 2, queries: 40, seed: 1 } as const;

class Stop extends Error {}

/** Runs the ensemble, recording which members reported progress; `stopAt` throws when that member starts. */
function run(o: EnsembleOptions, stopAt?: number): { outcome?: EnsembleOutcome; ran: Set<number> } {
  const ran = new Set<number>();
  const onProgress = (m: number) => {
    if (m === stopAt) throw new Stop(`stopped in member ${m}`);
    ran.add(m);
  };
  try {
    return { outcome: runEnsemble(graph, rt, mnist.images, labels, { ...o, onProgress }), ran };
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return { ran };
  }
}

const key = (o: object) => ensembleKey(mnist.images, labels, cleanLogits, o);

test('stopped in its third attack, the ensemble resumes there and ends with the uninterrupted figures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-ens-'));
  try {
    const whole = run(OPTIONS).outcome!;
    assert.ok(whole.members[2]!.attacked.some((v) => v === 1), 'the third attack has images to attack');
    const store = fileEnsembleCheckpoint(dir, key(OPTIONS));
    const stopped = run({ ...OPTIONS, checkpoint: store }, 2);
    assert.equal(stopped.outcome, undefined);
    assert.deepEqual([...stopped.ran].sort(), [0, 1]);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.v8.gz')).length, 2, 'the two finished attacks are on disk');
    const resumed = run({ ...OPTIONS, checkpoint: fileEnsembleCheckpoint(dir, key(OPTIONS)) });
    assert.ok(!resumed.ran.has(0) && !resumed.ran.has(1), 'the finished attacks are not run again');
    assert.ok(resumed.ran.has(2));
    const r = resumed.outcome!;
    assert.deepEqual(r.robust, whole.robust);
    assert.deepEqual(r.brokenBy, whole.brokenBy);
    assert.deepEqual(r.worst, whole.worst);
    for (const [k, m] of r.members.entries()) {
      assert.equal(m.attack, whole.members[k]!.attack);
      assert.deepEqual(m.attacked, whole.members[k]!.attacked, `${m.attack}: the same images`);
      assert.deepEqual(m.runtimeLabels, whole.members[k]!.runtimeLabels, `${m.attack}: the same labels`);
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
    const first = run(OPTIONS).outcome!.members[0]!;
    store.save(0, { ...first, attacked: new Uint8Array(mnist.n) });
    assert.equal(store.load(0, 'apgd-ce')!.attacked.length, mnist.n, 'it reads back');
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
