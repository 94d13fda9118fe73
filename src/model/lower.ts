/**
 * Lowering: a decoded model (graph + tensors) → an execution plan of simple steps on values of
 * four kinds — float32 tensors, packed sign bits, integer accumulators (popcounts, int8 sums) and
 * a u8 image. THE one lowering: the WebAssembly runtime runs the plan with its kernels, and the
 * tfjs graph rebuilt from a .bnn (what the attacks differentiate) runs the same plan with tfjs
 * ops, so both compute the same function from the same thresholds.
 *
 * What it decides:
 * - Every binarized input (a quantConv2d / quantDense with an input quantizer) becomes a
 *   `threshold` step on the nearest materialized value, with the chain of per-channel operations
 *   in between (batch norm, relu, scale, bias) folded into one exact comparison per channel
 *   (threshold.ts). Max-pools in that chain commute with the sign: they become bit max-pools
 *   after the threshold (AND of the bits where the rest of the chain rises, OR where it falls).
 * - A binary conv is an XOR-popcount over packed bits; SAME padding pads the bits with +1
 *   (padValue 1, no correction) or, for zero padding, adds a per-pixel correction at the borders.
 * - Everything else is computed literally, in float32: a float conv (±1 weights for a binary-
 *   weight conv on a float input), dense layers, the chain when its values are needed as floats,
 *   pools, adds, and the logits.
 */
import { popcount32 } from '../format/bits.js';
import { wordsPerPixel } from '../format/layout.js';
import type { BnnModel, LayerTensors } from '../format/model.js';
import { GRAPH_INPUT, inferShapes, padBefore, padTotal, type InputQuantizer, type Layer, type LayerShape, type ModelGraph, type Pool2dLayer, type Shape3 } from './graph.js';
import { accKernelThresholds, batchNormAffine, chainDecreasing, floatKernelThresholds, int8KernelThresholds, searchThresholds, type ChainOp, type ThresholdDomain } from './threshold.js';

/** A model the runtime cannot run as lowered (the graph is valid, but this combination is not supported). */
export class UnsupportedModelError extends Error {
  override readonly name = 'UnsupportedModelError';
}

export type ValueForm = 'f32' | 'bits' | 'acc' | 'u8';

/**
 * What an accumulator's integers stand for, y as a real number:
 * popcount: y = n − 2·acc (acc ∈ [0, n]); doubled (zero-padded binary conv): y = n − acc
 * (acc ∈ [0, 2n]); int8: y = acc · scale[c] / 255 (|acc| ≤ maxAbs).
 */
export type AccMeaning =
  | { readonly mode: 'popcount'; readonly n: number }
  | { readonly mode: 'doubled'; readonly n: number }
  | { readonly mode: 'int8'; readonly scale: Float32Array; readonly maxAbs: number };

export interface PlanValue {
  readonly id: number;
  readonly shape: Shape3;
  readonly form: ValueForm;
  readonly acc?: AccMeaning;
  /** Set for a flatten: this value is the same bytes as value `viewOf`, with another shape. */
  readonly viewOf?: number;
}

export interface Geometry2d {
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
}

export interface StepBase {
  /** The graph layer the step comes from. */
  readonly layer: string;
  readonly inputs: readonly number[];
  readonly output: number;
}

/** x_q = clamp(⌊x·255 + ½⌋, 0, 255), each operation in float32. */
export interface QuantizeU8Step extends StepBase {
  readonly op: 'quantizeU8';
}
/** Float conv (zero padding), HWIO weights (±1 for binary weights on a float input). */
export interface ConvStep extends StepBase {
  readonly op: 'conv';
  readonly g: Geometry2d;
  readonly weights: Float32Array;
}
/** int8 conv on the u8 image (zero padding), straight to bits: +1 iff (flip ? acc ≤ thr : acc ≥ thr). */
export interface QconvThresholdStep extends StepBase {
  readonly op: 'qconvThreshold';
  readonly g: Geometry2d;
  readonly weightsI8: Int8Array;
  readonly thr: Int32Array;
  readonly flip: Int32Array;
  /** The threshold's chain and meaning, for the tfjs side's straight-through gradient. */
  readonly chain: readonly ChainOp[];
  readonly acc: AccMeaning;
  readonly quantizer: InputQuantizer;
}
/** Zero-pads packed bits (a zero word is +1 in every channel). */
export interface BitPadStep extends StepBase {
  readonly op: 'bitPad';
  readonly pads: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };
}
/**
 * XOR-popcount conv on packed bits, VALID on its (padded) input: acc = popcount. With `correction`
 * (zero padding), acc = 2·popcount + correction[oy][ox][o] instead.
 */
