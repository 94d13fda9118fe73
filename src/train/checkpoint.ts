/**
 * A training checkpoint: `checkpoint.json` (the model graph, how it was trained, what it scored,
 * tensor table) beside `weights.bin` (the float32 parameters, little-endian, in the table's order).
 * `bnn-edge export` turns it into the deployable .bnn. A checkpoint saved mid-run also holds
 * `resume-STEPS.bin` (optimizer moments and batch order), from which `train` continues the run exactly.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkParams, legacyParamName, paramInfos, type ParamValues } from '../model/params.js';
import { defineGraph, graphToJson, type ModelGraph } from '../model/graph.js';
import { paperModel, type Arch } from '../model/presets.js';
import { crc32 } from '../format/crc32.js';
import type { InitRecord } from '../format/manifest.js';
import { flatLayout } from './flat.js';
import { FileReadError, readBoundedFile, readJsonFile, writeAtomic } from '../util/fs.js';

/** Largest weights.bin read: 256M float32 parameters, far beyond any BNN this trains. */
const MAX_WEIGHTS_BYTES = 1 << 30;

export const CHECKPOINT_FORMAT = 'bnn-edge-checkpoint';
/** 2 stores the model graph; 1 (read too) stored the paper's architecture code and K. */
export const CHECKPOINT_VERSION = 2;

export interface TrainingRecord {
  /** The command line that produced the model. */
  readonly command: string;
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly lrSchedule: 'constant' | 'cosine';
  readonly augmentShift: number;
  /** Latent binary weights clipped to [−1, 1] after every step (absent: no). */
  readonly weightClip?: boolean;
  /** Proximal L1 pull of ternary layers' latent weights toward 0, per unit learning rate (absent: 0). */
  readonly l1?: number;
  /** Training images over which batch-norm statistics were re-estimated after every epoch (PreciseBN; absent: 0, the moving averages). */
  readonly preciseBn?: number;
  /** EEV's cardinality bound decay in the loss (absent: none). */
  readonly cardinalityBoundDecay?: { readonly coeff: number; readonly bound: number };
  readonly data: string;
  readonly trainImages: number;
  /**
   * CRC-32 of those images (float32 bytes) and then their labels: which data the run saw, beyond
   * its name and size (files under the same directory may change). Absent in older checkpoints.
   */
  readonly trainCrc32?: number;
  /**
   * `weight` is the adversarial loss's share (absent in checkpoints written before it existed:
   * 0.5); `rampEpochs` the ε warm-up (absent: none).
   */
  readonly adversarial: { readonly kind: 'pgd' | 'fgsm'; readonly eps: number; readonly step: number; readonly steps: number; readonly cleanEpochs: number; readonly weight?: number; readonly rampEpochs?: number } | null;
  /** Shards per batch (they fix the ghost-batch size) and batch-norm momentum; absent in older checkpoints: 2 and 0.99. */
  readonly shards?: number;
  readonly bnMomentum?: number;
  readonly backend: string;
  /**
   * The model training started from (`train --init`), absent for a fresh start. Its SHA-256 lets
   * `ship` record which shipped model a continued one grew from even after a rename.
   */
  readonly init?: InitRecord;
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
  readonly graph: ModelGraph;
  readonly params: ParamValues;
  readonly training: TrainingRecord;
  readonly history: readonly EpochRecord[];
  /** Clean accuracy of the final model on the held-out test set. */
  readonly testAccuracy: number;
  /** Present when the run stopped before its last epoch: what `train({ resume })` continues from. */
  readonly resume?: TrainingState;
}

/** Resume state files are named after the step count, so a save never overwrites the one the current checkpoint.json names. */
const resumeFile = (steps: number) => `resume-${steps}.bin`;
const RESUME_FILE_PATTERN = /^resume-\d+\.bin$/;

/**
 * The checkpoint's files are damaged or do not belong together (CRC mismatch, a missing or
 * malformed file): the model has to be trained again. Unreadable files (permissions, I/O) and
 * versions this build does not read are plain errors: nothing is wrong with the files.
 */
