/**
 * bnn-edge as a library, imported by its package name the way a user's code imports it: the
 * `exports` map resolves, every pipeline stage is reachable from the one entry, and a short real
 * job (load a shipped model, attack it on tfjs, replay on the runtime) runs through public API only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const MODELS = new URL('../../models/', import.meta.url);

test('the package entry exposes every stage of the pipeline', async () => {
  const lib = await import('bnn-edge');
  const stages = {
    data: ['loadData'],
    'model / train': ['defineGraph', 'Sequential', 'GraphBuilder', 'quantConv2d', 'paperModel', 'lower', 'train', 'saveCheckpoint', 'loadCheckpoint'],
    format: ['parseBnn', 'serializeBnn', 'modelFromParams', 'packSigns', 'describeModel'],
    runtime: ['BnnRuntime', 'BnnPool'],
    attacks: ['fgsm', 'pgd', 'carliniWagnerL2', 'trainSubstitute', 'hopSkipJump', 'RuntimeOracle', 'LogitsOracle', 'attackLoss'],
    eval: ['evaluateParity', 'replay', 'whiteboxEval', 'blackboxEval', 'hsjEval', 'transferMatrix', 'runDemo', 'Repro', 'renderReproduction', 'paperCells', 'compareCells', 'plateauChart', 'budgetCurve'],
  } as const;
  const table = lib as unknown as Record<string, unknown>;
  for (const [stage, names] of Object.entries(stages)) for (const name of names) assert.equal(typeof table[name], 'function', `${stage}: ${name}`);
  assert.deepEqual([...lib.WHITEBOX_ATTACKS], ['fgsm', 'pgd', 'cw', 'cw-paper', 'eot-pgd']);
  // The device build: the standalone runtime bundle, no tfjs.
  // A specifier tsc does not resolve: the package's bundled types are built after the tests compile.
  const specifier = 'bnn-edge/runtime';
  const device = (await import(specifier)) as typeof import('../src/runtime/index.js');
  assert.equal(typeof device.BnnRuntime.load, 'function');
  // In Node it is the runtime the harness uses: one class, one error type, whichever entry a program imports.
  assert.equal(device.BnnRuntime, lib.BnnRuntime);
  assert.equal(device.BnnFormatError, lib.BnnFormatError);
  // What the CLI does beyond the stages is a function too, with the types its options need.
  for (const name of ['saveAdversarial', 'accuracyPlotSvg', 'npyFloat32', 'pairGridPng', 'ModelIdentityError', 'Rng', 'CountedOracle', 'BnnFileError', 'FileReadError', 'readBoundedFile']) {
    assert.equal(typeof table[name], 'function', name);
  }
  assert.deepEqual([...lib.CRAFT_LABELS], ['true', 'predicted']);
});

test('a user script: load b64.bnn, FGSM on tfjs, replayed on the runtime, through the package entry', async () => {
  const { loadData, parseBnn, BnnRuntime, whiteboxEval } = await import('bnn-edge');
  const bytes = readFileSync(new URL('b64.bnn', MODELS));
  const model = parseBnn(bytes, { source: 'b64.bnn' });
  const { test: images } = loadData();
  const rt = await BnnRuntime.load(bytes);
  const clean = rt.predict(images.images.subarray(0, 100 * 784), 100);
  assert.ok(clean.filter((p, i) => p === images.labels[i]).length >= 85, 'b64 classifies clean digits');
  rt.dispose();
  const report = await whiteboxEval('b64', model, images, { attack: 'fgsm', eps: [0.3], n: 100 });
  const row = report.rows[0]!;
  assert.equal(row.eps, 0.3);
  assert.ok(row.runtimeAccuracy < report.cleanRuntimeAccuracy, `FGSM lowers runtime accuracy: ${row.runtimeAccuracy} vs ${report.cleanRuntimeAccuracy}`);
  assert.ok(row.agreement >= 0.97, `the runtime agrees with tfjs on the adversarial images: ${row.agreement}`);
});