export interface BconvStep extends StepBase {
  readonly op: 'bconv';
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  /** [cout][kh][kw][⌈cin/32⌉] words, or probabilities [cout][kh][kw][cin] for a stochastic layer. */
  readonly signWords?: Uint32Array;
  /**
   * Ternary weights: which weights are nonzero, laid out as signWords. The kernel counts
   * P = popcount((x XOR w) AND mask), and `correction` is then N − n₁(o) (N = kh·kw·cin taps, n₁
   * the filter's nonzero weights), so acc = 2P + correction = N − Σ x·w, as zero padding's.
   */
  readonly maskWords?: Uint32Array;
  readonly probabilities?: Uint8Array;
  readonly correction?: Int32Array;
}
export interface DenseStep extends StepBase {
  readonly op: 'dense';
  /** [in, units] (±1 for binary weights on a float input). */
  readonly weights: Float32Array;
}
/**
 * Bits from a float or accumulator value: float: +1 iff (flip ? y ≤ thr : y ≥ thr) (NaN: −1);
 * accumulator: +1 iff (flip ? acc ≥ thr : acc ≤ thr).
 */
export interface ThresholdStep extends StepBase {
  readonly op: 'threshold';
  readonly thr: Float32Array | Int32Array;
  readonly flip: Int32Array;
  readonly chain: readonly ChainOp[];
  readonly quantizer: InputQuantizer;
}
/** Max-pool of ±1 bits: per word, AND of the window (max) where orMask has 0, OR (min) where 1. */
export interface BitMaxPoolStep extends StepBase {
  readonly op: 'bitMaxPool';
  readonly g: Geometry2d;
  readonly orMask: Uint32Array;
}
/** y = f32(n − 2·acc) (popcount) or f32(n − acc) (doubled). */
export interface AccToF32Step extends StepBase {
  readonly op: 'accToF32';
}
/** Per-channel operations applied in order in float32 (constants rounded to float32). */
export interface ChainStep extends StepBase {
  readonly op: 'chain';
  readonly ops: readonly ChainOp[];
}
export interface PoolStep extends StepBase {
  readonly op: 'maxPool' | 'avgPool';
  readonly g: Geometry2d;
}
export interface GlobalAvgPoolStep extends StepBase {
  readonly op: 'globalAvgPool';
}
export interface AddStep extends StepBase {
  readonly op: 'add';
}
export interface FlattenStep extends StepBase {
  readonly op: 'flatten';
}

/** A step before its output value exists (Omit distributed over the union). */
type StepInit = PlanStep extends infer S ? (S extends PlanStep ? Omit<S, 'output'> : never) : never;

export type PlanStep = QuantizeU8Step | ConvStep | QconvThresholdStep | BitPadStep | BconvStep | DenseStep | ThresholdStep | BitMaxPoolStep | AccToF32Step | ChainStep | PoolStep | GlobalAvgPoolStep | AddStep | FlattenStep;

export interface ExecutionPlan {
  readonly graph: ModelGraph;
  readonly values: readonly PlanValue[];
  readonly steps: readonly PlanStep[];
  /** Value 0: the image, f32 [H, W, C]. */
  readonly input: number;
  /** The logits, f32 [1, 1, classes]. */
  readonly output: number;
  /** Whether any step samples weights (stochastic layers): each forward pass then draws anew. */
  readonly stochastic: boolean;
}

/** A value with per-channel operations and pools still to apply (not yet computed). */
interface Pending {
  readonly base: number;
  readonly ops: readonly PendingOp[];
}
type PendingOp = { readonly kind: 'elem'; readonly op: ChainOp } | { readonly kind: 'maxPool'; readonly g: Geometry2d; readonly out: Shape3 } | { readonly kind: 'flatten' };

