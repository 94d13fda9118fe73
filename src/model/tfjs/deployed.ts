/**
 * The tfjs graph rebuilt from a .bnn: what the white-box attacks differentiate, so that what is
 * attacked is exactly what ships. It runs the runtime's own execution plan (model/lower.ts) step
 * for step with tfjs ops — the same thresholds, the same ±1 weights decoded from the sign bits,
 * the same integer accumulators — with bits as ±1 floats. Stochastic layers sample their weights
 * at every forward pass. The gradient through each threshold is the straight-through estimate of
 * the layer's quantizer times the slope of the folded chain (batch norm, ReLU, scale) at y (BPDA).
 */
import { tf } from '../../tfjs/backend.js';
import { probabilitiesHwio, unpackConvSigns, unpackConvTernary } from '../../format/bits.js';
import type { BnnModel } from '../../format/model.js';
import { Rng } from '../../util/rng.js';
import { lower, type AccMeaning, type ExecutionPlan, type PlanStep } from '../lower.js';
import type { InputQuantizer, Shape3 } from '../graph.js';
import { positive, sampleSigns, steGradient, TfChain } from './ops.js';
import type { LogitsFn } from './predict.js';

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

/** x_q = ⌊x·255 + ½⌋ clipped to [0, 255] (the runtime's formula); straight-through gradient 255. */
const quantizeSte = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.tidy(() => tf.clipByValue(tf.floor(tf.add(tf.mul(x, 255), 0.5)), 0, 255)),
  gradFunc: (dy: tf.Tensor) => tf.mul(dy, 255),
})) as unknown as CustomGradientFunc) as (x: tf.Tensor4D) => tf.Tensor4D;

/** A threshold as tfjs constants: +1 iff ge·[x ≥ t] + le·[x ≤ t] + always, and the gradient's pieces. */
interface TfThreshold {
  readonly t: tf.Tensor1D;
  readonly ge: tf.Tensor1D;
  readonly le: tf.Tensor1D;
  readonly always: tf.Tensor1D;
  readonly chain: TfChain;
  /** The real value y of x, and dy/dx (1 for floats). */
  readonly toReal: (x: tf.Tensor) => tf.Tensor;
  readonly dReal: tf.Tensor | number;
  readonly quantizer: InputQuantizer;
}

function realOf(acc: AccMeaning | undefined): { toReal: (x: tf.Tensor) => tf.Tensor; dReal: tf.Tensor | number } {
  if (!acc) return { toReal: (x) => x, dReal: 1 };
  if (acc.mode === 'popcount') return { toReal: (x) => tf.sub(acc.n, tf.mul(2, x)), dReal: -2 };
  if (acc.mode === 'doubled') return { toReal: (x) => tf.sub(acc.n, x), dReal: -1 };
  const d = tf.tensor1d(Float32Array.from(acc.scale, (s) => s / 255));
  return { toReal: (x) => tf.mul(x, d), dReal: d };
}

/**
 * Masks of a threshold in one of the three kernel conventions: 'f32' (+1 iff flip ? y ≤ thr : y ≥ thr,
 * NaN = never, −∞ = always), 'acc' (+1 iff flip ? acc ≥ thr : acc ≤ thr), 'int8' (flip ? acc ≤ thr : acc ≥ thr).
 */
function thresholdMasks(thr: Float32Array | Int32Array, flip: Int32Array, convention: 'f32' | 'acc' | 'int8') {
  const c = thr.length;
  const t = new Float32Array(c);
  const ge = new Float32Array(c);
  const le = new Float32Array(c);
  const always = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const v = thr[i]!;
    const isGe = convention === 'acc' ? flip[i] !== 0 : flip[i] === 0;
    if (convention === 'f32' && Number.isNaN(v)) continue; // never
    if (convention === 'f32' && v === -Infinity && isGe) always[i] = 1;
    else {
      t[i] = Math.max(-3.4e38, Math.min(3.4e38, v));
      (isGe ? ge : le)[i] = 1;
    }
  }
  return { t: tf.tensor1d(t), ge: tf.tensor1d(ge), le: tf.tensor1d(le), always: tf.tensor1d(always) };
}

export class DeployedGraph {
  readonly plan: ExecutionPlan;
  /** True when a layer samples its weights: every forward pass draws anew. */
  readonly stochastic: boolean;
  readonly name: string;
  readonly inputShape: Shape3;
  readonly classes: number;
  private readonly consts = new Map<number, Record<string, tf.Tensor>>();
  private readonly thresholds = new Map<number, TfThreshold>();
  private readonly chains = new Map<number, TfChain>();
  private sampler: Rng;

