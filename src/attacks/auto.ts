/**
 * The AutoAttack ensemble (Croce & Hein 2020), L∞, against the artifact that ships: APGD-CE,
 * APGD-T and FAB-T crafted on the differentiable tfjs graph rebuilt from the .bnn, Square querying
 * the packed runtime's logits. Every adversarial image, whoever crafted it, is scored on the runtime,
 * and an image counts as robust only if the runtime classifies the clean image and every attack's
 * image correctly: the per-image worst case.
 *
 * 'cascade' is AutoAttack's standard procedure: each attack runs only on the images every earlier
 * attack left robust (on the runtime), so the total cost shrinks as images fall, and the report is
 * robust accuracy after each attack. 'standalone' runs every attack on every image the runtime
 * classifies correctly: per-attack robust accuracies at the cost of running everything everywhere.
 * Stochastic models get EOT (default 10 samples per gradient) in the gradient attacks.
 */
import type { BnnRuntime } from '../runtime/index.js';
import { predictLabels } from '../model/tfjs/predict.js';
import { apgd, apgdTargeted } from './apgd.js';
import { clipInto, exactLinfBox } from './box.js';
import { gather, geometryOf, remaining } from './batch.js';
import { fab } from './fab.js';
import type { DifferentiableModel } from './model.js';
import { RuntimeScoreOracle, squareAttack } from './square.js';

export type EnsembleAttack = 'apgd-ce' | 'apgd-dlr' | 'apgd-t' | 'fab-t' | 'square';
export const ENSEMBLE_ATTACKS: readonly EnsembleAttack[] = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'fab-t', 'square'];
/** AutoAttack's standard version. */
export const AUTOATTACK_STANDARD: readonly EnsembleAttack[] = ['apgd-ce', 'apgd-t', 'fab-t', 'square'];

export type EnsembleMode = 'cascade' | 'standalone';

export interface EnsembleOptions {
  /** L∞ radius. */
  readonly eps: number;
  /** Attacks, in order. Default AUTOATTACK_STANDARD. */
  readonly attacks?: readonly EnsembleAttack[];
  /** Default 'cascade'. */
  readonly mode?: EnsembleMode;
  /** APGD and FAB iterations per run. Default 100. */
  readonly iterations?: number;
  /** APGD-CE / APGD-DLR runs. Default 1. */
  readonly restarts?: number;
  /** Target classes of APGD-T and FAB-T. Default 9 (capped at classes − 1). */
  readonly targets?: number;
  /** Square's queries per image. Default 5000. */
  readonly queries?: number;
  /** Gradient samples per step (EOT). Default 10 for a stochastic model, else 1. */
  readonly eot?: number;
  readonly seed?: number;
  readonly batchSize?: number;
  /** Progress of the attack at index `member` over the images it attacks. */
  readonly onProgress?: (member: number, done: number, total: number) => void;
  /** Keeps each finished part of each attack so that a run stopped part-way resumes after the last one finished. */
  readonly checkpoint?: EnsembleCheckpoint;
}

/**
 * Where an ensemble keeps its finished work: each attack runs over its images in parts of
 * `partImages(attack)` images, and each part finished is saved, so a run stopped part-way loses at
 * most the part under way (on 1,000 images one attack can take hours). `load` may return what an
 * earlier run of the same ensemble (model, images, labels, ε and options: the store's job to key on
 * them) saved for that member and part; runEnsemble uses it only if it ran the same attack on
 * exactly the images this part would attack, else it runs the part again.
 */
export interface EnsembleCheckpoint {
  load(member: number, attack: EnsembleAttack, part: number): MemberPart | undefined;
  save(member: number, part: number, outcome: MemberPart): void;
}

/**
 * One part of an attack's work: its images (indices into the ensemble's) and what the attack made
 * of them — MemberOutcome's fields, each array over these images in their order.
 */
export type MemberPart = Omit<MemberOutcome, 'attacked'> & { readonly images: Int32Array };

/**
 * Images per part: about one batch of the attack's runs (the targeted attacks run each image once
 * per target). Part of the seeds: an ensemble's figures depend on it, so it is fixed, not tuned.
 */