function poolGeometry(l: Pool2dLayer, input: Shape3): Geometry2d {
  const [h, w] = input;
  const [kh, kw] = l.poolSize;
  const [sh, sw] = l.strides;
  const th = padTotal(h, kh, sh, l.padding);
  const tw = padTotal(w, kw, sw, l.padding);
  const top = padBefore(h, kh, sh, l.padding);
  const left = padBefore(w, kw, sw, l.padding);
  return { kh, kw, sh, sw, padTop: top, padBottom: th - top, padLeft: left, padRight: tw - left };
}

/** Int range of an accumulator and its real value, for the threshold search. */
function accDomain(acc: AccMeaning): ThresholdDomain {
  if (acc.mode === 'popcount') return { kind: 'int', lo: 0, hi: acc.n, value: (a) => acc.n - 2 * a };
  if (acc.mode === 'doubled') return { kind: 'int', lo: 0, hi: 2 * acc.n, value: (a) => acc.n - a };
  return { kind: 'int', lo: -acc.maxAbs, hi: acc.maxAbs, value: (a, c) => (a * acc.scale[c]!) / 255 };
}

/** ±1 (with a ternary mask: −1, 0, +1) float weights HWIO from packed sign words [cout][kh][kw][⌈cin/32⌉]. */
function signsToHwio(words: Uint32Array, kh: number, kw: number, cin: number, cout: number, mask?: Uint32Array): Float32Array {
  const wpp = wordsPerPixel(cin);
  const out = new Float32Array(kh * kw * cin * cout);
  for (let o = 0; o < cout; o++)
    for (let t = 0; t < kh * kw; t++)
      for (let i = 0; i < cin; i++) {
        const word = (o * kh * kw + t) * wpp + (i >> 5);
        const bit = 1 << (i & 31);
        out[(t * cin + i) * cout + o] = mask && !(mask[word]! & bit) ? 0 : words[word]! & bit ? -1 : 1;
      }
  return out;
}

/** Per output pixel and channel, N − n₁(o): the taps a ternary filter ignores (BconvStep.maskWords). */
function ternaryCorrection(mask: Uint32Array, cout: number, taps: number, outPixels: number): Int32Array {
  const perFilter = mask.length / cout;
  const corr = new Int32Array(outPixels * cout);
  for (let o = 0; o < cout; o++) {
    let ones = 0;
    for (let j = 0; j < perFilter; j++) ones += popcount32(mask[o * perFilter + j]!);
    for (let p = 0; p < outPixels; p++) corr[p * cout + o] = taps - ones;
  }
  return corr;
}

/** Repacks per-unit sign words over a flat [h·w·c] input into per-pixel words [units][h][w][⌈c/32⌉]. */
function repackSigns(words: Uint32Array, units: number, h: number, w: number, c: number): Uint32Array {
  const flatWpp = wordsPerPixel(h * w * c);
  const wpp = wordsPerPixel(c);
  const out = new Uint32Array(units * h * w * wpp);
  for (let u = 0; u < units; u++)
    for (let f = 0; f < h * w * c; f++) {
      if ((words[u * flatWpp + (f >> 5)]! >>> (f & 31)) & 1) {
        const p = Math.floor(f / c);
        const ch = f % c;
        out[(u * h * w + p) * wpp + (ch >> 5)]! |= 1 << (ch & 31);
      }
    }
  return out;
}

