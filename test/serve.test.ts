/**
 * bnn-edge serve against the defects of issue 38 (each test failed on the node:http server it
 * replaced): symlinks and FIFOs in served folders, malformed input answered with 500 or taken
 * loosely, any method accepted, CSRF and DNS rebinding, no security headers, attacks on the event
 * loop with no queue or time limit, no connection cap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData } from '../src/data/index.js';
import { parseBnn } from '../src/format/read.js';
import { BnnRuntime } from '../src/runtime/index.js';
import { CSP } from '../src/serve/guard.js';
import { startServer, type RunningServer, type ServeOptions } from '../src/serve/server.js';

const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: { error?: string; code?: string } & Record<string, unknown>;
}

/** One HTTP/1.1 request with full control of the headers (fetch may not set Host), no keep-alive. */
function call(server: RunningServer, path: string, init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal } = {}): Promise<Answer> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: init.method ?? 'GET', headers: init.headers, agent: false, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json = {};
        try {
          json = JSON.parse(text) as object;
        } catch {
          // not JSON (a file)
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const postJson = (server: RunningServer, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  call(server, '/api/attack', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), ...(signal ? { signal } : {}) });

const postVerify = (server: RunningServer, body: unknown) => call(server, '/api/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const digit = (v = 0.1) => new Array<number>(784).fill(v);

/** A models folder: c64 and s64 as shipped, the manifest, and what a hostile folder may hold. */
function modelsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-serve-'));
  for (const f of ['c64.bnn', 's64.bnn', 'manifest.json']) copyFileSync(join(MODELS, f), join(dir, f));
  symlinkSync('/etc/passwd', join(dir, 'passwd.bnn'));
  symlinkSync('/etc/passwd', join(dir, 'passwd.json'));
  // A folder outside, linked into the served one: its files must stay unreachable.
  const outside = mkdtempSync(join(tmpdir(), 'bnn-serve-outside-'));
  writeFileSync(join(outside, 'secret.json'), '{"secret":true}');
  symlinkSync(outside, join(dir, 'linked'));
  symlinkSync(join(dir, 'c64.bnn'), join(dir, 'alias.bnn'));
  execFileSync('mkfifo', [join(dir, 'fifo.bnn')]);
  mkdirSync(join(dir, 'graphs'));
  writeFileSync(join(dir, 'graphs', 'g.json'), '{"ok":true}');
  writeFileSync(join(dir, '.secret.json'), '{}');
  writeFileSync(join(dir, 'notes.sh'), 'echo hi');
  // Sparse: 1 GiB on paper, nothing on disk.
  writeFileSync(join(dir, 'huge.bnn'), '');
  truncateSync(join(dir, 'huge.bnn'), 1 << 30);
  return dir;
}

async function withServer(opts: ServeOptions, fn: (s: RunningServer, dir: string) => Promise<void>): Promise<void> {
  const dir = modelsDir();
  const server = await startServer({ port: 0, modelsDir: dir, ...opts });
  try {
    await fn(server, dir);
  } finally {
    await server.close();
    rmSync(realpathSync(join(dir, 'linked')), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

test('serve: files are served only as regular files inside their folder, never through a symlink, and streamed whole', { timeout: 60000 }, async () => {
  await withServer({}, async (s, dir) => {
    const c64 = await call(s, '/models/c64.bnn');
    assert.equal(c64.status, 200);
    assert.equal(Number(c64.headers['content-length']), readFileSync(join(dir, 'c64.bnn')).length);
    const head = await call(s, '/models/c64.bnn', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '', 'HEAD has no body');
    assert.equal(Number(head.headers['content-length']), readFileSync(join(dir, 'c64.bnn')).length);
    assert.deepEqual(JSON.parse((await call(s, '/models/graphs/g.json')).text), { ok: true }, 'a real subfolder is served');
    for (const path of ['/models/passwd.bnn', '/models/passwd.json', '/models/linked/secret.json', '/models/alias.bnn']) {
      const r = await call(s, path);
      assert.equal(r.status, 404, `${path}: a symlink is not followed`);
      assert.doesNotMatch(r.text, /root:|"secret":true/);
    }
    // The attack API reads models the same way: the link is not read as a model.
    const viaApi = await postJson(s, { model: 'passwd', pixels: digit(), label: 1, attack: 'fgsm' });
    assert.equal(viaApi.status, 404);
    assert.equal(viaApi.json.code, 'NOT_FOUND');
    assert.equal((await call(s, '/models/notes.sh')).status, 404, 'only the file types a folder is for');
    for (const path of ['/models/.secret.json', '/models/..%2fpackage.json', '/models/%2e%2e/package.json', '/models/a%00.bnn']) assert.equal((await call(s, path)).status, 400, `${path}: not a servable name`);
  });
});

test('serve: a large file is streamed, not read into memory', { timeout: 60000 }, async () => {
  await withServer({}, async (s) => {
    const rss0 = process.memoryUsage().rss;
    const url = new URL(s.url);
    // Read the first 64 KiB of a 1 GiB file, then hang up (the old server read it whole first).
    const first = await new Promise<{ length: string | undefined; got: number }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: '/models/huge.bnn', agent: false }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= 65536) {
            req.destroy();
            resolve({ length: res.headers['content-length'], got });
          }
        });
      });
      req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
      req.end();
    });
    assert.equal(first.length, String(1 << 30));
    const grew = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.ok(grew < 256, `the server's memory grew by ${grew.toFixed(0)} MiB serving 64 KiB of a 1 GiB file`);
    assert.equal((await call(s, '/app.js')).status, 200);
  });
});

