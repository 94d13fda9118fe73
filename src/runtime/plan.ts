/**
 * Memory for an execution plan in the kernels' linear memory: static data (weights, thresholds,
 * masks) placed once, and one buffer per value sized for `maxBatch` images, reused between values
 * whose lifetimes do not overlap (a first-fit allocator over the plan's liveness intervals). Every
 * size is computed in float64 integers and checked against wasm32's 4 GiB before anything is
 * placed, so no size can wrap: an impossible configuration is a BnnConfigError.
 */
import { wordsPerPixel } from '../format/layout.js';
import type { ExecutionPlan, PlanValue } from '../model/lower.js';
import { BnnConfigError } from './errors.js';

/** The most linear memory a wasm32 instance can have. */
export const WASM_MEMORY_LIMIT = 2 ** 32;

/** Bytes of one image's worth of a value. */
export function valueBytes(v: PlanValue): number {
  const [h, w, c] = v.shape;
  switch (v.form) {
    case 'bits':
      return h * w * wordsPerPixel(c) * 4;
    case 'u8':
      return h * w * c;
    default:
      return h * w * c * 4;
  }
}

export function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/** A static region of linear memory: where it is, how long, what for. */
export interface Region {
  readonly ptr: number;
  readonly bytes: number;
  readonly what: string;
}

/**
 * A bump allocator over linear memory (16-byte aligned), with checked sizes: nothing may end
 * beyond `limit`. With `guard` > 0 every region is followed by that many bytes of guard words
 * (debugGuards), and the regions are listed so the guards can be written and checked.
 */
export class Arena {
  private top: number;
  readonly regions: Region[] = [];
  constructor(
    base: number,
    private readonly limit = WASM_MEMORY_LIMIT,
    private readonly guard = 0,
  ) {
    this.top = align16(base);
  }
  alloc(bytes: number, what: string): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new BnnConfigError('MEMORY_LIMIT', `${what}: size ${bytes} is not a valid byte count`);
    const at = this.top;
    this.top = align16(this.top + Math.max(bytes, 1)) + this.guard;
    if (this.top > this.limit) throw new BnnConfigError('MEMORY_LIMIT', `${what} does not fit in the ${this.limit} bytes of memory allowed (${this.top} bytes needed); use a smaller maxBatch or a larger maxMemoryBytes`);
    this.regions.push({ ptr: at, bytes, what });
    return at;
  }
  get end(): number {
    return this.top;
  }
}

export interface ValueBuffers {
  /** Byte offset of each value's buffer (views share their base's). */
  readonly ptr: Int32Array | number[];
  /** End of the activation region. */
  readonly end: number;
  /**
   * One block per buffer: its first value, its offset, its bytes for maxBatch images (the guard,
   * if any, follows), and the steps it is live over (input and output: all of them).
   */
  readonly blocks: readonly { readonly value: number; readonly ptr: number; readonly bytes: number; readonly first: number; readonly last: number }[];
  /** The value whose block each value uses (itself, the value it views, or the one it is in place of). */
  readonly root: readonly number[];
}

export interface PlaceOptions {
  /** Nothing may end beyond this (default: wasm32's 4 GiB). */
  readonly limit?: number;
  /** Bytes of guard words after every buffer (default 0). */
  readonly guard?: number;
}

