/**
 * A Larq-shaped builder for model graphs, in Keras's two styles:
 *
 *   const m = new Sequential({ input: [28, 28, 1], classes: 10 });
 *   m.add(quantConv2d({ filters: 32, kernelSize: 3, kernelQuantizer: 'ste_sign' }));
 *   m.add(maxPool2d({ poolSize: 2 }));
 *   …
 *   const graph = m.build();
 *
 *   const b = new GraphBuilder({ input: [32, 32, 3], classes: 10 });
 *   const x = quantConv2d({ filters: 64, kernelSize: 3, padding: 'same' }).apply(b.input);
 *   const y = batchNorm().apply(quantConv2d({ …binary… }).apply(x));
 *   const graph = b.build(quantDense({ units: 10 }).apply(flatten().apply(add().apply(y, x))));
 *
 * Both produce the same JSON a model file holds, validated by defineGraph.
 */
import { defineGraph, GRAPH_INPUT, type InputQuantizer, type KernelQuantizer, type LayerKind, type ModelGraph, type Padding } from './graph.js';

/** A kernel, stride or pool size: one number for both sides, or [height, width]. */
export type Size2d = number | readonly [number, number];

export interface QuantConv2dOptions {
  name?: string;
  filters: number;
  kernelSize: Size2d;
  strides?: Size2d;
  padding?: Padding;
  padValue?: 0 | 1;
  inputQuantizer?: InputQuantizer | null;
  kernelQuantizer?: KernelQuantizer | null;
  useBias?: boolean;
  int8?: boolean;
}
export interface QuantDenseOptions {
  name?: string;
  units: number;
  inputQuantizer?: InputQuantizer | null;
  kernelQuantizer?: KernelQuantizer | null;
  useBias?: boolean;
}
export interface BatchNormOptions {
  name?: string;
  center?: boolean;
  scale?: boolean;
  epsilon?: number;
}
export interface Pool2dOptions {
  name?: string;
  poolSize?: Size2d;
  strides?: Size2d;
  padding?: Padding;
}
export interface NamedOptions {
  name?: string;
}
export interface ScaleOptions {
  name?: string;
  init?: number;
}

/** A layer not yet placed in a graph: its kind and options as a model file spells them. */
export class LayerDef {
  constructor(readonly json: { readonly kind: LayerKind; readonly name?: string } & Record<string, unknown>) {}

  /** Functional style: places the layer on `inputs` (two for add) and returns its output. */
  apply(...inputs: SymbolicTensor[]): SymbolicTensor {
    const b = inputs[0]?.builder;
    if (!b || inputs.some((t) => t.builder !== b)) throw new RangeError(`${this.json.kind}: inputs must be tensors of one GraphBuilder`);
    return b.place(this, inputs.map((t) => t.name));
  }
}

/** An output of a layer placed by a GraphBuilder (or the builder's input). */
export interface SymbolicTensor {
  readonly builder: GraphBuilder;
  readonly name: string;
}

function strip<T extends object>(o: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export const quantConv2d = (o: QuantConv2dOptions): LayerDef => new LayerDef({ kind: 'quantConv2d', ...strip(o) });
export const quantDense = (o: QuantDenseOptions): LayerDef => new LayerDef({ kind: 'quantDense', ...strip(o) });
export const batchNorm = (o: BatchNormOptions = {}): LayerDef => new LayerDef({ kind: 'batchNorm', ...strip(o) });
export const relu = (o: NamedOptions = {}): LayerDef => new LayerDef({ kind: 'relu', ...strip(o) });
export const scale = (o: ScaleOptions = {}): LayerDef => new LayerDef({ kind: 'scale', ...strip(o) });
export const maxPool2d = (o: Pool2dOptions = {}): LayerDef => new LayerDef({ kind: 'maxPool2d', ...strip(o) });
export const avgPool2d = (o: Pool2dOptions = {}): LayerDef => new LayerDef({ kind: 'avgPool2d', ...strip(o) });
export const globalAvgPool2d = (o: NamedOptions = {}): LayerDef => new LayerDef({ kind: 'globalAvgPool2d', ...strip(o) });
export const add = (o: NamedOptions = {}): LayerDef => new LayerDef({ kind: 'add', ...strip(o) });
export const flatten = (o: NamedOptions = {}): LayerDef => new LayerDef({ kind: 'flatten', ...strip(o) });

export interface GraphOptions {
  name?: string;
  input: readonly [number, number, number];
  classes: number;
}

const SNAKE: Record<LayerKind, string> = {
  quantConv2d: 'quant_conv2d',
  quantDense: 'quant_dense',
  batchNorm: 'batch_normalization',
  relu: 'relu',
  scale: 'scale',
  maxPool2d: 'max_pooling2d',
  avgPool2d: 'average_pooling2d',
  globalAvgPool2d: 'global_average_pooling2d',
  add: 'add',
  flatten: 'flatten',
};

/** The functional builder: layers placed with `LayerDef.apply`, then `build(output)`. */
export class GraphBuilder {
  private readonly layers: Record<string, unknown>[] = [];
  private readonly counts = new Map<LayerKind, number>();
  readonly input: SymbolicTensor;

  constructor(private readonly opts: GraphOptions) {
    this.input = { builder: this, name: GRAPH_INPUT };
  }

  /** Used by LayerDef.apply. Unnamed layers are named as Keras does: quant_conv2d, quant_conv2d_1, … */
  place(def: LayerDef, inputs: string[]): SymbolicTensor {
    const kind = def.json.kind;
    let name = def.json.name;
    if (name === undefined) {
      const n = this.counts.get(kind) ?? 0;
      this.counts.set(kind, n + 1);
      name = n === 0 ? SNAKE[kind] : `${SNAKE[kind]}_${n}`;
    }
    this.layers.push({ ...def.json, name, inputs });
    return { builder: this, name };
  }

  /** The validated graph whose logits are `output` (the last layer placed). */
  build(output: SymbolicTensor): ModelGraph {
    const last = this.layers[this.layers.length - 1];
    if (!last || last['name'] !== output.name) throw new RangeError(`build(): the output must be the last layer placed (${String(last?.['name'])}), got ${output.name}`);
    return defineGraph({ name: this.opts.name, input: this.opts.input, classes: this.opts.classes, layers: this.layers });
  }
}

/** A stack of layers, each reading the previous one's output (Keras's Sequential). */
export class Sequential {
  private readonly b: GraphBuilder;
  private out: SymbolicTensor;

  constructor(opts: GraphOptions) {
    this.b = new GraphBuilder(opts);
    this.out = this.b.input;
  }

  add(def: LayerDef): this {
    this.out = def.apply(this.out);
    return this;
  }

  build(): ModelGraph {
    return this.b.build(this.out);
  }
}
