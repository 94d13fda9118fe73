import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadData } from '../src/data/index.js';
import type { WhiteboxReport } from '../src/eval/attacks.js';
import { Repro, type ReproResult, type ReproResults } from '../src/eval/repro.js';
import { checkModelIdentity, checkRecordedCleanAccuracy, ModelIdentityError, modelSha256 } from '../src/eval/repro_identity.js';
import { modelFromParams } from '../src/format/model.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';

function report(model: string, clean: number, images = 1000, sha?: string): ReproResult {
  const r: WhiteboxReport = { model, attack: 'fgsm', loss: 'ce', images, cleanRuntimeAccuracy: clean, rows: [], saturatedFraction: 0, warnings: [] };
  return sha === undefined ? r : { ...r, modelSha256: sha };
}

const opts = { stochastic: false, alsoKinds: ['fgsm-on-mnist'] };
const isIdentityError = (re: RegExp) => (e: unknown) => e instanceof ModelIdentityError && re.test(e.message);

test('model identity: a result on another model of the same name is refused, by SHA-256 or else by clean accuracy on the same images', () => {
  const results: ReproResults = { 'fgsm:A64-s1': report('A64-s1', 0.995), 'fgsm-on-mnist:A64-s1': report('A64-s1', 0.989), 'pgd:A64-s2': report('A64-s2', 0.9, 1000, 'b'.repeat(64)) };
  // Same clean accuracy on the same images (results recorded before SHA-256s were kept): accepted.
  checkModelIdentity(results, 'pgd:A64-s1', report('A64-s1', 0.995, 1000, 'a'.repeat(64)), opts);
  // Another clean accuracy on the same held-out images: refused, naming both evaluations.
  assert.throws(() => checkModelIdentity(results, 'pgd:A64-s1', report('A64-s1', 0.994), opts), isIdentityError(/pgd:A64-s1 scored A64-s1 0\.994 .* but fgsm:A64-s1 scored 0\.995/));
  // Other images (another count, or the other test set) are not comparable: accepted.
  checkModelIdentity(results, 'cw-paper:A64-s1', report('A64-s1', 0.97, 500), opts);
  checkModelIdentity(results, 'fgsm-on-mnist:A64-s1', report('A64-s1', 0.989), opts);
  // A stochastic model's clean accuracy is a fresh sample each time: only its SHA-256 can tell.
  checkModelIdentity(results, 'pgd:A64-s1', report('A64-s1', 0.9), { ...opts, stochastic: true });
  // SHA-256 on both sides decides, whatever the accuracies.
  checkModelIdentity(results, 'fgsm:A64-s2', report('A64-s2', 0.7, 1000, 'b'.repeat(64)), opts);
  assert.throws(() => checkModelIdentity(results, 'fgsm:A64-s2', report('A64-s2', 0.9, 1000, 'c'.repeat(64)), opts), isIdentityError(/fgsm:A64-s2 is measured on a model A64-s2 whose \.bnn has SHA-256 cccccccccccc….*pgd:A64-s2 .* bbbbbbbbbbbb…/));
});

test('model identity before the attacks: a model trained again must score the clean accuracy its results without a SHA-256 recorded', () => {
  const results: ReproResults = { 'fgsm:A64-s1': report('A64-s1', 0.995), 'cw-paper:A64-s1': report('A64-s1', 0.99, 500), 'fgsm-on-mnist:A64-s1': report('A64-s1', 0.9), 'pgd:A64-s1': report('A64-s1', 0.5, 1000, 'a'.repeat(64)), 'fgsm:B64-s1': report('B64-s1', 0.1) };
  const asked: number[] = [];
  const accuracy = (clean: Record<number, number>) => (n: number) => (asked.push(n), clean[n]!);
  checkRecordedCleanAccuracy(results, 'auto:A64-s1', accuracy({ 1000: 0.995, 500: 0.99 }), { alsoKinds: ['fgsm-on-mnist'] });
  assert.deepEqual(asked.sort(), [1000, 500], 'each image count measured once; the other test set, the SHA-256-keyed result and other models not at all');
  assert.throws(() => checkRecordedCleanAccuracy(results, 'auto:A64-s1', accuracy({ 1000: 0.995, 500: 0.988 }), { alsoKinds: ['fgsm-on-mnist'] }), isIdentityError(/A64-s1 as trained now scores 0\.988 clean on the first 500 test images, but cw-paper:A64-s1 recorded 0\.99/));
});

test('repro records the SHA-256 of the model each result was measured on, and refuses to add results of a model trained again differently', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-repro-identity-'));
  try {
    const config = { widths: [8], seeds: 1, epochs: 1, adv: { seeds: 1, epochs: 1, cleanEpochs: 0, steps: 2, step: 0.15, eps: 0.3 }, attackImages: 16, cwImages: 4, blackboxImages: 16, hsjImages: 2, hsjQueries: 50, dir, out: join(dir, 'R.md'), log: () => {}, only: ['A8-s1'], evals: ['fgsm', 'pgd'] };
    const data = loadData();
    await new Repro(config, data).run(1);
    const path = join(dir, 'R.json');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { results: Record<string, ReproResult> };
    const ckpt = loadCheckpoint(join(dir, 'A8-s1'));
    assert.equal(file.results['fgsm:A8-s1']!.modelSha256, modelSha256(modelFromParams(ckpt.graph, ckpt.params)), 'the result names the .bnn it was scored on');

    // As if the checkpoint had been lost and A8-s1 trained again into another model.
    file.results['fgsm:A8-s1'] = { ...file.results['fgsm:A8-s1']!, modelSha256: 'f'.repeat(64) };
    writeFileSync(path, JSON.stringify(file));
    await assert.rejects(new Repro(config, data).run(1), isIdentityError(/pgd:A8-s1 is measured on a model A8-s1 .* but fgsm:A8-s1 was measured on one with ffffffffffff…/));
    const after = JSON.parse(readFileSync(path, 'utf8')) as { results: Record<string, ReproResult> };
    assert.deepEqual(Object.keys(after.results), ['fgsm:A8-s1'], 'nothing was added');

    // A result recorded before SHA-256s were kept, whose clean accuracy this A8-s1 does not score.
    const { modelSha256: _sha, ...legacy } = file.results['fgsm:A8-s1'] as WhiteboxReport & { modelSha256?: string };
    file.results['fgsm:A8-s1'] = { ...legacy, cleanRuntimeAccuracy: legacy.cleanRuntimeAccuracy - 1 / 16 };
    writeFileSync(path, JSON.stringify(file));
    await assert.rejects(new Repro(config, data).run(1), isIdentityError(/A8-s1 as trained now scores .* clean on the first 16 test images, but fgsm:A8-s1 recorded/));
    // Recorded as this model scores it: accepted, and the next result carries the SHA-256.
    file.results['fgsm:A8-s1'] = legacy;
    writeFileSync(path, JSON.stringify(file));
    await new Repro(config, data).run(1);
    const last = JSON.parse(readFileSync(path, 'utf8')) as { results: Record<string, ReproResult> };
    assert.equal(last.results['pgd:A8-s1']?.modelSha256, modelSha256(modelFromParams(ckpt.graph, ckpt.params)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
