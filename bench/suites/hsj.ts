/**
 * HopSkipJump, label-only, straight on the packed runtime: the share of images it fools and the
 * median L2 after 1k / 5k / 20k queries per image, for each shipped model; then what the runtime's
 * speed buys — the same attack with the rebuilt tfjs graph as the oracle, timed in the same run.
 */
import { loadData } from '../../src/data/index.js';
import { hsjEval } from '../../src/eval/attacks.js';
import { hopSkipJump } from '../../src/attacks/hopskipjump.js';
import { LogitsOracle, RuntimeOracle, type Oracle } from '../../src/attacks/model.js';
import { DeployedGraph } from '../../src/model/tfjs/deployed.js';
import { BnnRuntime } from '../../src/runtime/index.js';
import { initTfjs } from '../../src/tfjs/backend.js';
import { fmt, mdTable, pct } from '../lib.js';
import { attackedModels } from './attacks.js';

const BUDGETS = [1000, 5000, 20000];
const IMAGES = 10;
/** The speed comparison: this many images at this budget on each oracle. */
const SPEED_IMAGES = 2;
const SPEED_BUDGET = 5000;

export async function hsjSuite(): Promise<{ markdown: string; data: unknown }> {
  const test = loadData().test;
  const backend = await initTfjs();
  const shipped = attackedModels();
  const rows: (string | number)[][] = [];
  const speedRows: (string | number)[][] = [];
  const data = [];
  for (const { name, model } of shipped) {
    process.stderr.write(`hsj: ${name}\n`);
    const r = await hsjEval(name, model, test, { n: IMAGES, budgets: BUDGETS, seed: 1 });
    rows.push([name, ...r.budgets.map((b) => `${pct(b.successRate, 0)} / ${pct(b.successAtL2, 0)} / ${Number.isFinite(b.medianL2) ? fmt(b.medianL2, 2) : '∞'}`), r.totalQueries.toLocaleString('en-US'), fmt(r.seconds, 1), Math.round(r.queriesPerSecond).toLocaleString('en-US')]);
    let speed = null;
    const graph = new DeployedGraph(model, 0, name);
    if (!graph.stochastic) {
      // Same images, seeds and budget on both oracles. Labels agree except on exact boundary
      // ties, so the walks are the same or nearly; the cost per query is what is compared.
      const rt = await BnnRuntime.fromModel(model);
      const pred = rt.predict(test.images.subarray(0, 100 * 784), 100);
      const picked = Array.from({ length: 100 }, (_, i) => i).filter((i) => pred[i] === test.labels[i]).slice(0, SPEED_IMAGES);
      const walk = (make: () => Oracle) => {
        let queries = 0;
        const l2: number[] = [];
        const t0 = performance.now();
        for (const i of picked) {
          const oracle = make();
          const trace = hopSkipJump(oracle, test.images.slice(i * 784, (i + 1) * 784), test.labels[i]!, { budget: SPEED_BUDGET, seed: 1 + i });
          queries += oracle.queries;
          l2.push(trace.trajectory.at(-1)?.l2 ?? Infinity);
        }
        const seconds = (performance.now() - t0) / 1000;
        return { queries, seconds, perSecond: queries / seconds, l2 };
      };
      const onRuntime = walk(() => new RuntimeOracle(rt));
      const onTfjs = walk(() => new LogitsOracle(graph.logitsFn, graph));
      rt.dispose();
      speed = { runtime: onRuntime, tfjs: onTfjs };
      speedRows.push([
        name,
        `${Math.round(onRuntime.perSecond).toLocaleString('en-US')} (${fmt(onRuntime.seconds, 1)} s)`,
        `${Math.round(onTfjs.perSecond).toLocaleString('en-US')} (${fmt(onTfjs.seconds, 1)} s)`,
        `${fmt(onRuntime.perSecond / onTfjs.perSecond, 1)}×`,
        `${onRuntime.l2.map((v) => fmt(v, 2)).join(', ')} / ${onTfjs.l2.map((v) => fmt(v, 2)).join(', ')}`,
      ]);
    }
    graph.dispose();
    data.push({ ...r, speed });
  }
  const budgetCols = BUDGETS.map((b) => `${b.toLocaleString('en-US')} queries`);
  const markdown =
    `HopSkipJump (L2, untargeted) with only \`rt.predict\` labels, on the first ${IMAGES} test images; each cell: images fooled at any distance / fooled within L2 ≤ 2 / median L2 of the best adversarial so far (an image the model already misclassifies counts as fooled at 0; ∞ when fewer than half are fooled).\n\n` +
    mdTable(['model', ...budgetCols, 'queries', 'seconds', 'runtime queries/s'], rows) +
    `\n\nThe same walk (first ${SPEED_IMAGES} correctly classified test images, ${SPEED_BUDGET.toLocaleString('en-US')} queries each, same seeds) with the packed runtime and with the tfjs graph rebuilt from the .bnn (tfjs backend: ${backend}) as the oracle. A label-only attack spends most queries in batches of 100–1,000 and many in single-image binary-search steps, so per-call overhead counts as much as throughput.\n\n` +
    mdTable(['model', 'runtime queries/s', 'tfjs queries/s', 'runtime / tfjs', 'final L2 runtime / tfjs'], speedRows);
  return { markdown, data };
}
