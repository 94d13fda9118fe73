/**
 * Attack evaluations of a shipped model, each replayed on the packed runtime: white-box attacks
 * crafted on the tfjs graph rebuilt from the .bnn, the substitute black-box attack with the
 * runtime as a label-only oracle, and HopSkipJump straight on the runtime. Results carry the
 * warnings an honest harness owes its user (gradient masking signs, AutoAttack-style).
 */
import { head, type Dataset } from '../data/dataset.js';
import { carliniWagnerL2, CW_PAPER, CW_STRONG, fgsm, meanSuccessfulL2, pgd, type AttackOutcome, type CommonOptions } from '../attacks/whitebox.js';
import type { AttackLoss } from '../attacks/loss.js';
import { hopSkipJump, l2AtBudget, type HsjTrace } from '../attacks/hopskipjump.js';
import { RuntimeOracle } from '../attacks/model.js';
import { trainSubstitute, type SubstituteOptions, type SubstituteTraining } from '../attacks/substitute.js';
import type { BnnModel } from '../format/model.js';
import { DeployedGraph } from '../model/tfjs/deployed.js';
import { predictLabels } from '../model/tfjs/predict.js';
import { inputSize } from '../model/graph.js';
import { BnnRuntime } from '../runtime/index.js';
import { initTfjs } from '../tfjs/backend.js';
import { accuracyOf, agreementOf } from './parity.js';
import { replay, replayLabels, type ReplayResult } from './replay.js';
import type { SavedRun } from './save.js';
import { AUTOATTACK_STANDARD, runEnsemble, type EnsembleAttack, type EnsembleMode, type EnsembleOutcome } from '../attacks/auto.js';
import { fab } from '../attacks/fab.js';
import { ensembleKey, fileEnsembleCheckpoint } from './ensemble_checkpoint.js';

/**
 * The `--attack` choices. Beyond the classic white-box attacks, the AutoAttack family: APGD-CE,
 * APGD-DLR, APGD-T, FAB (untargeted, minimum-norm: distances), FAB-T, Square (gradient-free, on the
 * runtime's logits) and `auto`, the ensemble's per-image worst case (attacks/auto.ts).
 */
export type WhiteboxAttack = 'fgsm' | 'pgd' | 'cw' | 'cw-paper' | 'eot-pgd' | AutoFamilyAttack;
export type AutoFamilyAttack = EnsembleAttack | 'fab' | 'auto';
export const AUTO_FAMILY: readonly AutoFamilyAttack[] = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'fab', 'fab-t', 'square', 'auto'];
/** The classic white-box attacks (as before the AutoAttack family). */
export const WHITEBOX_ATTACKS: readonly WhiteboxAttack[] = ['fgsm', 'pgd', 'cw', 'cw-paper', 'eot-pgd'];
/** Every attack whiteboxEval runs: `bnn-edge attack --attack`'s choices. */
export const ATTACKS: readonly WhiteboxAttack[] = [...WHITEBOX_ATTACKS, ...AUTO_FAMILY];

export interface WhiteboxOptions extends CommonOptions {
  readonly attack: WhiteboxAttack;
  /** L∞ radii (FGSM / PGD); ignored by CW. */
  readonly eps?: readonly number[];
  /** Images attacked (from the start of the test set). */
  readonly n?: number;
  readonly steps?: number;
  readonly step?: number;
  readonly restarts?: number;
  /** Keep the adversarial images and both sides' labels (`WhiteboxReport.examples`), e.g. to save them. */
  readonly keepExamples?: boolean;
  /** APGD and FAB iterations per run (AutoAttack family). Default 100. */
  readonly iterations?: number;
  /** Target classes of APGD-T and FAB-T. Default 9. */
  readonly targets?: number;
  /** Square's queries per image. Default 5000. */
  readonly queries?: number;
  /** `auto`: its attacks, in order. Default AutoAttack's standard (APGD-CE, APGD-T, FAB-T, Square). */
  readonly ensemble?: readonly EnsembleAttack[];
  /** `auto`: 'cascade' (default: each attack on the images still robust) or 'standalone' (every attack on every image). */
  readonly mode?: EnsembleMode;
  /**
   * FGSM / PGD / EOT-PGD / CW: the labels the attack moves away from — 'true' (default) or
   * 'predicted', the crafting model's own labels of the clean images (cleverhans' default, which
   * the paper's code used). Accuracy is always against the true labels.
   */
  readonly craftLabels?: CraftLabels;
  /**
   * `auto`: keep each part of each attack of the ensemble here as it finishes, so that the same evaluation
   * stopped part-way resumes after its last finished part of an attack (files removed once it completes).
   */
  readonly resumeDir?: string;
}

