/**
 * train — fits a model graph (any: the paper's A, B, C, S or R at width K are presets) with Adam on the training split,
 * optionally with PGD adversarial training after some clean epochs: a weighted mix of clean and
 * adversarial loss (0.5 = the paper's and Goodfellow's 50/50 mix, 1 = Madry's adversarial-only).
 *
 * Each batch is cut into a fixed number of shards (default 2; batch norm sees per-shard "ghost
 * batch" statistics) whose gradients are computed on worker threads and averaged; Adam runs
 * here on the host. Deterministic for a given seed, whatever the number of workers:
 * initialization, batch order, PGD random starts and model S's weight sampling all derive from
 * the seed, and a shard's result does not depend on the thread that computed it. A run stopped
 * between epochs continues from its checkpoint (`resume`) to the same final model.
 */
import { imageSize, type Dataset, type DataSplit } from '../data/dataset.js';
import { crc32 } from '../format/crc32.js';
import { initParams, type ParamValues } from '../model/params.js';
import { inputSize, sameGraph, type ModelGraph } from '../model/graph.js';
import { Progress } from '../util/progress.js';
import { isGeneratorState, Rng } from '../util/rng.js';
import { Adam } from './adam.js';
import type { Checkpoint, EpochRecord, TrainingRecord, TrainingState } from './checkpoint.js';
import { flatLayout, flattenTrainable, unflattenTrainable, type FlatLayout } from './flat.js';
import { createRunner, defaultWorkers, type ShardRunner } from './pool.js';
import type { CardinalityBoundDecay, MomentsRequest, StepRequest, StepResult } from './shard.js';

export interface AdversarialTraining {
  /**
   * 'pgd' (default): `steps` steps of `step` from a random start in the ball (Madry et al.);
   * 'fgsm': one step of ε from the clean image (Goodfellow et al.; the paper's "+" models), which
   * ignores `step` and `steps` and records them as ε and 1.
   */
  readonly kind?: 'pgd' | 'fgsm';
  readonly eps: number;
  readonly step: number;
  readonly steps: number;
  /** Epochs of clean training before the adversarial part of the loss is switched on. */
  readonly cleanEpochs: number;
  /**
   * Share of the adversarial loss, in (0, 1]; the clean loss gets the rest. Default 0.5 (the
   * paper's mix). Madry's robust MNIST model trains on adversarial examples only (1).
   */
  readonly weight?: number;
  /**
   * Epochs over which ε (and the step with it) grows linearly from 0 to `eps` once adversarial
   * training starts. Default 0. Adversarial-only training at the full ε from the start can sit at
   * chance level for long; a ramp lets the model learn the task before the attack gets strong.
   */
  readonly rampEpochs?: number;
}

/** The paper's clean/adversarial mix. */
export const DEFAULT_ADV_WEIGHT = 0.5;

