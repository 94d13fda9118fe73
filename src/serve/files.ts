/**
 * Opening a file under a served folder without trusting the folder's contents: no symlink is
 * followed (a `passwd.bnn → /etc/passwd` link in `--models DIR` must not publish /etc/passwd), only
 * regular files are opened (a FIFO would block a read forever, a device would never end), and the
 * checks are made on the open descriptor, so the file cannot be swapped between check and read.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ServeError } from './errors.js';

/** One path segment we serve: no leading dot (no `..`, no dotfiles), no separators, bounded. */
const SEGMENT = '[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}';
/** A relative path of at most four such segments (JSON-schema pattern of the static routes). */
export const SERVED_PATH = `^(?:${SEGMENT}/){0,3}${SEGMENT}$`;
const SERVED_PATH_RE = new RegExp(SERVED_PATH);

// O_NOFOLLOW makes open fail (ELOOP) on a symlink; O_NONBLOCK makes opening a FIFO return at once
// instead of waiting for a writer (it has no effect on regular files). Windows has neither: there
// the lstat walk below is the only symlink check.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

export interface OpenedFile {
  readonly handle: FileHandle;
  readonly stats: Stats;
}

const notFound = (rel: string) => new ServeError(404, 'NOT_FOUND', `not found: ${rel}`);

/**
 * Opens `rel` (segments separated by `/`) under `root` (already a real path: the operator chose
 * it). Every directory on the way must be a real directory (lstat: a symlinked directory is
 * refused) and the file itself a regular file reached without a symlink. `maxBytes` refuses
 * larger files before anything is read. Missing, linked and special files are all "not found",
 * so a client learns nothing about what is behind a refused name.
 */
export async function openServed(root: string, rel: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<OpenedFile> {
  if (!SERVED_PATH_RE.test(rel)) throw new ServeError(400, 'BAD_REQUEST', `bad path: ${JSON.stringify(rel.slice(0, 80))}`);
  const parts = rel.split('/');
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    const s = await lstat(dir).catch(() => null);
    if (!s?.isDirectory()) throw notFound(rel);
  }
  let handle: FileHandle;
  try {
    handle = await open(join(dir, parts[parts.length - 1]!), OPEN_FLAGS);
  } catch {
    throw notFound(rel);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notFound(rel);
    if (stats.size > maxBytes) throw new ServeError(413, 'TOO_LARGE', `${rel} is ${stats.size} bytes, over the limit of ${maxBytes}`);
    return { handle, stats };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Reads an opened file whole: exactly the size measured when it was opened, or fails. */
export async function readOpened({ handle, stats }: OpenedFile, rel: string): Promise<Uint8Array> {
  const out = new Uint8Array(stats.size);
  for (let at = 0; at < out.length; ) {
    const { bytesRead } = await handle.read(out, at, out.length - at, at);
    if (bytesRead === 0) throw new ServeError(409, 'BAD_MODEL', `${rel} changed while it was read`);
    at += bytesRead;
  }
  return out;
}
