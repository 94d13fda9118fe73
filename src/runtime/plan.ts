/**
 * The runtime's execution plan for a decoded model: which kernel each layer runs, with the
 * folded thresholds it needs, and where every buffer lives in the module's linear memory.
 * Weights and thresholds are placed once at load; activation buffers are sized for a chunk of
 * `maxBatch` images and reused by every call (no per-call allocation).
 */
import { wordsPerPixel } from '../format/layout.js';
import type { BnnLayer, BnnModel } from '../format/model.js';
import { floatThresholds, foldBinaryInput, popcountThresholds, quantizedMaxAbs, quantizedThresholds } from '../model/fold.js';
import { convPadBefore } from '../model/spec.js';

/** How a layer's output leaves it: packed bits for a binary successor, floats otherwise. */
export type OutputForm = 'bits' | 'f32';

export interface ConvStep {
  /** fconv: float conv; qconv: integer (quantized) first layer; bconv: XNOR-popcount conv. */
  readonly kind: 'fconv' | 'qconv' | 'bconv';
  readonly layer: BnnLayer;
  readonly inH: number;
  readonly inW: number;
  readonly cin: number;
  readonly cout: number;
  readonly k: number;
  readonly stride: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly outH: number;
  readonly outW: number;
  readonly output: OutputForm;
  /**
   * bits output: +1 iff (flip ? v ≤ thr : v ≥ thr) for floats and quantized sums,
   * (flip ? P ≥ thr : P ≤ thr) for popcounts.
   */
  readonly thr?: Float32Array | Int32Array;
  readonly flip?: Int32Array;
  /** bconv with float output: y = nValid − 2P, out = max(y, 0) · scale. */
  readonly nValid: number;
  readonly scale: number;
  readonly stochastic: boolean;
}

export interface DenseStep {
  readonly kind: 'dense';
  readonly layer: BnnLayer;
  readonly fin: number;
  readonly fout: number;
}

export type Step = ConvStep | DenseStep;

export class UnsupportedModelError extends Error {
  override readonly name = 'UnsupportedModelError';
}

/** Derives the kernel sequence of a model (validated: every combination the runtime can run). */
export function planSteps(model: BnnModel): Step[] {
  const layers = model.layers;
  return layers.map((layer, i): Step => {
    const l = layer.shape.layer;
    if (l.kind === 'dense') {
      if (i !== layers.length - 1) throw new UnsupportedModelError(`dense layer ${l.name} must be the last layer`);
      return { kind: 'dense', layer, fin: layer.shape.in[2], fout: layer.shape.out[2] };
    }
    const next = layers[i + 1]?.shape.layer;
    const nextBinary = next?.kind === 'conv' && next.binary;
    const [inH, inW, cin] = layer.shape.in;
    const [outH, outW, cout] = layer.shape.out;
    if (l.binary && i === 0) throw new UnsupportedModelError(`the first layer (${l.name}) cannot be binary: its input is an image`);
    if (l.binary && l.padding !== 'valid') throw new UnsupportedModelError(`binary layer ${l.name} must use VALID padding`);
    if (!l.binary && l.scaled && !nextBinary) throw new UnsupportedModelError(`float layer ${l.name} with an SReLU scale feeding a float layer is not supported`);
    if (l.bias && (l.binary || l.quantized || l.scaled || nextBinary)) throw new UnsupportedModelError(`layer ${l.name}: a bias is supported on a float layer feeding a float layer only`);
    if (l.quantized && (i !== 0 || !nextBinary)) throw new UnsupportedModelError(`quantized layer ${l.name} must be the first layer and feed a binary layer`);
    const nValid = l.kernel * l.kernel * cin;
    const scale = layer.scale ?? 1;
    const base = {
      layer,
      inH,
      inW,
      cin,
      cout,
      k: l.kernel,
      stride: l.stride,
      padTop: convPadBefore(inH, l.kernel, l.stride, l.padding),
      padLeft: convPadBefore(inW, l.kernel, l.stride, l.padding),
      outH,
      outW,
      nValid,
      scale,
      stochastic: l.stochastic,
    };
    if (!nextBinary) return { ...base, kind: l.binary ? 'bconv' : 'fconv', output: 'f32' };
    const folded = foldBinaryInput(layers[i + 1]!.bn!, model.bnEpsilon, scale);
    if (l.quantized) {
      const { thr, flip } = quantizedThresholds(folded, layer.weightScale!, quantizedMaxAbs(layer.shape.weights));
      return { ...base, kind: 'qconv', output: 'bits', thr, flip };
    }
    const { thr, flip } = l.binary ? popcountThresholds(folded, nValid) : floatThresholds(folded);
    return { ...base, kind: l.binary ? 'bconv' : 'fconv', output: 'bits', thr, flip };
  });
}

/** Bytes of one image's output of a conv step. */
export function convOutputBytes(s: ConvStep): number {
  const pixels = s.outH * s.outW;
  return s.output === 'bits' ? pixels * wordsPerPixel(s.cout) * 4 : pixels * s.cout * 4;
}

/** A bump allocator over linear memory (16-byte aligned). */
export class Arena {
  private top: number;
  constructor(base: number) {
    this.top = align16(base);
  }
  alloc(bytes: number): number {
    const at = this.top;
    this.top = align16(this.top + Math.max(bytes, 1));
    return at;
  }
  get end(): number {
    return this.top;
  }
}

export function align16(n: number): number {
  return (n + 15) & ~15;
}
