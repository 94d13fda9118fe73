/**
 * The Node loader (see resource.ts): `file:` URLs and paths read from disk, checked first; the rest
 * fetched. A file is opened without blocking and checked on the open descriptor: a FIFO or a
 * device is refused, not read; a model's header is checked (format/read.ts) before the rest is read.
 * Failures are BnnFileErrors (missing, not a file, too large) or the header's BnnFormatError.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BnnFileError, BnnFormatError } from '../format/errors.js';
import { checkBnnPreamble, PREAMBLE_BYTES } from '../format/read.js';
import { fetchBytes, looksLikeBnn, MAX_RESOURCE_BYTES, type ResourceKind } from './resource.js';

export async function nodeLoader(url: URL | string, kind?: ResourceKind): Promise<Uint8Array<ArrayBuffer>> {
  const u = typeof url === 'string' ? (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? new URL(url) : pathToFileURL(url)) : url;
  if (u.protocol !== 'file:') return fetchBytes(u, kind);
  const path = fileURLToPath(u);
  const { constants } = await import('node:fs');
  let f: FileHandle;
  try {
    f = await open(u, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BnnFileError(code === 'ENOENT' ? 'NOT_FOUND' : code === 'EISDIR' ? 'NOT_A_FILE' : 'READ_FAILED', path, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'not a regular file (a directory)' : `cannot read: ${(e as Error).message}`);
  }
  try {
    const st = await f.stat();
    if (!st.isFile()) throw new BnnFileError('NOT_A_FILE', path, `not a regular file (${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a special file'})`);
    const head = new Uint8Array(Math.min(st.size, PREAMBLE_BYTES));
    await f.read(head, 0, head.length, 0);
    // A model's header is checked on its first bytes: a file that is not a .bnn is not read on.
    if (kind === 'model' || looksLikeBnn(head)) checkBnnPreamble(head, st.size, { source: path });
    if (st.size > MAX_RESOURCE_BYTES) throw new BnnFileError('TOO_LARGE', path, `${st.size} bytes is more than ${MAX_RESOURCE_BYTES}`);
    // Read exactly the size checked, even if the file grows meanwhile.
    const bytes = new Uint8Array(st.size);
    let got = 0;
    while (got < bytes.length) {
      const { bytesRead } = await f.read(bytes, got, bytes.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return bytes.subarray(0, got) as Uint8Array<ArrayBuffer>;
  } catch (e) {
    if (e instanceof BnnFileError || e instanceof BnnFormatError) throw e;
    throw new BnnFileError('READ_FAILED', path, `cannot read: ${(e as Error).message}`);
  } finally {
    await f.close();
  }
}