export interface TrainOptions {
  /** The model to train (its identity: a resumed run must name the same graph). */
  readonly graph: ModelGraph;
  readonly data: DataSplit;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly seed?: number;
  readonly adversarial?: AdversarialTraining | null;
  /** Momentum of the batch-norm moving averages. */
  readonly bnMomentum?: number;
  /** Use only the first N training images (quick runs and tests). */
  readonly limit?: number;
  /** Shards per batch (part of the result: fixes the ghost-batch size). Default 2. */
  readonly shards?: number;
  /** Worker threads; 0 runs shards in this thread. Default: one per core, ≤ shards. */
  readonly workers?: number;
  /** Recorded in the checkpoint. */
  readonly command?: string;
  /** Show a progress bar on stderr (default true). */
  readonly progress?: boolean;
  /** Called after every epoch; `snapshot()` returns the model as it stands (e.g. to save it). */
  readonly onEpoch?: (r: EpochRecord, snapshot: () => Checkpoint) => void;
  /** Start from these parameters instead of a fresh initialization. */
  readonly initial?: ParamValues;
  /** Where `initial` came from; recorded in the checkpoint (TrainingRecord.init). */
  readonly initialFrom?: TrainingRecord['init'];
  /**
   * Continue the run this checkpoint was saved from mid-run (it has `resume`) through its last
   * epoch. The other options must describe that same run (they are checked against its training
   * record); the result is, bit for bit, the model the run would have ended with uninterrupted.
   */
  readonly resume?: Checkpoint;
  /** Learning-rate schedule: cosine decay to 0 over the run (default) or constant (the paper). */
  readonly lrSchedule?: 'constant' | 'cosine';
  /** Random translation of training images by up to this many pixels (default 2; 0 = none, the paper). */
  readonly augmentShift?: number;
  /**
   * Clip the latent weights of binary kernels to [−1, 1] after every step (Larq's `weight_clip`
   * constraint; past ±1 a weight's sign can no longer change under Larq's ste_sign). Default off.
   */
  readonly weightClip?: boolean;
  /**
   * Sparsity for ternary layers (ste_tern): after every step each latent weight w of their
   * kernels moves toward 0 by lr·l1 (w ← sign(w)·max(|w| − lr·l1, 0), the proximal step of an L1
   * penalty l1·Σ|w|), so more weights end inside the ternary threshold and ship as 0 — fewer
   * inputs per unit, which is what makes a layer cheap to verify. Default 0.
   */
  readonly l1?: number;
  /**
   * After every epoch, re-estimate the batch-norm statistics from this many training images
   * (PreciseBN, Wu & Johnson 2021) instead of keeping the moving averages: each training batch's
   * moments, computed as in training (same batch size and shards, clean and unaugmented), averaged
   * over the batches. Moving averages lag weights that flip from step to step (binary, ternary,
   * PGD-trained), and a model evaluated with them can score tens of points under what it learned.
   * Never changes the parameters, only the statistics evaluated and exported. Default 0 (off).
   */
  readonly preciseBn?: number;
  /**
   * EEV's cardinality bound decay (see TrainableModel.cardinalityBoundPenalty): coeff × Σ over the
   * threshold units of max(0, b − bound) joins every step's loss, b a unit's cardinality bound
   * (EEV's SAT solver decides low bounds faster; EEV used coeff 1e-5 to 5e-4, bound 5). Default none.
   */
  readonly cardinalityBoundDecay?: CardinalityBoundDecay | null;
}

/**
 * Defaults: the paper's Adam 1e-3, batch 128, 15 epochs — plus, because the embedded set has
 * 8,000 training images rather than 60,000, a cosine learning-rate decay and ±2-pixel random
 * translations, which curb the binary models' overfitting (see bench/RESULTS.md). The paper's
 * exact recipe is `lrSchedule: 'constant', augmentShift: 0`.
 */
export const TRAIN_DEFAULTS = { epochs: 15, batchSize: 128, learningRate: 1e-3, seed: 1, bnMomentum: 0.99, shards: 2, lrSchedule: 'cosine', augmentShift: 2 } as const;

/** Pools per-shard batch moments into whole-batch mean and variance. */
function poolMoments(layout: FlatLayout, results: ReadonlyArray<Pick<StepResult, 'n' | 'moments'>>): Float32Array {
  const out = new Float32Array(layout.momentsSize);
  const total = results.reduce((a, r) => a + r.n, 0);
  for (const b of layout.bnLayers) {
    for (let c = 0; c < b.channels; c++) {
      let mean = 0;
      let second = 0;
      for (const r of results) {
        const m = r.moments[b.offset + c]!;
        const v = r.moments[b.offset + b.channels + c]!;
        mean += (r.n / total) * m;
        second += (r.n / total) * (v + m * m);
      }
      out[b.offset + c] = mean;
      out[b.offset + b.channels + c] = Math.max(0, second - mean * mean);
    }
  }
  return out;
}

/** What a shard crafts its adversarial batch with, `epochs` (fractional) epochs into adversarial training. */
function shardAttack(adv: AdversarialTraining, epochs: number): NonNullable<StepRequest['adversarial']> {
  const { eps, step } = rampedAttack(adv, epochs);
  const weight = adv.weight ?? DEFAULT_ADV_WEIGHT;
  return adv.kind === 'fgsm' ? { eps, step: eps, steps: 1, randomStart: false, weight } : { eps, step, steps: adv.steps, weight };
}

/** ε and step after `epochs` (fractional) epochs of adversarial training, along the ramp. */
export function rampedAttack(adv: AdversarialTraining, epochs: number): { eps: number; step: number } {
  const ramp = adv.rampEpochs ?? 0;
  const f = ramp > 0 ? Math.min(1, Math.max(0, epochs) / ramp) : 1;
  return { eps: adv.eps * f, step: adv.step * f };
}

