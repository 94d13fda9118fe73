/**
 * Bounded reading (issue 38, item 2): a model path is opened without blocking and checked on the
 * open descriptor, its header read and checked before the rest, its size capped by the header's
 * declared size and the format's limit; the same for BnnRuntime.load(path) and for models fetched
 * over HTTP (read as a stream, never past the declared size); IDX test sets load without touching
 * the training files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, ftruncateSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { loadIdxDirectory } from '../src/data/idx.js';
import { BnnFileError, BnnFormatError } from '../src/format/errors.js';
import { readModelFile } from '../src/format/file.js';
import { BnnRuntime } from '../src/runtime/index.js';

const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));
const FILE_JS = fileURLToPath(new URL('../src/format/file.js', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const good = readFileSync(MODELS + 'b64.bnn');

/** A sparse file of `size` bytes starting with `head` (nothing is written past it). */
function sparse(path: string, head: Uint8Array, size: number): void {
  writeFileSync(path, head);
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, size);
  closeSync(fd);
}

/** Memory held by ArrayBuffers grew by less than 1 MiB while `f` ran (it read nothing big). */
function readsLittle(f: () => void): void {
  const before = process.memoryUsage().arrayBuffers;
  f();
  const grew = process.memoryUsage().arrayBuffers - before;
  assert.ok(grew < 1 << 20, `ArrayBuffers grew by ${grew} bytes`);
}

const isFile = (code: string, msg?: RegExp) => (e: unknown) => e instanceof BnnFileError && e.code === code && (!msg || msg.test(e.message));
const isFormat = (code: string, msg?: RegExp) => (e: unknown) => e instanceof BnnFormatError && e.code === code && (!msg || msg.test(e.message));