export function placeValues(plan: ExecutionPlan, maxBatch: number, base: number, aliases: Map<number, number>, writtenEarly: readonly (readonly [value: number, step: number])[] = [], opts: PlaceOptions = {}): ValueBuffers {
  const limit = opts.limit ?? WASM_MEMORY_LIMIT;
  const guard = opts.guard ?? 0;
  const n = plan.values.length;
  const root = (v: number): number => {
    let r = v;
    for (;;) {
      const next = plan.values[r]!.viewOf ?? aliases.get(r);
      if (next === undefined) return r;
      r = next;
    }
  };
  const first = new Array<number>(n).fill(Infinity);
  const last = new Array<number>(n).fill(-1);
  const touch = (v: number, t: number) => {
    const r = root(v);
    first[r] = Math.min(first[r]!, t);
    last[r] = Math.max(last[r]!, t);
  };
  touch(plan.input, -1);
  plan.steps.forEach((s, t) => {
    for (const i of s.inputs) touch(i, t);
    touch(s.output, t);
  });
  // A fused call writes its last step's output when its first step runs.
  for (const [v, t] of writtenEarly) touch(v, t);
  touch(plan.input, plan.steps.length);
  touch(plan.output, plan.steps.length);
  const size = new Array<number>(n).fill(0);
  for (let v = 0; v < n; v++) {
    const r = root(v);
    const bytes = valueBytes(plan.values[v]!) * maxBatch;
    if (!Number.isSafeInteger(bytes) || bytes > limit) throw new BnnConfigError('MEMORY_LIMIT', `value v${v} (${plan.values[v]!.shape.join('×')} ${plan.values[v]!.form}) × maxBatch ${maxBatch} needs ${bytes} bytes, more than the ${limit} allowed; use a smaller maxBatch`);
    size[r] = Math.max(size[r]!, align16(bytes));
  }
  const roots = [...new Set(Array.from({ length: n }, (_, v) => root(v)))].filter((r) => last[r]! >= first[r]!);
  roots.sort((a, b) => first[a]! - first[b]! || a - b);
  // First fit over a list of live blocks, by offset.
  const live: { start: number; end: number; until: number }[] = [];
  const offset = new Array<number>(n).fill(0);
  let end = align16(base);
  const blocks: { value: number; ptr: number; bytes: number; first: number; last: number }[] = [];
  for (const r of roots) {
    for (let i = live.length - 1; i >= 0; i--) if (live[i]!.until < first[r]!) live.splice(i, 1);
    live.sort((a, b) => a.start - b.start);
    let at = align16(base);
    const span = size[r]! + guard;
    for (const b of live) {
      if (at + span <= b.start) break;
      at = Math.max(at, b.end);
    }
    offset[r] = at;
    live.push({ start: at, end: at + span, until: last[r]! });
    blocks.push({ value: r, ptr: at, bytes: size[r]!, first: first[r]!, last: last[r]! });
    end = Math.max(end, at + span);
    if (end > limit) throw new BnnConfigError('MEMORY_LIMIT', `the activations of ${maxBatch} images need more than the ${limit} bytes allowed (${end} bytes); use a smaller maxBatch`);
  }
  const ptr = Array.from({ length: n }, (_, v) => offset[root(v)]!);
  return { ptr, end, blocks, root: Array.from({ length: n }, (_, v) => root(v)) };
}

/**
 * Basic operations one image costs, step by step: multiply-adds of float and int8 convolutions and
 * dense layers, 32-bit XOR-popcount words of binary convolutions, window reads of pools, one per
 * value elsewhere. A model file states its own graph, so this is how a caller bounds the work an
 * untrusted model may ask for (BnnRuntime.opsPerImage) before running it.
 */
export function planOps(plan: ExecutionPlan): number {
  let ops = 0;
  for (const s of plan.steps) {
    const [inH, inW, cin] = plan.values[s.inputs[0]!]!.shape;
    const [outH, outW, cout] = plan.values[s.output]!.shape;
    const out = outH * outW * cout;
    switch (s.op) {
      case 'conv':
      case 'qconvThreshold':
        ops += out * s.g.kh * s.g.kw * cin;
        break;
      case 'bconv':
        ops += out * s.kh * s.kw * wordsPerPixel(cin);
        break;
      case 'dense':
        ops += inH * inW * cin * cout;
        break;
      case 'maxPool':
      case 'avgPool':
        ops += out * s.g.kh * s.g.kw;
        break;
      case 'bitMaxPool':
        ops += outH * outW * wordsPerPixel(cout) * s.g.kh * s.g.kw;
        break;
      case 'globalAvgPool':
        ops += inH * inW * cin;
        break;
      case 'chain':
        ops += out * Math.max(1, s.ops.length);
        break;
      default:
        ops += Math.max(out, inH * inW * cin);
    }
  }
  return ops;
}