/**
 * What a checkpoint records of the run `opts` describe, defaults filled in. `backend` becomes
 * known once the first batch ran; a resumed run keeps the command that started it.
 */
export function trainingRecord(opts: TrainOptions, backend = 'unknown'): TrainingRecord {
  const epochs = opts.epochs ?? TRAIN_DEFAULTS.epochs;
  const seed = opts.seed ?? TRAIN_DEFAULTS.seed;
  const adv = opts.adversarial ?? null;
  const n = Math.min(opts.limit ?? opts.data.train.n, opts.data.train.n);
  const init = opts.resume ? opts.resume.training.init : opts.initialFrom;
  return {
    command: opts.resume?.training.command ?? opts.command ?? `bnn-edge train --model ${opts.graph.name} --epochs ${epochs} --seed ${seed}`,
    seed,
    epochs,
    batchSize: opts.batchSize ?? TRAIN_DEFAULTS.batchSize,
    learningRate: opts.learningRate ?? TRAIN_DEFAULTS.learningRate,
    lrSchedule: opts.lrSchedule ?? TRAIN_DEFAULTS.lrSchedule,
    augmentShift: opts.augmentShift ?? TRAIN_DEFAULTS.augmentShift,
    ...(opts.weightClip ? { weightClip: true } : {}),
    ...(opts.l1 ? { l1: opts.l1 } : {}),
    ...(opts.preciseBn ? { preciseBn: Math.min(opts.preciseBn, n) } : {}),
    ...(opts.cardinalityBoundDecay ? { cardinalityBoundDecay: opts.cardinalityBoundDecay } : {}),
    data: opts.data.source,
    trainImages: n,
    trainCrc32: trainDataCrc32(opts.data.train, n),
    adversarial: adv ? { ...adv, kind: adv.kind ?? 'pgd', ...(adv.kind === 'fgsm' ? { step: adv.eps, steps: 1 } : {}), weight: adv.weight ?? DEFAULT_ADV_WEIGHT } : null,
    shards: opts.shards ?? TRAIN_DEFAULTS.shards,
    bnMomentum: opts.bnMomentum ?? TRAIN_DEFAULTS.bnMomentum,
    backend,
    ...(init ? { init } : {}),
  };
}

/** CRC-32 of the first `n` images of a data set and their labels (see TrainingRecord.trainCrc32). */
export function trainDataCrc32(d: Dataset, n: number): number {
  const px = imageSize(d);
  const images = new Uint8Array(d.images.buffer, d.images.byteOffset, n * px * Float32Array.BYTES_PER_ELEMENT);
  return crc32(d.labels, 0, n, crc32(images));
}

/** The settings that decide a run's result: its record but for `command` and `backend`, absent fields at their defaults. */
function runSettings(t: TrainingRecord): Record<string, string> {
  const { command: _command, backend: _backend, adversarial: a, trainCrc32, ...settings } = t;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries({ shards: TRAIN_DEFAULTS.shards, bnMomentum: TRAIN_DEFAULTS.bnMomentum, weightClip: false, l1: 0, preciseBn: 0, cardinalityBoundDecay: null, ...settings })) out[key] = JSON.stringify(value);
  if (trainCrc32 !== undefined) out['trainCrc32'] = typeof trainCrc32 === 'number' ? `0x${trainCrc32.toString(16).padStart(8, '0')}` : JSON.stringify(trainCrc32);
  out['adversarial'] = a ? `${a.kind.toUpperCase()} ε ${a.eps}, ${a.steps} steps of ${a.step}, after ${a.cleanEpochs} clean epochs, weight ${a.weight ?? DEFAULT_ADV_WEIGHT}, ramp ${a.rampEpochs ?? 0}` : 'none';
  return out;
}

/** A setting that decides a run's result, with its values in two runs' records. */
interface SettingDifference {
  readonly setting: keyof TrainingRecord;
  readonly was: string;
  readonly is: string;
}

