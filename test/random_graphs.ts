/**
 * Random valid model graphs with random parameters, for the grid test and the conformance vectors:
 * every layer kind, channel counts that are not multiples of 32, SAME padding with both pad
 * values, residual adds, pools of floats and of bits, flatten into binary and float dense layers.
 *
 * Float weights and pixels are dyadic (multiples of 2^−6 and 2^−8), so float sums are exact in
 * float32 whatever their order: the runtime and tfjs, which add in different orders, then compute
 * the same values, and a test can demand that they agree on every label.
 */
import { defineGraph, inferShapes, type ModelGraph } from '../src/model/graph.js';
import { initParams, type ParamValues } from '../src/model/params.js';
import { Rng } from '../src/util/rng.js';

type Json = Record<string, unknown>;

export interface RandomGraphOptions {
  /** Make about half the binary layers ternary (ste_tern, format 2.1). Off: the draws (and graphs) of earlier versions. */
  readonly ternary?: boolean;
}

/** A random valid graph (defineGraph checks it). */
export function randomGraph(rng: Rng, name = 'random', opts: RandomGraphOptions = {}): ModelGraph {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const h = 4 + rng.int(9);
  const w = 4 + rng.int(9);
  const c = 1 + rng.int(4);
  const classes = 2 + rng.int(11);
  const layers: Json[] = [];
  let count = 0;
  const kernel = (): string => (opts.ternary && rng.next() < 0.5 ? 'ste_tern' : 'ste_sign');
  const add = (l: Json): string => {
    const named = { name: `l${count++}`, ...l };
    layers.push(named);
    return named.name;
  };
  // Shapes as we go, to keep every layer valid.
  let shape: [number, number, number] = [h, w, c];
  let last = 'input';
  const conv = (o: { binary: boolean; filters: number; k: number; s: number; same: boolean; padValue?: 0 | 1; firstLayer?: boolean }) => {
    const padding = o.same ? 'same' : 'valid';
    const outH = o.same ? Math.ceil(shape[0] / o.s) : Math.floor((shape[0] - o.k) / o.s) + 1;
    const outW = o.same ? Math.ceil(shape[1] / o.s) : Math.floor((shape[1] - o.k) / o.s) + 1;
    if (outH < 1 || outW < 1) return false;
    const binaryWeights = o.binary || (o.firstLayer && rng.next() < 0.4);
    const kq = binaryWeights ? kernel() : null;
    last = add({
      kind: 'quantConv2d',
      inputs: [last],
      filters: o.filters,
      kernelSize: [o.k, pick([o.k, Math.max(1, o.k - 1)])].slice(0, 2),
      strides: o.s,
      padding,
      ...(o.binary ? { inputQuantizer: 'ste_sign', kernelQuantizer: kq } : binaryWeights ? { kernelQuantizer: kq } : {}),
      ...(o.binary && o.same ? { padValue: kq === 'ste_tern' ? 1 : (o.padValue ?? pick([0, 1] as const)) } : {}),
      useBias: !o.binary && rng.next() < 0.3,
    });
    // The kernel's width may be one less than its height: recompute from the graph so far.
    shape = inferShapes(defineGraph({ input: [h, w, c], classes: 1, layers: [...layers, { kind: 'globalAvgPool2d', inputs: [last] }, { kind: 'quantDense', units: 1 }] })).find((s) => s.layer.name === last)!.output as [number, number, number];
    return true;
  };
  const elementwise = () => {
    for (const kind of ['batchNorm', 'relu', 'scale'] as const) if (rng.next() < (kind === 'batchNorm' ? 0.8 : 0.35)) last = add(kind === 'batchNorm' ? { kind, inputs: [last], center: rng.next() < 0.8, scale: rng.next() < 0.5, epsilon: 1e-3 } : { kind, inputs: [last], ...(kind === 'scale' ? { init: 0.5 } : {}) });
  };
  const pool = (kind: 'maxPool2d' | 'avgPool2d') => {
    const p = kind === 'avgPool2d' ? 2 : 1 + rng.int(3);
    const s = 1 + rng.int(2);
    const same = kind === 'maxPool2d' && rng.next() < 0.5;
    const oh = same ? Math.ceil(shape[0] / s) : Math.floor((shape[0] - p) / s) + 1;
    const ow = same ? Math.ceil(shape[1] / s) : Math.floor((shape[1] - p) / s) + 1;
    if (oh < 1 || ow < 1) return;
    last = add({ kind, inputs: [last], poolSize: p, strides: s, padding: same ? 'same' : 'valid' });
    shape = [oh, ow, shape[2]];
  };

  // First layer: a float conv on the image (maybe binary weights, Larq's first layer).
  conv({ binary: false, filters: 3 + rng.int(40), k: 1 + rng.int(3), s: 1 + rng.int(2), same: rng.next() < 0.5, firstLayer: true });
  const blocks = 1 + rng.int(4);
  for (let b = 0; b < blocks; b++) {
    const r = rng.next();
    if (r < 0.45) {
      elementwise();
      if (rng.next() < 0.3) pool('maxPool2d');
      conv({ binary: true, filters: 1 + rng.int(70), k: 1 + rng.int(3), s: 1 + rng.int(2), same: rng.next() < 0.6 });
    } else if (r < 0.7) {
      // A residual block (Bi-Real style): a real-valued shortcut around a binary conv.
      const shortcut = last;
      const channels = shape[2];
      last = add({ kind: 'batchNorm', inputs: [last], epsilon: 1e-3 });
      conv({ binary: true, filters: channels, k: 1 + 2 * rng.int(2), s: 1, same: true });
      last = add({ kind: 'batchNorm', inputs: [last], epsilon: 1e-3 });
      last = add({ kind: 'add', inputs: [last, shortcut] });
    } else if (r < 0.85) {
      elementwise();
      conv({ binary: false, filters: 2 + rng.int(30), k: 1 + rng.int(3), s: 1, same: true });
    } else {
      elementwise();
      pool(rng.next() < 0.5 ? 'maxPool2d' : 'avgPool2d');
    }
  }
  elementwise();
  if (rng.next() < 0.25) last = add({ kind: 'globalAvgPool2d', inputs: [last] });
  else last = add({ kind: 'flatten', inputs: [last] });
  if (rng.next() < 0.3) last = add({ kind: 'batchNorm', inputs: [last], epsilon: 1e-3 });
  if (rng.next() < 0.5) {
    last = add({ kind: 'quantDense', inputs: [last], units: 3 + rng.int(40), inputQuantizer: 'ste_sign', kernelQuantizer: kernel() });
    last = add({ kind: 'batchNorm', inputs: [last], epsilon: 1e-3 });
  }
  const binaryHead = rng.next() < 0.5;
  last = add({ kind: 'quantDense', inputs: [last], units: classes, ...(binaryHead ? { inputQuantizer: 'ste_sign', kernelQuantizer: kernel() } : { useBias: rng.next() < 0.5 }) });
  if (rng.next() < 0.4) add({ kind: 'batchNorm', inputs: [last], epsilon: 1e-3 });
  return defineGraph({ name, input: [h, w, c], classes, layers });
}

