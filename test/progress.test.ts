import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSeconds, Progress } from '../src/util/progress.js';

test('progress: a fractional count (an attack part-way through an image) is shown as whole items; times read as s, m, h', () => {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const bar = new Progress({ label: 'auto:A64-s1', total: 1000, stream });
  bar.update(262.34213547646385);
  bar.finish('done');
  const last = lines[lines.length - 1]!;
  assert.match(last, /^auto:A64-s1 [█░]{24} 262\/1000 [0-9.]+s  done\n$/);
  assert.equal(formatSeconds(59.94), '59.9s');
  assert.equal(formatSeconds(125), '2m05s');
  assert.equal(formatSeconds(179.7), '3m00s');
  assert.equal(formatSeconds(59.97), '1m00s');
  assert.equal(formatSeconds(7500), '2h05m');
});

test('progress: the ETA counts only work done since the first update, and is ? until there is some', () => {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  let now = 0;
  const bar = new Progress({ label: 'auto:S64-s1', total: 1000, stream, clock: () => now });
  now = 10_000;
  // 500 items arrive done (skipped, or a resumed run's finished part): no rate yet, so no ETA.
  bar.update(500);
  assert.match(lines[lines.length - 1]!, / 500\/1000 10\.0s eta \?\n$/);
  // 100 more in 20 s: the other 400 take 80 s (not the 16 s that counting the 500 would give).
  now = 30_000;
  bar.update(600);
  assert.match(lines[lines.length - 1]!, / 600\/1000 30\.0s eta 1m20s\n$/);
  now = 40_000;
  bar.update(1000);
  assert.match(lines[lines.length - 1]!, / 1000\/1000 40\.0s eta 0\.0s\n$/);
});
