/**
 * The tfjs graph rebuilt from a .bnn file: what the white-box attacks differentiate, so that
 * what is attacked is exactly what ships. Binary layers binarize their input with the folded
 * per-channel thresholds the runtime uses (see fold.ts) and convolve with the ±1 weights decoded
 * from the packed sign bits; model S samples its stochastic layer at every forward pass. The
 * gradient through each binarization is the straight-through estimate of training:
 * clip(g, −1, 1) · α · [y > 0].
 */
import { tf } from '../tfjs/backend.js';
import { probabilitiesHwio, unpackConvSigns } from '../format/bits.js';
import type { BnnModel } from '../format/model.js';
import { Rng } from '../util/rng.js';
import { floatThresholds, foldBinaryInput, integerThresholds, quantizedMaxAbs, quantizedThresholds } from './fold.js';
import { forward, positive, sampleSigns, type LayerOps } from './graph.js';
import type { LogitsFn } from './predict.js';

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

interface BinaryInput {
  readonly thr: tf.Tensor1D;
  readonly flip: tf.Tensor1D;
  readonly slope: tf.Tensor1D;
}

/** x_q = ⌊x·255 + ½⌋ in float32 (the runtime's formula); straight-through gradient 255. */
const quantizeSte = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.tidy(() => tf.clipByValue(tf.floor(tf.add(tf.mul(x, 255), 0.5)), 0, 255)),
  gradFunc: (dy: tf.Tensor) => tf.mul(dy, 255),
})) as unknown as CustomGradientFunc) as (x: tf.Tensor4D) => tf.Tensor4D;

export class DeployedGraph {
  private readonly weights = new Map<string, tf.Tensor>();
  private readonly probabilities = new Map<string, tf.Tensor>();
  private readonly scales = new Map<string, tf.Scalar>();
  private readonly biases = new Map<string, tf.Tensor1D>();
  private readonly inputs = new Map<string, BinaryInput>();
  private sampler: Rng;
  private readonly quantizeInput: boolean;
  /** True for model S: every forward pass samples the stochastic layer's weights. */
  readonly stochastic: boolean;
  readonly name: string;

  constructor(
    readonly model: BnnModel,
    seed = 0,
    name?: string,
  ) {
    this.sampler = new Rng(seed);
    this.stochastic = model.layers.some((l) => l.shape.layer.kind === 'conv' && l.shape.layer.stochastic);
    this.name = name ?? `${model.spec.arch.toLowerCase()}${model.spec.k}`;
    let prevBinary = false;
    let prevScale = 1;
    let prevQuantized: { scale: Float32Array; maxAbs: number } | null = null;
    this.quantizeInput = false;
    for (const layer of model.layers) {
      const l = layer.shape.layer;
      const w = layer.shape.weights;
      if (l.kind === 'conv' && l.quantized) {
        // Integer first layer: int8 weights as (exact) floats; the input is quantized to u8.
        this.weights.set(l.name, tf.tensor(Float32Array.from(layer.weightsI8!), w as number[]));
        this.quantizeInput = true;
      } else if (l.kind === 'dense' || !l.binary) {
        this.weights.set(l.name, tf.tensor(layer.weightsF32!, w as number[]));
      } else {
        const [kh, kw, cin, cout] = w as [number, number, number, number];
        if (l.stochastic) this.probabilities.set(l.name, tf.tensor4d(probabilitiesHwio(layer.probabilities!, kh, kw, cin, cout), [kh, kw, cin, cout]));
        else this.weights.set(l.name, tf.tensor4d(unpackConvSigns(layer.signWords!, kh, kw, cin, cout), [kh, kw, cin, cout]));
        const folded = foldBinaryInput(layer.bn!, model.bnEpsilon, prevScale);
        // The previous layer's output is an exact integer when that layer is binary or quantized.
        const { thr, flip, slope } = prevQuantized
          ? quantizedThresholds(folded, prevQuantized.scale, prevQuantized.maxAbs)
          : { ...(prevBinary ? integerThresholds(folded, 0x3fffffff) : floatThresholds(folded)), slope: Float32Array.from(folded, (c) => c.slope) };
        this.inputs.set(l.name, {
          thr: tf.tensor1d(Float32Array.from(thr)),
          flip: tf.tensor1d(Float32Array.from(flip)),
          slope: tf.tensor1d(slope),
        });
      }
      if (l.kind === 'conv' && l.scaled) this.scales.set(l.name, tf.scalar(layer.scale!));
      if (l.bias) this.biases.set(l.name, tf.tensor1d(layer.bias!));
      prevBinary = l.kind === 'conv' && l.binary;
      prevScale = layer.scale ?? 1;
      prevQuantized = l.kind === 'conv' && l.quantized ? { scale: layer.weightScale!, maxAbs: quantizedMaxAbs(layer.shape.weights) } : null;
    }
  }