class Lowering {
  readonly values: PlanValue[] = [];
  readonly steps: PlanStep[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly materialized = new Map<Pending, number>();
  private readonly binarized = new Map<Pending, number>();
  /** int8 convs, computed only when binarized (fused with their threshold). */
  private readonly int8 = new Map<number, { step: LayerShape; tensors: LayerTensors; u8: number; g: Geometry2d }>();
  private u8Image = -1;
  stochastic = false;

  constructor(private readonly model: BnnModel) {}

  value(shape: Shape3, form: ValueForm, extra: Partial<PlanValue> = {}): number {
    const id = this.values.length;
    this.values.push({ id, shape, form, ...extra });
    return id;
  }

  private fail(layer: string, msg: string): never {
    throw new UnsupportedModelError(`layer ${layer}: ${msg}`);
  }

  run(): ExecutionPlan {
    const graph = this.model.graph;
    const image = this.value(graph.input, 'f32');
    this.pending.set(GRAPH_INPUT, { base: image, ops: [] });
    const shapes = inferShapes(graph);
    shapes.forEach((s, i) => this.pending.set(s.layer.name, this.layer(s, this.model.layers[i]!)));
    const last = shapes[shapes.length - 1]!.layer;
    const output = this.materialize(this.pending.get(last.name)!, last.name);
    return { graph, values: this.values, steps: this.steps, input: image, output, stochastic: this.stochastic };
  }

  private layer(s: LayerShape, t: LayerTensors): Pending {
    const l = s.layer;
    const input = this.pending.get(l.inputs[0]!)!;
    const extend = (...ops: PendingOp[]): Pending => ({ base: input.base, ops: [...input.ops, ...ops] });
    switch (l.kind) {
      case 'batchNorm': {
        const { a, b } = batchNormAffine(t.mean!, t.variance!, t.beta!, t.gamma!, l.epsilon);
        return extend({ kind: 'elem', op: { kind: 'mul', v: a } }, { kind: 'elem', op: { kind: 'add', v: b } });
      }
      case 'relu':
        return extend({ kind: 'elem', op: { kind: 'relu' } });
      case 'scale':
        return extend({ kind: 'elem', op: { kind: 'mul', v: new Float64Array(s.output[2]).fill(t.scale!) } });
      case 'maxPool2d':
        return extend({ kind: 'maxPool', g: poolGeometry(l, s.inputs[0]!), out: s.output });
      case 'flatten':
        return extend({ kind: 'flatten' });
      case 'avgPool2d': {
        const x = this.materialize(input, l.name);
        return this.emit({ op: 'avgPool', layer: l.name, inputs: [x], g: poolGeometry(l, s.inputs[0]!) }, s.output, 'f32');
      }
      case 'globalAvgPool2d': {
        const x = this.materialize(input, l.name);
        return this.emit({ op: 'globalAvgPool', layer: l.name, inputs: [x] }, s.output, 'f32');
      }
      case 'add': {
        const a = this.materialize(input, l.name);
        const b = this.materialize(this.pending.get(l.inputs[1]!)!, l.name);
        return this.emit({ op: 'add', layer: l.name, inputs: [a, b] }, s.output, 'f32');
      }
      case 'quantConv2d':
      case 'quantDense':
        return this.quantLayer(s, l, t, input);
    }
  }

  /** Appends a step producing a new value; returns the value as a Pending with no ops. */
  private emit(step: StepInit, shape: Shape3, form: ValueForm, extra: Partial<PlanValue> = {}): Pending {
    const output = this.value(shape, form, extra);
    this.steps.push({ ...step, output } as PlanStep);
    return { base: output, ops: [] };
  }

  private quantLayer(s: LayerShape, l: Extract<Layer, { kind: 'quantConv2d' | 'quantDense' }>, t: LayerTensors, input: Pending): Pending {
    const [h, w, cin] = s.inputs[0]!;
    const cout = l.kind === 'quantConv2d' ? l.filters : l.units;
    const bias: PendingOp[] = t.bias ? [{ kind: 'elem', op: { kind: 'add', v: Float64Array.from(t.bias) } }] : [];
    const withBias = (p: Pending): Pending => ({ base: p.base, ops: [...p.ops, ...bias] });
    const conv = l.kind === 'quantConv2d' ? l : null;
    const geometry = (): Geometry2d => {
      const [kh, kw] = conv!.kernelSize;
      const [sh, sw] = conv!.strides;
      const th = padTotal(h, kh, sh, conv!.padding);
      const tw = padTotal(w, kw, sw, conv!.padding);
      const top = padBefore(h, kh, sh, conv!.padding);
      const left = padBefore(w, kw, sw, conv!.padding);
      return { kh, kw, sh, sw, padTop: top, padBottom: th - top, padLeft: left, padRight: tw - left };
    };
    if (!l.inputQuantizer) {
      if (conv?.int8) {
        if (this.u8Image < 0) this.u8Image = this.emit({ op: 'quantizeU8', layer: l.name, inputs: [input.base] }, this.values[input.base]!.shape, 'u8').base;
        const g = geometry();
        const maxAbs = g.kh * g.kw * cin * 255 * 128;
        const acc = this.value(s.output, 'acc', { acc: { mode: 'int8', scale: t.weightScale!, maxAbs } });
        this.int8.set(acc, { step: s, tensors: t, u8: this.u8Image, g });
        return withBias({ base: acc, ops: [] });
      }
      const x = this.materialize(input, l.name);
      const [kh, kw] = conv ? conv.kernelSize : [1, 1];
      const weights = t.weightsF32 ?? signsToHwio(t.signWords!, kh, kw, cin, cout, t.maskWords);
      if (conv) return withBias(this.emit({ op: 'conv', layer: l.name, inputs: [x], g: geometry(), weights }, s.output, 'f32'));
      return withBias(this.emit({ op: 'dense', layer: l.name, inputs: [x], weights }, s.output, 'f32'));
    }
    // Binary input and weights: XOR-popcount.
    if (t.probabilities) this.stochastic = true;
    let bits = this.binarize(input, l.name, l.inputQuantizer);
    const bv = this.values[bits]!;
    // The weights as the kernel reads them; ternary ones with their mask and the taps it ignores.
    const binaryWeights = (signWords: Uint32Array | undefined, maskWords: Uint32Array | undefined, n: number, outPixels: number) => {
      if (!signWords) return { weights: { probabilities: t.probabilities! }, acc: { mode: 'popcount', n } as const };
      if (!maskWords) return { weights: { signWords }, acc: { mode: 'popcount', n } as const };
      return { weights: { signWords, maskWords, correction: ternaryCorrection(maskWords, cout, n, outPixels) }, acc: { mode: 'doubled', n } as const };
    };
    if (bv.viewOf !== undefined && (!conv || (conv.kernelSize[0] === 1 && conv.kernelSize[1] === 1))) {
      // Dense (or a 1×1 conv) over a flattened H×W×C bit tensor: a conv whose window is the whole
      // tensor, on the per-pixel words as they lie (weights repacked to match).
      const [uh, uw, uc] = this.values[bv.viewOf]!.shape;
      const n = uh * uw * uc;
      const repack = (words: Uint32Array | undefined) => (words ? repackSigns(words, cout, uh, uw, uc) : undefined);
      const b = binaryWeights(repack(t.signWords), repack(t.maskWords), n, 1);
      return withBias(this.emit({ op: 'bconv', layer: l.name, inputs: [bv.viewOf], kh: uh, kw: uw, sh: 1, sw: 1, ...b.weights }, s.output, 'acc', { acc: b.acc }));
    }
    if (bv.viewOf !== undefined && this.values[bv.viewOf]!.shape[2] % 32 !== 0) this.fail(l.name, `a ${conv!.kernelSize.join('×')} binary conv on a flattened binary tensor whose channels are not a multiple of 32 is not supported (use quantDense)`);
    if (!conv) {
      const b = binaryWeights(t.signWords, t.maskWords, cin, 1);
      return withBias(this.emit({ op: 'bconv', layer: l.name, inputs: [bits], kh: 1, kw: 1, sh: 1, sw: 1, ...b.weights }, s.output, 'acc', { acc: b.acc }));
    }
    const g = geometry();
    const n = g.kh * g.kw * cin;
    const padded = g.padTop + g.padBottom + g.padLeft + g.padRight > 0;
    if (padded) {
      bits = this.emit({ op: 'bitPad', layer: l.name, inputs: [bits], pads: { top: g.padTop, bottom: g.padBottom, left: g.padLeft, right: g.padRight } }, [h + g.padTop + g.padBottom, w + g.padLeft + g.padRight, cin], 'bits').base;
    }
    const zeroPad = padded && conv.padValue === 0;
    if (zeroPad && !t.signWords) this.fail(l.name, 'stochastic weights with zero padding are not supported (use padValue 1)');
    if (zeroPad && t.maskWords) this.fail(l.name, 'ternary weights with zero padding are not supported (use padValue 1)');
    if (zeroPad) {
      const correction = this.zeroPadCorrection(t.signWords!, g, [h, w, cin], s.output);
      return withBias(this.emit({ op: 'bconv', layer: l.name, inputs: [bits], kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, signWords: t.signWords!, correction }, s.output, 'acc', { acc: { mode: 'doubled', n } }));
    }
    const b = binaryWeights(t.signWords, t.maskWords, n, s.output[0] * s.output[1]);
    return withBias(this.emit({ op: 'bconv', layer: l.name, inputs: [bits], kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, ...b.weights }, s.output, 'acc', { acc: b.acc }));
  }

  /**
   * Zero padding from one padding: with +1 at the pads the dot product is y₊ = n − 2P; with 0 it is
   * y₀ = y₊ − Σ_{pad taps} w. correction[oy][ox][o] = Σ over the taps of that window outside the
   * input of Σ_ci w[o][tap][ci], so that y₀ = n − (2P + correction).
   */
  private zeroPadCorrection(words: Uint32Array, g: Geometry2d, input: Shape3, out: Shape3): Int32Array {
    const [h, w, cin] = input;
    const [oh, ow, cout] = out;
    const wpp = wordsPerPixel(cin);
    const tapSum = new Int32Array(cout * g.kh * g.kw);
    for (let i = 0; i < tapSum.length; i++) {
      let ones = 0;
      for (let j = 0; j < wpp; j++) ones += popcount32(words[i * wpp + j]!);
      tapSum[i] = cin - 2 * ones;
    }
    const corr = new Int32Array(oh * ow * cout);
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ky = 0; ky < g.kh; ky++)
          for (let kx = 0; kx < g.kw; kx++) {
            const y = oy * g.sh - g.padTop + ky;
            const x = ox * g.sw - g.padLeft + kx;
            if (y >= 0 && y < h && x >= 0 && x < w) continue;
            for (let o = 0; o < cout; o++) corr[(oy * ow + ox) * cout + o]! += tapSum[(o * g.kh + ky) * g.kw + kx]!;
          }
    return corr;
  }

