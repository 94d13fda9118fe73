import { helpText, noPositionals, parseCommand, stringOption, UsageError, type CommandSpec } from './args.js';

export const benchCommand: CommandSpec = {
  name: 'bench',
  summary: 'Measure: training speed, sizes, parity, kernel throughput vs the XOR+popcount peak, model images/s vs tfjs, multi-core scaling, memory. Rewrites bench/RESULTS.md. Runs from a clone of the repository.',
  usage: 'bnn-edge bench [--suite NAME[,NAME…]] [--json]',
  options: {
    suite: { type: 'string', help: 'suites to run, comma-separated (default: the default suites; an unknown name lists them all)', metavar: 'LIST' },
    json: { type: 'boolean', help: 'print the figures as JSON' },
  },
};

/**
 * The benchmarks live in the repository (bench/, with their devDependencies such as `benchmark`),
 * not in the installed package: loaded only when asked for, with a plain answer when absent.
 */
async function loadBench(): Promise<typeof import('../../bench/run.js')> {
  try {
    return await import('../../bench/run.js');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new UsageError('the benchmarks run from a clone of the repository (`npm run bench`); they and their devDependencies are not part of the installed package');
  }
}

export async function runBenchCommand(argv: string[]): Promise<number> {
  const p = parseCommand(benchCommand, argv);
  if (p.help) return process.stdout.write(helpText(benchCommand)), 0;
  noPositionals(p);
  const { DEFAULT_SUITES, runBench, SUITES } = await loadBench();
  const suites = stringOption(p, 'suite')?.split(',');
  for (const s of suites ?? []) if (!(s in SUITES)) throw new UsageError(`unknown suite "${s}" (have: ${Object.keys(SUITES).join(', ')}; default: ${DEFAULT_SUITES.join(', ')})`);
  const json = Boolean(p.values['json']);
  const results = await runBench({ ...(suites ? { suites } : {}), print: !json, command: (s) => `bnn-edge bench --suite ${s}${json ? ' --json' : ''}` });
  if (json) process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { machine: r.machine, figures: r.data }])), null, 2) + '\n');
  return 0;
}
