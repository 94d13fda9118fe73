/**
 * How the runtime fetches bytes (its .wasm builds, a model given as a URL): `fetch` by default,
 * which is all a browser has; the Node entry (index.ts) installs a loader that also reads files
 * (`file:` URLs and paths). Kept apart so the browser bundle (browser.ts) holds no Node import.
 */
import { checkBnnPreamble, PREAMBLE_BYTES } from '../format/read.js';
import { MAGIC } from '../format/layout.js';

/** Bytes at a URL; a string is a URL (or, with the Node loader, a file path). */
export type ResourceLoader = (url: URL | string) => Promise<Uint8Array>;

/** Cap on a model fetched by URL: the format's own limit on a file. */
export const MAX_RESOURCE_BYTES = 1 << 30;

/** Whether the first bytes are a .bnn's magic (then its header bounds the rest). */
export function looksLikeBnn(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && MAGIC.every((b, i) => head[i] === b);
}

/**
 * The body of a response, read as a stream and never more than MAX_RESOURCE_BYTES (a server may
 * send no Content-Length, or lie in it). A .bnn body is checked as soon as its header has arrived
 * (magic, version, declared size within the limit and equal to the Content-Length if there is one)
 * and not read past its declared size.
 */
async function readBody(res: Response, href: string): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > MAX_RESOURCE_BYTES) throw new Error(`${href}: ${declared} bytes is more than ${MAX_RESOURCE_BYTES}`);
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let cap = MAX_RESOURCE_BYTES;
  let headChecked = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
      if (!headChecked && total >= PREAMBLE_BYTES) {
        headChecked = true;
        const head = concat(chunks, total).subarray(0, PREAMBLE_BYTES);
        if (looksLikeBnn(head)) {
          cap = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(16, true);
          // Run the header checks against the size the header declares, or the one the server states.
          checkBnnPreamble(head, Number.isFinite(declared) ? declared : cap, { source: href });
        }
      }
      if (total > cap) throw new Error(`${href}: the response is longer than ${cap} bytes`);
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

export async function fetchBytes(url: URL | string): Promise<Uint8Array<ArrayBuffer>> {
  const href = typeof url === 'string' ? url : url.href;
  const res = await fetch(href);
  if (!res.ok) throw new Error(`${href}: HTTP ${res.status}`);
  return readBody(res, href);
}

let loader: ResourceLoader = fetchBytes;

export function setResourceLoader(f: ResourceLoader): void {
  loader = f;
}

/** Bytes from the installed loader, always over a plain ArrayBuffer (what WebAssembly.compile takes). */
export async function loadResource(url: URL | string): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await loader(url);
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
}
