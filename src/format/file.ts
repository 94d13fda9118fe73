/**
 * Reading a model from disk: a .bnn file or a training run's directory, bounded like any file a
 * hostile party may have put there. The path is opened without blocking (a FIFO cannot hang the
 * open) and checked on the open descriptor (no swap between check and read): only a regular file
 * is read; its first bytes are checked as a .bnn header (magic, version, declared size equal to
 * the actual size and within the format's limit) before the rest is read, so /dev/zero, a FIFO or
 * a gigabyte of junk costs nothing.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BnnFileError } from './errors.js';
import type { BnnModel } from './model.js';
import { checkBnnPreamble, parseBnn, PREAMBLE_BYTES } from './read.js';

function openFile(path: string, what: string): number {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BnnFileError(code === 'ENOENT' ? 'NOT_FOUND' : 'READ_FAILED', path, code === 'ENOENT' ? `${what} not found` : (e as Error).message);
  }
}

/** Reads `length` bytes at `position` (fewer if the file ends first). */
function readAt(fd: number, path: string, length: number, position: number): Uint8Array {
  const buf = new Uint8Array(length);
  let got = 0;
  try {
    while (got < length) {
      const k = readSync(fd, buf, got, length - got, position + got);
      if (k === 0) break;
      got += k;
    }
  } catch (e) {
    throw new BnnFileError('READ_FAILED', path, `cannot read: ${(e as Error).message}`);
  }
  return buf.subarray(0, got);
}

/** The bytes of the .bnn at an open descriptor, header checked first (BnnFormatError if not a .bnn). */
function readBnnAt(fd: number, path: string): Uint8Array {
  const st = fstatSync(fd);
  if (!st.isFile()) throw new BnnFileError('NOT_A_FILE', path, `not a regular file (${st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'a special file'})`);
  const head = readAt(fd, path, Math.min(st.size, PREAMBLE_BYTES), 0);
  checkBnnPreamble(head, st.size, { source: path });
  // The preamble held: st.size is the declared size, at most the format's limit.
  const bytes = new Uint8Array(st.size);
  bytes.set(head);
  bytes.set(readAt(fd, path, st.size - head.length, head.length), head.length);
  return bytes;
}

/** The bytes of a .bnn file, read as readModelFile reads them (bounded, header first); not decoded. */
export function readBnnFile(path: string): Uint8Array {
  const fd = openFile(path, 'model file');
  try {
    return readBnnAt(fd, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a model: a .bnn file, or a training run's directory (`train --out DIR`, which keeps the
 * model as it stands after every epoch in DIR/model.bnn, so a run can be attacked mid-way).
 * `name` is the file's name without .bnn, or the run directory's name. Errors name the path: a
 * BnnFileError if it cannot be read, a BnnFormatError if it is not a valid .bnn.
 */
export function readModelFile(path: string): { bytes: Uint8Array; model: BnnModel; name: string } {
  let file = path;
  let name = basename(path, '.bnn');
  let fd = openFile(path, 'model file');
  try {
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      fd = -1;
      file = join(path, 'model.bnn');
      name = basename(resolve(path));
      try {
        fd = openFile(file, 'model file');
      } catch (e) {
        if (e instanceof BnnFileError && e.code === 'NOT_FOUND') throw new BnnFileError('NOT_FOUND', path, 'a directory without model.bnn (give a .bnn file, or the --out directory of `bnn-edge train`)');
        throw e;
      }
    }
    const bytes = readBnnAt(fd, file);
    return { bytes, model: parseBnn(bytes, { source: file }), name };
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
