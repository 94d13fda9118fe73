import { fileURLToPath } from 'node:url';
import { loadData } from '../data/index.js';
import { Repro } from '../eval/repro.js';
import { Progress } from '../util/progress.js';
import { dataOption } from './cmd_attack.js';
import { helpText, numberOption, parseCommand, positiveIntListOption, stringOption, UsageError, type CommandSpec } from './args.js';

const DOC = fileURLToPath(new URL('../../../docs/REPRODUCTION.md', import.meta.url));

export const reproCommand: CommandSpec = {
  name: 'repro',
  summary: "Reproduce the paper's tables on the packed runtime: trains what it needs (resumable), runs every attack, writes docs/REPRODUCTION.md with plots.",
  usage: 'bnn-edge repro [options]',
  options: {
    widths: { type: 'string', help: 'K values', default: '64,128,256', metavar: 'LIST' },
    'adv-widths': { type: 'string', help: 'K values of the PGD-trained "+" models (default: all --widths)', metavar: 'LIST' },
    seeds: { type: 'string', help: 'seeds per clean model', default: '3', metavar: 'N' },
    epochs: { type: 'string', help: 'epochs per clean model (paper recipe)', default: '15', metavar: 'N' },
    'adv-seeds': { type: 'string', help: 'seeds per PGD-trained model', default: '3', metavar: 'N' },
    'adv-epochs': { type: 'string', help: 'epochs per PGD-trained model', default: '15', metavar: 'N' },
    'adv-clean-epochs': { type: 'string', help: 'clean epochs before adversarial training', default: '5', metavar: 'N' },
    'adv-steps': { type: 'string', help: 'PGD steps in adversarial training', default: '40', metavar: 'N' },
    'adv-step': { type: 'string', help: 'PGD step size in adversarial training', default: '0.01', metavar: 'X' },
    n: { type: 'string', help: 'images attacked by FGSM / PGD', default: '1000', metavar: 'N' },
    'cw-n': { type: 'string', help: 'images attacked by Carlini–Wagner', default: '500', metavar: 'N' },
    'bb-n': { type: 'string', help: 'black-box evaluation images (after the 150 seeds)', default: '1850', metavar: 'N' },
    'hsj-n': { type: 'string', help: 'images attacked by HopSkipJump', default: '20', metavar: 'N' },
    'hsj-queries': { type: 'string', help: 'HopSkipJump query budget per image', default: '5000', metavar: 'N' },
    data: dataOption,
    dir: { type: 'string', help: 'cache of trained checkpoints', default: 'runs/repro', metavar: 'DIR' },
    out: { type: 'string', help: 'markdown to write; SVGs and the results (.json of the same name, which a run resumes from) go beside it', default: 'docs/REPRODUCTION.md', metavar: 'FILE' },
    models: { type: 'string', help: 'take only these models, e.g. B256-s2,C256-s2 (default: every model the document needs)', metavar: 'LIST' },
    'stop-after': { type: 'string', help: 'run at most N new evaluations, then write the (partial) document', metavar: 'N' },
    'render-only': { type: 'boolean', help: 'only re-render the document from cached results' },
  },
  details: 'The full default run trains 27 clean and 18 PGD-trained models and takes days on 2 cores; a reduced run, e.g.\n  bnn-edge repro --widths 64 --adv-seeds 1 --adv-steps 7 --adv-step 0.1\ntakes a few hours. Every finished evaluation is cached and every model saved after each epoch, so a run can be stopped and resumed\n(a model stopped mid-training continues from its last finished epoch);\nthe document is rewritten after each evaluation and says how many are done (--stop-after N ends a session early on purpose;\n--models picks which models a session trains and attacks).\nTraining uses 2 threads: with more cores, start the same command once per 2 cores; the runs claim different\nmodels in the cache (--dir) and merge what each measured into the one results file.',
};

export async function runRepro(argv: string[]): Promise<number> {
  const p = parseCommand(reproCommand, argv);
  if (p.help) return process.stdout.write(helpText(reproCommand)), 0;
  if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const widthList = (name: string) => positiveIntListOption(p, name, 4096)!;
  const widths = widthList('widths');
  const advWidths = p.values['adv-widths'] === undefined ? widths : widthList('adv-widths');
  const stray = advWidths.find((k) => !widths.includes(k));
  if (stray !== undefined) throw new UsageError(`--adv-widths ${stray} is not one of --widths ${widths.join(',')}`);
  const int = (name: string, min = 1) => numberOption(p, name, { integer: true, min })!;
  const modelList = (list: string) => {
    const names = list.split(',').map((s) => s.trim()).filter(Boolean);
    if (!names.length) throw new UsageError('--models needs model names such as B256-s2,C256-s2');
    return names;
  };
  const out = stringOption(p, 'out')!;
  let bar: { label: string; progress: Progress } | undefined;
  const repro = new Repro(
    {
      widths,
      advWidths,
      seeds: int('seeds'),
      epochs: int('epochs'),
      adv: { seeds: int('adv-seeds'), epochs: int('adv-epochs'), cleanEpochs: int('adv-clean-epochs', 0), steps: int('adv-steps'), step: numberOption(p, 'adv-step', { min: 0 })!, eps: 0.3 },
      attackImages: int('n'),
      cwImages: int('cw-n'),
      blackboxImages: int('bb-n'),
      hsjImages: int('hsj-n'),
      hsjQueries: int('hsj-queries', 10),
      dir: stringOption(p, 'dir')!,
      out: out === 'docs/REPRODUCTION.md' ? DOC : out,
      only: p.values.models === undefined ? undefined : modelList(stringOption(p, 'models')!),
      log: (m) => process.stderr.write(`[repro] ${m}\n`),
      onProgress: (task, done, total) => {
        if (bar?.label !== task) bar = { label: task, progress: new Progress({ label: task, total }) };
        bar.progress.update(done);
      },
    },
    loadData({ dir: stringOption(p, 'data') }),
  );
  if (p.values['render-only']) repro.render();
  else await repro.run(p.values['stop-after'] === undefined ? Infinity : int('stop-after'));
  process.stdout.write(`wrote ${repro.config.out}\n`);
  return 0;
}
