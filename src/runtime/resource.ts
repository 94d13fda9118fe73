/**
 * How the runtime fetches bytes (its .wasm builds, a model given as a URL): `fetch` by default,
 * which is all a browser has; the Node entry (index.ts) installs a loader that also reads files
 * (`file:` URLs and paths). Kept apart so the browser bundle (browser.ts) holds no Node import.
 */
import { checkBnnPreamble, PREAMBLE_BYTES } from '../format/read.js';
import { MAGIC } from '../format/layout.js';
import { BnnFileError } from '../format/errors.js';

/** What is being loaded: a model's header is checked before the rest is read (a non-.bnn is refused at its magic). */
export type ResourceKind = 'model' | 'wasm';

/** Bytes at a URL; a string is a URL (or, with the Node loader, a file path). */
export type ResourceLoader = (url: URL | string, kind?: ResourceKind) => Promise<Uint8Array>;

/** Cap on a model fetched by URL: the format's own limit on a file. */
export const MAX_RESOURCE_BYTES = 1 << 30;

/** Whether the first bytes are a .bnn's magic (then its header bounds the rest). */
export function looksLikeBnn(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && MAGIC.every((b, i) => head[i] === b);
}

/**
 * The body of a response, read as a stream and never more than MAX_RESOURCE_BYTES (a server may
 * send no Content-Length, or lie in it). A model's body is checked as soon as its header has
 * arrived (magic, version, declared size within the limit and equal to the Content-Length if there
 * is one) and not read past its declared size.
 */
async function readBody(res: Response, href: string, kind: ResourceKind | undefined): Promise<Uint8Array<ArrayBuffer>> {
  // fetch hands over the decoded body: with a Content-Encoding, Content-Length counts the encoded bytes.
  const encoding = (res.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const declared = encoding === 'identity' ? Number(res.headers.get('content-length') ?? NaN) : NaN;
  if (declared > MAX_RESOURCE_BYTES) throw new BnnFileError('TOO_LARGE', href, `${declared} bytes is more than ${MAX_RESOURCE_BYTES}`);
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let cap = MAX_RESOURCE_BYTES;
  let headChecked = false;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new BnnFileError('READ_FAILED', href, `the response broke off after ${total} bytes: ${(e as Error).message}`);
      }
      const { done, value } = chunk;
      if (done) break;
      chunks.push(value);
      total += value.length;
      if (!headChecked && total >= PREAMBLE_BYTES) {
        headChecked = true;
        const head = concat(chunks, total).subarray(0, PREAMBLE_BYTES);
        if (kind === 'model' || looksLikeBnn(head)) {
          const headerSize = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(16, true);
          // Run the header checks against the size the header declares, or the one the server states.
          checkBnnPreamble(head, Number.isFinite(declared) ? declared : headerSize, { source: href });
          cap = headerSize;
        }
      }
      if (total > cap) throw new BnnFileError('TOO_LARGE', href, `the response is longer than ${cap} bytes`);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return concat(chunks, total);
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export async function fetchBytes(url: URL | string, kind?: ResourceKind): Promise<Uint8Array<ArrayBuffer>> {
  const href = typeof url === 'string' ? url : url.href;
  let res: Response;
  try {
    res = await fetch(href);
  } catch (e) {
    throw new BnnFileError('READ_FAILED', href, `cannot fetch: ${(e as Error).message}`);
  }
  if (!res.ok) throw new BnnFileError(res.status === 404 ? 'NOT_FOUND' : 'READ_FAILED', href, `HTTP ${res.status}`);
  return readBody(res, href, kind);
}

let loader: ResourceLoader = fetchBytes;

export function setResourceLoader(f: ResourceLoader): void {
  loader = f;
}

/** Bytes from the installed loader, always over a plain ArrayBuffer (what WebAssembly.compile takes). */
export async function loadResource(url: URL | string, kind?: ResourceKind): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await loader(url, kind);
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
}
