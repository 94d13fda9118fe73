/**
 * models/manifest.json: for every shipped .bnn, how it was made (command, seed, epochs, data)
 * and what it scored. Written by `bnn-edge ship`, read by the demo and the tests.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ManifestEntry {
  readonly file: string;
  readonly arch: string;
  readonly k: number;
  readonly bytes: number;
  readonly sha256: string;
  /** How the first layer ships: int8 weights on a u8 image (quantized at export) or float32. */
  readonly firstLayer: 'int8' | 'float32';
  readonly training: {
    readonly command: string;
    readonly seed: number;
    readonly epochs: number;
    readonly batchSize: number;
    readonly learningRate: number;
    readonly lrSchedule: string;
    readonly augmentShift: number;
    readonly adversarial: unknown;
    readonly data: string;
    readonly trainImages: number;
    readonly secondsPerEpoch: number;
    /** The model training started from (`train --init`): path as given, SHA-256 of its .bnn, K before widening. */
    readonly init?: { readonly path: string; readonly sha256?: string; readonly widenedFromK?: number };
  };
  /** Clean accuracy on the 2,000 held-out test images. */
  readonly testAccuracy: { readonly checkpoint: number; readonly tfjs: number; readonly runtime: number; readonly agreement: number };
}

export interface Manifest {
  readonly description: string;
  readonly models: ManifestEntry[];
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The shipped model `entry` was trained on from (`train --init` of a .bnn whose SHA-256 is that
 * entry's), or undefined: a fresh start, or a start from a model no longer shipped as it was.
 */
export function trainedFrom(entries: readonly ManifestEntry[], entry: ManifestEntry): ManifestEntry | undefined {
  const sha = entry.training.init?.sha256;
  return sha === undefined ? undefined : entries.find((e) => e.sha256 === sha);
}

/** Epochs of training in all: `entry`'s own and those of every shipped model it was trained on from. */
export function epochsInAll(entries: readonly ManifestEntry[], entry: ManifestEntry): number {
  let epochs = 0;
  const seen = new Set<ManifestEntry>();
  for (let e: ManifestEntry | undefined = entry; e; e = trainedFrom(entries, e)) {
    if (seen.has(e)) throw new Error(`models/manifest.json: the --init chain of ${entry.file} loops back to ${e.file}`);
    seen.add(e);
    epochs += e.training.epochs;
  }
  return epochs;
}

export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return { description: 'Trained models shipped with bnn-edge.', models: [] };
  return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
}

export function writeManifest(dir: string, m: Manifest): void {
  const models = [...m.models].sort((a, b) => a.file.localeCompare(b.file, 'en', { numeric: true }));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, models }, null, 2) + '\n');
}
