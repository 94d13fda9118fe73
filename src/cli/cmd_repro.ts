import { DATA_HELP, loadData } from '../data/index.js';
import { Repro } from '../eval/repro.js';
import { DEFAULT_REPRO_DIR } from '../eval/repro_plan.js';
import { Progress } from '../util/progress.js';
import { queueUrl } from './cmd_worker.js';
import { helpText, noPositionals, numberOption, parseCommand, positiveIntListOption, stringOption, UsageError, type CommandSpec } from './args.js';

export const reproCommand: CommandSpec = {
  name: 'repro',
  summary: "Reproduce the paper's tables on the packed runtime: trains what it needs (resumable), runs every attack, writes docs/REPRODUCTION.md with plots.",
  usage: 'bnn-edge repro [options]',
  options: {
    widths: { type: 'string', help: 'K values', default: '64,128,256', metavar: 'LIST' },
    'adv-widths': { type: 'string', help: 'K values of the adversarially trained models: FGSM "+" and PGD "+*" (default: all --widths)', metavar: 'LIST' },
    seeds: { type: 'string', help: 'seeds per clean model', default: '3', metavar: 'N' },
    epochs: { type: 'string', help: 'epochs per clean model (paper recipe)', default: '15', metavar: 'N' },
    'train-images': { type: 'string', help: 'train on the first N training images only (a quick run; default: all)', metavar: 'N' },
    'adv-seeds': { type: 'string', help: 'seeds per PGD-trained "+*" model of the FGSM table (the others take seed 1)', default: '3', metavar: 'N' },
    'adv-epochs': { type: 'string', help: 'epochs per adversarially trained model', default: '15', metavar: 'N' },
    'adv-clean-epochs': { type: 'string', help: 'clean epochs before adversarial training', default: '5', metavar: 'N' },
    'adv-steps': { type: 'string', help: 'PGD steps in adversarial training', default: '40', metavar: 'N' },
    'adv-step': { type: 'string', help: 'PGD step size in adversarial training', default: '0.01', metavar: 'X' },
    n: { type: 'string', help: 'images attacked by FGSM / PGD', default: '1000', metavar: 'N' },
    'cw-n': { type: 'string', help: 'images attacked by Carlini–Wagner', default: '500', metavar: 'N' },
    'bb-n': { type: 'string', help: 'black-box evaluation images (after the 150 seeds)', default: '1850', metavar: 'N' },
    'hsj-n': { type: 'string', help: 'images attacked by HopSkipJump', default: '20', metavar: 'N' },
    'hsj-queries': { type: 'string', help: 'HopSkipJump query budget per image', default: '5000', metavar: 'N' },
    data: { type: 'string', help: `what every model trains on and is tested on (its training and test splits): ${DATA_HELP} (default: the embedded 8,000 / 2,000 MNIST digits; mnist-full trains on the paper's MNIST training set and tests on the held-out 2,000)`, metavar: 'NAME|DIR' },
    'also-test': { type: 'string', help: "also score the FGSM tables' models on this data's test images (evaluations fgsm-on-NAME), e.g. mnist: MNIST's official 10,000 for a run with --data mnist-full", metavar: 'NAME|DIR' },
    compare: { type: 'string', help: "another run's results (its .json or .md) to set beside this one's, cell by cell: what a change of data or training did (e.g. docs/REPRODUCTION.md, the 8,000-image run, beside a --data mnist-full run)", metavar: 'FILE' },
    dir: { type: 'string', help: 'cache of trained checkpoints', default: DEFAULT_REPRO_DIR, metavar: 'DIR' },
    out: { type: 'string', help: 'markdown to write (relative to the working directory, like --dir); SVGs and the results (.json of the same name, which a run resumes from) go beside it', default: 'docs/REPRODUCTION.md', metavar: 'FILE' },
    models: { type: 'string', help: 'take only these models, e.g. B256-s2,C256-s2 (default: every model the document needs)', metavar: 'LIST' },
    evals: { type: 'string', help: 'take only these kinds of evaluation: fgsm, fgsm-paper, fgsm-f32, pgd, pgd-t100, eot-pgd, auto (AutoAttack at ε 0.3), auto-eps0.05 / 0.1 / 0.2, cw-paper, blackbox, blackbox-paper, hsj, fgsm-on-NAME (default: all)', metavar: 'LIST' },
    'stop-after': { type: 'string', help: 'run at most N new evaluations, then write the (partial) document', metavar: 'N' },
    'render-only': { type: 'boolean', help: 'only re-render the document from cached results' },
    queue: { type: 'string', help: 'run the plan as jobs on a queue (Redis) that `bnn-edge worker --queue URL` processes on any machine, e.g. redis://lab1:6379', metavar: 'URL' },
    status: { type: 'boolean', help: 'with --queue: show each run on the queue (done / running / queued / failed, ETA) and exit' },
    'no-wait': { type: 'boolean', help: 'with --queue: queue the jobs and exit (run the command again to collect the results into the document)' },
    json: { type: 'boolean', help: 'with --status: as JSON' },
  },
  details: 'The full default run trains 30 clean, 19 PGD-trained ("+*") and 6 FGSM-trained ("+") models and takes days on 2 cores; a reduced run, e.g.\n  bnn-edge repro --widths 64 --adv-seeds 1 --adv-steps 7 --adv-step 0.1\ntakes a few hours. Every finished evaluation is cached and every model saved after each epoch, so a run can be stopped and resumed\n(a model stopped mid-training continues from its last finished epoch, an AutoAttack evaluation from the last part of an attack it finished);\nthe document is rewritten after each evaluation and says how many are done (--stop-after N ends a session early on purpose;\n--models picks which models a session trains and attacks).\nTraining uses 2 threads. More cores or machines: start Redis, a `bnn-edge worker --queue URL` per 2 cores on each machine\n(all seeing --dir as one shared directory), then this command with --queue URL: each training and evaluation is a job\nnamed by a hash of its settings, so a finished job is never run again. Without --queue everything runs here, with no Redis.',
};

