/**
 * The jobs of `bnn-edge repro --queue`: one per model to train and one per evaluation, each named
 * by a hash of every setting its result depends on. Adding a job under a name the queue already
 * holds does nothing, and a result is stored under its job's name, so re-running repro never
 * repeats finished work, and two runs with different settings never share a result.
 */
import { createHash } from 'node:crypto';
import type { DataSplit } from '../data/dataset.js';
import { graphToJson } from '../model/graph.js';
import { trainDataCrc32, trainingRecord } from '../train/train.js';
import { keyName, type ModelKey, type PlanConfig, type ReproPlan, type ReproTask } from '../eval/repro_plan.js';

/** The data a job was planned on: a worker whose copy differs refuses the job rather than mix results. */
export interface DataIdentity {
  /** `DataSplit.source`, from which a worker loads its copy (`dataOptionsOf`). */
  readonly source: string;
  readonly trainImages: number;
  readonly trainCrc32: number;
  readonly testImages: number;
  readonly testCrc32: number;
}

export function dataIdentity(d: DataSplit): DataIdentity {
  return { source: d.source, trainImages: d.train.n, trainCrc32: trainDataCrc32(d.train, d.train.n), testImages: d.test.n, testCrc32: trainDataCrc32(d.test, d.test.n) };
}

/** The plan's settings as they travel in a job (the callbacks and the directory stay behind). */
export type JobConfig = Omit<PlanConfig, 'log' | 'onProgress' | 'dir'>;

export function jobConfig(c: PlanConfig): JobConfig {
  const { widths, advWidths, seeds, epochs, trainImages, adv, attackImages, cwImages, blackboxImages, hsjImages, hsjQueries, alsoTest } = c;
  return { widths: [...widths], ...(advWidths ? { advWidths: [...advWidths] } : {}), seeds, epochs, ...(trainImages !== undefined ? { trainImages } : {}), adv: { ...adv }, attackImages, cwImages, blackboxImages, hsjImages, hsjQueries, ...(alsoTest !== undefined ? { alsoTest } : {}) };
}

interface JobBase {
  readonly model: ModelKey;
  readonly config: JobConfig;
  readonly data: DataIdentity;
  /**
   * The checkpoint cache as the coordinator named it (absolute). A worker whose mount of the
   * shared directory is elsewhere says so with its own --dir.
   */
  readonly dir: string;
}

export interface TrainJobData extends JobBase {
  readonly kind: 'train';
  /** The evaluations waiting for this model: the worker that trains it queues them. */
  readonly evals: readonly EvalJob[];
}

export interface EvalJobData extends JobBase {
  readonly kind: 'eval';
  /** The evaluation's id in the plan and the results file, e.g. `fgsm:A64-s1`. */
  readonly task: string;
  /** The job that trains its model. */
  readonly modelJob: string;
}

export type JobData = TrainJobData | EvalJobData;

export interface EvalJob {
  readonly id: string;
  readonly data: EvalJobData;
}

/** JSON with object keys sorted, so that equal settings hash equally whatever their order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** 16 hex digits of the SHA-256 of the canonical JSON: 64 bits, ample for a queue's jobs. */
export function settingsHash(v: unknown): string {
  return createHash('sha256').update(canonicalJson(v)).digest('hex').slice(0, 16);
}

/**
 * What a trained model depends on: its graph and its training record less the command line and
 * the backend (the same settings `train --resume` and repro's cache check compare), with the
 * CRC-32 of the training images.
 */
export function trainSettings(plan: ReproPlan, m: ModelKey): unknown {
  const options = plan.trainOptions(m);
  const { command: _command, backend: _backend, ...record } = trainingRecord(options);
  return { kind: 'train', graph: graphToJson(options.graph), record };
}

/** BullMQ ids may not hold ':'; the readable part goes first so a listing of the queue reads well. */
const readable = (s: string) => s.replace(/:/g, '.');

export function trainJobId(plan: ReproPlan, m: ModelKey): string {
  return `train/${keyName(m)}/${settingsHash(trainSettings(plan, m))}`;
}

/**
 * An evaluation depends on its model (named by its training job, whose hash covers how it was
 * trained), its own id, the attack settings and the test images.
 */
export function evalJobId(plan: ReproPlan, task: ReproTask, modelJob: string, data: DataIdentity): string {
  const { trainImages: _images, epochs: _epochs, adv: _adv, ...attack } = plan.settings;
  return `eval/${readable(task.id)}/${settingsHash({ kind: 'eval', task: task.id, modelJob, settings: attack, testCrc32: data.testCrc32 })}`;
}

/** The jobs of a plan's tasks, grouped by model: its training job (waiting for no evaluation yet) and its evaluations. */
export interface ModelJobs {
  readonly train: { readonly id: string; readonly data: TrainJobData };
  readonly evals: EvalJob[];
}

export function planJobs(plan: ReproPlan, tasks: readonly ReproTask[], dir: string): ModelJobs[] {
  const data = dataIdentity(plan.data);
  const config = jobConfig(plan.config);
  const byModel = new Map<string, ModelJobs>();
  for (const task of tasks) {
    const name = keyName(task.model);
    let group = byModel.get(name);
    if (!group) {
      const train = { id: trainJobId(plan, task.model), data: { kind: 'train' as const, model: task.model, config, data, dir, evals: [] } };
      byModel.set(name, (group = { train, evals: [] }));
    }
    const modelJob = group.train.id;
    group.evals.push({ id: evalJobId(plan, task, modelJob, data), data: { kind: 'eval', task: task.id, model: task.model, modelJob, config, data, dir } });
  }
  return [...byModel.values()];
}
