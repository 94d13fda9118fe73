/**
 * What an attack may know about its target (as in Foolbox): every model has pixel bounds and
 * classifies; a DifferentiableModel also exposes logits as a tfjs graph to take gradients of.
 * An Oracle is the narrowest view — labels only, with a query counter — and is all that
 * black-box and label-only attacks receive, so they cannot read logits by construction.
 */
import type { tf } from '../tfjs/backend.js';
import type { BnnRuntime } from '../runtime/index.js';
import type { Shape3 } from '../model/graph.js';
import { predictLabels, type LogitsFn } from '../model/tfjs/predict.js';

/** The true (or target) class of each of n images: any integer typed array wide enough for the model's classes. */
export type Labels = Uint8Array | Uint16Array | Int32Array;

/** What every model tells an attack: the image shape (pixels in [0, 1]) and the class count. */
export interface ModelShape {
  readonly inputShape: Shape3;
  readonly classes: number;
}

/** Labels only, counted. */
export interface Oracle extends ModelShape {
  /** Predicted class of each of n images (n × H·W·C pixels in [0, 1]). */
  labels(images: Float32Array, n: number): Int32Array;
  /** Images classified so far. */
  readonly queries: number;
}

export interface DifferentiableModel extends ModelShape {
  readonly name: string;
  /** Logits [n, classes] of images [n, H, W, C], differentiable with tf.grad. */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /** Whether each forward pass samples weights (model S): attacks then need EOT. */
  readonly stochastic: boolean;
}

/**
 * Counts queries and enforces a budget around a classify function it keeps private: what every
 * label-only oracle shares, whatever answers the queries.
 */
export class CountedOracle implements Oracle {
  #classify: (images: Float32Array, n: number) => Int32Array;
  #queries = 0;
  #budget: number;

  constructor(
    classify: (images: Float32Array, n: number) => Int32Array,
    budget: number,
    readonly inputShape: Shape3,
    readonly classes: number,
  ) {
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
    super((images, n) => rt.predict(images, n), budget, rt.model.graph.input, rt.model.graph.classes);
  }
}

/**
 * A tfjs graph (any LogitsFn) as a label-only oracle: the same view of the model as RuntimeOracle,
 * so a label-only attack can be run on both and their costs compared query for query.
 */
export class LogitsOracle extends CountedOracle {
  constructor(logits: LogitsFn, shape: ModelShape, budget = Infinity) {
    super((images, n) => predictLabels(logits, images, n, shape.inputShape), budget, shape.inputShape, shape.classes);
  }
}

export class QueryBudgetExceeded extends Error {
  override readonly name = 'QueryBudgetExceeded';
  constructor(readonly budget: number) {
    super(`query budget of ${budget} images exhausted`);
  }
}
