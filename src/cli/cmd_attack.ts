import { DATA_HELP } from '../data/index.js';
import { inputSize } from '../model/graph.js';
import { saveAdversarial } from '../eval/save.js';
import { accuracyPlotSvg } from '../eval/plot.js';
import { writeFileSync } from 'node:fs';
import { ATTACK_LOSSES, type AttackLoss } from '../attacks/loss.js';
import { CW_PAPER, CW_STRONG } from '../attacks/whitebox.js';
import { ATTACKS, AUTO_FAMILY, blackboxEval, CRAFT_LABELS, hsjEval, whiteboxEval, type CraftLabels, type WhiteboxAttack, type WhiteboxReport } from '../eval/attacks.js';
import { AUTOATTACK_STANDARD, ENSEMBLE_ATTACKS, type EnsembleAttack } from '../attacks/auto.js';
import { Progress } from '../util/progress.js';
import { openModel, testImagesFor } from './files.js';
import { epsListOption, helpText, numberOption, parseCommand, positiveIntListOption, requirePositional, stringOption, UsageError, type CommandSpec } from './args.js';
import { pct, table } from './format.js';

/** The --data option of the commands that score a model: only its test split is read. */
export const dataOption = { type: 'string', help: `test images: ${DATA_HELP} (default: the data the model was trained on, where recorded; else the embedded MNIST test split)`, metavar: 'NAME|DIR' } as const;

/** A CW setting as the help states it. */
const cwSetting = (c: typeof CW_PAPER) => `${c.binarySteps} search step${c.binarySteps > 1 ? 's' : ''} over c from ${c.initialConst}, ${c.iterations} iterations${c.binarySteps > 1 ? ' each' : ''} at lr ${c.learningRate}`;

export const attackCommand: CommandSpec = {
  name: 'attack',
  summary: 'White-box attack crafted on the tfjs graph rebuilt from the .bnn, replayed on the packed runtime: accuracy on both and their agreement.',
  usage: 'bnn-edge attack MODEL --attack fgsm|pgd|cw|cw-paper|eot-pgd|apgd-ce|apgd-dlr|apgd-t|fab|fab-t|square|auto [--eps 0.1,0.2,0.3] [--n N] [--json]',
  options: {
    attack: {
      type: 'string',
      help: `one of ${ATTACKS.join(', ')} (cw = stronger: ${cwSetting(CW_STRONG)}; cw-paper = the paper's: ${cwSetting(CW_PAPER)}; apgd-* = APGD with cross-entropy, DLR or targeted DLR; fab = minimum-norm L∞ distances, fab-t its targeted form; square = gradient-free, on the runtime's logits; auto = the per-image worst case of --ensemble, AutoAttack's standard by default)`,
      default: 'fgsm',
      metavar: 'NAME',
    },
    eps: { type: 'string', help: 'L∞ radii, comma-separated; a fraction such as 8/255 is allowed (FGSM / PGD)', default: '0.1,0.2,0.3', metavar: 'LIST' },
    n: { type: 'string', help: 'images attacked', default: '1000', metavar: 'N' },
    steps: { type: 'string', help: 'PGD iterations', default: '40', metavar: 'N' },
    step: { type: 'string', help: 'PGD step size', default: '0.01', metavar: 'X' },
    restarts: { type: 'string', help: 'PGD / APGD-CE random restarts', default: '1', metavar: 'N' },
    iterations: { type: 'string', help: 'APGD / FAB iterations per run', default: '100', metavar: 'N' },
    targets: { type: 'string', help: 'target classes of APGD-T / FAB-T (the most likely others)', default: '9', metavar: 'N' },
    queries: { type: 'string', help: "Square's runtime queries per image", default: '5000', metavar: 'N' },
    ensemble: { type: 'string', help: `auto's attacks in order, from ${ENSEMBLE_ATTACKS.join(', ')}`, default: AUTOATTACK_STANDARD.join(','), metavar: 'LIST' },
    standalone: { type: 'boolean', help: "auto: run every attack on every image (each attack's own accuracy; slower) instead of each on the images still robust" },
    'resume-dir': { type: 'string', help: 'auto: keep the ensemble\'s finished work in DIR (each attack in parts of 128 images, 32 for the targeted ones), so the same command stopped part-way resumes after the last part it finished (the files go once it completes)', metavar: 'DIR' },
    eot: { type: 'string', help: 'average gradients over N forward passes (default 10 for eot-pgd, and for the apgd, fab and auto attacks on a stochastic model such as S; else 1)', metavar: 'N' },
    loss: { type: 'string', help: `FGSM / PGD loss: ${ATTACK_LOSSES.join(', ')} (ce = cross-entropy's direction computed without float32 saturation; ce-float32 = tfjs's cross-entropy, as the paper computed it; margin = Carlini–Wagner's max other logit − true logit; dlr = Croce & Hein's difference of logits ratio, the margin over z_π1 − z_π3)`, default: 'ce', metavar: 'NAME' },
    temperature: { type: 'string', help: 'divide logits by T in the attack loss', default: '1', metavar: 'T' },
    'craft-labels': { type: 'string', help: "FGSM / PGD / CW: move away from the true labels or the model's own predictions on the clean images (cleverhans' default, as the paper's code did); accuracy is always against the true labels", default: 'true', metavar: 'true|predicted' },
    seed: { type: 'string', help: 'random seed (PGD starts, S sampling)', default: '0', metavar: 'N' },
    data: dataOption,
    save: { type: 'string', help: 'write the adversarial images to DIR: per ε an .npy [n, H, W, C] and a PNG grid of clean/adversarial pairs, and examples.json with each image\'s labels', metavar: 'DIR' },
    plot: { type: 'string', help: 'draw accuracy against ε for tfjs and the runtime as an SVG file (FGSM / PGD / EOT-PGD)', metavar: 'FILE.svg' },
    json: { type: 'boolean', help: 'print JSON' },
  },
};

