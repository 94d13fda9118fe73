/**
 * `bnn-edge repro`: reproduces the paper's tables on bnn-edge's shipped pipeline. It trains the
 * models it needs (cached as checkpoints, so an interrupted run resumes), evaluates every attack
 * on the packed runtime (results kept in a .json beside the document), and renders docs/REPRODUCTION.md with
 * the paper's figures beside ours, SVG plots, and the same models under stronger attacks.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSplit } from '../data/dataset.js';
import { modelFromParams, type BnnModel } from '../format/model.js';
import { paperModel, type Arch } from '../model/presets.js';
import { sameGraph } from '../model/graph.js';
import { CorruptCheckpointError, loadCheckpoint, saveCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import { SUBSTITUTE_ROUNDS } from '../attacks/substitute.js';
import { ResumeError, settingsDiff, train, trainingRecord, type AdversarialTraining, type TrainOptions } from '../train/train.js';
import { blackboxEval, hsjEval, whiteboxEval, type BlackboxReport, type HsjReport, type WhiteboxReport } from './attacks.js';
import { renderReproduction } from './repro_doc.js';
import { Claim, withLock } from './repro_share.js';
import { writeAtomic } from '../util/fs.js';
import { formatSeconds } from '../util/progress.js';

export interface ReproConfig {
  readonly widths: readonly number[];
  /** Widths at which the PGD-trained "+" models are trained and attacked (default: all widths). */
  readonly advWidths?: readonly number[];
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
  /** Where the trained checkpoints are cached. */
  readonly dir: string;
  /**
   * Output markdown path; SVGs are written beside it, and the measured results in a .json of the
   * same name — the document's source, kept with it so it can be re-rendered or resumed anywhere.
   */
  readonly out: string;
  readonly log: (msg: string) => void;
  /** Progress inside one evaluation (`task` is its cache id): images, or substitute rounds. */
  readonly onProgress?: (task: string, done: number, total: number) => void;
  /** Models this run may take (key names such as `B256-s2`); all of the plan's when absent. */
  readonly only?: readonly string[];
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

/** The settings every cached result depends on: results made under other settings are not mixed in. */
export interface ReproSettings {
  readonly data: string;
  readonly trainImages: number;
  readonly testImages: number;
  readonly epochs: number;
  readonly adv: { readonly epochs: number; readonly cleanEpochs: number; readonly steps: number; readonly step: number; readonly eps: number };
  readonly attackImages: number;
  readonly cwImages: number;
  readonly blackboxImages: number;
  readonly hsjImages: number;
  readonly hsjQueries: number;
}

interface ResultsFile {
  readonly settings: ReproSettings;
  readonly results: ReproResults;
}

/** The results file at `path`, or null if there is none; an error if it is not one. */
function readResults(path: string): ResultsFile | null {
  if (!existsSync(path)) return null;
  const file = JSON.parse(readFileSync(path, 'utf8')) as Partial<ResultsFile>;
  if (!file.settings || !file.results) throw new Error(`${path} is not a bnn-edge repro results file (no settings/results): give another --out`);
  return file as ResultsFile;
}

/** The results file that goes with an output document: REPRODUCTION.md → REPRODUCTION.json. */
export function resultsPathFor(out: string): string {
  return out.replace(/\.md$/i, '') + '.json';
}

export class Repro {
  readonly results: ReproResults;
  readonly settings: ReproSettings;
  readonly resultsPath: string;
  private readonly models = new Map<string, BnnModel>();
  private readonly claims = new Map<string, Claim>();

  constructor(
    readonly config: ReproConfig,
    readonly data: DataSplit,
  ) {
    mkdirSync(config.dir, { recursive: true });
    const { epochs, cleanEpochs, steps, step, eps } = config.adv;
    this.settings = {
      data: data.source,
      trainImages: data.train.n,
      testImages: data.test.n,
      epochs: config.epochs,
      adv: { epochs, cleanEpochs, steps, step, eps },
      attackImages: config.attackImages,
      cwImages: config.cwImages,
      blackboxImages: config.blackboxImages,
      hsjImages: config.hsjImages,
      hsjQueries: config.hsjQueries,
    };
    this.resultsPath = resultsPathFor(config.out);
    this.results = {};
    const file = readResults(this.resultsPath);
    if (file) {
      const clash = settingsClash(file.settings, this.settings);
      if (clash) throw new Error(`${this.resultsPath} holds results measured with ${clash}: give another --out, or delete it to start over`);
      Object.assign(this.results, file.results);
    }
  }