export type CraftLabels = 'true' | 'predicted';
export const CRAFT_LABELS: readonly CraftLabels[] = ['true', 'predicted'];

/** One attack of an AutoAttack-family run, scored on the runtime. */
export interface MemberRow {
  readonly attack: EnsembleAttack;
  /** Images it ran on. */
  readonly attacked: number;
  /**
   * Accuracy over all images on the runtime (and on tfjs): in a cascade, after this attack and
   * every earlier one (AutoAttack's log); standalone, under this attack alone.
   */
  readonly runtimeAccuracy: number;
  readonly tfjsAccuracy: number;
  /** Images whose runtime label it turned wrong that no earlier attack had. */
  readonly newlyFooled: number;
  /** Runtime label = tfjs label, over the images it ran on. */
  readonly agreement: number;
  readonly seconds: number;
  readonly zeroGradientFraction: number | null;
  /** Square: runtime queries in all, the most one image took, and their rate. */
  readonly queries?: { readonly total: number; readonly maxPerImage: number; readonly perSecond: number };
  /**
   * APGD and Square: [budget, accuracy] points — the accuracy over all images had this attack
   * stopped after `budget` forward passes per image (APGD, over all its runs; APGD-T's targets
   * run side by side, so a pass counts once for all of them) or
   * runtime queries (Square), an image counting as fooled once the model it crafts on (tfjs for
   * APGD, the runtime for Square) was: where the attack plateaus. Its last point is tfjs's view of
   * the row's runtime accuracy.
   */
  readonly curve?: readonly (readonly [number, number])[];
}

export interface WhiteboxRow extends ReplayResult {
  readonly eps: number | null;
  /** Share of images the attack fooled on the crafting (tfjs) model. */
  readonly successRate: number;
  /**
   * CW: mean L2 over successful images (null when none). As in Carlini & Wagner's reference code,
   * an image the model already misclassifies counts as a success found near L2 = 0.
   */
  readonly meanL2: number | null;
  /** CW: mean L2 over the successes on images the crafting model classified correctly before the attack (null when none). */
  readonly meanL2OfCorrect?: number | null;
  readonly zeroGradientFraction: number;
  /** CW: accuracy of the crafting model after each iteration (index 0 = after iteration 1). */
  readonly cwCurve?: number[];
  /** AutoAttack family: each attack's figures (the row's accuracies are the per-image worst case over them). */
  readonly members?: MemberRow[];
}

export interface WhiteboxReport {
  readonly model: string;
  readonly attack: WhiteboxAttack;
  /** Loss of the L∞ attacks (CW uses its own margin objective). */
  readonly loss: AttackLoss;
  readonly images: number;
  readonly cleanRuntimeAccuracy: number;
  readonly rows: WhiteboxRow[];
  /**
   * Share of attacked images whose softmax is saturated in float32 at the attack's temperature
   * (see `saturatedFraction`): where `--loss ce-float32` would lose its gradient.
   */
  readonly saturatedFraction: number;
  readonly warnings: string[];
  /** With `keepExamples`: per row, the adversarial images and the labels tfjs and the runtime gave them. */
  readonly examples?: SavedRun[];
  /** Present when the attack crafted against the model's predicted labels (WhiteboxOptions.craftLabels). */
  readonly craftLabels?: 'predicted';
  /** AutoAttack family: the settings it ran with. */
  readonly ensemble?: {
    readonly attacks: readonly (EnsembleAttack | 'fab')[];
    readonly mode: EnsembleMode;
    readonly iterations: number;
    readonly targets: number;
    readonly queries: number;
    readonly eot: number;
    /**
     * Square's schedule of window sizes: AutoAttack's fixed one. Absent from reports made before
     * it was adopted, whose Square stretched the schedule to its query budget (`isRescaledSquare`).
     */
    readonly squareSchedule?: 'autoattack';
  };
  /**
   * FAB: each image's L∞ distance to the closest adversarial found on tfjs and confirmed on the
   * runtime (0 where the runtime gets the clean image wrong; null where none was found or the
   * runtime disagreed), and their median (null when fewer than half have one).
   */
  readonly distances?: { readonly linf: (number | null)[]; readonly median: number | null; readonly found: number };
}