export function partImages(attack: EnsembleAttack): number {
  return attack === 'apgd-t' || attack === 'fab-t' ? 32 : 128;
}

export interface MemberOutcome {
  readonly attack: EnsembleAttack;
  /** 1 for each image the attack was run on. */
  readonly attacked: Uint8Array;
  /** Its adversarial images (the clean image where it did not run), inside B∞(x, ε) ∩ [0, 1] exactly. */
  readonly adversarial: Float32Array;
  /** Labels the runtime and the tfjs graph give them (−1 where it did not run). */
  readonly runtimeLabels: Int32Array;
  readonly tfjsLabels: Int32Array;
  /** 1 where it fooled the model it was crafted on (the tfjs graph; the runtime for Square). */
  readonly success: Uint8Array;
  readonly seconds: number;
  /** Share of attacked images with an all-zero first gradient (null for Square). */
  readonly zeroGradientFraction: number | null;
  /** Square: queries per image (0 where it did not run). */
  readonly queries?: Int32Array;
  /**
   * APGD: the forward pass (over all its runs), Square: the query, at which the crafting model was
   * first fooled (0 if never or not run): accuracy against iterations or queries, to see a plateau.
   */
  readonly firstSuccess?: Int32Array;
  /** firstSuccess's scale: APGD's forward passes per image over all its runs, Square's queries per image. */
  readonly budget?: number;
}

export interface EnsembleOutcome {
  readonly eps: number;
  readonly mode: EnsembleMode;
  readonly cleanRuntimeLabels: Int32Array;
  readonly cleanTfjsLabels: Int32Array;
  readonly members: MemberOutcome[];
  /** 1 iff the runtime gets the clean image and every attack's image right: the worst case. */
  readonly robust: Uint8Array;
  /** The same on the tfjs graph (over the images each attack ran on). */
  readonly robustTfjs: Uint8Array;
  /** Index of the first member whose image fooled the runtime; −1 if none did (or the clean image was wrong). */
  readonly brokenBy: Int8Array;
  /** Per image: that member's image, else the first member's (the clean image where none ran). */
  readonly worst: Float32Array;
  /** The labels the runtime and the tfjs graph give `worst`. */
  readonly worstRuntimeLabels: Int32Array;
  readonly worstTfjsLabels: Int32Array;
}

