/** The Node loader (see resource.ts): `file:` URLs and paths read from disk, checked first; the rest fetched. */
import { open } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { fetchBytes, MAX_RESOURCE_BYTES } from './resource.js';

export async function nodeLoader(url: URL | string): Promise<Uint8Array<ArrayBuffer>> {
  const u = typeof url === 'string' ? (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? new URL(url) : pathToFileURL(url)) : url;
  if (u.protocol !== 'file:') return fetchBytes(u);
  // Opened without blocking and checked before reading: a FIFO or a device is refused, not read.
  const { constants } = await import('node:fs');
  const f = await open(u, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await f.stat();
    if (!st.isFile()) throw new Error(`${u.pathname}: not a regular file`);
    if (st.size > MAX_RESOURCE_BYTES) throw new Error(`${u.pathname}: ${st.size} bytes is more than ${MAX_RESOURCE_BYTES}`);
    return new Uint8Array(await f.readFile());
  } finally {
    await f.close();
  }
}
