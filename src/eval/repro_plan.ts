/**
 * What `bnn-edge repro` computes, apart from where its results go: the settings, the plan of
 * evaluations, and the models they need (trained with the paper's recipe, or taken from the
 * checkpoint cache). `Repro` (repro.ts) runs a plan in this process; a `bnn-edge worker`
 * (src/queue/) runs one job of it, built from the same class, so both compute the same thing.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSplit, Dataset } from '../data/dataset.js';
import { loadData } from '../data/index.js';
import { modelFromParams, type BnnModel } from '../format/model.js';
import { serializeBnn } from '../format/write.js';
import { paperModel, type Arch } from '../model/presets.js';
import { writeAtomic } from '../util/fs.js';
import { sameGraph } from '../model/graph.js';
import { CorruptCheckpointError, loadCheckpoint, saveCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import { SUBSTITUTE_ROUNDS } from '../attacks/substitute.js';
import { ResumeError, settingsDiff, train, trainingRecord, type AdversarialTraining, type TrainOptions } from '../train/train.js';
import { blackboxEval, hsjEval, whiteboxEval, type BlackboxReport, type CraftLabels, type HsjReport, type WhiteboxOptions, type WhiteboxReport } from './attacks.js';

/** The paper's FGSM numerics: float32 cross-entropy (which saturates), away from the model's own labels (cleverhans' default). */
const PAPER_NUMERICS = { loss: 'ce-float32', craftLabels: 'predicted' } as const;
/** Where `bnn-edge repro` caches its checkpoints unless told (--dir). */
export const DEFAULT_REPRO_DIR = 'runs/repro';

/** ε below the paper's 0.3 at which AutoAttack's ensemble also runs on A, B, C and S: their robust accuracy against ε (`auto-eps0.1:A64-s1`). */
export const CURVE_EPS = [0.05, 0.1, 0.2] as const;

export interface ReproConfig {
  readonly widths: readonly number[];
  /** Widths at which the adversarially trained models (FGSM "+", PGD "+*") are trained and attacked (default: all widths). */
  readonly advWidths?: readonly number[];
  /** Seeds per clean model (the paper: ≥ 3). */
  readonly seeds: number;
  readonly epochs: number;
  /** Train on the first N training images only (quick runs); all of them when absent. */
  readonly trainImages?: number;
  /** Adversarial training: PGD of the "+*" models, and the epochs, clean epochs and ε of the FGSM-trained "+" ones. */
  readonly adv: AdversarialTraining & { readonly seeds: number; readonly epochs: number };
  /** Images attacked by FGSM / PGD. */
  readonly attackImages: number;
  readonly cwImages: number;
  readonly blackboxImages: number;
  readonly hsjImages: number;
  readonly hsjQueries: number;
  /**
   * Data (a --data name or directory) whose test images the FGSM tables' models are also scored
   * on, beside the run's own: `mnist`, MNIST's official 10,000, for a run trained on mnist-full.
   */
  readonly alsoTest?: string;
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
  /** Kinds of evaluation this run may take (`fgsm`, `pgd`, …: an id's part before the colon); all when absent. */
  readonly evals?: readonly string[];
  /**
   * Another run's results (its .json, or the .md beside it) to set beside this run's, cell by cell:
   * the experiment that tests what a change of data or training did (say, 8,000 training images against 58,000).
   */
  readonly compare?: string;
}

/** What a plan needs of a config: not where the document goes nor which tasks a session takes. */
export type PlanConfig = Omit<ReproConfig, 'out' | 'only' | 'evals' | 'compare'>;

/**
 * The kind of the FGSM tables' evaluations on other test images (ReproConfig.alsoTest), named by
 * them (`fgsm-on-mnist`; a directory by its last part), so results on different data never mix.
 */
