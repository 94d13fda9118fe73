import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packConvSigns, packSigns, unpackConvSigns, unpackSigns } from '../src/format/bits.js';
import { BnnFormatError } from '../src/format/errors.js';
import { epochsInAll, readManifest, sha256, trainedFrom } from '../src/format/manifest.js';
import { HEADER_SIZE, LAYER_RECORD_SIZE, TENSOR_RECORD_SIZE } from '../src/format/layout.js';
import { modelFromParams, paramsFromModel } from '../src/format/model.js';
import { parseBnn } from '../src/format/read.js';
import { serializeBnn } from '../src/format/write.js';
import { foldBinaryInput, integerThresholds, popcountThresholds } from '../src/model/fold.js';
import { floatParamCount, modelSpec, ARCHS } from '../src/model/spec.js';
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

test('export → parse → serialize is byte-identical for every architecture, float or quantized first layer', () => {
  for (const [arch, quantizeInput] of [...ARCHS.map((a) => [a, false] as const), ['B', true], ['C', true], ['S', true]] as const) {
    const model = randomModel(arch, 16, 2, quantizeInput);
    const bytes = serializeBnn(model);
    const parsed = parseBnn(bytes);
    assert.deepEqual(parsed.spec, model.spec);
    assert.deepEqual(serializeBnn(parsed), bytes, `${arch}: re-serialized bytes differ`);
    parsed.layers.forEach((l, i) => {
      const m = model.layers[i]!;
      assert.deepEqual(l.weightsF32, m.weightsF32);
      assert.deepEqual(l.signWords, m.signWords);
      assert.deepEqual(l.probabilities, m.probabilities);
      assert.deepEqual(l.weightsI8, m.weightsI8);
      assert.deepEqual(l.weightScale, m.weightScale);
      assert.equal(l.scale === undefined ? undefined : Math.fround(l.scale), m.scale === undefined ? undefined : Math.fround(m.scale));
    });
  }
});

