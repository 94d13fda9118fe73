/**
 * One benchmark suite for a `bnn-edge worker` (src/queue/bench.ts): `node dist/bench/queue_job.js
 * SUITE OUT.json` runs the suite and writes its markdown, figures and this machine to OUT.json,
 * leaving bench/results.json alone (the coordinator records the result).
 */
import { writeFileSync } from 'node:fs';
import { SUITES } from './run.js';
import { machine } from './lib.js';

const [suite, out] = process.argv.slice(2);
if (!suite || !out || !(suite in SUITES)) {
  process.stderr.write(`usage: queue_job.js SUITE OUT.json (suites: ${Object.keys(SUITES).join(', ')})\n`);
  process.exit(2);
}
const { markdown, data } = await SUITES[suite]!();
writeFileSync(out, JSON.stringify({ markdown, data, machine: machine() }));
process.exit(0);
