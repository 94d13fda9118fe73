/**
 * A model whose parameters are tfjs variables: what `train` optimizes and what evaluates a
 * checkpoint. Binary layers normalize their input with batch statistics while training and with
 * the moving averages otherwise.
 */
import { tf } from '../tfjs/backend.js';
import { Rng } from '../util/rng.js';
import { batchNormalize } from './batch_norm.js';
import { bernoulliSte, binarize, forward, signSte, type LayerOps } from './graph.js';
import { checkParams, type ParamValues } from './params.js';
import { BN_EPSILON, layerShapes, paramInfos, type ConvLayerSpec, type ModelSpec } from './spec.js';

export type BatchNormMode = 'batch' | 'moving';

/** Batch moments seen in a training forward pass, to update the moving averages after the step. */
export type BatchMoments = Map<string, { mean: tf.Tensor; variance: tf.Tensor }>;

let modelCounter = 0;

export class TrainableModel {
  readonly vars = new Map<string, tf.Variable>();
  private readonly binaryWeightLayers: Set<string>;
  private readonly stochasticLayers: Set<string>;
  private sampler: Rng;
  /** sign(w) of the deterministic binary layers while `withFrozenBinaryWeights` runs. */
  private frozen: Map<string, tf.Tensor> | null = null;

  constructor(
    readonly spec: ModelSpec,
    values: ParamValues,
    seed = 0,
  ) {
    checkParams(spec, values, `model ${spec.arch}${spec.k}`);
    const shapes = new Map(paramInfos(spec).map((p) => [p.name, p]));
    // tfjs variable names are global to the engine: prefix them so models can coexist.
    const prefix = `m${modelCounter++}`;
    for (const [name, v] of values) {
      const info = shapes.get(name);
      if (!info) throw new Error(`unexpected parameter ${name} for model ${spec.arch}${spec.k}`);
      this.vars.set(name, tf.variable(tf.tensor(v, info.shape as number[]), info.trainable, `${prefix}/${name}`));
    }
    const convs = layerShapes(spec).map((s) => s.layer).filter((l): l is ConvLayerSpec => l.kind === 'conv');
    this.binaryWeightLayers = new Set(convs.filter((l) => l.binary && !l.stochastic).map((l) => l.name));
    this.stochasticLayers = new Set(convs.filter((l) => l.stochastic).map((l) => l.name));
    this.sampler = new Rng(seed ^ 0x5eed);
  }

  /** Restarts the sampler of stochastic weights (model S), for reproducible forward passes. */
  reseed(seed: number): void {
    this.sampler = new Rng(seed ^ 0x5eed);
  }

  /** Trainable variables in a fixed order (the optimizer's var list). */
  trainableVars(): tf.Variable[] {
    return paramInfos(this.spec).filter((p) => p.trainable).map((p) => this.vars.get(p.name)!);
  }

  private v(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`model ${this.spec.arch}${this.spec.k} has no parameter ${name}`);
    return v;
  }

  /** The LayerOps of this model; in 'batch' mode, batch moments are written to `moments`. */
  ops(bn: BatchNormMode, moments?: BatchMoments): LayerOps {
    return {
      weights: (layer) => {
        const w = this.v(`${layer}/kernel`);
        if (this.stochasticLayers.has(layer)) return bernoulliSte(w, this.sampler.seed());
        if (this.binaryWeightLayers.has(layer)) return this.frozen?.get(layer) ?? signSte(w);
        return w;
      },
      binarizeInput: (layer, _pre, post) => {
        const beta = this.v(`${layer.name}/bn_beta`) as tf.Tensor as tf.Tensor1D;
        const normalized =
          bn === 'batch'
            ? batchNormalize(post, beta, BN_EPSILON, moments && ((m) => moments.set(layer.name, m)))
            : tf.add(tf.div(tf.sub(post, this.v(`${layer.name}/bn_mean`)), tf.sqrt(tf.add(this.v(`${layer.name}/bn_variance`), BN_EPSILON))), beta);
        return signSte(normalized) as tf.Tensor4D;
      },
      scale: (layer) => this.v(`${layer}/scale`),
      bias: (layer) => this.v(`${layer}/bias`),
    };
  }

  /**
   * Runs `body` with the binary weights binarized once rather than at every forward pass, and
   * with no gradient path to them: for passes that only need gradients w.r.t. the input, such as
   * the PGD steps of adversarial training (eleven forward passes at fixed weights; at K = 256
   * re-binarizing 11M weights each time cost about a fifth of the step). The values and the
   * input gradients are those of the straight-through graph, bit for bit. Stochastic weights
   * (model S) are still resampled at every pass.
   */
  withFrozenBinaryWeights<T>(body: () => T): T {
    if (this.frozen) return body();
    const frozen = new Map([...this.binaryWeightLayers].map((l) => [l, binarize(this.v(`${l}/kernel`))] as const));
    this.frozen = frozen;
    try {
      return body();
    } finally {
      this.frozen = null;
      tf.dispose([...frozen.values()]);
    }
  }

  logits(x: tf.Tensor4D, bn: BatchNormMode, moments?: BatchMoments): tf.Tensor2D {
    return forward(this.spec, this.ops(bn, moments), x);
  }

  /** moving ← momentum·moving + (1−momentum)·batch, then releases the batch moments. */
  updateMovingStats(moments: BatchMoments, momentum: number): void {
    for (const [layer, m] of moments) {
      tf.tidy(() => {
        const mm = this.v(`${layer}/bn_mean`);
        const mv = this.v(`${layer}/bn_variance`);
        mm.assign(tf.add(tf.mul(mm, momentum), tf.mul(m.mean, 1 - momentum)));
        mv.assign(tf.add(tf.mul(mv, momentum), tf.mul(m.variance, 1 - momentum)));
      });
      tf.dispose([m.mean, m.variance]);
    }
    moments.clear();
  }

  /** Overwrites parameters with host values (only those given). */
  assign(values: ParamValues): void {
    for (const [name, v] of values) {
      const variable = this.v(name);
      tf.tidy(() => variable.assign(tf.tensor(v, variable.shape)));
    }
  }

  /** Current parameter values, read back to the host. */
  values(): ParamValues {
    const out: ParamValues = new Map();
    for (const p of paramInfos(this.spec)) out.set(p.name, new Float32Array(this.v(p.name).dataSync()));
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
