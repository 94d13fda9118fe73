/**
 * What the model-graph runtime costs and gains:
 * 1. No regression: B-64 and B-256 images/s at batch 128 and batch-1 latency on this build's
 *    runtime and on the previous build's (the fixed-trunk runtime before graphs), timed
 *    alternately in this process. The previous build is a bundle given by
 *    BNN_EDGE_PREVIOUS_RUNTIME (see bench/RESULTS.md for how to build it); without it the rows
 *    say so.
 * 2. The binary conv with SAME padding (bitPad + XOR-popcount, and the zero-padding correction)
 *    at K ≥ 64 channels, in G binary MAC/s against the XOR+popcount peak of the same process.
 * 3. The shipped graph models (Larq's tutorial net, the residual and plain Fashion-MNIST nets) and
 *    the residual conformance model on the runtime vs tfjs-wasm, batch 128 and batch 1, with
 *    their size against float32.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { lower } from '../../src/model/lower.js';
import { BnnRuntime } from '../../src/runtime/index.js';
import { instantiateKernels } from '../../src/runtime/wasm.js';
import { loadData } from '../../src/data/index.js';
import { modelFromParams } from '../../src/format/model.js';
import { readModelFile } from '../../src/format/file.js';
import { describeModel } from '../../src/format/info.js';
import { parseBnn } from '../../src/format/read.js';
import { serializeBnn } from '../../src/format/write.js';
import { initParams } from '../../src/model/params.js';
import { larqTutorial } from '../../src/model/presets.js';
import { DeployedGraph } from '../../src/model/tfjs/deployed.js';
import { tf, useTfjsBackend } from '../../src/tfjs/backend.js';
import { Rng } from '../../src/util/rng.js';
import { fmt, mdTable, time } from '../lib.js';

const MODELS = fileURLToPath(new URL('../../../models/', import.meta.url));
/** The graph models of models/train.sh beyond the paper's trunk, measured when shipped. */
const SHIPPED_GRAPH_MODELS = ['larq-mnist', 'larq-fashion', 'bireal-fashion', 'plain-fashion'];
const CONFORMANCE = fileURLToPath(new URL('../../../test/conformance/', import.meta.url));

interface RuntimeLike {
  predict(images: Float32Array, n: number): Int32Array;
}

/** Alternating timing of two runtimes on the same call (a, b, a, b), mean seconds each. */
function alternate(label: string, a: () => void, b: () => void): [number, number] {
  let ta = 0;
  let tb = 0;
  for (let r = 0; r < 2; r++) {
    ta += time(`${label} this`, a, { maxTime: 2 }).seconds / 2;
    tb += time(`${label} previous`, b, { maxTime: 2 }).seconds / 2;
  }
  return [ta, tb];
}

async function regression(rows: (string | number)[][], data: Record<string, unknown>[]): Promise<string | null> {
  const prevPath = process.env['BNN_EDGE_PREVIOUS_RUNTIME'];
  if (!prevPath || !existsSync(prevPath)) return `no previous build given (BNN_EDGE_PREVIOUS_RUNTIME=${prevPath ?? 'unset'}): the regression rows were not measured`;
  const prev = (await import(pathToFileURL(prevPath).href)) as { BnnRuntime: { load(b: Uint8Array, o: object): Promise<RuntimeLike> } };
  const test = loadData().test;
  for (const name of ['b64', 'b256']) {
    const bytes = readFileSync(`${MODELS}${name}.bnn`);
    const now = await BnnRuntime.load(bytes, { simd: true, maxBatch: 128 });
    const old = await prev.BnnRuntime.load(bytes, { simd: true, maxBatch: 128 });
    const x128 = test.images.subarray(0, 128 * 784);
    const x1 = test.images.subarray(0, 784);
    // Same labels before timing: a fast wrong runtime must not post a figure.
    const a = now.predict(test.images.subarray(0, 512 * 784), 512);
    const b = old.predict(test.images.subarray(0, 512 * 784), 512);
    if (a.some((v, i) => v !== b[i])) throw new Error(`${name}: this build and the previous one disagree`);
    const [t128, p128] = alternate(`${name} b128`, () => void now.predict(x128, 128), () => void old.predict(x128, 128));
    const [t1, p1] = alternate(`${name} b1`, () => void now.predict(x1, 1), () => void old.predict(x1, 1));
    rows.push([name, fmt(128 / t128, 0), fmt(128 / p128, 0), `${fmt((100 * p128) / t128, 1)}%`, fmt(t1 * 1000, 4), fmt(p1 * 1000, 4), `${fmt((100 * p1) / t1, 1)}%`]);
    data.push({ model: name, imagesPerSecond: { now: 128 / t128, previous: 128 / p128 }, batch1Ms: { now: t1 * 1000, previous: p1 * 1000 } });
  }
  return null;
}

