/**
 * A training checkpoint: `checkpoint.json` (spec, how it was trained, what it scored, tensor
 * table) beside `weights.bin` (the float32 parameters, little-endian, in the table's order).
 * `bnn-edge export` turns it into the deployable .bnn.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkParams, type ParamValues } from '../model/params.js';
import { modelSpec, paramInfos, type Arch, type ModelSpec } from '../model/spec.js';
import { writeAtomic } from '../util/fs.js';

export const CHECKPOINT_FORMAT = 'bnn-edge-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface TrainingRecord {
  /** The command line that produced the model. */
  readonly command: string;
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly lrSchedule: 'constant' | 'cosine';
  readonly augmentShift: number;
  readonly data: string;
  readonly trainImages: number;
  /**
   * `weight` is the adversarial loss's share (absent in checkpoints written before it existed:
   * 0.5); `rampEpochs` the ε warm-up (absent: none).
   */
  readonly adversarial: { readonly kind: 'pgd'; readonly eps: number; readonly step: number; readonly steps: number; readonly cleanEpochs: number; readonly weight?: number; readonly rampEpochs?: number } | null;
  readonly backend: string;
}

export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly trainAccuracy: number;
  readonly testAccuracy: number;
  readonly seconds: number;
}

export interface Checkpoint {
  readonly spec: ModelSpec;
  readonly params: ParamValues;
  readonly training: TrainingRecord;
  readonly history: readonly EpochRecord[];
  /** Clean accuracy of the final model on the held-out test set. */
  readonly testAccuracy: number;
}

interface CheckpointJson {
  format: string;
  version: number;
  arch: Arch;
  k: number;
  training: TrainingRecord;
  history: EpochRecord[];
  testAccuracy: number;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
}

export function saveCheckpoint(dir: string, ckpt: Checkpoint): void {
  mkdirSync(dir, { recursive: true });
  const tensors: CheckpointJson['tensors'] = [];
  let offset = 0;
  const infos = paramInfos(ckpt.spec);
  for (const p of infos) {
    const length = ckpt.params.get(p.name)!.length;
    tensors.push({ name: p.name, shape: [...p.shape], offset, length });
    offset += length * 4;
  }
  const bin = new Uint8Array(offset);
  const view = new DataView(bin.buffer);
  for (const t of tensors) {
    const v = ckpt.params.get(t.name)!;
    for (let i = 0; i < v.length; i++) view.setFloat32(t.offset + 4 * i, v[i]!, true);
  }
  const json: CheckpointJson = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    arch: ckpt.spec.arch,
    k: ckpt.spec.k,
    training: ckpt.training,
    history: [...ckpt.history],
    testAccuracy: ckpt.testAccuracy,
    tensors,
  };
  // Written beside and renamed into place, so an interrupted save never leaves a torn checkpoint.
  writeAtomic(join(dir, 'weights.bin'), bin);
  writeAtomic(join(dir, 'checkpoint.json'), JSON.stringify(json, null, 2) + '\n');
}

export function loadCheckpoint(dir: string): Checkpoint {
  const jsonPath = join(dir, 'checkpoint.json');
  const binPath = join(dir, 'weights.bin');
  let json: CheckpointJson;
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8')) as CheckpointJson;
  } catch (e) {
    throw new Error(`${jsonPath}: cannot read checkpoint: ${(e as Error).message}`);
  }
  if (json.format !== CHECKPOINT_FORMAT) throw new Error(`${jsonPath}: not a bnn-edge checkpoint (format "${json.format}")`);
  if (json.version !== CHECKPOINT_VERSION) throw new Error(`${jsonPath}: unsupported checkpoint version ${json.version} (this build reads ${CHECKPOINT_VERSION})`);
  const spec = modelSpec(json.arch, json.k);
  let bin: Uint8Array;
  try {
    bin = readFileSync(binPath);
  } catch (e) {
    throw new Error(`${binPath}: cannot read weights: ${(e as Error).message}`);
  }
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const params: ParamValues = new Map();
  for (const t of json.tensors) {
    if (t.offset + 4 * t.length > bin.length) throw new Error(`${binPath}: tensor ${t.name} at offset ${t.offset} runs past the end of the file (${bin.length} bytes)`);
    const v = new Float32Array(t.length);
    for (let i = 0; i < t.length; i++) v[i] = view.getFloat32(t.offset + 4 * i, true);
    params.set(t.name, v);
  }
  checkParams(spec, params, jsonPath);
  return { spec, params, training: json.training, history: json.history, testAccuracy: json.testAccuracy };
}
