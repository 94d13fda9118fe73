/**
 * File reading and writing shared by the pipeline's stages. Reads are bounded: only regular files
 * (a FIFO would block forever, /dev/zero never ends), at most a given size, checked on the opened
 * file before a byte is read (opened without blocking, so a FIFO swapped in after a check cannot
 * hang the read).
 */
import { closeSync, constants, fstatSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';

/** A file that could not be read, or was refused (not a regular file, too large), with why. */
export class FileReadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'FileReadError';
  }
}

/** Opens `path` for reading if it is a regular file of at most `maxBytes`; returns the fd and size. */
function openRegular(path: string, maxBytes: number): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileReadError(path, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'not a regular file (a directory)' : `cannot read: ${(e as Error).message}`);
  }
  const st = fstatSync(fd);
  const fail = (why: string): never => {
    closeSync(fd);
    throw new FileReadError(path, why);
  };
  if (!st.isFile()) fail(`not a regular file (${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a special file'})`);
  if (st.size > maxBytes) fail(`${st.size} bytes is more than the ${maxBytes} allowed`);
  return { fd, size: st.size };
}

/** The first `n` bytes of the file (all of it when n ≥ its size), if it is a regular file of at most `maxBytes`. */
export function readBoundedFile(path: string, maxBytes: number, n = Infinity): Uint8Array {
  const { fd, size } = openRegular(path, maxBytes);
  try {
    const want = Math.min(size, n);
    const buf = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      const k = readSync(fd, buf, got, want - got, got);
      if (k === 0) break;
      got += k;
    }
    return buf.subarray(0, got);
  } catch (e) {
    throw new FileReadError(path, `cannot read: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** Largest JSON side file read (a manifest, a checkpoint's description): far above any real one. */
export const MAX_JSON_FILE_BYTES = 64 << 20;

/** A small JSON file read through `readBoundedFile` and parsed (a SyntaxError if it is not JSON). */
export function readJsonFile(path: string, maxBytes = MAX_JSON_FILE_BYTES): unknown {
  return JSON.parse(new TextDecoder().decode(readBoundedFile(path, maxBytes))) as unknown;
}

/**
 * Writes a file by renaming a complete copy over it, so a reader (or a run that was interrupted
 * mid-write) never sees half of it. The copy is named after this process, so two processes writing
 * the same file never write into one copy.
 */
export function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
