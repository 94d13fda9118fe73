/**
 * Times one PGD-10 training step of model ARCH+K on one shard (batch 64), the unit of work of the
 * reproduction's "+" models, in a process of its own — so that settings read once at start-up,
 * such as OpenBLAS's kernel choice, can be compared:
 *   OPENBLAS_CORETYPE=Haswell node dist/bench/pgd_step.js A 256
 *   OPENBLAS_CORETYPE=SkylakeX node dist/bench/pgd_step.js A 256
 */
import { loadData } from '../src/data/index.js';
import { initParams } from '../src/model/params.js';
import { ARCHS, modelSpec, type Arch } from '../src/model/spec.js';
import { describeTfjsBackend, initTfjs } from '../src/tfjs/backend.js';
import { flatLayout, flattenTrainable } from '../src/train/flat.js';
import { ShardTrainer, type StepRequest } from '../src/train/shard.js';

const arch = (process.argv[2] ?? 'A') as Arch;
if (!ARCHS.includes(arch)) throw new Error(`usage: pgd_step.js ARCH K (ARCH one of ${ARCHS.join(', ')}), got "${arch}"`);
const k = Number(process.argv[3] ?? 256);
const spec = modelSpec(arch, k);
const trainer = await ShardTrainer.create({ arch, k });
const req: StepRequest = {
  params: flattenTrainable(flatLayout(spec), initParams(spec, 1)),
  images: loadData().train.images.slice(0, 64 * 784),
  labels: Int32Array.from({ length: 64 }, (_, i) => i % 10),
  adversarial: { eps: 0.3, step: 0.075, steps: 10 },
  pgdSeed: 1,
  sampleSeed: 1,
};
trainer.step(req); // warm-up
const reps = 3;
const t0 = performance.now();
for (let i = 0; i < reps; i++) trainer.step(req);
const seconds = (performance.now() - t0) / 1000 / reps;
console.log(`${arch}+${k} PGD-10 step, batch 64: ${seconds.toFixed(2)} s (${describeTfjsBackend(await initTfjs())}, OPENBLAS_CORETYPE=${process.env['OPENBLAS_CORETYPE'] ?? 'unset'})`);
