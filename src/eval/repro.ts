/**
 * `bnn-edge repro`: reproduces the paper's tables on bnn-edge's shipped pipeline. It trains the
 * models it needs (cached as checkpoints, so an interrupted run resumes), evaluates every attack
 * on the packed runtime (results cached in results.json), and renders docs/REPRODUCTION.md with
 * the paper's figures beside ours, SVG plots, and the same models under stronger attacks.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSplit } from '../data/dataset.js';
import { modelFromParams, type BnnModel } from '../format/model.js';
import type { Arch } from '../model/spec.js';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { SUBSTITUTE_ROUNDS } from '../attacks/substitute.js';
import { train, type AdversarialTraining } from '../train/train.js';
import { blackboxEval, hsjEval, whiteboxEval, type BlackboxReport, type HsjReport, type WhiteboxReport } from './attacks.js';
import { renderReproduction } from './repro_doc.js';

export interface ReproConfig {
  readonly widths: readonly number[];
  /** Seeds per clean model (the paper: ≥ 3). */
  readonly seeds: number;
  readonly epochs: number;
  /** PGD adversarial training of the "+" models. */
  readonly adv: AdversarialTraining & { readonly seeds: number; readonly epochs: number };
  /** Images attacked by FGSM / PGD. */
  readonly attackImages: number;
  readonly cwImages: number;
  readonly blackboxImages: number;
  readonly hsjImages: number;
  readonly hsjQueries: number;
  /** Where checkpoints and results.json live. */
  readonly dir: string;
  /** Output markdown path; SVGs are written beside it. */
  readonly out: string;
  readonly log: (msg: string) => void;
  /** Progress inside one evaluation (`task` is its cache id): images, or substitute rounds. */
  readonly onProgress?: (task: string, done: number, total: number) => void;
}

export interface ModelKey {
  readonly arch: Arch;
  readonly k: number;
  readonly adv: boolean;
  readonly seed: number;
}

export function keyName(m: ModelKey): string {
  return `${m.arch}${m.adv ? '+' : ''}${m.k}-s${m.seed}`;
}

export type ReproResults = Record<string, WhiteboxReport | BlackboxReport | HsjReport>;

export class Repro {
  readonly results: ReproResults;
  private readonly resultsPath: string;
  private readonly models = new Map<string, BnnModel>();

  constructor(
    readonly config: ReproConfig,
    readonly data: DataSplit,
  ) {
    mkdirSync(config.dir, { recursive: true });
    this.resultsPath = join(config.dir, 'results.json');
    this.results = existsSync(this.resultsPath) ? (JSON.parse(readFileSync(this.resultsPath, 'utf8')) as ReproResults) : {};
  }

  /** A model, trained with the paper's recipe unless its checkpoint exists. */
  async model(m: ModelKey): Promise<BnnModel> {
    const name = keyName(m);
    const cached = this.models.get(name);
    if (cached) return cached;
    const dir = join(this.config.dir, name);
    let params;
    let spec;
    if (existsSync(join(dir, 'checkpoint.json'))) {
      ({ params, spec } = loadCheckpoint(dir));
    } else {
      this.config.log(`training ${name}`);
      const ckpt = await train({
        arch: m.arch,
        k: m.k,
        data: this.data,
        epochs: m.adv ? this.config.adv.epochs : this.config.epochs,
        seed: m.seed,
        lrSchedule: 'constant',
        augmentShift: 0,
        adversarial: m.adv ? this.config.adv : null,
        command: `bnn-edge train --arch ${m.arch} --k ${m.k} --seed ${m.seed} --epochs ${m.adv ? this.config.adv.epochs : this.config.epochs} --lr-schedule constant --augment 0${m.adv ? ` --adv pgd --adv-eps ${this.config.adv.eps} --adv-step ${this.config.adv.step} --adv-steps ${this.config.adv.steps} --adv-clean-epochs ${this.config.adv.cleanEpochs}` : ''}`,
      });
      saveCheckpoint(dir, ckpt);
      ({ params, spec } = ckpt);
    }
    const model = modelFromParams(spec, params);
    this.models.set(name, model);
    return model;
  }

  seedsFor(adv: boolean): number[] {
    return Array.from({ length: adv ? this.config.adv.seeds : this.config.seeds }, (_, i) => i + 1);
  }

