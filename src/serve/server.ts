/**
 * serve — the browser demo's server: static files (web/, the standalone runtime, the shipped
 * models) and two small APIs. Classification runs in the browser on the packed runtime; only the
 * white-box attack runs here, on the tfjs graph rebuilt from the same .bnn, and the browser then
 * replays its adversarial image on the runtime.
 *
 * - GET /api/samples?model=NAME&n=N&start=S: test images of the data the model's manifest entry
 *   says it was trained on, with the data's shape, class names and whether a person can draw its
 *   inputs (one channel, an MNIST source);
 * - POST /api/attack {model, pixels, label, attack, eps}: an FGSM or PGD image crafted on the graph.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FULL_MNIST, imageSize, MNIST, testDataOf, type Dataset } from '../data/index.js';
import { fgsm, pgd } from '../attacks/whitebox.js';
import { readModelFile } from '../format/file.js';
import { DeployedGraph } from '../model/tfjs/deployed.js';
import { initTfjs } from '../tfjs/backend.js';
import type { Manifest, ManifestEntry } from '../format/manifest.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The bnn-edge-runtime package's bundles and .wasm builds (what the page imports). */
const RUNTIME_DIST = join(dirname(createRequire(import.meta.url).resolve('bnn-edge-runtime/package.json')), 'dist');

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

/** Data sources of MNIST digits: a one-channel model trained on one of them takes drawn digits. */
const DIGIT_SOURCES: readonly string[] = ['embedded:mnist', MNIST, FULL_MNIST];
/** Most images one /api/samples request returns. */
export const MAX_SAMPLES = 100;
const DEFAULT_SAMPLES = 10;

/** What /api/samples answers. */
export interface SamplesResponse {
  readonly model: string;
  /** The data source the model was trained on (its manifest entry's training.data). */
  readonly source: string;
  /** Images in the test split. */
  readonly total: number;
  readonly shape: [number, number, number];
  /** A name per class: the data's, or "0".."k-1". */
  readonly classNames: string[];
  /** One-channel digit-like input a person can draw. */
  readonly drawable: boolean;
  readonly samples: { readonly index: number; readonly label: number; readonly pixels: number[] }[];
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
    ['/runtime/', RUNTIME_DIST],
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

  /** The manifest entry of a model (the manifest is read afresh: a `ship` may rewrite it while serving). */
  const entryOf = (name: string): ManifestEntry => {
    if (!/^[\w.+-]+$/.test(name)) throw new HttpError(400, `bad model name "${name}"`);
    const file = join(modelsDir, 'manifest.json');
    if (!existsSync(file)) throw new HttpError(404, `no manifest.json in ${modelsDir}: the model's data is unknown`);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    } catch (e) {
      throw new HttpError(500, `${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const entry = Array.isArray(manifest.models) ? manifest.models.find((m) => m?.file === `${name}.bnn`) : undefined;
    if (!entry) throw new HttpError(404, `model ${name} is not in ${file}`);
    if (typeof entry.training?.data !== 'string') throw new HttpError(500, `${file}: model ${name} has no training.data`);
    return entry;
  };
  /** The test split of a data source (testDataOf caches it), as an HTTP error when it cannot load. */
  const testOf = (source: string): Dataset => {
    try {
      return testDataOf(source);
    } catch (e) {
      throw new HttpError(e instanceof RangeError ? 500 : 503, `cannot load the test images of ${source}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  /** A non-negative integer query parameter, or `fallback` when it is absent. */
  const intParam = (url: URL, key: string, fallback: number, max: number): number => {
    const raw = url.searchParams.get(key);
    if (raw === null) return fallback;
    if (!/^\d+$/.test(raw.trim()) || Number(raw) > max) throw new HttpError(400, `${key} must be an integer in 0..${max}, got "${raw}"`);
    return Number(raw);
  };

  const samples = (url: URL): SamplesResponse => {
    const name = url.searchParams.get('model');
    if (name === null) throw new HttpError(400, 'model is required: /api/samples?model=NAME');
    const entry = entryOf(name);
    const n = intParam(url, 'n', DEFAULT_SAMPLES, MAX_SAMPLES);
    const source = entry.training.data;
    const test = testOf(source);
    const start = intParam(url, 'start', 0, Math.max(test.n - 1, 0));
    const graph = entry.graph as { input?: unknown; classes?: unknown };
    const shape: [number, number, number] = [test.height, test.width, test.channels];
    const input = Array.isArray(graph?.input) && graph.input.length === 3 ? (graph.input as number[]) : shape;
    if (input.some((v, i) => v !== shape[i])) throw new HttpError(409, `model ${name} takes ${input.join('×')} images but its data ${source} has ${shape.join('×')}`);
    const classes = Number.isInteger(graph?.classes) ? (graph.classes as number) : test.classes;
    const classNames = Array.from({ length: classes }, (_, i) => test.classNames?.[i] ?? String(i));
    const px = imageSize(test);
    const count = Math.min(n, test.n - start);
    return {
      model: name,
      source,
      total: test.n,
      shape,
      classNames,
      drawable: shape[2] === 1 && DIGIT_SOURCES.includes(source),
      samples: Array.from({ length: count }, (_, i) => ({
        index: start + i,
        label: test.labels[start + i]!,
        pixels: Array.from(test.images.subarray((start + i) * px, (start + i + 1) * px), (v) => Math.round(v * 1000) / 1000),
      })),
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/api/samples') return json(res, samples(url));
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