  /** The pending value computed as float32, literally in graph order. */
  private materialize(p: Pending, layer: string): number {
    const memo = this.materialized.get(p);
    if (memo !== undefined) return memo;
    let v = p.base;
    const base = this.values[v]!;
    if (base.form === 'acc') {
      if (base.acc!.mode === 'int8') this.fail(layer, 'the output of an int8 layer is used as floats; int8 layers may only feed binarized inputs');
      v = this.emit({ op: 'accToF32', layer, inputs: [v] }, base.shape, 'f32').base;
    }
    let chain: ChainOp[] = [];
    const flush = () => {
      if (chain.length) v = this.emit({ op: 'chain', layer, inputs: [v], ops: chain }, this.values[v]!.shape, 'f32').base;
      chain = [];
    };
    for (const op of p.ops) {
      if (op.kind === 'elem') {
        chain.push(op.op);
        continue;
      }
      flush();
      if (op.kind === 'maxPool') v = this.emit({ op: 'maxPool', layer, inputs: [v], g: op.g }, op.out, 'f32').base;
      else v = this.flatten(v, layer);
    }
    flush();
    this.materialized.set(p, v);
    return v;
  }

  private flatten(v: number, layer: string): number {
    const src = this.values[v]!;
    const [h, w, c] = src.shape;
    return this.emit({ op: 'flatten', layer, inputs: [v] }, [1, 1, h * w * c], src.form, { viewOf: src.viewOf ?? v, ...(src.acc ? { acc: src.acc } : {}) }).base;
  }