export async function runRepro(argv: string[]): Promise<number> {
  const p = parseCommand(reproCommand, argv);
  if (p.help) return process.stdout.write(helpText(reproCommand)), 0;
  noPositionals(p);
  const queue = p.values.queue === undefined ? undefined : queueUrl(stringOption(p, 'queue')!);
  for (const flag of ['status', 'no-wait', 'json'] as const) if (p.values[flag] && !queue) throw new UsageError(`--${flag} needs --queue URL`);
  if (queue && p.values['stop-after'] !== undefined) throw new UsageError('--stop-after is for a local run; with --queue, stop the workers instead (a job stopped mid-way is taken up again from its checkpoint)');
  if (queue && p.values.status) return showStatus(queue, p.values.json === true);
  const widthList = (name: string) => positiveIntListOption(p, name, 4096)!;
  const widths = widthList('widths');
  const advWidths = p.values['adv-widths'] === undefined ? widths : widthList('adv-widths');
  const stray = advWidths.find((k) => !widths.includes(k));
  if (stray !== undefined) throw new UsageError(`--adv-widths ${stray} is not one of --widths ${widths.join(',')}`);
  const int = (name: string, min = 1) => numberOption(p, name, { integer: true, min })!;
  const nameList = (flag: string, list: string) => {
    const names = list.split(',').map((s) => s.trim()).filter(Boolean);
    if (!names.length) throw new UsageError(flag === 'models' ? '--models needs model names such as B256-s2,C256-s2' : '--evals needs kinds of evaluation such as fgsm,pgd');
    return names;
  };
  const modelList = (list: string) => nameList('models', list);
  const out = stringOption(p, 'out')!;
  if (int('adv-clean-epochs', 0) >= int('adv-epochs')) throw new UsageError(`--adv-clean-epochs ${int('adv-clean-epochs', 0)} leaves no adversarial epoch of --adv-epochs ${int('adv-epochs')}`);
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
      out,
      ...(p.values['train-images'] === undefined ? {} : { trainImages: int('train-images') }),
      ...(p.values['also-test'] === undefined ? {} : { alsoTest: stringOption(p, 'also-test')! }),
      ...(p.values.compare === undefined ? {} : { compare: stringOption(p, 'compare')! }),
      only: p.values.models === undefined ? undefined : modelList(stringOption(p, 'models')!),
      ...(p.values.evals === undefined ? {} : { evals: nameList('evals', stringOption(p, 'evals')!) }),
      log: (m) => process.stderr.write(`[repro] ${m}\n`),
      onProgress: (task, done, total) => {
        if (bar?.label !== task) bar = { label: task, progress: new Progress({ label: task, total }) };
        bar.progress.update(done);
      },
    },
    loadData({ dir: stringOption(p, 'data') }),
  );
  if (p.values['render-only']) repro.render();
  else if (queue) return runQueued(repro, queue, p.values['no-wait'] === true, argv);
  else await repro.run(p.values['stop-after'] === undefined ? Infinity : int('stop-after'));
  process.stdout.write(`wrote ${repro.config.out}\n`);
  return 0;
}

/** The queue's code (and BullMQ) is loaded only when asked for: a local run needs neither Redis nor them. */
async function runQueued(repro: Repro, url: string, noWait: boolean, argv: string[]): Promise<number> {
  const { runOnQueue } = await import('../queue/coordinator.js');
  const log = (m: string) => process.stderr.write(`[repro] ${m}\n`);
  // Stopping the coordinator stops no job: the workers go on, and running the command again collects.
  process.once('SIGINT', () => {
    log('stopped; the queued jobs go on on the workers: run the same command again to collect their results');
    process.exit(130);
  });
  const { redactUrls } = await import('../queue/url.js');
  // The command is kept in Redis and shown by --status: without the queue's password.
  const s = await runOnQueue(repro, { url, log, wait: !noWait, command: redactUrls(['bnn-edge repro', ...argv].join(' ')) });
  if (noWait) {
    process.stdout.write(`queued run ${s.runId}: ${s.done} of ${s.total} evaluations already done; follow it with --status\n`);
    return 0;
  }
  for (const f of s.failed) process.stderr.write(`[repro] FAILED ${f.what} (${f.id}) after ${f.attempts} tries: ${f.error}\n`);
  if (s.blocked.length) process.stderr.write(`[repro] not run, their model failed: ${s.blocked.join(', ')}\n`);
  process.stdout.write(`wrote ${repro.config.out} (${s.done} of ${s.total} evaluations)\n`);
  return s.failed.length ? 1 : 0;
}

async function showStatus(url: string, json: boolean): Promise<number> {
  const { queueStatus, formatStatus } = await import('../queue/status.js');
  const s = await queueStatus(url);
  process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
  return 0;
}
