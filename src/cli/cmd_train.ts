import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_HELP, dataOptionsOf, loadData } from '../data/index.js';
import { sha256, type InitRecord } from '../format/manifest.js';
import { modelFromParams, paramsFromModel, RESTORED_BINARY_MAGNITUDE } from '../format/model.js';
import { serializeBnn } from '../format/write.js';
import type { ParamValues } from '../model/params.js';
import { widenParams } from '../model/widen.js';
import { defineGraph, sameGraph, type ModelGraph } from '../model/graph.js';
import { paperModelOf, PRESET_HELP } from '../model/presets.js';
import { loadCheckpoint, saveCheckpoint, type Checkpoint, type TrainingRecord } from '../train/checkpoint.js';
import { DEFAULT_ADV_WEIGHT, ResumeError, train, TRAIN_DEFAULTS } from '../train/train.js';
import { readJsonFile, writeAtomic } from '../util/fs.js';
import { readModelFile } from '../format/file.js';
import { helpText, noPositionals, numberOption, parseCommand, stringOption, UsageError, type CommandSpec, type Parsed } from './args.js';
import { paperModelArg, resolveModel } from './model_arg.js';
import { explainTfjsBackend, initTfjs } from '../tfjs/backend.js';

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'Train a model graph — your own (a JSON file, see README) or a preset (the paper\'s A, B, C, S, R at width K; Larq\'s tutorial network) — on the training split; writes a checkpoint and its exported model.bnn into --out.',
  usage: 'bnn-edge train (--model NAME|FILE.json | --arch A|B|C|S|R --k K) --out DIR [options]  |  bnn-edge train --out DIR --resume',
  options: {
    model: { type: 'string', help: `the model: a graph JSON file, or ${PRESET_HELP}`, metavar: 'NAME|FILE' },
    name: { type: 'string', help: "the model's name (recorded in its graph and .bnn; default: the graph's own, e.g. b64)", metavar: 'NAME' },
    arch: { type: 'string', help: "shorthand for the paper's models: A (float), B (binary), C (binary, scaled ReLU), S (C + stochastic conv3), R (A with a bias per channel; not in the paper); with --k", metavar: 'A|B|C|S|R' },
    k: { type: 'string', help: 'with --arch: filters of conv1 (64, 128, 256, or any positive integer)', default: '64' },
    out: { type: 'string', help: 'output directory (checkpoint.json, weights.bin, model.bnn)', metavar: 'DIR' },
    epochs: { type: 'string', help: 'training epochs', default: String(TRAIN_DEFAULTS.epochs), metavar: 'N' },
    'batch-size': { type: 'string', help: 'batch size', default: String(TRAIN_DEFAULTS.batchSize), metavar: 'N' },
    lr: { type: 'string', help: 'Adam learning rate', default: String(TRAIN_DEFAULTS.learningRate), metavar: 'X' },
    'lr-schedule': { type: 'string', help: 'cosine (decay to 0) or constant (the paper)', default: TRAIN_DEFAULTS.lrSchedule, metavar: 'NAME' },
    augment: { type: 'string', help: 'random translation of training images by up to N pixels (0 = the paper)', default: String(TRAIN_DEFAULTS.augmentShift), metavar: 'N' },
    'weight-clip': { type: 'boolean', help: "clip binary layers' latent weights to [−1, 1] after every step (Larq's weight_clip)" },
    l1: { type: 'string', help: 'sparsity of ternary (ste_tern) layers: after every step pull their latent weights toward 0 by lr·X (an L1 penalty\'s proximal step); more zero weights, cheaper to verify', default: '0', metavar: 'X' },
    'precise-bn': { type: 'string', help: 'after every epoch re-estimate batch-norm statistics from N training images (PreciseBN) instead of the moving averages, which lag weights that flip (binary, ternary, PGD-trained models); never changes the weights; may change on --resume', default: '0', metavar: 'N' },
    cbd: { type: 'string', help: "EEV's cardinality bound decay: add X × Σ max(0, b − --cbd-bound) over threshold units to the loss, b a unit's cardinality bound (inputs counted 0/1); EEV's SAT solver decides low bounds faster (EEV: X 1e-5 to 5e-4; what it did here: docs/VERIFY.md)", default: '0', metavar: 'X' },
    'cbd-bound': { type: 'string', help: 'with --cbd: the bound above which the hinge starts', default: '5', metavar: 'B' },
    seed: { type: 'string', help: 'random seed (initialization, batch order, PGD starts, S sampling)', default: String(TRAIN_DEFAULTS.seed), metavar: 'N' },
    adv: { type: 'string', help: 'adversarial training: "pgd" (clean/PGD loss mix, see --adv-weight) or "fgsm" (one step of ε from the clean image, the paper\'s "+" models; --adv-step/--adv-steps do not apply)', metavar: 'pgd|fgsm' },
    'adv-eps': { type: 'string', help: 'PGD / FGSM L∞ radius', default: '0.3', metavar: 'X' },
    'adv-step': { type: 'string', help: 'PGD step size', default: '0.01', metavar: 'X' },
    'adv-steps': { type: 'string', help: 'PGD iterations (fewer is faster)', default: '40', metavar: 'N' },
    'adv-clean-epochs': { type: 'string', help: 'clean epochs before adversarial training starts', default: '0', metavar: 'N' },
    'adv-ramp': { type: 'string', help: 'epochs over which ε grows from 0 to --adv-eps once PGD starts', default: '0', metavar: 'N' },
    'adv-weight': { type: 'string', help: "share of the PGD loss: 0.5 = the paper's 50/50 mix, 1 = Madry (adversarial only)", default: String(DEFAULT_ADV_WEIGHT), metavar: 'W' },
    resume: { type: 'boolean', help: 'continue the run stopped mid-way in --out, through its last epoch, to the model it would have ended with; its settings come from --out/checkpoint.json (options given must agree with them; --init is ignored)' },
    init: { type: 'string', help: 'start from this checkpoint directory or .bnn model instead of a fresh initialization: same architecture, and the same K or (A and R) a smaller one, widened without changing what it computes', metavar: 'PATH' },
    data: { type: 'string', help: `the data: ${DATA_HELP} (default: the embedded 8,000 / 2,000 MNIST digits)`, metavar: 'NAME|DIR' },
    limit: { type: 'string', help: 'use only the first N training images', metavar: 'N' },
    workers: { type: 'string', help: 'worker threads (0 = this thread); default: one per data-parallel shard (training has 2), at most one per core', metavar: 'N' },
    force: { type: 'boolean', help: 'train into an --out directory that holds another run, replacing it' },
    quiet: { type: 'boolean', short: 'q', help: 'no progress bar' },
    json: { type: 'boolean', help: 'print the result as JSON (progress still goes to stderr unless --quiet)' },
  },
  details: `Examples:
  bnn-edge train --model my-model.json --out runs/mine           # your graph (README: "Your own model")
  bnn-edge train --model larq-tutorial --out runs/larq
  bnn-edge train --arch B --k 64 --out runs/b64                  # = --model b64
  bnn-edge train --arch A --k 64 --adv pgd --adv-steps 10 --adv-clean-epochs 2 --out runs/a64-pgd
  bnn-edge train --arch C --k 64 --lr-schedule constant --augment 0 --out runs/c64-paper   # the paper's recipe
  bnn-edge train --out runs/b64 --resume   # after an interruption: continues at the next epoch, with the run's own settings
  bnn-edge train --arch A --k 64 --init models/a64-pgd.bnn --adv pgd --adv-weight 1 --adv-steps 10 --adv-step 0.075 --epochs 20 --out runs/a64-madry   # continue, Madry-style
  bnn-edge train --arch A --k 128 --init models/a64-pgd134.bnn --adv pgd --adv-weight 1 --adv-steps 10 --adv-step 0.075 --epochs 20 --out runs/a128-wide   # widen, then continue`,
};

