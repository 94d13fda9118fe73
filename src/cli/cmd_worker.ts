import { connectionOptions, QueueUrlError } from '../queue/url.js';
import { helpText, noPositionals, numberOption, parseCommand, stringOption, UsageError, type CommandSpec } from './args.js';

/** A --queue URL checked before anything loads (a bad one is a usage error, exit 2). */
export function queueUrl(url: string): string {
  try {
    connectionOptions(url);
  } catch (e) {
    if (e instanceof QueueUrlError) throw new UsageError(e.message);
    throw e;
  }
  return url;
}

export const workerCommand: CommandSpec = {
  name: 'worker',
  summary: 'Process `bnn-edge repro --queue` jobs (trainings, evaluations) from a Redis queue, one at a time, until stopped.',
  usage: 'bnn-edge worker --queue redis://HOST:PORT [options]',
  options: {
    queue: { type: 'string', help: 'the queue, as given to repro --queue', metavar: 'URL' },
    dir: { type: 'string', help: "this machine's path to the shared checkpoint directory (default: the path repro --dir named on the coordinator)", metavar: 'DIR' },
    'lock-seconds': { type: 'string', help: "a job's lock: a killed worker's job is taken up by another within about twice this", default: '30', metavar: 'S' },
  },
  details:
    'Start one per 2 cores on each machine (training uses 2 threads). Every worker and the coordinator must see the\n' +
    "checkpoint directory (repro --dir) as one shared directory: a model's checkpoint and .bnn go there, the evaluations'\n" +
    'results and the models\' records go to Redis. Ctrl-C (or SIGTERM) stops taking jobs and ends after the current one;\n' +
    'a second Ctrl-C stops at once (the job is taken up again after its lock expires, training from its last epoch).',
};

export async function runWorker(argv: string[]): Promise<number> {
  const p = parseCommand(workerCommand, argv);
  if (p.help) return process.stdout.write(helpText(workerCommand)), 0;
  noPositionals(p);
  const given = stringOption(p, 'queue');
  if (!given) throw new UsageError('--queue URL is required, e.g. --queue redis://127.0.0.1:6379');
  const url = queueUrl(given);
  const lockSeconds = numberOption(p, 'lock-seconds', { min: 1 })!;
  // BullMQ is loaded only by the commands that use it.
  const { startWorker } = await import('../queue/worker.js');
  const log = (m: string) => process.stderr.write(`[worker] ${m}\n`);
  const worker = await startWorker({ url, dir: stringOption(p, 'dir'), lockMs: lockSeconds * 1000, log });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) {
        log('stopping now; the job under way is taken up again once its lock expires');
        process.exit(130);
      }
      stopping = true;
      log('finishing the job under way, then stopping (Ctrl-C again: stop now)');
      worker.close().then(resolve, (e: unknown) => {
        log(`closing: ${e instanceof Error ? e.message : String(e)}`);
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
