/** Memory under load: 100,000 single-image predictions and 1,000 load/unload cycles. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadData } from '../../src/data/index.js';
import { BnnRuntime } from '../../src/runtime/index.js';
import { fmt, mdTable } from '../lib.js';
import { MODELS_DIR } from './size.js';

const mib = (b: number) => b / 2 ** 20;

export async function memorySuite(): Promise<{ markdown: string; data: unknown }> {
  const path = join(MODELS_DIR, 'c64.bnn');
  if (!existsSync(path)) throw new Error(`${path} is needed for the memory suite`);
  const bytes = readFileSync(path);
  const one = loadData().test.images.subarray(0, 784);
  const rt = await BnnRuntime.load(bytes);
  rt.predict(one, 1);
  const wasm0 = rt.memoryBytes;
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  for (let i = 0; i < 100000; i++) rt.predict(one, 1);
  const predictSeconds = (performance.now() - t0) / 1000;
  const m1 = process.memoryUsage();
  for (let i = 0; i < 1000; i++) {
    const r = await BnnRuntime.load(bytes);
    r.predict(one, 1);
    r.dispose();
  }
  const m2 = process.memoryUsage();
  const rows = [
    ['100,000 predictions (batch 1)', fmt(mib(m1.rss - m0.rss), 1), fmt(mib(m1.heapUsed - m0.heapUsed), 1), `${fmt(mib(wasm0), 2)} → ${fmt(mib(rt.memoryBytes), 2)}`, `${fmt(predictSeconds, 1)} s`],
    ['then 1,000 load / predict / unload cycles', fmt(mib(m2.rss - m1.rss), 1), fmt(mib(m2.heapUsed - m1.heapUsed), 1), 'each instance its own', ''],
  ];
  return {
    markdown: mdTable(['workload (model c64)', 'RSS change (MiB)', 'JS heap change (MiB)', 'wasm linear memory (MiB)', 'time'], rows) + '\n\nThe same bounds are asserted (generously) by test/hardening.test.ts.',
    data: { rss: [m0.rss, m1.rss, m2.rss], heap: [m0.heapUsed, m1.heapUsed, m2.heapUsed], wasmBefore: wasm0, wasmAfter: rt.memoryBytes, predictSeconds },
  };
}
