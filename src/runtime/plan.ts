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

/** A bump allocator over linear memory (16-byte aligned), with checked sizes. */
export class Arena {
  private top: number;
  constructor(base: number) {
    this.top = align16(base);
  }
  alloc(bytes: number, what: string): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new BnnConfigError('MEMORY_LIMIT', `${what}: size ${bytes} is not a valid byte count`);
    const at = this.top;
    this.top = align16(this.top + Math.max(bytes, 1));
    if (this.top > WASM_MEMORY_LIMIT) throw new BnnConfigError('MEMORY_LIMIT', `${what} does not fit in WebAssembly's 4 GiB of memory (${this.top} bytes needed); use a smaller maxBatch`);
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
}

/**
 * Places every value's buffer at or above `base`: a value lives from the step that writes it to the
 * last step that reads it (or a view of it); the input and the output live throughout. Values whose
 * lifetimes are disjoint share memory. `aliases` maps a value to one whose buffer it must reuse (an
 * in-place step); `writtenEarly` lists values a fused call writes at an earlier step than their own.
 */
export function placeValues(plan: ExecutionPlan, maxBatch: number, base: number, aliases: Map<number, number>, writtenEarly: readonly (readonly [value: number, step: number])[] = []): ValueBuffers {
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
    if (!Number.isSafeInteger(bytes) || bytes > WASM_MEMORY_LIMIT) throw new BnnConfigError('MEMORY_LIMIT', `value v${v} (${plan.values[v]!.shape.join('×')} ${plan.values[v]!.form}) × maxBatch ${maxBatch} needs ${bytes} bytes, more than WebAssembly's 4 GiB; use a smaller maxBatch`);
    size[r] = Math.max(size[r]!, align16(bytes));
  }
  const roots = [...new Set(Array.from({ length: n }, (_, v) => root(v)))].filter((r) => last[r]! >= first[r]!);
  roots.sort((a, b) => first[a]! - first[b]! || a - b);
  // First fit over a list of live blocks, by offset.
  const live: { start: number; end: number; until: number }[] = [];
  const offset = new Array<number>(n).fill(0);
  let end = align16(base);
  for (const r of roots) {
    for (let i = live.length - 1; i >= 0; i--) if (live[i]!.until < first[r]!) live.splice(i, 1);
    live.sort((a, b) => a.start - b.start);
    let at = align16(base);
    for (const b of live) {
      if (at + size[r]! <= b.start) break;
      at = Math.max(at, b.end);
    }
    offset[r] = at;
    live.push({ start: at, end: at + size[r]!, until: last[r]! });
    end = Math.max(end, at + size[r]!);
    if (end > WASM_MEMORY_LIMIT) throw new BnnConfigError('MEMORY_LIMIT', `the activations of ${maxBatch} images need more than WebAssembly's 4 GiB (${end} bytes); use a smaller maxBatch`);
  }
  const ptr = Array.from({ length: n }, (_, v) => offset[root(v)]!);
  return { ptr, end };
}