/**
 * Starting parameters from `--init`: an earlier run's checkpoint directory, or a shipped .bnn
 * (exact for float layers; binary layers restart from their signs, see paramsFromModel), and
 * what the checkpoint records of where they came from.
 */
function initialParams(path: string | undefined, graph: ModelGraph, seed: number): { params: ParamValues; from: InitRecord } | undefined {
  if (path === undefined) return undefined;
  let start: ModelGraph;
  let params: ParamValues;
  // The .bnn the start is known by: the file itself, or the model.bnn the checkpoint was exported to.
  let bnn: Uint8Array | undefined;
  let lineage: Pick<InitRecord, 'epochs' | 'init'> = {};
  if (existsSync(path) && statSync(path).isFile()) {
    const { bytes, model } = readModelFile(path);
    const restored = paramsFromModel(model);
    ({ graph: start, params } = restored);
    if (!restored.exact) process.stderr.write(`--init ${path}: binary weights restart from their signs (±${RESTORED_BINARY_MAGNITUDE}); a .bnn keeps no latent magnitudes or optimizer state\n`);
    bnn = bytes;
  } else {
    if (!existsSync(join(path, 'checkpoint.json'))) throw new UsageError(`--init ${path}: neither a .bnn file nor a directory with checkpoint.json (the --out directory of an earlier \`bnn-edge train\`)`);
    const ckpt = loadCheckpoint(path);
    ({ graph: start, params } = ckpt);
    if (existsSync(join(path, 'model.bnn'))) bnn = readModelFile(join(path, 'model.bnn')).bytes;
    // How the start was made goes along, should it never be shipped itself (InitRecord).
    lineage = { epochs: ckpt.history.length, ...(ckpt.training.init ? { init: ckpt.training.init } : {}) };
  }
  const from: InitRecord = { path, ...(bnn ? { sha256: sha256(bnn) } : {}), ...lineage };
  if (sameGraph(start, graph)) return { params, from };
  // A paper model of the same architecture and a smaller K can be widened (A and R only).
  const a = paperModelOf(start);
  const b = paperModelOf(graph);
  if (!a || !b || a.arch !== b.arch || a.k > b.k) throw new UsageError(`--init ${path}: the model is ${start.name}, but ${graph.name} was asked for, a different graph (a paper model can be widened to a larger K, not changed otherwise)`);
  try {
    params = widenParams(start, params, b.k, seed).params;
  } catch (e) {
    throw new UsageError(`--init ${path}: ${(e as Error).message}`);
  }
  process.stderr.write(`--init ${path}: widened from K ${a.k} to ${b.k}, computing the same function (copied units, weights split among the copies)\n`);
  return { params, from: { ...from, widenedFromK: a.k } };
}

