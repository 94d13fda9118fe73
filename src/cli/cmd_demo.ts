import { existsSync } from 'node:fs';
import { loadData } from '../data/index.js';
import { listModels, runDemo } from '../eval/demo.js';
import { dataOption } from './cmd_attack.js';
import { helpText, numberOption, parseCommand, stringOption, UsageError, type CommandSpec } from './args.js';
import { SHIPPED_MODELS } from './files.js';
import { bytes, pct, table } from './format.js';

export const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'The main job: evaluate every shipped model (size, runtime speed, clean and attacked accuracy on tfjs and on the packed runtime).',
  usage: 'bnn-edge demo [MODEL.bnn|RUN_DIR ...] [options]',
  options: {
    models: { type: 'string', help: 'directory of .bnn files', default: 'the shipped models/', metavar: 'DIR' },
    data: dataOption,
    n: { type: 'string', help: 'clean-evaluation images (default: all 2,000 test images)', metavar: 'N' },
    'attack-n': { type: 'string', help: 'images attacked with FGSM', default: '500', metavar: 'N' },
    eps: { type: 'string', help: 'FGSM L∞ radius', default: '0.1', metavar: 'X' },
    json: { type: 'boolean', help: 'print JSON' },
  },
};

export async function runDemoCommand(argv: string[]): Promise<number> {
  const p = parseCommand(demoCommand, argv);
  if (p.help) return process.stdout.write(helpText(demoCommand)), 0;
  const dir = stringOption(p, 'models') === demoCommand.options['models']!.default ? SHIPPED_MODELS : stringOption(p, 'models')!;
  const paths = p.positionals.length ? p.positionals : existsSync(dir) ? listModels(dir) : [];
  if (!paths.length) throw new UsageError(`no .bnn models found in ${dir}`);
  const data = loadData({ dir: stringOption(p, 'data'), testOnly: true });
  const rows = await runDemo(paths, data.test, {
    cleanImages: numberOption(p, 'n', { integer: true, min: 1 }),
    attackImages: numberOption(p, 'attack-n', { integer: true, min: 1 })!,
    eps: numberOption(p, 'eps', { min: 0, max: 1 })!,
    onModel: (name, i, total) => process.stderr.write(`[${i + 1}/${total}] ${name} …\n`),
  });
  if (p.values['json']) {
    process.stdout.write(JSON.stringify({ data: data.source, models: rows }, null, 2) + '\n');
    return 0;
  }
  const r0 = rows[0]!;
  process.stdout.write(
    `\nbnn-edge models on ${data.source}: clean accuracy on ${r0.clean.images} test images; FGSM ε=${r0.attack.eps} crafted on the tfjs graph rebuilt from each .bnn (${r0.attack.images} images) and replayed on the packed runtime\n\n`,
  );
  process.stdout.write(
    table(
      ['model', '.bnn size', 'vs float32', 'runtime img/s', 'clean tfjs', 'clean runtime', 'agree', `FGSM tfjs`, 'FGSM runtime', 'agree'],
      rows.map((r) => [
        r.model,
        bytes(r.fileBytes),
        `${r.compression.toFixed(1)}× smaller`,
        Math.round(r.runtimeImagesPerSecond).toLocaleString('en-US'),
        pct(r.clean.tfjsAccuracy),
        pct(r.clean.runtimeAccuracy),
        pct(r.clean.agreement),
        pct(r.attack.tfjsAccuracy),
        pct(r.attack.runtimeAccuracy),
        pct(r.attack.agreement),
      ]),
    ),
  );
  process.stdout.write('\nagree = share of images where the runtime and the tfjs graph give the same label.\n');
  return 0;
}
