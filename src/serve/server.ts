/**
 * serve — the browser demo's server: static files (web/, the standalone runtime, the shipped
 * models) and two small APIs. Classification runs in the browser on the packed runtime; only the
 * white-box attack runs here, on the tfjs graph rebuilt from the same .bnn, and the browser then
 * replays its adversarial image on the runtime.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageSize, loadData } from '../data/index.js';
import { fgsm, pgd } from '../attacks/whitebox.js';
import { readModelFile } from '../format/file.js';
import { DeployedGraph } from '../model/tfjs/deployed.js';
import { initTfjs } from '../tfjs/backend.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bnn': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface ServeOptions {
  readonly port?: number;
  readonly host?: string;
  readonly modelsDir?: string;
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Resolves a URL path under a root directory, refusing anything that escapes it. */
function inside(root: string, rel: string): string {
  const p = normalize(join(root, decodeURIComponent(rel)));
  if (!p.startsWith(normalize(root + sep)) && p !== normalize(root)) throw new HttpError(403, 'forbidden');
  return p;
}

async function body(req: IncomingMessage, limit = 1 << 20): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new HttpError(413, 'request too large');
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body must be JSON');
  }
}

export async function startServer(opts: ServeOptions = {}): Promise<RunningServer> {
  const modelsDir = opts.modelsDir ?? join(ROOT, 'models');
  const mounts: [string, string][] = [
    ['/runtime/', join(ROOT, 'dist', 'runtime')],
    ['/models/', modelsDir],
    ['/', join(ROOT, 'web')],
  ];
  const graphs = new Map<string, DeployedGraph>();
  const graphOf = async (name: string): Promise<DeployedGraph> => {
    if (!/^[\w.+-]+$/.test(name)) throw new HttpError(400, `bad model name "${name}"`);
    let g = graphs.get(name);
    if (!g) {
      const file = join(modelsDir, `${name}.bnn`);
      if (!existsSync(file)) throw new HttpError(404, `no model ${name}`);
      await initTfjs();
      g = new DeployedGraph(readModelFile(file).model, 0, name);
      graphs.set(name, g);
    }
    return g;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/api/samples') {
      const test = loadData().test;
      const n = Math.min(Number(url.searchParams.get('n') ?? 10) || 10, 100);
      const start = Math.min(Number(url.searchParams.get('start') ?? 0) || 0, test.n - n);
      const px = imageSize(test);
      const samples = Array.from({ length: n }, (_, i) => ({ index: start + i, label: test.labels[start + i], pixels: Array.from(test.images.subarray((start + i) * px, (start + i + 1) * px), (v) => Math.round(v * 1000) / 1000) }));
      return json(res, { samples });
    }
    if (url.pathname === '/api/attack' && req.method === 'POST') {
      const b = (await body(req)) as { model?: unknown; pixels?: unknown; label?: unknown; attack?: unknown; eps?: unknown };
      const graph = await graphOf(String(b.model));
      const px = graph.inputShape[0] * graph.inputShape[1] * graph.inputShape[2];
      const pixels = b.pixels;
      if (!Array.isArray(pixels) || pixels.length !== px || !pixels.every((v) => typeof v === 'number' && v >= 0 && v <= 1)) throw new HttpError(400, `pixels must be ${px} numbers in [0, 1]`);
      const label = Number(b.label);
      if (!Number.isInteger(label) || label < 0 || label >= graph.classes) throw new HttpError(400, `label must be 0..${graph.classes - 1}`);
      const eps = Number(b.eps ?? 0.2);
      if (!(eps >= 0 && eps <= 1)) throw new HttpError(400, 'eps must be in [0, 1]');
      const x = Float32Array.from(pixels as number[]);
      const y = Uint8Array.of(label);
      const out = b.attack === 'fgsm' ? fgsm(graph, x, y, eps) : pgd(graph, x, y, { eps, step: eps / 10, steps: 40, randomStart: true, restarts: 1, seed: 1, eot: graph.stochastic ? 10 : 1 });
      return json(res, { adversarial: Array.from(out.adversarial), l2: out.l2[0], attack: b.attack === 'fgsm' ? 'fgsm' : 'pgd', eps });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
    for (const [prefix, dir] of mounts) {
      if (!url.pathname.startsWith(prefix)) continue;
      let file = inside(dir, url.pathname.slice(prefix.length) || 'index.html');
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (!existsSync(file)) continue;
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
      return;
    }
    throw new HttpError(404, `not found: ${url.pathname}`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
    });
  });
  const port = opts.port ?? 8080;
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://${host}:${actual}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const g of graphs.values()) g.dispose();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: ServerResponse, data: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(data));
}