/** Whether an ensemble report's Square ran with its schedule stretched to the query budget (reports made before AutoAttack's fixed schedule was adopted). */
export function isRescaledSquare(r: Pick<WhiteboxReport, 'ensemble'>): boolean {
  return r.ensemble !== undefined && r.ensemble.attacks.includes('square') && r.ensemble.squareSchedule === undefined;
}

/** What one attack of a cascade took off its worst case: the cascade's accuracy before that attack minus after it (0 for the first or an absent one). */
export function cascadeGain(row: WhiteboxRow, attack: EnsembleAttack): number {
  const m = row.members ?? [];
  const i = m.findIndex((y) => y.attack === attack);
  return i > 0 ? m[i - 1]!.runtimeAccuracy - m[i]!.runtimeAccuracy : 0;
}

/**
 * The footnote for ensemble results marked † (`isRescaledSquare`): what their Square ran and what it
 * took off each one's worst case. `runs`: each result's name (model and ε) and its row.
 */
export function rescaledSquareNote(runs: readonly { readonly name: string; readonly row: WhiteboxRow }[]): string {
  if (!runs.length) return '';
  const gains = runs.filter((x) => cascadeGain(x.row, 'square') > 0).map((x) => `${(100 * cascadeGain(x.row, 'square')).toFixed(1)} points on ${x.name}`);
  return `† Square ran with its window schedule stretched to the 5,000-query budget (the Square paper's default) instead of AutoAttack's fixed schedule, which later runs use. There Square lowered the worst case by ${gains.length ? `${gains.join(', ')}${gains.length < runs.length ? ', and not at all in the others' : ''}` : 'nothing'}.`;
}

/**
 * Whether the images whose float32 softmax saturates (`saturated`, a share) could account for how
 * much more FGSM on float32 cross-entropy leaves than the exact direction (`gap`, within 2 points).
 */
export function saturationCovers(gap: number, saturated: number): boolean {
  return gap <= saturated + 0.02;
}

/** Logit margin above which float32 rounds p(label) to exactly 1: −ln(2⁻²⁴). */
export const SATURATION_MARGIN = 24 * Math.LN2;

/**
 * Share of images whose logit margin (label logit minus the best other, divided by `temperature`)
 * exceeds SATURATION_MARGIN. There float32 softmax cross-entropy's gradient loses its true-class
 * term (p − 1 = 0), so attacks on that loss follow only the runner-up classes — the gradient
 * masking that made FGSM understate an attacker; the default loss ('ce', loss.ts) avoids it.
 */
export function saturatedFraction(logits: Float32Array, labels: ArrayLike<number>, temperature = 1): number {
  const n = labels.length;
  if (n === 0) return 0;
  const classes = logits.length / n;
  let saturated = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    let other = -Infinity;
    for (let j = 0; j < classes; j++) if (j !== y) other = Math.max(other, logits[i * classes + j]!);
    if ((logits[i * classes + y]! - other) / temperature > SATURATION_MARGIN) saturated++;
  }
  return saturated / n;
}

