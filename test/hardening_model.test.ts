/**
 * Hardening of the format boundary (issue 38, items 4 and 5): a hand-made BnnModel is held to the
 * reader's rules; parseBnn takes any byte view for what it is and nothing else; files must be
 * canonical (no non-zero gaps, no trailing or hidden bytes, 1.x too), structure checked before
 * the checksum.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BnnFormatError } from '../src/format/errors.js';
import type { BnnModel, LayerTensors } from '../src/format/model.js';
import { parseBnn } from '../src/format/read.js';
import { serializeBnn } from '../src/format/write.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { fixCrc, randomImages, randomModel } from './helpers.js';

const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));
const isFormat = (code: string, msg?: RegExp, offset?: number) => (e: unknown) =>
  e instanceof BnnFormatError && e.code === code && (!msg || msg.test(e.message)) && (offset === undefined || e.offset === offset);

/** The model with layer `name`'s tensors changed by `f`. */
function edit(model: BnnModel, name: string, f: (t: Record<string, unknown>) => void): BnnModel {
  const i = model.graph.layers.findIndex((l) => l.name === name);
  assert.ok(i >= 0, name);
  const layers = model.layers.map((t, j) => {
    if (j !== i) return t;
    const copy: Record<string, unknown> = { ...t };
    f(copy);
    return copy as LayerTensors;
  });
  return { ...model, layers };
}