export class CorruptCheckpointError extends Error {
  override name = 'CorruptCheckpointError';
}

interface CheckpointJson {
  format: string;
  version: number;
  /** Version 2: the model graph. */
  graph?: unknown;
  /** Version 1: the paper model. */
  arch?: Arch;
  k?: number;
  training: TrainingRecord;
  history: EpochRecord[];
  testAccuracy: number;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
  /** CRC-32 of weights.bin (absent in older checkpoints): catches a pair of files from different saves. */
  weightsCrc32?: number;
  /** `file` holds adamM, adamV (`values` float32 each) then `order` (`images` int32), little-endian. */
  resume?: { file: string; steps: number; rng: number[]; values: number; images: number; crc32: number };
}

export function saveCheckpoint(dir: string, ckpt: Checkpoint): void {
  mkdirSync(dir, { recursive: true });
  const tensors: CheckpointJson['tensors'] = [];
  let offset = 0;
  const infos = paramInfos(ckpt.graph);
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
    graph: graphToJson(ckpt.graph),
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
    const file = resumeFile(r.steps);
    writeAtomic(join(dir, file), state);
    json.resume = { file, steps: r.steps, rng: [...r.rng], values: r.adamM.length, images: r.order.length, crc32: crc32(state) };
  }
  // Each file is written beside and renamed into place, checkpoint.json last, and resume state
  // under a new name; only a stop between the renames of weights.bin and checkpoint.json (a few
  // microseconds) leaves a pair from two saves, which the CRCs checkpoint.json records reveal.
  writeAtomic(join(dir, 'weights.bin'), bin);
  writeAtomic(join(dir, 'checkpoint.json'), JSON.stringify(json, null, 2) + '\n');
  for (const f of readdirSync(dir)) if (RESUME_FILE_PATTERN.test(f) && f !== json.resume?.file) rmSync(join(dir, f), { force: true });
}

/**
 * Reads a checkpoint. With `resume: true` it also reads the state a run saved mid-way continues
 * from (`Checkpoint.resume`); without, that state is left on disk unread.
 */
export function loadCheckpoint(dir: string, opts: { resume?: boolean } = {}): Checkpoint {
  const jsonPath = join(dir, 'checkpoint.json');
  const binPath = join(dir, 'weights.bin');
  let json: CheckpointJson;
  try {
    json = readJsonFile(jsonPath) as CheckpointJson;
  } catch (e) {
    if (e instanceof SyntaxError) throw new CorruptCheckpointError(`${jsonPath}: not valid JSON: ${e.message}`);
    throw new Error(`${jsonPath}: cannot read checkpoint: ${e instanceof FileReadError ? e.reason : (e as Error).message}`);
  }
  if (json.format !== CHECKPOINT_FORMAT) throw new Error(`${jsonPath}: not a bnn-edge checkpoint (format "${json.format}")`);
  if (json.version !== CHECKPOINT_VERSION && json.version !== 1) throw new Error(`${jsonPath}: unsupported checkpoint version ${json.version} (this build reads 1 and ${CHECKPOINT_VERSION})`);
  let graph: ModelGraph;
  try {
    graph = json.version === 1 ? paperModel(json.arch!, json.k!) : defineGraph(json.graph);
  } catch (e) {
    throw new CorruptCheckpointError(`${jsonPath}: ${(e as Error).message}`);
  }
  // Version 1 named the paper's batch-norm and SReLU parameters after their conv (conv2/bn_beta).
  const rename = json.version === 1 ? legacyParamName : (n: string) => n;
  let bin: Uint8Array;
  try {
    bin = readBoundedFile(binPath, MAX_WEIGHTS_BYTES);
  } catch (e) {
    throw new Error(`${binPath}: cannot read weights: ${e instanceof FileReadError ? e.reason : (e as Error).message}`);
  }
  if (json.weightsCrc32 !== undefined && crc32(bin) !== json.weightsCrc32) {
    throw new CorruptCheckpointError(`${binPath}: CRC-32 does not match ${jsonPath} (the two files come from different saves; an interrupted save?)`);
  }
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const params: ParamValues = new Map();
  if (!Array.isArray(json.tensors)) throw new CorruptCheckpointError(`${jsonPath}: "tensors" is not a list`);
  for (const t of json.tensors) {
    if (!(Number.isSafeInteger(t.offset) && t.offset >= 0 && Number.isSafeInteger(t.length) && t.length >= 0)) throw new CorruptCheckpointError(`${jsonPath}: tensor ${t.name} has offset ${t.offset} and length ${t.length}; both must be non-negative integers`);
    if (t.offset + 4 * t.length > bin.length) throw new CorruptCheckpointError(`${binPath}: tensor ${t.name} at offset ${t.offset} runs past the end of the file (${bin.length} bytes)`);
    const v = new Float32Array(t.length);
    for (let i = 0; i < t.length; i++) v[i] = view.getFloat32(t.offset + 4 * i, true);
    params.set(rename(t.name), v);
  }
  checkParams(graph, params, jsonPath);
  if (!Array.isArray(json.history)) throw new CorruptCheckpointError(`${jsonPath}: "history" is not a list`);
  const resume = opts.resume && json.resume !== undefined ? loadResumeState(dir, json.resume, flatLayout(graph).size) : undefined;
  return { graph, params, training: json.training, history: json.history, testAccuracy: json.testAccuracy, ...(resume ? { resume } : {}) };
}