test('readModelFile: devices, FIFOs and directories are refused on the open descriptor; junk and oversize files by their header, unread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-files-'));
  try {
    // The cases: `info /dev/zero` read 3 GB; a FIFO blocked forever; 1 GB of junk was read before its magic.
    readsLittle(() => assert.throws(() => readModelFile('/dev/zero'), isFile('NOT_A_FILE', /\/dev\/zero: not a regular file \(a device\)/)));
    const fifo = join(dir, 'fifo.bnn');
    execFileSync('mkfifo', [fifo]);
    // In a child with a time limit: if the open blocked, the child is killed and the test fails.
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `import { readModelFile } from ${JSON.stringify(FILE_JS)}; try { readModelFile(${JSON.stringify(fifo)}); } catch (e) { console.log(e.name, e.code); }`], { timeout: 20000, encoding: 'utf8' });
    assert.equal(child.signal, null, 'reading a FIFO must not block');
    assert.equal(child.stdout.trim(), 'BnnFileError NOT_A_FILE');
    const junk = join(dir, 'junk.bnn');
    sparse(junk, new TextEncoder().encode('GIF89a not a model'), 1 << 30);
    readsLittle(() => assert.throws(() => readModelFile(junk), isFormat('BAD_MAGIC')));
    const big = join(dir, 'big.bnn');
    sparse(big, good.subarray(0, 80), 3 * 2 ** 30);
    readsLittle(() => assert.throws(() => readModelFile(big), isFormat('SIZE_MISMATCH', /3221225472 bytes, header declares 101216/)));
    const trailing = join(dir, 'trailing.bnn');
    writeFileSync(trailing, Buffer.concat([good, Buffer.alloc(16)]));
    assert.throws(() => readModelFile(trailing), isFormat('SIZE_MISMATCH', /trailing data/));
    const short = join(dir, 'short.bnn');
    writeFileSync(short, good.subarray(0, 40));
    assert.throws(() => readModelFile(short), isFormat('TRUNCATED'));
    const v9 = join(dir, 'v9.bnn');
    sparse(v9, Uint8Array.from([...good.subarray(0, 8), 9, 0]), 1 << 28);
    readsLittle(() => assert.throws(() => readModelFile(v9), isFormat('BAD_VERSION')));
    assert.throws(() => readModelFile(join(dir, 'missing.bnn')), isFile('NOT_FOUND', /model file not found/));
    assert.throws(() => readModelFile(dir), isFile('NOT_FOUND', /a directory without model\.bnn/));
    // A run directory, and a symlink to a real model (a path the caller gave: followed).
    const run = join(dir, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'model.bnn'), good);
    assert.equal(readModelFile(run).name, 'run');
    symlinkSync(MODELS + 'b64.bnn', join(dir, 'link.bnn'));
    assert.deepEqual(readModelFile(join(dir, 'link.bnn')).bytes, Uint8Array.from(good));
    // A directory named model.bnn inside a run directory is not a file either.
    const odd = join(dir, 'odd');
    mkdirSync(join(odd, 'model.bnn'), { recursive: true });
    assert.throws(() => readModelFile(odd), isFile('NOT_A_FILE'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BnnRuntime.load(path) reads as boundedly: devices, FIFOs and oversize .bnn files are refused before they are read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-load-'));
  try {
    await assert.rejects(BnnRuntime.load('/dev/zero'), /not a regular file/);
    const fifo = join(dir, 'fifo.bnn');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(BnnRuntime.load(fifo), isFile('NOT_A_FILE', /not a regular file \(a FIFO\)/));
    await assert.rejects(BnnRuntime.load(dir), isFile('NOT_A_FILE', /a directory/));
    await assert.rejects(BnnRuntime.load(join(dir, 'missing.bnn')), isFile('NOT_FOUND', /missing\.bnn: file not found/));
    // 512 MiB that is not a .bnn: refused at its magic, the rest never read.
    const junk = join(dir, 'junk.bin');
    sparse(junk, new TextEncoder().encode('GIF89a not a model, nothing like one at all'), 2 ** 29);
    const beforeJunk = process.memoryUsage().arrayBuffers;
    await assert.rejects(BnnRuntime.load(junk), isFormat('BAD_MAGIC'));
    assert.ok(process.memoryUsage().arrayBuffers - beforeJunk < 1 << 20);
    const big = join(dir, 'big.bnn');
    sparse(big, good.subarray(0, 80), 2 ** 29);
    const before = process.memoryUsage().arrayBuffers;
    await assert.rejects(BnnRuntime.load(big), isFormat('SIZE_MISMATCH'));
    assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
    const ok = join(dir, 'ok.bnn');
    writeFileSync(ok, good);
    assert.equal((await BnnRuntime.load(ok)).model.graph.classes, 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model fetched over HTTP is read as a stream, never past the size its header declares', async () => {
  let served = 0;
  const server = createServer((req, res) => {
    if (req.url === '/endless.bnn') {
      // A .bnn header declaring the real size, then bytes without end and without Content-Length.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(good.subarray(0, 80));
      const more = () => {
        served += 65536;
        if (served > 64 << 20) return res.end(); // the test's own backstop
        if (res.write(Buffer.alloc(65536))) setImmediate(more);
        else res.once('drain', more);
      };
      more();
      res.on('close', () => undefined);
    } else if (req.url === '/b64.bnn') {
      res.writeHead(200);
      res.end(good);
    } else if (req.url === '/gzipped.bnn') {
      // Compressed on the wire: Content-Length counts the gzip bytes, fetch hands over the decoded file.
      const z = gzipSync(good);
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(z.length) });
      res.end(z);
    } else if (req.url === '/broken.bnn') {
      // The connection drops after 4 KB of a file that declares 100 KB.
      res.writeHead(200, { 'content-length': String(good.length) });
      res.write(good.subarray(0, 4096), () => setTimeout(() => res.socket?.destroy(), 50));
    } else if (req.url === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<!doctype html>' + ' '.repeat(200));
      const more = () => {
        served += 65536;
        if (served > 64 << 20) return res.end();
        if (res.write(Buffer.alloc(65536, 32))) setImmediate(more);
        else res.once('drain', more);
      };
      more();
    } else if (req.url === '/liar.bnn') {
      res.writeHead(200, { 'content-length': String(3 * 2 ** 30) });
      res.end(good.subarray(0, 80));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    await assert.rejects(BnnRuntime.load(new URL('/endless.bnn', base)), /longer than 101216 bytes/);
    assert.ok(served < 8 << 20, `the server got to send ${served} bytes`);
    await assert.rejects(BnnRuntime.load(new URL('/liar.bnn', base)), /more than 1073741824/);
    await assert.rejects(BnnRuntime.load(new URL('/none.bnn', base)), isFile('NOT_FOUND', /HTTP 404/));
    assert.equal((await BnnRuntime.load(new URL('/gzipped.bnn', base))).model.graph.classes, 10);
    await assert.rejects(BnnRuntime.load(new URL('/broken.bnn', base)), isFile('READ_FAILED', /broken\.bnn: the response broke off after 4096 bytes/));
    // Not a model (a web page without end): refused at its first bytes.
    served = 0;
    await assert.rejects(BnnRuntime.load(new URL('/page.html', base)), isFormat('BAD_MAGIC'));
    assert.ok(served < 8 << 20, `the server got to send ${served} bytes`);
    assert.equal((await BnnRuntime.load(new URL('/b64.bnn', base))).model.graph.classes, 10);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('side files a command reads beside a model (manifest.json, checkpoint.json) are bounded too: a FIFO there cannot hang the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-side-'));
  try {
    writeFileSync(join(dir, 'x.bnn'), good);
    execFileSync('mkfifo', [join(dir, 'manifest.json')]);
    const run = join(dir, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'model.bnn'), good);
    execFileSync('mkfifo', [join(run, 'checkpoint.json')]);
    for (const target of [join(dir, 'x.bnn'), run]) {
      const r = spawnSync(process.execPath, [CLI, 'info', target], { timeout: 30000, encoding: 'utf8' });
      assert.equal(r.signal, null, `info ${target} must not block on a FIFO`);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /b64/);
    }
    // `models` lists ./models: there, the manifest is refused by name.
    mkdirSync(join(dir, 'models'));
    writeFileSync(join(dir, 'models', 'x.bnn'), good);
    execFileSync('mkfifo', [join(dir, 'models', 'manifest.json')]);
    // A command that needs the model's test images cannot tell which: it says so, it does not guess.
    const evaluated = spawnSync(process.execPath, [CLI, 'eval', join(dir, 'x.bnn'), '--n', '10'], { timeout: 60000, encoding: 'utf8' });
    assert.equal(evaluated.signal, null);
    assert.equal(evaluated.status, 1, evaluated.stderr);
    assert.match(evaluated.stderr, /manifest\.json: cannot tell what x\.bnn was trained on: not a regular file \(a FIFO\); give its test data with --data/);
    const models = spawnSync(process.execPath, [CLI, 'models'], { cwd: dir, timeout: 30000, encoding: 'utf8' });
    assert.equal(models.signal, null);
    assert.equal(models.status, 1);
    assert.match(models.stderr, /manifest\.json: not a regular file \(a FIFO\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a --model graph file built to break the reader (nested past the stack, a megabyte-long value) is a usage error with a short message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-graphjson-'));
  try {
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, `{"input":${'['.repeat(200000)}${']'.repeat(200000)},"classes":10,"layers":[]}`);
    const long = join(dir, 'long.json');
    writeFileSync(long, JSON.stringify({ input: new Array(1_000_000).fill(1), classes: 10, layers: [] }));
    for (const file of [deep, long]) {
      const r = spawnSync(process.execPath, [CLI, 'train', '--model', file, '--out', join(dir, 'out'), '--epochs', '1'], { timeout: 60000, encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /input must be \[height, width, channels\], got /);
      assert.ok(r.stderr.length < 400, `a ${r.stderr.length}-character message`);
      assert.doesNotMatch(r.stderr, /RangeError|at .*\.js:\d+/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IDX: only the test files are read when only the test set is needed (training files that would block are never opened)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-idx-'));
  try {
    const idx = (dims: number[], data: Uint8Array) => {
      const h = new Uint8Array(4 + 4 * dims.length);
      h[2] = 8;
      h[3] = dims.length;
      dims.forEach((d, i) => new DataView(h.buffer).setUint32(4 + 4 * i, d, false));
      return Buffer.concat([h, data]);
    };
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([3, 4, 4], new Uint8Array(48).fill(9))));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([3], Uint8Array.of(0, 1, 2)));
    execFileSync('mkfifo', [join(dir, 'train-images-idx3-ubyte')]);
    execFileSync('mkfifo', [join(dir, 'train-labels-idx1-ubyte')]);
    const { train, test: t } = loadIdxDirectory(dir, { testOnly: true });
    assert.equal(t.n, 3);
    assert.equal(train.n, 0);
    assert.throws(() => loadIdxDirectory(dir), /not a regular file \(a FIFO\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
