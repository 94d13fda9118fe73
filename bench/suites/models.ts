/**
 * Whole-model speed: images/s at batch 1 and batch 128 on one core, for B and C at K = 64/128/256
 * and A-64 / R-64 (what the biases cost), on the packed runtime and on tfjs (the rebuilt graph: float math on ±1 values) with
 * the wasm backend, the CPU backend, and tfjs-node when installed — ratios from the same run —
 * plus where the runtime's time goes, layer by layer. Every runtime model's labels are checked
 * against the tfjs graph before timing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadData } from '../../src/data/index.js';
import { modelFromParams, type BnnModel } from '../../src/format/model.js';
import { readModelFile } from '../../src/format/file.js';
import { DeployedGraph } from '../../src/model/tfjs/deployed.js';
import { initParams } from '../../src/model/params.js';
import { predictLabels } from '../../src/model/tfjs/predict.js';
import { paperModelName, paperModel, type Arch } from '../../src/model/presets.js';
import { BnnRuntime } from '../../src/runtime/index.js';
import { initTfjs, tf, useTfjsBackend, type TfjsBackendName } from '../../src/tfjs/backend.js';
import { fmt, mdTable, time } from '../lib.js';
import { MODELS_DIR } from './size.js';

function loadOrRandom(arch: Arch, k: number): { model: BnnModel; shipped: boolean } {
  const path = join(MODELS_DIR, `${paperModelName(arch, k)}.bnn`);
  if (existsSync(path)) return { model: readModelFile(path).model, shipped: true };
  // Speed does not depend on the weights: a model of the same shape stands in.
  return { model: modelFromParams(paperModel(arch, k), initParams(paperModel(arch, k), 1)), shipped: false };
}

async function tfjsAvailable(name: TfjsBackendName): Promise<boolean> {
  try {
    await useTfjsBackend(name);
    return true;
  } catch {
    return false;
  }
}

export async function modelsSuite(): Promise<{ markdown: string; data: unknown }> {
  await initTfjs('wasm');
  const data = loadData();
  const x1 = data.test.images.subarray(0, 784);
  const x128 = data.test.images.subarray(0, 128 * 784);
  const hasNode = await tfjsAvailable('tensorflow');
  const configs: [Arch, number][] = [
    ['B', 64],
    ['C', 64],
    ['B', 128],
    ['C', 128],
    ['B', 256],
    ['C', 256],
    ['A', 64],
    ['R', 64],
  ];
  const rows: (string | number)[][] = [];
  const splitRows: (string | number)[][] = [];
  const out = [];
  for (const [arch, k] of configs) {
    const { model, shipped } = loadOrRandom(arch, k);
    const name = `${paperModelName(arch, k)}${shipped ? '' : '*'}`;
    const rt = await BnnRuntime.fromModel(model, { simd: true, maxBatch: 128 });
    await useTfjsBackend('wasm');
    const graph = new DeployedGraph(model);
    // Correctness inside the benchmark: runtime labels vs the tfjs graph on 256 test images.
    const check = data.test.images.subarray(0, 256 * 784);
    const a = rt.predict(check, 256);
    const b = predictLabels(graph.logitsFn, check, 256, graph.inputShape);
    let agree = 0;
    for (let i = 0; i < 256; i++) agree += a[i] === b[i] ? 1 : 0;
    if (agree < 250) throw new Error(`${name}: runtime and tfjs agree on only ${agree}/256 images — not timing a wrong kernel`);
    const rt1 = 1 / time(`${name} runtime b1`, () => void rt.predict(x1, 1)).seconds;
    const rt128 = 128 / time(`${name} runtime b128`, () => void rt.predict(x128, 128)).seconds;
    const tfTime = (batch: number, maxTime: number) => {
      const xs = tf.tensor4d(batch === 1 ? x1 : x128, [batch, 28, 28, 1]);
      const t = time(`${name} tfjs b${batch}`, () => tf.tidy(() => void graph.logits(xs).dataSync()), { maxTime, minSamples: 2 });
      xs.dispose();
      return batch / t.seconds;
    };
    const wasm1 = tfTime(1, 2);
    const wasm128 = tfTime(128, 3);
    graph.dispose();
    let cpu128 = NaN;
    let node128 = NaN;
    if (k === 64) {
      await useTfjsBackend('cpu');
      const g = new DeployedGraph(model);
      const xs = tf.tensor4d(x128, [128, 28, 28, 1]);
      cpu128 = 128 / time(`${name} tfjs-cpu b128`, () => tf.tidy(() => void g.logits(xs).dataSync()), { maxTime: 0.1, minSamples: 1 }).seconds;
      xs.dispose();
      g.dispose();
    }
    if (hasNode) {
      await useTfjsBackend('tensorflow');
      const g = new DeployedGraph(model);
      const xs = tf.tensor4d(x128, [128, 28, 28, 1]);
      node128 = 128 / time(`${name} tfjs-node b128`, () => tf.tidy(() => void g.logits(xs).dataSync()), { maxTime: 2 }).seconds;
      xs.dispose();
      g.dispose();
    }
    await useTfjsBackend('wasm');
    const prof = rt.profile(x128, 128, 10);
    const total = prof.reduce((s, p) => s + p.ms, 0);
    splitRows.push([name, ...prof.map((p) => `${p.layer} (${p.kind}) ${fmt((1000 * p.ms) / 128, 1)} µs (${fmt((100 * p.ms) / total, 0)}%)`)].slice(0, 7) as string[]);
    rows.push([
      name,
      fmt(rt1),
      `${fmt(1000 / rt1, 3)} ms`,
      fmt(rt128),
      fmt(wasm1),
      fmt(wasm128),
      `**${fmt(rt128 / wasm128, 1)}×**`,
      Number.isNaN(cpu128) ? 'not run (K > 64)' : `${fmt(cpu128, 1)} (${fmt(rt128 / cpu128, 0)}×)`,
      hasNode ? `${fmt(node128)} (${fmt(rt128 / node128, 1)}×)` : 'not installed',
    ]);
    out.push({ model: name, shipped, runtimeBatch1: rt1, runtimeBatch128: rt128, tfjsWasmBatch1: wasm1, tfjsWasmBatch128: wasm128, tfjsCpuBatch128: cpu128, tfjsNodeBatch128: node128, speedupVsTfjsWasm128: rt128 / wasm128, profile: prof });
    rt.dispose();
  }
  const markdown =
    mdTable(['model', 'runtime img/s, batch 1', 'batch-1 latency', 'runtime img/s, batch 128', 'tfjs-wasm img/s, batch 1', 'tfjs-wasm img/s, batch 128', 'runtime / tfjs-wasm (batch 128)', 'tfjs CPU img/s, batch 128', 'tfjs-node img/s, batch 128'], rows) +
    '\n\n`*` = not shipped in models/; a model of the same shape with random weights stands in (speed does not depend on the weights). All on one core; the runtime uses the simd128 build. tfjs runs the graph rebuilt from the same .bnn (float32 math on ±1 values) — what a user would otherwise deploy.\n\n' +
    'Where the runtime\'s time goes (batch 128, µs per image):\n\n' +
    mdTable(['model', 'layer 1', 'layer 2', 'layer 3', 'layer 4', 'input + overhead'], splitRows);
  return { markdown, data: out };
}
