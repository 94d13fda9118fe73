/**
 * A model graph whose parameters are tfjs variables: what `train` optimizes and what evaluates a
 * checkpoint. Every layer kind trains: binarized inputs and binary weights pass gradients straight
 * through (their quantizer says how), batch norm normalizes with batch statistics while training
 * and with the moving averages otherwise, and `padValue: 1` pads a binarized input with +1.
 */
import { tf } from '../../tfjs/backend.js';
import { Rng } from '../../util/rng.js';
import { consumersOf, GRAPH_INPUT, inferShapes, onlyBinarized, padBefore, padTotal, type BatchNormLayer, type LayerShape, type ModelGraph, type QuantConv2dLayer, type QuantDenseLayer } from '../graph.js';
import { checkParams, paramInfos, type ParamValues } from '../params.js';
import { batchNormalize } from './batch_norm.js';
import { bernoulliSte, binarize, positive, signSte, ternarize, ternSte } from './ops.js';

export type BatchNormMode = 'batch' | 'moving';

/** Batch moments seen in a training forward pass, by batch-norm layer, to update the moving averages after the step. */
export type BatchMoments = Map<string, { mean: tf.Tensor; variance: tf.Tensor }>;

let modelCounter = 0;

export class TrainableModel {
  readonly vars = new Map<string, tf.Variable>();
  private readonly shapes: LayerShape[];
  private sampler: Rng;
  /** The batch norms that become thresholds of a binary layer, with that layer (see cardinalityBoundPenalty). */
  private readonly thresholdNorms: ReadonlyArray<{ norm: BatchNormLayer; producer: QuantConv2dLayer | QuantDenseLayer }>;
  /** sign(w) of the deterministic binary kernels while `withFrozenBinaryWeights` runs. */
  private frozen: Map<string, tf.Tensor> | null = null;

  constructor(
    readonly graph: ModelGraph,
    values: ParamValues,
    seed = 0,
  ) {
    checkParams(graph, values, `model ${graph.name}`);
    this.shapes = inferShapes(graph);
    // tfjs variable names are global to the engine: prefix them so models can coexist.
    const prefix = `m${modelCounter++}`;
    for (const p of paramInfos(graph)) this.vars.set(p.name, tf.variable(tf.tensor(values.get(p.name)!, p.shape as number[]), p.trainable, `${prefix}/${p.name}`));
    this.sampler = new Rng(seed ^ 0x5eed);
    this.thresholdNorms = this.thresholdNormsOf();
  }

  /** Restarts the sampler of stochastic weights, for reproducible forward passes. */
  reseed(seed: number): void {
    this.sampler = new Rng(seed ^ 0x5eed);
  }

  /** Trainable variables in a fixed order (the optimizer's var list). */
  trainableVars(): tf.Variable[] {
    return paramInfos(this.graph).filter((p) => p.trainable).map((p) => this.vars.get(p.name)!);
  }

