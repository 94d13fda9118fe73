/**
 * Every input a fuzzer found to crash or break a property, kept in test/fuzz-corpus/TARGET/
 * regressions/ once fixed, run again through its target in this process: each must now end in an
 * expected outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS_ROOT, removeScratch, TARGETS } from './fuzz_targets.js';

const cases = Object.keys(TARGETS).flatMap((target) => {
  const dir = join(CORPUS_ROOT, target, 'regressions');
  return existsSync(dir) ? readdirSync(dir).sort().map((f) => ({ target, file: join(dir, f) })) : [];
});

test(`fuzz regressions: ${cases.length} inputs that once crashed or failed now end in an expected outcome`, async () => {
  assert.ok(cases.length > 0, 'there are regression inputs');
  const loaded = new Map<string, Awaited<ReturnType<(typeof TARGETS)[string]>>>();
  try {
    for (const c of cases) {
      if (!loaded.has(c.target)) loaded.set(c.target, await TARGETS[c.target]!());
      const outcome = await loaded.get(c.target)!.run(new Uint8Array(readFileSync(c.file)));
      assert.ok(typeof outcome === 'string' && outcome.length > 0, `${c.file}: ${outcome}`);
    }
  } finally {
    removeScratch();
  }
});