  /** Whether the results file has every evaluation of the plan. */
  get complete(): boolean {
    return this.plan().every((t) => this.results[t.id]);
  }

  /** A model, trained with the paper's recipe unless its checkpoint exists. */
  async model(m: ModelKey): Promise<BnnModel> {
    const name = keyName(m);
    const cached = this.models.get(name);
    if (cached) return cached;
    const dir = join(this.config.dir, name);
    const epochs = m.adv ? this.config.adv.epochs : this.config.epochs;
    const graph = paperModel(m.arch, m.k);
    const options: TrainOptions = {
      graph,
      data: this.data,
      epochs,
      seed: m.seed,
      lrSchedule: 'constant',
      augmentShift: 0,
      adversarial: m.adv ? this.config.adv : null,
      command: `bnn-edge train --arch ${m.arch} --k ${m.k} --seed ${m.seed} --epochs ${epochs} --lr-schedule constant --augment 0${m.adv ? ` --adv pgd --adv-eps ${this.config.adv.eps} --adv-step ${this.config.adv.step} --adv-steps ${this.config.adv.steps} --adv-clean-epochs ${this.config.adv.cleanEpochs}` : ''}`,
      // Saved after every epoch, so a stopped run loses at most the epoch under way.
      onEpoch: (_, snapshot) => saveCheckpoint(dir, snapshot()),
    };
    let params;
    const cachedCkpt = this.cachedCheckpoint(dir);
    // Training saves after every epoch: a run stopped mid-training leaves a checkpoint with fewer
    // epochs than it was started for, from which training continues (exactly, see train's `resume`).
    const interrupted = cachedCkpt !== null && cachedCkpt.history.length < cachedCkpt.training.epochs;
    if (cachedCkpt) {
      // A model, finished or not, counts only if it is the model this run would train: same
      // architecture, same settings. Another run's is refused, never trained over.
      const diffs = settingsDiff(cachedCkpt.training, trainingRecord(options), 'cached');
      if (!sameGraph(cachedCkpt.graph, graph)) diffs.unshift(`model ${graph.name} (cached: ${cachedCkpt.graph.name})`);
      if (diffs.length) throw new Error(`${dir}: the cached${interrupted ? ', unfinished' : ''} model is not the one this run trains: ${diffs.join('; ')}. Give another --dir`);
    }
    if (cachedCkpt && !interrupted) {
      ({ params } = cachedCkpt);
    } else {
      let ckpt: Checkpoint | null = null;
      if (interrupted) {
        this.config.log(`resuming ${name}: its cached training stopped after ${cachedCkpt.history.length} of ${cachedCkpt.training.epochs} epochs`);
        try {
          ckpt = await train({ ...options, resume: cachedCkpt });
        } catch (e) {
          // Its settings agree (checked above), so only its saved state can be at fault.
          if (!(e instanceof ResumeError)) throw e;
          this.config.log(`training ${name} again from the start: ${e.message}`);
        }
      } else this.config.log(`training ${name}`);
      ckpt ??= await train(options);
      saveCheckpoint(dir, ckpt);
      ({ params } = ckpt);
    }
    const model = modelFromParams(graph, params);
    this.models.set(name, model);
    return model;
  }

  /**
   * The checkpoint cached in `dir` (with its resume state), or null if there is none or its files
   * are damaged (the model is then trained again). Any other failure to read it stops the run:
   * a finished model is never overwritten because, say, its files could not be opened.
   */
  private cachedCheckpoint(dir: string): Checkpoint | null {
    if (!existsSync(join(dir, 'checkpoint.json'))) return null;
    try {
      return loadCheckpoint(dir, { resume: true });
    } catch (e) {
      if (!(e instanceof CorruptCheckpointError)) throw e;
      this.config.log(`ignoring the cached checkpoint: ${e.message}`);
      return null;
    }
  }