/** The exactness figures: conformance vectors, the shipped 1.x models, the random-graph grid. */
async function exactness(): Promise<{ rows: (string | number)[][]; data: Record<string, unknown> }> {
  const { readdirSync } = await import('node:fs');
  const { createHash } = await import('node:crypto');
  const { parseBnn } = await import('../../src/format/read.js');
  const { serializeBnn } = await import('../../src/format/write.js');
  const { f32OfHex, hexOf } = await import('../../test/conformance/generate.js');
  const { randomGraph, randomGraphParams, dyadicImages } = await import('../../test/random_graphs.js');
  const rows: (string | number)[][] = [];
  let exact = 0;
  let runs = 0;
  const vectors = readdirSync(CONFORMANCE).filter((f) => f.endsWith('.json'));
  for (const f of vectors) {
    const v = JSON.parse(readFileSync(CONFORMANCE + f, 'utf8')) as { model: string; images: number; seed: number; input: string; logits: string };
    for (const simd of [true, false]) {
      const rt = await BnnRuntime.load(readFileSync(CONFORMANCE + v.model), { simd, seed: v.seed });
      runs++;
      if (hexOf(rt.logits(f32OfHex(v.input), v.images)) === v.logits) exact++;
    }
  }
  rows.push(['conformance vectors (test/conformance), simd and scalar', `${exact}/${runs} bit-exact`]);
  const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../../test/fixtures/v1-logits.json', import.meta.url)), 'utf8')) as { models: Record<string, { logitsSha256: string }> };
  const test = loadData().test;
  let same = 0;
  const names = Object.keys(fixture.models);
  for (const name of names) {
    const v1 = readFileSync(MODELS + name);
    let ok = true;
    for (const bytes of [v1, serializeBnn(parseBnn(v1))]) {
      const rt = await BnnRuntime.load(bytes, { maxBatch: 100 });
      const logits = new Float32Array(2000 * 10);
      for (let s = 0; s < 2000; s += 100) logits.set(rt.logits(test.images.subarray(s * 784, (s + 100) * 784), 100), s * 10);
      ok &&= createHash('sha256').update(new Uint8Array(logits.buffer)).digest('hex') === fixture.models[name]!.logitsSha256;
    }
    if (ok) same++;
  }
  rows.push(['shipped 1.x models: logits on 2,000 test images, read as 1.x and converted to 2.0, vs the 1.x runtime', `${same}/${names.length} bit-identical`]);
  await useTfjsBackend('wasm');
  let agree = 0;
  let images = 0;
  let worst = 0;
  const graphs = 200;
  for (let g = 0; g < graphs; g++) {
    const rng = new Rng(7000 + g);
    const graph = randomGraph(rng, `g${g}`);
    const model = parseBnn(serializeBnn(modelFromParams(graph, randomGraphParams(graph, rng), { int8: rng.next() < 0.6 ? 'auto' : false })));
    const x = dyadicImages(graph, 6, rng);
    const rt = await BnnRuntime.fromModel(model);
    const dg = new DeployedGraph(model);
    const a = rt.logits(x, 6);
    const b = tf.tidy(() => dg.logits(tf.tensor4d(x, [6, ...graph.input])).dataSync() as Float32Array);
    dg.dispose();
    const c = graph.classes;
    let scale = 1e-6;
    let diff = 0;
    for (let i = 0; i < 6; i++) {
      let ia = 0;
      let ib = 0;
      for (let j = 1; j < c; j++) {
        if (a[i * c + j]! > a[i * c + ia]!) ia = j;
        if (b[i * c + j]! > b[i * c + ib]!) ib = j;
      }
      agree += ia === ib ? 1 : 0;
      images++;
    }
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    worst = Math.max(worst, diff / scale);
  }
  rows.push([`${graphs} random graphs (test/graph_grid.test.ts), runtime vs the tfjs rebuild`, `${agree}/${images} labels equal; largest logit difference ${worst.toExponential(1)} of the largest logit`]);
  return { rows, data: { conformance: { exact, runs }, v1: { same, models: names.length }, grid: { graphs, agree, images, worstRelativeLogitDifference: worst } } };
}

