/**
 * What the verifier knows about one value of an execution plan over a whole input box: for every
 * element, a range that contains what the runtime computes for every input in the box.
 *
 * - `range`: float32 values (f32), integer accumulators (acc) and u8 pixels (u8) as [lo, hi] per
 *   element, in the value's (h, w, c) order. Float ends are float32 numbers; integer ends integers.
 * - `bits`: ±1 values packed as the runtime packs them (per pixel ⌈c/32⌉ words, bit 1 = −1), with
 *   a second mask of the bits that are *free* (may be +1 or −1 in the box). A bit that is not free
 *   is fixed to the value in `val`. Unused high bits are 0 in both.
 */
import { popcount32 } from '../format/bits.js';
import { wordsPerPixel } from '../format/layout.js';
import type { Shape3 } from '../model/graph.js';

export interface RangeValue {
  readonly kind: 'range';
  readonly shape: Shape3;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
}

export interface BitsValue {
  readonly kind: 'bits';
  readonly shape: Shape3;
  /** Fixed bits' values (1 = −1); 0 where free. */
  readonly val: Uint32Array;
  /** 1 where the bit may take either value. */
  readonly free: Uint32Array;
}

export type AbstractValue = RangeValue | BitsValue;

export function rangeValue(shape: Shape3): RangeValue {
  const n = shape[0] * shape[1] * shape[2];
  return { kind: 'range', shape, lo: new Float64Array(n), hi: new Float64Array(n) };
}

export function bitsValue(shape: Shape3): BitsValue {
  const n = shape[0] * shape[1] * wordsPerPixel(shape[2]);
  return { kind: 'bits', shape, val: new Uint32Array(n), free: new Uint32Array(n) };
}

/** Sets channel `ch` of pixel `p` of a bits value: +1 / −1 fixed, or free. */
export function setBit(v: BitsValue, p: number, ch: number, state: 'plus' | 'minus' | 'free'): void {
  const word = p * wordsPerPixel(v.shape[2]) + (ch >> 5);
  const bit = 1 << (ch & 31);
  if (state === 'minus') v.val[word]! |= bit;
  else if (state === 'free') v.free[word]! |= bit;
}

/** The bit of channel `ch` of pixel `p` as a range of ±1: [−1, −1], [1, 1] or [−1, 1]. */
export function bitRange(v: BitsValue, p: number, ch: number): readonly [number, number] {
  const word = p * wordsPerPixel(v.shape[2]) + (ch >> 5);
  const s = ch & 31;
  if ((v.free[word]! >>> s) & 1) return [-1, 1];
  return (v.val[word]! >>> s) & 1 ? [-1, -1] : [1, 1];
}

/** The number of free bits of a value (how far the box reached). */
export function freeBitCount(v: BitsValue): number {
  let n = 0;
  for (const w of v.free) n += popcount32(w);
  return n;
}

/** A value the verifier cannot bound soundly (an overflowing float, a step it does not know): the verdict is unknown. */
export class UnboundedError extends Error {
  override readonly name = 'UnboundedError';
}