/**
 * Parameters with batch-norm statistics measured as if the previous value were standard (so every
 * threshold splits its inputs), dyadic float weights, and random signs.
 */
export function randomGraphParams(graph: ModelGraph, rng: Rng): ParamValues {
  const p = initParams(graph, rng.int(1 << 30));
  const shapes = new Map(inferShapes(graph).map((s) => [s.layer.name, s]));
  for (const [name, v] of p) {
    const layer = name.slice(0, name.indexOf('/'));
    const param = name.slice(layer.length + 1);
    const l = shapes.get(layer)!.layer;
    if (param === 'kernel' && (l.kind === 'quantConv2d' || l.kind === 'quantDense') && !l.kernelQuantizer) for (let i = 0; i < v.length; i++) v[i] = (rng.int(129) - 64) / 64;
    else if (param === 'kernel' && l.kind !== 'batchNorm' && 'kernelQuantizer' in l && l.kernelQuantizer === 'ste_tern') for (let i = 0; i < v.length; i++) v[i] = rng.next() < 0.4 ? 0 : rng.normal();
    else if (param === 'kernel') for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    else if (param === 'bias') for (let i = 0; i < v.length; i++) v[i] = (rng.int(65) - 32) / 16;
    else if (param === 'moving_mean') for (let i = 0; i < v.length; i++) v[i] = 2 * rng.normal();
    else if (param === 'moving_variance') for (let i = 0; i < v.length; i++) v[i] = 0.5 + 20 * rng.next();
    else if (param === 'beta') for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    else if (param === 'gamma') for (let i = 0; i < v.length; i++) v[i] = rng.next() < 0.2 ? -0.5 - rng.next() : rng.next() < 0.05 ? 0 : 0.5 + rng.next();
    else if (param === 'scale') v[0] = rng.next() < 0.15 ? -0.5 : 0.25 + rng.next() / 2;
  }
  return p;
}

/** n images of the graph's shape, pixels k/256 (dyadic). */
export function dyadicImages(graph: ModelGraph, n: number, rng: Rng): Float32Array {
  const [h, w, c] = graph.input;
  return Float32Array.from({ length: n * h * w * c }, () => rng.int(257) / 256);
}
