/**
 * The tfjs building blocks both graph variants share: comparisons through tf.step, sign with the
 * straight-through gradients of the quantizers, Bernoulli weight sampling, and the float32
 * per-channel chains of the lowered plan.
 */
import { tf } from '../../tfjs/backend.js';
import { TERNARY_THRESHOLD, type InputQuantizer, type KernelQuantizer } from '../graph.js';
import type { ChainOp } from '../threshold.js';

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

/**
 * 1 where x > 0, else 0 (NaN stays NaN), as float32. The graphs compare through tf.step, never
 * tf.less / greater / sign: tfjs-backend-wasm runs those in a generic loop, 7 to 20 times slower
 * than its unary ops at K = 256. For finite a, b: a < b exactly when positive(b − a) = 1.
 */
export function positive(x: tf.Tensor): tf.Tensor {
  return tf.step(x, 0);
}

/** ±1 with the bnn-edge convention sign(0) = +1 (bit 0 ↔ +1, bit 1 ↔ −1, as the sign bit); NaN stays NaN. */
export function binarize(x: tf.Tensor): tf.Tensor {
  // −step(−x, −1), with step(v, α) = v > 0 ? 1 : α (see `positive`).
  return tf.tidy(() => tf.neg(tf.step(tf.neg(x), -1)));
}

/** The straight-through gradient of sign at x: Larq's passes dy where |x| ≤ 1; the paper's passes clip(dy, −1, 1) everywhere. */
export function steGradient(quantizer: InputQuantizer | KernelQuantizer, dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => (quantizer === 'ste_sign' ? tf.mul(dy, tf.sub(1, positive(tf.sub(tf.abs(x), 1)))) : tf.clipByValue(dy, -1, 1)));
}

const signSteCache = new Map<string, (x: tf.Tensor) => tf.Tensor>();

/** sign(x) (+1 at 0) with the straight-through gradient of `quantizer`. */
export function signSte(quantizer: InputQuantizer | KernelQuantizer, x: tf.Tensor): tf.Tensor {
  let f = signSteCache.get(quantizer);
  if (!f) {
    f = tf.customGrad(((v: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
      save([v]);
      return { value: binarize(v), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => steGradient(quantizer, dy, saved[0]!) };
    }) as unknown as CustomGradientFunc) as (x: tf.Tensor) => tf.Tensor;
    signSteCache.set(quantizer, f);
  }
  return f(x);
}

/**
 * Larq's SteTern forward: +1 where x > t, −1 where x < −t, 0 between (t = TERNARY_THRESHOLD as
 * float32, the same comparison the exporter makes, src/format/bits.ts packConvTernary).
 */
export function ternarize(x: tf.Tensor): tf.Tensor {
  const t = Math.fround(TERNARY_THRESHOLD);
  return tf.tidy(() => tf.sub(positive(tf.sub(x, t)), positive(tf.sub(tf.neg(x), t))));
}

let ternSteFn: ((x: tf.Tensor) => tf.Tensor) | undefined;

/** ternarize(w) with ste_sign's straight-through gradient (dy where |w| ≤ 1), as Larq's SteTern. */
export function ternSte(w: tf.Tensor): tf.Tensor {
  ternSteFn ??= tf.customGrad(((v: tf.Tensor, save: (t: tf.Tensor[]) => void) => {
    save([v]);
    return { value: ternarize(v), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => steGradient('ste_sign', dy, saved[0]!) };
  }) as unknown as CustomGradientFunc) as (x: tf.Tensor) => tf.Tensor;
  return ternSteFn(w);
}

/** ±1 ~ Bernoulli(p): +1 where u < p for u uniform in [0, 1) drawn from `seed`. */
export function sampleSigns(p: tf.Tensor, seed: number): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.mul(2, positive(tf.sub(p, tf.randomUniform(p.shape, 0, 1, 'float32', seed)))), 1));
}

/**
 * Weights resampled as ±1 ~ Bernoulli(p), p = clip((w+1)/2, 0, 1) (model S). E[w_b] = clip(w,
 * −1, 1), so the straight-through gradient is the clipped incoming gradient where |w| < 1.
 */
export function bernoulliSte(w: tf.Tensor, seed: number): tf.Tensor {
  const f = tf.customGrad(((v: tf.Tensor) => {
    const value = tf.tidy(() => sampleSigns(tf.clipByValue(tf.div(tf.add(v, 1), 2), 0, 1), seed));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => tf.tidy(() => tf.mul(tf.clipByValue(dy, -1, 1), tf.sub(1, positive(tf.sub(tf.abs(v), 1))))),
    };
  }) as unknown as CustomGradientFunc) as (v: tf.Tensor) => tf.Tensor;
  return f(w);
}

/** A plan chain as float32 tensors: ops applied in order, constants rounded to float32 (as the runtime). */
export class TfChain {
  private readonly ops: { kind: ChainOp['kind']; v?: tf.Tensor1D }[];
  constructor(ops: readonly ChainOp[]) {
    this.ops = ops.map((op) => (op.kind === 'relu' ? { kind: 'relu' } : { kind: op.kind, v: tf.tensor1d(Float32Array.from(op.v)) }));
  }

  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let y = x;
      for (const op of this.ops) y = op.kind === 'mul' ? tf.mul(y, op.v!) : op.kind === 'add' ? tf.add(y, op.v!) : tf.relu(y);
      return y;
    });
  }

  /** d apply(x)/dx elementwise (the product of the multipliers where every ReLU passes). */
  slope(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let y = x;
      let d: tf.Tensor = tf.onesLike(x);
      for (const op of this.ops) {
        if (op.kind === 'mul') {
          d = tf.mul(d, op.v!);
          y = tf.mul(y, op.v!);
        } else if (op.kind === 'add') y = tf.add(y, op.v!);
        else {
          d = tf.mul(d, positive(y));
          y = tf.relu(y);
        }
      }
      return d;
    });
  }

  dispose(): void {
    for (const op of this.ops) op.v?.dispose();
  }
}
