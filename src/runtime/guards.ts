/**
 * debugGuards: guard words after every region of linear memory, checked after every kernel call,
 * so that a kernel writing outside its buffers — the silent corruption of overlapping buffers —
 * becomes an error naming the kernel and the buffer it hit. Also checked: the weights and
 * thresholds did not change, and a call on m images wrote nothing in the 4 KiB after m images of
 * its output.
 *
 * Buffers share memory by liveness (plan.ts), so a buffer's guard is only meaningful while the
 * buffer is live: the guards of the buffers an exec uses are written just before it runs and
 * checked just after. Static regions' guards are written once and checked after every call.
 */
import { BnnRuntimeError } from './errors.js';
import type { Region, ValueBuffers } from './plan.js';
import { align16 } from './plan.js';

/** Bytes of guard words after each region (a multiple of 16, to keep alignment). */
export const GUARD_BYTES = 32;
/**
 * Bytes past an output's m images that are checked: a kernel overrunning its images writes right
 * after them, and a bound keeps the check's cost proportional to m, not to maxBatch.
 */
export const TAIL_BYTES = 4096;

/** A guard word: a fixed pattern mixed with its address, so a copied guard does not pass. */
function guardWord(at: number): number {
  return (0xa5c396e1 ^ Math.imul(at, 0x9e3779b1)) >>> 0;
}

interface Span {
  readonly start: number;
  readonly end: number;
  readonly what: string;
}

export class Guards {
  private readonly staticGuards: Span[];
  private snapshot: { region: Region; bytes: Uint8Array }[] = [];

  constructor(
    private readonly memory: WebAssembly.Memory,
    statics: readonly Region[],
    private readonly buffers: ValueBuffers,
    /** Bytes per image of each value. */
    private readonly perImage: readonly number[],
  ) {
    this.staticGuards = statics.map((r) => ({ start: r.ptr + align16(Math.max(r.bytes, 1)), end: r.ptr + align16(Math.max(r.bytes, 1)) + GUARD_BYTES, what: r.what }));
    for (const g of this.staticGuards) this.fill(g);
  }

  /** Records the regions that must never change again (weights, thresholds, masks). */
  freeze(immutable: readonly Region[]): void {
    const u8 = new Uint8Array(this.memory.buffer);
    this.snapshot = immutable.map((region) => ({ region, bytes: u8.slice(region.ptr, region.ptr + region.bytes) }));
  }

  /** Before an exec over steps [t0, t1] on m images: the guards of its live buffers, and the unused tail of its output's. */
  enter(t0: number, t1: number, output: number, m: number): void {
    for (const b of this.liveBlocks(t0, t1)) this.fill({ start: b.ptr + b.bytes, end: b.ptr + b.bytes + GUARD_BYTES, what: '' });
    const tail = this.tail(output, m);
    if (tail) this.fill(tail);
  }

  /** After a kernel call: throws BnnRuntimeError if any guard, frozen region or unused tail changed. */
  check(kernel: string, exec?: { t0: number; t1: number; output: number; m: number }): void {
    const fail = (msg: string): never => {
      throw new BnnRuntimeError(kernel, new Error(`debugGuards: ${msg}`));
    };
    for (const g of this.staticGuards) if (!this.intact(g)) fail(`wrote outside its buffers: the guard after ${g.what} (bytes ${g.start}–${g.end}) changed`);
    const u8 = new Uint8Array(this.memory.buffer);
    for (const { region, bytes } of this.snapshot) {
      for (let i = 0; i < bytes.length; i++) if (u8[region.ptr + i] !== bytes[i]) fail(`${region.what}: byte ${i} of its weights/constants changed`);
    }
    if (!exec) return;
    for (const b of this.liveBlocks(exec.t0, exec.t1)) {
      const g = { start: b.ptr + b.bytes, end: b.ptr + b.bytes + GUARD_BYTES, what: `value v${b.value}` };
      if (!this.intact(g)) fail(`wrote outside its buffers: the guard after ${g.what} (bytes ${g.start}–${g.end}) changed`);
    }
    const tail = this.tail(exec.output, exec.m);
    if (tail && !this.intact(tail)) fail(`wrote beyond ${exec.m} image(s) of value v${exec.output}`);
  }

  private liveBlocks(t0: number, t1: number) {
    return this.buffers.blocks.filter((b) => b.first <= t1 && b.last >= t0);
  }

  /** The bytes of an output's block past m images (of the largest value sharing the block). */
  private tail(output: number, m: number): Span | null {
    const root = this.buffers.root[output]!;
    const block = this.buffers.blocks.find((b) => b.value === root);
    if (!block) return null;
    let per = 0;
    this.buffers.root.forEach((r, v) => {
      if (r === root) per = Math.max(per, this.perImage[v]!);
    });
    const start = align16(block.ptr + m * per);
    const end = Math.min(block.ptr + block.bytes, start + TAIL_BYTES);
    return start < end ? { start, end, what: `value v${output}` } : null;
  }

  private fill(s: Span): void {
    const words = new Uint32Array(this.memory.buffer, s.start, (s.end - s.start) / 4);
    for (let i = 0; i < words.length; i++) words[i] = guardWord(s.start + 4 * i);
  }

  private intact(s: Span): boolean {
    const words = new Uint32Array(this.memory.buffer, s.start, (s.end - s.start) / 4);
    for (let i = 0; i < words.length; i++) if (words[i] !== guardWord(s.start + 4 * i)) return false;
    return true;
  }
}