export function runEnsemble(model: DifferentiableModel, rt: BnnRuntime, images: Float32Array, labels: Uint8Array, o: EnsembleOptions): EnsembleOutcome {
  const n = labels.length;
  const { px } = geometryOf(model, images, n);
  const mode = o.mode ?? 'cascade';
  const attacks = o.attacks ?? AUTOATTACK_STANDARD;
  const eot = o.eot ?? (model.stochastic ? 10 : 1);
  const logits = (x: Parameters<DifferentiableModel['logits']>[0]) => model.logits(x);
  const cleanRuntimeLabels = rt.predict(images, n);
  const cleanTfjsLabels = predictLabels(logits, images, n, model.inputShape);
  const box = exactLinfBox(images, o.eps);
  // fallen[i]: the runtime already gets image i wrong (clean, or under an earlier attack in cascade).
  const fallen = Uint8Array.from(cleanRuntimeLabels, (p, i) => (p === labels[i] ? 0 : 1));
  const cleanWrong = fallen.slice();
  const members: MemberOutcome[] = [];
  for (const [m, attack] of attacks.entries()) {
    const idx = remaining(mode === 'cascade' ? fallen : cleanWrong);
    const size = partImages(attack);
    const parts: MemberPart[] = [];
    for (let start = 0, part = 0; start < idx.length; start += size, part++) {
      const ids = Int32Array.from(idx.slice(start, start + size));
      const saved = o.checkpoint?.load(m, attack, part);
      if (saved && resumable(saved, attack, ids, px)) {
        parts.push(saved);
        continue;
      }
      const progress = (d: number, t: number) => o.onProgress?.(m, Math.round(start + (d / Math.max(t, 1)) * ids.length), idx.length);
      // The seed moves with the part's first image: with parts a multiple of APGD's batch, its batches draw what one run over every image would.
      const done = runPart(attack, ids, { eps: o.eps, eot, seed: (o.seed ?? 0) + 1009 * m + start, onProgress: progress, ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}) });
      o.checkpoint?.save(m, part, done);
      parts.push(done);
    }
    const outcome = assemble(attack, parts, images, n, px);
    for (const i of idx) if (outcome.runtimeLabels[i] !== labels[i]) fallen[i] = 1;
    members.push(outcome);
  }

  /** The attack on the images `ids`, scored on both sides. */
  function runPart(attack: EnsembleAttack, ids: Int32Array, common: { eps: number; eot: number; seed: number; onProgress: (d: number, t: number) => void; batchSize?: number }): MemberPart {
    const x = gather(images, px, [...ids]);
    const y = Uint8Array.from(ids, (i) => labels[i]!);
    const t0 = performance.now();
    let adv: Float32Array;
    let success: Uint8Array;
    let zero: number | null = null;
    let queries: Int32Array | undefined;
    let first: Int32Array | undefined;
    let budget: number | undefined;
    if (attack === 'square') {
      const perImage = o.queries ?? 5000;
      const oracle = new RuntimeScoreOracle(rt, ids.length * perImage);
      // Work done: the images fooled, plus the share of its budget each image still attacked has spent
      // (so the bar moves while robust images use up their queries instead of waiting for the last).
      const onProgress = (spent: number, active: number) => common.onProgress(ids.length - active + (active * Math.min(spent, perImage)) / perImage, ids.length);
      const r = squareAttack(oracle, x, y, { eps: common.eps, queries: perImage, seed: common.seed, onProgress });
      ({ adversarial: adv, success, firstSuccess: first } = r);
      queries = r.queries;
      budget = perImage;
    } else if (attack === 'fab-t') {
      const r = fab(model, x, y, { ...common, iterations: o.iterations ?? 100, targets: o.targets ?? 9 });
      adv = r.adversarial;
      // FAB returns its closest adversarial, which may lie beyond ε: at ε it is the projection, which the runtime then scores.
      success = Uint8Array.from(r.linf, (d) => (d <= common.eps ? 1 : 0));
      zero = r.zeroGradientFraction;
    } else {
      const a = { ...common, iterations: o.iterations ?? 100 };
      const r = attack === 'apgd-t' ? apgdTargeted(model, x, y, { ...a, targets: o.targets ?? 9 }) : apgd(model, x, y, { ...a, restarts: o.restarts ?? 1, loss: attack === 'apgd-dlr' ? 'dlr' : 'ce' });
      ({ adversarial: adv, success, firstSuccess: first } = r);
      zero = r.zeroGradientFraction;
      budget = r.passesPerRun * r.runs;
    }
    // Into the exact box first (a no-op for all but FAB's closest adversarials beyond ε): the runtime scores what is inside the threat model.
    for (let k = 0; k < ids.length; k++) clipInto(adv.subarray(k * px, (k + 1) * px), box, ids[k]! * px);
    const runtimeLabels = Int32Array.from(rt.predict(adv, ids.length));
    const tfjsLabels = Int32Array.from(predictLabels(logits, adv, ids.length, model.inputShape));
    const seconds = (performance.now() - t0) / 1000;
    return { attack, images: ids, adversarial: adv, runtimeLabels, tfjsLabels, success, seconds, zeroGradientFraction: zero, ...(queries ? { queries } : {}), ...(first ? { firstSuccess: first } : {}), ...(budget !== undefined ? { budget } : {}) };
  }
  return { eps: o.eps, mode, cleanRuntimeLabels, cleanTfjsLabels, members, ...worstCase(images, labels, px, cleanRuntimeLabels, cleanTfjsLabels, members) };
}

/** A saved part stands in for running `attack` on `ids` only if it is that attack on exactly those images, with every array whole. */
function resumable(saved: MemberPart, attack: EnsembleAttack, ids: Int32Array, px: number): boolean {
  const k = ids.length;
  if (saved.attack !== attack || !(saved.images instanceof Int32Array) || saved.images.length !== k || saved.images.some((v, j) => v !== ids[j])) return false;
  if (!(saved.adversarial instanceof Float32Array) || saved.adversarial.length !== k * px) return false;
  const whole = (a: unknown, optional: boolean) => (a === undefined ? optional : ArrayBuffer.isView(a) && (a as Uint8Array).length === k);
  if (![saved.runtimeLabels, saved.tfjsLabels, saved.success].every((a) => whole(a, false))) return false;
  if (![saved.queries, saved.firstSuccess].every((a) => whole(a, true))) return false;
  return !saved.runtimeLabels.some((l) => l < 0) && !saved.tfjsLabels.some((l) => l < 0);
}

