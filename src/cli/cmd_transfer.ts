import { transferMatrix } from '../eval/transfer.js';
import { Progress } from '../util/progress.js';
import { dataOption } from './cmd_attack.js';
import { helpText, numberOption, parseCommand, stringOption, UsageError, type CommandSpec } from './args.js';
import { checkImageShape, modelExists, openModel, testImagesFor } from './files.js';
import { pct, table } from './format.js';

/** The default sources and targets: the paper's four architectures as shipped. */
const DEFAULT_MODELS = ['a64', 'b64', 'c64', 's64'];

export const transferCommand: CommandSpec = {
  name: 'transfer',
  summary: "Transfer matrix: adversarial images crafted white-box on each model's tfjs graph, scored on every model's packed runtime.",
  usage: 'bnn-edge transfer [MODEL ...] [--attack fgsm|pgd] [--eps 0.3] [--n 500] [--json]',
  options: {
    attack: { type: 'string', help: 'fgsm or pgd (stochastic sources get EOT over 10 samples)', default: 'fgsm', metavar: 'NAME' },
    eps: { type: 'string', help: 'L∞ radius', default: '0.3', metavar: 'X' },
    n: { type: 'string', help: 'images attacked', default: '500', metavar: 'N' },
    steps: { type: 'string', help: 'PGD iterations', default: '40', metavar: 'N' },
    step: { type: 'string', help: 'PGD step size', default: '0.01', metavar: 'X' },
    temperature: { type: 'string', help: 'divide logits by T in the attack loss', default: '1', metavar: 'T' },
    seed: { type: 'string', help: 'random seed (PGD starts, S sampling)', default: '0', metavar: 'N' },
    data: dataOption,
    json: { type: 'boolean', help: 'print JSON' },
  },
  details: `Without MODEL arguments it uses those of ${DEFAULT_MODELS.join(', ')} that are installed (the npm package carries b64, c64 and s64; a64 is in the repository's models/).`,
};

export async function runTransfer(argv: string[]): Promise<number> {
  const p = parseCommand(transferCommand, argv);
  if (p.help) return process.stdout.write(helpText(transferCommand)), 0;
  const attack = stringOption(p, 'attack');
  if (attack !== 'fgsm' && attack !== 'pgd') throw new UsageError(`--attack must be fgsm or pgd, got "${attack}"`);
  const eps = numberOption(p, 'eps', { min: 0, max: 1 })!;
  const names = p.positionals.length ? p.positionals : DEFAULT_MODELS.filter(modelExists);
  if (!names.length) throw new UsageError(`no models given and none of ${DEFAULT_MODELS.join(', ')} installed`);
  const models = names.map((m) => openModel(m));
  // One test set for every model: --data, else the first model's; each model must take its images.
  const data = testImagesFor(models[0]!, stringOption(p, 'data'));
  for (const m of models.slice(1)) checkImageShape(m, data.test, data.source);
  const bar = new Progress({ label: `transfer (${attack})`, total: models.length, stream: p.values['json'] ? null : undefined });
  const r = await transferMatrix(models, data.test, {
    attack,
    eps,
    n: Math.min(numberOption(p, 'n', { integer: true, min: 1 })!, data.test.n),
    steps: numberOption(p, 'steps', { integer: true, min: 1 })!,
    step: numberOption(p, 'step', { min: 0 })!,
    temperature: numberOption(p, 'temperature', { min: 1e-6 })!,
    seed: numberOption(p, 'seed', { integer: true })!,
    onSource: (name, i) => bar.update(i, `crafting on ${name}`),
  });
  bar.finish();
  if (p.values['json']) {
    process.stdout.write(JSON.stringify({ ...r, data: data.source }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`\n${attack.toUpperCase()} ε=${r.eps} on ${r.images} test images: runtime accuracy of each target (columns) on images crafted on each source (rows)\n\n`);
  process.stdout.write(
    table(
      ['crafted on ↓ / scored on →', ...r.models, 'replay agreement (source)'],
      [
        ['(clean)', ...r.cleanAccuracy.map((a) => pct(a)), ''],
        ...r.models.map((name, s) => [name, ...r.accuracy[s]!.map((a) => pct(a)), pct(r.replay[s]!.agreement)]),
      ],
    ),
  );
  return 0;
}