export function alsoKind(source: string): string {
  const name = source.replace(/^[a-z]+:/, '').replace(/\/+$/, '');
  return `fgsm-on-${name.slice(name.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** An evaluation's kind: its id's part before the colon (`pgd-t100:A64-s1` → `pgd-t100`). */
export const evalKind = (id: string): string => id.slice(0, id.indexOf(':'));

/**
 * How a model was adversarially trained, marked as the paper marks it: "+" FGSM (Goodfellow et
 * al.'s one step of ε), "+*" PGD (Madry et al.); false for the clean models.
 */
export type AdvKind = 'fgsm' | 'pgd';

export interface ModelKey {
  readonly arch: Arch;
  readonly k: number;
  readonly adv: AdvKind | false;
  readonly seed: number;
}

export function keyName(m: ModelKey): string {
  return `${m.arch}${advMark(m.adv)}${m.k}-s${m.seed}`;
}

/** The paper's mark of an adversarially trained model: "+" FGSM, "+*" PGD. */
export function advMark(adv: AdvKind | false): string {
  return adv === 'fgsm' ? '+' : adv === 'pgd' ? '+*' : '';
}

/** An evaluation's report, with the SHA-256 of the .bnn it was measured on (absent in results recorded before it was kept). */
export type ReproResult = (WhiteboxReport | BlackboxReport | HsjReport) & { readonly modelSha256?: string };
export type ReproResults = Record<string, ReproResult>;

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
  /** The source of the data the FGSM tables are also scored on (ReproConfig.alsoTest), if any. */
  readonly alsoTest?: string;
}

export interface ReproTask {
  /** Key in the results file, e.g. `fgsm:A64-s1`. */
  readonly id: string;
  readonly model: ModelKey;
  readonly fn: (model: BnnModel) => Promise<ReproResult>;
}

/** A cached model that another run's settings made: refused, never trained over (the same every time it is tried). */
export class CachedModelMismatchError extends Error {
  override name = 'CachedModelMismatchError';
}

export class ReproPlan {
  readonly settings: ReproSettings;
  protected readonly models = new Map<string, BnnModel>();

  constructor(
    readonly config: PlanConfig,
    readonly data: DataSplit,
  ) {
    mkdirSync(config.dir, { recursive: true });
    const { epochs, cleanEpochs, steps, step, eps } = config.adv;
    this.settings = {
      data: data.source,
      trainImages: Math.min(config.trainImages ?? data.train.n, data.train.n),
      testImages: data.test.n,
      epochs: config.epochs,
      adv: { epochs, cleanEpochs, steps, step, eps },
      attackImages: config.attackImages,
      cwImages: config.cwImages,
      blackboxImages: config.blackboxImages,
      hsjImages: config.hsjImages,
      hsjQueries: config.hsjQueries,
      ...(config.alsoTest !== undefined ? { alsoTest: this.alsoTestData()!.source } : {}),
    };
  }

  private alsoTestSplit: { source: string; test: Dataset } | undefined;

  /** The test images of `alsoTest`, read once; undefined when the run has none. */
  alsoTestData(): { source: string; test: Dataset } | undefined {
    const name = this.config.alsoTest;
    if (name === undefined) return undefined;
    if (!this.alsoTestSplit) {
      const { source, test } = loadData({ dir: name, testOnly: true });
      this.alsoTestSplit = { source, test };
    }
    return this.alsoTestSplit;
  }

  /** Where model `m`'s checkpoint is cached (a PGD-trained model's "+*" spelled "+pgd": no "*" in paths). */
  modelDir(m: ModelKey): string {
    return join(this.config.dir, keyName(m).replace('+*', '+pgd'));
  }

  /** How model `m` is trained: the paper's recipe, saved after every epoch. */
  trainOptions(m: ModelKey): TrainOptions {
    const dir = this.modelDir(m);
    const epochs = m.adv ? this.config.adv.epochs : this.config.epochs;
    const a = this.config.adv;
    return {
      graph: paperModel(m.arch, m.k),
      data: this.data,
      epochs,
      seed: m.seed,
      ...(this.config.trainImages !== undefined ? { limit: this.config.trainImages } : {}),
      lrSchedule: 'constant',
      augmentShift: 0,
      adversarial: m.adv ? { ...a, kind: m.adv } : null,
      command: `bnn-edge train --arch ${m.arch} --k ${m.k} --seed ${m.seed} --epochs ${epochs} --lr-schedule constant --augment 0${m.adv ? ` --adv ${m.adv} --adv-eps ${a.eps}${m.adv === 'pgd' ? ` --adv-step ${a.step} --adv-steps ${a.steps}` : ''} --adv-clean-epochs ${a.cleanEpochs}` : ''}`,
      // Saved after every epoch, so a stopped run loses at most the epoch under way.
      onEpoch: (_, snapshot) => saveCheckpoint(dir, snapshot()),
    };
  }

  /** A model, trained with the paper's recipe unless its checkpoint exists. */
  async model(m: ModelKey): Promise<BnnModel> {
    const cached = this.models.get(keyName(m));
    if (cached) return cached;
    const ckpt = await this.trainModel(m);
    const model = modelFromParams(ckpt.graph, ckpt.params);
    this.models.set(keyName(m), model);
    return model;
  }

  /** Forgets the models held in memory (a run moving on to other models). */
  forget(m: ModelKey): void {
    this.models.delete(keyName(m));
  }

  /**
   * Model `m`'s finished checkpoint: the cached one, or trained now — continued from where a
   * stopped training left its checkpoint, or from the start.
   */
  async trainModel(m: ModelKey): Promise<Checkpoint> {
    const name = keyName(m);
    const dir = this.modelDir(m);
    const options = this.trainOptions(m);
    const cachedCkpt = this.cachedCheckpoint(dir);
    // Training saves after every epoch: a run stopped mid-training leaves a checkpoint with fewer
    // epochs than it was started for, from which training continues (exactly, see train's `resume`).
    const interrupted = cachedCkpt !== null && cachedCkpt.history.length < cachedCkpt.training.epochs;
    if (cachedCkpt) this.checkCached(dir, cachedCkpt, options, interrupted);
    if (cachedCkpt && !interrupted) {
      if (!existsSync(join(dir, 'model.bnn'))) {
        // A convenience for `bnn-edge attack DIR/MODEL`: a cache the run may only read still serves.
        try {
          this.writeBnn(dir, cachedCkpt);
        } catch (e) {
          this.config.log(`${name}: model.bnn not written beside its checkpoint: ${(e as Error).message}`);
        }
      }
      return cachedCkpt;
    }
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
    this.writeBnn(dir, ckpt);
    return ckpt;
  }

  /** The finished model's .bnn beside its checkpoint, as `bnn-edge train --out` leaves it: `bnn-edge attack DIR/MODEL` reads it. */
  private writeBnn(dir: string, ckpt: Checkpoint): void {
    writeAtomic(join(dir, 'model.bnn'), serializeBnn(modelFromParams(ckpt.graph, ckpt.params)));
  }

  /**
   * Model `m`'s finished checkpoint, which must be cached already (an evaluation on a queue
   * worker, whose model another job trained): never trains.
   */
  trainedCheckpoint(m: ModelKey): Checkpoint {
    const dir = this.modelDir(m);
    if (!existsSync(join(dir, 'checkpoint.json'))) throw new Error(`${dir}: no checkpoint of ${keyName(m)}, which its training job reported finished: is this --dir the shared directory the other workers write?`);
    const ckpt = loadCheckpoint(dir);
    const unfinished = ckpt.history.length < ckpt.training.epochs;
    this.checkCached(dir, ckpt, this.trainOptions(m), unfinished);
    if (unfinished) throw new Error(`${dir}: the checkpoint of ${keyName(m)} stopped after ${ckpt.history.length} of ${ckpt.training.epochs} epochs, but its training job reported it finished`);
    return ckpt;
  }

  /** A model, finished or not, counts only if it is the model this run would train: same architecture, same settings. */
  private checkCached(dir: string, ckpt: Checkpoint, options: TrainOptions, unfinished: boolean): void {
    const diffs = settingsDiff(ckpt.training, trainingRecord(options), 'cached');
    if (!sameGraph(ckpt.graph, options.graph)) diffs.unshift(`model ${options.graph.name} (cached: ${ckpt.graph.name})`);
    // Another run's is refused, never trained over.
    if (diffs.length) throw new CachedModelMismatchError(`${dir}: the cached${unfinished ? ', unfinished' : ''} model is not the one this run trains: ${diffs.join('; ')}. Give another --dir`);
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

  /** Widths of the adversarially trained models. */
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
    const add = (id: string, m: ModelKey, fn: (model: BnnModel) => Promise<ReproResult>) => {
      if (!tasks.some((t) => t.id === id)) tasks.push({ id, model: m, fn });
    };
    const progress = (id: string) => (done: number, total: number) => c.onProgress?.(id, done, total);
    const also = this.alsoTestData();
    const onAlso = also && alsoKind(also.source);
    const fgsmOn = (kind: string, m: ModelKey, images: Dataset, variant: Pick<WhiteboxOptions, 'loss' | 'craftLabels'> = {}, n = c.attackImages) =>
      add(`${kind}:${keyName(m)}`, m, (model) => whiteboxEval(keyName(m), model, images, { attack: 'fgsm', eps: [0.1, 0.2, 0.3], n, ...variant, onProgress: progress(`${kind}:${keyName(m)}`) }));
    const fgsm = (m: ModelKey) => fgsmOn('fgsm', m, test);
    // The FGSM tables' models: our exact FGSM; the paper's numerics (float32 cross-entropy, away
    // from the model's own labels, as cleverhans did); and on every one of the other test images,
    // if any (MNIST's official 10,000: FGSM is cheap, and the paper scored on all of them).
    const fgsmTables = (m: ModelKey) => {
      fgsm(m);
      fgsmOn('fgsm-paper', m, test, PAPER_NUMERICS);
      if (also && onAlso) fgsmOn(onAlso, m, also.test, {}, also.test.n);
    };
    const cwPaper = (m: ModelKey) => add(`cw-paper:${keyName(m)}`, m, (model) => whiteboxEval(keyName(m), model, test, { attack: 'cw-paper', n: c.cwImages, onProgress: progress(`cw-paper:${keyName(m)}`) }));
    const blackboxAs = (kind: string, m: ModelKey, craftLabels: CraftLabels) =>
      add(`${kind}:${keyName(m)}`, m, (model) => blackboxEval(keyName(m), model, test, { n: c.blackboxImages, seed: 1, craftLabels, onRound: (r) => progress(`${kind}:${keyName(m)}`)(r.round, SUBSTITUTE_ROUNDS) }));
    const blackbox = (m: ModelKey) => blackboxAs('blackbox', m, 'true');
    // The black-box table's models: FGSM on the substitute away from the true labels, and from the substitute's own (the paper's code).
    const blackboxTable = (m: ModelKey) => {
      blackbox(m);
      blackboxAs('blackbox-paper', m, 'predicted');
    };
    // Table 1: FGSM on A, B, C; table 2: the PGD-trained A+* and C+*.
    const advWidths = this.advWidths();
    const runs = (k: number, adv: AdvKind | false) => !adv || advWidths.includes(k);
    for (const k of c.widths) {
      for (const arch of ['A', 'B', 'C'] as const) for (const seed of this.seedsFor(false)) fgsmTables({ arch, k, adv: false, seed });
      if (runs(k, 'pgd')) for (const arch of ['A', 'C'] as const) for (const seed of this.seedsFor(true)) fgsmTables({ arch, k, adv: 'pgd', seed });
    }
    // Table 3: Carlini–Wagner (the paper's setting) on B, the FGSM-trained B+ and S.
    for (const k of c.widths) for (const [arch, adv] of [['B', false], ['B', 'fgsm'], ['S', false]] as const) if (runs(k, adv)) cwPaper({ arch, k, adv, seed: 1 });
    // Table 4: black-box substitute attack on A, A+ (FGSM-trained), A+* (PGD-trained), B, B+.
    for (const k of c.widths) for (const [arch, adv] of [['A', false], ['A', 'fgsm'], ['A', 'pgd'], ['B', false], ['B', 'fgsm']] as const) if (runs(k, adv)) blackboxTable({ arch, k, adv, seed: 1 });
    // Stronger attacks on the smallest width: PGD (BPDA through sign), temperature scaling,
    // EOT for S, and the label-only HopSkipJump.
    const k = c.widths[0]!;
    const strong: ModelKey[] = (['A', 'B', 'C', 'S'] as const).map((arch) => ({ arch, k, adv: false, seed: 1 }));
    if (runs(k, 'pgd')) strong.push({ arch: 'A', k, adv: 'pgd', seed: 1 }, { arch: 'C', k, adv: 'pgd', seed: 1 });
    const pgd = { attack: 'pgd', eps: [0.1, 0.3], n: c.attackImages, steps: 40, step: 0.01, seed: 1 } as const;
    // The worst case of AutoAttack's standard ensemble (the defaults: APGD-CE, APGD-T, FAB-T, Square
    // on the runtime's logits) at ε = 0.3: the robust accuracy the verdict quotes.
    const autoAt = (kind: string, eps: number, m: ModelKey) => add(`${kind}:${keyName(m)}`, m, (model) => whiteboxEval(keyName(m), model, test, { attack: 'auto', eps: [eps], n: c.attackImages, seed: 1, resumeDir: join(c.dir, 'ensemble-partial'), onProgress: progress(`${kind}:${keyName(m)}`) }));
    const auto = (m: ModelKey) => autoAt('auto', 0.3, m);
    for (const m of strong) {
      const name = keyName(m);
      fgsm(m);
      // The paper's numerics: float32 cross-entropy, which saturates on confident models.
      add(`fgsm-f32:${name}`, m, (model) => whiteboxEval(name, model, test, { attack: 'fgsm', eps: [0.3], n: c.attackImages, loss: 'ce-float32', onProgress: progress(`fgsm-f32:${name}`) }));
      add(`pgd:${name}`, m, (model) => whiteboxEval(name, model, test, { ...pgd, onProgress: progress(`pgd:${name}`) }));
      add(`pgd-t100:${name}`, m, (model) => whiteboxEval(name, model, test, { ...pgd, temperature: 100, onProgress: progress(`pgd-t100:${name}`) }));
      if (m.arch === 'S') add(`eot-pgd:${name}`, m, (model) => whiteboxEval(name, model, test, { ...pgd, attack: 'eot-pgd', n: c.attackImages, eot: 10, onProgress: progress(`eot-pgd:${name}`) }));
      blackbox(m);
      add(`hsj:${name}`, m, (model) => hsjEval(name, model, test, { n: c.hsjImages, budgets: [1000, c.hsjQueries], seed: 1, onImage: (i, n) => progress(`hsj:${name}`)(i + 1, n) }));
      cwPaper(m);
      auto(m);
    }
    // Not in the paper: R, model A with a bias per channel, trained with the "+*" recipe and attacked
    // with the same PGD — does A+* fall short of Madry's robustness for want of biases, or of training?
    if (runs(k, 'pgd')) {
      const r: ModelKey = { arch: 'R', k, adv: 'pgd', seed: 1 };
      add(`pgd:${keyName(r)}`, r, (model) => whiteboxEval(keyName(r), model, test, { ...pgd, onProgress: progress(`pgd:${keyName(r)}`) }));
      auto(r);
    }
    // Robust accuracy against ε of the four clean models, one evaluation per ε (each can take an
    // hour: at small ε most images go on to Square's queries).
    for (const eps of CURVE_EPS) for (const m of strong.filter((x) => !x.adv)) autoAt(`auto-eps${eps}`, eps, m);
    return tasks;
  }

  /**
   * The plan's tasks on the models in `only` and of the kinds in `evals` (all where absent): what
   * `--models` and `--evals` leave a session. Names the plan has not are an error that lists its own.
   */
  select(only: readonly string[] | undefined, evals: readonly string[] | undefined): ReproTask[] {
    const tasks = this.plan();
    const check = (given: readonly string[] | undefined, have: string[], what: string) => {
      const unknown = given?.filter((n) => !have.includes(n)) ?? [];
      if (unknown.length) throw new Error(`no evaluation of this run is ${what} ${unknown.join(', ')}; its ${what === 'on' ? 'models' : 'kinds'} are ${have.join(', ')}`);
    };
    check(only, [...new Set(tasks.map((t) => keyName(t.model)))], 'on');
    check(evals, [...new Set(tasks.map((t) => evalKind(t.id)))], 'of kind');
    return tasks.filter((t) => (!only || only.includes(keyName(t.model))) && (!evals || evals.includes(evalKind(t.id))));
  }
}

/** The first setting in which two runs differ, as "--flag value (this run: value)"; null if none. */
export function settingsClash(was: ReproSettings, now: ReproSettings): string | null {
  return settingsDiffs(was, now)[0] ?? null;
}

/** Every setting in which two runs differ, as "--flag value (this run: value)". */
export function settingsDiffs(was: ReproSettings, now: ReproSettings, ignore: readonly string[] = []): string[] {
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
  return a.flatMap(([name, value], i) => (value !== b[i]![1] && !ignore.includes(name) ? [`${name} ${String(value)} (this run: ${String(b[i]![1])})`] : []));
}
