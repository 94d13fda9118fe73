/**
 * Sizes: every shipped model as .bnn vs its float32 weights vs the same graph saved the tfjs way
 * (model.json + weights .bin), per layer; and the runtime's own footprint (.wasm + JS, gzipped).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { listModels } from '../../src/eval/demo.js';
import { describeModel } from '../../src/format/info.js';
import { readModelFile } from '../../src/format/file.js';
import { DeployedGraph } from '../../src/model/tfjs/deployed.js';
import { initTfjs, tf } from '../../src/tfjs/backend.js';
import { fmt, mdTable } from '../lib.js';

export const MODELS_DIR = fileURLToPath(new URL('../../../models/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Bytes of the rebuilt graph saved as tfjs would: weights manifest JSON + float32 .bin. */
async function tfjsSavedBytes(graph: DeployedGraph): Promise<number> {
  const named = graph.namedTensors();
  const { data, specs } = await tf.io.encodeWeights(named);
  const modelJson = JSON.stringify({ format: 'graph-model', generatedBy: 'bnn-edge', modelTopology: { node: Object.keys(named) }, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }] });
  return data.byteLength + modelJson.length;
}

/** Relative-import closure of a compiled ESM file (what a bundler would include). */
export function importClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) visit(join(dirname(file), m[1]!));
  };
  visit(entry);
  return [...seen];
}

export async function sizeSuite(): Promise<{ markdown: string; data: unknown }> {
  await initTfjs();
  const rows: (string | number)[][] = [];
  const data = [];
  for (const p of listModels(MODELS_DIR)) {
    const { bytes, model } = readModelFile(p);
    const info = describeModel(model, bytes.length);
    const graph = new DeployedGraph(model);
    const tfjsBytes = await tfjsSavedBytes(graph);
    graph.dispose();
    const name = basename(p, '.bnn');
    rows.push([name, fmt(info.fileBytes), fmt(info.float32Bytes), `${info.compression.toFixed(1)}×`, fmt(tfjsBytes), `${(tfjsBytes / info.fileBytes).toFixed(1)}×`, info.layers.map((l) => `${l.name} ${fmt(l.bytes)}`).join(', ')]);
    data.push({ name, fileBytes: info.fileBytes, float32Bytes: info.float32Bytes, compression: info.compression, tfjsBytes });
  }
  // The runtime's own footprint: the standalone bundle (`bnn-edge/runtime`, what goes on a device)
  // and its two kernel builds; the unbundled module closure is listed for reference.
  const gz = (b: Uint8Array) => gzipSync(b, { level: 9 }).length;
  const files = ['packages/runtime/dist/bnn-edge-runtime.browser.js', 'packages/runtime/dist/bnn-simd.wasm', 'packages/runtime/dist/bnn-scalar.wasm'].map((f) => {
    const b = readFileSync(join(ROOT, f));
    return { f, bytes: b.length, gzip: gz(b) };
  });
  const js = importClosure(join(ROOT, 'dist/src/runtime/browser.js'));
  const foot = files.map(({ f, bytes, gzip }) => [f, fmt(bytes), fmt(gzip)]);
  const device = files[0]!.bytes + files[1]!.bytes;
  const deviceGz = files[0]!.gzip + files[1]!.gzip;
  const markdown =
    mdTable(['model', '.bnn bytes', 'float32 weights bytes', '.bnn smaller by', 'tfjs model.json + .bin bytes', 'tfjs / .bnn', 'bytes per layer in the .bnn'], rows) +
    '\n\nfloat32 weights = every parameter of the same model (batch-norm statistics and SReLU scales included) as 4-byte floats. Binary layers pack 32 weights per 4-byte word; conv1 is int8 in binary models (float32 in A) and dense stays float32. The tfjs column saves the graph rebuilt from the .bnn with tf.io.encodeWeights (float32 ±1 weights plus the folded thresholds).\n\n' +
    'Runtime footprint (what ships besides the model: the browser bundle of the bnn-edge-runtime package, no dependencies):\n\n' +
    mdTable(['file', 'bytes', 'gzipped'], foot) +
    `\n\nOn a simd128 device: ${fmt(device)} bytes (${fmt(deviceGz)} gzipped) for the bundle and the simd build. The bundle is esbuild's output of ${js.length} modules: ${js.map((f) => f.slice(ROOT.length)).join(', ')}, with @assemblyscript/loader inlined.`;
  return { markdown, data: { models: data, runtime: files.map(({ f, bytes, gzip }) => ({ file: f, bytes, gzip })) } };
}
