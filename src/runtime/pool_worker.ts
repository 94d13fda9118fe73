/** worker_threads entry of BnnPool: loads the model once, then answers predict / logits requests. */
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from './pool_errors.js';
// The Node entry: it installs the loader that reads the .wasm builds from disk (fetch cannot).
import { BnnRuntime, type RuntimeOptions } from './index.js';

const port = parentPort!;
const { bytes, options } = workerData as { bytes: Uint8Array; options: RuntimeOptions };

BnnRuntime.load(bytes, options).then(
  (rt) => {
    port.postMessage({ ready: true });
    port.on('message', (m: { id: number; kind: 'predict' | 'logits'; images: Float32Array | Uint8Array; n: number }) => {
      try {
        if (m.kind === 'predict') {
          const labels = rt.predict(m.images, m.n);
          port.postMessage({ id: m.id, ok: true, labels }, [labels.buffer as ArrayBuffer]);
        } else {
          const logits = rt.logits(m.images, m.n);
          port.postMessage({ id: m.id, ok: true, logits }, [logits.buffer as ArrayBuffer]);
        }
      } catch (e) {
        port.postMessage({ id: m.id, ok: false, error: serializeError(e, m.images) });
      }
    });
  },
  (e: unknown) => port.postMessage({ ready: false, error: serializeError(e) }),
);
