/**
 * Writes the conformance vectors in test/conformance/: small .bnn 2.x files that together use
 * every layer kind and the corners of the arithmetic, each with input images and the runtime's
 * logits as exact float32 bits. A reader of docs/FORMAT.md is correct when it reproduces them bit
 * for bit (test/conformance.test.ts checks bnn-edge's own runtime, simd and scalar).
 *
 *   node dist/test/conformance/generate.js   (after npm run build; rewrites the files)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { modelFromParams, type BnnModel } from '../../src/format/model.js';
import { serializeBnn } from '../../src/format/write.js';
import { defineGraph, type ModelGraph } from '../../src/model/graph.js';
import type { ParamValues } from '../../src/model/params.js';
import { larqTutorial, paperModel } from '../../src/model/presets.js';
import { BnnRuntime } from '../../src/runtime/index.js';
import { formatJson } from '../../src/util/json.js';
import { Rng } from '../../src/util/rng.js';
import { randomGraphParams } from '../random_graphs.js';

export interface ConformanceVector {
  /** What the model exercises. */
  readonly covers: string;
  readonly model: string;
  readonly images: number;
  readonly shape: readonly number[];
  /** Runtime options the logits were computed with (stochastic layers: seed, one call). */
  readonly seed: number;
  readonly resample: 'per-call';
  /** Input pixels, float32 little-endian, as hex. */
  readonly input: string;
  /** Expected logits [images][classes], float32 little-endian, as hex. */
  readonly logits: string;
  readonly labels: readonly number[];
}

export const CONFORMANCE_DIR = fileURLToPath(new URL('../../../test/conformance/', import.meta.url));

export function hexOf(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
}

