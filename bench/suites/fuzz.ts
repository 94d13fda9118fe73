/**
 * Fuzzing figures: per target, the inputs run at the CI setting (5,000 each, seed 1, as `npm test`
 * runs them), their rate, the corpus, the lines of the target's code the corpus reaches (V8 block
 * coverage of the compiled files) and the findings; and one long run (FUZZ_LONG_RUNS inputs on the
 * targets in FUZZ_LONG_TARGETS, default the .bnn reader). A long run's figures are kept from the
 * last time one was made when this run makes none (with that run's date).
 */
import { join } from 'node:path';
import { runFuzz, type FuzzReport } from '../../test/fuzz_engine.js';
import { CORPUS_ROOT, TARGETS } from '../../test/fuzz_targets.js';
import { fmt, loadResults, machine, mdTable } from '../lib.js';

interface Row {
  readonly target: string;
  readonly inputs: number;
  readonly seconds: number;
  readonly corpus: number;
  readonly features: number;
  readonly lines: number;
  readonly covered: number;
  readonly crashes: number;
  readonly hangs: number;
  readonly memory: number;
  readonly date: string;
}

function row(r: FuzzReport): Row {
  const count = (kinds: string[]) => r.findings.filter((f) => kinds.includes(f.kind)).length;
  return {
    target: r.target,
    inputs: r.executed,
    seconds: r.seconds,
    corpus: r.corpus,
    features: r.features,
    lines: r.coverage?.lines ?? 0,
    covered: r.coverage?.covered ?? 0,
    crashes: count(['crash', 'failure', 'died']),
    hangs: count(['hang', 'slow']),
    memory: count(['memory']),
    date: machine().date,
  };
}

function table(rows: readonly Row[], dated: boolean): string {
  return mdTable(
    ['target', 'inputs', 'inputs/s', 'corpus', 'coverage features', 'lines reached', 'crashes / failures', 'hangs', 'over-allocations', ...(dated ? ['run on'] : [])],
    rows.map((r) => [r.target, fmt(r.inputs), fmt(r.inputs / r.seconds), fmt(r.corpus), fmt(r.features), r.lines ? `${fmt(r.covered)} / ${fmt(r.lines)} (${((100 * r.covered) / r.lines).toFixed(0)}%)` : '—', r.crashes, r.hangs, r.memory, ...(dated ? [r.date] : [])]),
  );
}

export async function fuzzSuite(): Promise<{ markdown: string; data: unknown }> {
  const ciRuns = Number(process.env['FUZZ_BENCH_RUNS'] ?? 5000);
  const longRuns = Number(process.env['FUZZ_LONG_RUNS'] ?? 0);
  const longTargets = (process.env['FUZZ_LONG_TARGETS'] ?? 'bnn').split(',');
  const run = (target: string, runs: number, seed: number) =>
    runFuzz({ target, runs, seed, timeoutMs: 20_000, heapMb: 1024, rssMb: 3072, reportCoverage: true, corpusDirs: [join(CORPUS_ROOT, target), join(CORPUS_ROOT, target, 'regressions')] });
  const ci: Row[] = [];
  for (const target of Object.keys(TARGETS)) {
    process.stdout.write(`fuzz ${target}: ${ciRuns} inputs\n`);
    ci.push(row(await run(target, ciRuns, 1)));
  }
  // Long runs made now replace that target's earlier one; the other targets' are kept, dated.
  const long: Row[] = ((loadResults()['fuzz']?.data as { long?: Row[] } | undefined)?.long ?? []).slice();
  for (const target of longRuns > 0 ? longTargets : []) {
    process.stdout.write(`fuzz ${target}: long run of ${longRuns} inputs\n`);
    const r = row(await run(target, longRuns, 20261206));
    const at = long.findIndex((x) => x.target === target);
    if (at >= 0) long[at] = r;
    else long.push(r);
  }
  const described = Object.keys(TARGETS).map(async (t) => {
    const target = await TARGETS[t]!();
    await target.close?.();
    return `- **${t}**: ${target.description}`;
  });
  const markdown = [
    `Coverage-guided fuzzing (test/fuzz_engine.ts: mutations drawn by fast-check, V8 block coverage as feedback, a persistent corpus in test/fuzz-corpus/), every target in its own process with a 1 GiB heap limit, a 3 GiB resident-memory ceiling and a 20 s limit per input. CI (\`npm test\`) runs the same ${fmt(ciRuns)} inputs per target; \`npm run fuzz\` runs them long. Lines reached: of the target's compiled files (listed in fuzz_targets.ts), by the final corpus.`,
    '',
    (await Promise.all(described)).join('\n'),
    '',
    `At the CI setting (${fmt(ciRuns)} inputs each, seed 1):`,
    '',
    table(ci, false),
    '',
    long.length ? 'Long runs (`FUZZ_LONG_RUNS=N FUZZ_LONG_TARGETS=a,b npm run bench -- --suite fuzz`, or `npm run fuzz`), each with the date it was made:' : 'No long run recorded yet (`FUZZ_LONG_RUNS=1000000 npm run bench -- --suite fuzz`).',
    '',
    ...(long.length ? [table(long, true)] : []),
  ].join('\n');
  return { markdown, data: { ci, long } };
}
