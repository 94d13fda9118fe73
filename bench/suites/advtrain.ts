/**
 * How far longer PGD training takes the paper's bias-free model A. The shipped a64-pgd (10 epochs,
 * 5-step PGD) is continued Madry-style (adversarial loss only, 10 PGD steps of 0.075) in three
 * stages, each started from the one before with `bnn-edge train --init`, and every stage is
 * attacked on the runtime by 40-step PGD and by 100-step PGD with 5 restarts at ε = 0.3, beside
 * r64-pgd (A with biases, the a64-pgd recipe). It answers whether A's shortfall is its training
 * or its missing biases.
 *
 * Stages are cached in runs/ under their names: a stage whose checkpoint records exactly the
 * stage's command is reused, one stopped mid-way is resumed, and a directory holding a different
 * run is refused rather than overwritten. Training all three takes about 1.5 hours on 2 cores:
 * run it with --suite advtrain.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData } from '../../src/data/index.js';
import { whiteboxEval } from '../../src/eval/attacks.js';
import { parseBnn } from '../../src/format/read.js';
import { mdTable, pct } from '../lib.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');

/** Madry et al.'s PGD-trained MNIST network keeps 89–92% under PGD at ε = 0.3; issue #5 asks A+ for 85%. */
const TARGET = 0.85;

interface Stage {
  /** Run directory under runs/, and the row's name. */
  readonly name: string;
  /** What --init starts from (relative to the repository root). */
  readonly init: string;
  readonly epochs: number;
  readonly seed: number;
}

const STAGES: readonly Stage[] = [
  { name: 'a64-madry-more', init: 'models/a64-pgd.bnn', epochs: 6, seed: 2 },
  { name: 'a64-madry-long', init: 'runs/a64-madry-more', epochs: 15, seed: 3 },
  { name: 'a64-madry-longer', init: 'runs/a64-madry-long', epochs: 15, seed: 4 },
];

/** Epochs the shipped a64-pgd was trained (models/manifest.json): the chain's starting point. */
const BASE_EPOCHS = 10;

function stageArgs(s: Stage): string[] {
  return ['--arch', 'A', '--k', '64', '--init', s.init, '--data', 'mnist-full', '--adv', 'pgd', '--adv-weight', '1', '--adv-steps', '10', '--adv-step', '0.075', '--epochs', String(s.epochs), '--seed', String(s.seed), '--out', `runs/${s.name}`];
}