export function f32OfHex(hex: string): Float32Array {
  const b = Buffer.from(hex, 'hex');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

const bn = (name: string, o: Record<string, unknown> = {}) => ({ kind: 'batchNorm', name, epsilon: 1e-3, ...o });
const bin = { inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' } as const;

/** The models: graph, how to fill its parameters, and what it covers. */
function cases(): { name: string; covers: string; graph: ModelGraph; params?: (g: ModelGraph, rng: Rng) => ParamValues; int8?: boolean; levels?: number }[] {
  return [
    {
      name: 'pad-one',
      params: (g, rng) => {
        const p = randomGraphParams(g, rng);
        // Zero γ on both sides of zero β: a constant sign, +1 where β ≥ 0 (float and popcount inputs).
        for (const [layer, c] of [['bn1', 3], ['bn1', 4], ['bn2', 5], ['bn2', 6]] as const) {
          if (p.has(`${layer}/gamma`)) p.get(`${layer}/gamma`)![c] = 0;
          else p.get(`${layer}/moving_variance`)![c] = 1e30;
          p.get(`${layer}/beta`)![c] = c % 2 ? 0.7 : -0.3;
        }
        return p;
      },
      covers: 'binary-weight conv on a float RGB image (SAME), batch norm with negative and zero γ (and a zero slope through a huge variance) on both sides of zero β, max-pool of bits (AND and OR channels), binary conv SAME with +1 padding on 40 channels (a partial word), flatten of 40-channel bits into a binary dense layer, per-feature batch norm on logits',
      graph: defineGraph({
        name: 'pad-one',
        input: [9, 7, 3],
        classes: 5,
        layers: [
          { kind: 'quantConv2d', name: 'conv1', filters: 40, kernelSize: 3, padding: 'same', kernelQuantizer: 'ste_sign' },
          bn('bn1'),
          { kind: 'maxPool2d', name: 'pool1', poolSize: 2, padding: 'same' },
          { kind: 'quantConv2d', name: 'conv2', filters: 40, kernelSize: 3, padding: 'same', padValue: 1, ...bin },
          bn('bn2', { scale: false }),
          { kind: 'flatten', name: 'flatten' },
          { kind: 'quantDense', name: 'dense1', units: 13, ...bin },
          bn('bn3'),
          { kind: 'quantDense', name: 'dense2', units: 5, ...bin },
          bn('bn4'),
        ],
      }),
    },
    {
      name: 'pad-zero',
      covers: 'binary conv SAME with zero padding, stride 2, a 3×2 kernel (the per-pixel border correction), average pool, ReLU and scale as floats, float dense with bias',
      graph: defineGraph({
        name: 'pad-zero',
        input: [11, 10, 1],
        classes: 4,
        layers: [
          { kind: 'quantConv2d', name: 'conv1', filters: 33, kernelSize: 3, useBias: true },
          bn('bn1'),
          { kind: 'quantConv2d', name: 'conv2', filters: 21, kernelSize: [3, 2], strides: 2, padding: 'same', padValue: 0, ...bin },
          bn('bn2'),
          { kind: 'relu', name: 'relu2' },
          { kind: 'scale', name: 'scale2', init: 0.5 },
          { kind: 'avgPool2d', name: 'pool2', poolSize: 2 },
          { kind: 'flatten', name: 'flatten' },
          { kind: 'quantDense', name: 'dense', units: 4, useBias: true },
        ],
      }),
    },
    {
      name: 'residual',
      covers: 'Bi-Real-style residual blocks (real-valued shortcuts added around binary convs, the sum binarized again), a float max-pool (SAME), global average pool, float dense',
      graph: defineGraph({
        name: 'residual',
        input: [8, 8, 2],
        classes: 6,
        layers: [
          { kind: 'quantConv2d', name: 'stem', filters: 36, kernelSize: 3, padding: 'same' },
          bn('bn0'),
          bn('bn1a'),
          { kind: 'quantConv2d', name: 'conv1', filters: 36, kernelSize: 3, padding: 'same', padValue: 1, ...bin },
          bn('bn1b'),
          { kind: 'add', name: 'add1', inputs: ['bn1b', 'bn0'] },
          { kind: 'quantConv2d', name: 'conv2', filters: 36, kernelSize: 1, ...bin },
          bn('bn2'),
          { kind: 'add', name: 'add2', inputs: ['bn2', 'add1'] },
          { kind: 'relu', name: 'relu' },
          { kind: 'maxPool2d', name: 'pool', poolSize: 3, strides: 2, padding: 'same' },
          { kind: 'globalAvgPool2d', name: 'gap' },
          { kind: 'quantDense', name: 'dense', units: 6 },
        ],
      }),
    },
    {
      name: 'int8',
      covers: 'int8 first layer on a 3-channel u8-quantized image (SAME, stride 2), ReLU and batch norm folded into its integer thresholds, binary conv VALID, binary dense',
      int8: true,
      graph: defineGraph({
        name: 'int8',
        input: [12, 12, 3],
        classes: 3,
        layers: [
          { kind: 'quantConv2d', name: 'conv1', filters: 20, kernelSize: 4, strides: 2, padding: 'same' },
          { kind: 'relu', name: 'relu1' },
          bn('bn1'),
          { kind: 'quantConv2d', name: 'conv2', filters: 35, kernelSize: 3, ...bin },
          bn('bn2'),
          { kind: 'flatten', name: 'flatten' },
          { kind: 'quantDense', name: 'dense', units: 3, ...bin },
        ],
      }),
    },
    {
      name: 'ties',
      levels: 4,
      covers: 'thresholds exactly at ties: batch norm built so that f(y) = ±(y − k) exactly (γ = ±0.5, σ² = 0, ε = 0.25), so some popcounts land on f(y) = 0, which is +1',
      graph: defineGraph({
        name: 'ties',
        input: [6, 6, 1],
        classes: 3,
        layers: [
          { kind: 'quantConv2d', name: 'conv1', filters: 8, kernelSize: 2, kernelQuantizer: 'ste_sign' },
          bn('bn1', { epsilon: 0.25 }),
          { kind: 'quantConv2d', name: 'conv2', filters: 8, kernelSize: 2, ...bin },
          bn('bn2', { epsilon: 0.25 }),
          { kind: 'flatten', name: 'flatten' },
          { kind: 'quantDense', name: 'dense', units: 3, ...bin },
        ],
      }),
      params: (g, rng) => {
        const p = randomGraphParams(g, rng);
        for (const layer of ['bn1', 'bn2']) {
          const c = p.get(`${layer}/moving_mean`)!.length;
          p.set(`${layer}/moving_variance`, new Float32Array(c));
          p.set(`${layer}/gamma`, Float32Array.from({ length: c }, (_, i) => (i % 2 ? -0.5 : 0.5)));
          p.set(`${layer}/beta`, new Float32Array(c));
          // conv1 sees 4 taps of ±1-weighted pixels (sums of k/256 · ±1), conv2 an even popcount dot product.
          p.set(`${layer}/moving_mean`, Float32Array.from({ length: c }, (_, i) => (layer === 'bn1' ? (i - 4) / 8 : 2 * (i % 5) - 4)));
        }
        return p;
      },
    },
    {
      name: 'stochastic',
      covers: 'a stochastic binary conv: weights drawn per call from xoshiro128** seeded by SplitMix32 (seed 0), draw order as documented',
      graph: defineGraph({
        name: 'stochastic',
        input: [7, 7, 1],
        classes: 4,
        layers: [
          { kind: 'quantConv2d', name: 'conv1', filters: 17, kernelSize: 3 },
          bn('bn1'),
          { kind: 'quantConv2d', name: 'conv2', filters: 9, kernelSize: 3, inputQuantizer: 'ste_sign', kernelQuantizer: 'stochastic' },
          { kind: 'relu', name: 'relu' },
          { kind: 'flatten', name: 'flatten' },
          { kind: 'quantDense', name: 'dense', units: 4 },
        ],
      }),
      params: (g, rng) => {
        const p = randomGraphParams(g, rng);
        // Latent weights spread over [−1.2, 1.2]: probabilities 0, 1 and in between.
        p.set('conv2/kernel', Float32Array.from(p.get('conv2/kernel')!, () => 2.4 * rng.next() - 1.2));
        return p;
      },
    },
    { name: 'larq-tutorial', covers: "Larq's introductory network on 28×28×1 (binary-weight first conv, max-pools before batch norms, binary convs and dense layers, batch norm on the logits)", graph: { ...larqTutorial(), name: 'larq-tutorial' } },
    { name: 'paper-c8', covers: "the paper's model C at K = 8 (int8 conv1, SReLU scales before batch norms, ReLU then float dense)", graph: paperModel('C', 8), int8: true },
    {
      name: 'ternary',
      params: (g, rng) => {
        const p = randomGraphParams(g, rng);
        // One filter of conv2 entirely 0: its unit sees no input (Σ = 0).
        const k = p.get('conv2/kernel')!;
        for (let i = 0; i < k.length; i += 40) k[i] = 0;
        return p;
      },
      covers: 'format 2.1 ternary weights (ste_tern, sign bits + mask): two pixel thresholds (1×1 int8 conv with bias on the u8 image), a ternary binary conv 3×3/2 VALID, a ternary binary conv SAME with +1 padding on 40 channels (a partial word) with one all-zero filter, flatten into a ternary binary dense layer and a ternary binary head',
      int8: true,
      graph: defineGraph({
        name: 'ternary',
        input: [9, 8, 1],
        classes: 5,
        layers: [
          { kind: 'quantConv2d', name: 'mask', filters: 2, kernelSize: 1, useBias: true },
          { kind: 'quantConv2d', name: 'conv1', filters: 40, kernelSize: 3, strides: 2, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
          bn('bn1'),
          { kind: 'quantConv2d', name: 'conv2', filters: 40, kernelSize: 3, padding: 'same', padValue: 1, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
          bn('bn2', { scale: false }),
          { kind: 'flatten', name: 'flatten' },
          { kind: 'quantDense', name: 'dense1', units: 13, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
          bn('bn3'),
          { kind: 'quantDense', name: 'dense2', units: 5, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
          bn('bn4'),
        ],
      }),
    },
  ];
}

function build(c: ReturnType<typeof cases>[number], rng: Rng): BnnModel {
  const params = c.params ? c.params(c.graph, rng) : randomGraphParams(c.graph, rng);
  return modelFromParams(c.graph, params, { int8: c.int8 ? 'auto' : false });
}

async function main(): Promise<void> {
  for (const [i, c] of cases().entries()) {
    const rng = new Rng(1234 + i);
    const model = build(c, rng);
    const bytes = serializeBnn(model);
    const [h, w, ch] = c.graph.input;
    const n = 3;
    // Pixels k/255, or a few levels k/levels where sums must hit batch-norm means exactly (ties).
    const levels = c.levels ?? 255;
    const images = Float32Array.from({ length: n * h * w * ch }, () => rng.int(levels + 1) / levels);
    const simd = await BnnRuntime.load(bytes, { simd: true, seed: 0 });
    const scalar = await BnnRuntime.load(bytes, { simd: false, seed: 0 });
    const logits = simd.logits(images, n);
    if (hexOf(scalar.logits(images, n)) !== hexOf(logits)) throw new Error(`${c.name}: scalar and simd logits differ`);
    simd.reseed(0);
    const vector: ConformanceVector = { covers: c.covers, model: `${c.name}.bnn`, images: n, shape: [h, w, ch], seed: 0, resample: 'per-call', input: hexOf(images), logits: hexOf(logits), labels: Array.from(simd.predict(images, n)) };
    writeFileSync(`${CONFORMANCE_DIR}${c.name}.bnn`, bytes);
    writeFileSync(`${CONFORMANCE_DIR}${c.name}.json`, formatJson(vector, 100));
    process.stdout.write(`${c.name}: ${bytes.length} bytes, ${simd.plan.steps.map((s) => s.op).join(' ')}\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