function loadResumeState(dir: string, meta: NonNullable<CheckpointJson['resume']>, params: number): TrainingState {
  const where = join(dir, 'checkpoint.json');
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (typeof meta !== 'object' || meta === null || typeof meta.file !== 'string' || !RESUME_FILE_PATTERN.test(meta.file) || !count(meta.steps) || !count(meta.values) || !count(meta.images) || !count(meta.crc32)) {
    throw new CorruptCheckpointError(`${where}: "resume" must name a resume-N.bin file and give non-negative integer steps, values, images and crc32; got ${JSON.stringify(meta)}`);
  }
  if (meta.values !== params) throw new CorruptCheckpointError(`${where}: resume state for ${meta.values} parameters, the model has ${params}`);
  const path = join(dir, meta.file);
  if (!existsSync(path)) throw new CorruptCheckpointError(`${path}: missing; checkpoint.json says the run can be resumed from it`);
  const expected = 4 * (2 * meta.values + meta.images);
  // One byte past the expected size is read, so a longer file is reported as corrupt like a shorter one.
  const bytes = readBoundedFile(path, Number.MAX_SAFE_INTEGER, expected + 1);
  if (bytes.length !== expected) throw new CorruptCheckpointError(`${path}: ${bytes.length} bytes, expected ${expected} (${meta.values} optimizer values ×2 and ${meta.images} image indices)`);
  if (crc32(bytes) !== meta.crc32) throw new CorruptCheckpointError(`${path}: CRC-32 does not match checkpoint.json (the files come from different saves; an interrupted save?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const adamM = new Float32Array(meta.values);
  const adamV = new Float32Array(meta.values);
  const order = new Int32Array(meta.images);
  let o = 0;
  for (const a of [adamM, adamV]) for (let i = 0; i < a.length; i++, o += 4) a[i] = view.getFloat32(o, true);
  for (let i = 0; i < order.length; i++, o += 4) order[i] = view.getInt32(o, true);
  for (let i = 0; i < params; i++) {
    if (!Number.isFinite(adamM[i]!) || !(adamV[i]! >= 0 && adamV[i]! < Infinity)) throw new CorruptCheckpointError(`${path}: optimizer moment ${i} is ${adamM[i]} / ${adamV[i]} (must be finite, the second non-negative)`);
  }
  // The generator words and the batch order are checked against the run by train().
  return { steps: meta.steps, rng: meta.rng, adamM, adamV, order };
}
