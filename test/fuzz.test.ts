import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeBnn } from '../src/format/write.js';
import { calibratedModel, randomImages } from './helpers.js';
import { fuzzModelFile, fuzzTarget, type FuzzStats } from './fuzz_cases.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 5000);

test(`fuzzing .bnn files: ${RUNS} mutated or random files load or are rejected with a typed error`, async (t) => {
  const images = randomImages(4, 21);
  const targets = [];
  for (const [arch, k] of [['B', 8], ['S', 8], ['A', 4], ['C', 40]] as const) {
    targets.push(await fuzzTarget(`${arch}-${k}`, serializeBnn(await calibratedModel(arch, k, 30, randomImages(16, 22))), images));
  }
  const stats: FuzzStats = { cases: 0, loaded: 0, rejected: {} };
  const per = Math.ceil(RUNS / targets.length);
  for (const [i, target] of targets.entries()) await fuzzModelFile(target, images, per, 1000 + i, stats);
  const rejected = Object.values(stats.rejected).reduce((a, b) => a + b, 0);
  t.diagnostic(`fuzz cases ${stats.cases}: loaded ${stats.loaded}, rejected ${rejected} — ${Object.entries(stats.rejected).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
  assert.equal(stats.cases, per * targets.length);
  assert.equal(stats.loaded + rejected, stats.cases);
  // The generator reaches deep checks, not only the checksum.
  for (const code of ['BAD_CHECKSUM', 'TRUNCATED', 'BAD_MAGIC', 'SHAPE_MISMATCH']) assert.ok((stats.rejected[code] ?? 0) > 0, `no case was rejected with ${code}`);
  assert.ok(stats.loaded > 0, 'some mutations (e.g. of unused bytes with a repaired checksum) still load');
});
