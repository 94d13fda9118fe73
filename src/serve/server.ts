/**
 * serve — the browser demo's server (fastify): static files (web/, the standalone runtime, the
 * shipped models) and two small APIs. Classification runs in the browser on the packed runtime;
 * only the white-box attack runs here, in a pool of worker threads, on the tfjs graph rebuilt
 * from the same .bnn, and the browser then replays its adversarial image on the runtime.
 *
 * - GET /api/samples?model=NAME&n=N&start=S (samples.ts)
 * - POST /api/attack {model, pixels, label, attack, eps} (attack.ts, attack_pool.ts)
 *
 * It is built to face a hostile web page in the user's browser and, behind --host, a network:
 * Host and Origin checks (guard.ts), schemas on every request, files opened without following
 * links (files.ts), attacks off the event loop with a bounded queue and a time limit, and caps on
 * connections, header and body sizes and the time a client may take to send a request.
 */
import { availableParallelism } from 'node:os';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { AttackPool } from './attack_pool.js';
import { attackRoute } from './attack.js';
import { verifyRoute } from './verify.js';
import { clientErrorResponse, ServeError, QueueFullError, type ErrorBody, type ServeErrorCode } from './errors.js';
import { guardRequest, hostChecker, isLoopbackHost, securityHeaders, setSecurityHeaders } from './guard.js';
import { samplesRoute } from './samples.js';
import { staticRoutes, type Mount } from './static.js';

export { MAX_SAMPLES, type SamplesResponse } from './samples.js';
export type { AttackResponse } from './attack.js';
export { AttackTimeoutError, QueueFullError, ServeError, type ErrorBody, type ServeErrorCode } from './errors.js';
export { isLoopbackHost } from './guard.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The bnn-edge-runtime package's bundles and .wasm builds (what the page imports). */
const RUNTIME_DIST = join(dirname(createRequire(import.meta.url).resolve('bnn-edge-runtime/package.json')), 'dist');

export interface ServeOptions {
  readonly port?: number;
  /** Interface to bind; default 127.0.0.1. Anything else is reachable from other machines. */
  readonly host?: string;
  readonly modelsDir?: string;
  /** Host names (besides IP literals, localhost and the bound host) requests may be addressed to. */
  readonly allowedHosts?: readonly string[];
  /** Attack worker threads; default one per spare core, 1 to 2. */
  readonly attackWorkers?: number;
  /** Attacks that may wait for a worker; default 8. */
  readonly attackQueue?: number;
  /** Attacks one client may have queued or running; default 4. */
  readonly attackPerClient?: number;
  /** Running time allowed per attack (ms); default 60,000. */
  readonly attackTimeoutMs?: number;
  /** Open connections at most; default 256. */
  readonly maxConnections?: number;
  /** Time a client has to send its request headers (ms); default 10,000. */
  readonly headersTimeoutMs?: number;
  /** Time a client has to send a whole request (ms); default 30,000. */
  readonly requestTimeoutMs?: number;
  /** Idle time before a kept-alive connection is closed (ms); default 5,000. */
  readonly keepAliveTimeoutMs?: number;
  /** Largest request body (bytes); default 2 MiB. */
  readonly bodyLimit?: number;
}

export interface RunningServer {
  readonly url: string;
  /** Whether the server is reachable only from this machine. */
  readonly loopback: boolean;
  /** What the operator should know (non-loopback binding); the CLI prints them. */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

/** The warning for a server other machines can reach. */
export function exposureWarning(host: string): string {
  return (
    `WARNING: --host ${host} is not a loopback address: anyone who can reach this machine on the network can use this server ` +
    `(read every file it serves, queue attacks that cost CPU). It has no authentication and no TLS. ` +
    `Bind 127.0.0.1 unless you mean it; requests must name this server by IP address, localhost, ${host} or an --allow-host name.`
  );
}

const MAX_MODEL_BYTES = 64 << 20;

function errorReply(err: FastifyError | ServeError | Error): { status: number; body: ErrorBody } {
  if (err instanceof ServeError) return { status: err.status, body: { error: err.message, code: err.code } };
  const f = err as FastifyError;
  if (f.validation) return { status: 400, body: { error: `${f.validationContext ?? 'request'}: ${f.message}`, code: 'BAD_REQUEST' } };
  const status = f.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code: ServeErrorCode = status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 413 ? 'TOO_LARGE' : status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST';
    return { status, body: { error: f.message, code } };
  }
  // Internal details (paths, stack) stay on the server's stderr.
  process.stderr.write(`bnn-edge serve: ${err.stack ?? err.message}\n`);
  return { status: 500, body: { error: 'internal server error', code: 'INTERNAL' } };
}

