/**
 * The thread a `bnn-edge worker` runs its jobs in, with repro's own code (ReproPlan). Jobs run off
 * the worker's main thread so that the main thread is always free to renew the job's lock in
 * Redis: an attack's tfjs calls hold their thread for seconds at a time, and a lock not renewed
 * would hand a live job to another worker. The thread keeps the data, the plan and the last model
 * loaded between jobs.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { dataOptionsOf, loadData } from '../data/index.js';
import type { DataSplit } from '../data/dataset.js';
import { modelFromParams, type BnnModel } from '../format/model.js';
import { serializeBnn } from '../format/write.js';
import { CachedModelMismatchError, keyName, ReproPlan } from '../eval/repro_plan.js';
import { canonicalJson, dataIdentity, type DataIdentity, type EvalJobData, type JobData, type TrainJobData } from './jobs.js';
import type { ModelArtifact } from './store.js';
import type { ReproResult } from '../eval/repro_plan.js';
import { modelSha256 } from '../eval/repro_identity.js';

export interface ThreadRequest {
  readonly seq: number;
  readonly job: JobData;
  /** This worker's path to the shared directory. */
  readonly dir: string;
  /** Evaluations: the SHA-256 of the .bnn its training job recorded. */
  readonly modelSha256?: string;
}

export type ThreadResult = { readonly kind: 'train'; readonly artifact: ModelArtifact } | { readonly kind: 'eval'; readonly result: ReproResult };

export type ThreadMessage =
  | { readonly seq: number; readonly type: 'log'; readonly msg: string }
  | { readonly seq: number; readonly type: 'progress'; readonly task: string; readonly done: number; readonly total: number }
  | { readonly seq: number; readonly type: 'done'; readonly result: ThreadResult }
  | { readonly seq: number; readonly type: 'error'; readonly message: string; readonly stack: string; readonly unrecoverable: boolean };

const port = parentPort;
let seq = 0;
const post = (m: ThreadMessage) => port?.postMessage(m);
let data: { source: string; split: DataSplit; identity: DataIdentity } | null = null;
let plan: { key: string; plan: ReproPlan } | null = null;
let held: { sha256: string; model: BnnModel } | null = null;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The job's data, as this machine has it; a copy that differs from the coordinator's is refused. */
function dataFor(want: DataIdentity): DataSplit {
  if (data?.source !== want.source) {
    const split = loadData(dataOptionsOf(want.source));
    data = { source: want.source, split, identity: dataIdentity(split) };
  }
  const have = data.identity;
  const diffs = (Object.keys(want) as (keyof DataIdentity)[]).filter((k) => want[k] !== have[k]).map((k) => `${k} ${String(have[k])} (the coordinator's: ${String(want[k])})`);
  if (diffs.length) throw new Error(`this worker's copy of ${want.source} differs from the one the run was planned on: ${diffs.join(', ')}`);
  return data.split;
}

function planFor(job: JobData, dir: string): ReproPlan {
  // The data is part of the plan: a plan kept from a run on other data would train and score on that.
  const key = canonicalJson({ config: job.config, data: job.data, dir });
  if (plan?.key !== key) {
    const log = (msg: string) => post({ seq, type: 'log', msg });
    const onProgress = (task: string, done: number, total: number) => post({ seq, type: 'progress', task, done, total });
    plan = { key, plan: new ReproPlan({ ...job.config, dir, log, onProgress }, dataFor(job.data)) };
  }
  dataFor(job.data);
  return plan.plan;
}

async function trainJob(job: TrainJobData, dir: string): Promise<ThreadResult> {
  const p = planFor(job, dir);
  // From the checkpoint an earlier attempt saved after its last finished epoch, if there is one.
  const ckpt = await p.trainModel(job.model);
  // trainModel left DIR/MODEL/model.bnn; its bytes again (serialization is deterministic) for the record.
  const bytes = serializeBnn(modelFromParams(ckpt.graph, ckpt.params));
  const name = keyName(job.model);
  return {
    kind: 'train',
    artifact: { name, bnn: `${name}/model.bnn`, sha256: sha256(bytes), bytes: bytes.length, epochs: ckpt.history.length, testAccuracy: ckpt.testAccuracy, training: ckpt.training },
  };
}

async function evalJob(job: EvalJobData, dir: string, expected: string | undefined): Promise<ThreadResult> {
  const p = planFor(job, dir);
  const task = p.plan().find((t) => t.id === job.task);
  if (!task) throw new Error(`no evaluation ${job.task} in the plan the job carries`);
  let model = held !== null && held.sha256 === expected ? held.model : null;
  if (!model) {
    const ckpt = p.trainedCheckpoint(job.model);
    model = modelFromParams(ckpt.graph, ckpt.params);
    const found = modelSha256(model);
    if (found !== expected) throw new Error(`${p.modelDir(job.model)}: this checkpoint of ${keyName(job.model)} is not the one its training job recorded (SHA-256 of its .bnn ${found.slice(0, 12)}…, recorded ${expected?.slice(0, 12) ?? 'none'}…): is --dir the shared directory?`);
    held = { sha256: found, model };
  }
  // The model is the one its training job recorded (checked above): its SHA-256 goes with the result.
  return { kind: 'eval', result: { ...(await task.fn(model)), ...(expected !== undefined ? { modelSha256: expected } : {}) } };
}

port?.on('message', (req: ThreadRequest) => {
  seq = req.seq;
  const run = req.job.kind === 'train' ? trainJob(req.job, req.dir) : evalJob(req.job, req.dir, req.modelSha256);
  run.then(
    (result) => post({ seq: req.seq, type: 'done', result }),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      post({ seq: req.seq, type: 'error', message: err.message, stack: err.stack ?? err.message, unrecoverable: err instanceof CachedModelMismatchError });
    },
  );
});
