/**
 * The work of one gradient shard: given the current parameters and a slice of a batch, compute
 * the mean loss's gradient, the batch-norm moments and the hit count (optionally on a
 * weighted mix of clean and PGD loss). Stateless between calls — every request carries its parameters and seeds —
 * so a result never depends on which thread ran it, and training is reproducible for a seed
 * whatever the number of workers.
 */
import { tf, initTfjs, describeTfjsBackend } from '../tfjs/backend.js';
import { attackLoss } from '../attacks/loss.js';
import { pgdLinf } from '../attacks/pgd.js';
import { initParams } from '../model/params.js';
import { defineGraph, inputSize, type ModelGraph } from '../model/graph.js';
import { TrainableModel, type BatchMoments } from '../model/tfjs/trainable.js';
import { flatLayout, type FlatLayout } from './flat.js';

/** What a worker trains: the model graph (plain JSON, checked again on arrival). */
export interface ShardModel {
  readonly graph: ModelGraph;
}

export interface StepRequest {
  /** Trainable parameters, flat (see flatLayout). */
  readonly params: Float32Array;
  /** n images of the graph's input shape. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  /** PGD settings (FGSM: one step of ε without the random start) and the adversarial loss's share (absent: 0.5). */
  readonly adversarial: { readonly eps: number; readonly step: number; readonly steps: number; readonly randomStart?: boolean; readonly weight?: number } | null;
  readonly pgdSeed: number;
  readonly sampleSeed: number;
  /** Cardinality bound decay: coeff × TrainableModel.cardinalityBoundPenalty(bound) joins the loss (absent: none). */
  readonly cardinalityBoundDecay?: CardinalityBoundDecay | null;
}

/** EEV's cardinality bound decay: a hinge at `bound` on the cardinality bounds of threshold units, weighted by `coeff`. */
export interface CardinalityBoundDecay {
  readonly coeff: number;
  readonly bound: number;
}

export interface StepResult {
  /** Gradient of the shard's mean loss, flat. */
  readonly grads: Float32Array;
  /** Batch mean and (biased) variance of every BN layer's input, flat. */
  readonly moments: Float32Array;
  /** Σ over the shard of the loss (mean loss × n). */
  readonly lossSum: number;
  /** Clean images classified correctly. */
  readonly hits: number;
  readonly n: number;
  /** The tfjs backend that computed it. */
  readonly backend: string;
}

export interface PredictRequest {
  readonly params: Float32Array;
  /** Moving mean and variance of every BN layer, in the moments layout. */
  readonly moving: Float32Array;
  readonly images: Float32Array;
  readonly sampleSeed: number;
}

export interface MomentsRequest {
  readonly params: Float32Array;
  /** n images of the graph's input shape, one shard of a batch. */
  readonly images: Float32Array;
  readonly sampleSeed: number;
}

export class ShardTrainer {
  readonly layout: FlatLayout;
  private readonly model: TrainableModel;

  private constructor(
    readonly shape: ShardModel,
    readonly backend: string,
  ) {
    const graph = defineGraph(shape.graph);
    this.layout = flatLayout(graph);
    this.model = new TrainableModel(graph, initParams(graph, 0));
  }

  static async create(shape: ShardModel): Promise<ShardTrainer> {
    return new ShardTrainer(shape, describeTfjsBackend(await initTfjs()));
  }

  private setParams(flat: Float32Array, moving?: Float32Array): void {
    if (flat.length !== this.layout.size) throw new RangeError(`expected ${this.layout.size} parameters, got ${flat.length}`);
    const values = new Map<string, Float32Array>();
    for (const p of this.layout.params) values.set(p.name, flat.subarray(p.offset, p.offset + p.size));
    if (moving) {
      for (const b of this.layout.bnLayers) {
        values.set(`${b.layer}/moving_mean`, moving.subarray(b.offset, b.offset + b.channels));
        values.set(`${b.layer}/moving_variance`, moving.subarray(b.offset + b.channels, b.offset + 2 * b.channels));
      }
    }
    this.model.assign(values);
  }

