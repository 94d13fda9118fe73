/**
 * npm run bench [-- --suite NAME[,NAME…]] — runs benchmark suites and rewrites bench/RESULTS.md
 * and bench/results.json (sections of suites not run are kept).
 */
import { parseArgs } from 'node:util';
import { loadResults, machine, saveResults, SUITE_ORDER, type SuiteResult } from './lib.js';
import { trainSuite } from './suites/train.js';
import { sizeSuite } from './suites/size.js';
import { paritySuite } from './suites/parity.js';
import { kernelsSuite } from './suites/kernels.js';
import { modelsSuite } from './suites/models.js';
import { poolSuite } from './suites/pool.js';
import { memorySuite } from './suites/memory.js';

const suites: Record<string, () => Promise<{ markdown: string; data: unknown }>> = {
  train: trainSuite,
  size: sizeSuite,
  parity: paritySuite,
  kernels: kernelsSuite,
  models: modelsSuite,
  pool: poolSuite,
  memory: memorySuite,
};

const { values } = parseArgs({ options: { suite: { type: 'string' } } });
const chosen = values.suite ? values.suite.split(',') : SUITE_ORDER.filter((s) => s in suites);
for (const s of chosen) if (!(s in suites)) throw new Error(`unknown suite "${s}" (have: ${Object.keys(suites).join(', ')})`);

const all = loadResults();
for (const name of chosen) {
  process.stderr.write(`\n== ${name} ==\n`);
  const { markdown, data } = await suites[name]!();
  const result: SuiteResult = { suite: name, command: `npm run bench -- --suite ${name}`, machine: machine(), markdown, data };
  all[name] = result;
  saveResults(all);
  process.stdout.write(`\n## ${name}\n${markdown}\n`);
}
process.exit(0);
