/**
 * Reading data files with bounds: only regular files (a FIFO would block forever, /dev/zero never
 * ends), at most a given size, checked on the opened file before a byte is read (opened without
 * blocking, so a FIFO swapped in after a check cannot hang the read). Every loader reads through here.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { DataError } from './dataset.js';

/** Largest data file read whole (compressed or not): the full MNIST training images are 47 MB. */
export const MAX_DATA_FILE_BYTES = 1 << 30;

/** Opens `path` for reading if it is a regular file of at most `maxBytes`; returns the fd and size. */
function openRegular(path: string, maxBytes: number): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(path, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'not a regular file (a directory)' : `cannot read: ${(e as Error).message}`);
  }
  const st = fstatSync(fd);
  const fail = (why: string): never => {
    closeSync(fd);
    throw new DataError(path, why);
  };
  if (!st.isFile()) fail(`not a regular file (${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a special file'})`);
  if (st.size > maxBytes) fail(`${st.size} bytes is more than the ${maxBytes} a data file may have`);
  return { fd, size: st.size };
}

/** The first `n` bytes of the file (all of it when n ≥ its size), if it is a regular file of at most `maxBytes`. */
export function readDataFile(path: string, maxBytes = MAX_DATA_FILE_BYTES, n = Infinity): Uint8Array {
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
    throw new DataError(path, `cannot read: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
