/**
 * Small random models of the verifiable-mnist shape (models/graphs/verifiable-mnist.json): a 1×1
 * conv with bias on a one-channel image (int8 on the u8 image: per-pixel thresholds, one to three
 * mask channels), binary convs (strides, VALID / SAME with either pad value, maybe a max-pool of
 * bits; a third of the models with ternary weights), a binary dense layer, a binary head with batch norm; and images whose pixels sit near the
 * mask's cuts (free bits) or far from them (fixed bits), so that the free bits are few.
 */
import { modelFromParams, type BnnModel } from '../src/format/model.js';
import { defineGraph, GraphError, type ModelGraph } from '../src/model/graph.js';
import type { QconvThresholdStep } from '../src/model/lower.js';
import { Rng } from '../src/util/rng.js';
import { randomGraphParams } from './random_graphs.js';

type Json = Record<string, unknown>;

export function binarizedInputGraph(rng: Rng, name: string): ModelGraph {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  for (;;) {
    const h = 2 + rng.int(4);
    const w = 2 + rng.int(4);
    const layers: Json[] = [{ kind: 'quantConv2d', name: 'mask', filters: rng.next() < 0.6 ? 1 : 2 + rng.int(2), kernelSize: 1, useBias: true }];
    // A third of the models have ternary weights (ste_tern) wherever they are allowed (not with zero padding).
    const ternary = rng.next() < 0.33;
    const binaryConv = (i: number) => {
      const same = rng.next() < 0.5;
      const padValue = same ? pick([0, 1]) : 1;
      layers.push({ kind: 'quantConv2d', name: `conv${i}`, filters: 1 + rng.int(6), kernelSize: 1 + rng.int(3), strides: 1 + rng.int(2), padding: same ? 'same' : 'valid', inputQuantizer: 'ste_sign', kernelQuantizer: ternary && padValue === 1 ? 'ste_tern' : 'ste_sign', ...(same ? { padValue } : {}) });
      layers.push({ kind: 'batchNorm', name: `bn${i}`, center: rng.next() < 0.8, scale: rng.next() < 0.5, epsilon: 1e-3 });
      if (rng.next() < 0.2) layers.push({ kind: 'maxPool2d', name: `pool${i}`, poolSize: 2, strides: 1, padding: 'same' });
    };
    binaryConv(1);
    if (rng.next() < 0.5) binaryConv(2);
    layers.push({ kind: 'flatten', name: 'flatten' });
    if (rng.next() < 0.7) {
      layers.push({ kind: 'quantDense', name: 'dense1', units: 2 + rng.int(10), inputQuantizer: 'ste_sign', kernelQuantizer: ternary ? 'ste_tern' : 'ste_sign' });
      layers.push({ kind: 'batchNorm', name: 'bnd', center: rng.next() < 0.8, scale: rng.next() < 0.5, epsilon: 1e-3 });
    }
    const classes = 2 + rng.int(4);
    layers.push({ kind: 'quantDense', name: 'head', units: classes, inputQuantizer: 'ste_sign', kernelQuantizer: ternary ? 'ste_tern' : 'ste_sign' });
    if (rng.next() < 0.8) layers.push({ kind: 'batchNorm', name: 'bnh', center: rng.next() < 0.8, scale: rng.next() < 0.5, epsilon: 1e-3 });
    try {
      return defineGraph({ name, input: [h, w, 1], classes, layers });
    } catch (e) {
      if (!(e instanceof GraphError)) throw e;
    }
  }
}

/** The model, its mask weights chosen so that every mask channel's cut lies inside [0, 1]. */
export function binarizedInputModel(rng: Rng, name: string): BnnModel {
  const graph = binarizedInputGraph(rng, name);
  const params = randomGraphParams(graph, rng);
  const kernel = params.get('mask/kernel')!;
  const bias = params.get('mask/bias')!;
  for (let o = 0; o < kernel.length; o++) {
    kernel[o] = (rng.next() < 0.5 ? -1 : 1) * (0.25 + 0.75 * rng.next());
    bias[o] = -kernel[o]! * (0.1 + 0.8 * rng.next());
  }
  return modelFromParams(graph, params, { int8: 'auto' });
}

/** Per mask channel of the first layer its cut: the lowest u8 level whose bit differs from level 0's (none: −1). */
export function maskCuts(step: QconvThresholdStep): number[] {
  const plus = (o: number, q: number) => {
    const a = step.weightsI8[o]! * q;
    return step.flip[o] ? a <= step.thr[o]! : a >= step.thr[o]!;
  };
  return Array.from(step.thr, (_, o) => {
    for (let q = 1; q <= 255; q++) if (plus(o, q) !== plus(o, 0)) return q;
    return -1;
  });
}

/**
 * An image (u8 levels / 255) whose pixels are, with probability `nearCut`, within r levels of a
 * mask cut (free over the ball of radius r/255) and otherwise more than r + 1 levels from every cut.
 */
export function imageNearCuts(rng: Rng, px: number, cuts: readonly number[], r: number, nearCut: number): Float32Array {
  const real = cuts.filter((c) => c >= 0);
  return Float32Array.from({ length: px }, () => {
    if (real.length && rng.next() < nearCut) {
      const c = real[rng.int(real.length)]!;
      return Math.min(255, Math.max(0, c - r + rng.int(2 * r))) / 255;
    }
    for (let tries = 0; tries < 50; tries++) {
      const q = rng.int(256);
      if (real.every((c) => Math.abs(q - c) > r + 1)) return q / 255;
    }
    return rng.int(256) / 255;
  });
}
