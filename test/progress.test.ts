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
  assert.equal(formatSeconds(7500), '2h05m');
});
