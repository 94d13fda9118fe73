/**
 * tfjs interchange (model/tfjs/interchange.ts): .bnn → tfjs LayersModel → model.json + weights →
 * tf.loadLayersModel → .bnn gives the same file and bit-identical runtime logits (paper models,
 * Larq's tutorial net, the conformance vectors); the LayersModel's own predictions agree with the
 * runtime's labels; hand-built tfjs models with Larq's config keys — functional, and a Keras-style
 * Sequential model.json as a Larq export would write it — import into valid graphs that run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelFromParams, paramsFromModel, type BnnModel } from '../src/format/model.js';
import { quantizeWeightsPerChannel } from '../src/format/quantize.js';
import { parseBnn } from '../src/format/read.js';
import { serializeBnn } from '../src/format/write.js';
import { defineGraph, inputSize, sameGraph, type ModelGraph } from '../src/model/graph.js';
import { initParams } from '../src/model/params.js';
import { larqTutorial } from '../src/model/presets.js';
import { fromLayersModel, importLayersModel, InterchangeError, loadLayersModelFrom, MODEL_JSON, QuantConv2D, QuantDense, saveLayersModel, toLayersModel, WEIGHTS_BIN } from '../src/model/tfjs/interchange.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { initTfjs, tf } from '../src/tfjs/backend.js';
import { Rng } from '../src/util/rng.js';
import { CONFORMANCE_DIR, f32OfHex, type ConformanceVector } from './conformance/generate.js';
import { randomImages, randomModel } from './helpers.js';
import { dyadicImages, randomGraph, randomGraphParams } from './random_graphs.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'bnn-tfjs-'));
}

function uniformImages(n: number, shape: readonly number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * shape[0]! * shape[1]! * shape[2]! }, () => rng.next());
}

function bits(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Labels the LayersModel predicts (argmax of its float output). */
function tfjsLabels(lm: tf.LayersModel, images: Float32Array, n: number, shape: ModelGraph['input']): number[] {
  return tf.tidy(() => Array.from((lm.predict(tf.tensor4d(images, [n, ...shape])) as tf.Tensor).argMax(1).dataSync()));
}

/**
 * The round trip through files; checks the file, the graph, the runtime's logits bit for bit and
 * the LayersModel's labels (deterministic models). Returns the number of label disagreements.
 */