/** Where run `is` differs from run `was` in a setting that decides the result (so a model trained as `was` is not the model `is` would train). */
function differingSettings(was: TrainingRecord, is: TrainingRecord): SettingDifference[] {
  const a = runSettings(was);
  const b = runSettings(is);
  // The CRC tells data apart only under the same name and count (otherwise those differ already);
  // an older record has none, and its data is then known by name and size only.
  if (a['trainCrc32'] === undefined || b['trainCrc32'] === undefined || a['data'] !== b['data'] || a['trainImages'] !== b['trainImages']) delete a['trainCrc32'], delete b['trainCrc32'];
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => a[key] !== b[key]).map((key) => ({ setting: key as keyof TrainingRecord, was: String(a[key]), is: String(b[key]) }));
}

/** `differingSettings` as text, each "setting is-value (label: was-value)". */
export function settingsDiff(was: TrainingRecord, is: TrainingRecord, label = 'the run'): string[] {
  return differingSettings(was, is).map((d) => differenceText(d, label));
}

function differenceText(d: SettingDifference, label: string): string {
  return `${d.setting} ${d.is} (${label}: ${d.was})`;
}

/** A checkpoint cannot be resumed into the run asked for (another run, a finished one, no or damaged state). */
export class ResumeError extends Error {
  override name = 'ResumeError';
  constructor(
    message: string,
    /** The record fields in which the run asked for differs from the checkpoint's (empty if that was not the reason). */
    readonly settings: ReadonlyArray<keyof TrainingRecord> = [],
  ) {
    super(message);
  }
}

/** Why `resume` cannot continue into a run with training record `now`; null if it can. */
function resumeMismatch(resume: Checkpoint, graph: ModelGraph, now: TrainingRecord, shape: { params: number; batchesPerEpoch: number }): ResumeError | null {
  const state = resume.resume;
  const done = Array.isArray(resume.history) ? resume.history.length : NaN;
  const refuse = (why: string, settings?: ReadonlyArray<keyof TrainingRecord>) => new ResumeError(`cannot resume: ${why}`, settings);
  if (!state) return refuse(`the checkpoint holds no resume state: it ${done >= resume.training.epochs ? 'finished its run' : 'was saved by a version that did not keep optimizer state (--init DIR continues from its parameters, though not exactly)'}`);
  if (!(done >= 1)) return refuse('its epoch history is not a non-empty list');
  if (done >= resume.training.epochs) return refuse(`the run already finished all ${resume.training.epochs} epochs`);
  if (!sameGraph(resume.graph, graph)) return refuse(`the checkpoint's model (${resume.graph.name}) is not the model of this run (${graph.name})`);
  // Settings before state: a run with other settings (batch size, image count) would misread a sound state as damaged.
  // PreciseBN may change on resume: it never touches the parameters, so the run continues the same.
  const diffs = differingSettings(resume.training, now).filter((d) => d.setting !== 'preciseBn');
  if (diffs.length) return refuse(`these settings differ from the checkpoint's run (${resume.training.command}): ${diffs.map((d) => differenceText(d, 'the run')).join('; ')}`, diffs.map((d) => d.setting));
  // The state itself: consistent with the run, so that continuing can neither fail part-way nor go silently wrong.
  if (state.steps !== done * shape.batchesPerEpoch) return refuse(`resume state: ${state.steps} optimizer steps recorded, but ${done} epochs of ${shape.batchesPerEpoch} batches were run`);
  if (state.adamM.length !== shape.params || state.adamV.length !== shape.params) return refuse(`resume state: ${state.adamM.length} and ${state.adamV.length} optimizer moments, the model has ${shape.params} parameters`);
  if (!isGeneratorState(state.rng)) return refuse(`resume state: the generator state ${JSON.stringify(state.rng)} is not four 32-bit words`);
  const order = orderProblem(state.order, now.trainImages);
  return order ? refuse(order) : null;
}

/** Whether a saved batch order is a permutation of 0..n-1 (a damaged one must not index past the data). */
function orderProblem(order: Int32Array, n: number): string | null {
  if (order.length !== n) return `resume state: batch order has ${order.length} entries, the run trains on ${n} images`;
  const seen = new Uint8Array(n);
  for (const i of order) {
    if (!(i >= 0 && i < n) || seen[i]) return `resume state: batch order is not a permutation of the ${n} training images (entry ${i})`;
    seen[i] = 1;
  }
  return null;
}