export async function runTrain(argv: string[]): Promise<number> {
  const p = parseCommand(trainCommand, argv);
  if (p.help) return process.stdout.write(helpText(trainCommand)), 0;
  noPositionals(p);
  const out = stringOption(p, 'out');
  if (!out) throw new UsageError('--out DIR is required');
  // A resumed run takes its parameters from its own checkpoint (its recorded command may well hold
  // --init), and its settings from its record unless options are given, which must then agree.
  if (p.values['resume'] && p.values['force']) throw new UsageError('--resume continues the run in --out; --force replaces it: give one');
  if (!p.values['resume'] && !p.values['force']) refuseExistingRun(out);
  const resume = p.values['resume'] ? resumeFrom(out) : undefined;
  let settings: ReturnType<typeof trainSettings>;
  try {
    settings = trainSettings(resume ? withRecordedSettings(p, resume, out) : p);
  } catch (e) {
    // A value the run recorded (a library run may hold one the CLI does not take) is not the user's typo.
    const option = e instanceof UsageError ? /^--([\w-]+)/.exec(e.message)?.[1] : undefined;
    if (resume && option && !p.given.has(option)) throw new UsageError(`${(e as Error).message}: the value recorded in ${join(out, 'checkpoint.json')} (a run the command line cannot continue; the library's train({ resume }) can)`);
    throw e;
  }
  const { dataDir, init, ...options } = settings;
  const graph = resume ? resumedGraph(p, resume) : named(modelOf(p), stringOption(p, 'name'));
  const initial = resume ? undefined : initialParams(init, graph, options.seed);
  const workers = numberOption(p, 'workers', { integer: true, min: 0, max: 64 });
  const data = loadData({ dir: dataDir });
  const backend = await initTfjs();
  if (!p.values['quiet']) process.stderr.write(`training ${graph.name} on ${data.source} (${Math.min(options.limit ?? Infinity, data.train.n)} training images) with ${explainTfjsBackend(backend)}\n`);
  let ckpt: Checkpoint;
  try {
    ckpt = await train({
      ...options,
      graph,
      initial: initial?.params,
      initialFrom: initial?.from,
      resume,
      data,
      // Not options of the command, but recorded: a run started from the library may have set them.
      shards: resume?.training.shards,
      bnMomentum: resume?.training.bnMomentum,
      workers,
      progress: !p.values['quiet'],
      command: ['bnn-edge', 'train', ...argv].join(' '),
      // Every epoch leaves a usable model in --out (its history says how many epochs it had), so an
      // interrupted run still leaves a model to evaluate, and the state to continue it with --resume.
      onEpoch: (_, snapshot) => save(out, snapshot()),
    });
  } catch (e) {
    throw e instanceof ResumeError ? withOptionNames(e) : e;
  }
  const bnnPath = save(out, ckpt);
  const last = ckpt.history[ckpt.history.length - 1]!;
  const secs = ckpt.history.reduce((a, r) => a + r.seconds, 0) / ckpt.history.length;
  if (p.values['json']) {
    const result = { model: ckpt.graph.name, out, checkpoint: join(out, 'checkpoint.json'), bnn: bnnPath, data: ckpt.training.data, epochs: ckpt.history.length, testAccuracy: ckpt.testAccuracy, trainAccuracy: last.trainAccuracy, secondsPerEpoch: secs, backend: ckpt.training.backend };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(
    `trained ${ckpt.graph.name}: test accuracy ${(100 * ckpt.testAccuracy).toFixed(2)}% (train ${(100 * last.trainAccuracy).toFixed(2)}%), ${secs.toFixed(1)} s/epoch\n` +
      `checkpoint: ${out}/checkpoint.json + weights.bin\nmodel:      ${bnnPath}\n`,
  );
  return 0;
}


/** The model the command line names: --model, or the paper's --arch with --k. */
function modelOf(o: Parsed): ModelGraph {
  const model = stringOption(o, 'model');
  const arch = stringOption(o, 'arch');
  if (model !== undefined && arch !== undefined) throw new UsageError('give --model or --arch (with --k), not both');
  if (model !== undefined) {
    if (o.given.has('k')) throw new UsageError('--k goes with --arch; a --model names its own widths');
    return resolveModel(model);
  }
  if (arch === undefined) throw new UsageError(`--model is required: a graph JSON file, or ${PRESET_HELP} (or --arch A|B|C|S|R with --k)`);
  return paperModelArg(arch, numberOption(o, 'k', { integer: true, min: 1, max: 4096 })!);
}

/** The graph under another name (--name; the name is not part of what a model computes). */
function named(graph: ModelGraph, name: string | undefined): ModelGraph {
  if (name === undefined) return graph;
  try {
    return defineGraph({ ...graph, name });
  } catch (e) {
    throw new UsageError(`--name: ${(e as Error).message}`);
  }
}

/** A resumed run's model is its checkpoint's; one named on the command line must be that model. */
function resumedGraph(o: Parsed, resume: Checkpoint): ModelGraph {
  if (o.given.has('model') || o.given.has('arch')) {
    const named = modelOf(o);
    if (!sameGraph(named, resume.graph)) throw new UsageError(`--resume: the run's model is ${resume.graph.name}, but ${named.name} was given`);
  }
  const name = stringOption(o, 'name');
  if (name !== undefined && name !== resume.graph.name) throw new UsageError(`--name ${name}: a resumed run keeps its model's name (${resume.graph.name}); rename the .bnn afterwards with \`bnn-edge ship --name\``);
  return resume.graph;
}

/** The options that decide the run, read and checked from the command line. */
function trainSettings(o: Parsed) {
  const advKind = stringOption(o, 'adv');
  if (advKind !== undefined && advKind !== 'pgd' && advKind !== 'fgsm') throw new UsageError(`--adv must be "pgd" or "fgsm", got "${advKind}"`);
  const strayAdv = [...o.given].find((g) => g.startsWith('adv-'));
  if (!advKind && strayAdv) throw new UsageError(`--${strayAdv} sets adversarial training, which needs --adv pgd or --adv fgsm`);
  const schedule = stringOption(o, 'lr-schedule');
  if (schedule !== 'constant' && schedule !== 'cosine') throw new UsageError(`--lr-schedule must be constant or cosine, got "${schedule}"`);
  return {
    epochs: numberOption(o, 'epochs', { integer: true, min: 1 })!,
    batchSize: numberOption(o, 'batch-size', { integer: true, min: 2 })!,
    learningRate: numberOption(o, 'lr', { above: 0 })!,
    lrSchedule: schedule as 'constant' | 'cosine',
    augmentShift: numberOption(o, 'augment', { integer: true, min: 0, max: 8 })!,
    // (A recorded run's value arrives as the string 'true', see RECORDED_OPTIONS.)
    weightClip: o.values['weight-clip'] === true || o.values['weight-clip'] === 'true',
    l1: numberOption(o, 'l1', { min: 0 })!,
    preciseBn: numberOption(o, 'precise-bn', { integer: true, min: 0 })!,
    cardinalityBoundDecay: cardinalityBoundDecayOf(o),
    seed: numberOption(o, 'seed', { integer: true })!,
    adversarial: advKind
      ? {
          kind: advKind as 'pgd' | 'fgsm',
          eps: numberOption(o, 'adv-eps', { min: 0, max: 1 })!,
          step: numberOption(o, 'adv-step', { min: 0, max: 1 })!,
          steps: numberOption(o, 'adv-steps', { integer: true, min: 1 })!,
          cleanEpochs: numberOption(o, 'adv-clean-epochs', { integer: true, min: 0 })!,
          weight: numberOption(o, 'adv-weight', { min: 0, max: 1 })!,
          rampEpochs: numberOption(o, 'adv-ramp', { min: 0 })!,
        }
      : null,
    limit: numberOption(o, 'limit', { integer: true, min: 1 }),
    dataDir: stringOption(o, 'data'),
    init: stringOption(o, 'init'),
  };
}

/** --cbd X [--cbd-bound B]; null when X is 0. */
function cardinalityBoundDecayOf(o: Parsed): { coeff: number; bound: number } | null {
  const coeff = numberOption(o, 'cbd', { min: 0 })!;
  if (coeff === 0) {
    if (o.given.has('cbd-bound')) throw new UsageError('--cbd-bound goes with --cbd X (X > 0)');
    return null;
  }
  return { coeff, bound: numberOption(o, 'cbd-bound')! };
}

/** `train --out DIR` where DIR already holds a run: refused, so a typo never overwrites hours of training. */
function refuseExistingRun(dir: string): void {
  if (!existsSync(join(dir, 'checkpoint.json')) && !existsSync(join(dir, 'model.bnn'))) return;
  let what = 'a run';
  try {
    const c = readJsonFile(join(dir, 'checkpoint.json')) as { history?: unknown[]; training?: { epochs?: number }; graph?: { name?: string } };
    what = `a run of ${c.graph?.name ?? 'a model'} (${c.history?.length ?? '?'} of ${c.training?.epochs ?? '?'} epochs)`;
  } catch {
    // a model.bnn without a readable checkpoint is still someone's run
  }
  throw new UsageError(`--out ${dir} holds ${what}: continue it with --resume, replace it with --force, or choose another directory`);
}

/** The checkpoint of the stopped run in `dir`, for --resume. */
function resumeFrom(dir: string): Checkpoint {
  if (!existsSync(join(dir, 'checkpoint.json'))) throw new UsageError(`--resume: ${dir} holds no checkpoint.json to continue from`);
  const ckpt = loadCheckpoint(dir, { resume: true });
  if (ckpt.history.length >= ckpt.training.epochs) throw new UsageError(`--resume: the run in ${dir} already finished its ${ckpt.training.epochs} epochs`);
  process.stderr.write(`resuming ${ckpt.graph.name} in ${dir} after epoch ${ckpt.history.length} of ${ckpt.training.epochs}\n`);
  return ckpt;
}

/**
 * Each option a checkpoint records: the record fields it sets and its value in the record;
 * undefined where the run had no such setting (no adversarial training, the embedded data), so
 * the option stays unset. (The model itself is the checkpoint's graph: see resumedGraph.)
 */
const RECORDED_OPTIONS: ReadonlyArray<{ option: string; fields: ReadonlyArray<keyof TrainingRecord>; value: (c: Checkpoint, dir: string) => string | undefined }> = [
  { option: 'epochs', fields: ['epochs'], value: (c) => String(c.training.epochs) },
  { option: 'batch-size', fields: ['batchSize'], value: (c) => String(c.training.batchSize) },
  { option: 'lr', fields: ['learningRate'], value: (c) => String(c.training.learningRate) },
  { option: 'lr-schedule', fields: ['lrSchedule'], value: (c) => c.training.lrSchedule },
  { option: 'augment', fields: ['augmentShift'], value: (c) => String(c.training.augmentShift) },
  { option: 'weight-clip', fields: ['weightClip'], value: (c) => (c.training.weightClip ? 'true' : undefined) },
  { option: 'l1', fields: ['l1'], value: (c) => String(c.training.l1 ?? 0) },
  { option: 'precise-bn', fields: ['preciseBn'], value: (c) => String(c.training.preciseBn ?? 0) },
  { option: 'cbd', fields: ['cardinalityBoundDecay'], value: (c) => String(c.training.cardinalityBoundDecay?.coeff ?? 0) },
  { option: 'cbd-bound', fields: ['cardinalityBoundDecay'], value: (c) => (c.training.cardinalityBoundDecay ? String(c.training.cardinalityBoundDecay.bound) : undefined) },
  { option: 'seed', fields: ['seed'], value: (c) => String(c.training.seed) },
  // The data's name, and the files under it (the CRC differs when the name does not).
  { option: 'data', fields: ['data', 'trainCrc32'], value: recordedDataDir },
  { option: 'limit', fields: ['trainImages'], value: (c) => String(c.training.trainImages) },
  { option: 'adv', fields: ['adversarial'], value: (c) => c.training.adversarial?.kind },
  { option: 'adv-eps', fields: ['adversarial'], value: recordedAdv((a) => a.eps) },
  { option: 'adv-step', fields: ['adversarial'], value: recordedAdv((a) => a.step) },
  { option: 'adv-steps', fields: ['adversarial'], value: recordedAdv((a) => a.steps) },
  { option: 'adv-clean-epochs', fields: ['adversarial'], value: recordedAdv((a) => a.cleanEpochs) },
  { option: 'adv-weight', fields: ['adversarial'], value: recordedAdv((a) => a.weight ?? DEFAULT_ADV_WEIGHT) },
  { option: 'adv-ramp', fields: ['adversarial'], value: recordedAdv((a) => a.rampEpochs ?? 0) },
];

/** The recorded value of an --adv-* option, if the run was adversarial. */
function recordedAdv(value: (a: NonNullable<TrainingRecord['adversarial']>) => number): (c: Checkpoint) => string | undefined {
  return (c) => (c.training.adversarial ? String(value(c.training.adversarial)) : undefined);
}

/** The --data of a recorded data source (undefined: the embedded set). */
function recordedDataDir(c: Checkpoint, dir: string): string | undefined {
  try {
    return dataOptionsOf(c.training.data).dir;
  } catch (e) {
    throw new UsageError(`--resume: ${join(dir, 'checkpoint.json')}: ${(e as Error).message}; give --data`);
  }
}

/**
 * The command line of a resumed run: each setting the run recorded, unless typed (a typed one
 * that differs is reported by train's resume check, with the run's value beside it).
 */
function withRecordedSettings(p: Parsed, ckpt: Checkpoint, dir: string): Parsed {
  const values = { ...p.values };
  for (const { option, value } of RECORDED_OPTIONS) {
    if (p.given.has(option)) continue;
    const recorded = value(ckpt, dir);
    if (recorded !== undefined) values[option] = recorded;
  }
  return { ...p, values };
}

/** A resume refused for differing settings names checkpoint fields; say which options set them. */
function withOptionNames(e: ResumeError): ResumeError {
  const named = e.settings.flatMap((field) => {
    const options = RECORDED_OPTIONS.filter((o) => o.fields.includes(field)).map((o) => `--${o.option}`);
    return options.length ? [`${field}: ${options.join(' ')}`] : [];
  });
  return named.length ? new ResumeError(`${e.message} [set by ${named.join(', ')}]`, e.settings) : e;
}

/** Writes the checkpoint and its .bnn export into `dir`; returns the .bnn path. */
function save(dir: string, ckpt: Checkpoint): string {
  saveCheckpoint(dir, ckpt);
  const bnnPath = join(dir, 'model.bnn');
  writeAtomic(bnnPath, serializeBnn(modelFromParams(ckpt.graph, ckpt.params)));
  return bnnPath;
}