export async function whiteboxEval(name: string, model: BnnModel, test: Dataset, o: WhiteboxOptions): Promise<WhiteboxReport> {
  await initTfjs();
  const data = head(test, atLeastOne(o.n ?? 1000, 'images to attack'));
  const graph = new DeployedGraph(model, o.seed ?? 0, name);
  const rt = await BnnRuntime.fromModel(model, { seed: o.seed ?? 0 });
  const warnings: string[] = [];
  const loss = o.loss ?? 'ce';
  try {
    const cleanRuntimeAccuracy = accuracyOf(rt.predict(data.images, data.n), data.labels);
    const cleanLogits = rt.logits(data.images, data.n);
    const saturated = saturatedFraction(cleanLogits, data.labels, o.temperature ?? 1);
    const predicted = o.craftLabels === 'predicted';
    if ((AUTO_FAMILY as readonly string[]).includes(o.attack)) {
      if (predicted) throw new RangeError(`the AutoAttack family attacks the true labels; craftLabels 'predicted' applies to fgsm, pgd, eot-pgd and cw`);
      return autoFamily(name, { graph, rt, data, cleanLogits }, o, cleanRuntimeAccuracy, saturated);
    }
    // What the attack moves away from; accuracy below is still against data.labels.
    const craft = predicted ? Uint8Array.from(predictLabels(graph.logitsFn, data.images, data.n, graph.inputShape)) : data.labels;
    const epsList = o.eps ?? [0.1, 0.2, 0.3];
    const cw = o.attack === 'cw' || o.attack === 'cw-paper';
    const total = (cw ? 1 : epsList.length) * data.n;
    // Progress is reported over all runs (one per ε), not per run.
    const progressFrom = (offset: number): CommonOptions['onProgress'] => (d) => o.onProgress?.(offset + d, total);
    const common: CommonOptions = { ...o, eot: o.attack === 'eot-pgd' ? (o.eot ?? 10) : (o.eot ?? 1), onProgress: progressFrom(0) };
    const runs: { eps: number | null; out: AttackOutcome }[] = [];
    if (cw) {
      runs.push({ eps: null, out: carliniWagnerL2(graph, data.images, craft, { ...(o.attack === 'cw' ? CW_STRONG : CW_PAPER), ...common }) });
    } else {
      for (const [i, eps] of epsList.entries()) {
        const common2 = { ...common, onProgress: progressFrom(i * data.n) };
        const out =
          o.attack === 'fgsm'
            ? fgsm(graph, data.images, craft, eps, common2)
            : pgd(graph, data.images, craft, { ...common2, eps, step: o.step ?? 0.01, steps: o.steps ?? 40, randomStart: true, restarts: o.restarts ?? 1 });
        runs.push({ eps, out });
      }
    }
    const finite = (v: number) => (Number.isFinite(v) ? v : null);
    const cleanCorrect = cw ? Uint8Array.from(predictLabels(graph.logitsFn, data.images, data.n, graph.inputShape), (p, i) => (p === data.labels[i] ? 1 : 0)) : null;
    const examples: SavedRun[] = [];
    const rows = runs.map(({ eps, out }): WhiteboxRow => {
      let s = 0;
      for (const v of out.success) s += v;
      const labels = replayLabels(out.adversarial, data.n, graph.logitsFn, rt);
      if (o.keepExamples) examples.push({ eps, adversarial: out.adversarial, tfjsLabels: labels.tfjs, runtimeLabels: labels.runtime });
      return {
        eps,
        ...replay(out.adversarial, data, graph.logitsFn, rt, labels),
        successRate: s / data.n,
        meanL2: cw ? finite(meanSuccessfulL2(out)) : null,
        ...(cleanCorrect ? { meanL2OfCorrect: finite(meanSuccessfulL2(out, cleanCorrect)) } : {}),
        zeroGradientFraction: out.zeroGradientFraction,
        ...(out.firstSuccess ? { cwCurve: successCurve(out.firstSuccess) } : {}),
      };
    });
    for (const r of rows) {
      if (r.zeroGradientFraction > 0.1)
        warnings.push(
          `${(100 * r.zeroGradientFraction).toFixed(0)}% of inputs have an all-zero loss gradient: gradients are masked${loss === 'ce-float32' ? ' (saturated float32 softmax; drop --loss ce-float32)' : ''}; use a gradient-free attack (hsj, blackbox) to check.`,
        );
      if (r.agreement < 0.99) warnings.push(`runtime and tfjs disagree on ${(100 * (1 - r.agreement)).toFixed(1)}% of adversarial inputs${r.eps !== null ? ` at ε=${r.eps}` : ''}: ${graph.stochastic ? "model S draws its own weight sample on each side, so this measures sampling noise (an adversarial input that fools one sample can miss another)" : 'inputs near the decision boundary flip with float rounding in conv1'}.`);
    }
    if (!cw && loss === 'ce-float32' && saturated > 0.25)
      warnings.push(`${(100 * saturated).toFixed(0)}% of the attacked images have a softmax saturated in float32 (logit margin > ${SATURATION_MARGIN.toFixed(1)}${o.temperature !== undefined && o.temperature !== 1 ? ` at temperature ${o.temperature}` : ''}): there float32 cross-entropy's gradient loses its true-class term, so this attack understates a gradient attacker; drop --loss ce-float32 (the default computes the same direction exactly).`);
    if (graph.stochastic && o.attack !== 'eot-pgd' && (o.eot ?? 1) === 1) warnings.push('model S samples its weights at every pass: gradients of one sample understate the attack; use --attack eot-pgd (EOT).');
    return { model: name, attack: o.attack, loss, images: data.n, cleanRuntimeAccuracy, rows, saturatedFraction: saturated, warnings: [...new Set(warnings)], ...(predicted ? { craftLabels: 'predicted' as const } : {}), ...(o.keepExamples ? { examples } : {}) };
  } finally {
    graph.dispose();
    rt.dispose();
  }
}

