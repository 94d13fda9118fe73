import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packConvSigns, packSigns, popcount32, unpackConvSigns, unpackSigns } from '../src/format/bits.js';
import { BnnFormatError } from '../src/format/errors.js';
import { epochsInAll, readManifest, sha256, trainedFrom } from '../src/format/manifest.js';
import { HEADER_FIELDS, HEADER_SIZE, LAYER_FIELDS, LAYER_RECORD_SIZE, TENSOR_RECORD_SIZE } from '../src/format/layout.js';
import { modelFromParams, paramsFromModel, type BnnModel } from '../src/format/model.js';
import { parseBnn } from '../src/format/read.js';
import { describeModel } from '../src/format/info.js';
import { serializeBnn } from '../src/format/write.js';
import { accKernelThresholds, batchNormAffine, evalChain, floatKernelThresholds, searchThresholds, type ChainOp } from '../src/model/threshold.js';
import { floatParamCount, initParams } from '../src/model/params.js';
import { ARCHS, larqTutorial, paperModel, paperModelOf } from '../src/model/presets.js';
import { defineGraph } from '../src/model/graph.js';
import { Rng } from '../src/util/rng.js';
import { fixCrc, randomModel, randomModelBytes, randomParams } from './helpers.js';

test('packSigns / unpackSigns round trip, any channel count; padding bits stay 0', () => {
  const rng = new Rng(3);
  for (const c of [1, 5, 31, 32, 33, 64, 100, 129]) {
    const pixels = 7;
    const v = Float32Array.from({ length: pixels * c }, () => rng.normal());
    const words = packSigns(v, pixels, c);
    assert.equal(words.length, pixels * Math.ceil(c / 32));
    const back = unpackSigns(words, pixels, c);
    for (let i = 0; i < v.length; i++) assert.equal(back[i], v[i]! < 0 ? -1 : 1);
    if (c % 32) for (let p = 0; p < pixels; p++) assert.equal(words[p * Math.ceil(c / 32) + Math.ceil(c / 32) - 1]! >>> c % 32, 0);
  }
  assert.equal(packSigns([0, -0, -1e-30], 1, 3)[0], 0b100, 'sign(0) = +1 (bit 0), sign(-0) = +1');
});

test('conv weights: HWIO floats → packed OHWI signs → HWIO ±1', () => {
  const rng = new Rng(4);
  const [kh, kw, cin, cout] = [3, 2, 37, 5];
  const w = Float32Array.from({ length: kh * kw * cin * cout }, () => rng.normal());
  const back = unpackConvSigns(packConvSigns(w, kh, kw, cin, cout), kh, kw, cin, cout);
  for (let i = 0; i < w.length; i++) assert.equal(back[i], w[i]! < 0 ? -1 : 1);
});

test('export → parse → serialize is byte-identical for every paper model (float or int8 first layer) and Larq\'s tutorial net', () => {
  const cases: [string, BnnModel][] = [...ARCHS.map((a) => [a, randomModel(a, 16, 2, false)] as [string, BnnModel]), ['B int8', randomModel('B', 16, 2, true)], ['C int8', randomModel('C', 16, 2, true)], ['S int8', randomModel('S', 16, 2, true)]];
  const larq = larqTutorial();
  cases.push(['larq', modelFromParams(larq, initParams(larq, 3))]);
  for (const [name, model] of cases) {
    const bytes = serializeBnn(model);
    const parsed = parseBnn(bytes);
    assert.deepEqual(parsed.graph, model.graph, `${name}: the graph comes back from the records alone`);
    assert.deepEqual(serializeBnn(parsed), bytes, `${name}: re-serialized bytes differ`);
    assert.deepEqual(parsed.layers, model.layers.map((l) => ({ ...l, ...(l.scale !== undefined ? { scale: Math.fround(l.scale) } : {}) })), `${name}: tensors`);
  }
});

test('B-64 is ≥ 25× smaller than its float32 weights', () => {
  const bytes = randomModelBytes('B', 64);
  const ratio = (floatParamCount(paperModel('B', 64)) * 4) / bytes.length;
  assert.ok(ratio >= 25, `ratio ${ratio.toFixed(2)}`);
});

