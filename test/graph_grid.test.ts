/**
 * The grid: 200 random valid graphs (random layer kinds, shapes, channel counts that are not
 * multiples of 32, SAME padding with both pad values, residual adds, pools of bits and floats,
 * int8 first layers) with random weights. For each: the .bnn round trip, simd = scalar bit for
 * bit, and the runtime against the tfjs graph rebuilt from the same file — every label equal,
 * logits equal within float32 tolerance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelFromParams, usesTernary } from '../src/format/model.js';
import { parseBnn } from '../src/format/read.js';
import { serializeBnn } from '../src/format/write.js';
import { DeployedGraph } from '../src/model/tfjs/deployed.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { initTfjs, tf } from '../src/tfjs/backend.js';
import { Rng } from '../src/util/rng.js';
import { dyadicImages, randomGraph, randomGraphParams, type RandomGraphOptions } from './random_graphs.js';

const GRAPHS = Number(process.env['BNN_EDGE_GRID'] ?? 200);
const IMAGES = 6;

function argmax(logits: ArrayLike<number>, n: number, c: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let j = 1; j < c; j++) if (logits[i * c + j]! > logits[i * c + best]!) best = j;
    return best;
  });
}

/** Runs `count` random graphs on the runtime (simd, scalar) and the tfjs rebuild; returns how often each step kind ran. */
async function runGrid(count: number, seedBase: number, opts: RandomGraphOptions): Promise<{ seen: Map<string, number>; worstRel: number }> {
  await initTfjs();
  const seen = new Map<string, number>();
  const note = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
  let worstRel = 0;
  for (let g = 0; g < count; g++) {
    const rng = new Rng(seedBase + g);
    const graph = randomGraph(rng, `g${g}`, opts);
    const model = modelFromParams(graph, randomGraphParams(graph, rng), { int8: rng.next() < 0.6 ? 'auto' : false });
    const bytes = serializeBnn(model);
    const parsed = parseBnn(bytes);
    assert.deepEqual(parsed.graph, model.graph, `g${g}: the graph survives the file`);
    assert.equal(parsed.version.minor, usesTernary(graph) ? 1 : 0, `g${g}: ternary weights make a 2.1 file, others stay 2.0`);
    const images = dyadicImages(graph, IMAGES, rng);
    const simd = await BnnRuntime.fromModel(parsed, { simd: true, maxBatch: 4 });
    const scalar = await BnnRuntime.fromModel(parsed, { simd: false });
    for (const s of simd.plan.steps) {
      note(s.op);
      if (s.op === 'bconv' && s.correction && !s.maskWords) note('bconv zero padding');
      if (s.op === 'bconv' && s.maskWords) note('bconv ternary');
      if (s.op === 'bitPad') note('bitPad (+1 padding)');
      if (s.op === 'bitMaxPool' && s.orMask.some((w) => w !== 0)) note('bitMaxPool with OR channels');
      const c = simd.plan.values[s.inputs[0]!]!.shape[2];
      if (s.op === 'bconv' && c % 32 !== 0) note('bconv, channels not a multiple of 32');
      if (s.op === 'bconv' && s.kh * s.kw > 1 && simd.plan.values[s.output]!.shape[0] === 1 && simd.plan.values[s.output]!.shape[1] === 1) note('binary dense over a flattened tensor');
    }
    const ls = simd.logits(images, IMAGES);
    assert.deepEqual(scalar.logits(images, IMAGES), ls, `g${g}: scalar and simd logits differ`);
    const dg = new DeployedGraph(parsed);
    const lt = tf.tidy(() => dg.logits(tf.tensor4d(images, [IMAGES, ...graph.input])).dataSync() as Float32Array);
    dg.dispose();
    const classes = graph.classes;
    assert.deepEqual(argmax(ls, IMAGES, classes), argmax(lt, IMAGES, classes), `g${g}: labels differ (${graph.layers.map((l) => l.kind).join(' ')})`);
    let diff = 0;
    let scale = 1e-6;
    for (let i = 0; i < ls.length; i++) {
      diff = Math.max(diff, Math.abs(ls[i]! - lt[i]!));
      scale = Math.max(scale, Math.abs(lt[i]!));
    }
    worstRel = Math.max(worstRel, diff / scale);
    assert.ok(diff <= 1e-4 * scale, `g${g}: logits differ by ${diff} (largest ${scale})`);
    simd.dispose();
    scalar.dispose();
  }
  return { seen, worstRel };
}

test(`grid: ${GRAPHS} random graphs — runtime (simd, scalar) vs the tfjs rebuild, every label, logits within float32 tolerance`, async () => {
  const { seen, worstRel } = await runGrid(GRAPHS, 7000, {});
  // The grid covered what it is for.
  for (const op of ['conv', 'qconvThreshold', 'bconv', 'threshold', 'bitMaxPool', 'bitPad', 'bconv zero padding', 'bitMaxPool with OR channels', 'bconv, channels not a multiple of 32', 'binary dense over a flattened tensor', 'add', 'avgPool', 'maxPool', 'globalAvgPool', 'chain', 'accToF32', 'dense']) {
    assert.ok((seen.get(op) ?? 0) >= Math.min(3, GRAPHS / 20), `the grid ran ${op} only ${seen.get(op) ?? 0} times`);
  }
  process.stdout.write(`# grid: ${GRAPHS} graphs, largest relative logit difference runtime vs tfjs ${worstRel.toExponential(2)}; steps: ${[...seen].map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
});

test(`grid: ${Math.ceil(GRAPHS / 2)} random graphs with ternary layers (format 2.1) — runtime vs the tfjs rebuild, and the file round trip`, async () => {
  const { seen, worstRel } = await runGrid(Math.ceil(GRAPHS / 2), 9000, { ternary: true });
  for (const op of ['bconv ternary', 'bconv', 'dense', 'conv']) assert.ok((seen.get(op) ?? 0) >= Math.min(3, GRAPHS / 20), `the ternary grid ran ${op} only ${seen.get(op) ?? 0} times`);
  process.stdout.write(`# ternary grid: largest relative logit difference ${worstRel.toExponential(2)}; ternary bconv steps ${seen.get('bconv ternary') ?? 0}\n`);
});