  /** Restarts model S's weight sampling. */
  reseed(seed: number): void {
    this.sampler = new Rng(seed);
  }

  private readonly ops: LayerOps = {
    weights: (name) => {
      const p = this.probabilities.get(name);
      if (p) {
        return sampleSigns(p, this.sampler.seed());
      }
      return this.weights.get(name)!;
    },
    binarizeInput: (layer, pre) => {
      const { thr, flip, slope } = this.inputs.get(layer.name)!;
      const f = tf.customGrad(((y: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
        save([y]);
        // (tf.where does not broadcast its condition on the wasm backend: blend with 0/1 masks.)
        const value = tf.tidy(() => {
          const ge = tf.mul(tf.sub(1, positive(tf.sub(thr, y))), tf.sub(1, flip));
          const le = tf.mul(tf.sub(1, positive(tf.sub(y, thr))), flip);
          return tf.sub(tf.mul(2, tf.add(ge, le)), 1);
        });
        return {
          value,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
            tf.tidy(() => tf.mul(tf.mul(tf.clipByValue(dy, -1, 1), slope), positive(saved[0]!))),
        };
      }) as unknown as CustomGradientFunc) as (y: tf.Tensor) => tf.Tensor;
      return f(pre) as tf.Tensor4D;
    },
    scale: (name) => this.scales.get(name)!,
    bias: (name) => this.biases.get(name)!,
    prepareInput: (x) => (this.quantizeInput ? quantizeSte(x) : x),
  };

  /** Logits [n, classes] for images [n, 28, 28, 1]. */
  logits(x: tf.Tensor4D): tf.Tensor2D {
    return forward(this.model.spec, this.ops, x);
  }

  /** `logits` as a LogitsFn (for predictLabels / accuracy). */
  readonly logitsFn: LogitsFn = (x) => this.logits(x);

  /** Every tensor the graph holds, by a unique name (`conv2/weights`, `conv3/probabilities`, …) — what a tfjs save would write. */
  namedTensors(): Record<string, tf.Tensor> {
    const named: Record<string, tf.Tensor> = {};
    for (const [k, v] of this.weights) named[`${k}/weights`] = v;
    for (const [k, v] of this.probabilities) named[`${k}/probabilities`] = v;
    for (const [k, v] of this.scales) named[`${k}/scale`] = v;
    for (const [k, v] of this.biases) named[`${k}/bias`] = v;
    for (const [k, v] of this.inputs) Object.assign(named, { [`${k}/threshold`]: v.thr, [`${k}/flip`]: v.flip, [`${k}/slope`]: v.slope });
    return named;
  }

  dispose(): void {
    tf.dispose([...this.weights.values(), ...this.probabilities.values(), ...this.scales.values(), ...this.biases.values()]);
    for (const b of this.inputs.values()) tf.dispose([b.thr, b.flip, b.slope]);
    this.weights.clear();
    this.probabilities.clear();
    this.scales.clear();
    this.biases.clear();
    this.inputs.clear();
  }
}