/** What the AutoAttack family's rows are built from: the graph, the runtime, the attacked images and the runtime's clean logits on them. */
type Sides = { readonly graph: DeployedGraph; readonly rt: BnnRuntime; readonly data: Dataset; readonly cleanLogits: Float32Array };

/** The AutoAttack family (attacks/auto.ts, attacks/fab.ts) as a WhiteboxReport: per ε the runtime's per-image worst case. */
function autoFamily(name: string, sides: Sides, o: WhiteboxOptions, cleanRuntimeAccuracy: number, saturated: number): WhiteboxReport {
  const { graph, rt, data } = sides;
  const epsList = o.eps ?? [0.1, 0.2, 0.3];
  const settings = {
    attacks: o.attack === 'auto' ? (o.ensemble ?? AUTOATTACK_STANDARD) : o.attack === 'fab' ? [] : [o.attack as EnsembleAttack],
    mode: o.mode ?? 'cascade',
    iterations: o.iterations ?? 100,
    targets: o.targets ?? 9,
    queries: o.queries ?? 5000,
    eot: o.eot ?? (graph.stochastic ? 10 : 1),
  };
  const base = { ...o, ...settings, ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}) };
  const resumeDir = o.resumeDir;
  const stores = resumeDir === undefined ? undefined : epsList.map((eps) => fileEnsembleCheckpoint(resumeDir, ensembleKey(data.images, data.labels, sides.cleanLogits, { eps, ...settings, seed: o.seed ?? 0, batchSize: o.batchSize ?? null })));
  const runs =
    o.attack === 'fab'
      ? fabRows(sides, epsList, base)
      : epsList.map((eps, k) => {
          const onProgress = (m: number, d: number, t: number) => o.onProgress?.(k * data.n + ((m + d / Math.max(t, 1)) / settings.attacks.length) * data.n, epsList.length * data.n);
          return ensembleRow(sides, runEnsemble(graph, rt, data.images, data.labels, { ...base, eps, onProgress, ...(stores ? { checkpoint: stores[k]! } : {}) }));
        });
  // Every ε finished: the report is the result now, and the caller keeps it.
  for (const c of stores ?? []) c.clear();
  const warnings: string[] = [];
  for (const { row } of runs) {
    const z = Math.max(row.zeroGradientFraction, ...(row.members ?? []).map((m) => m.zeroGradientFraction ?? 0));
    if (z > 0.1) warnings.push(`${(100 * z).toFixed(0)}% of inputs have an all-zero loss gradient at ε=${row.eps}: gradients are masked; the worst case leans on Square (gradient-free) there.`);
    for (const m of row.members ?? []) {
      if (m.attack !== 'square' && m.agreement < 0.99) warnings.push(`runtime and tfjs disagree on ${(100 * (1 - m.agreement)).toFixed(1)}% of ${m.attack}'s adversarial inputs at ε=${row.eps}${graph.stochastic ? ' (model S samples its weights on each side)' : ''}.`);
      // AutoAttack's own sign of gradient masking: the black-box attack beats the white-box ones.
      const earlierGradient = settings.attacks.slice(0, settings.attacks.indexOf(m.attack)).some((a) => a !== 'square');
      if (m.attack === 'square' && settings.mode === 'cascade' && earlierGradient && m.newlyFooled >= Math.max(1, 0.01 * data.n))
        warnings.push(`Square, which reads only the runtime's logits, fooled ${m.newlyFooled} image(s) at ε=${row.eps} that every gradient attack before it left standing: the straight-through gradients mislead there; trust the worst case, not a gradient attack alone.`);
    }
  }
  if (graph.stochastic) warnings.push(`model S samples its weights at every pass: the gradient attacks average ${settings.eot} samples per step (EOT), and each runtime score is one sample.`);
  const first = settings.attacks[0];
  return {
    model: name,
    attack: o.attack,
    loss: first === 'apgd-ce' ? 'ce' : first === 'apgd-dlr' || first === 'apgd-t' ? 'dlr' : 'margin',
    images: data.n,
    cleanRuntimeAccuracy,
    rows: runs.map((r) => r.row),
    saturatedFraction: saturated,
    warnings: [...new Set(warnings)],
    ensemble: { ...settings, attacks: o.attack === 'fab' ? ['fab'] : settings.attacks, squareSchedule: 'autoattack' },
    ...(o.keepExamples ? { examples: runs.map((r) => r.example) } : {}),
    ...(runs[0]?.distances ? { distances: runs[0].distances } : {}),
  };
}

