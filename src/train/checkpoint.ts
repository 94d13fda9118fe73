/**
 * A training checkpoint: `checkpoint.json` (spec, how it was trained, what it scored, tensor
 * table) beside `weights.bin` (the float32 parameters, little-endian, in the table's order).
 * `bnn-edge export` turns it into the deployable .bnn. A checkpoint saved mid-run also holds
 * `resume.bin` (optimizer moments and batch order), from which `train` continues the run exactly.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkParams, type ParamValues } from '../model/params.js';
import { modelSpec, paramInfos, type Arch, type ModelSpec } from '../model/spec.js';
import { crc32 } from '../format/crc32.js';
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

/**
 * What continuing an interrupted run takes beyond its parameters, so that the continued run ends
 * with the same model, bit for bit, as one never stopped.
 */
export interface TrainingState {
  /** Optimizer steps (batches) taken so far. */
  readonly steps: number;
  /** The run's random generator (`Rng.state()`). */
  readonly rng: readonly number[];
  /** Adam's first and second moment estimates, one per trainable value. */
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;
  /** The batch order: reshuffled in place each epoch, so it carries every earlier shuffle. */
  readonly order: Int32Array;
}

export interface Checkpoint {
  readonly spec: ModelSpec;
  readonly params: ParamValues;
  readonly training: TrainingRecord;
  readonly history: readonly EpochRecord[];
  /** Clean accuracy of the final model on the held-out test set. */
  readonly testAccuracy: number;
  /** Present when the run stopped before its last epoch: what `train({ resume })` continues from. */
  readonly resume?: TrainingState;
}

const RESUME_FILE = 'resume.bin';

interface CheckpointJson {
  format: string;
  version: number;
  arch: Arch;
  k: number;
  training: TrainingRecord;
  history: EpochRecord[];
  testAccuracy: number;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
  /** CRC-32 of weights.bin (absent in older checkpoints): catches a pair of files from different saves. */
  weightsCrc32?: number;
  /** resume.bin holds adamM, adamV (`values` float32 each) then `order` (`images` int32), little-endian. */
  resume?: { steps: number; rng: number[]; values: number; images: number; crc32: number };
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
    weightsCrc32: crc32(bin),
  };
  const r = ckpt.resume;
  if (r) {
    const state = new Uint8Array(4 * (2 * r.adamM.length + r.order.length));
    const sv = new DataView(state.buffer);
    let o = 0;
    for (const a of [r.adamM, r.adamV]) for (let i = 0; i < a.length; i++, o += 4) sv.setFloat32(o, a[i]!, true);
    for (let i = 0; i < r.order.length; i++, o += 4) sv.setInt32(o, r.order[i]!, true);
    writeAtomic(join(dir, RESUME_FILE), state);
    json.resume = { steps: r.steps, rng: [...r.rng], values: r.adamM.length, images: r.order.length, crc32: crc32(state) };
  }
  // Each file is written beside and renamed into place, checkpoint.json last; the CRCs it records
  // tell a reader when a save was cut between files.
  writeAtomic(join(dir, 'weights.bin'), bin);
  writeAtomic(join(dir, 'checkpoint.json'), JSON.stringify(json, null, 2) + '\n');
  if (!r) rmSync(join(dir, RESUME_FILE), { force: true });
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
  if (json.weightsCrc32 !== undefined && crc32(bin) !== json.weightsCrc32) {
    throw new Error(`${binPath}: CRC-32 does not match ${jsonPath} (the two files come from different saves; an interrupted save?)`);
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
  const resume = json.resume ? loadResumeState(join(dir, RESUME_FILE), json.resume) : undefined;
  return { spec, params, training: json.training, history: json.history, testAccuracy: json.testAccuracy, ...(resume ? { resume } : {}) };
}

function loadResumeState(path: string, meta: NonNullable<CheckpointJson['resume']>): TrainingState {
  if (!existsSync(path)) throw new Error(`${path}: missing; checkpoint.json says the run can be resumed from it`);
  const bytes = readFileSync(path);
  const expected = 4 * (2 * meta.values + meta.images);
  if (bytes.length !== expected) throw new Error(`${path}: ${bytes.length} bytes, expected ${expected} (${meta.values} optimizer values ×2 and ${meta.images} image indices)`);
  if (crc32(bytes) !== meta.crc32) throw new Error(`${path}: CRC-32 does not match checkpoint.json (the files come from different saves; an interrupted save?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const adamM = new Float32Array(meta.values);
  const adamV = new Float32Array(meta.values);
  const order = new Int32Array(meta.images);
  let o = 0;
  for (const a of [adamM, adamV]) for (let i = 0; i < a.length; i++, o += 4) a[i] = view.getFloat32(o, true);
  for (let i = 0; i < order.length; i++, o += 4) order[i] = view.getInt32(o, true);
  return { steps: meta.steps, rng: meta.rng, adamM, adamV, order };
}
