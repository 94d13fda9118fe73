/**
 * Times one PGD-10 training step of model ARCH+K on one shard (batch 64), the unit of work of the
 * reproduction's "+" models, in a process of its own — so that settings read once at start-up,
 * such as OpenBLAS's kernel choice, can be compared:
 *   OPENBLAS_CORETYPE=Haswell node dist/bench/pgd_step.js A 256
 *   OPENBLAS_CORETYPE=SkylakeX node dist/bench/pgd_step.js A 256
 */
import { loadData } from '../src/data/index.js';
import { ARCHS, paperModel, type Arch } from '../src/model/presets.js';
import { describeTfjsBackend, initTfjs } from '../src/tfjs/backend.js';
import { ShardTrainer } from '../src/train/shard.js';
import { benchStepRequest } from './lib.js';

const arch = (process.argv[2] ?? 'A') as Arch;
if (!ARCHS.includes(arch)) throw new Error(`usage: pgd_step.js ARCH K (ARCH one of ${ARCHS.join(', ')}), got "${arch}"`);
const k = Number(process.argv[3] ?? 256);
const spec = paperModel(arch, k);
const trainer = await ShardTrainer.create({ graph: paperModel(arch, k) });
const req = benchStepRequest(spec, loadData().train.images, 64, { eps: 0.3, step: 0.075, steps: 10 });
trainer.step(req); // warm-up
const reps = 3;
const t0 = performance.now();
for (let i = 0; i < reps; i++) trainer.step(req);
const seconds = (performance.now() - t0) / 1000 / reps;
console.log(`${arch}+${k} PGD-10 step, batch 64: ${seconds.toFixed(2)} s (${describeTfjsBackend(await initTfjs())}, OPENBLAS_CORETYPE=${process.env['OPENBLAS_CORETYPE'] ?? 'unset'})`);
