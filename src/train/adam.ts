/**
 * Adam (Kingma & Ba) on a flat float32 parameter vector — the same update as tf.train.adam,
 * kept on the host so that several gradient workers can share one optimizer state.
 */
export class Adam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;

  constructor(
    size: number,
    /** May be changed between steps (learning-rate schedules). */
    public learningRate = 1e-3,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** Updates taken so far (restored ones included): what a resumed run counts its progress by. */
  get steps(): number {
    return this.t;
  }

  /** The moment estimates, to save with a run that will be continued (see `restore`). */
  moments(): { m: Float32Array; v: Float32Array } {
    return { m: this.m.slice(), v: this.v.slice() };
  }

  /** Continues from saved moments after `steps` steps, so a resumed run takes the same updates. */
  restore(m: Float32Array, v: Float32Array, steps: number): void {
    if (m.length !== this.m.length || v.length !== this.v.length) throw new RangeError(`Adam: saved moments hold ${m.length} and ${v.length} values, the model has ${this.m.length} parameters`);
    if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`Adam: step count must be a non-negative integer, got ${steps}`);
    this.m.set(m);
    this.v.set(v);
    this.t = steps;
  }

  /** params ← params − lr · m̂ / (√v̂ + ε). */
  step(params: Float32Array, grads: Float32Array): void {
    if (params.length !== this.m.length || grads.length !== this.m.length) {
      throw new RangeError(`Adam: expected ${this.m.length} parameters and gradients, got ${params.length} and ${grads.length}`);
    }
    this.t++;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const lrT = (this.learningRate * Math.sqrt(1 - b2 ** this.t)) / (1 - b1 ** this.t);
    const m = this.m;
    const v = this.v;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i]!;
      const mi = (m[i] = b1 * m[i]! + (1 - b1) * g);
      const vi = (v[i] = b2 * v[i]! + (1 - b2) * g * g);
      params[i] = params[i]! - (lrT * mi) / (Math.sqrt(vi) + eps);
    }
  }
}