/** An attack's parts as one outcome over all `n` images (the clean image and −1 labels where it did not run). */
function assemble(attack: EnsembleAttack, parts: readonly MemberPart[], images: Float32Array, n: number, px: number): MemberOutcome {
  const adversarial = images.slice();
  const runtimeLabels = new Int32Array(n).fill(-1);
  const tfjsLabels = new Int32Array(n).fill(-1);
  const success = new Uint8Array(n);
  const attacked = new Uint8Array(n);
  const queries = parts.some((p) => p.queries) ? new Int32Array(n) : undefined;
  const firstSuccess = parts.some((p) => p.firstSuccess) ? new Int32Array(n) : undefined;
  let seconds = 0;
  let zeroImages = 0;
  let gradientImages = 0;
  for (const p of parts) {
    p.images.forEach((i, k) => {
      adversarial.set(p.adversarial.subarray(k * px, (k + 1) * px), i * px);
      runtimeLabels[i] = p.runtimeLabels[k]!;
      tfjsLabels[i] = p.tfjsLabels[k]!;
      success[i] = p.success[k]!;
      attacked[i] = 1;
      if (queries && p.queries) queries[i] = p.queries[k]!;
      if (firstSuccess && p.firstSuccess) firstSuccess[i] = p.firstSuccess[k]!;
    });
    seconds += p.seconds;
    if (p.zeroGradientFraction !== null) (zeroImages += p.zeroGradientFraction * p.images.length), (gradientImages += p.images.length);
  }
  const budget = parts.find((p) => p.budget !== undefined)?.budget;
  return { attack, attacked, adversarial, runtimeLabels, tfjsLabels, success, seconds, zeroGradientFraction: gradientImages ? zeroImages / gradientImages : null, ...(queries ? { queries } : {}), ...(firstSuccess ? { firstSuccess } : {}), ...(budget !== undefined ? { budget } : {}) };
}

/** Per image, the worst case over the clean image and every member's image, on both sides. */
function worstCase(images: Float32Array, labels: Uint8Array, px: number, cleanRt: Int32Array, cleanTf: Int32Array, members: MemberOutcome[]): Pick<EnsembleOutcome, 'robust' | 'robustTfjs' | 'brokenBy' | 'worst' | 'worstRuntimeLabels' | 'worstTfjsLabels'> {
  const n = labels.length;
  const robust = new Uint8Array(n);
  const robustTfjs = new Uint8Array(n);
  const brokenBy = new Int8Array(n).fill(-1);
  const worst = images.slice();
  const worstRuntimeLabels = cleanRt.slice();
  const worstTfjsLabels = cleanTf.slice();
  for (let i = 0; i < n; i++) {
    let rtOk = cleanRt[i] === labels[i];
    let tfOk = cleanTf[i] === labels[i];
    let shown = -1;
    members.forEach((m, k) => {
      if (!m.attacked[i]) return;
      if (shown < 0) shown = k;
      if (rtOk && m.runtimeLabels[i] !== labels[i]) (rtOk = false), (brokenBy[i] = k), (shown = k);
      if (m.tfjsLabels[i] !== labels[i]) tfOk = false;
    });
    robust[i] = rtOk ? 1 : 0;
    robustTfjs[i] = tfOk ? 1 : 0;
    if (shown < 0) continue;
    const m = members[shown]!;
    worst.set(m.adversarial.subarray(i * px, (i + 1) * px), i * px);
    worstRuntimeLabels[i] = m.runtimeLabels[i]!;
    worstTfjsLabels[i] = m.tfjsLabels[i]!;
  }
  return { robust, robustTfjs, brokenBy, worst, worstRuntimeLabels, worstTfjsLabels };
}