export async function runAttack(argv: string[]): Promise<number> {
  const p = parseCommand(attackCommand, argv);
  if (p.help) return process.stdout.write(helpText(attackCommand)), 0;
  const [path] = requirePositional(p, attackCommand, 'MODEL');
  const attack = stringOption(p, 'attack') as WhiteboxAttack;
  if (!ATTACKS.includes(attack)) throw new UsageError(`--attack must be one of ${ATTACKS.join(', ')}, got "${attack}"`);
  const eps = epsListOption(p);
  const plot = stringOption(p, 'plot');
  if (plot !== undefined && attack.startsWith('cw')) throw new UsageError('--plot draws accuracy against ε: it needs an L∞ attack (fgsm, pgd, eot-pgd), not Carlini–Wagner');
  const loss = stringOption(p, 'loss') as AttackLoss;
  if (!ATTACK_LOSSES.includes(loss)) throw new UsageError(`--loss must be one of ${ATTACK_LOSSES.join(', ')}, got "${loss}"`);
  const craftLabels = craftLabelsOption(p);
  if (craftLabels === 'predicted' && (AUTO_FAMILY as readonly string[]).includes(attack)) throw new UsageError(`--craft-labels predicted applies to fgsm, pgd, eot-pgd and cw; ${attack} attacks the true labels`);
  const ensemble = stringOption(p, 'ensemble')!.split(',') as EnsembleAttack[];
  const resumeDir = stringOption(p, 'resume-dir');
  if (resumeDir !== undefined && attack !== 'auto') throw new UsageError(`--resume-dir keeps the finished work of an ensemble: it needs --attack auto, got "${attack}"`);
  for (const a of ensemble) if (!ENSEMBLE_ATTACKS.includes(a)) throw new UsageError(`--ensemble takes ${ENSEMBLE_ATTACKS.join(', ')}, got "${a}"`);
  const opened = openModel(path!);
  const { model, name } = opened;
  const data = testImagesFor(opened, stringOption(p, 'data'));
  const n = Math.min(numberOption(p, 'n', { integer: true, min: 1 })!, data.test.n);
  const runs = attack.startsWith('cw') ? 1 : eps.length;
  const bar = new Progress({ label: `${attack} ${name}`, total: n * runs, stream: p.values['json'] ? null : undefined });
  const report = await whiteboxEval(name, model, data.test, {
    attack,
    eps,
    n,
    steps: numberOption(p, 'steps', { integer: true, min: 1 })!,
    step: numberOption(p, 'step', { min: 0 })!,
    restarts: numberOption(p, 'restarts', { integer: true, min: 1 })!,
    ...(p.values['eot'] !== undefined ? { eot: numberOption(p, 'eot', { integer: true, min: 1 })! } : {}),
    temperature: numberOption(p, 'temperature', { min: 1e-6 })!,
    loss,
    seed: numberOption(p, 'seed', { integer: true })!,
    onProgress: (done) => bar.update(Math.round(done)),
    keepExamples: stringOption(p, 'save') !== undefined,
    iterations: numberOption(p, 'iterations', { integer: true, min: 1 })!,
    targets: numberOption(p, 'targets', { integer: true, min: 1 })!,
    queries: numberOption(p, 'queries', { integer: true, min: 1 })!,
    ensemble,
    mode: p.values['standalone'] ? 'standalone' : 'cascade',
    craftLabels,
    ...(resumeDir !== undefined ? { resumeDir } : {}),
  });
  bar.finish();
  const saveDir = stringOption(p, 'save');
  const { examples, ...summary } = report;
  const saved = saveDir
    ? saveAdversarial(saveDir, { model: name, attack, data: data.source, shape: model.graph.input, classNames: data.test.classNames, clean: data.test.images.subarray(0, report.images * inputSize(model.graph)), labels: data.test.labels.subarray(0, report.images), runs: examples! })
    : [];
  if (plot !== undefined) {
    const at = (f: (r: (typeof report.rows)[number]) => number) => report.rows.map((r) => [r.eps ?? 0, f(r)] as const);
    writeFileSync(
      plot,
      accuracyPlotSvg({
        title: `${name}: ${attack.toUpperCase()} on ${report.images} images (${data.source})`,
        curves: [
          { label: 'tfjs (crafted on)', color: '#1f77b4', points: at((r) => r.tfjsAccuracy) },
          { label: 'runtime (replayed)', color: '#d62728', points: at((r) => r.runtimeAccuracy) },
        ],
      }),
    );
  }
  if (p.values['json']) {
    process.stdout.write(JSON.stringify({ ...summary, data: data.source, ...(saveDir ? { saved } : {}), ...(plot !== undefined ? { plot } : {}) }, null, 2) + '\n');
    return 0;
  }
  if (plot !== undefined) process.stdout.write(`drew ${plot}\n`);
  if (saveDir) process.stdout.write(`saved ${saved.length} files to ${saveDir} (examples.json lists them)\n`);
  process.stdout.write(`\n${report.model}: ${attack}${report.craftLabels ? " away from the model's own labels" : ''} on ${report.images} test images (clean runtime accuracy ${pct(report.cleanRuntimeAccuracy)})\n\n`);
  process.stdout.write(
    table(
      ['eps', 'tfjs accuracy', 'runtime accuracy', 'agreement', 'attack success (tfjs)', ...(attack.startsWith('cw') ? ['mean L2 (successes)', 'mean L2 (of clean-correct)'] : [])],
      report.rows.map((r) => [r.eps ?? '-', pct(r.tfjsAccuracy), pct(r.runtimeAccuracy), pct(r.agreement), pct(r.successRate), ...(attack.startsWith('cw') ? [l2Cell(r.meanL2), l2Cell(r.meanL2OfCorrect ?? null)] : [])]),
    ),
  );
  if ((AUTO_FAMILY as readonly string[]).includes(attack)) process.stdout.write(familyText(report));
  for (const w of report.warnings) process.stdout.write(`warning: ${w}\n`);
  return 0;
}