function runCli(args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`advtrain: \`bnn-edge ${args.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
}

/** Trains the stage unless runs/<name> already holds it; returns the path of its model.bnn. */
function ensureStage(s: Stage): string {
  const dir = join(ROOT, 'runs', s.name);
  const expected = ['bnn-edge', 'train', ...stageArgs(s)].join(' ');
  const ckptPath = join(dir, 'checkpoint.json');
  if (!existsSync(ckptPath)) {
    process.stderr.write(`[advtrain] training ${s.name}: ${expected}\n`);
    runCli(['train', ...stageArgs(s)]);
  } else {
    const ckpt = JSON.parse(readFileSync(ckptPath, 'utf8')) as { training?: { command?: string }; history?: unknown[] };
    const got = ckpt.training?.command;
    if (got !== expected) throw new Error(`advtrain: runs/${s.name} holds another run ("${got ?? 'no command recorded'}"), not "${expected}"; move it away to train this stage`);
    if ((ckpt.history?.length ?? 0) < s.epochs || !existsSync(join(dir, 'model.bnn'))) {
      process.stderr.write(`[advtrain] resuming ${s.name}\n`);
      runCli(['train', '--out', `runs/${s.name}`, '--resume']);
    } else process.stderr.write(`[advtrain] ${s.name}: cached\n`);
  }
  return join(dir, 'model.bnn');
}

export async function advtrainSuite(): Promise<{ markdown: string; data: unknown }> {
  const rows: { name: string; arch: 'A' | 'R'; epochs: number; path: string }[] = [{ name: 'a64-pgd', arch: 'A', epochs: BASE_EPOCHS, path: join(ROOT, 'models/a64-pgd.bnn') }];
  let epochs = BASE_EPOCHS;
  for (const s of STAGES) {
    epochs += s.epochs;
    rows.push({ name: s.name, arch: 'A', epochs, path: ensureStage(s) });
  }
  rows.push({ name: 'r64-pgd', arch: 'R', epochs: BASE_EPOCHS, path: join(ROOT, 'models/r64-pgd.bnn') });

  const test = loadData().test;
  const n = 500;
  const strongN = 200;
  const table: (string | number)[][] = [];
  const out = [];
  for (const r of rows) {
    const model = parseBnn(readFileSync(r.path), { source: r.path });
    const pgd40 = await whiteboxEval(r.name, model, test, { attack: 'pgd', eps: [0.3], n, steps: 40, step: 0.01, seed: 1 });
    const strong = await whiteboxEval(r.name, model, test, { attack: 'pgd', eps: [0.3], n: strongN, steps: 100, step: 0.01, restarts: 5, seed: 1 });
    const a = pgd40.rows[0]!;
    const b = strong.rows[0]!;
    const trained = r.epochs === BASE_EPOCHS ? `${BASE_EPOCHS} (shipped recipe)` : `${r.epochs} (${BASE_EPOCHS} + ${r.epochs - BASE_EPOCHS} PGD-10)`;
    table.push([r.name, r.arch === 'A' ? 'A (no biases)' : 'R (biases)', trained, pct(pgd40.cleanRuntimeAccuracy, 1), pct(a.runtimeAccuracy, 1), pct(b.runtimeAccuracy, 1), pct(Math.min(a.agreement, b.agreement), 2), pct(Math.max(a.zeroGradientFraction, b.zeroGradientFraction), 1)]);
    out.push({ model: r.name, arch: r.arch, epochs: r.epochs, clean: pgd40.cleanRuntimeAccuracy, pgd40: a, pgd100x5: b });
  }

  const aRows = out.filter((o) => o.arch === 'A');
  const first = aRows[0]!;
  const last = aRows[aRows.length - 1]!;
  const r = out.find((o) => o.arch === 'R')!;
  const p = (x: number) => (100 * x).toFixed(1);
  const verdict =
    last.pgd40.runtimeAccuracy >= TARGET
      ? `With ${last.epochs} epochs the bias-free A keeps ${p(last.pgd40.runtimeAccuracy)}% under 40-step PGD, at or above the ${p(TARGET)}% asked of A+: its shortfall was training, not architecture.`
      : `From ${first.epochs} to ${last.epochs} epochs of PGD training the bias-free A goes from ${p(first.pgd40.runtimeAccuracy)}% to ${p(last.pgd40.runtimeAccuracy)}% under 40-step PGD (${p(first.pgd100x5.runtimeAccuracy)}% to ${p(last.pgd100x5.runtimeAccuracy)}% under 100 steps × 5 restarts), still short of the ${p(TARGET)}% asked of A+; R, with biases, keeps ${p(r.pgd40.runtimeAccuracy)}% / ${p(r.pgd100x5.runtimeAccuracy)}% after ${r.epochs}. ` +
        (r.pgd40.runtimeAccuracy >= TARGET
          ? `${last.epochs - first.epochs} more epochs moved A by ${p(last.pgd40.runtimeAccuracy - first.pgd40.runtimeAccuracy)} points; biases close the gap with the ${r.epochs}-epoch recipe (why: docs/REPRODUCTION.md).`
          : `Neither reaches the target here.`);

  const markdown =
    `The shipped a64-pgd continued Madry-style — adversarial loss only, 10 PGD steps of 0.075 at ε = 0.3, Adam 1e-3 with a cosine schedule restarted at each stage, all 58,000 mnist-full training images — in stages, each \`bnn-edge train --arch A --k 64 --init PREVIOUS --data mnist-full --adv pgd --adv-weight 1 --adv-steps 10 --adv-step 0.075 --epochs N --seed S\` (stages: ${STAGES.map((s) => `${s.name} = ${s.init} + ${s.epochs}, seed ${s.seed}`).join('; ')}). ` +
    `Attacked on the runtime at ε = 0.3: 40 steps of 0.01 (first ${n} images) and 100 steps of 0.01 with 5 random restarts (first ${strongN}), \`bnn-edge attack MODEL --attack pgd --eps 0.3 [--steps 100 --restarts 5] --seed 1\`.\n\n` +
    mdTable(['model', 'architecture', 'epochs trained', 'clean', `PGD-40 (${n} images)`, `PGD-100 × 5 restarts (${strongN} images)`, 'agreement (tfjs vs runtime)', 'zero input gradients'], table) +
    `\n\n${verdict}`;
  return { markdown, data: out };
}
