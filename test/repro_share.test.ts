import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Claim, withLock } from '../src/eval/repro_share.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'bnn-share-'));

test('a claim has one live holder; a dead holder or a file that is no claim is taken over', () => {
  const dir = scratch();
  try {
    const path = join(dir, 'A64-s1.claim');
    const a = new Claim(path);
    const b = new Claim(path);
    assert.equal(a.acquire(), true);
    assert.equal(a.acquire(), true, 'acquiring twice is a no-op for the holder');
    assert.equal(b.heldByOther(), true);
    assert.equal(b.acquire(), false);
    b.release(); // not b's to release
    assert.ok(existsSync(path));
    a.release();
    assert.ok(!existsSync(path));
    assert.equal(b.acquire(), true);
    b.release();

    // A run killed while it held the claim: its pid is gone.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(path, JSON.stringify({ pid: dead, token: 'killed-run' }));
    assert.equal(a.heldByOther(), false);
    assert.equal(a.acquire(), true, 'the claim of an exited process is stale');
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
    a.release();

    // The pid of a dead run given to a new process (containers restart with the same low pids):
    // ours with a token we never issued, or a live pid that started at another time, or no pid.
    for (const holder of [
      { pid: process.pid, token: 'earlier-run-same-pid', started: null },
      ...(existsSync(`/proc/${process.ppid}/stat`) ? [{ pid: process.ppid, token: 'reused-pid', started: '1' }] : []),
      { pid: 0, token: 'no-pid' },
    ]) {
      writeFileSync(path, JSON.stringify(holder));
      assert.equal(a.acquire(), true, `stale: ${JSON.stringify(holder)}`);
      a.release();
    }
    // A live parent that started when it says it did holds its claim.
    writeFileSync(path, JSON.stringify({ pid: process.ppid, token: 'parent', started: null }));
    assert.equal(a.acquire(), false);
    // Taking over a stale claim goes through a break file: while another run holds one, wait;
    // one left by a run that died (older than 10 s) is cleared.
    writeFileSync(path, JSON.stringify({ pid: dead, token: 'killed-run' }));
    writeFileSync(`${path}.break`, 'other');
    assert.equal(a.acquire(), false, 'another run is breaking the stale claim');
    utimesSync(`${path}.break`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    assert.equal(a.acquire(), true, 'an abandoned break file is cleared');
    assert.ok(!existsSync(`${path}.break`));
    a.release();

    // A file that is not a claim (claims are linked into place complete, so no run leaves half of one).
    writeFileSync(path, '{"pid": 12');
    assert.equal(a.acquire(), true);
    a.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('withLock: returns what it ran, frees the lock even on a throw, and says who holds it on timeout', () => {
  const dir = scratch();
  try {
    const lock = join(dir, 'results.json.lock');
    assert.equal(withLock(lock, () => 42), 42);
    assert.ok(!existsSync(lock));
    assert.throws(() => withLock(lock, () => { throw new Error('inside'); }), /inside/);
    assert.ok(!existsSync(lock), 'a throw inside still releases the lock');
    const other = new Claim(lock);
    other.acquire();
    assert.throws(() => withLock(lock, () => 0, 200), /results\.json\.lock: held by another bnn-edge repro for over 0\.2 s/);
    other.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two processes updating one file under withLock lose no update', async () => {
  const dir = scratch();
  try {
    const file = join(dir, 'counter.json');
    writeFileSync(file, '{"n":0}');
    const share = new URL('../src/eval/repro_share.js', import.meta.url).href;
    // Each child does 100 read-modify-write rounds; without the lock, interleaved rounds overwrite
    // each other and the count ends below 200 (or a read sees a half-written file).
    const child = `
      const { withLock } = await import(${JSON.stringify(share)});
      const { readFileSync, writeFileSync } = await import('node:fs');
      for (let i = 0; i < 100; i++) withLock(${JSON.stringify(file + '.lock')}, () => {
        const n = JSON.parse(readFileSync(${JSON.stringify(file)}, 'utf8')).n;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        writeFileSync(${JSON.stringify(file)}, JSON.stringify({ n: n + 1 }));
      });`;
    const run = () =>
      new Promise<number>((resolve) => spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: 'inherit' }).on('exit', (code) => resolve(code ?? -1)));
    assert.deepEqual(await Promise.all([run(), run()]), [0, 0]);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).n, 200);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