/** The AutoAttack family's details: each attack's figures per ε, FAB's distances. */
function familyText(r: WhiteboxReport): string {
  let out = '';
  const e = r.ensemble!;
  if (r.distances) out += `\nFAB: closest adversarial (L∞) confirmed on the runtime for ${r.distances.found} of ${r.images} images; median ${r.distances.median === null ? '> the largest found' : r.distances.median.toFixed(4)}\n`;
  if (r.rows.some((row) => row.members && row.members.length > 1)) {
    out += `\n${e.mode === 'cascade' ? 'each attack on the images every earlier one left robust; accuracy after it and all before it' : 'each attack on every image; accuracy under it alone'} (runtime worst case above)\n\n`;
    out += table(
      ['eps', 'attack', 'images attacked', 'runtime accuracy', 'tfjs accuracy', 'newly fooled', 'agreement', 'seconds', 'queries/s'],
      r.rows.flatMap((row) => (row.members ?? []).map((m) => [row.eps ?? '-', m.attack, m.attacked, pct(m.runtimeAccuracy), pct(m.tfjsAccuracy), m.newlyFooled, pct(m.agreement), m.seconds.toFixed(1), m.queries ? Math.round(m.queries.perSecond).toLocaleString('en-US') : '-'])),
    );
  }
  return out;
}

