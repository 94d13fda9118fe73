/**
 * The AutoAttack ensemble's finished work on disk, each attack's parts as they finish, so an
 * evaluation stopped part-way (a session ending, Ctrl-C) resumes after the last part it finished
 * instead of from the start: on 1,000 images one attack of the cascade can take hours. Files are
 * keyed by a hash of everything the attacks' results depend on; a file that does not read back
 * whole is ignored and run again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { EnsembleAttack, EnsembleCheckpoint, MemberPart } from '../attacks/auto.js';

/**
 * The key of one ensemble run: the images and labels attacked, the model as its clean logits on
 * them (a change of weights shows in them), and the ensemble's options (ε, attacks, budgets, seed).
 */
export function ensembleKey(images: Float32Array, labels: Uint8Array, cleanLogits: Float32Array, options: unknown): string {
  const h = createHash('sha256');
  for (const a of [images, labels, cleanLogits]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  h.update(JSON.stringify(options));
  return h.digest('hex').slice(0, 24);
}

export interface FileEnsembleCheckpoint extends EnsembleCheckpoint {
  /** Removes this run's files, whichever run wrote them (once its result is kept elsewhere). */
  clear(): void;
}

/**
 * Parts of the run `key` kept in `dir` as `<key>-<member>-<attack>-<part>.v8.gz` (written whole,
 * then renamed). Gzipped: mostly clean digits, they shrink several times, and long runs keep them
 * in git across machines.
 */
export function fileEnsembleCheckpoint(dir: string, key: string): FileEnsembleCheckpoint {
  const path = (member: number, attack: EnsembleAttack, part: number) => join(dir, `${key}-${member}-${attack}-${part}.v8.gz`);
  return {
    load(member, attack, part) {
      try {
        const v: unknown = deserialize(gunzipSync(readFileSync(path(member, attack, part))));
        return typeof v === 'object' && v !== null && (v as MemberPart).attack === attack ? (v as MemberPart) : undefined;
      } catch {
        return undefined;
      }
    },
    save(member, part, outcome) {
      mkdirSync(dir, { recursive: true });
      const p = path(member, outcome.attack, part);
      writeFileSync(`${p}.tmp`, gzipSync(serialize(outcome)));
      renameSync(`${p}.tmp`, p);
    },
    clear() {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const f of names) if (f.startsWith(`${key}-`)) rmSync(join(dir, f), { force: true });
    },
  };
}