  /** Sign bits of a pending value: a threshold on its base, then bit pools (see the file's comment). */
  private binarize(p: Pending, layer: string, quantizer: InputQuantizer): number {
    const memo = this.binarized.get(p);
    if (memo !== undefined) return memo;
    const flatAt = p.ops.findIndex((o) => o.kind === 'flatten');
    const pre = flatAt < 0 ? p.ops : p.ops.slice(0, flatAt);
    const post = flatAt < 0 ? [] : p.ops.slice(flatAt + 1);
    const poolsBefore = pre.some((o) => o.kind === 'maxPool');
    let bits: number;
    if (post.some((o) => o.kind !== 'elem') || (post.length > 0 && poolsBefore)) {
      // Not a per-channel chain: compute the floats as the graph says, then take their sign.
      const x = this.materialize(p, layer);
      bits = this.threshold(x, [], layer, quantizer);
    } else if (post.length > 0) {
      // Per-feature operations after a flatten: threshold the base viewed flat, each feature with
      // the channel ops before the flatten and its own after.
      const base = this.values[p.base]!;
      const [h, w, c] = base.shape;
      const f = h * w * c;
      const tile = (op: ChainOp): ChainOp => (op.kind === 'relu' ? op : { kind: op.kind, v: Float64Array.from({ length: f }, (_, i) => op.v[i % c]!) });
      const chain = [...pre.map((o) => tile((o as { op: ChainOp }).op)), ...post.map((o) => (o as { op: ChainOp }).op)];
      const flat = this.flatten(p.base, layer);
      bits = this.threshold(flat, chain, layer, quantizer);
    } else {
      const chain = pre.filter((o) => o.kind === 'elem').map((o) => (o as { op: ChainOp }).op);
      bits = this.threshold(p.base, chain, layer, quantizer);
      pre.forEach((o, i) => {
        if (o.kind !== 'maxPool') return;
        const after = pre.slice(i + 1).filter((x) => x.kind === 'elem').map((x) => (x as { op: ChainOp }).op);
        const c = this.values[bits]!.shape[2];
        const orMask = new Uint32Array(wordsPerPixel(c));
        for (let ch = 0; ch < c; ch++) if (chainDecreasing(after, ch)) orMask[ch >> 5]! |= 1 << (ch & 31);
        bits = this.emit({ op: 'bitMaxPool', layer, inputs: [bits], g: o.g, orMask }, o.out, 'bits').base;
      });
      if (flatAt >= 0) bits = this.flatten(bits, layer);
    }
    this.binarized.set(p, bits);
    return bits;
  }