/** A mean L2 for the table: '—' where no image was fooled. */
const l2Cell = (v: number | null): string => (v === null ? '—' : v.toFixed(3));

export const blackboxCommand: CommandSpec = {
  name: 'blackbox',
  summary: 'Papernot substitute attack with the packed runtime as a label-only oracle: 150 seed images, Jacobian augmentation, MLP substitute, FGSM on it, replayed on the runtime.',
  usage: 'bnn-edge blackbox MODEL [--substitute-from-runtime] [options] [--json]',
  options: {
    'substitute-from-runtime': { type: 'boolean', help: 'label the substitute\'s data with the packed runtime (the only oracle; kept for clarity)' },
    'seed-images': { type: 'string', help: 'held-out test images that seed the substitute', default: '150', metavar: 'N' },
    rounds: { type: 'string', help: 'Jacobian augmentation rounds', default: '6', metavar: 'N' },
    lambda: { type: 'string', help: 'Jacobian augmentation step', default: '0.1', metavar: 'X' },
    epochs: { type: 'string', help: 'substitute epochs per round', default: '10', metavar: 'N' },
    eps: { type: 'string', help: 'FGSM radius on the substitute', default: '0.3', metavar: 'X' },
    n: { type: 'string', help: 'evaluation images (default: the rest of the test set)', metavar: 'N' },
    seed: { type: 'string', help: 'random seed', default: '0', metavar: 'N' },
    'craft-labels': { type: 'string', help: "FGSM on the substitute moves away from the true labels or the substitute's own predictions (as the paper's code did)", default: 'true', metavar: 'true|predicted' },
    data: dataOption,
    json: { type: 'boolean', help: 'print JSON' },
  },
};

/** --craft-labels, checked. */
function craftLabelsOption(p: Parameters<typeof stringOption>[0]): CraftLabels {
  const v = stringOption(p, 'craft-labels') as CraftLabels;
  if (!CRAFT_LABELS.includes(v)) throw new UsageError(`--craft-labels must be ${CRAFT_LABELS.join(' or ')}, got "${v}"`);
  return v;
}