test('serve: a FIFO in a served folder is refused at once and does not stall the server', { timeout: 30000 }, async () => {
  await withServer({}, async (s) => {
    // The old server's readFileSync blocked the event loop for good on the first request.
    const [fifo, fifoApi] = await Promise.all([call(s, '/models/fifo.bnn'), postJson(s, { model: 'fifo', pixels: digit(), label: 1, attack: 'fgsm' })]);
    assert.equal(fifo.status, 404);
    assert.equal(fifoApi.status, 404);
    assert.equal((await call(s, '/app.js')).status, 200, 'the server still answers');
  });
});

test('serve: malformed and loose input is a 400 with a typed error, never a 500', { timeout: 30000 }, async () => {
  await withServer({}, async (s) => {
    const bad: [string, Promise<Answer>][] = [
      ['bad %-escape in the path', call(s, '/models/%E0%A4%A.bnn')],
      ['bad %-escape in the query', call(s, '/api/samples?model=c64&n=%E0%A4%A')],
      ['bad %-escape in the model', call(s, '/api/samples?model=%zz')],
      ['negative start', call(s, '/api/samples?model=c64&start=-100')],
      ['start past the end', call(s, '/api/samples?model=c64&start=2000')],
      ['fractional n', call(s, '/api/samples?model=c64&n=1.5')],
      ['n twice', call(s, '/api/samples?model=c64&n=1&n=2')],
      ['unknown parameter', call(s, '/api/samples?model=c64&debug=1')],
      ['null body', postJson(s, 'null')],
      ['array body', postJson(s, '[]')],
      ['not JSON', postJson(s, '{"model":')],
      ['empty body', postJson(s, '')],
      ['label true', postJson(s, { model: 'c64', pixels: digit(), label: true })],
      ['label "3"', postJson(s, { model: 'c64', pixels: digit(), label: '3' })],
      ['label 1.5', postJson(s, { model: 'c64', pixels: digit(), label: 1.5 })],
      ['label -1', postJson(s, { model: 'c64', pixels: digit(), label: -1 })],
      ['pixel above 1', postJson(s, { model: 'c64', pixels: [...digit().slice(1), 1.5], label: 1 })],
      ['pixel as a string', postJson(s, { model: 'c64', pixels: ['0.5', ...digit().slice(1)], label: 1 })],
      ['eps 2', postJson(s, { model: 'c64', pixels: digit(), label: 1, eps: 2 })],
      ['unknown attack', postJson(s, { model: 'c64', pixels: digit(), label: 1, attack: 'cw' })],
      ['extra field', postJson(s, { model: 'c64', pixels: digit(), label: 1, steps: 1e9 })],
      ['model name with a path', postJson(s, { model: '../models/c64', pixels: digit(), label: 1 })],
      ['prototype pollution', postJson(s, '{"model":"c64","pixels":[0],"label":1,"__proto__":{"x":1}}')],
      ['verify: eps 2', postVerify(s, { model: 'c64', pixels: digit(), label: 1, eps: 2 })],
      ['verify: an attack field', postVerify(s, { model: 'c64', pixels: digit(), label: 1, attack: 'pgd' })],
      ['verify: no label', postVerify(s, { model: 'c64', pixels: digit() })],
      ['verify: pixel NaN as a string', postVerify(s, { model: 'c64', pixels: ['NaN', ...digit().slice(1)], label: 1 })],
    ];
    for (const [what, answer] of bad) {
      const r = await answer;
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assert.ok(typeof r.json.error === 'string' && r.json.error.length > 0, `${what}: a message`);
      assert.equal(r.json.code, 'BAD_REQUEST', what);
    }
    const big = await postJson(s, { model: 'c64', pixels: new Array(400000).fill(0.123456789), label: 1 });
    assert.equal(big.status, 413, 'a body over the limit');
    assert.equal(big.json.code, 'TOO_LARGE');
    // What Node's HTTP parser refuses before any route sees it: the same error shape.
    const url = new URL(s.url);
    const raw = (bytes: string) =>
      new Promise<string>((resolve) => {
        const sock = connect(Number(url.port), url.hostname, () => sock.write(bytes));
        let got = '';
        sock.on('data', (c: Buffer) => (got += c.toString()));
        sock.on('error', () => {});
        sock.on('close', () => resolve(got));
      });
    for (const [what, bytes, status, code] of [
      ['a garbled request line', 'GARBAGE \x01\x02 nonsense\r\n\r\n', 400, 'BAD_REQUEST'],
      ['headers over the limit', `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20 << 10)}\r\n\r\n`, 431, 'TOO_LARGE'],
    ] as const) {
      const answer = await raw(bytes);
      assert.match(answer, new RegExp(`^HTTP/1.1 ${status} `), `${what}: ${answer}`);
      assert.equal((JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string }).code, code, what);
    }
  });
});

