/**
 * worker_threads entry of the attack pool: tfjs is initialized once, graphs are rebuilt from the
 * served .bnn files (read without following symlinks, size-capped) and kept in a small cache, and
 * each job runs an FGSM or PGD on one image, or verifies its robustness (src/verify). The main thread enforces the time limit by
 * terminating this worker, so nothing here needs to be interruptible.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fgsm, pgd } from '../attacks/whitebox.js';
import { BnnFormatError } from '../format/errors.js';
import type { BnnModel } from '../format/model.js';
import { parseBnn } from '../format/read.js';
import { verifyRobustness } from '../verify/verify.js';
import { DeployedGraph } from '../model/tfjs/deployed.js';
import { initTfjs } from '../tfjs/backend.js';
import type { JobMessage, WorkerInit, WorkerMessage } from './attack_protocol.js';
import { ServeError } from './errors.js';
import { openServed, readOpened } from './files.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (m: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

/** name → the model, its graph and the identity of the file it was built from (a `ship` may replace it). */
const cache = new Map<string, { stamp: string; model: BnnModel; graph: DeployedGraph }>();

async function graphOf(name: string): Promise<{ model: BnnModel; graph: DeployedGraph }> {
  const opened = await openServed(init.modelsRoot, `${name}.bnn`, init.maxModelBytes).catch((e: unknown) => {
    if (e instanceof ServeError && e.code === 'NOT_FOUND') throw new ServeError(404, 'NOT_FOUND', `no model ${name}`);
    throw e;
  });
  try {
    const { stats } = opened;
    const stamp = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
    const hit = cache.get(name);
    if (hit?.stamp === stamp) return hit;
    const bytes = await readOpened(opened, `${name}.bnn`);
    const model = parseBnn(bytes, { source: `${name}.bnn` });
    const graph = new DeployedGraph(model, 0, name);
    hit?.graph.dispose();
    cache.delete(name);
    const entry = { stamp, model, graph };
    cache.set(name, entry);
    // Oldest first in a Map: drop beyond the cache size.
    for (const [k, v] of cache) {
      if (cache.size <= init.cacheSize) break;
      v.graph.dispose();
      cache.delete(k);
    }
    return entry;
  } finally {
    await opened.handle.close();
  }
}

/** Time a verify job gives the bounds and the exact stage per image (the pool's limit still applies). */
const VERIFY_TIMEOUT_MS = 10_000;

async function run(m: JobMessage): Promise<void> {
  const { model, graph } = await graphOf(m.model);
  const [h, w, c] = graph.inputShape;
  if (m.pixels.length !== h * w * c) throw new ServeError(400, 'BAD_REQUEST', `pixels must be ${h * w * c} numbers in [0, 1] (${h}×${w}×${c}), got ${m.pixels.length}`);
  if (m.label >= graph.classes) throw new ServeError(400, 'BAD_REQUEST', `label must be 0..${graph.classes - 1}, got ${m.label}`);
  if (m.attack === 'verify') {
    const report = await verifyRobustness(model, { images: m.pixels, labels: [m.label] }, { eps: m.eps, n: 1, timeoutMs: VERIFY_TIMEOUT_MS, keepCounterexamples: true });
    const r = report.rows[0]!.results[0]!;
    const adversarial = r.counterexample ? Float32Array.from(r.counterexample) : new Float32Array(0);
    let l2 = 0;
    for (let i = 0; i < adversarial.length; i++) l2 += (adversarial[i]! - m.pixels[i]!) ** 2;
    const verify = { verdict: r.verdict, margin: r.margin, ms: r.ms, ...(r.reason ? { reason: r.reason } : {}) };
    send({ kind: 'done', id: m.id, adversarial, l2: Math.sqrt(l2), verify }, [adversarial.buffer]);
    return;
  }
  const y = Int32Array.of(m.label);
  const out =
    m.attack === 'fgsm'
      ? fgsm(graph, m.pixels, y, m.eps)
      : pgd(graph, m.pixels, y, { eps: m.eps, step: m.eps / 10, steps: 40, randomStart: true, restarts: 1, seed: 1, eot: graph.stochastic ? 10 : 1 });
  const adversarial = out.adversarial.slice();
  send({ kind: 'done', id: m.id, adversarial, l2: out.l2[0]! }, [adversarial.buffer]);
}

initTfjs().then(
  () => {
    send({ kind: 'ready' });
    // One job at a time: the pool never sends another before this one answers.
    port.on('message', (m: JobMessage) => {
      run(m).catch((e: unknown) => {
        const typed =
          e instanceof ServeError
            ? e
            : e instanceof BnnFormatError
              ? new ServeError(422, 'BAD_MODEL', e.message)
              : new ServeError(500, 'ATTACK_FAILED', `the attack failed: ${e instanceof Error ? e.message : String(e)}`);
        send({ kind: 'failed', id: m.id, status: typed.status, code: typed.code, message: typed.message });
      });
    });
  },
  (e: unknown) => send({ kind: 'init-failed', message: e instanceof Error ? e.message : String(e) }),
);
