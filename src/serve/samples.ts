/**
 * GET /api/samples?model=NAME&n=N&start=S: test images of the data the model's manifest entry
 * says it was trained on, with the data's shape, class names and whether a person can draw its
 * inputs (one channel, an MNIST source).
 */
import type { FastifyInstance } from 'fastify';
import { FULL_MNIST, imageSize, MNIST, testDataOf, type Dataset } from '../data/index.js';
import type { Manifest, ManifestEntry } from '../format/manifest.js';
import { ServeError } from './errors.js';
import { openServed, readOpened } from './files.js';

/** A model's name as the API takes it: a served file name without `.bnn`. */
export const MODEL_NAME = '^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,123}$';
/** Most images one /api/samples request returns. */
export const MAX_SAMPLES = 100;
const DEFAULT_SAMPLES = 10;
/** The manifest is read afresh per request (`ship` may rewrite it while serving); it is small. */
const MAX_MANIFEST_BYTES = 16 << 20;
/** Data sources of MNIST digits: a one-channel model trained on one of them takes drawn digits. */
const DIGIT_SOURCES: readonly string[] = ['embedded:mnist', MNIST, FULL_MNIST];

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

interface SamplesQuery {
  readonly model: string;
  readonly n?: string;
  readonly start?: string;
}

// Numbers stay strings with a digits-only pattern: type coercion is off server-wide (so that a
// body's `label: true` is not taken as 1), and "-3", "1.5", " 5" and "1e3" must all be refused.
const COUNT = { type: 'string', pattern: '^(0|[1-9][0-9]{0,8})$' } as const;
const querystring = {
  type: 'object',
  required: ['model'],
  additionalProperties: false,
  properties: { model: { type: 'string', pattern: MODEL_NAME }, n: COUNT, start: COUNT },
} as const;

/** The last manifest parsed, with the identity of the file it came from. */
let parsed: { root: string; stamp: string; manifest: Partial<Manifest> | null } | undefined;

/** The manifest, parsed again only when the file changed (a `ship` may rewrite it while serving). */
async function manifestOf(modelsRoot: string): Promise<Partial<Manifest> | null> {
  const opened = await openServed(modelsRoot, 'manifest.json', MAX_MANIFEST_BYTES).catch((e: unknown) => {
    if (e instanceof ServeError && e.code === 'NOT_FOUND') throw new ServeError(404, 'NOT_FOUND', "no manifest.json in the models folder: the model's data is unknown");
    throw e;
  });
  try {
    const { stats } = opened;
    const stamp = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
    if (parsed?.root === modelsRoot && parsed.stamp === stamp) return parsed.manifest;
    const text = Buffer.from(await readOpened(opened, 'manifest.json')).toString('utf8');
    let manifest: Partial<Manifest> | null;
    try {
      manifest = JSON.parse(text) as Partial<Manifest> | null;
    } catch (e) {
      throw new ServeError(500, 'INTERNAL', `manifest.json: ${(e as Error).message}`);
    }
    parsed = { root: modelsRoot, stamp, manifest };
    return manifest;
  } finally {
    await opened.handle.close();
  }
}

async function entryOf(modelsRoot: string, name: string): Promise<ManifestEntry> {
  const manifest = await manifestOf(modelsRoot);
  const entry = Array.isArray(manifest?.models) ? manifest.models.find((m) => m?.file === `${name}.bnn`) : undefined;
  if (!entry) throw new ServeError(404, 'NOT_FOUND', `model ${name} is not in manifest.json`);
  if (typeof entry.training?.data !== 'string') throw new ServeError(500, 'INTERNAL', `manifest.json: model ${name} has no training.data`);
  return entry;
}

/** The test split of a data source (testDataOf caches it), as a typed error when it cannot load. */
function testOf(source: string): Dataset {
  try {
    return testDataOf(source);
  } catch (e) {
    throw new ServeError(503, 'DATA_UNAVAILABLE', `cannot load the test images of ${source}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function samples(modelsRoot: string, q: SamplesQuery): Promise<SamplesResponse> {
  const name = q.model;
  const entry = await entryOf(modelsRoot, name);
  const n = Number(q.n ?? DEFAULT_SAMPLES);
  if (n > MAX_SAMPLES) throw new ServeError(400, 'BAD_REQUEST', `n must be an integer in 0..${MAX_SAMPLES}, got ${n}`);
  const source = entry.training.data;
  const test = testOf(source);
  const start = Number(q.start ?? 0);
  if (start > Math.max(test.n - 1, 0)) throw new ServeError(400, 'BAD_REQUEST', `start must be an integer in 0..${Math.max(test.n - 1, 0)}, got ${start}`);
  const graph = entry.graph as { input?: unknown; classes?: unknown } | null;
  const shape: [number, number, number] = [test.height, test.width, test.channels];
  const input = Array.isArray(graph?.input) && graph.input.length === 3 ? (graph.input as unknown[]) : shape;
  if (input.some((v, i) => v !== shape[i])) throw new ServeError(409, 'DATA_MISMATCH', `model ${name} takes ${input.join('×')} images but its data ${source} has ${shape.join('×')}`);
  const classes = Number.isInteger(graph?.classes) && (graph!.classes as number) > 0 && (graph!.classes as number) <= 65536 ? (graph!.classes as number) : test.classes;
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
}

export function samplesRoute(app: FastifyInstance, modelsRoot: string): void {
  app.get<{ Querystring: SamplesQuery }>('/api/samples', { schema: { querystring } }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return samples(modelsRoot, req.query);
  });
}