test('serve: each route takes only its methods', { timeout: 30000 }, async () => {
  await withServer({}, async (s) => {
    for (const api of ['/api/attack', '/api/verify']) {
      const get = await call(s, api);
      assert.equal(get.status, 405, `GET ${api}`);
      assert.equal(get.headers['allow'], 'POST');
    }
    for (const [method, path] of [['DELETE', '/'], ['PUT', '/models/c64.bnn'], ['POST', '/api/samples?model=c64'], ['PATCH', '/app.js'], ['OPTIONS', '/api/attack']] as const) {
      const r = await call(s, path, { method });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.json.code, 'METHOD_NOT_ALLOWED');
      assert.equal(r.headers['access-control-allow-origin'], undefined, 'no CORS grant');
    }
  });
});

test('serve: a hostile page cannot post to the API (CSRF) nor reach the server by another name (DNS rebinding)', { timeout: 30000 }, async () => {
  await withServer({ allowedHosts: ['bnn.lan'] }, async (s) => {
    const port = new URL(s.url).port;
    const body = JSON.stringify({ model: 'c64', pixels: digit(), label: 1, attack: 'fgsm' });
    // What a form or a no-cors fetch from any page can send without a preflight.
    const plain = await call(s, '/api/attack', { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'http://evil.example' }, body });
    assert.equal(plain.status, 403);
    assert.equal(plain.json.code, 'CROSS_ORIGIN');
    const plainSameSite = await call(s, '/api/attack', { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    assert.equal(plainSameSite.status, 415, 'text/plain is not JSON, whoever sends it');
    const form = await call(s, '/api/attack', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'model=c64' });
    assert.equal(form.status, 415);
    const crossJson = await postJson(s, body, { origin: 'http://evil.example' });
    assert.equal(crossJson.status, 403);
    const escaped = await call(s, '/%61pi/attack', { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body });
    assert.equal(escaped.status, 403, 'the route is decided after decoding: /%61pi/attack is /api/attack');
    const nullOrigin = await postJson(s, body, { origin: 'null' });
    assert.equal(nullOrigin.status, 403, 'a sandboxed frame');
    const fetchMeta = await call(s, '/api/samples?model=c64&n=1', { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(fetchMeta.status, 403);
    const sameSite = await call(s, '/api/samples?model=c64&n=1', { headers: { 'sec-fetch-site': 'same-site', origin: `http://127.0.0.1:${port}` } });
    assert.equal(sameSite.status, 403, 'the browser says the request comes from another origin of the site');
    // The page itself: same origin.
    const own = await call(s, '/api/samples?model=c64&n=1', { headers: { 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${port}` } });
    assert.equal(own.status, 200);

    // DNS rebinding: evil.example re-pointed at 127.0.0.1 still says Host: evil.example.
    for (const host of [`evil.example:${port}`, 'evil.example', `localhost.evil.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
      const r = await call(s, '/api/samples?model=c64&n=1', { headers: { host } });
      assert.equal(r.status, 421, `Host: ${host}`);
      assert.equal(r.json.code, 'BAD_HOST');
      assert.equal((await call(s, '/models/c64.bnn', { headers: { host } })).status, 421, `static files too, Host: ${host}`);
    }
    const noHost = await new Promise<string>((resolve) => {
      const sock = connect(Number(port), '127.0.0.1', () => sock.end('GET /app.js HTTP/1.0\r\n\r\n'));
      let got = '';
      sock.on('data', (c: Buffer) => (got += c.toString()));
      sock.on('close', () => resolve(got));
    });
    assert.match(noHost, /^HTTP\/1\.[01] 421/, 'a request without Host');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `app.localhost:${port}`, `bnn.lan:${port}`, `192.168.1.20:${port}`]) {
      assert.equal((await call(s, '/api/samples?model=c64&n=1', { headers: { host } })).status, 200, `Host: ${host}`);
    }
  });
});

test('serve: security headers on pages, files and errors', { timeout: 30000 }, async () => {
  await withServer({}, async (s) => {
    for (const path of ['/', '/app.js', '/models/c64.bnn', '/api/samples?model=c64&n=1', '/nope', '/api/samples?model=c64&start=-1', '/models/%E0%A4%A']) {
      const r = await call(s, path);
      assert.equal(r.headers['content-security-policy'], CSP, path);
      assert.match(CSP, /frame-ancestors 'none'/);
      assert.match(CSP, /script-src 'self' 'wasm-unsafe-eval'/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', path);
      assert.equal(r.headers['x-frame-options'], 'DENY', path);
      assert.equal(r.headers['cross-origin-resource-policy'], 'same-origin', path);
    }
    assert.match(String((await call(s, '/')).headers['content-type']), /^text\/html/);
    assert.equal((await call(s, '/api/samples?model=c64&n=1')).headers['cache-control'], 'no-store');
  });
});

test('serve: connections are capped and a client that sends its headers slowly is dropped (slowloris)', { timeout: 30000 }, async () => {
  await withServer({ maxConnections: 4, headersTimeoutMs: 1000 }, async (s) => {
    const url = new URL(s.url);
    const slow = Array.from({ length: 6 }, () => {
      const sock = connect(Number(url.port), url.hostname);
      sock.on('connect', () => sock.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
      sock.on('error', () => {});
      let got = '';
      sock.on('data', (c: Buffer) => (got += c.toString()));
      return { sock, closed: new Promise<string>((resolve) => sock.on('close', () => resolve(got))) };
    });
    // All six are closed by the server: two at once (over the cap), four at the headers timeout.
    const answers = await Promise.all(slow.map((c) => c.closed));
    assert.equal(answers.filter((a) => a.startsWith('HTTP/1.1 408') && a.includes('"code":"REQUEST_TIMEOUT"')).length, 4, `the slow clients are timed out: ${JSON.stringify(answers)}`);
    assert.equal((await call(s, '/app.js')).status, 200, 'and the server answers again');
  });
});

test('serve --host: a non-loopback address prints a warning; loopback does not', { timeout: 60000 }, async () => {
  const run = async (host: string): Promise<{ out: string; err: string }> => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--host', host], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/demo at/.test(out)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    await exited;
    return { out, err };
  };
  const open = await run('0.0.0.0');
  assert.match(open.err, /WARNING: --host 0\.0\.0\.0 is not a loopback address/);
  const local = await run('127.0.0.1');
  assert.doesNotMatch(local.err, /WARNING/);
});

/** PGD with EOT 10 on the stochastic s64: 400 gradient passes, seconds of CPU (21.8 s on the old server's event loop). */
const LONG_ATTACK = { model: 's64', pixels: digit(0.3), label: 3, attack: 'pgd', eps: 0.3 };
const SHORT_ATTACK = { model: 'c64', pixels: digit(0.3), label: 3, attack: 'fgsm', eps: 0.1 };

test('serve: attacks run off the event loop — files and samples are answered while one runs; one client cannot hold more than its share', { timeout: 180000 }, async () => {
  await withServer({ attackWorkers: 1, attackPerClient: 1 }, async (s) => {
    // Warm the worker (tfjs start-up), so what follows is measured against a running attack.
    const warm = await postJson(s, SHORT_ATTACK);
    assert.equal(warm.status, 200, warm.text.slice(0, 300));
    assert.equal((warm.json['adversarial'] as number[]).length, 784);
    let attackDone = false;
    const long = postJson(s, LONG_ATTACK).finally(() => (attackDone = true));
    await new Promise((r) => setTimeout(r, 300));
    // On the old server these waited for the whole PGD: the event loop was running it.
    const [page, samples, busy] = await Promise.all([call(s, '/app.js'), call(s, '/api/samples?model=c64&n=5'), postJson(s, SHORT_ATTACK)]);
    assert.equal(page.status, 200);
    assert.equal(samples.status, 200);
    assert.equal(attackDone, false, 'a static file and the samples API answered before the attack finished');
    assert.equal(busy.status, 429, 'a second attack of the same client while its first runs');
    assert.equal(busy.json.code, 'CLIENT_BUSY');
    const done = await long;
    assert.equal(done.status, 200, done.text.slice(0, 300));
    assert.equal(done.json['attack'], 'pgd');
  });
});

test('serve: a bounded attack queue (503 when full), a client leaving frees its place, and a time limit that stops the worker with a typed error', { timeout: 180000 }, async () => {
  await withServer({ attackWorkers: 1, attackQueue: 1, attackTimeoutMs: 1500 }, async (s) => {
    const running = postJson(s, LONG_ATTACK);
    await new Promise((r) => setTimeout(r, 100));
    const leaving = new AbortController();
    const queued = postJson(s, LONG_ATTACK, {}, leaving.signal).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 100));
    const full = await postJson(s, SHORT_ATTACK);
    assert.equal(full.status, 503, full.text.slice(0, 300));
    assert.equal(full.json.code, 'QUEUE_FULL');
    assert.ok(Number(full.headers['retry-after']) > 0, 'Retry-After');
    leaving.abort();
    assert.ok((await queued) instanceof Error, 'the queued client went away');
    await new Promise((r) => setTimeout(r, 200));
    const next = postJson(s, SHORT_ATTACK);
    const timedOut = await running;
    assert.equal(timedOut.status, 504, timedOut.text.slice(0, 300));
    assert.equal(timedOut.json.code, 'ATTACK_TIMEOUT');
    assert.match(timedOut.json.error ?? '', /1500 ms/);
    const after = await next;
    assert.equal(after.status, 200, `the place freed by the client who left was taken, and a fresh worker ran it: ${after.text.slice(0, 300)}`);
    const huge = await postJson(s, { ...SHORT_ATTACK, model: 'huge' });
    assert.equal(huge.status, 413, 'a model over the size cap is not read');
    assert.equal(huge.json.code, 'TOO_LARGE');
  });
});

test('serve: /api/verify answers a proof, a counterexample the runtime misclassifies, or misclassified — in the worker pool', { timeout: 180000 }, async () => {
  const { test: images } = loadData();
  const px = 784;
  const x = Array.from(images.images.subarray(0, px));
  const label = images.labels[0]!;
  await withServer({ attackWorkers: 1 }, async (s) => {
    const exact = await postVerify(s, { model: 'c64', pixels: x, label, eps: 0 });
    assert.equal(exact.status, 200, exact.text);
    assert.equal(exact.json['verdict'], 'verified', 'ε = 0: the image itself, classified right');
    assert.ok((exact.json['margin'] as number) > 0);
    const wide = await postVerify(s, { model: 'c64', pixels: x, label, eps: 0.3 });
    assert.equal(wide.status, 200, wide.text);
    assert.equal(wide.json['verdict'], 'counterexample', 'c64 is not robust at ε = 0.3');
    assert.ok((wide.json['margin'] as number) <= 0, 'no positive margin proven');
    const adv = wide.json['counterexample'] as number[];
    assert.equal(adv.length, px);
    assert.ok(adv.every((v, i) => v >= 0 && v <= 1 && Math.abs(v - x[i]!) <= 0.3 + 1e-6), 'inside the ball and [0, 1]');
    const rt = await BnnRuntime.fromModel(parseBnn(readFileSync(join(MODELS, 'c64.bnn'))));
    assert.notEqual(rt.predict(Float32Array.from(adv), 1)[0], label, 'the runtime misclassifies the counterexample');
    rt.dispose();
    const wrong = await postVerify(s, { model: 'c64', pixels: x, label: (label + 1) % 10, eps: 0.1 });
    assert.equal(wrong.json['verdict'], 'misclassified');
    const short = await postVerify(s, { model: 'c64', pixels: x.slice(1), label, eps: 0.1 });
    assert.equal(short.status, 400, 'the pixel count is checked against the model');
    assert.match(short.json.error as string, /784/);
  });
});
