/**
 * The Node loader (see resource.ts): `file:` URLs and paths read from disk, checked first; the rest
 * fetched. A file is opened without blocking and checked on the open descriptor: a FIFO or a
 * device is refused, not read; a .bnn's header is checked (format/file.ts) before the rest is read.
 */
import { open } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { checkBnnPreamble, PREAMBLE_BYTES } from '../format/read.js';
import { fetchBytes, looksLikeBnn, MAX_RESOURCE_BYTES } from './resource.js';

export async function nodeLoader(url: URL | string): Promise<Uint8Array<ArrayBuffer>> {
  const u = typeof url === 'string' ? (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? new URL(url) : pathToFileURL(url)) : url;
  if (u.protocol !== 'file:') return fetchBytes(u);
  const { constants } = await import('node:fs');
  const f = await open(u, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await f.stat();
    if (!st.isFile()) throw new Error(`${u.pathname}: not a regular file`);
    if (st.size > MAX_RESOURCE_BYTES) throw new Error(`${u.pathname}: ${st.size} bytes is more than ${MAX_RESOURCE_BYTES}`);
    const head = new Uint8Array(Math.min(st.size, PREAMBLE_BYTES));
    await f.read(head, 0, head.length, 0);
    if (looksLikeBnn(head)) checkBnnPreamble(head, st.size, { source: u.pathname });
    // Read exactly the size checked, even if the file grows meanwhile.
    const bytes = new Uint8Array(st.size);
    let got = 0;
    while (got < bytes.length) {
      const { bytesRead } = await f.read(bytes, got, bytes.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return bytes.subarray(0, got) as Uint8Array<ArrayBuffer>;
  } finally {
    await f.close();
  }
}