type FamilyRun = { row: WhiteboxRow; example: SavedRun; distances?: WhiteboxReport['distances'] };

const share = (mask: ArrayLike<number>, n: number): number => {
  let k = 0;
  for (let i = 0; i < mask.length; i++) k += mask[i] ? 1 : 0;
  return k / n;
};

/** Points of the curve of one member over `budget`; at most this many. */
const CURVE_POINTS = 50;

/**
 * Accuracy over all images against budget: the images robust before the member (`robustBefore`),
 * less those it attacked whose first success came within the budget. Sampled at CURVE_POINTS
 * budgets spread evenly from 0 to the whole budget.
 */
export function budgetCurve(robustBefore: Uint8Array, attacked: Uint8Array, firstSuccess: Int32Array, budget: number): [number, number][] {
  const n = robustBefore.length;
  const fooledAt: number[] = [];
  let robust = 0;
  for (let i = 0; i < n; i++) {
    if (!robustBefore[i]) continue;
    robust++;
    if (attacked[i] && firstSuccess[i]! > 0) fooledAt.push(firstSuccess[i]!);
  }
  fooledAt.sort((a, b) => a - b);
  const steps = Math.min(CURVE_POINTS, budget);
  const out: [number, number][] = [];
  let k = 0;
  for (let j = 0; j <= steps; j++) {
    const at = Math.round((j / steps) * budget);
    while (k < fooledAt.length && fooledAt[k]! <= at) k++;
    out.push([at, n ? (robust - k) / n : 0]);
  }
  return out;
}

function ensembleRow({ data }: Sides, e: EnsembleOutcome): FamilyRun {
  const n = data.n;
  const y = data.labels;
  // Running state over the members, for the cascade's cumulative accuracies and newly fooled counts.
  const rtOk = Uint8Array.from(e.cleanRuntimeLabels, (p, i) => (p === y[i] ? 1 : 0));
  const tfOk = Uint8Array.from(e.cleanTfjsLabels, (p, i) => (p === y[i] ? 1 : 0));
  const members = e.members.map((m): MemberRow => {
    const alone = e.mode === 'standalone';
    const rt1 = alone ? Uint8Array.from(e.cleanRuntimeLabels, (p, i) => (p === y[i] ? 1 : 0)) : rtOk;
    const tf1 = alone ? Uint8Array.from(e.cleanTfjsLabels, (p, i) => (p === y[i] ? 1 : 0)) : tfOk;
    const curve = m.firstSuccess && m.budget ? budgetCurve(rt1, m.attacked, m.firstSuccess, m.budget) : undefined;
    let newlyFooled = 0;
    let attacked = 0;
    let agree = 0;
    for (let i = 0; i < n; i++) {
      if (!m.attacked[i]) continue;
      attacked++;
      if (m.runtimeLabels[i] === m.tfjsLabels[i]) agree++;
      if (m.runtimeLabels[i] !== y[i]) {
        if (rtOk[i]) newlyFooled++;
        rtOk[i] = rt1[i] = 0;
      }
      if (m.tfjsLabels[i] !== y[i]) tfOk[i] = tf1[i] = 0;
    }
    let queries: MemberRow['queries'];
    if (m.queries) {
      const total = m.queries.reduce((a, b) => a + b, 0);
      queries = { total, maxPerImage: Math.max(0, ...m.queries), perSecond: m.seconds > 0 ? total / m.seconds : 0 };
    }
    return { attack: m.attack, attacked, runtimeAccuracy: share(rt1, n), tfjsAccuracy: share(tf1, n), newlyFooled, agreement: attacked ? agree / attacked : 1, seconds: m.seconds, zeroGradientFraction: m.zeroGradientFraction, ...(queries ? { queries } : {}), ...(curve ? { curve } : {}) };
  });
  const { agreement, disagreements } = agreementOf(e.worstRuntimeLabels, e.worstTfjsLabels);
  const anySuccess = Uint8Array.from({ length: n }, (_, i) => (e.members.some((m) => m.success[i]) ? 1 : 0));
  const row: WhiteboxRow = {
    eps: e.eps,
    images: n,
    tfjsAccuracy: share(e.robustTfjs, n),
    runtimeAccuracy: share(e.robust, n),
    agreement,
    disagreements: disagreements.length,
    successRate: share(anySuccess, n),
    meanL2: null,
    zeroGradientFraction: e.members.find((m) => m.zeroGradientFraction !== null)?.zeroGradientFraction ?? 0,
    members,
  };
  return { row, example: { eps: e.eps, adversarial: e.worst, tfjsLabels: e.worstTfjsLabels, runtimeLabels: e.worstRuntimeLabels } };
}

