/** Shared fixtures: random-but-valid models of every architecture, images, byte surgery. */
import { modelFromParams, type BnnModel, type ExportOptions } from '../src/format/model.js';
import { serializeBnn } from '../src/format/write.js';
import { initParams, type ParamValues } from '../src/model/params.js';
import { paperModel, type Arch } from '../src/model/presets.js';
import { Rng } from '../src/util/rng.js';
import { crc32 } from '../src/format/crc32.js';

/** max |got − ref| / max |ref|: the error of a float result relative to its reference's scale. */
export function maxRelErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new RangeError(`lengths differ: ${got.length} vs ${ref.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / scale;
}

/** Parameters with non-trivial batch-norm statistics (as after training) so thresholds vary. */
export function randomParams(arch: Arch, k: number, seed: number): ParamValues {
  const graph = paperModel(arch, k);
  const p = initParams(graph, seed);
  const rng = new Rng(seed + 1);
  for (const [name, v] of p) {
    // bn2 normalizes conv1's ReLU output (small), bn3 conv2's (a scaled popcount: large).
    if (name.endsWith('/moving_mean')) for (let i = 0; i < v.length; i++) v[i] = name.startsWith('bn2') ? 0.02 + 0.02 * rng.next() : 10 * rng.next();
    if (name.endsWith('/moving_variance')) for (let i = 0; i < v.length; i++) v[i] = name.startsWith('bn2') ? 1e-4 + 4e-4 * rng.next() : 20 + 40 * rng.next();
    if (name.endsWith('/beta')) for (let i = 0; i < v.length; i++) v[i] = 0.5 * rng.normal();
    if (name.endsWith('/scale')) v[0] = 0.02 + 0.1 * rng.next();
    // Biases (model R) large enough that the ReLU after them clips a good share of units.
    if (name.endsWith('/bias')) for (let i = 0; i < v.length; i++) v[i] = 0.3 * rng.normal();
  }
  return p;
}

export function randomModel(arch: Arch, k: number, seed = 1, int8?: boolean): BnnModel {
  return modelFromParams(paperModel(arch, k), randomParams(arch, k, seed), int8 === undefined ? {} : { int8 });
}

export function randomModelBytes(arch: Arch, k: number, seed = 1): Uint8Array {
  return serializeBnn(randomModel(arch, k, seed));
}

/** n random 28×28 "images" in [0, 1] with some structure (a bright random blob). */
export function randomImages(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) {
    const cx = 6 + rng.int(16);
    const cy = 6 + rng.int(16);
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const d = Math.hypot(x - cx, y - cy);
        out[i * 784 + y * 28 + x] = Math.min(1, Math.max(0, 1.2 - d / 6 + 0.3 * rng.next()));
      }
  }
  return out;
}

/** Rewrites the checksum after an edit, so a test reaches the check behind it. */
export function fixCrc(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(20, crc32(bytes, 24), true);
  return bytes;
}

/**
 * A random model whose batch-norm statistics are measured on `images` (as training would leave
 * them), so every binary layer's thresholds split its inputs and the bits are informative.
 */
export async function calibratedModel(arch: Arch, k: number, seed: number, images: Float32Array, exportOptions: ExportOptions = {}): Promise<BnnModel> {
  const { initTfjs, tf } = await import('../src/tfjs/backend.js');
  const { TrainableModel } = await import('../src/model/tfjs/trainable.js');
  await initTfjs();
  const graph = paperModel(arch, k);
  const params = randomParams(arch, k, seed);
  const model = new TrainableModel(graph, params, seed);
  const moments = new Map<string, { mean: import('@tensorflow/tfjs').Tensor; variance: import('@tensorflow/tfjs').Tensor }>();
  const rng = new Rng(seed + 2);
  tf.tidy(() => {
    const [h, w, c] = graph.input;
    model.logits(tf.tensor4d(images, [images.length / (h * w * c), h, w, c]), 'batch', moments);
  });
  for (const [layer, m] of moments) {
    params.set(`${layer}/moving_mean`, new Float32Array(m.mean.dataSync()));
    params.set(`${layer}/moving_variance`, new Float32Array(m.variance.dataSync()));
    params.set(`${layer}/beta`, Float32Array.from({ length: m.mean.size }, () => 0.3 * rng.normal()));
    tf.dispose([m.mean, m.variance]);
  }
  model.dispose();
  return modelFromParams(graph, params, exportOptions);
}
