/**
 * The local server (`bnn-edge serve`) as a fuzz target: each input is the raw bytes a client sends
 * on one TCP connection (one request or several pipelined; headers, paths, %-escapes, bodies as
 * they come), then a last request asking the server to close (which ends headers left open, or
 * becomes part of a body left short), and reads until the server closes. (A half-close would make
 * Node's server drop requests still in its handlers, so it is not used.) Expected: every
 * answer is a well-formed HTTP response whose status is not 500 (an unhandled error inside a
 * handler), the connection ends within the server's own time limits, no answer carries a file from
 * outside the served folders, and the server still answers a plain request afterwards.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FuzzFailure, type FuzzTarget } from './fuzz_targets.js';

const enc = new TextEncoder();

/** A request with a JSON body and its true Content-Length. */
function post(path: string, body: string, extra = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${extra}Content-Length: ${enc.encode(body).length}\r\n\r\n${body}`;
}

function seeds(): Uint8Array[] {
  const pixels = (n: number, v: number) => JSON.stringify(Array.from({ length: n }, (_, i) => (i % 7 === 0 ? v : 0)));
  const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
  return [
    get('/'),
    get('/index.html', 'Connection: keep-alive\r\n') + get('/models/manifest.json'),
    get('/models/b64.bnn', 'Range: bytes=0-15\r\n'),
    `HEAD /runtime/bnn-simd.wasm HTTP/1.1\r\nHost: localhost\r\n\r\n`,
    get('/api/samples?model=b64&n=2&start=0'),
    get('/api/samples?model=bireal-fashion&n=1&start=9999'),
    get('/api/samples?start=-100&n=1e9&model=..%2f..%2fetc'),
    get('/models/%2e%2e/%2e%2e/%2e%2e/etc/passwd'),
    get('/%E0%A4%A'),
    get('/', 'Host: evil.example\r\n'),
    post('/api/attack', `{"model":"b64","pixels":${pixels(784, 1)},"label":3,"attack":"fgsm","eps":0.1}`),
    post('/api/attack', `{"model":"b64","pixels":${pixels(784, 0.5)},"label":true}`, 'Origin: http://evil.example\r\n'),
    post('/api/attack', 'null'),
    `POST /api/attack HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}`,
    `POST /api/attack HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnull\r\n0\r\n\r\n`,
    `OPTIONS /api/attack HTTP/1.1\r\nHost: [::1]\r\nOrigin: http://127.0.0.1:8080\r\n\r\n`,
    `DELETE /models/b64.bnn HTTP/1.0\r\n\r\n`,
  ].map((s) => enc.encode(s));
}

const DICT = ['\r\n', '\r\n\r\n', 'Content-Length: ', 'Transfer-Encoding: chunked\r\n', 'Host: ', 'Origin: ', 'Content-Type: application/json\r\n', '%2e%2e/', '%00', '%', '..', '//', '?', '&', '=', '-1', '1e999', 'null', 'true', '[]', '{}', '"', 'HTTP/1.1', 'HTTP/1.0', 'GET ', 'POST ', 'HEAD ', ' /api/attack', ' /api/samples', ' /models/', ' /runtime/', 'b64', 'bireal-fashion', 'Range: bytes=', 'Connection: close\r\n', 'Expect: 100-continue\r\n'].map((s) => enc.encode(s));

/** Sets each request's Content-Length to its body's true length (one request per input), so mutations reach the handlers. */
function fixContentLength(input: Uint8Array): Uint8Array {
  const text = Buffer.from(input).toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return input;
  const head = text.slice(0, split);
  const body = text.slice(split + 4);
  if (!/\r\ncontent-length:[ \t]*\d+/i.test(head)) return input;
  return new Uint8Array(Buffer.from(head.replace(/(\r\ncontent-length:[ \t]*)\d+/i, `$1${body.length}`) + '\r\n\r\n' + body, 'latin1'));
}

/** Ends what came before it if it can, then asks the server to close the connection. */
const CLOSING = enc.encode('\r\n\r\nGET /models/manifest.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');

/** Sends `bytes` then CLOSING on one connection, and returns everything the server wrote before closing it. */
function exchange(port: number, bytes: Uint8Array, limitMs: number, closing = CLOSING): Promise<{ response: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response: Buffer.concat(chunks), closed: false });
    }, limitMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // The server may reset a connection it refuses mid-send: an answer, not a finding.
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return;
      clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response: Buffer.concat(chunks), closed: true });
    });
    socket.write(bytes);
    if (closing.length) socket.write(closing);
  });
}

const PROBE = enc.encode('GET /models/manifest.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
const PASSWD = readFileSync('/etc/passwd', 'latin1').split('\n')[0]!;

export const serverTarget = async (): Promise<FuzzTarget> => {
  const { startServer } = await import('../src/serve/server.js');
  const models = fileURLToPath(new URL('../../models/', import.meta.url));
  // Short limits, so that a request the fuzzer leaves unfinished costs seconds, not half a minute.
  const server = await startServer({ port: 0, modelsDir: models, attackWorkers: 1, attackQueue: 2, attackTimeoutMs: 5_000, headersTimeoutMs: 500, requestTimeoutMs: 1_000, keepAliveTimeoutMs: 200 });
  const port = Number(new URL(server.url).port);
  return {
    name: 'server',
    description: 'bnn-edge serve, raw bytes on a TCP connection: well-formed HTTP answers, never 500, closed within the server\'s limits, nothing from outside the served folders, still answering afterwards',
    seeds,
    dictionary: DICT,
    fixup: fixContentLength,
    maxLen: 64 << 10,
    coverageFiles: ['dist/src/serve/server.js', 'dist/src/serve/static.js', 'dist/src/serve/files.js', 'dist/src/serve/guard.js', 'dist/src/serve/samples.js', 'dist/src/serve/attack.js', 'dist/src/serve/attack_pool.js'],
    async close() {
      await server.close();
    },
    async run(input) {
      const { response, closed } = await exchange(port, input, 15_000);
      if (!closed) throw new FuzzFailure('the connection was still open 15 s after the client asked the server to close it');
      const text = response.toString('latin1');
      if (text.includes(PASSWD)) throw new FuzzFailure('an answer carries /etc/passwd');
      const statuses = [...text.matchAll(/(?:^|\r\n\r\n|\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      if (text.length > 0 && !text.startsWith('HTTP/1.')) throw new FuzzFailure(`the answer does not start with a status line: ${JSON.stringify(text.slice(0, 80))}`);
      if (statuses.includes(500)) throw new FuzzFailure(`500 internal server error: ${JSON.stringify(text.slice(0, 300))}`);
      // Still alive: a plain request is answered.
      const probe = await exchange(port, PROBE, 15_000, new Uint8Array(0));
      if (!probe.response.toString('latin1').startsWith('HTTP/1.1 200 ')) throw new FuzzFailure(`the server stopped answering: ${JSON.stringify(probe.response.toString('latin1').slice(0, 80))}`);
      if (!statuses.length) return 'closed';
      return `${statuses.some((c) => c >= 200 && c < 300) ? 'ok' : 'refused'}:http:${[...new Set(statuses)].sort().join(',')}`;
    },
  };
};