async function roundTrip(what: string, model: BnnModel, images: Float32Array, n: number, seed = 0): Promise<void> {
  const dir = tempDir();
  try {
    const exported = toLayersModel(model);
    // Graph layer names are the tfjs layer names.
    const tfNames = new Set(exported.layers.map((l) => l.name));
    for (const l of model.graph.layers) assert.ok(tfNames.has(l.name), `${what}: tfjs layer ${l.name}`);
    exported.dispose();
    await saveLayersModel(model, dir);
    assert.deepEqual(readdirSync(dir).sort(), [MODEL_JSON, WEIGHTS_BIN].sort());
    const topology = JSON.stringify(JSON.parse(readFileSync(join(dir, MODEL_JSON), 'utf8')).modelTopology);
    for (const l of model.graph.layers) {
      if (l.kind === 'quantConv2d' && l.inputQuantizer) assert.match(topology, /"input_quantizer":"ste_sign/, `${what}: Larq's key`);
    }
    if (model.graph.layers.some((l) => l.kind === 'quantConv2d' && l.padValue === 1)) assert.match(topology, /"pad_values":1/);

    const loaded = await loadLayersModelFrom(dir);
    const back = fromLayersModel(loaded);
    assert.ok(sameGraph(back.graph, model.graph), `${what}: graph\n${JSON.stringify(back.graph)}\n${JSON.stringify(model.graph)}`);
    assert.equal(back.graph.name, model.graph.name);
    assert.ok(Buffer.from(serializeBnn(back)).equals(Buffer.from(serializeBnn(model))), `${what}: the .bnn bytes differ`);

    const rtA = await BnnRuntime.fromModel(model, { seed });
    const rtB = await BnnRuntime.fromModel(back, { seed });
    const la = rtA.logits(images, n);
    const lb = rtB.logits(images, n);
    assert.ok(bits(la).equals(bits(lb)), `${what}: runtime logits differ`);

    const stochastic = model.graph.layers.some((l) => (l.kind === 'quantConv2d' || l.kind === 'quantDense') && l.kernelQuantizer === 'stochastic');
    if (!stochastic) {
      const want = Array.from(rtA.predict(images, n));
      assert.deepEqual(tfjsLabels(loaded, images, n, model.graph.input), want, `${what}: LayersModel labels vs runtime`);
    }
    rtA.dispose();
    rtB.dispose();
    loaded.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('paper models B, C, R (int8 conv1 and float): .bnn → tfjs files → .bnn is the same file; logits bit for bit, labels of the LayersModel', async () => {
  await initTfjs();
  const n = 24;
  const images = randomImages(n, 11);
  for (const arch of ['B', 'C', 'R'] as const) {
    await roundTrip(`${arch}16 int8`, randomModel(arch, 16, 3), images, n);
    await roundTrip(`${arch}16 f32`, randomModel(arch, 16, 3, false), images, n);
  }
});

test("Larq's tutorial network round-trips", async () => {
  await initTfjs();
  const graph = larqTutorial();
  const params = initParams(graph, 5);
  const rng = new Rng(6);
  for (const [name, v] of params) {
    if (name.endsWith('/beta')) for (let i = 0; i < v.length; i++) v[i] = 0.5 * rng.normal();
    if (name.endsWith('/moving_mean')) for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    if (name.endsWith('/moving_variance')) for (let i = 0; i < v.length; i++) v[i] = 0.5 + rng.next() * 4;
  }
  const n = 16;
  await roundTrip('larq-tutorial', modelFromParams(graph, params), randomImages(n, 12), n);
});

test('conformance models (.bnn 2.0 vectors) round-trip; stochastic ones exactly in the file and the logits', async () => {
  await initTfjs();
  const files = readdirSync(CONFORMANCE_DIR).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 8);
  for (const f of files) {
    const v = JSON.parse(readFileSync(CONFORMANCE_DIR + f, 'utf8')) as ConformanceVector;
    const model = parseBnn(readFileSync(CONFORMANCE_DIR + v.model));
    const extra = 13;
    const images = new Float32Array((v.images + extra) * inputSize(model.graph));
    images.set(f32OfHex(v.input));
    images.set(uniformImages(extra, v.shape, 7), v.images * inputSize(model.graph));
    await roundTrip(v.model, model, images, v.images + extra, v.seed);
  }
});

test('random graphs (every layer kind, residual adds, both pad values, int8 or float first layers) round-trip', async () => {
  await initTfjs();
  const rng = new Rng(2024);
  for (let g = 0; g < 30; g++) {
    const graph = randomGraph(rng, `g${g}`);
    const model = modelFromParams(graph, randomGraphParams(graph, rng), { int8: rng.next() < 0.5 ? 'auto' : false });
    const n = 12;
    await roundTrip(graph.name, model, dyadicImages(graph, n, rng), n);
  }
});

test('random graphs with ternary layers (Larq SteTern) round-trip through a Keras model, byte for byte', async () => {
  await initTfjs();
  const rng = new Rng(2025);
  for (let g = 0; g < 12; g++) {
    const graph = randomGraph(rng, `t${g}`, { ternary: true });
    const model = modelFromParams(graph, randomGraphParams(graph, rng), { int8: rng.next() < 0.5 ? 'auto' : false });
    const n = 8;
    await roundTrip(graph.name, model, dyadicImages(graph, n, rng), n);
  }
});

test('flat and spatial forms meet: Reshape adapters where a dense reads a 1×1 conv output, a conv or pool reads a dense, an add mixes both, a flatten follows a dense, the logits are 1×1×classes', async () => {
  await initTfjs();
  const bin = { inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' };
  const graph = defineGraph({
    name: 'adapters',
    input: [6, 6, 2],
    classes: 4,
    layers: [
      { kind: 'quantConv2d', name: 'conv1', filters: 12, kernelSize: 6 },
      { kind: 'batchNorm', name: 'bn1' },
      { kind: 'quantDense', name: 'd1', units: 12, ...bin },
      { kind: 'batchNorm', name: 'bnd' },
      { kind: 'quantConv2d', name: 'c2', filters: 12, kernelSize: 1, ...bin },
      { kind: 'add', name: 'sum', inputs: ['c2', 'd1'] },
      { kind: 'maxPool2d', name: 'pool', poolSize: 1 },
      { kind: 'quantDense', name: 'd2', units: 6, useBias: true },
      { kind: 'flatten', name: 'f2' },
      { kind: 'relu', name: 'r2' },
      { kind: 'quantConv2d', name: 'c3', filters: 4, kernelSize: 1, useBias: true },
    ],
  });
  const model = modelFromParams(graph, randomGraphParams(graph, new Rng(3)));
  assert.ok(model.graph.layers[0]!.kind === 'quantConv2d' && model.graph.layers[0]!.int8, 'conv1 ships as int8');
  const lm = toLayersModel(model);
  const reshapes = lm.layers.filter((l) => l.getClassName() === 'Reshape').map((l) => l.name);
  assert.deepEqual(reshapes.sort(), ['bn1_2d', 'bnd_4d', 'c3_2d', 'd1_4d', 'd2_4d', 'pool_2d', 'r2_4d'].sort());
  assert.deepEqual(lm.outputs[0]!.shape, [null, 4]);
  lm.dispose();
  const n = 16;
  await roundTrip('adapters', model, dyadicImages(graph, n, new Rng(4)), n);
});

/** Random batch-norm statistics and shifts for every BatchNormalization layer (as after training). */
function randomizeBatchNorms(lm: tf.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  for (const layer of lm.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = layer.weights.map((w) => {
      const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
      const key = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
      const v = Float32Array.from({ length: n }, () => (key === 'moving_variance' ? 0.5 + 2 * rng.next() : key === 'gamma' ? 0.5 + rng.next() : key === 'beta' ? 0.3 * rng.normal() : 0.5 * rng.normal()));
      return tf.tensor(v, w.shape as number[]);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

test('a hand-built tfjs model with QuantConv2D / QuantDense and Larq config keys imports into a graph whose runtime labels match its predictions', async () => {
  await initTfjs();
  const input = tf.input({ shape: [12, 12, 1] });
  let x = new QuantConv2D({ filters: 8, kernel_size: 3, kernel_quantizer: 'ste_sign', use_bias: false }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ scale: false }).apply(x) as tf.SymbolicTensor;
  x = new QuantConv2D({ filters: 8, kernel_size: 3, input_quantizer: 'ste_sign', kernel_quantizer: 'ste_sign', pad_values: 1.0, padding: 'same', use_bias: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({}).apply(x) as tf.SymbolicTensor;
  x = new QuantDense({ units: 16, input_quantizer: 'ste_sign', kernel_quantizer: 'ste_sign_gradclip', use_bias: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({}).apply(x) as tf.SymbolicTensor;
  x = new QuantDense({ units: 10, input_quantizer: 'ste_sign', kernel_quantizer: 'ste_sign', use_bias: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ scale: false }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  const lm = tf.model({ inputs: input, outputs: x, name: 'hand built' });
  randomizeBatchNorms(lm, 3);

  const model = fromLayersModel(lm);
  const g = model.graph;
  assert.equal(g.name, 'hand_built');
  assert.deepEqual(g.input, [12, 12, 1]);
  assert.equal(g.classes, 10);
  assert.deepEqual(
    g.layers.map((l) => l.kind),
    ['quantConv2d', 'batchNorm', 'quantConv2d', 'maxPool2d', 'batchNorm', 'flatten', 'quantDense', 'batchNorm', 'quantDense', 'batchNorm'],
  );
  for (const l of g.layers) assert.match(l.name, /^[A-Za-z0-9_.-]{1,24}$/);
  const conv2 = g.layers[2]!;
  assert.ok(conv2.kind === 'quantConv2d' && conv2.padValue === 1 && conv2.inputQuantizer === 'ste_sign' && conv2.padding === 'same' && !conv2.useBias);
  const dense1 = g.layers[6]!;
  assert.ok(dense1.kind === 'quantDense' && dense1.kernelQuantizer === 'ste_sign_gradclip');

  const n = 32;
  const images = uniformImages(n, [12, 12, 1], 9);
  const rt = await BnnRuntime.fromModel(parseBnn(serializeBnn(model)));
  const want = tfjsLabels(lm, images, n, [12, 12, 1]);
  assert.deepEqual(Array.from(rt.predict(images, n)), want);
  assert.ok(new Set(want).size > 1, 'the model predicts more than one class');
  rt.dispose();

  // Saved and loaded (the config through tfjs's snake/camel-case conversion), it imports the same.
  const dir = tempDir();
  try {
    await saveLayersModel(lm, dir);
    const topology = readFileSync(join(dir, MODEL_JSON), 'utf8');
    for (const key of ['"kernel_size":[3,3]', '"input_quantizer":"ste_sign"', '"kernel_quantizer":"ste_sign_gradclip"', '"pad_values":1', '"use_bias":false', '"class_name":"QuantConv2D"', '"class_name":"QuantDense"']) assert.ok(topology.includes(key), key);
    const again = await importLayersModel(dir);
    assert.ok(Buffer.from(serializeBnn(again)).equals(Buffer.from(serializeBnn(model))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  lm.dispose();
});

/** Larq's tutorial network as a Keras Sequential model.json (pythonic keys, quantizers serialized as Larq does). */
function larqKerasTopology(): { topology: object; specs: tf.io.WeightsManifestEntry[] } {
  const q = { class_name: 'SteSign', config: { name: 'ste_sign', trainable: true, dtype: 'float32', clip_value: 1.0 } };
  const conv = (name: string, filters: number, first: boolean) => ({
    class_name: 'QuantConv2D',
    config: {
      name,
      trainable: true,
      ...(first ? { batch_input_shape: [null, 28, 28, 1] } : {}),
      dtype: 'float32',
      filters,
      kernel_size: [3, 3],
      strides: [1, 1],
      padding: 'valid',
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      groups: 1,
      activation: 'linear',
      use_bias: false,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: { class_name: 'WeightClip', config: { clip_value: 1 } },
      bias_constraint: null,
      input_quantizer: first ? null : q,
      kernel_quantizer: q,
      pad_values: 0.0,
    },
  });
  const bn = (name: string) => ({ class_name: 'BatchNormalization', config: { name, trainable: true, dtype: 'float32', axis: [3], momentum: 0.999, epsilon: 0.001, center: true, scale: false, beta_initializer: { class_name: 'Zeros', config: {} }, moving_mean_initializer: { class_name: 'Zeros', config: {} }, moving_variance_initializer: { class_name: 'Ones', config: {} } } });
  const bnFlat = (name: string) => ({ ...bn(name), config: { ...bn(name).config, axis: [1] } });
  const pool = (name: string) => ({ class_name: 'MaxPooling2D', config: { name, trainable: true, dtype: 'float32', pool_size: [2, 2], padding: 'valid', strides: [2, 2], data_format: 'channels_last' } });
  const dense = (name: string, units: number) => ({
    class_name: 'QuantDense',
    config: { name, trainable: true, dtype: 'float32', units, activation: 'linear', use_bias: false, kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, kernel_constraint: { class_name: 'WeightClip', config: { clip_value: 1 } }, input_quantizer: q, kernel_quantizer: q },
  });
  const layers = [
    { class_name: 'InputLayer', config: { batch_input_shape: [null, 28, 28, 1], dtype: 'float32', sparse: false, ragged: false, name: 'quant_conv2d_input' } },
    conv('quant_conv2d', 32, true),
    pool('max_pooling2d'),
    bn('batch_normalization'),
    conv('quant_conv2d_1', 64, false),
    pool('max_pooling2d_1'),
    bn('batch_normalization_1'),
    conv('quant_conv2d_2', 64, false),
    bn('batch_normalization_2'),
    { class_name: 'Flatten', config: { name: 'flatten', trainable: true, dtype: 'float32', data_format: 'channels_last' } },
    dense('quant_dense', 64),
    bnFlat('batch_normalization_3'),
    dense('quant_dense_1', 10),
    bnFlat('batch_normalization_4'),
    { class_name: 'Activation', config: { name: 'activation', trainable: true, dtype: 'float32', activation: 'softmax' } },
  ];
  const specs: tf.io.WeightsManifestEntry[] = [];
  const w = (name: string, shape: number[]) => specs.push({ name, shape, dtype: 'float32' });
  w('quant_conv2d/kernel', [3, 3, 1, 32]);
  for (const [i, c] of [['', 32], ['_1', 64], ['_2', 64], ['_3', 64], ['_4', 10]] as const) {
    if (i === '_1') w('quant_conv2d_1/kernel', [3, 3, 32, 64]);
    if (i === '_2') w('quant_conv2d_2/kernel', [3, 3, 64, 64]);
    if (i === '_3') w('quant_dense/kernel', [3 * 3 * 64, 64]);
    if (i === '_4') w('quant_dense_1/kernel', [64, 10]);
    w(`batch_normalization${i}/beta`, [c]);
    w(`batch_normalization${i}/moving_mean`, [c]);
    w(`batch_normalization${i}/moving_variance`, [c]);
  }
  return { topology: { class_name: 'Sequential', config: { name: 'sequential', layers }, keras_version: '2.8.0', backend: 'tensorflow' }, specs };
}

test("a Larq model in the tfjs Layers format (Keras Sequential JSON, Larq's quantizer configs) loads and imports as Larq's tutorial graph", async () => {
  await initTfjs();
  const { topology, specs } = larqKerasTopology();
  const rng = new Rng(21);
  const size = (s: tf.io.WeightsManifestEntry) => s.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(specs.reduce((n, s) => n + size(s), 0));
  let at = 0;
  for (const s of specs) {
    const key = s.name.slice(s.name.indexOf('/') + 1);
    for (let i = 0; i < size(s); i++) data[at + i] = key === 'moving_variance' ? 0.5 + 3 * rng.next() : key === 'kernel' ? rng.normal() * 0.1 : key === 'beta' ? 0.5 * rng.normal() : rng.normal();
    at += size(s);
  }
  const dir = tempDir();
  try {
    writeFileSync(join(dir, MODEL_JSON), JSON.stringify({ format: 'layers-model', generatedBy: 'keras v2.8.0', convertedBy: 'TensorFlow.js Converter v3.18.0', modelTopology: topology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }] }));
    writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(data.buffer));
    const lm = await loadLayersModelFrom(dir);
    const model = fromLayersModel(lm);
    const strip = (g: ModelGraph) => g.layers.map((l) => ({ ...l, name: '', inputs: [] }));
    assert.deepEqual(strip(model.graph), strip(larqTutorial()));
    assert.equal(model.graph.layers[0]!.name, 'quant_conv2d');
    const n = 24;
    const images = randomImages(n, 13);
    const rt = await BnnRuntime.fromModel(model);
    const want = tfjsLabels(lm, images, n, [28, 28, 1]);
    assert.deepEqual(Array.from(rt.predict(images, n)), want);
    rt.dispose();
    lm.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a hostile or broken model.json / weight file gets an InterchangeError naming the file and the weight', async () => {
  await initTfjs();
  const { topology, specs } = larqKerasTopology();
  const size = (s: tf.io.WeightsManifestEntry) => s.shape.reduce((a, b) => a * b, 1);
  const floats = specs.reduce((n, s) => n + size(s), 0);
  const dir = tempDir();
  const attempt = (json: unknown, data: Float32Array | Uint8Array = new Float32Array(floats).fill(0.5)) => {
    writeFileSync(join(dir, MODEL_JSON), JSON.stringify(json));
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return importLayersModel(dir);
  };
  const good = { format: 'layers-model', modelTopology: topology, weightsManifest: [{ paths: ['w.bin'], weights: specs }] };
  try {
    await attempt(good);
    const rejects = (json: unknown, re: RegExp, data?: Float32Array | Uint8Array) => assert.rejects(attempt(json, data), (e: Error) => e instanceof InterchangeError && re.test(e.message), re.source);
    await rejects(good, /weight batch_normalization_4\/moving_variance ends at byte \d+, but the weight files hold \d+ bytes/, new Float32Array(floats - 2));
    await rejects(good, /the weights declare \d+ bytes, but the weight files hold \d+/, new Float32Array(floats + 1));
    await rejects(good, /declare|hold/, new Uint8Array(floats * 4 - 3));
    await rejects({ ...good, weightsManifest: [{ paths: 'w.bin', weights: specs }] }, /weightsManifest\[0\]\.paths must be a list of file names/);
    await rejects({ ...good, weightsManifest: [{ paths: ['w.bin'] }] }, /weightsManifest\[0\]\.weights must be a list/);
    await rejects({ ...good, weightsManifest: [{ paths: ['w.bin'], weights: specs.map((w, i) => (i ? w : { ...w, dtype: 'complex64' })) }] }, /weight quant_conv2d\/kernel: dtype "complex64" is not supported/);
    // Values the .bnn format refuses are refused at import, naming the layer and the weight.
    const nan = new Float32Array(floats).fill(0.5);
    nan[3] = NaN;
    await rejects(good, /layer "quant_conv2d": weight kernel, element 3 is NaN/, nan);
    const negative = new Float32Array(floats).fill(0.5);
    negative[floats - 1] = -1;
    await rejects(good, /weight moving_variance, element 9 is -1 \(a variance must be finite and ≥ 0\)/, negative);
    // Keras's ReLU options tfjs drops when it rebuilds the layer: refused from the JSON.
    const leaky = JSON.parse(JSON.stringify(topology)) as { config: { layers: unknown[] } };
    leaky.config.layers.splice(3, 0, { class_name: 'ReLU', config: { name: 'leaky', trainable: true, dtype: 'float32', max_value: null, negative_slope: 0.3, threshold: 0 } });
    await rejects({ ...good, modelTopology: leaky }, /layer "leaky" \(ReLU\): negative_slope 0.3 is not supported/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unsupported layers and options are refused with the layer and its class', async () => {
  await initTfjs();
  const build = (f: (x: tf.SymbolicTensor) => tf.SymbolicTensor): tf.LayersModel => {
    const input = tf.input({ shape: [8, 8, 1] });
    return tf.model({ inputs: input, outputs: f(input) });
  };
  const dense = (x: tf.SymbolicTensor) => new QuantDense({ units: 3, use_bias: false }).apply(tf.layers.flatten({}).apply(x)) as tf.SymbolicTensor;
  const cases: [string, () => tf.LayersModel, RegExp][] = [
    ['upsampling', () => build((x) => dense(tf.layers.upSampling2d({ name: 'up' }).apply(x) as tf.SymbolicTensor)), /layer "up" \(UpSampling2D\): layer class UpSampling2D is not supported/],
    ['tanh', () => build((x) => dense(tf.layers.activation({ name: 'act', activation: 'tanh' }).apply(x) as tf.SymbolicTensor)), /layer "act" \(Activation\): activation "tanh"/],
    ['dense on an image', () => build((x) => new QuantDense({ name: 'd', units: 3 }).apply(x) as tf.SymbolicTensor), /layer "d" \(QuantDense\): applied to a 8×8×1 tensor/],
    [
      'pad_values 0.5',
      () =>
        build((x) => {
          const a = new QuantConv2D({ filters: 4, kernel_size: 3 }).apply(x) as tf.SymbolicTensor;
          return dense(new QuantConv2D({ name: 'half', filters: 4, kernel_size: 3, padding: 'same', pad_values: 0.5, input_quantizer: 'ste_sign', kernel_quantizer: 'ste_sign' }).apply(a) as tf.SymbolicTensor);
        }),
      /layer "half" \(QuantConv2D\): pad_values 0.5 is not supported/,
    ],
    [
      'approx_sign',
      () =>
        build((x) => {
          const a = new QuantConv2D({ filters: 4, kernel_size: 3 }).apply(x) as tf.SymbolicTensor;
          return dense(new QuantConv2D({ name: 'approx', filters: 4, kernel_size: 3, input_quantizer: { class_name: 'ApproxSign', config: {} }, kernel_quantizer: 'ste_sign' }).apply(a) as tf.SymbolicTensor);
        }),
      /layer "approx" \(QuantConv2D\): quantizer approx_sign .*approximateQuantizers/,
    ],
  ];
  cases.push(
    // channels_first flattens C·H·W: a different vector from a spatial tensor (tfjs transposes first).
    ['flatten channels_first', () => build((x) => new QuantDense({ units: 3, use_bias: false }).apply(tf.layers.flatten({ name: 'fl', dataFormat: 'channelsFirst' }).apply(tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(x))) as tf.SymbolicTensor), /layer "fl" \(Flatten\): data format "channelsFirst" is not supported/],
    ['softmax inside the net', () => build((x) => tf.layers.dense({ units: 3 }).apply(tf.layers.dense({ name: 'inner', units: 4, activation: 'softmax' }).apply(tf.layers.flatten({}).apply(x))) as tf.SymbolicTensor), /layer "inner" \(Dense\): activation "softmax"/],
  );
  for (const [what, make, re] of cases) {
    const lm = make();
    assert.throws(() => fromLayersModel(lm), (e: Error) => e instanceof InterchangeError && re.test(e.message), what);
    lm.dispose();
  }
  // Keras's most common ending, Dense(activation='softmax') on the output: dropped like an Activation.
  const softmaxHead = build((x) => tf.layers.dense({ units: 3, activation: 'softmax' }).apply(tf.layers.flatten({}).apply(x)) as tf.SymbolicTensor);
  assert.deepEqual(fromLayersModel(softmaxHead).graph.layers.map((l) => l.kind), ['flatten', 'quantDense']);
  assert.throws(() => fromLayersModel(softmaxHead, { softmax: 'error' }), InterchangeError);
  softmaxHead.dispose();
  // A channels_first Flatten of an 8×1×1 column reads it in the same order: imported.
  const column = build((x) => tf.layers.dense({ units: 3 }).apply(tf.layers.flatten({ dataFormat: 'channelsFirst' }).apply(tf.layers.conv2d({ filters: 1, kernelSize: [1, 8] }).apply(x))) as tf.SymbolicTensor);
  assert.deepEqual(fromLayersModel(column).graph.layers.map((l) => l.kind), ['quantConv2d', 'flatten', 'quantDense']);
  column.dispose();
  // Forward-equivalent quantizers import when asked.
  const approx = cases[4]![1]();
  assert.equal(fromLayersModel(approx, { approximateQuantizers: true }).graph.layers[1]!.kind, 'quantConv2d');
  approx.dispose();
  // Quantizers whose forward pass is not sign are refused when the layer is made.
  assert.throws(() => new QuantConv2D({ filters: 4, kernel_size: 3, kernel_quantizer: 'ste_heaviside' }), /ste_heaviside \(its forward pass is not sign\)/);
  // Larq's SteTern imports as ste_tern with its default threshold; another threshold is refused (no such forward here).
  assert.equal(new QuantConv2D({ filters: 4, kernel_size: 3, kernel_quantizer: 'ste_tern' }).kernelQuantizer.name, 'ste_tern');
  assert.throws(() => new QuantConv2D({ filters: 4, kernel_size: 3, kernel_quantizer: { class_name: 'SteTern', config: { threshold_value: 0.1 } } }), /SteTern with threshold_value 0.1/);
  assert.throws(() => new QuantConv2D({ filters: 4, kernel_size: 3, input_quantizer: 'ste_tern' }), /only kernels may be ternary/);
  // int8: kept from the source by default, dropped or re-chosen on request.
  const int8 = randomModel('B', 8, 4);
  assert.ok(int8.graph.layers[0]!.kind === 'quantConv2d' && int8.graph.layers[0]!.int8);
  const lm = toLayersModel(int8);
  assert.equal((fromLayersModel(lm, { int8: false }).graph.layers[0] as { int8: boolean }).int8, false);
  assert.ok(Buffer.from(serializeBnn(fromLayersModel(lm, { int8: 'auto' }))).equals(Buffer.from(serializeBnn(int8))), 'auto uses the recorded scales');
  lm.dispose();
  // A scale that re-quantizing the dequantized kernel cannot recover (fround(fround(127·s)/127) ≠ s):
  // the exported weight_scale brings it back exactly.
  const s = Math.fround(0.001531936228275299);
  assert.notEqual(Math.fround(Math.fround(127 * s) / 127), s);
  const t0 = int8.layers[0]!;
  const scale = Float32Array.from(t0.weightScale!);
  scale[0] = s;
  const odd: BnnModel = { ...int8, layers: [{ ...t0, weightScale: scale }, ...int8.layers.slice(1)] };
  const { params } = paramsFromModel(odd);
  assert.notEqual(quantizeWeightsPerChannel(params.get('conv1/kernel')!, 8).scale[0], s);
  const oddLm = toLayersModel(odd);
  assert.ok(Buffer.from(serializeBnn(fromLayersModel(oddLm))).equals(Buffer.from(serializeBnn(odd))));
  oddLm.dispose();
});
