/**
 * The runtime against the conformance vectors (test/conformance/: .bnn 2.x files covering every
 * layer kind and arithmetic corner, with inputs and expected logits as float32 bits), and every
 * shipped 1.x model against the logits the 1.x runtime computed (test/fixtures/v1-logits.json),
 * read as 1.x and after conversion to 2.0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadData } from '../src/data/index.js';
import { parseBnn } from '../src/format/read.js';
import { serializeBnn } from '../src/format/write.js';
import { DeployedGraph } from '../src/model/tfjs/deployed.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { initTfjs, tf } from '../src/tfjs/backend.js';
import { CONFORMANCE_DIR, f32OfHex, hexOf, type ConformanceVector } from './conformance/generate.js';

const vectors = readdirSync(CONFORMANCE_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(CONFORMANCE_DIR + f, 'utf8')) as ConformanceVector);

test('conformance vectors: the runtime reproduces every logit bit for bit (simd and scalar builds)', async () => {
  assert.ok(vectors.length >= 8, `${vectors.length} vectors`);
  const ops = new Set<string>();
  for (const v of vectors) {
    const bytes = readFileSync(CONFORMANCE_DIR + v.model);
    const version = parseBnn(bytes).version;
    assert.equal(version.major, 2, `${v.model} is a 2.x file`);
    if (version.minor === 1) ops.add('format 2.1');
    const input = f32OfHex(v.input);
    for (const simd of [true, false]) {
      const rt = await BnnRuntime.load(bytes, { simd, seed: v.seed, resample: v.resample });
      for (const s of rt.plan.steps) ops.add(s.op === 'bconv' && s.maskWords ? 'bconv ternary' : s.op);
      assert.equal(hexOf(rt.logits(input, v.images)), v.logits, `${v.model} (${simd ? 'simd' : 'scalar'}): logits differ`);
      rt.reseed(v.seed);
      assert.deepEqual(Array.from(rt.predict(input, v.images)), v.labels);
      rt.dispose();
    }
  }
  // Together they cover every step the lowering emits.
  for (const op of ['accToF32', 'add', 'avgPool', 'bconv', 'bitMaxPool', 'bitPad', 'chain', 'conv', 'dense', 'flatten', 'globalAvgPool', 'maxPool', 'qconvThreshold', 'quantizeU8', 'threshold', 'bconv ternary', 'format 2.1']) assert.ok(ops.has(op), `no vector runs a ${op} step`);
});

test('conformance vectors: the tfjs graph rebuilt from each file gives the same labels (deterministic models)', async () => {
  await initTfjs();
  for (const v of vectors) {
    const model = parseBnn(readFileSync(CONFORMANCE_DIR + v.model));
    const graph = new DeployedGraph(model);
    if (graph.stochastic) {
      graph.dispose();
      continue;
    }
    const logits = tf.tidy(() => graph.logits(tf.tensor4d(f32OfHex(v.input), [v.images, ...(v.shape as [number, number, number])])).arraySync());
    assert.deepEqual(
      logits.map((row) => row.indexOf(Math.max(...row))),
      v.labels,
      `${v.model}: tfjs labels`,
    );
    graph.dispose();
  }
});

test('every shipped 1.x model: bit-identical logits to the 1.x runtime, read as 1.x and after conversion to 2.0', async () => {
  const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../test/fixtures/v1-logits.json', import.meta.url)), 'utf8')) as { models: Record<string, { sha256: string; logitsSha256: string }> };
  const test = loadData().test;
  const models = fileURLToPath(new URL('../../models/', import.meta.url));
  const names = Object.keys(fixture.models);
  assert.ok(names.length >= 12);
  for (const name of names) {
    const v1 = readFileSync(models + name);
    assert.equal(createHash('sha256').update(v1).digest('hex'), fixture.models[name]!.sha256, `${name} is the file the fixture measured`);
    const v2 = serializeBnn(parseBnn(v1));
    assert.equal(parseBnn(v2).version.major, 2);
    for (const [label, bytes] of [['1.x', v1], ['2.0', v2]] as const) {
      const rt = await BnnRuntime.load(bytes, { maxBatch: 100 });
      const logits = new Float32Array(2000 * 10);
      // 100 images per call, as the fixture was made (a stochastic model draws once per call).
      for (let s = 0; s < 2000; s += 100) logits.set(rt.logits(test.images.subarray(s * 784, (s + 100) * 784), 100), s * 10);
      assert.equal(createHash('sha256').update(new Uint8Array(logits.buffer)).digest('hex'), fixture.models[name]!.logitsSha256, `${name} read as ${label}`);
      rt.dispose();
    }
  }
});
