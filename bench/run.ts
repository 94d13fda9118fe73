/**
 * The benchmark runner behind `npm run bench` and `bnn-edge bench`: runs suites, rewrites
 * bench/RESULTS.md and bench/results.json (sections of suites not run are kept), and returns the
 * figures.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadResults, machine, saveResults, type SuiteResult } from './lib.js';
import { trainSuite } from './suites/train.js';
import { packageSuite } from './suites/package.js';
import { sizeSuite } from './suites/size.js';
import { paritySuite } from './suites/parity.js';
import { kernelsSuite } from './suites/kernels.js';
import { modelsSuite } from './suites/models.js';
import { poolSuite } from './suites/pool.js';
import { memorySuite } from './suites/memory.js';
import { fuzzSuite } from './suites/fuzz.js';
import { accuracySuite } from './suites/accuracy.js';
import { arm64Suite } from './suites/arm64.js';
import { attacksSuite } from './suites/attacks.js';
import { hsjSuite } from './suites/hsj.js';
import { cwSuite } from './suites/cw.js';
import { nativeSuite } from './suites/native.js';
import { graphSuite } from './suites/graph.js';
import { graphAttacksSuite } from './suites/graph_attacks.js';
import { epochSuite } from './suites/epoch.js';
import { autoattackSuite } from './suites/autoattack.js';
import { robustSuite } from './suites/robust.js';
import { serveSuite } from './suites/serve.js';
import { verifySuite } from './suites/verify.js';
import { verifySolversSuite } from './suites/verify_solvers.js';
import { verifiableSuite } from './suites/verifiable.js';
import { cbdSuite } from './suites/cbd.js';

export const SUITES: Record<string, () => Promise<{ markdown: string; data: unknown }>> = {
  train: trainSuite,
  size: sizeSuite,
  parity: paritySuite,
  kernels: kernelsSuite,
  models: modelsSuite,
  pool: poolSuite,
  memory: memorySuite,
  fuzz: fuzzSuite,
  accuracy: accuracySuite,
  arm64: arm64Suite,
  attacks: attacksSuite,
  verify: verifySuite,
  'verify-solvers': verifySolversSuite,
  verifiable: verifiableSuite,
  cbd: cbdSuite,
  hsj: hsjSuite,
  cw: cwSuite,
  native: nativeSuite,
  graph: graphSuite,
  'graph-attacks': graphAttacksSuite,
  epoch: epochSuite,
  autoattack: autoattackSuite,
  robust: robustSuite,
  serve: serveSuite,
  queue: async () => (await import('./suites/queue.js')).queueSuite(), // loads BullMQ and the test cluster only when asked for
  package: packageSuite,
};

/** Suites run by default (accuracy trains eight models: ask for it by name). */
export const DEFAULT_SUITES = ['train', 'size', 'parity', 'kernels', 'models', 'pool', 'memory'];

export interface BenchOptions {
  readonly suites?: readonly string[];
  /** How the run was started, recorded in RESULTS.md. */
  readonly command?: (suite: string) => string;
  /** Print each suite's markdown as it finishes. */
  readonly print?: boolean;
}

export async function runBench(opts: BenchOptions = {}): Promise<Record<string, SuiteResult>> {
  const chosen = opts.suites?.length ? [...opts.suites] : DEFAULT_SUITES;
  for (const s of chosen) if (!(s in SUITES)) throw new Error(`unknown suite "${s}" (have: ${Object.keys(SUITES).join(', ')})`);
  const ran: Record<string, SuiteResult> = {};
  for (const name of chosen) {
    process.stderr.write(`\n== ${name} ==\n`);
    const { markdown, data } = await SUITES[name]!();
    const result: SuiteResult = { suite: name, command: opts.command?.(name) ?? `npm run bench -- --suite ${name}`, machine: machine(), markdown, data };
    ran[name] = result;
    // Re-read just before writing: another bench run may have finished a suite in the meantime,
    // and reading once at start would overwrite its section with the stale copy.
    saveResults({ ...loadResults(), [name]: result });
    if (opts.print) process.stdout.write(`\n## ${name}\n${markdown}\n`);
  }
  return ran;
}

/**
 * The suites as jobs on a queue (`--queue redis://…`): each runs on whichever `bnn-edge worker`
 * (started from a clone at the same commit) takes it; results land here as they arrive.
 */
export async function runBenchQueued(url: string, suites: readonly string[]): Promise<number> {
  for (const s of suites) if (!(s in SUITES)) throw new Error(`unknown suite "${s}" (have: ${Object.keys(SUITES).join(', ')})`);
  const { runBenchOnQueue } = await import('../src/queue/bench.js');
  const failed = await runBenchOnQueue({
    url,
    suites,
    log: (m) => process.stderr.write(`${m}\n`),
    onResult: (suite, r) => {
      const result: SuiteResult = { suite, command: `npm run bench -- --suite ${suite} (as a job on a queue; worker ${r.worker})`, machine: r.machine, markdown: r.markdown, data: r.data };
      saveResults({ ...loadResults(), [suite]: result });
      process.stderr.write(`${suite}: measured on ${r.worker} (${r.machine.nproc} cores, ${r.machine.cpu}), written to bench/RESULTS.md\n`);
    },
  });
  for (const f of failed) process.stderr.write(`${f.suite} failed: ${f.error}\n`);
  return failed.length ? 1 : 0;
}

// `node dist/bench/run.js [--suite a,b] [--queue URL]` (npm run bench).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { suite: { type: 'string' }, queue: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(
      `Usage: npm run bench -- [--suite a,b] [--queue URL]\n\nRuns benchmark suites and writes each one's section of bench/RESULTS.md (and bench/results.json)\nwith its command, machine and date.\n\n  --suite a,b   suites to run (default: ${DEFAULT_SUITES.join(', ')})\n                all: ${Object.keys(SUITES).join(', ')}\n  --queue URL   run each suite as a job on a Redis queue (bnn-edge worker --queue URL)\n  -h, --help    this help\n`,
    );
    process.exit(0);
  }
  const unknown = values.suite?.split(',').filter((x) => !(x in SUITES)) ?? [];
  if (unknown.length) {
    process.stderr.write(`unknown suite ${unknown.join(', ')}; suites: ${Object.keys(SUITES).join(', ')}\n`);
    process.exit(2);
  }
  if (values.queue) process.exit(await runBenchQueued(values.queue, values.suite?.split(',') ?? DEFAULT_SUITES));
  await runBench({ suites: values.suite?.split(','), print: true });
  process.exit(0);
}