/** FAB (untargeted) once; per ε its closest adversarial where within ε, else the clean image, replayed on the runtime. */
function fabRows({ graph, rt, data }: Sides, epsList: readonly number[], o: WhiteboxOptions & { iterations: number; eot: number }): FamilyRun[] {
  const n = data.n;
  const total = epsList.length * n;
  const r = fab(graph, data.images, data.labels, { iterations: o.iterations, eot: o.eot, seed: o.seed ?? 0, eps: Math.max(...epsList), ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}), onProgress: (d, t) => o.onProgress?.((d / t) * total, total) });
  const onRuntime = rt.predict(r.adversarial, n);
  const cleanRuntime = rt.predict(data.images, n);
  const linf = Array.from(r.linf, (d, i) => (cleanRuntime[i] !== data.labels[i] ? 0 : d < Infinity && onRuntime[i] !== data.labels[i] ? d : null));
  const found = linf.filter((d) => d !== null) as number[];
  const sorted = [...found].sort((a, b) => a - b);
  // Images without a confirmed distance sort last (infinitely far): the median exists when half have one.
  const median = sorted.length > (n - 1) / 2 ? sorted[Math.floor((n - 1) / 2)]! : null;
  const px = inputSize({ input: graph.inputShape });
  return epsList.map((eps) => {
    const adversarial = data.images.slice();
    for (let i = 0; i < n; i++) if (r.linf[i]! <= eps) adversarial.set(r.adversarial.subarray(i * px, (i + 1) * px), i * px);
    const labels = replayLabels(adversarial, n, graph.logitsFn, rt);
    const row: WhiteboxRow = { eps, ...replay(adversarial, data, graph.logitsFn, rt, labels), successRate: share(Array.from(r.linf, (d) => (d <= eps ? 1 : 0)), n), meanL2: null, zeroGradientFraction: r.zeroGradientFraction };
    return { row, example: { eps, adversarial, tfjsLabels: labels.tfjs, runtimeLabels: labels.runtime }, distances: { linf, median, found: found.length } };
  });
}

/** Accuracy after each iteration, from the iteration at which each image was first fooled. */
function successCurve(first: Int32Array): number[] {
  const last = Math.max(0, ...first);
  const fooledBy = new Array<number>(last + 1).fill(0);
  for (const f of first) if (f > 0) fooledBy[f]!++;
  const curve: number[] = [];
  let fooled = 0;
  for (let it = 1; it <= last; it++) {
    fooled += fooledBy[it]!;
    curve.push(1 - fooled / first.length);
  }
  return curve;
}

