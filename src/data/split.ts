import { Rng } from '../util/rng.js';
import { classCounts, subset, type Dataset } from './dataset.js';

/**
 * Deterministic stratified split: each class contributes to the test set in proportion to its
 * size (largest-remainder rounding, so the test set has exactly `testSize` images), chosen by a
 * seeded shuffle of that class's indices. Both halves are then put in a seeded random order (the
 * source files are sorted by class, so "the first N images" of a half is a fair sample). The
 * split depends on nothing but the labels, `testSize` and `seed`.
 */
export function stratifiedSplit(d: Dataset, testSize: number, seed: number): { train: Dataset; test: Dataset } {
  if (!Number.isInteger(testSize) || testSize <= 0 || testSize >= d.n) {
    throw new RangeError(`testSize must be an integer in (0, ${d.n}), got ${testSize}`);
  }
  const counts = classCounts(d.labels, d.classes);
  const exact = counts.map((c) => (c * testSize) / d.n);
  const quota = exact.map(Math.floor);
  let missing = testSize - quota.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((e, cls) => ({ cls, rem: e - Math.floor(e) }))
    .sort((a, b) => b.rem - a.rem || a.cls - b.cls);
  for (const { cls } of byRemainder) {
    if (missing-- <= 0) break;
    quota[cls]!++;
  }

  const rng = new Rng(seed);
  const isTest = new Uint8Array(d.n);
  for (let cls = 0; cls < d.classes; cls++) {
    const members: number[] = [];
    for (let i = 0; i < d.n; i++) if (d.labels[i] === cls) members.push(i);
    rng.shuffle(members);
    for (let j = 0; j < quota[cls]!; j++) isTest[members[j]!] = 1;
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < d.n; i++) (isTest[i] ? test : train).push(i);
  rng.shuffle(train);
  rng.shuffle(test);
  return { train: subset(d, train, `${d.name} [train]`), test: subset(d, test, `${d.name} [test]`) };
}
