/** worker_threads entry: runs ShardTrainer requests posted by a ThreadPool (see pool.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { ShardTrainer, type MomentsRequest, type PredictRequest, type ShardModel, type StepRequest } from './shard.js';

type Request = { id: number; kind: 'step'; req: StepRequest } | { id: number; kind: 'predict'; req: PredictRequest } | { id: number; kind: 'moments'; req: MomentsRequest };

const port = parentPort;
if (!port) throw new Error('train/worker.js must run as a worker thread');
const trainerReady = ShardTrainer.create(workerData as ShardModel);

port.on('message', (msg: Request) => {
  trainerReady
    .then((trainer) => {
      if (msg.kind === 'step') {
        const r = trainer.step(msg.req);
        port.postMessage({ id: msg.id, ok: true, result: r }, [r.grads.buffer as ArrayBuffer, r.moments.buffer as ArrayBuffer]);
      } else if (msg.kind === 'moments') {
        const m = trainer.moments(msg.req);
        port.postMessage({ id: msg.id, ok: true, result: m }, [m.buffer as ArrayBuffer]);
      } else {
        const labels = trainer.predict(msg.req);
        port.postMessage({ id: msg.id, ok: true, result: labels }, [labels.buffer as ArrayBuffer]);
      }
    })
    .catch((e: unknown) => port.postMessage({ id: msg.id, ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) }));
});
