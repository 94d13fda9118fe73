/**
 * Papernot et al.'s black-box attack: train a substitute on the oracle's labels, grown by
 * Jacobian-based dataset augmentation, then craft FGSM on the substitute. The oracle is an
 * `Oracle` — labels only — so the attack cannot read logits or gradients of its target.
 */
import { tf } from '../tfjs/backend.js';
import { Rng } from '../util/rng.js';
import type { Shape3 } from '../model/graph.js';
import type { DifferentiableModel, ModelShape, Oracle } from './model.js';

/** Jacobian-augmentation rounds of Papernot et al. (the substitute is trained once per round). */
export const SUBSTITUTE_ROUNDS = 6;

export interface SubstituteOptions {
  /** Augmentation rounds; the substitute is trained once per round (paper: 6). */
  readonly rounds?: number;
  /** Jacobian step λ (paper: 0.1). */
  readonly lambda?: number;
  /** Substitute training epochs per round (paper: 10). */
  readonly epochsPerRound?: number;
  /** Hidden layer widths of the MLP (paper: 200, 200). */
  readonly hidden?: readonly number[];
  readonly learningRate?: number;
  readonly batchSize?: number;
  readonly seed?: number;
  readonly onRound?: (r: { round: number; trainImages: number; queries: number }) => void;
}

/** A ReLU MLP on flattened images of the target's shape, one output per target class, trained on oracle labels. */
export class SubstituteMlp implements DifferentiableModel {
  readonly name = 'substitute-mlp';
  readonly stochastic = false;
  readonly inputShape: Shape3;
  readonly classes: number;
  private readonly px: number;
  private readonly weights: tf.Variable[] = [];
  private readonly biases: tf.Variable[] = [];

  constructor(target: ModelShape, hidden: readonly number[], seed: number) {
    this.inputShape = target.inputShape;
    this.classes = target.classes;
    this.px = target.inputShape[0] * target.inputShape[1] * target.inputShape[2];
    const sizes = [this.px, ...hidden, this.classes];
    const rng = new Rng(seed);
    for (let i = 0; i + 1 < sizes.length; i++) {
      const [fin, fout] = [sizes[i]!, sizes[i + 1]!];
      const limit = Math.sqrt(6 / (fin + fout)); // Glorot uniform
      const w = Float32Array.from({ length: fin * fout }, () => (2 * rng.next() - 1) * limit);
      this.weights.push(tf.variable(tf.tensor2d(w, [fin, fout])));
      this.biases.push(tf.variable(tf.zeros([fout])));
    }
  }

  logits(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor2D = tf.reshape(x, [x.shape[0], this.px]);
      this.weights.forEach((w, i) => {
        h = tf.add(tf.matMul(h, w), this.biases[i]!);
        if (i < this.weights.length - 1) h = tf.relu(h);
      });
      return h;
    });
  }

  fit(images: Float32Array, labels: Int32Array, epochs: number, lr: number, batchSize: number, rng: Rng): void {
    const n = labels.length;
    const opt = tf.train.adam(lr);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const vars = [...this.weights, ...this.biases];
    for (let e = 0; e < epochs; e++) {
      rng.shuffle(order);
      for (let s = 0; s < n; s += batchSize) {
        const b = Math.min(batchSize, n - s);
        const px = this.px;
        const xb = new Float32Array(b * px);
        const yb = new Int32Array(b);
        for (let i = 0; i < b; i++) {
          xb.set(images.subarray(order[s + i]! * px, (order[s + i]! + 1) * px), i * px);
          yb[i] = labels[order[s + i]!]!;
        }
        tf.tidy(() => {
          const x = tf.tensor4d(xb, [b, ...this.inputShape]);
          const y = tf.oneHot(tf.tensor1d(yb, 'int32'), this.classes);
          opt.minimize(() => tf.losses.softmaxCrossEntropy(y, this.logits(x)) as tf.Scalar, false, vars);
        });
      }
    }
    opt.dispose();
  }

  dispose(): void {
    tf.dispose([...this.weights, ...this.biases]);
  }
}

export interface SubstituteTraining {
  readonly substitute: SubstituteMlp;
  /** Oracle queries spent training it (each image labelled once). */
  readonly queries: number;
  readonly trainImages: number;
}

/**
 * Trains a substitute from `seedImages` (n images of the oracle's shape), asking `oracle` only for labels: round ρ labels
 * the new images, trains, then adds x + λ·sign(∇ₓ F[õ(x)]) for every image x of the set.
 */
export function trainSubstitute(oracle: Oracle, seedImages: Float32Array, opts: SubstituteOptions = {}): SubstituteTraining {
  const rounds = opts.rounds ?? SUBSTITUTE_ROUNDS;
  const lambda = opts.lambda ?? 0.1;
  const rng = new Rng(opts.seed ?? 0);
  const substitute = new SubstituteMlp(oracle, opts.hidden ?? [200, 200], rng.seed());
  const [h, w, c] = oracle.inputShape;
  const px = h * w * c;
  let images = seedImages.slice();
  let labels = oracle.labels(images, images.length / px);
  const startQueries = oracle.queries - labels.length;
  for (let round = 0; round < rounds; round++) {
    substitute.fit(images, labels, opts.epochsPerRound ?? 10, opts.learningRate ?? 1e-3, opts.batchSize ?? 32, rng);
    opts.onRound?.({ round: round + 1, trainImages: labels.length, queries: oracle.queries - startQueries });
    if (round === rounds - 1) break;
    // Jacobian augmentation: move each image along the sign of the substitute's gradient for
    // the class the oracle gave it.
    const n = labels.length;
    const added = new Float32Array(images.length);
    for (let s = 0; s < n; s += 256) {
      const b = Math.min(256, n - s);
      const out = tf.tidy(() => {
        const x = tf.tensor4d(images.subarray(s * px, (s + b) * px), [b, h, w, c]);
        const sel = tf.oneHot(tf.tensor1d(labels.subarray(s, s + b), 'int32'), oracle.classes);
        const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(substitute.logits(v as tf.Tensor4D), sel)))(x);
        return tf.clipByValue(tf.add(x, tf.mul(lambda, tf.sign(g))), 0, 1).dataSync() as Float32Array;
      });
      added.set(out, s * px);
    }
    const newLabels = oracle.labels(added, n);
    const grown = new Float32Array(images.length * 2);
    grown.set(images);
    grown.set(added, images.length);
    const grownLabels = new Int32Array(n * 2);
    grownLabels.set(labels);
    grownLabels.set(newLabels, n);
    images = grown;
    labels = grownLabels;
  }
  return { substitute, queries: oracle.queries - startQueries, trainImages: labels.length };
}
