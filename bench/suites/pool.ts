/** Multi-core scaling of BnnPool (worker_threads): images/s from 1 to nproc workers on B-64. */
import { availableParallelism } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadData } from '../../src/data/index.js';
import { modelFromParams } from '../../src/format/model.js';
import { serializeBnn } from '../../src/format/write.js';
import { initParams } from '../../src/model/params.js';
import { paperModel } from '../../src/model/presets.js';
import { BnnPool } from '../../src/runtime/pool.js';
import { BnnRuntime } from '../../src/runtime/index.js';
import { fmt, mdTable } from '../lib.js';
import { MODELS_DIR } from './size.js';

export async function poolSuite(): Promise<{ markdown: string; data: unknown }> {
  const path = join(MODELS_DIR, 'b64.bnn');
  const bytes = existsSync(path) ? readFileSync(path) : serializeBnn(modelFromParams(paperModel('B', 64), initParams(paperModel('B', 64), 1)));
  const data = loadData();
  const n = 2000;
  const images = data.test.images.subarray(0, n * 784);
  const reference = (await BnnRuntime.load(bytes)).predict(images, n);
  const rows: (string | number)[][] = [];
  const out = [];
  let one = 0;
  for (let w = 1; w <= availableParallelism(); w++) {
    const pool = await BnnPool.create(bytes, { workers: w });
    const labels = await pool.predict(images, n);
    for (let i = 0; i < n; i++) if (labels[i] !== reference[i]) throw new Error(`pool with ${w} workers gives other labels than the runtime at image ${i}`);
    let best = Infinity;
    for (let r = 0; r < 15; r++) {
      const t0 = performance.now();
      await pool.predict(images, n);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    await pool.close();
    const ips = n / best;
    if (w === 1) one = ips;
    rows.push([w, fmt(ips), `${fmt(ips / one, 2)}×`]);
    out.push({ workers: w, imagesPerSecond: ips, scaling: ips / one });
  }
  return {
    markdown: mdTable(['workers', `images/s (B-64, batches of ${n})`, 'vs 1 worker'], rows) + `\n\nBest of 15 runs per setting; labels checked equal to a single runtime's.`,
    data: out,
  };
}
