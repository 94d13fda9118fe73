/**
 * The static files: the page (web/), the runtime bundles the page imports (the bnn-edge-runtime
 * package's dist/) and the models folder. Each mount serves only the file types it has a use for,
 * opens files with openServed (no symlinks, regular files only) and streams them.
 */
import { extname } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ServeError } from './errors.js';
import { openServed, SERVED_PATH } from './files.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bnn': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface Mount {
  /** URL prefix, ending in '/'. */
  readonly prefix: string;
  /** The folder, as a real path. */
  readonly root: string;
  /** Extensions served from it; anything else is "not found". */
  readonly extensions: readonly string[];
}

async function sendFile(reply: FastifyReply, mount: Mount, rel: string): Promise<FastifyReply> {
  const type = TYPES[extname(rel)];
  if (!type || !mount.extensions.includes(extname(rel))) throw new ServeError(404, 'NOT_FOUND', `not found: ${mount.prefix}${rel}`);
  const { handle, stats } = await openServed(mount.root, rel);
  reply.type(type).header('cache-control', 'no-cache').header('last-modified', stats.mtime.toUTCString());
  if (stats.size === 0) {
    await handle.close();
    return reply.send('');
  }
  // Streamed from the descriptor that was checked, in the length measured then (a growing file
  // cannot make the response longer than its Content-Length). autoClose closes the handle at the
  // end, on an error, and when fastify destroys the stream because the client left (or for HEAD).
  const stream = handle.createReadStream({ start: 0, end: stats.size - 1, autoClose: true });
  return reply.header('content-length', stats.size).send(stream);
}

const params = { type: 'object', required: ['*'], properties: { '*': { type: 'string', pattern: SERVED_PATH } } } as const;

export function staticRoutes(app: FastifyInstance, mounts: readonly Mount[], index: Mount): void {
  app.get('/', async (_req, reply) => sendFile(reply, index, 'index.html'));
  for (const mount of mounts) {
    app.get<{ Params: { '*': string } }>(`${mount.prefix}*`, { schema: { params } }, async (req, reply) => sendFile(reply, mount, req.params['*']));
  }
}