export async function graphSuite(): Promise<{ markdown: string; data: unknown }> {
  const exactRows = await exactness();
  const regRows: (string | number)[][] = [];
  const regData: Record<string, unknown>[] = [];
  const regNote = await regression(regRows, regData);

  // 2. SAME binary conv against the peak.
  const ex = await instantiateKernels('simd');
  const rng = new Rng(3);
  const base = ex.heapBase();
  const peakWords = 4096;
  const need = base + (96 << 20);
  if (need > ex.memory.buffer.byteLength) ex.memory.grow(Math.ceil((need - ex.memory.buffer.byteLength) / 65536));
  const fillWords = (ptr: number, words: number) => {
    const v = new Uint32Array(ex.memory.buffer, ptr, words);
    for (let i = 0; i < words; i++) v[i] = rng.nextU32();
  };
  fillWords(base, 2 * peakWords);
  const reps = 2000;
  const peak = (peakWords * 32 * reps) / time('peak simd', () => void ex.xorPopcountPeak(base, base + peakWords * 4, peakWords, reps)).seconds / 1e9;
  const convRows: (string | number)[][] = [];
  const convData: Record<string, unknown>[] = [];
  for (const [c, hw] of [
    [64, 16],
    [128, 16],
    [256, 8],
  ] as const) {
    const batch = 16;
    const wpp = c / 32;
    const k = 3;
    const padded = hw + 2;
    let p = base + 2 * peakWords * 4;
    const alloc = (bytes: number) => {
      const at = p;
      p += Math.ceil(bytes / 16) * 16;
      return at;
    };
    const input = alloc(batch * hw * hw * wpp * 4);
    const pad = alloc(batch * padded * padded * wpp * 4);
    const weights = alloc(c * k * k * wpp * 4);
    const out = alloc(batch * hw * hw * c * 4);
    const corr = alloc(hw * hw * c * 4);
    fillWords(input, batch * hw * hw * wpp);
    fillWords(weights, c * k * k * wpp);
    new Int32Array(ex.memory.buffer, corr, hw * hw * c).fill(3);
    const one = () => {
      ex.bitPad(input, pad, batch, hw, hw, wpp, 1, 1, 1, 1);
      ex.bconv2dPopcount(pad, weights, out, batch, padded, padded, wpp, c, k, k, 1, 1, hw, hw);
    };
    const zero = () => {
      one();
      ex.zeroPadFixI32(out, batch, hw * hw * c, corr);
    };
    const macs = batch * hw * hw * c * k * k * c;
    const gOne = macs / time(`same +1 c${c}`, one).seconds / 1e9;
    const gZero = macs / time(`same 0 c${c}`, zero).seconds / 1e9;
    convRows.push([`3×3 SAME, ${hw}×${hw}×${c} → ${c}, batch ${batch}`, fmt(gOne, 1), `${fmt((100 * gOne) / peak, 0)}%`, fmt(gZero, 1), `${fmt((100 * gZero) / peak, 0)}%`]);
    convData.push({ channels: c, side: hw, gmacsOnePadding: gOne, gmacsZeroPadding: gZero, peak });
  }

  // 3. Graphs beyond the paper's trunk: runtime vs tfjs-wasm.
  await useTfjsBackend('wasm');
  const shipped = SHIPPED_GRAPH_MODELS.filter((m) => existsSync(`${MODELS}${m}.bnn`)).map((m) => ({ ...readModelFile(`${MODELS}${m}.bnn`), name: m }));
  const larq = larqTutorial();
  const models = [
    ...(shipped.length ? shipped : [{ name: 'larq-tutorial (random weights)', model: modelFromParams(larq, initParams(larq, 1)), bytes: serializeBnn(modelFromParams(larq, initParams(larq, 1))) }]),
    { name: 'residual (conformance)', model: parseBnn(readFileSync(`${CONFORMANCE}residual.bnn`)), bytes: readFileSync(`${CONFORMANCE}residual.bnn`) },
  ];
  const modelRows: (string | number)[][] = [];
  const modelData: Record<string, unknown>[] = [];
  for (const { name, model, bytes } of models) {
    const [h, w, c] = model.graph.input;
    const x = Float32Array.from({ length: 128 * h * w * c }, () => rng.next());
    const rt = await BnnRuntime.fromModel(model, { simd: true, maxBatch: 128 });
    const graph = new DeployedGraph(model);
    const tRt = time(`${name} runtime b128`, () => void rt.predict(x, 128)).seconds;
    const x1 = x.subarray(0, h * w * c);
    const tRt1 = time(`${name} runtime b1`, () => void rt.predict(x1, 1)).seconds;
    const xt = tf.tensor4d(x, [128, h, w, c]);
    const xt1 = tf.tensor4d(x1, [1, h, w, c]);
    const tTf = time(`${name} tfjs b128`, () => tf.tidy(() => void graph.logits(xt).dataSync())).seconds;
    const tTf1 = time(`${name} tfjs b1`, () => tf.tidy(() => void graph.logits(xt1).dataSync())).seconds;
    xt.dispose();
    xt1.dispose();
    graph.dispose();
    rt.dispose();
    const info = describeModel(model, bytes.length);
    modelRows.push([name, lower(model).steps.length, fmt(bytes.length), `${fmt(info.compression, 1)}×`, fmt(128 / tRt, 0), fmt(128 / tTf, 0), `${fmt(tTf / tRt, 1)}×`, fmt(tRt1 * 1e3, 3), fmt(tTf1 * 1e3, 3), `${fmt(tTf1 / tRt1, 1)}×`]);
    modelData.push({ model: name, bytes: bytes.length, compression: info.compression, runtimeImagesPerSecond: 128 / tRt, tfjsImagesPerSecond: 128 / tTf, runtimeBatch1Ms: tRt1 * 1e3, tfjsBatch1Ms: tTf1 * 1e3 });
  }

  const markdown = [
    'Exactness (the tests assert the same; here as figures):',
    '',
    mdTable(['check', 'result'], exactRows.rows),
    '',
    'Runtime on model graphs against the previous build (the fixed-trunk runtime of commit 8e59078), timed alternately in one process (simd, one thread; "speed vs prev" is the previous build\'s time ÷ this one\'s: above 100% this build is faster):',
    '',
    'The previous build is a bundle named by `BNN_EDGE_PREVIOUS_RUNTIME`: `git worktree add /tmp/prev 8e59078 && (cd /tmp/prev && npm ci && npm run build)`, then `BNN_EDGE_PREVIOUS_RUNTIME=/tmp/prev/dist/runtime/bnn-edge-runtime.js npm run bench -- --suite graph`.',
    '',
    regNote ?? mdTable(['model', 'img/s b128 (this)', 'img/s b128 (prev)', 'speed vs prev', 'b1 ms (this)', 'b1 ms (prev)', 'speed vs prev'], regRows),
    '',
    `Binary conv with SAME padding (bitPad, then the XOR-popcount conv; zero padding adds the border correction), simd, against the streaming XOR+popcount peak of ${fmt(peak, 1)} G/s measured in the same process:`,
    '',
    mdTable(['shape', 'G MAC/s, +1 padding', 'of peak', 'G MAC/s, zero padding', 'of peak'], convRows),
    '',
    'Graphs beyond the paper\'s trunk (the shipped graph models, trained), runtime (simd, one thread) vs the same graph on tfjs-wasm, batch 128 and batch 1; size of the .bnn against the same parameters as float32:',
    '',
    mdTable(['model', 'plan steps', '.bnn bytes', 'vs float32', 'runtime img/s b128', 'tfjs-wasm img/s b128', 'runtime ÷ tfjs', 'runtime ms b1', 'tfjs-wasm ms b1', 'runtime ÷ tfjs'], modelRows),
  ].join('\n');
  return { markdown, data: { exactness: exactRows.data, regression: regData, sameConv: convData, models: modelData } };
}
