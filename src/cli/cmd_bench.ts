import { DEFAULT_SUITES, runBench, SUITES } from '../../bench/run.js';
import { helpText, parseCommand, stringOption, UsageError, type CommandSpec } from './args.js';

export const benchCommand: CommandSpec = {
  name: 'bench',
  summary: 'Measure: training speed, sizes, parity, kernel throughput vs the XOR+popcount peak, model images/s vs tfjs, multi-core scaling, memory. Rewrites bench/RESULTS.md.',
  usage: 'bnn-edge bench [--suite NAME[,NAME…]] [--json]',
  options: {
    suite: { type: 'string', help: `suites to run (default: ${DEFAULT_SUITES.join(', ')}; also: ${Object.keys(SUITES).filter((s) => !DEFAULT_SUITES.includes(s)).join(', ')})`, metavar: 'LIST' },
    json: { type: 'boolean', help: 'print the figures as JSON' },
  },
};

export async function runBenchCommand(argv: string[]): Promise<number> {
  const p = parseCommand(benchCommand, argv);
  if (p.help) return process.stdout.write(helpText(benchCommand)), 0;
  if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const suites = stringOption(p, 'suite')?.split(',');
  for (const s of suites ?? []) if (!(s in SUITES)) throw new UsageError(`unknown suite "${s}" (have: ${Object.keys(SUITES).join(', ')})`);
  const json = Boolean(p.values['json']);
  const results = await runBench({ ...(suites ? { suites } : {}), print: !json, command: (s) => `bnn-edge bench --suite ${s}${json ? ' --json' : ''}` });
  if (json) process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { machine: r.machine, figures: r.data }])), null, 2) + '\n');
  return 0;
}
