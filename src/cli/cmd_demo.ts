import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { DataError } from '../data/dataset.js';
import { loadData } from '../data/index.js';
import { listModels, runDemo, type DemoData } from '../eval/demo.js';

/** The models `demo` runs by default: representative, and quick enough for about a minute. */
export const DEMO_MODELS = ['b64', 'c64', 'a64-pgd', 'larq-mnist', 'larq-fashion', 'bireal-fashion'];
import { dataOption } from './cmd_attack.js';
import { helpText, numberOption, parseCommand, stringOption, UsageError, type CommandSpec } from './args.js';
import { checkImageShape, findModel, PACKAGE_MODELS, recordOf, testImagesFor } from './files.js';
import { bytes, pct, table } from './format.js';

export const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'The main job: evaluate shipped models (size, runtime speed, clean and attacked accuracy on tfjs and on the packed runtime), each on the test images of the data it was trained on.',
  usage: 'bnn-edge demo [MODEL.bnn|RUN_DIR ...] [--all] [options]',
  options: {
    models: { type: 'string', help: 'directory of .bnn files (with manifest.json)', default: "the package's models/", metavar: 'DIR' },
    all: { type: 'boolean', help: `every model in the directory (default: ${DEMO_MODELS.join(', ')}, those present)` },
    data: dataOption,
    n: { type: 'string', help: 'clean-evaluation images (the first N of each test set)', default: '2000', metavar: 'N' },
    'attack-n': { type: 'string', help: 'images attacked with FGSM', default: '500', metavar: 'N' },
    eps: { type: 'string', help: 'FGSM L∞ radius', default: '0.1', metavar: 'X' },
    json: { type: 'boolean', help: 'print JSON' },
  },
};

export async function runDemoCommand(argv: string[]): Promise<number> {
  const p = parseCommand(demoCommand, argv);
  if (p.help) return process.stdout.write(helpText(demoCommand)), 0;
  const dir = stringOption(p, 'models') === demoCommand.options['models']!.default ? PACKAGE_MODELS : stringOption(p, 'models')!;
  const all = existsSync(dir) ? listModels(dir) : [];
  const chosen = p.values['all'] ? all : all.filter((f) => DEMO_MODELS.includes(basename(f, '.bnn')));
  // Models on the command line are paths or names (`b64`), as every command takes them.
  const paths = p.positionals.length ? p.positionals.map(findModel) : chosen.length ? chosen : all;
  if (!paths.length) throw new UsageError(`no .bnn models found in ${dir}`);
  const dataDir = stringOption(p, 'data');
  // Each model on the test images of what it was trained on (the manifest beside it, a run's
  // checkpoint.json), unless --data says otherwise; images of another shape are refused by name.
  // (--data is read once for every model, not once per model.)
  const fixed = dataDir ? loadData({ dir: dataDir, testOnly: true }) : undefined;
  const data: DemoData = (model, name, path) => {
    if (!fixed) {
      const { source, test } = testImagesFor({ name, model, ...recordOf(path) }, undefined);
      return { name: source, test };
    }
    checkImageShape({ name, model }, fixed.test, fixed.source);
    return { name: fixed.source, test: fixed.test };
  };
  // Models picked from the directory are skipped when their data is not on this machine (Fashion-MNIST
  // comes from a Debian package); a model named on the command line is not, so its error stands.
  const skipped: { model: string; reason: string }[] = [];
  const rows = await runDemo(paths, data, {
    cleanImages: numberOption(p, 'n', { integer: true, min: 1 }),
    attackImages: numberOption(p, 'attack-n', { integer: true, min: 1 })!,
    eps: numberOption(p, 'eps', { min: 0, max: 1 })!,
    onModel: (name, i, total) => process.stderr.write(`[${i + 1}/${total}] ${name} …\n`),
    ...(p.positionals.length
      ? {}
      : {
          onDataMissing: (name: string, e: DataError) => {
            skipped.push({ model: name, reason: e.message });
            process.stderr.write(`  skipped: its test images are not here (${e.message})\n`);
          },
        }),
  });
  if (p.values['json']) {
    process.stdout.write(JSON.stringify({ models: rows, skipped }, null, 2) + '\n');
    return rows.length ? 0 : 1;
  }
  const skippedList = skipped.map((x) => `${x.model} (${x.reason})`).join('; ');
  const r0 = rows[0];
  if (!r0) throw new DataError(dir, `no model in it could be evaluated: ${skippedList}`);
  process.stdout.write(
    `\nbnn-edge models, each on the test images of its data: clean accuracy on up to ${r0.clean.images} images; FGSM ε=${r0.attack.eps} crafted on the tfjs graph rebuilt from each .bnn (${r0.attack.images} images) and replayed on the packed runtime\n\n`,
  );
  process.stdout.write(
    table(
      ['model', 'data', '.bnn size', 'vs float32', 'runtime img/s', 'clean tfjs', 'clean runtime', 'agree', `FGSM tfjs`, 'FGSM runtime', 'agree'],
      rows.map((r) => [
        r.model,
        r.data.replace(/^embedded:mnist$/, 'mnist (embedded)'),
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
  if (skipped.length) process.stdout.write(`\nSkipped, their test images not being on this machine: ${skippedList}.\n`);
  process.stdout.write(`\nagree = share of images where the runtime and the tfjs graph give the same label.${p.values['all'] || p.positionals.length ? '' : ' `bnn-edge demo --all` evaluates every model in models/.'}\n`);
  return 0;
}