function build(opts: ServeOptions, modelsRoot: string, pool: AttackPool, host: string): FastifyInstance {
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = Math.max(opts.requestTimeoutMs ?? 30_000, headersTimeout);
  const attackTimeout = opts.attackTimeoutMs ?? 60_000;
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? 2 << 20,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
    requestTimeout,
    // Socket inactivity: a client that stops reading a response is dropped. Longer than an attack
    // may legitimately keep a request silent.
    connectionTimeout: Math.max(120_000, 2 * attackTimeout),
    forceCloseConnections: true,
    http: {
      headersTimeout,
      requestTimeout,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
      maxHeaderSize: 16 << 10,
    },
    routerOptions: { maxParamLength: 600 },
    // A malformed %-escape in the path (or an over-long path): 400 in the API's error shape.
    frameworkErrors: (err, _req, reply) => {
      void setSecurityHeaders(reply)
        .code(400)
        .header('cache-control', 'no-store')
        .type('application/json; charset=utf-8')
        .send({ error: err.code === 'FST_ERR_BAD_URL' ? 'malformed URL (a bad %-escape?)' : err.message, code: 'BAD_REQUEST' } satisfies ErrorBody);
    },
    // Requests Node's HTTP parser refuses get the API's error shape too (fastify's own lacks `code`).
    clientErrorHandler: (err, socket) => {
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || socket.destroyed) return;
      if (socket.writable) socket.write(clientErrorResponse(err as NodeJS.ErrnoException));
      socket.destroy();
    },
    // Coercion off: a JSON `label: true` must be refused, not read as 1 (query numbers are
    // strings checked by pattern); nothing removed silently, every field checked.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });
  app.server.maxConnections = opts.maxConnections ?? 256;
  // JSON only: no text/plain parser (the classic CSRF body), no form parser.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  app.addHook('onRequest', securityHeaders);
  app.addHook('onRequest', guardRequest(hostChecker(host, opts.allowedHosts)));
  app.setErrorHandler((err: FastifyError | Error, _req, reply) => {
    const { status, body } = errorReply(err);
    if (err instanceof QueueFullError) reply.header('retry-after', '5');
    void reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
  });
  // Only the methods each route needs: GET/HEAD for files and samples, POST for attacks.
  app.route({
    method: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: '/api/:job(attack|verify)',
    handler: async (_req, reply) => reply.header('allow', 'POST').code(405).send({ error: 'use POST', code: 'METHOD_NOT_ALLOWED' } satisfies ErrorBody),
  });
  app.setNotFoundHandler(async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply.header('allow', 'GET, HEAD').code(405).send({ error: `${req.method} is not allowed here`, code: 'METHOD_NOT_ALLOWED' } satisfies ErrorBody);
    return reply.code(404).send({ error: 'not found', code: 'NOT_FOUND' } satisfies ErrorBody);
  });

  const web: Mount = { prefix: '/', root: realpathSync(join(ROOT, 'web')), extensions: ['.html', '.js', '.css', '.png', '.svg'] };
  const mounts: Mount[] = [
    { prefix: '/runtime/', root: realpathSync(RUNTIME_DIST), extensions: ['.js', '.mjs', '.wasm'] },
    { prefix: '/models/', root: modelsRoot, extensions: ['.bnn', '.json'] },
    web,
  ];
  staticRoutes(app, mounts, web);
  samplesRoute(app, modelsRoot);
  attackRoute(app, pool);
  verifyRoute(app, pool);
  return app;
}

export async function startServer(opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const modelsRoot = realpathSync(opts.modelsDir ?? join(ROOT, 'models'));
  const pool = new AttackPool({
    workers: opts.attackWorkers ?? Math.min(2, Math.max(1, availableParallelism() - 1)),
    queue: opts.attackQueue ?? 8,
    perClient: opts.attackPerClient ?? 4,
    timeoutMs: opts.attackTimeoutMs ?? 60_000,
    workerHeapMb: 512,
    init: { modelsRoot, maxModelBytes: MAX_MODEL_BYTES, cacheSize: 4 },
  });
  const app = build(opts, modelsRoot, pool, host);
  try {
    await app.listen({ port: opts.port ?? 8080, host });
  } catch (e) {
    await pool.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
  const loopback = isLoopbackHost(host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/`,
    loopback,
    warnings: loopback ? [] : [exposureWarning(host)],
    close: async () => {
      await pool.close();
      await app.close();
    },
  };
}