export async function runBlackbox(argv: string[]): Promise<number> {
  const p = parseCommand(blackboxCommand, argv);
  if (p.help) return process.stdout.write(helpText(blackboxCommand)), 0;
  const [path] = requirePositional(p, blackboxCommand, 'MODEL');
  const opened = openModel(path!);
  const { model, name } = opened;
  const data = testImagesFor(opened, stringOption(p, 'data'));
  const rounds = numberOption(p, 'rounds', { integer: true, min: 1 })!;
  const bar = new Progress({ label: `substitute ${name}`, total: rounds, stream: p.values['json'] ? null : undefined });
  const r = await blackboxEval(name, model, data.test, {
    seedImages: numberOption(p, 'seed-images', { integer: true, min: 1 })!,
    rounds,
    lambda: numberOption(p, 'lambda', { min: 0 })!,
    epochsPerRound: numberOption(p, 'epochs', { integer: true, min: 1 })!,
    eps: numberOption(p, 'eps', { min: 0, max: 1 })!,
    ...(p.values['n'] !== undefined ? { n: numberOption(p, 'n', { integer: true, min: 1 })! } : {}),
    seed: numberOption(p, 'seed', { integer: true })!,
    craftLabels: craftLabelsOption(p),
    onRound: (s) => bar.update(s.round, `${s.trainImages} images, ${s.queries} queries`),
  });
  bar.finish();
  if (p.values['json']) {
    process.stdout.write(JSON.stringify({ ...r, data: data.source }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(
    `\n${r.model}: substitute trained on ${r.substituteTrainImages} images labelled by the runtime (${r.queries} oracle queries, labels only)\n` +
      `substitute clean accuracy ${pct(r.substituteAccuracy)} on ${r.images} held-out images\n` +
      `FGSM ε=${r.eps} crafted on the substitute${r.craftLabels ? ' (away from its own labels)' : ''}: runtime accuracy ${pct(r.runtimeAccuracy)}, tfjs accuracy ${pct(r.tfjsAccuracy)}, agreement ${pct(r.agreement)}\n`,
  );
  return 0;
}

export const hsjCommand: CommandSpec = {
  name: 'hsj',
  summary: 'HopSkipJump, a label-only attack run straight on the packed runtime: success rate and median L2 at query budgets.',
  usage: 'bnn-edge hsj MODEL [--queries 20000] [--budgets 1000,5000,20000] [--n 20] [--json]',
  options: {
    queries: { type: 'string', help: 'largest query budget per image', default: '20000', metavar: 'N' },
    budgets: { type: 'string', help: 'budgets to report (comma-separated, ≤ --queries)', default: '1000,5000,20000', metavar: 'LIST' },
    n: { type: 'string', help: 'images attacked', default: '20', metavar: 'N' },
    radius: { type: 'string', help: 'L2 radius for "success within radius"', default: '2', metavar: 'X' },
    seed: { type: 'string', help: 'random seed', default: '0', metavar: 'N' },
    data: dataOption,
    json: { type: 'boolean', help: 'print JSON' },
  },
};

export async function runHsj(argv: string[]): Promise<number> {
  const p = parseCommand(hsjCommand, argv);
  if (p.help) return process.stdout.write(helpText(hsjCommand)), 0;
  const [path] = requirePositional(p, hsjCommand, 'MODEL');
  const opened = openModel(path!);
  const { model, name } = opened;
  const data = testImagesFor(opened, stringOption(p, 'data'));
  const max = numberOption(p, 'queries', { integer: true, min: 10 })!;
  // Budgets above --queries cannot be reached; --queries itself is always reported.
  const budgets = positiveIntListOption(p, 'budgets')!.filter((b) => b <= max);
  if (!budgets.includes(max)) budgets.push(max);
  const n = numberOption(p, 'n', { integer: true, min: 1 })!;
  const bar = new Progress({ label: `hsj ${name}`, total: n, stream: p.values['json'] ? null : undefined });
  const r = await hsjEval(name, model, data.test, {
    n,
    budgets,
    seed: numberOption(p, 'seed', { integer: true })!,
    l2Radius: numberOption(p, 'radius', { min: 0 })!,
    onImage: (i) => bar.update(i),
  });
  bar.finish();
  if (p.values['json']) {
    process.stdout.write(JSON.stringify({ ...r, data: data.source }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`\n${r.model}: HopSkipJump (L2, label-only) on ${r.images} images, straight on the packed runtime\n\n`);
  process.stdout.write(
    table(
      ['query budget', 'adversarial found', `L2 ≤ ${r.l2Radius}`, 'median L2'],
      r.budgets.map((b) => [b.queries.toLocaleString('en-US'), pct(b.successRate), pct(b.successAtL2), Number.isFinite(b.medianL2) ? b.medianL2.toFixed(3) : '∞']),
    ),
  );
  process.stdout.write(`\n${r.totalQueries.toLocaleString('en-US')} runtime queries in ${r.seconds.toFixed(1)} s (${Math.round(r.queriesPerSecond).toLocaleString('en-US')} queries/s)\n`);
  return 0;
}