/** Copies an H×W×C image shifted by (dx, dy) pixels, zero-filled. */
export function translate(src: Float32Array, dst: Float32Array, h: number, w: number, c: number, dx: number, dy: number): void {
  dst.fill(0);
  const row = w * c;
  for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
    const from = (y - dy) * row + (Math.max(0, dx) - dx) * c;
    const to = y * row + Math.max(0, dx) * c;
    const len = (Math.min(w, w + dx) - Math.max(0, dx)) * c;
    if (len > 0) dst.set(src.subarray(from, from + len), to);
  }
}

export async function train(opts: TrainOptions): Promise<Checkpoint> {
  // The run's settings with their defaults, read from what its checkpoint will record.
  const runRecord = trainingRecord(opts);
  const { epochs, batchSize, learningRate: lr, seed, augmentShift: shift, lrSchedule, trainImages: n, shards = TRAIN_DEFAULTS.shards, bnMomentum: momentum = TRAIN_DEFAULTS.bnMomentum } = runRecord;
  const adv = opts.adversarial ?? null;
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < shards) throw new RangeError(`batch size must be an integer ≥ ${shards} (the shard count), got ${batchSize}`);
  if (adv && adv.weight !== undefined && !(adv.weight > 0 && adv.weight <= 1)) throw new RangeError(`adversarial loss weight must be in (0, 1], got ${adv.weight}`);
  const cbd = runRecord.cardinalityBoundDecay;
  if (cbd && !(cbd.coeff >= 0 && Number.isFinite(cbd.coeff) && Number.isFinite(cbd.bound))) throw new RangeError(`cardinality bound decay needs a finite coefficient ≥ 0 and a finite bound, got ${cbd.coeff} and ${cbd.bound}`);
  if (adv && !(Number.isInteger(adv.cleanEpochs) && adv.cleanEpochs >= 0 && adv.cleanEpochs < epochs))
    throw new RangeError(`adversarial training after ${adv.cleanEpochs} clean epochs needs more than ${adv.cleanEpochs} epochs in all (got ${epochs}): no epoch would be adversarial`);
  if (adv && (adv.rampEpochs ?? 0) > epochs - adv.cleanEpochs)
    throw new RangeError(`the ε ramp (${adv.rampEpochs} epochs) must end within the ${epochs - adv.cleanEpochs} adversarial epochs, or the model never trains at ε = ${adv.eps}`);
  const graph = opts.graph;
  const layout = flatLayout(graph);
  const { train: trainSet, test: testSet } = opts.data;
  const px = inputSize(graph);
  const [gh, gw, gc] = graph.input;
  for (const d of [trainSet, testSet]) {
    if (d.height !== gh || d.width !== gw || d.channels !== gc) throw new RangeError(`model ${graph.name} takes ${gh}×${gw}×${gc} images, the data (${d.name}) has ${d.height}×${d.width}×${d.channels}`);
    if (d.classes > graph.classes) throw new RangeError(`model ${graph.name} has ${graph.classes} classes, the data (${d.name}) has ${d.classes}`);
  }

  if (opts.resume && opts.initial) throw new RangeError('train: give either initial parameters or a checkpoint to resume, not both');
  const workers = opts.workers ?? defaultWorkers(shards);
  const record = (backend: string): TrainingRecord => ({ ...runRecord, backend: `${backend}, ${workers || 'no'} worker thread${workers === 1 ? '' : 's'}` });
  const resumed = opts.resume ?? null;
  const batches = Math.ceil(n / batchSize);
  if (resumed) {
    const mismatch = resumeMismatch(resumed, graph, record('unknown'), { params: layout.size, batchesPerEpoch: batches });
    if (mismatch) throw mismatch;
  }

  const rng = resumed ? Rng.fromState(resumed.resume!.rng) : new Rng(seed);
  const values: ParamValues = new Map(resumed?.params ?? opts.initial ?? initParams(graph, rng.seed()));
  const params = flattenTrainable(layout, values);
  const moving = new Float32Array(layout.momentsSize);
  for (const b of layout.bnLayers) {
    moving.set(values.get(`${b.layer}/moving_mean`)!, b.offset);
    moving.set(values.get(`${b.layer}/moving_variance`)!, b.offset + b.channels);
  }
  const adam = new Adam(layout.size, lr);
  // Latent binary kernels, clipped after every step with --weight-clip.
  const binaryKernels = new Set(graph.layers.filter((l) => (l.kind === 'quantConv2d' || l.kind === 'quantDense') && l.kernelQuantizer).map((l) => `${l.name}/kernel`));
  const clipped = runRecord.weightClip ? layout.params.filter((p) => binaryKernels.has(p.name)) : [];
  // Ternary kernels, pulled toward 0 after every step with l1 > 0.
  const ternaryKernels = new Set(graph.layers.filter((l) => (l.kind === 'quantConv2d' || l.kind === 'quantDense') && l.kernelQuantizer === 'ste_tern').map((l) => `${l.name}/kernel`));
  const shrunk = runRecord.l1 ? layout.params.filter((p) => ternaryKernels.has(p.name)) : [];
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const history: EpochRecord[] = [...(resumed?.history ?? [])];
  if (resumed) {
    const state = resumed.resume!;
    order.set(state.order);
    adam.restore(state.adamM, state.adamV, state.steps);
  }
  let backend = 'unknown';
  const runner: ShardRunner = await createRunner({ graph }, workers);

  const evaluate = async (): Promise<number> => {
    const per = Math.ceil(testSet.n / shards);
    const reqs = [];
    for (let s = 0; s < shards; s++) {
      const lo = Math.min(s * per, testSet.n);
      const hi = Math.min(lo + per, testSet.n);
      reqs.push({ params, moving, images: testSet.images.slice(lo * px, hi * px), sampleSeed: seed + 7919 * s });
    }
    const preds = await runner.predict(reqs);
    let ok = 0;
    let i = 0;
    for (const p of preds) for (const label of p) ok += label === testSet.labels[i++] ? 1 : 0;
    return ok / testSet.n;
  };

  /** PreciseBN (see TrainOptions.preciseBn): the statistics of the model as it stands, from the first `count` images of this epoch's order. */
  const preciseMoments = async (count: number): Promise<Float32Array> => {
    const reqs: MomentsRequest[] = [];
    const batchOf: { n: number; shards: number }[] = [];
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start);
      const per = Math.ceil(size / shards);
      let parts = 0;
      for (let s = 0; s < shards; s++) {
        const lo = Math.min(start + s * per, start + size);
        const hi = Math.min(lo + per, start + size);
        if (hi <= lo) continue;
        const images = new Float32Array((hi - lo) * px);
        for (let i = lo; i < hi; i++) images.set(trainSet.images.subarray(order[i]! * px, (order[i]! + 1) * px), (i - lo) * px);
        // Seeds from the run's seed, not its generator: drawing from it would change the rest of the run.
        reqs.push({ params, images, sampleSeed: seed + 104729 * reqs.length });
        parts++;
      }
      batchOf.push({ n: size, shards: parts });
    }
    const shardMoments = await runner.moments(reqs);
    const out = new Float64Array(layout.momentsSize);
    let at = 0;
    for (const batch of batchOf) {
      const results = shardMoments.slice(at, at + batch.shards).map((moments, i) => ({ moments, n: reqs[at + i]!.images.length / px }));
      at += batch.shards;
      const pooled = poolMoments(layout, results);
      for (let i = 0; i < out.length; i++) out[i] = out[i]! + (batch.n / count) * pooled[i]!;
    }
    return Float32Array.from(out);
  };

  /** Mid-run, what continuing needs; copies, since training goes on after a snapshot. */
  const trainingState = (): TrainingState => {
    const { m, v } = adam.moments();
    return { steps: adam.steps, rng: rng.state(), adamM: m, adamV: v, order: order.slice() };
  };

  /** The model as it stands: parameters, batch-norm moving averages, the record so far and, mid-run, the state to resume from. */
  const snapshot = (): Checkpoint => {
    const out: ParamValues = new Map(values);
    unflattenTrainable(layout, params, out);
    for (const b of layout.bnLayers) {
      out.set(`${b.layer}/moving_mean`, moving.slice(b.offset, b.offset + b.channels));
      out.set(`${b.layer}/moving_variance`, moving.slice(b.offset + b.channels, b.offset + 2 * b.channels));
    }
    const resume = history.length < epochs ? trainingState() : undefined;
    return { graph, params: out, training: record(backend), history: [...history], testAccuracy: history[history.length - 1]!.testAccuracy, ...(resume ? { resume } : {}) };
  };

  try {
    for (let epoch = history.length + 1; epoch <= epochs; epoch++) {
      rng.shuffle(order);
      const adversarialNow = adv !== null && epoch > adv.cleanEpochs;
      const bar = new Progress({ label: `epoch ${epoch}/${epochs}${adversarialNow ? ` (${adv.kind ?? 'pgd'})` : ''}`, total: batches, stream: opts.progress === false ? null : undefined });
      let lossSum = 0;
      let hits = 0;
      let seen = 0;
      for (let b = 0; b < batches; b++) {
        const start = b * batchSize;
        const size = Math.min(batchSize, n - start);
        const per = Math.ceil(size / shards);
        const reqs = [];
        for (let s = 0; s < shards; s++) {
          const lo = Math.min(start + s * per, start + size);
          const hi = Math.min(lo + per, start + size);
          if (hi <= lo) continue;
          const images = new Float32Array((hi - lo) * px);
          const labels = new Int32Array(hi - lo);
          for (let i = lo; i < hi; i++) {
            const src = order[i]!;
            const image = trainSet.images.subarray(src * px, (src + 1) * px);
            if (shift > 0) translate(image, images.subarray((i - lo) * px, (i - lo + 1) * px), gh, gw, gc, rng.int(2 * shift + 1) - shift, rng.int(2 * shift + 1) - shift);
            else images.set(image, (i - lo) * px);
            labels[i - lo] = trainSet.labels[src]!;
          }
          reqs.push({
            params,
            images,
            labels,
            adversarial: adversarialNow ? shardAttack(adv, epoch - 1 - adv.cleanEpochs + b / batches) : null,
            pgdSeed: rng.seed(),
            sampleSeed: rng.seed(),
            cardinalityBoundDecay: runRecord.cardinalityBoundDecay ?? null,
          });
        }
        if (lrSchedule === 'cosine') adam.learningRate = 0.5 * lr * (1 + Math.cos((Math.PI * ((epoch - 1) * batches + b)) / (epochs * batches)));
        const results = await runner.step(reqs);
        backend = results[0]!.backend;
        const grads = new Float32Array(layout.size);
        let batchLoss = 0;
        for (const r of results) {
          const w = r.n / size;
          for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! + w * r.grads[i]!;
          batchLoss += r.lossSum;
          hits += r.hits;
        }
        if (!Number.isFinite(batchLoss)) throw new Error(`training diverged: loss is ${batchLoss / size} at epoch ${epoch}, batch ${b + 1}`);
        adam.step(params, grads);
        for (const r of clipped) for (let i = r.offset; i < r.offset + r.size; i++) params[i] = Math.min(1, Math.max(-1, params[i]!));
        const shrink = adam.learningRate * (runRecord.l1 ?? 0);
        for (const r of shrunk) for (let i = r.offset; i < r.offset + r.size; i++) params[i] = Math.sign(params[i]!) * Math.max(0, Math.abs(params[i]!) - shrink);
        const pooled = poolMoments(layout, results);
        // Early in training the averages warm up faster, so short runs and first epochs are evaluated
        // with sensible statistics: TensorFlow's ExponentialMovingAverage caps the decay at
        // (1 + n) / (10 + n) with n updates before this one, here adam.steps - 1.
        const decay = Math.min(momentum, adam.steps / (9 + adam.steps));
        for (let i = 0; i < moving.length; i++) moving[i] = decay * moving[i]! + (1 - decay) * pooled[i]!;
        lossSum += batchLoss;
        seen += size;
        bar.update(b + 1, `loss ${(lossSum / seen).toFixed(4)} acc ${((100 * hits) / seen).toFixed(2)}%`);
      }
      const seconds = bar.elapsedSeconds();
      if (runRecord.preciseBn) moving.set(await preciseMoments(runRecord.preciseBn));
      const testAccuracy = await evaluate();
      const record: EpochRecord = { epoch, loss: lossSum / seen, trainAccuracy: hits / seen, testAccuracy, seconds };
      bar.finish(`loss ${record.loss.toFixed(4)} acc ${(100 * record.trainAccuracy).toFixed(2)}% test ${(100 * testAccuracy).toFixed(2)}% (${seconds.toFixed(1)} s/epoch)`);
      history.push(record);
      opts.onEpoch?.(record, snapshot);
    }
  } finally {
    await runner.close();
  }
  return snapshot();
}