  /** Every evaluation of the run, in order: its cache id and how to compute it. */
  plan(): ReproTask[] {
    const c = this.config;
    const test = this.data.test;
    const tasks: ReproTask[] = [];
    const add = (id: string, m: ModelKey, fn: (model: BnnModel) => Promise<ReproResults[string]>) => {
      if (!tasks.some((t) => t.id === id)) tasks.push({ id, model: m, fn });
    };
    const progress = (id: string) => (done: number, total: number) => c.onProgress?.(id, done, total);
    const fgsm = (m: ModelKey) => add(`fgsm:${keyName(m)}`, m, (model) => whiteboxEval(keyName(m), model, test, { attack: 'fgsm', eps: [0.1, 0.2, 0.3], n: c.attackImages, onProgress: progress(`fgsm:${keyName(m)}`) }));
    const cwPaper = (m: ModelKey) => add(`cw-paper:${keyName(m)}`, m, (model) => whiteboxEval(keyName(m), model, test, { attack: 'cw-paper', n: c.cwImages, onProgress: progress(`cw-paper:${keyName(m)}`) }));
    const blackbox = (m: ModelKey) =>
      add(`blackbox:${keyName(m)}`, m, (model) => blackboxEval(keyName(m), model, test, { n: c.blackboxImages, seed: 1, onRound: (r) => progress(`blackbox:${keyName(m)}`)(r.round, SUBSTITUTE_ROUNDS) }));
    // Table 1: FGSM on A, B, C; table 2: the PGD-trained A+ and C+.
    for (const k of c.widths) {
      for (const arch of ['A', 'B', 'C'] as const) for (const seed of this.seedsFor(false)) fgsm({ arch, k, adv: false, seed });
      for (const arch of ['A', 'C'] as const) for (const seed of this.seedsFor(true)) fgsm({ arch, k, adv: true, seed });
    }
    // Table 3: Carlini–Wagner (the paper's setting) on B, B+ and S.
    for (const k of c.widths) for (const [arch, adv] of [['B', false], ['B', true], ['S', false]] as const) cwPaper({ arch, k, adv, seed: 1 });
    // Table 4: black-box substitute attack on A, A+, B, B+.
    for (const k of c.widths) for (const [arch, adv] of [['A', false], ['A', true], ['B', false], ['B', true]] as const) blackbox({ arch, k, adv, seed: 1 });
    // Stronger attacks on the smallest width: PGD (BPDA through sign), temperature scaling,
    // EOT for S, and the label-only HopSkipJump.
    const k = c.widths[0]!;
    const strong: ModelKey[] = (['A', 'B', 'C', 'S'] as const).map((arch) => ({ arch, k, adv: false, seed: 1 }));
    strong.push({ arch: 'A', k, adv: true, seed: 1 }, { arch: 'C', k, adv: true, seed: 1 });
    const pgd = { attack: 'pgd', eps: [0.1, 0.3], n: c.attackImages, steps: 40, step: 0.01, seed: 1 } as const;
    for (const m of strong) {
      const name = keyName(m);
      fgsm(m);
      add(`pgd:${name}`, m, (model) => whiteboxEval(name, model, test, { ...pgd, onProgress: progress(`pgd:${name}`) }));
      add(`pgd-t100:${name}`, m, (model) => whiteboxEval(name, model, test, { ...pgd, temperature: 100, onProgress: progress(`pgd-t100:${name}`) }));
      if (m.arch === 'S') add(`eot-pgd:${name}`, m, (model) => whiteboxEval(name, model, test, { ...pgd, attack: 'eot-pgd', n: Math.min(c.attackImages, 500), eot: 10, onProgress: progress(`eot-pgd:${name}`) }));
      blackbox(m);
      add(`hsj:${name}`, m, (model) => hsjEval(name, model, test, { n: c.hsjImages, budgets: [1000, c.hsjQueries], seed: 1, onImage: (i, n) => progress(`hsj:${name}`)(i + 1, n) }));
      cwPaper(m);
    }
    return tasks;
  }

  /**
   * The evaluations not yet cached, in the order `run` takes them, each with its place in the
   * plan. Those of models already trained go first, then those of models cheap to train, then the
   * adversarially trained ones (an hour each on 2 cores), one model's evaluations together: a run
   * stopped early has then filled as many table cells as it could.
   */
  pending(): { index: number; task: ReproTask }[] {
    const tasks = this.plan();
    const first = new Map<string, number>();
    tasks.forEach((t, i) => first.has(keyName(t.model)) || first.set(keyName(t.model), i));
    const trained = (m: ModelKey) => this.models.has(keyName(m)) || existsSync(join(this.config.dir, keyName(m), 'checkpoint.json'));
    const cost = (m: ModelKey) => (trained(m) ? 0 : m.adv ? 2 : 1);
    return tasks
      .map((task, index) => ({ index, task, cost: cost(task.model), group: first.get(keyName(task.model))! }))
      .filter((x) => !this.results[x.task.id])
      .sort((a, b) => a.cost - b.cost || (a.cost ? a.group - b.group : 0) || a.index - b.index)
      .map(({ index, task }) => ({ index, task }));
  }

  /**
   * Runs the tasks not yet cached (at most `limit` of them), re-rendering the document after each
   * so that a stopped run leaves a current one.
   */
  async run(limit = Infinity): Promise<void> {
    const total = this.plan().length;
    for (const { index, task } of this.pending().slice(0, limit)) {
      this.config.log(`evaluation ${index + 1}/${total}: ${task.id}`);
      this.results[task.id] = await task.fn(await this.model(task.model));
      writeFileSync(this.resultsPath, JSON.stringify(this.results, null, 1) + '\n');
      renderReproduction(this);
    }
    renderReproduction(this);
  }
}

export interface ReproTask {
  /** Cache key in results.json, e.g. `fgsm:A64-s1`. */
  readonly id: string;
  readonly model: ModelKey;
  readonly fn: (model: BnnModel) => Promise<ReproResults[string]>;
}
