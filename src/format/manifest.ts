/**
 * models/manifest.json: for every shipped .bnn, how it was made (command, seed, epochs, data)
 * and what it scored. Written by `bnn-edge ship`, read by the demo and the tests.
 */
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../util/fs.js';
import { formatJson } from '../util/json.js';

/**
 * Where training started (`train --init`): the path as given, the SHA-256 of its .bnn (the file
 * itself, or the model.bnn a checkpoint directory exported), and the K it had when training
 * widened it (widenParams). A checkpoint directory also tells how it was made: its epochs and its
 * own start, so a chain through runs that were never shipped still counts every epoch.
 */
export interface InitRecord {
  readonly path: string;
  readonly sha256?: string;
  readonly widenedFromK?: number;
  readonly epochs?: number;
  readonly init?: InitRecord;
}

export interface ManifestEntry {
  readonly file: string;
  /** The model: its graph, as the .bnn holds it (what it is, everywhere). */
  readonly graph: unknown;
  readonly bytes: number;
  readonly sha256: string;
  readonly training: {
    readonly command: string;
    readonly seed: number;
    readonly epochs: number;
    readonly batchSize: number;
    readonly learningRate: number;
    readonly lrSchedule: string;
    readonly augmentShift: number;
    /** Settings beyond the paper's, when the run had them (see TrainingRecord). */
    readonly weightClip?: boolean;
    readonly l1?: number;
    readonly preciseBn?: number;
    readonly cardinalityBoundDecay?: { readonly coeff: number; readonly bound: number };
    readonly adversarial: unknown;
    readonly data: string;
    readonly trainImages: number;
    readonly secondsPerEpoch: number;
    /** The model training started from (`train --init`). */
    readonly init?: InitRecord;
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
 * Follows a start record back to the nearest shipped model (a .bnn whose SHA-256 is that entry's)
 * through any unshipped checkpoint runs in between: the entry, if any, and the epochs of those runs.
 */
function shippedStart(entries: readonly ManifestEntry[], init: InitRecord | undefined): { entry?: ManifestEntry; between: number } {
  let between = 0;
  for (let link = init; link; link = link.init) {
    const entry = link.sha256 === undefined ? undefined : entries.find((e) => e.sha256 === link.sha256);
    if (entry) return { entry, between };
    // A .bnn that is not shipped, or a record from before checkpoints told their epochs: the chain ends.
    if (link.epochs === undefined) break;
    between += link.epochs;
  }
  return { between };
}

/**
 * The nearest shipped model `entry` was trained on from (`train --init`, maybe through runs that
 * were never shipped), or undefined: a fresh start, or a start from a model no longer shipped as it was.
 */
export function trainedFrom(entries: readonly ManifestEntry[], entry: ManifestEntry): ManifestEntry | undefined {
  return shippedStart(entries, entry.training.init).entry;
}

/** Epochs of training in all: `entry`'s own and those of every model it was trained on from. */
export function epochsInAll(entries: readonly ManifestEntry[], entry: ManifestEntry): number {
  let epochs = 0;
  const seen = new Set<ManifestEntry>();
  for (let e: ManifestEntry | undefined = entry; e; ) {
    if (seen.has(e)) throw new Error(`models/manifest.json: the --init chain of ${entry.file} loops back to ${e.file}`);
    seen.add(e);
    const start = shippedStart(entries, e.training.init);
    epochs += e.training.epochs + start.between;
    e = start.entry;
  }
  return epochs;
}

export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return { description: 'Trained models shipped with bnn-edge.', models: [] };
  return readJsonFile(path) as Manifest;
}

export function writeManifest(dir: string, m: Manifest): void {
  const models = [...m.models].sort((a, b) => a.file.localeCompare(b.file, 'en', { numeric: true }));
  writeFileSync(join(dir, 'manifest.json'), formatJson({ ...m, models }));
}