/** A count of images an evaluation needs at least one of (its accuracies are shares of it). */
function atLeastOne(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got ${n}`);
  return n;
}

export interface BlackboxReport {
  readonly model: string;
  readonly seedImages: number;
  readonly substituteTrainImages: number;
  /** Oracle queries spent training the substitute (labels only). */
  readonly queries: number;
  readonly eps: number;
  readonly images: number;
  /** Substitute's clean accuracy on the evaluation images (true labels). */
  readonly substituteAccuracy: number;
  /** Target accuracy on the substitute's FGSM images. */
  readonly runtimeAccuracy: number;
  /** Present when FGSM moved away from the substitute's own labels (the paper's code) rather than the true ones. */
  readonly craftLabels?: 'predicted';
  readonly tfjsAccuracy: number;
  readonly agreement: number;
}

export async function blackboxEval(name: string, model: BnnModel, test: Dataset, o: SubstituteOptions & { seedImages?: number; eps?: number; n?: number; craftLabels?: CraftLabels } = {}): Promise<BlackboxReport> {
  await initTfjs();
  const seeds = o.seedImages ?? 150;
  if (test.n <= seeds) throw new RangeError(`the test set has ${test.n} images; the attack needs more than its ${seeds} seed images`);
  const px = inputSize(model.graph);
  const rest = Math.min(test.n - seeds, atLeastOne(o.n ?? test.n - seeds, 'evaluation images'));
  const rt = await BnnRuntime.fromModel(model, { seed: o.seed ?? 0 });
  let trained: SubstituteTraining | undefined;
  let graph: DeployedGraph | undefined;
  try {
    trained = trainSubstitute(new RuntimeOracle(rt), test.images.slice(0, seeds * px), o);
    const { substitute, queries, trainImages } = trained;
    graph = new DeployedGraph(model, o.seed ?? 0, name);
    const data = { n: rest, images: test.images.slice(seeds * px, (seeds + rest) * px), labels: test.labels.slice(seeds, seeds + rest) };
    const eps = o.eps ?? 0.3;
    const predicted = o.craftLabels === 'predicted';
    const craft = predicted ? Uint8Array.from(predictLabels((x) => substitute.logits(x), data.images, rest, substitute.inputShape)) : data.labels;
    const adv = fgsm(substitute, data.images, craft, eps).adversarial;
    const r = replay(adv, data, graph.logitsFn, rt);
    return {
      model: name,
      seedImages: seeds,
      substituteTrainImages: trainImages,
      queries,
      eps,
      images: rest,
      substituteAccuracy: accuracyOf(predictLabels((x) => substitute.logits(x), data.images, rest, substitute.inputShape), data.labels),
      runtimeAccuracy: r.runtimeAccuracy,
      tfjsAccuracy: r.tfjsAccuracy,
      agreement: r.agreement,
      ...(predicted ? { craftLabels: 'predicted' as const } : {}),
    };
  } finally {
    trained?.substitute.dispose();
    graph?.dispose();
    rt.dispose();
  }
}

export interface HsjReport {
  readonly model: string;
  readonly images: number;
  /**
   * Per query budget: share fooled at any distance, median L2 of the best adversarial so far (the
   * lower middle value for an even count; Infinity when fewer than half are fooled; an image
   * misclassified before the attack counts at 0), and share fooled within `l2Radius`.
   */
  readonly budgets: { readonly queries: number; readonly successRate: number; readonly medianL2: number; readonly successAtL2: number }[];
  /** L2 radius used for successAtL2. */
  readonly l2Radius: number;
  readonly totalQueries: number;
  readonly seconds: number;
  readonly queriesPerSecond: number;
}

export async function hsjEval(name: string, model: BnnModel, test: Dataset, o: { n?: number; budgets?: readonly number[]; seed?: number; l2Radius?: number; onImage?: (i: number, n: number) => void } = {}): Promise<HsjReport> {
  const budgets = [...(o.budgets ?? [1000, 5000, 20000])].sort((a, b) => a - b);
  const maxBudget = budgets[budgets.length - 1]!;
  const data = head(test, atLeastOne(o.n ?? 20, 'images to attack'));
  const rt = await BnnRuntime.fromModel(model, { seed: o.seed ?? 0 });
  const traces: (HsjTrace | null)[] = [];
  const t0 = performance.now();
  let total = 0;
  try {
    const clean = rt.predict(data.images, data.n);
    for (let i = 0; i < data.n; i++) {
      o.onImage?.(i, data.n);
      const px = inputSize(model.graph);
      const x = data.images.slice(i * px, (i + 1) * px);
      if (clean[i] !== data.labels[i]) {
        traces.push(null); // already misclassified: distance 0
        continue;
      }
      const oracle = new RuntimeOracle(rt, maxBudget);
      traces.push(hopSkipJump(oracle, x, data.labels[i]!, { budget: maxBudget, seed: (o.seed ?? 0) + i }));
      total += oracle.queries;
    }
  } finally {
    rt.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const radius = o.l2Radius ?? 2;
  return {
    model: name,
    images: data.n,
    budgets: budgets.map((q) => {
      const d = traces.map((t) => (t === null ? 0 : l2AtBudget(t, q))).sort((a, b) => a - b);
      return {
        queries: q,
        successRate: d.filter((v) => v < Infinity).length / d.length,
        medianL2: d[Math.floor((d.length - 1) / 2)]!,
        successAtL2: d.filter((v) => v <= radius).length / d.length,
      };
    }),
    l2Radius: radius,
    totalQueries: total,
    seconds,
    queriesPerSecond: total / seconds,
  };
}