  step(req: StepRequest): StepResult {
    this.setParams(req.params);
    this.model.reseed(req.sampleSeed);
    const n = req.labels.length;
    const vars = this.model.trainableVars();
    const moments: BatchMoments = new Map();
    // Only tensors leave the tidy: it walks its result looking for tensors, and walking a large
    // typed array key by key costs hundreds of milliseconds.
    const out = tf.tidy(() => {
      const x = tf.tensor4d(req.images, [n, ...this.model.graph.input]);
      const labels = tf.tensor1d(req.labels, 'int32');
      const onehot = tf.oneHot(labels, this.model.graph.classes) as tf.Tensor2D;
      const ce = (logits: tf.Tensor2D) => tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
      const adv = req.adversarial;
      // Crafted against the current parameters with batch statistics, as the model trains, on
      // the cross-entropy direction computed without float32 saturation (a confident model would
      // otherwise hand PGD a vanishing gradient and train on weak examples).
      const xAdv = adv
        ? this.model.withFrozenBinaryWeights(() =>
            pgdLinf((xa) => tf.sum(attackLoss('ce', this.model.logits(xa, 'batch'), onehot)) as tf.Scalar, x, { ...adv, randomStart: adv.randomStart ?? true, seed: req.pgdSeed }),
          )
        : null;
      let hits: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const logits = this.model.logits(x, 'batch', moments);
        hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')));
        const clean = ce(logits);
        const cbd = req.cardinalityBoundDecay;
        const penalty = cbd ? tf.mul(this.model.cardinalityBoundPenalty(moments, cbd.bound), cbd.coeff) : null;
        let loss = clean;
        if (xAdv) {
          const w = adv!.weight ?? 0.5;
          const advLoss = ce(this.model.logits(xAdv, 'batch'));
          loss = (w >= 1 ? advLoss : tf.add(tf.mul(clean, 1 - w), tf.mul(advLoss, w))) as tf.Scalar;
        }
        return (penalty ? tf.add(loss, penalty) : loss) as tf.Scalar;
      }, vars);
      return { loss: value, hits: hits!, grads: vars.map((v) => grads[v.name]!) };
    });
    const flat = new Float32Array(this.layout.size);
    this.layout.params.forEach((p, i) => flat.set(out.grads[i]!.dataSync() as Float32Array, p.offset));
    const loss = out.loss.dataSync()[0]!;
    const hits = out.hits.dataSync()[0]!;
    tf.dispose([out.loss, out.hits, ...out.grads]);
    return { grads: flat, moments: this.flatMoments(moments), lossSum: loss * n, hits, n, backend: this.backend };
  }

  /** Batch mean and (biased) variance of every BN layer's input on these images, as training computes them (flat, the moments layout). */
  moments(req: MomentsRequest): Float32Array {
    this.setParams(req.params);
    this.model.reseed(req.sampleSeed);
    const n = req.images.length / inputSize(this.model.graph);
    const moments: BatchMoments = new Map();
    tf.tidy(() => {
      this.model.logits(tf.tensor4d(req.images, [n, ...this.model.graph.input]), 'batch', moments);
    });
    return this.flatMoments(moments);
  }

  private flatMoments(moments: BatchMoments): Float32Array {
    const m = new Float32Array(this.layout.momentsSize);
    for (const b of this.layout.bnLayers) {
      const mm = moments.get(b.layer)!;
      m.set(mm.mean.dataSync() as Float32Array, b.offset);
      m.set(mm.variance.dataSync() as Float32Array, b.offset + b.channels);
      tf.dispose([mm.mean, mm.variance]);
    }
    return m;
  }

  predict(req: PredictRequest): Int32Array {
    this.setParams(req.params, req.moving);
    this.model.reseed(req.sampleSeed);
    const px = inputSize(this.model.graph);
    const n = req.images.length / px;
    const out = new Int32Array(n);
    for (let s = 0; s < n; s += 256) {
      const b = Math.min(256, n - s);
      const labels = tf.tidy(() => tf.argMax(this.model.logits(tf.tensor4d(req.images.subarray(s * px, (s + b) * px), [b, ...this.model.graph.input]), 'moving'), 1).dataSync());
      out.set(labels, s);
    }
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}