  constructor(
    readonly model: BnnModel,
    seed = 0,
    name?: string,
  ) {
    this.plan = lower(model);
    this.stochastic = this.plan.stochastic;
    this.name = name ?? model.graph.name;
    this.inputShape = model.graph.input;
    this.classes = model.graph.classes;
    this.sampler = new Rng(seed);
    this.plan.steps.forEach((s, i) => this.prepare(s, i));
  }

  private prepare(s: PlanStep, i: number): void {
    const inV = this.plan.values[s.inputs[0]!]!;
    const outV = this.plan.values[s.output]!;
    const cin = inV.shape[2];
    const cout = outV.shape[2];
    const c: Record<string, tf.Tensor> = {};
    const threshold = (thr: Float32Array | Int32Array, flip: Int32Array, convention: 'f32' | 'acc' | 'int8', chain: ConstructorParameters<typeof TfChain>[0], acc: AccMeaning | undefined, quantizer: InputQuantizer) =>
      this.thresholds.set(i, { ...thresholdMasks(thr, flip, convention), chain: new TfChain(chain), ...realOf(acc), quantizer });
    switch (s.op) {
      case 'conv':
        c['w'] = tf.tensor4d(s.weights, [s.g.kh, s.g.kw, cin, cout]);
        break;
      case 'qconvThreshold':
        c['w'] = tf.tensor4d(Float32Array.from(s.weightsI8), [s.g.kh, s.g.kw, cin, cout]);
        threshold(s.thr, s.flip, 'int8', s.chain, s.acc, s.quantizer);
        break;
      case 'bconv':
        if (s.probabilities) c['p'] = tf.tensor4d(probabilitiesHwio(s.probabilities, s.kh, s.kw, cin, cout), [s.kh, s.kw, cin, cout]);
        else if (s.maskWords) c['w'] = tf.tensor4d(unpackConvTernary(s.signWords!, s.maskWords, s.kh, s.kw, cin, cout), [s.kh, s.kw, cin, cout]);
        else c['w'] = tf.tensor4d(unpackConvSigns(s.signWords!, s.kh, s.kw, cin, cout), [s.kh, s.kw, cin, cout]);
        // (A ternary layer's correction is implied: nValid − dot already counts the taps it ignores.)
        if (s.correction && !s.maskWords) c['corr'] = tf.tensor3d(Float32Array.from(s.correction), [...outV.shape]);
        break;
      case 'dense':
        c['w'] = tf.tensor2d(s.weights, [inV.shape[0] * inV.shape[1] * cin, cout]);
        break;
      case 'threshold':
        threshold(s.thr, s.flip, inV.form === 'f32' ? 'f32' : 'acc', s.chain, inV.acc, s.quantizer);
        break;
      case 'bitMaxPool':
        c['or'] = tf.tensor1d(Float32Array.from({ length: cout }, (_, ch) => (s.orMask[ch >> 5]! >>> (ch & 31)) & 1));
        break;
      case 'chain':
        this.chains.set(i, new TfChain(s.ops));
        break;
    }
    this.consts.set(i, c);
  }

  /** Restarts the stochastic layers' sampling. */
  reseed(seed: number): void {
    this.sampler = new Rng(seed);
  }