  private v(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`model ${this.graph.name} has no parameter ${name}`);
    return v;
  }

  private kernel(l: QuantConv2dLayer | QuantDenseLayer): tf.Tensor {
    const w = this.v(`${l.name}/kernel`);
    if (l.kernelQuantizer === 'stochastic') return bernoulliSte(w, this.sampler.seed());
    if (l.kernelQuantizer === 'ste_tern') return this.frozen?.get(l.name) ?? ternSte(w);
    if (l.kernelQuantizer) return this.frozen?.get(l.name) ?? signSte(l.kernelQuantizer, w);
    return w;
  }

  /**
   * Runs `body` with the binary weights binarized once rather than at every forward pass, and
   * with no gradient path to them: for passes that only need gradients w.r.t. the input, such as
   * the PGD steps of adversarial training (eleven forward passes at fixed weights). The values
   * and the input gradients are those of the straight-through graph, bit for bit. Stochastic
   * weights are still resampled at every pass.
   */
  withFrozenBinaryWeights<T>(body: () => T): T {
    if (this.frozen) return body();
    const frozen = new Map<string, tf.Tensor>();
    for (const l of this.graph.layers) {
      if ((l.kind === 'quantConv2d' || l.kind === 'quantDense') && l.kernelQuantizer && l.kernelQuantizer !== 'stochastic') {
        const w = this.v(`${l.name}/kernel`);
        frozen.set(l.name, l.kernelQuantizer === 'ste_tern' ? ternarize(w) : binarize(w));
      }
    }
    this.frozen = frozen;
    try {
      return body();
    } finally {
      this.frozen = null;
      tf.dispose([...frozen.values()]);
    }
  }

  /** Logits [n, classes] of images [n, H, W, C]; in 'batch' mode, batch moments are written to `moments`. */
  logits(x: tf.Tensor4D, bn: BatchNormMode, moments?: BatchMoments): tf.Tensor2D {
    const n = x.shape[0];
    const out = new Map<string, tf.Tensor4D>([[GRAPH_INPUT, x]]);
    let last: tf.Tensor4D = x;
    for (const s of this.shapes) {
      const l = s.layer;
      const a = out.get(l.inputs[0]!)!;
      let y: tf.Tensor4D;
      switch (l.kind) {
        case 'quantConv2d': {
          let input: tf.Tensor4D = l.inputQuantizer ? (signSte(l.inputQuantizer, a) as tf.Tensor4D) : a;
          const [h, w] = s.inputs[0]!;
          const [kh, kw] = l.kernelSize;
          const [sh, sw] = l.strides;
          let pad: 'same' | 'valid' = l.padding;
          if (l.padValue === 1 && pad === 'same') {
            // Larq Compute Engine's one-padding: the ±1 input is padded with +1.
            const th = padTotal(h, kh, sh, 'same');
            const tw = padTotal(w, kw, sw, 'same');
            const top = padBefore(h, kh, sh, 'same');
            const left = padBefore(w, kw, sw, 'same');
            if (th + tw > 0) input = tf.pad(input, [[0, 0], [top, th - top], [left, tw - left], [0, 0]], 1);
            pad = 'valid';
          }
          y = tf.conv2d(input, this.kernel(l) as tf.Tensor4D, [sh, sw], pad);
          if (l.useBias) y = tf.add(y, this.v(`${l.name}/bias`));
          break;
        }
        case 'quantDense': {
          const flat = tf.reshape(a, [n, -1]) as tf.Tensor2D;
          const input = l.inputQuantizer ? (signSte(l.inputQuantizer, flat) as tf.Tensor2D) : flat;
          let z: tf.Tensor2D = tf.matMul(input, this.kernel(l) as tf.Tensor2D);
          if (l.useBias) z = tf.add(z, this.v(`${l.name}/bias`));
          y = tf.reshape(z, [n, 1, 1, l.units]);
          break;
        }
        case 'batchNorm': {
          const beta = l.center ? (this.v(`${l.name}/beta`) as tf.Tensor as tf.Tensor1D) : null;
          const gamma = l.scale ? (this.v(`${l.name}/gamma`) as tf.Tensor as tf.Tensor1D) : null;
          if (bn === 'batch') y = batchNormalize(a, beta, gamma, l.epsilon, moments && ((m) => moments.set(l.name, m)));
          else {
            let z: tf.Tensor = tf.div(tf.sub(a, this.v(`${l.name}/moving_mean`)), tf.sqrt(tf.add(this.v(`${l.name}/moving_variance`), l.epsilon)));
            if (gamma) z = tf.mul(z, gamma);
            if (beta) z = tf.add(z, beta);
            y = z as tf.Tensor4D;
          }
          break;
        }
        case 'relu':
          y = tf.relu(a);
          break;
        case 'scale':
          y = tf.mul(a, this.v(`${l.name}/scale`));
          break;
        case 'maxPool2d':
          y = tf.maxPool(a, l.poolSize as [number, number], l.strides as [number, number], l.padding);
          break;
        case 'avgPool2d':
          y = tf.avgPool(a, l.poolSize as [number, number], l.strides as [number, number], l.padding);
          break;
        case 'globalAvgPool2d':
          y = tf.mean(a, [1, 2], true);
          break;
        case 'add':
          y = tf.add(a, out.get(l.inputs[1]!)!);
          break;
        case 'flatten':
          y = tf.reshape(a, [n, 1, 1, -1]);
          break;
      }
      out.set(l.name, y);
      last = y;
    }
    return tf.reshape(last, [n, this.graph.classes]);
  }

  /**
   * EEV's cardinality bound decay (Jia & Rinard 2020), over the batch norms that become a binary
   * layer's thresholds (the layer's input binarized, its kernel ±1 or ternary, the norm's output
   * only ever binarized). Counting inputs as 0/1 (a = (x + 1)/2), unit j fires iff
   * Σᵢ wᵢⱼ·aᵢ ≥ b_j with b_j = (t_j + Σᵢ wᵢⱼ)/2, t_j = μ − β·σ/γ the norm's threshold on the ±1
   * sum: b_j is the unit's cardinality bound, and a solver decides a unit with a small bound
   * quickly. Returns Σⱼ max(0, b_j − bound) with μ and σ the batch moments of the forward pass
   * (`moments`) and Σᵢ wᵢⱼ held constant, so the gradient reaches β and γ (EEV's "bias hinge").
   * Units with γ ≤ 0 (a decreasing norm, bound on the other side) are left out.
   */
  cardinalityBoundPenalty(moments: BatchMoments, bound: number): tf.Scalar {
    return tf.tidy(() => {
      let total: tf.Scalar = tf.scalar(0);
      for (const { norm, producer } of this.thresholdNorms) {
        const m = moments.get(norm.name);
        if (!m) throw new Error(`cardinalityBoundPenalty: no batch moments of ${norm.name} (run a 'batch' forward pass with this map first)`);
        const sigma = tf.sqrt(tf.add(m.variance, norm.epsilon));
        const gamma = norm.scale ? (this.v(`${norm.name}/gamma`) as tf.Tensor) : tf.onesLike(m.mean);
        const beta = norm.center ? (this.v(`${norm.name}/beta`) as tf.Tensor) : tf.zerosLike(m.mean);
        const t = tf.sub(m.mean, tf.div(tf.mul(beta, sigma), gamma));
        const w = producer.kernelQuantizer === 'ste_tern' ? ternarize(this.v(`${producer.name}/kernel`)) : binarize(this.v(`${producer.name}/kernel`));
        const units = producer.kind === 'quantConv2d' ? producer.filters : producer.units;
        const fanInSum = tf.sum(tf.reshape(w, [-1, units]), 0);
        const b = tf.div(tf.add(t, fanInSum), 2);
        const over = tf.mul(tf.relu(tf.sub(b, bound)), positive(gamma));
        total = tf.add(total, tf.sum(over)) as tf.Scalar;
      }
      return total;
    });
  }

  /** The batch norms `cardinalityBoundPenalty` covers, each with the binary layer it reads. */
  private thresholdNormsOf(): { norm: BatchNormLayer; producer: QuantConv2dLayer | QuantDenseLayer }[] {
    const users = consumersOf(this.graph);
    const out: { norm: BatchNormLayer; producer: QuantConv2dLayer | QuantDenseLayer }[] = [];
    for (const l of this.graph.layers) {
      if (l.kind !== 'batchNorm') continue;
      const p = this.graph.layers.find((x) => x.name === l.inputs[0]);
      if (!p || (p.kind !== 'quantConv2d' && p.kind !== 'quantDense') || !p.inputQuantizer || !p.kernelQuantizer || p.kernelQuantizer === 'stochastic' || p.useBias) continue;
      if (onlyBinarized(this.graph, l.name, users, true)) out.push({ norm: l, producer: p });
    }
    return out;
  }

  /** moving ← momentum·moving + (1−momentum)·batch, then releases the batch moments. */
  updateMovingStats(moments: BatchMoments, momentum: number): void {
    for (const [layer, m] of moments) {
      tf.tidy(() => {
        const mm = this.v(`${layer}/moving_mean`);
        const mv = this.v(`${layer}/moving_variance`);
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
    for (const p of paramInfos(this.graph)) out.set(p.name, new Float32Array(this.v(p.name).dataSync()));
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
