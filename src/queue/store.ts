/**
 * What the jobs produce, kept in Redis beside the queue (small things only: an evaluation's report
 * is a few kilobytes, a model's record under one). Checkpoints and .bnn files are not here: they
 * are tens of megabytes at K = 256 and written every epoch, so they go to the shared directory
 * (--dir) where every worker resumes a stopped training from, and their SHA-256 comes here so an
 * evaluation can check it reads the model its training job wrote.
 */
import type { Queue } from 'bullmq';
import type { TrainingRecord } from '../train/checkpoint.js';
import type { ReproResult } from '../eval/repro_plan.js';
import { STORE_KEYS } from './connection.js';

/** A trained model, as its training job left it: the manifest-like record of its .bnn. */
export interface ModelArtifact {
  /** e.g. `B64-s1`. */
  readonly name: string;
  /** The .bnn, relative to the shared directory (`B64-s1/model.bnn`), beside the checkpoint. */
  readonly bnn: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly epochs: number;
  readonly testAccuracy: number;
  readonly training: TrainingRecord;
}

/** What a finished job returns to BullMQ: how long its work took (the ETA's measure), or that it was already done. */
export interface JobOutcome {
  readonly seconds: number;
  readonly cached: boolean;
  readonly worker: string;
}

/** One `repro --queue` run as `--status` reports it. */
export interface RunRecord {
  readonly id: string;
  readonly command: string;
  readonly out: string;
  /** ms since the epoch, of the first time this run was enqueued and of the last. */
  readonly created: number;
  readonly updated: number;
  readonly train: readonly string[];
  readonly evals: readonly { readonly id: string; readonly task: string; readonly modelJob: string }[];
}

export class Store {
  constructor(private readonly queue: Queue) {}

  async results(ids: readonly string[]): Promise<Map<string, ReproResult>> {
    const out = new Map<string, ReproResult>();
    if (!ids.length) return out;
    const client = await this.queue.client;
    const values = await client.hmget(STORE_KEYS.results, ...ids);
    values.forEach((v, i) => v !== null && out.set(ids[i]!, JSON.parse(v) as ReproResult));
    return out;
  }

  async putResult(id: string, result: ReproResult): Promise<void> {
    await (await this.queue.client).hset(STORE_KEYS.results, { [id]: JSON.stringify(result) });
  }

  async models(ids: readonly string[]): Promise<Map<string, ModelArtifact>> {
    const out = new Map<string, ModelArtifact>();
    if (!ids.length) return out;
    const values = await (await this.queue.client).hmget(STORE_KEYS.models, ...ids);
    values.forEach((v, i) => v !== null && out.set(ids[i]!, JSON.parse(v) as ModelArtifact));
    return out;
  }

  async putModel(id: string, artifact: ModelArtifact): Promise<void> {
    await (await this.queue.client).hset(STORE_KEYS.models, { [id]: JSON.stringify(artifact) });
  }

  /** Records a run; one enqueued again keeps its first creation time. */
  async putRun(run: RunRecord): Promise<RunRecord> {
    const client = await this.queue.client;
    const was = await client.hget(STORE_KEYS.runs, run.id);
    const record = was ? { ...run, created: (JSON.parse(was) as RunRecord).created } : run;
    await client.hset(STORE_KEYS.runs, { [run.id]: JSON.stringify(record) });
    return record;
  }

  async runs(): Promise<RunRecord[]> {
    const all = await (await this.queue.client).hgetall(STORE_KEYS.runs);
    return Object.values(all)
      .map((v) => JSON.parse(v) as RunRecord)
      .sort((a, b) => a.updated - b.updated);
  }
}