  private applyThreshold(x: tf.Tensor, th: TfThreshold): tf.Tensor {
    const f = tf.customGrad(((xIn: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
      save([xIn]);
      const value = tf.tidy(() => {
        // (tf.where does not broadcast its condition on the wasm backend: blend with 0/1 masks.)
        const ge = tf.mul(tf.sub(1, positive(tf.sub(th.t, xIn))), th.ge);
        const le = tf.mul(tf.sub(1, positive(tf.sub(xIn, th.t))), th.le);
        return tf.sub(tf.mul(2, tf.add(tf.add(ge, le), th.always)), 1);
      });
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.tidy(() => {
            const real = th.toReal(saved[0]!);
            return tf.mul(tf.mul(steGradient(th.quantizer, dy, th.chain.apply(real)), th.chain.slope(real)), th.dReal);
          }),
      };
    }) as unknown as CustomGradientFunc) as (x: tf.Tensor) => tf.Tensor;
    return f(x);
  }

  /** Logits [n, classes] for images [n, H, W, C]. */
  logits(x: tf.Tensor4D): tf.Tensor2D {
    const n = x.shape[0];
    const vals = new Map<number, tf.Tensor4D>([[this.plan.input, x]]);
    this.plan.steps.forEach((s, i) => {
      const a = vals.get(s.inputs[0]!)!;
      const c = this.consts.get(i)!;
      const outShape = this.plan.values[s.output]!.shape;
      let y: tf.Tensor;
      switch (s.op) {
        case 'quantizeU8':
          y = quantizeSte(a);
          break;
        case 'conv':
          y = tf.conv2d(a, c['w'] as tf.Tensor4D, [s.g.sh, s.g.sw], [[0, 0], [s.g.padTop, s.g.padBottom], [s.g.padLeft, s.g.padRight], [0, 0]]);
          break;
        case 'qconvThreshold': {
          const acc = tf.conv2d(a, c['w'] as tf.Tensor4D, [s.g.sh, s.g.sw], [[0, 0], [s.g.padTop, s.g.padBottom], [s.g.padLeft, s.g.padRight], [0, 0]]);
          y = this.applyThreshold(acc, this.thresholds.get(i)!);
          break;
        }
        case 'bitPad':
          y = tf.pad(a, [[0, 0], [s.pads.top, s.pads.bottom], [s.pads.left, s.pads.right], [0, 0]], 1);
          break;
        case 'bconv': {
          const w = c['p'] ? sampleSigns(c['p'], this.sampler.seed()) : c['w']!;
          const dot = tf.conv2d(a, w as tf.Tensor4D, [s.sh, s.sw], 'valid');
          const nValid = s.kh * s.kw * this.plan.values[s.inputs[0]!]!.shape[2];
          y = s.maskWords ? tf.sub(nValid, dot) : s.correction ? tf.add(tf.sub(nValid, dot), c['corr']!) : tf.div(tf.sub(nValid, dot), 2);
          break;
        }
        case 'dense':
          y = tf.reshape(tf.matMul(tf.reshape(a, [n, -1]) as tf.Tensor2D, c['w'] as tf.Tensor2D), [n, 1, 1, outShape[2]]);
          break;
        case 'threshold':
          y = this.applyThreshold(a, this.thresholds.get(i)!);
          break;
        case 'bitMaxPool': {
          const g = s.g;
          const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [g.padTop, g.padBottom], [g.padLeft, g.padRight], [0, 0]];
          const max = tf.maxPool(a, [g.kh, g.kw], [g.sh, g.sw], pad);
          const min = tf.neg(tf.maxPool(tf.neg(a), [g.kh, g.kw], [g.sh, g.sw], pad));
          y = tf.add(tf.mul(max, tf.sub(1, c['or']!)), tf.mul(min, c['or']!));
          break;
        }
        case 'accToF32': {
          const acc = this.plan.values[s.inputs[0]!]!.acc!;
          if (acc.mode === 'int8') throw new Error(`plan step ${i}: int8 accumulators are never converted to floats`);
          y = acc.mode === 'popcount' ? tf.sub(acc.n, tf.mul(2, a)) : tf.sub(acc.n, a);
          break;
        }
        case 'chain':
          y = this.chains.get(i)!.apply(a);
          break;
        case 'maxPool':
        case 'avgPool': {
          const g = s.g;
          const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [g.padTop, g.padBottom], [g.padLeft, g.padRight], [0, 0]];
          y = s.op === 'maxPool' ? tf.maxPool(a, [g.kh, g.kw], [g.sh, g.sw], pad) : tf.avgPool(a, [g.kh, g.kw], [g.sh, g.sw], pad);
          break;
        }
        case 'globalAvgPool':
          y = tf.mean(a, [1, 2], true);
          break;
        case 'add':
          y = tf.add(a, vals.get(s.inputs[1]!)!);
          break;
        case 'flatten':
          y = tf.reshape(a, [n, 1, 1, -1]);
          break;
      }
      vals.set(s.output, y as tf.Tensor4D);
    });
    return tf.reshape(vals.get(this.plan.output)!, [n, this.classes]);
  }

  /** `logits` as a LogitsFn (for predictLabels / accuracy). */
  readonly logitsFn: LogitsFn = (x) => this.logits(x);

  /** Every constant the graph holds, by a unique name (`conv2/w`, `conv3/threshold`, …) — what a tfjs save would write. */
  namedTensors(): Record<string, tf.Tensor> {
    const named: Record<string, tf.Tensor> = {};
    this.plan.steps.forEach((s, i) => {
      for (const [k, v] of Object.entries(this.consts.get(i)!)) named[`${s.layer}/${s.op}${i}/${k}`] = v;
      const th = this.thresholds.get(i);
      if (th) Object.assign(named, { [`${s.layer}/${s.op}${i}/threshold`]: th.t, [`${s.layer}/${s.op}${i}/ge`]: th.ge, [`${s.layer}/${s.op}${i}/le`]: th.le });
    });
    return named;
  }

  dispose(): void {
    for (const c of this.consts.values()) tf.dispose(Object.values(c));
    for (const th of this.thresholds.values()) {
      tf.dispose([th.t, th.ge, th.le, th.always]);
      th.chain.dispose();
      if (typeof th.dReal !== 'number') th.dReal.dispose();
    }
    for (const ch of this.chains.values()) ch.dispose();
    this.consts.clear();
    this.thresholds.clear();
    this.chains.clear();
  }
}
