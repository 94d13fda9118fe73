/**
 * How the runtime fetches bytes (its .wasm builds, a model given as a URL): `fetch` by default,
 * which is all a browser has; the Node entry (index.ts) installs a loader that also reads files
 * (`file:` URLs and paths). Kept apart so the browser bundle (browser.ts) holds no Node import.
 */

/** Bytes at a URL; a string is a URL (or, with the Node loader, a file path). */
export type ResourceLoader = (url: URL | string) => Promise<Uint8Array>;

/** Cap on a model fetched by URL: the format's own limit on a file. */
export const MAX_RESOURCE_BYTES = 1 << 30;

export async function fetchBytes(url: URL | string): Promise<Uint8Array<ArrayBuffer>> {
  const href = typeof url === 'string' ? url : url.href;
  const res = await fetch(href);
  if (!res.ok) throw new Error(`${href}: HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > MAX_RESOURCE_BYTES) throw new Error(`${href}: ${declared} bytes is more than ${MAX_RESOURCE_BYTES}`);
  return new Uint8Array(await res.arrayBuffer());
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
