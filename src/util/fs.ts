/** File writing shared by the pipeline's stages. */
import { renameSync, writeFileSync } from 'node:fs';

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
