/**
 * What an attack may know about its target (as in Foolbox): every model has pixel bounds and
 * classifies; a DifferentiableModel also exposes logits as a tfjs graph to take gradients of.
 * An Oracle is the narrowest view — labels only, with a query counter — and is all that
 * black-box and label-only attacks receive, so they cannot read logits by construction.
 */
import type { tf } from '../tfjs/backend.js';
import type { BnnRuntime } from '../runtime/index.js';
import { predictLabels, type LogitsFn } from '../model/predict.js';

/** Labels only, counted. */
export interface Oracle {
  /** Predicted class of each of n images (n × 784 pixels in [0, 1]). */
  labels(images: Float32Array, n: number): Int32Array;
  /** Images classified so far. */
  readonly queries: number;
}

export interface DifferentiableModel {
  readonly name: string;
  /** Logits [n, classes] of images [n, 28, 28, 1], differentiable with tf.grad. */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /** Whether each forward pass samples weights (model S): attacks then need EOT. */
  readonly stochastic: boolean;
}

/**
 * Counts queries and enforces a budget around a classify function it keeps private: what every
 * label-only oracle shares, whatever answers the queries.
 */
class CountedOracle implements Oracle {
  #classify: (images: Float32Array, n: number) => Int32Array;
  #queries = 0;
  #budget: number;

  constructor(classify: (images: Float32Array, n: number) => Int32Array, budget: number) {
    this.#classify = classify;
    this.#budget = budget;
  }

  labels(images: Float32Array, n: number): Int32Array {
    if (this.#queries + n > this.#budget) throw new QueryBudgetExceeded(this.#budget);
    this.#queries += n;
    return this.#classify(images, n);
  }

  get queries(): number {
    return this.#queries;
  }
}

/** The packed runtime as a label-only oracle; the runtime itself stays private. */
export class RuntimeOracle extends CountedOracle {
  constructor(rt: BnnRuntime, budget = Infinity) {
    super((images, n) => rt.predict(images, n), budget);
  }
}

/**
 * A tfjs graph (any LogitsFn) as a label-only oracle: the same view of the model as RuntimeOracle,
 * so a label-only attack can be run on both and their costs compared query for query.
 */
export class LogitsOracle extends CountedOracle {
  constructor(logits: LogitsFn, budget = Infinity) {
    super((images, n) => predictLabels(logits, images, n), budget);
  }
}

export class QueryBudgetExceeded extends Error {
  override readonly name = 'QueryBudgetExceeded';
  constructor(readonly budget: number) {
    super(`query budget of ${budget} images exhausted`);
  }
}