test('fromModel holds a hand-made model to the reader\'s rules (short sign words, NaN, ε ≤ 0, stray tensors, hostile objects)', async () => {
  const model = randomModel('C', 8, 50);
  const images = randomImages(2, 51);
  const want = (await BnnRuntime.fromModel(model)).logits(images, 2);
  // The cases: short sign words (stale memory read as weights), NaN weights, ε = −1.
  const conv2 = model.layers[model.graph.layers.findIndex((l) => l.name === 'conv2')]!;
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'conv2', (t) => (t['signWords'] = conv2.signWords!.subarray(1)))), isFormat('SIZE_MISMATCH', /conv2.*signWords holds \d+ values/));
  await assert.rejects(
    BnnRuntime.fromModel(edit(model, 'dense', (t) => (t['weightsF32'] = Float32Array.from(t['weightsF32'] as Float32Array, (v, i) => (i === 3 ? NaN : v))))),
    isFormat('BAD_VALUE', /weightsF32 of layer dense: element 3 is NaN/),
  );
  const negEps = { ...model, graph: { ...model.graph, layers: model.graph.layers.map((l) => (l.kind === 'batchNorm' ? { ...l, epsilon: -1 } : l)) } };
  await assert.rejects(BnnRuntime.fromModel(negEps), isFormat('BAD_GRAPH', /epsilon/));
  // Kinds and values the file could not hold.
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'conv2', (t) => (t['signWords'] = Float32Array.from(conv2.signWords!)))), isFormat('BAD_TENSOR', /must be a Uint32Array/));
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'conv2', (t) => (t['signWords'] = Uint32Array.from(conv2.signWords!, (w, i) => (i === 0 ? w | 0x80000000 : w))))), isFormat('BAD_VALUE', /padding bits/));
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'bn2', (t) => (t['beta'] = new Float32Array((t['beta'] as Float32Array).length).fill(-Infinity)))), isFormat('BAD_VALUE', /bnBeta of layer bn2: element 0 is -Infinity/));
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'bn2', (t) => (t['gamma'] = new Float32Array((t['mean'] as Float32Array).length).fill(2)))), isFormat('BAD_VALUE', /gamma\[0\] is 2, but a batch norm without scale/));
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'bn2', (t) => (t['variance'] = new Float32Array((t['mean'] as Float32Array).length).fill(-1)))), isFormat('BAD_VALUE', /variance/));
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'conv2', (t) => (t['bias'] = new Float32Array(16)))), isFormat('BAD_TENSOR', /has no bias/));
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'conv2', (t) => (t['weights'] = new Float32Array(16)))), isFormat('BAD_TENSOR', /unknown tensor field "weights"/));
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'scale2', (t) => (t['scale'] = Infinity))), isFormat('BAD_VALUE'));
  await assert.rejects(BnnRuntime.fromModel({ ...model, layers: model.layers.slice(1) }), isFormat('BAD_GRAPH', /tensor sets for a graph of/));
  await assert.rejects(BnnRuntime.fromModel({ ...model, version: { major: 3, minor: 0 } }), isFormat('BAD_VERSION'));
  await assert.rejects(BnnRuntime.fromModel(null as unknown as BnnModel), isFormat('BAD_GRAPH', /must be an object/));
  const throwing = new Proxy(model, {
    get(target, key, receiver) {
      if (key === 'layers') throw new Error('no layers for you');
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  await assert.rejects(BnnRuntime.fromModel(throwing), isFormat('BAD_VALUE', /not a valid BnnModel: no layers for you/));
  // A subclass claiming the right length while holding fewer words is read as what it holds.
  class Liar extends Uint32Array {
    override get length(): number {
      return conv2.signWords!.length;
    }
  }
  await assert.rejects(BnnRuntime.fromModel(edit(model, 'conv2', (t) => (t['signWords'] = new Liar(conv2.signWords!.subarray(1))))), isFormat('SIZE_MISMATCH'));
  // What runs is the checked copy: changing the caller's arrays afterwards changes nothing.
  const rt = await BnnRuntime.fromModel(model);
  (model.layers[model.layers.length - 1]!.weightsF32 as Float32Array).fill(0);
  assert.notEqual(rt.model, model);
  assert.deepEqual(rt.logits(images, 2), want);
  // A 1.x model keeps its version through the check.
  const v1 = parseBnn(readFileSync(MODELS + 'c64.bnn'));
  assert.deepEqual((await BnnRuntime.fromModel(v1)).model.version, { major: 1, minor: 0 });
});

test('parseBnn takes the bytes of any view for what they are: DataView, other typed arrays, subclasses; numbers, arrays and Proxies are refused without allocating', () => {
  const bytes = readFileSync(MODELS + 'b64.bnn');
  const want = serializeBnn(parseBnn(bytes));
  const inBigger = new Uint8Array(bytes.length + 32);
  inBigger.set(bytes, 16);
  for (const view of [new DataView(inBigger.buffer, 16, bytes.length), inBigger.subarray(16, 16 + bytes.length), new Uint32Array(Uint8Array.from(bytes).buffer), Uint8Array.from(bytes).buffer]) {
    assert.deepEqual(serializeBnn(parseBnn(view as Uint8Array)), want);
  }
  // The cases: parseBnn(1e9) allocated 1 GB; a DataView was read as 0 bytes.
  const before = process.memoryUsage().arrayBuffers;
  const refused: unknown[] = [1e9, '1e9', [1, 2, 3], null, undefined, { length: 1e9 }, new Proxy(Uint8Array.from(bytes), {})];
  refused.forEach((x, i) => assert.throws(() => parseBnn(x as Uint8Array), (e: unknown) => e instanceof TypeError && /parseBnn takes the file's bytes/.test((e as Error).message), `case ${i}`));
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, 'nothing large was allocated');
  class Longer extends Uint8Array {
    override get length(): number {
      return bytes.length + 100;
    }
  }
  const longer = new Longer(bytes.length);
  longer.set(bytes);
  assert.deepEqual(serializeBnn(parseBnn(longer)), want, 'read as the bytes it holds');
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  assert.deepEqual(serializeBnn(parseBnn(shared)), want, 'shared memory is copied, then read');
});

test('2.0 files must be canonical: trailing bytes, non-zero gaps and a payload out of place are rejected before the checksum', () => {
  const good = serializeBnn(randomModel('R', 3, 52)); // conv1's bias: 3 floats, then 4 bytes of padding
  const corrupt = (b: Uint8Array) => {
    b[b.length - 1] ^= 0xff; // whatever else is wrong, the checksum is too
    return b;
  };
  // 1 GiB of junk behind a good file costs a size check, not a checksum over the junk.
  const padded = new Uint8Array(good.length + 4096);
  padded.set(good);
  assert.throws(() => parseBnn(corrupt(padded)), isFormat('SIZE_MISMATCH', /trailing data/, 16));
  // The same file declaring the longer size: the tensors end earlier than the file.
  const declared = padded.slice();
  new DataView(declared.buffer).setUint32(16, declared.length, true);
  assert.throws(() => parseBnn(corrupt(declared)), isFormat('SIZE_MISMATCH', /the tensors end at/));
  const m = parseBnn(good);
  const biasRec = 80 + m.graph.layers.length * 64 + 32;
  const afterBias = new DataView(good.buffer).getUint32(biasRec + 24, true) + 12;
  const gap = good.slice();
  gap[afterBias] = 1;
  assert.throws(() => parseBnn(corrupt(gap)), isFormat('BAD_VALUE', /padding byte/, afterBias));
  assert.throws(() => parseBnn(fixCrc(gap)), isFormat('BAD_VALUE', /padding byte/, afterBias));
});

test('1.x files must be packed too: no hidden bytes in gaps, after the last tensor or between tensors; structure before the checksum', () => {
  const good = Uint8Array.from(readFileSync(MODELS + 'c64.bnn'));
  const v = new DataView(good.buffer);
  const T = v.getUint16(38, true);
  const t0 = v.getUint32(44, true);
  const records = Array.from({ length: T }, (_, i) => ({ at: t0 + 32 * i, role: good[t0 + 32 * i + 1]!, offset: v.getUint32(t0 + 32 * i + 20, true), length: v.getUint32(t0 + 32 * i + 24, true) }));
  const scale = records.find((r) => r.role === 8)!; // the SReLU scalar: 4 bytes, then 12 of padding
  const gap = good.slice();
  gap[scale.offset + 4] = 0x5a;
  assert.throws(() => parseBnn(fixCrc(gap)), isFormat('BAD_VALUE', /padding byte/, scale.offset + 4));
  // Hidden bytes after the last tensor, with the declared size (and checksum) to match.
  const trailing = new Uint8Array(good.length + 16);
  trailing.set(good);
  trailing.fill(0x5a, good.length);
  new DataView(trailing.buffer).setUint32(16, trailing.length, true);
  assert.throws(() => parseBnn(fixCrc(trailing)), isFormat('SIZE_MISMATCH', /the tensors end at/));
  // The last tensor moved 16 bytes on, leaving a hole of 16 hidden bytes before it.
  const last = records.reduce((a, b) => (b.offset > a.offset ? b : a));
  const moved = new Uint8Array(good.length + 16);
  moved.set(good);
  moved.copyWithin(last.offset + 16, last.offset, good.length);
  moved.fill(0x5a, last.offset, last.offset + 16);
  const mv = new DataView(moved.buffer);
  mv.setUint32(16, moved.length, true);
  mv.setUint32(last.at + 20, last.offset + 16, true);
  assert.throws(() => parseBnn(fixCrc(moved)), isFormat('BAD_TENSOR', /expected \d+ \(tensors are packed/));
  // A structural fault is reported as such even when the checksum is also wrong.
  const both = gap.slice();
  both[both.length - 1] ^= 1;
  assert.throws(() => parseBnn(both), isFormat('BAD_VALUE', /padding byte/));
  // Every shipped 1.x model is packed (and still loads).
  for (const f of ['a64.bnn', 'b64.bnn', 'c64.bnn', 's64.bnn', 'r64-pgd.bnn']) parseBnn(readFileSync(MODELS + f));
});