  /** Widths of the PGD-trained models. */
  advWidths(): readonly number[] {
    return (this.config.advWidths ?? this.config.widths).filter((k) => this.config.widths.includes(k));
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
    const advWidths = this.advWidths();
    const runs = (k: number, adv: boolean) => !adv || advWidths.includes(k);
    for (const k of c.widths) {
      for (const arch of ['A', 'B', 'C'] as const) for (const seed of this.seedsFor(false)) fgsm({ arch, k, adv: false, seed });
      if (runs(k, true)) for (const arch of ['A', 'C'] as const) for (const seed of this.seedsFor(true)) fgsm({ arch, k, adv: true, seed });
    }
    // Table 3: Carlini–Wagner (the paper's setting) on B, B+ and S.
    for (const k of c.widths) for (const [arch, adv] of [['B', false], ['B', true], ['S', false]] as const) if (runs(k, adv)) cwPaper({ arch, k, adv, seed: 1 });
    // Table 4: black-box substitute attack on A, A+, B, B+.
    for (const k of c.widths) for (const [arch, adv] of [['A', false], ['A', true], ['B', false], ['B', true]] as const) if (runs(k, adv)) blackbox({ arch, k, adv, seed: 1 });
    // Stronger attacks on the smallest width: PGD (BPDA through sign), temperature scaling,
    // EOT for S, and the label-only HopSkipJump.
    const k = c.widths[0]!;
    const strong: ModelKey[] = (['A', 'B', 'C', 'S'] as const).map((arch) => ({ arch, k, adv: false, seed: 1 }));
    if (runs(k, true)) strong.push({ arch: 'A', k, adv: true, seed: 1 }, { arch: 'C', k, adv: true, seed: 1 });
    const pgd = { attack: 'pgd', eps: [0.1, 0.3], n: c.attackImages, steps: 40, step: 0.01, seed: 1 } as const;
    for (const m of strong) {
      const name = keyName(m);
      fgsm(m);
      // The paper's numerics: float32 cross-entropy, which saturates on confident models.
      add(`fgsm-f32:${name}`, m, (model) => whiteboxEval(name, model, test, { attack: 'fgsm', eps: [0.3], n: c.attackImages, loss: 'ce-float32', onProgress: progress(`fgsm-f32:${name}`) }));
      add(`pgd:${name}`, m, (model) => whiteboxEval(name, model, test, { ...pgd, onProgress: progress(`pgd:${name}`) }));
      add(`pgd-t100:${name}`, m, (model) => whiteboxEval(name, model, test, { ...pgd, temperature: 100, onProgress: progress(`pgd-t100:${name}`) }));
      if (m.arch === 'S') add(`eot-pgd:${name}`, m, (model) => whiteboxEval(name, model, test, { ...pgd, attack: 'eot-pgd', n: Math.min(c.attackImages, 500), eot: 10, onProgress: progress(`eot-pgd:${name}`) }));
      blackbox(m);
      add(`hsj:${name}`, m, (model) => hsjEval(name, model, test, { n: c.hsjImages, budgets: [1000, c.hsjQueries], seed: 1, onImage: (i, n) => progress(`hsj:${name}`)(i + 1, n) }));
      cwPaper(m);
    }
    // Not in the paper: R, model A with a bias per channel, trained with the "+" recipe and attacked
    // with the same PGD — does A+ fall short of Madry's robustness for want of biases, or of training?
    if (runs(k, true)) {
      const r: ModelKey = { arch: 'R', k, adv: true, seed: 1 };
      add(`pgd:${keyName(r)}`, r, (model) => whiteboxEval(keyName(r), model, test, { ...pgd, onProgress: progress(`pgd:${keyName(r)}`) }));
    }
    return tasks;
  }