function rejects(bytes: Uint8Array, code: string, offset?: number, msg?: RegExp): void {
  assert.throws(
    () => parseBnn(bytes, { source: 'm.bnn' }),
    (e: unknown) => {
      assert.ok(e instanceof BnnFormatError, `expected BnnFormatError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      if (offset !== undefined) assert.equal(e.offset, offset, e.message);
      if (msg) assert.match(e.message, msg);
      assert.match(e.message, /^m\.bnn: /);
      return true;
    },
  );
}

/** Byte offset of record `i`'s field in the 2.0 tables. */
const layerAt = (i: number, field: string) => HEADER_SIZE + i * LAYER_RECORD_SIZE + LAYER_FIELDS.find((f) => f.name === field)!.offset;

test('corrupt 2.0 files are rejected with a code and the byte offset, structure before checksum', () => {
  const good = randomModelBytes('S', 16);
  const L = parseBnn(good).graph.layers.length;
  const t0 = HEADER_SIZE + L * LAYER_RECORD_SIZE; // first tensor record
  const edit = (f: (b: Uint8Array, v: DataView) => void, crc = true) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return crc ? fixCrc(b) : b;
  };
  rejects(good.subarray(0, 10), 'TRUNCATED');
  rejects(good.subarray(0, good.length - 16), 'TRUNCATED', good.length - 16);
  rejects(Uint8Array.of(...good, 0), 'SIZE_MISMATCH', 16, /trailing data/);
  rejects(edit((b) => (b[1] = 0x43), false), 'BAD_MAGIC', 1);
  rejects(edit((_, v) => v.setUint16(8, 3, true), false), 'BAD_VERSION', 8, /version 3\.0/);
  rejects(edit((b) => (b[b.length - 20] ^= 1), false), 'BAD_CHECKSUM', 20);
  // A structural error is found before the checksum is even computed.
  rejects(edit((b) => (b[layerAt(3, 'kernelH')] = 3), false), 'SHAPE_MISMATCH', layerAt(3, 'outHeight'), /outHeight is 5, expected 6/);
  rejects(edit((_, v) => v.setUint16(HEADER_FIELDS.find((f) => f.name === 'classes')!.offset, 11, true)), 'BAD_GRAPH', undefined, /1×1×11/);
  rejects(edit((b) => (b[layerAt(0, 'kind')] = 99)), 'BAD_GRAPH', layerAt(0, 'kind'), /unknown kind code 99/);
  rejects(edit((_, v) => v.setUint16(layerAt(2, 'input0'), 5, true)), 'BAD_GRAPH', layerAt(2, 'input0'), /only the image/);
  rejects(edit((b) => (b[layerAt(1, 'layerName')] = 0x20)), 'BAD_VALUE', layerAt(1, 'layerName'), /name/);
  rejects(edit((b) => (b[layerAt(1, 'reserved0')] = 1)), 'BAD_GRAPH', layerAt(1, 'reserved0'));
  rejects(edit((_, v) => v.setUint32(layerAt(0, 'outChannels'), 17, true)), 'SHAPE_MISMATCH', layerAt(0, 'outChannels'));
  // conv2 (record 3) with an input quantizer but a float kernel: a graph rule, named.
  rejects(edit((b) => (b[layerAt(3, 'kernelQuantizer')] = 0)), 'BAD_GRAPH', layerAt(3, 'kind'), /conv2: a binarized input needs binary weights/);
  rejects(edit((_, v) => v.setUint32(t0 + 24, good.length + 64, true)), 'BAD_TENSOR', t0 + 24, /expected/);
  rejects(edit((_, v) => v.setUint32(t0 + 28, 12, true)), 'SIZE_MISMATCH', t0 + 28);
  rejects(edit((_, v) => v.setUint32(t0 + 8, 0xffffffff, true)), 'SHAPE_MISMATCH', t0 + 8);
  rejects(edit((b) => (b[t0 + 2] = 99)), 'BAD_TENSOR', t0 + 2, /role 99/);
  rejects(edit((_, v) => v.setUint32(12, 64, true)), 'BAD_HEADER', 12, /header size 64/);
  rejects(edit((_, v) => v.setUint32(44, v.getUint32(44, true) + 16, true)), 'BAD_HEADER', 44, /payload at/);
  // The last tensor record dropped (count and payload offset kept consistent).
  rejects(
    edit((_, v) => {
      v.setUint16(34, v.getUint16(34, true) - 1, true);
      v.setUint32(44, v.getUint32(44, true) - TENSOR_RECORD_SIZE, true);
    }),
    'SHAPE_MISMATCH',
    34,
    /tensor records/,
  );
  // Values: conv1 ships int8 weights then their scales.
  assert.ok(parseBnn(good).layers[0]!.weightsI8, 'S exports an int8 conv1');
  const s0 = new DataView(good.buffer).getUint32(t0 + TENSOR_RECORD_SIZE + 24, true);
  rejects(edit((_, v) => v.setFloat32(s0, 0, true)), 'BAD_VALUE', s0, /positive scale/);
  rejects(edit((_, v) => v.setFloat32(s0 + 8, NaN, true)), 'BAD_VALUE', s0 + 8, /NaN/);
  // Gaps are zero: the padding before the payload, and after a tensor whose length is not a multiple of 16.
  const tableEnd = t0 + new DataView(good.buffer).getUint16(34, true) * TENSOR_RECORD_SIZE;
  const payload = new DataView(good.buffer).getUint32(44, true);
  if (tableEnd < payload) rejects(edit((b) => (b[tableEnd] = 1)), 'BAD_VALUE', tableEnd, /padding byte/);
  const bias = randomModelBytes('R', 3, 4); // conv1's bias: 3 floats, 4 bytes of padding after it
  const rm = parseBnn(bias);
  const biasRec = HEADER_SIZE + rm.graph.layers.length * LAYER_RECORD_SIZE + TENSOR_RECORD_SIZE;
  const bv = new DataView(bias.buffer, bias.byteOffset);
  assert.equal(bias[biasRec + 2], 11, 'the second tensor is conv1/bias');
  const afterBias = bv.getUint32(biasRec + 24, true) + 12;
  const b2 = bias.slice();
  b2[afterBias] = 7;
  rejects(fixCrc(b2), 'BAD_VALUE', afterBias, /padding byte/);
});

test('1.x files: read as their preset graph, still validated field by field', () => {
  const good = readFileSync(fileURLToPath(new URL('../../models/s64.bnn', import.meta.url)));
  const model = parseBnn(good);
  assert.deepEqual(model.version, { major: 1, minor: 0 });
  assert.equal(paperModelOf(model.graph)?.arch, 'S');
  const edit = (f: (b: Uint8Array, v: DataView) => void, crc = true) => {
    const b = Uint8Array.from(good);
    f(b, new DataView(b.buffer));
    return crc ? fixCrc(b) : b;
  };
  rejects(edit((_, v) => v.setUint16(26, 17, true)), 'SHAPE_MISMATCH');
  rejects(edit((b) => (b[24] = 9)), 'BAD_ARCH', 24);
  rejects(edit((_, v) => v.setUint16(28, 32, true)), 'SHAPE_MISMATCH', 28);
  rejects(edit((b) => (b[64 + 32 + 2] = 3)), 'SHAPE_MISMATCH', 64 + 32 + 2, /kernel is 3/);
  rejects(edit((b) => (b[25] = 1)), 'BAD_HEADER', 25, /reserved0/);
  rejects(edit((b) => (b[b.length - 20] ^= 1), false), 'BAD_CHECKSUM', 20);
  // An R file (1.1) that claims 1.0 is rejected where the version is, not misread.
  const r = Uint8Array.from(readFileSync(fileURLToPath(new URL('../../models/r64-pgd.bnn', import.meta.url))));
  new DataView(r.buffer).setUint16(10, 0, true);
  fixCrc(r);
  assert.throws(() => parseBnn(r), (e: Error) => e instanceof BnnFormatError && e.code === 'BAD_VERSION' && e.offset === 10 && /needs format 1\.1/.test(e.message));
});

test('packed sign padding bits and negative variances are rejected', () => {
  const good = randomModelBytes('B', 8); // conv2 has cin = 8: 24 padding bits per word
  const model = parseBnn(good);
  const conv2 = model.graph.layers.findIndex((l) => l.name === 'conv2');
  const bn2 = model.graph.layers.findIndex((l) => l.name === 'bn2');
  const L = model.graph.layers.length;
  const v0 = new DataView(good.buffer);
  const recordOf = (layer: number, role: number) => {
    for (let i = 0; ; i++) {
      const r = HEADER_SIZE + L * LAYER_RECORD_SIZE + i * TENSOR_RECORD_SIZE;
      if (v0.getUint16(r, true) === layer && good[r + 2] === role) return r;
    }
  };
  const b = good.slice();
  const v = new DataView(b.buffer);
  const at = v.getUint32(recordOf(conv2, 2) + 24, true);
  v.setUint32(at, v.getUint32(at, true) | 0x80000000, true);
  rejects(fixCrc(b), 'BAD_VALUE', at, /padding bits/);
  const c = good.slice();
  const varAt = new DataView(c.buffer).getUint32(recordOf(bn2, 5) + 24, true);
  new DataView(c.buffer).setFloat32(varAt + 4, -1, true);
  rejects(fixCrc(c), 'BAD_VALUE', varAt + 4, /variance/);
});

test('thresholds: the sign of the float64 chain for every value an accumulator can take, and for floats', () => {
  const rng = new Rng(9);
  const c = 200;
  const bn = {
    mean: Float32Array.from({ length: c }, () => 5 * rng.normal()),
    variance: Float32Array.from({ length: c }, () => 10 * rng.next()),
    beta: Float32Array.from({ length: c }, () => rng.normal()),
    gamma: Float32Array.from({ length: c }, (_, i) => (i % 5 === 0 ? -1 : i % 7 === 0 ? 0 : 0.5 + rng.next())),
  };
  const { a, b } = batchNormAffine(bn.mean, bn.variance, bn.beta, bn.gamma, 1e-5);
  const chain: ChainOp[] = [{ kind: 'relu' }, { kind: 'mul', v: new Float64Array(c).fill(0.07) }, { kind: 'mul', v: a }, { kind: 'add', v: b }];
  const n = 97;
  const th = searchThresholds(chain, c, { kind: 'int', lo: 0, hi: n, value: (p) => n - 2 * p });
  const { thr, flip } = accKernelThresholds(th, 0, n);
  const directions = new Set<string>();
  for (let ch = 0; ch < c; ch++) {
    directions.add(th[ch]!.direction);
    for (let p = 0; p <= n; p++) {
      const want = evalChain(chain, ch, n - 2 * p) >= 0;
      assert.equal(flip[ch] ? p >= thr[ch]! : p <= thr[ch]!, want, `channel ${ch}, P = ${p}`);
    }
  }
  assert.deepEqual([...directions].sort(), ['always', 'ge', 'le', 'never'].filter((d) => directions.has(d)).sort());
  assert.ok(directions.has('ge') && directions.has('le') && directions.size >= 3, [...directions].join());
  // Floats: near each threshold and at the extremes.
  const fth = searchThresholds(chain, c, { kind: 'f32' });
  const { thr: ft, flip: ff } = floatKernelThresholds(fth);
  for (let ch = 0; ch < c; ch++) {
    const t = ft[ch]!;
    const probes = [-Infinity, -3e38, -1, -0, 0, 1e-30, 1, 3e38, Infinity, t, Math.fround(t * (1 + 2 ** -23)), Math.fround(t * (1 - 2 ** -23))].filter((x) => Number.isFinite(x) || Math.abs(x) === Infinity);
    for (const y of probes) {
      if (Number.isNaN(y)) continue;
      // An infinite y takes the sign f has on the largest finite values of its sign.
      const want = evalChain(chain, ch, Math.abs(y) === Infinity ? Math.sign(y) * 3.4028234663852886e38 : y) >= 0;
      const got = ff[ch] ? y <= t : y >= t;
      assert.equal(got, want, `channel ${ch}, y = ${y}, t = ${t}`);
    }
  }
  // γ = 0 makes f constant (b): +1 everywhere if b ≥ 0 — infinities included, though f(±∞) is NaN.
  const flat: ChainOp[] = [{ kind: 'mul', v: Float64Array.of(0, 0) }, { kind: 'add', v: Float64Array.of(0.5, -0.5) }];
  assert.deepEqual(searchThresholds(flat, 2, { kind: 'f32' }).map((t) => t.direction), ['always', 'never']);
  // A crafted channel where float64's ⌈−b/α⌉ disagrees with the chain (the 1.x document's
  // shortcut): the search follows the chain.
  const crafted: ChainOp[] = [{ kind: 'mul', v: Float64Array.of(0.1) }, { kind: 'add', v: Float64Array.of(-0.30000000000000004) }];
  const [x] = searchThresholds(crafted, 1, { kind: 'int', lo: -10, hi: 10, value: (v) => v });
  assert.equal(x!.direction, 'ge');
  // y = 3: 0.1·3 = 0.30000000000000004 in float64, so f(3) = 0 and the sign is +1; the shortcut
  // ⌈−b/α⌉ = ⌈0.30000000000000004 / 0.1⌉ = ⌈3.0000000000000004⌉ = 4 would say −1.
  assert.equal(evalChain(crafted, 0, 3), 0);
  assert.equal(Math.ceil(0.30000000000000004 / 0.1), 4);
  assert.equal(x!.t, 3);
});

test('docs/FORMAT.md is generated from the layout and current', async () => {
  const { readFileSync } = await import('node:fs');
  const { formatDoc } = await import('../src/format/doc.js');
  const committed = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
  assert.equal(committed, formatDoc(), 'run `node dist/src/cli/main.js format-doc --out docs/FORMAT.md`');
});

test('paramsFromModel: a .bnn gives back parameters that export to the same file (exact for float models A and R)', () => {
  for (const arch of ARCHS) {
    const model = parseBnn(randomModelBytes(arch, 8, 11));
    const restored = paramsFromModel(model);
    assert.equal(restored.exact, arch === 'A' || arch === 'R', `${arch}: only a float model is restored bit for bit`);
    assert.deepEqual(restored.graph, paperModel(arch, 8), `${arch}: the training graph (int8 is how a layer ships, not what it is)`);
    const again = serializeBnn(modelFromParams(restored.graph, restored.params));
    assert.deepEqual(again, serializeBnn(model), `${arch}: re-exporting the restored parameters reproduces the file`);
  }
  for (const arch of ['A', 'R'] as const) {
    const a = randomParams(arch, 8, 11);
    const back = paramsFromModel(modelFromParams(paperModel(arch, 8), a)).params;
    for (const [name, v] of a) assert.deepEqual(back.get(name), v, `${arch}: ${name} restored exactly`);
  }
});

test('models/manifest.json: each continued model names the shipped model it grew from, by content', () => {
  const models = fileURLToPath(new URL('../../models/', import.meta.url));
  const entries = readManifest(models).models;
  for (const e of entries) assert.equal(e.sha256, sha256(readFileSync(join(models, e.file))), `${e.file} is the file the manifest measured`);
  const byName = (file: string) => entries.find((e) => e.file === file)!;
  assert.equal(trainedFrom(entries, byName('a64-pgd134.bnn')), byName('a64-pgd94.bnn'));
  assert.equal(trainedFrom(entries, byName('a64-pgd94.bnn')), byName('a64-pgd50.bnn'));
  assert.equal(trainedFrom(entries, byName('a64-pgd50.bnn')), byName('a64-pgd.bnn'));
  assert.equal(epochsInAll(entries, byName('a64-pgd134.bnn')), 40 + 44 + 40 + 10);
  // a128-pgd149 grew from a64-pgd134, widened, through a run that was never shipped (10 epochs).
  assert.equal(trainedFrom(entries, byName('a128-pgd149.bnn')), byName('a64-pgd134.bnn'));
  assert.equal(epochsInAll(entries, byName('a128-pgd149.bnn')), 5 + 10 + 134);
  // A chain that loops (only a hand-edited manifest could hold one) is refused, not followed forever.
  const a = byName('a64-pgd50.bnn');
  const looped = { ...a, training: { ...a.training, init: { path: a.file, sha256: a.sha256 } } };
  assert.throws(() => epochsInAll([looped], looped), /the --init chain of a64-pgd50\.bnn loops/);
  // Through runs never shipped: their checkpoints' own epochs and starts come along in the record.
  const base = byName('a64-pgd.bnn');
  const top = {
    ...a,
    file: 'top.bnn',
    sha256: 'f'.repeat(64),
    training: { ...a.training, epochs: 3, init: { path: 'runs/mid', sha256: 'e'.repeat(64), epochs: 5, init: { path: 'runs/low', sha256: 'd'.repeat(64), epochs: 7, init: { path: 'models/a64-pgd.bnn', sha256: base.sha256 } } } },
  };
  assert.equal(trainedFrom([...entries, top], top), base);
  assert.equal(epochsInAll([...entries, top], top), 3 + 5 + 7 + 10);
  // A start that does not tell its epochs (an unshipped .bnn) ends the chain there.
  const unknown = { ...top, training: { ...top.training, init: { path: 'elsewhere.bnn', sha256: 'e'.repeat(64), init: { path: 'models/a64-pgd.bnn', sha256: base.sha256 } } } };
  assert.equal(trainedFrom([...entries, unknown], unknown), undefined);
  assert.equal(epochsInAll([...entries, unknown], unknown), 3);
});

test('ternary weights (format 2.1): written as 2.1, round trip exactly, a 2.0 header or a sign bit outside the mask is rejected', () => {
  const graph = defineGraph({
    name: 'tern',
    input: [6, 6, 1],
    classes: 3,
    layers: [
      { kind: 'quantConv2d', name: 'c0', filters: 4, kernelSize: 3, kernelQuantizer: 'ste_tern' },
      { kind: 'batchNorm', name: 'b0' },
      { kind: 'quantConv2d', name: 'c1', filters: 5, kernelSize: 3, padding: 'same', padValue: 1, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
      { kind: 'flatten', name: 'f' },
      { kind: 'quantDense', name: 'd', units: 3, inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_tern' },
    ],
  });
  const model = modelFromParams(graph, initParams(graph, 5));
  const bytes = serializeBnn(model);
  const back = parseBnn(bytes);
  assert.deepEqual(back.version, { major: 2, minor: 1 });
  assert.deepEqual(back.layers, model.layers);
  const c1 = back.layers[2]!;
  assert.ok(c1.maskWords && c1.signWords!.every((w, i) => (w & ~c1.maskWords![i]!) === 0), 'signs only where the mask is set');
  assert.ok(c1.maskWords.some((m) => (m & 0xf) !== 0xf) && c1.maskWords.some((m) => m !== 0), 'a mask with zeros and ones');
  // The weights |w| ≤ the threshold are the zeros; paramsFromModel gives back weights that export to the same bytes.
  assert.ok(Buffer.from(serializeBnn(modelFromParams(graph, paramsFromModel(back).params))).equals(Buffer.from(bytes)));
  // `info` states each ternary layer's share of zero weights, counted from its mask.
  let nonzero = 0;
  for (const w of c1.maskWords) nonzero += popcount32(w);
  assert.equal(describeModel(back, bytes.length).layers[2]!.detail, `3×3/1 same pad +1 in:ste_sign w:ste_tern, ${((100 * (5 * 9 * 4 - nonzero)) / (5 * 9 * 4)).toFixed(0)}% zero`);
  // A file without ternary layers stays 2.0.
  assert.deepEqual(parseBnn(randomModelBytes('B', 8)).version, { major: 2, minor: 0 });
  const edit = (f: (b: Uint8Array, v: DataView) => void) => {
    const b = bytes.slice();
    f(b, new DataView(b.buffer));
    return fixCrc(b);
  };
  rejects(edit((_, v) => v.setUint16(10, 0, true)), 'BAD_VERSION', 10, /need format 2\.1/);
  // c1's weightsSign: set a sign bit where its mask is 0.
  const L = graph.layers.length;
  const tensors = back.layers.flatMap((t, i) => (t.signWords ? [i] : []));
  assert.deepEqual(tensors, [0, 2, 4]);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const records = view.getUint16(34, true);
  const recordAt = (i: number) => HEADER_SIZE + L * LAYER_RECORD_SIZE + i * TENSOR_RECORD_SIZE;
  const signRecord = Array.from({ length: records }, (_, i) => i).find((i) => view.getUint16(recordAt(i), true) === 2 && view.getUint8(recordAt(i) + 2) === 2)!;
  const rec = recordAt(signRecord);
  const offset = view.getUint32(rec + 24, true);
  const word = c1.maskWords.findIndex((m) => (m & 0xf) !== 0xf);
  const bit = [0, 1, 2, 3].find((b) => !((c1.maskWords![word]! >>> b) & 1))!;
  rejects(edit((_, v) => v.setUint32(offset + 4 * word, v.getUint32(offset + 4 * word, true) | (1 << bit), true)), 'BAD_VALUE', offset + 4 * word, /sign bits set where weightsMask says the weight is 0/);
});