  /** A threshold step (or the int8 conv fused with it) on a materialized value. */
  private threshold(x: number, chain: ChainOp[], layer: string, quantizer: InputQuantizer): number {
    const v = this.values[x]!;
    const c = v.shape[2];
    if (v.form === 'f32') {
      const { thr, flip } = floatKernelThresholds(searchThresholds(chain, c, { kind: 'f32' }));
      return this.emit({ op: 'threshold', layer, inputs: [x], thr, flip, chain, quantizer }, v.shape, 'bits').base;
    }
    const acc = v.acc!;
    const domain = accDomain(acc);
    const th = searchThresholds(chain, c, domain);
    const { lo, hi } = domain as { lo: number; hi: number };
    if (acc.mode === 'int8') {
      const q = this.int8.get(x);
      if (!q) this.fail(layer, 'the output of an int8 layer is flattened before its per-feature operations; not supported');
      const { thr, flip } = int8KernelThresholds(th, lo, hi);
      return this.emit({ op: 'qconvThreshold', layer: q.step.layer.name, inputs: [q.u8], g: q.g, weightsI8: q.tensors.weightsI8!, thr, flip, chain, acc, quantizer }, v.shape, 'bits').base;
    }
    const { thr, flip } = accKernelThresholds(th, lo, hi);
    return this.emit({ op: 'threshold', layer, inputs: [x], thr, flip, chain, quantizer }, v.shape, 'bits').base;
  }
}

/** The execution plan of a decoded model (see the file's comment). */
export function lower(model: BnnModel): ExecutionPlan {
  try {
    return new Lowering(model).run();
  } catch (e) {
    if (e instanceof RangeError) throw new UnsupportedModelError(e.message);
    throw e;
  }
}

/** Summary for people: one line per step. */
export function describePlan(plan: ExecutionPlan): string[] {
  return plan.steps.map((s) => `${s.op.padEnd(14)} ${s.layer.padEnd(12)} ${s.inputs.map((i) => `v${i}`).join(',')} → v${s.output} ${plan.values[s.output]!.shape.join('×')} ${plan.values[s.output]!.form}`);
}