test('B-64 is ≥ 25× smaller than its float32 weights', () => {
  const bytes = randomModelBytes('B', 64);
  const ratio = (floatParamCount(modelSpec('B', 64)) * 4) / bytes.length;
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

test('corrupt files are rejected with a code and the byte offset', () => {
  const good = randomModelBytes('S', 16);
  const edit = (f: (b: Uint8Array, v: DataView) => void, crc = true) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return crc ? fixCrc(b) : b;
  };
  rejects(good.subarray(0, 10), 'TRUNCATED');
  rejects(good.subarray(0, good.length - 16), 'TRUNCATED', good.length - 16);
  rejects(Uint8Array.of(...good, 0), 'SIZE_MISMATCH', 16);
  rejects(edit((b) => (b[1] = 0x43), false), 'BAD_MAGIC', 1);
  rejects(edit((_, v) => v.setUint16(8, 2, true), false), 'BAD_VERSION', 8, /version 2\.0/);
  rejects(edit((b) => (b[b.length - 20] ^= 1), false), 'BAD_CHECKSUM', 20);
  rejects(edit((_, v) => v.setUint16(26, 17, true)), 'SHAPE_MISMATCH');
  rejects(edit((b) => (b[24] = 9)), 'BAD_ARCH', 24);
  rejects(edit((_, v) => v.setUint16(28, 32, true)), 'SHAPE_MISMATCH', 28);
  // conv2's record says 3×3 kernel instead of 6×6.
  rejects(edit((b) => (b[HEADER_SIZE + LAYER_RECORD_SIZE + 2] = 3)), 'SHAPE_MISMATCH', HEADER_SIZE + LAYER_RECORD_SIZE + 2, /conv2.*kernel is 3/);
  const t0 = HEADER_SIZE + 4 * LAYER_RECORD_SIZE; // first tensor record
  rejects(edit((_, v) => v.setUint32(t0 + 20, good.length + 64, true)), 'TENSOR_OUT_OF_BOUNDS', t0 + 20);
  rejects(edit((_, v) => v.setUint32(t0 + 20, v.getUint32(t0 + 20, true) + 4, true)), 'BAD_TENSOR', t0 + 20, /aligned/);
  rejects(edit((_, v) => v.setUint32(t0 + 24, 12, true)), 'SIZE_MISMATCH', t0 + 24);
  rejects(edit((_, v) => v.setUint32(t0 + 4, 0xffffffff, true)), 'LIMIT_EXCEEDED', t0 + 4);
  rejects(edit((b) => (b[t0 + 1] = 99)), 'BAD_TENSOR', t0 + 1);
  rejects(edit((b) => b.copyWithin(t0 + TENSOR_RECORD_SIZE, t0, t0 + TENSOR_RECORD_SIZE)), 'DUPLICATE_TENSOR', t0 + TENSOR_RECORD_SIZE + 1);
  // The last tensor record dropped (count and payload offset kept consistent): the dense layer
  // lacks its weights.
  const dropLast = (_: Uint8Array, v: DataView) => {
    v.setUint16(38, v.getUint16(38, true) - 1, true);
    v.setUint32(48, v.getUint32(48, true) - TENSOR_RECORD_SIZE, true);
  };
  rejects(edit(dropLast), 'MISSING_TENSOR', t0, /layer 3 \(dense\) lacks its weightsF32 tensor/);
  rejects(edit((_, v) => v.setUint32(12, 80, true)), 'BAD_HEADER', 12, /header size 80/);
  rejects(edit((b) => (b[25] = 1)), 'BAD_HEADER', 25, /reserved0/);
  rejects(edit((_, v) => v.setUint32(48, v.getUint32(48, true) + 16, true)), 'BAD_HEADER', 48, /payload at/);
  // A NaN in the first float tensor's data.
  let f32rec = t0;
  while (good[f32rec + 2] !== 1) f32rec += TENSOR_RECORD_SIZE;
  const w0 = new DataView(good.buffer).getUint32(f32rec + 20, true);
  rejects(edit((_, v) => v.setFloat32(w0 + 8, NaN, true)), 'BAD_VALUE', w0 + 8, /NaN/);
  // A zero weight scale of the quantized first layer.
  let scaleRec = t0;
  while (good[scaleRec + 1] !== 10) scaleRec += TENSOR_RECORD_SIZE;
  const s0 = new DataView(good.buffer).getUint32(scaleRec + 20, true);
  rejects(edit((_, v) => v.setFloat32(s0, 0, true)), 'BAD_VALUE', s0, /positive scale/);
  // QUANTIZED on a layer that cannot be quantized (conv2).
  rejects(edit((b) => (b[HEADER_SIZE + LAYER_RECORD_SIZE + 1]! |= 16)), 'SHAPE_MISMATCH', HEADER_SIZE + LAYER_RECORD_SIZE + 1);
});

test('packed sign padding bits and negative variances are rejected', () => {
  const good = randomModelBytes('B', 8); // conv2 has cin = 8: 24 padding bits per word
  const model = parseBnn(good);
  const b = good.slice();
  const v = new DataView(b.buffer);
  // Find conv2's weightsSign tensor record (layer 1, role 2).
  let rec = -1;
  for (let i = 0; i < 20; i++) {
    const r = HEADER_SIZE + 4 * LAYER_RECORD_SIZE + i * TENSOR_RECORD_SIZE;
    if (b[r] === 1 && b[r + 1] === 2) {
      rec = r;
      break;
    }
  }
  assert.ok(rec > 0 && model.layers[1]!.signWords);
  const at = v.getUint32(rec + 20, true);
  v.setUint32(at, v.getUint32(at, true) | 0x80000000, true);
  rejects(fixCrc(b), 'BAD_VALUE', at, /padding bits/);
});

test('folded thresholds reproduce sign(BN(s·relu(y))) and the popcount form is equivalent', () => {
  const rng = new Rng(9);
  const c = 200;
  const bn = {
    mean: Float32Array.from({ length: c }, () => 5 * rng.normal()),
    variance: Float32Array.from({ length: c }, () => 10 * rng.next()),
    beta: Float32Array.from({ length: c }, () => rng.normal()),
    gamma: Float32Array.from({ length: c }, (_, i) => (i % 5 === 0 ? -1 : i % 7 === 0 ? 0 : 0.5 + rng.next())),
  };
  const eps = 1e-5;
  const scale = 0.07;
  const folded = foldBinaryInput(bn, eps, scale);
  const n = 97;
  const { thr: yThr, flip } = integerThresholds(folded, n);
  const { thr: pThr, flip: pFlip } = popcountThresholds(folded, n);
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p <= n; p++) {
      const y = n - 2 * p;
      const z = (bn.gamma[ch]! * (scale * Math.max(y, 0) - bn.mean[ch]!)) / Math.sqrt(bn.variance[ch]! + eps) + bn.beta[ch]!;
      if (Math.abs(z) < 1e-9) continue; // exactly on the boundary: either side is fine
      const want = z >= 0;
      assert.equal(flip[ch] ? y <= yThr[ch]! : y >= yThr[ch]!, want, `channel ${ch}, y = ${y}`);
      assert.equal(pFlip[ch] ? p >= pThr[ch]! : p <= pThr[ch]!, want, `channel ${ch}, P = ${p}`);
    }
  }
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
    assert.deepEqual(restored.spec, modelSpec(arch, 8), `${arch}: the training spec (no export-time quantization flag)`);
    const again = serializeBnn(modelFromParams(restored.spec, restored.params));
    assert.deepEqual(again, serializeBnn(model), `${arch}: re-exporting the restored parameters reproduces the file`);
  }
  for (const arch of ['A', 'R'] as const) {
    const a = randomParams(arch, 8, 11);
    const back = paramsFromModel(modelFromParams(modelSpec(arch, 8), a)).params;
    for (const [name, v] of a) assert.deepEqual(back.get(name), v, `${arch}: ${name} restored exactly`);
  }
});

test('format 1.1: model R stores its biases and is stamped 1.1; every other model stays a 1.0 file', () => {
  for (const arch of ARCHS) {
    const bytes = randomModelBytes(arch, 8, 12);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assert.equal(view.getUint16(10, true), arch === 'R' ? 1 : 0, `${arch}: minor version`);
    const model = parseBnn(bytes);
    assert.equal(model.layers.filter((l) => l.bias).length, arch === 'R' ? 4 : 0, `${arch}: layers with a bias`);
  }
  // An R file that claims 1.0 is rejected where the version is, not misread.
  const r = randomModelBytes('R', 8, 12);
  new DataView(r.buffer, r.byteOffset).setUint16(10, 0, true);
  fixCrc(r);
  assert.throws(() => parseBnn(r), (e: Error) => e instanceof BnnFormatError && e.code === 'BAD_VERSION' && e.offset === 10 && /needs format 1\.1/.test(e.message));
  // A bias that is not a finite number is refused with its offset.
  const model = parseBnn(randomModelBytes('R', 8, 12));
  const bad = serializeBnn({ ...model, layers: model.layers.map((l, i) => (i === 1 ? { ...l, bias: Float32Array.from(l.bias!, (v, j) => (j === 3 ? NaN : v)) } : l)) });
  assert.throws(() => parseBnn(bad), (e: Error) => e instanceof BnnFormatError && e.code === 'BAD_VALUE' && /bias of layer 1: element 3 is NaN/.test(e.message));
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