  /**
   * The evaluations not yet cached, in the order `run` takes them, each with its place in the
   * plan. Those of models already trained go first, then those of models cheap to train, then the
   * adversarially trained ones (an hour each on 2 cores), one model's evaluations together, and
   * every model's seed 1 before any seed 2: a run stopped early has then filled as many table cells
   * as it could, each with one seed before any gets its spread.
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
      .sort((a, b) => a.cost - b.cost || (a.cost ? a.task.model.seed - b.task.model.seed || a.group - b.group : 0) || a.index - b.index)
      .map(({ index, task }) => ({ index, task }));
  }

  /**
   * Runs the tasks not yet cached (at most `limit` of them), re-rendering the document after each
   * so that a stopped run leaves a current one. It takes one model at a time, claimed in the cache
   * so that other runs of the same command (one per core) take other models, and it reads what
   * they measured before choosing the next.
   */
  async run(limit = Infinity): Promise<void> {
    const plan = this.plan();
    const total = plan.length;
    const only = this.config.only ? new Set(this.config.only) : null;
    if (only) {
      const names = new Set(plan.map((t) => keyName(t.model)));
      const unknown = [...only].filter((n) => !names.has(n));
      if (unknown.length) throw new Error(`no evaluation of this run is on ${unknown.join(', ')}; its models are ${[...names].join(', ')}`);
    }
    let ran = 0;
    while (ran < limit) {
      this.merge();
      const order = this.pending().filter((x) => !only || only.has(keyName(x.task.model)));
      const models = [...new Map(order.map((x) => [keyName(x.task.model), x.task.model])).values()];
      const mine = models.find((m) => this.claimFor(m).acquire());
      if (!mine) {
        if (order.length) {
          const held = models.map((m) => this.claimFor(m).path);
          this.config.log(`the ${order.length} evaluations left are on models other running repro processes have claimed (${held.join(', ')}); delete a claim file if no such process is running`);
        }
        break;
      }
      try {
        // Another run may have finished this model between the merge above and the claim.
        this.merge();
        for (const { index, task } of order.filter((x) => keyName(x.task.model) === keyName(mine))) {
          if (this.results[task.id]) continue;
          if (ran++ >= limit) break;
          this.config.log(`evaluation ${index + 1}/${total}: ${task.id}`);
          const model = await this.model(task.model);
          const t0 = performance.now();
          this.results[task.id] = await task.fn(model);
          this.saveAndRender();
          this.config.log(`${task.id} done in ${formatSeconds((performance.now() - t0) / 1000)} (attack and replay, training excluded)`);
        }
      } finally {
        this.claimFor(mine).release();
        this.models.delete(keyName(mine));
      }
    }
    // Every result was saved as it came; what is left is the document, with other runs' results.
    this.render();
  }

  /** The claim other runs respect while this one trains or attacks model `m`. */
  private claimFor(m: ModelKey): Claim {
    const name = keyName(m);
    let c = this.claims.get(name);
    if (!c) this.claims.set(name, (c = new Claim(join(this.config.dir, `${name}.claim`))));
    return c;
  }

  /**
   * Adds to this run's results those another run has saved since. Only adds: to measure an
   * evaluation again, stop every run before deleting it from the results file.
   */
  private merge(): void {
    const file = readResults(this.resultsPath);
    if (!file) return;
    const clash = settingsClash(file.settings, this.settings);
    if (clash) throw new Error(`${this.resultsPath} now holds results measured with ${clash}: another run with other settings is writing it`);
    for (const [id, r] of Object.entries(file.results)) this.results[id] ??= r;
  }

  private saveAndRender(): void {
    withLock(`${this.resultsPath}.lock`, () => {
      this.merge();
      const file: ResultsFile = { settings: this.settings, results: this.results };
      writeAtomic(this.resultsPath, JSON.stringify(file, null, 1) + '\n');
      renderReproduction(this);
    });
  }

  /** Re-renders the document from the results file (with what other runs have saved), under the lock they write it with. */
  render(): void {
    withLock(`${this.resultsPath}.lock`, () => {
      this.merge();
      renderReproduction(this);
    });
  }
}

/** The first setting in which two runs differ, as "--flag value (this run: value)"; null if none. */
function settingsClash(was: ReproSettings, now: ReproSettings): string | null {
  const flat = (s: ReproSettings): [string, unknown][] => [
    ['--data', s.data],
    ['training images', s.trainImages],
    ['test images', s.testImages],
    ['--epochs', s.epochs],
    ['--adv-epochs', s.adv.epochs],
    ['--adv-clean-epochs', s.adv.cleanEpochs],
    ['--adv-steps', s.adv.steps],
    ['--adv-step', s.adv.step],
    ['adversarial ε', s.adv.eps],
    ['--n', s.attackImages],
    ['--cw-n', s.cwImages],
    ['--bb-n', s.blackboxImages],
    ['--hsj-n', s.hsjImages],
    ['--hsj-queries', s.hsjQueries],
  ];
  const a = flat(was);
  const b = flat(now);
  for (let i = 0; i < a.length; i++) if (a[i]![1] !== b[i]![1]) return `${a[i]![0]} ${String(a[i]![1])} (this run: ${String(b[i]![1])})`;
  return null;
}

export interface ReproTask {
  /** Key in the results file, e.g. `fgsm:A64-s1`. */
  readonly id: string;
  readonly model: ModelKey;
  readonly fn: (model: BnnModel) => Promise<ReproResults[string]>;
}
