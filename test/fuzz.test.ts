/**
 * Fuzzing in CI: every target (fuzz_targets.ts) replays its committed corpus (test/fuzz-corpus/
 * TARGET/, regressions included) and runs ≥ 5,000 mutated inputs, coverage-guided, each in a child
 * process with a memory limit and a per-input time limit. Any crash, property failure, slow input,
 * over-allocation or hang fails the test, naming the saved input.
 *
 * `npm run fuzz` (FUZZ_RUNS=N, default 100,000 per target; FUZZ_TARGETS=a,b to choose) runs them
 * long: new corpus entries are saved to the corpus folders, findings to TARGET/findings/, and the
 * lines of each target's code the corpus reaches are reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runFuzz } from './fuzz_engine.js';
import { CORPUS_ROOT, TARGETS } from './fuzz_targets.js';

const LONG = process.env['FUZZ_RUNS'] !== undefined;
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 5000);
const CHOSEN = process.env['FUZZ_TARGETS']?.split(',') ?? Object.keys(TARGETS);

/** Per-input time limits: generous, they catch hangs, not slowness (the machine may be busy). */
const TIMEOUT_MS: Record<string, number> = { runtime: 20_000, options: 20_000, sharp: 20_000, server: 40_000 };

for (const target of CHOSEN) {
  test(`fuzz ${target}: ${RUNS} mutated inputs after the corpus — no crash, failure, hang or over-allocation`, async (t) => {
    const dir = join(CORPUS_ROOT, target);
    const report = await runFuzz({
      target,
      runs: RUNS,
      seed: LONG ? Date.now() % 1e9 : 1,
      timeoutMs: TIMEOUT_MS[target] ?? 10_000,
      heapMb: 1024,
      rssMb: 3072,
      corpusDirs: [dir, join(dir, 'regressions')],
      ...(LONG ? { saveDir: dir, findingsDir: join(dir, 'findings'), reportCoverage: true } : {}),
    });
    const outcomes = Object.entries(report.outcomes).sort((a, b) => b[1] - a[1]);
    t.diagnostic(`${report.executed} inputs in ${report.seconds.toFixed(1)} s, corpus ${report.corpus} (${report.replayed} replayed, ${report.saved} saved), ${report.features} features, ${outcomes.length} outcomes`);
    t.diagnostic(`most common: ${outcomes.slice(0, 8).map(([k, v]) => `${k} ${v}`).join('; ')}`);
    if (report.coverage) t.diagnostic(`coverage: ${report.coverage.covered} of ${report.coverage.lines} lines — ${Object.entries(report.coverage.files).map(([f, c]) => `${f} ${c.covered}/${c.lines}`).join(', ')}`);
    assert.deepEqual(
      report.findings.map((f) => `${f.kind}: ${f.file}: ${f.message.split('\n')[0]}`),
      [],
      'findings',
    );
    assert.ok(report.executed >= RUNS, `${report.executed} of ${RUNS} inputs ran`);
    // The fuzzer gets past the first checks: more than one kind of outcome, some inputs accepted.
    assert.ok(outcomes.length >= 5, `only ${outcomes.length} distinct outcomes`);
    assert.ok(outcomes.some(([k]) => /^(ok|ran|predict:ok|logits:ok|probabilities:ok)/.test(k)), 'no input was accepted');
  });
}
