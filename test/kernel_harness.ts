// What the kernel tests (kernels_*.test.ts) share: both wasm builds instantiated, a bump allocator
// over their memory, and the bconv helpers. The tests check build/bnn-scalar.wasm and
// build/bnn-simd.wasm against the independent unpacked reference in kernel_reference.ts.
// Build the wasm first: npm run build:wasm
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TestRng, samePadding, wordsPerPixel } from './kernel_reference.js';

export type Ptr = number;
export type BconvFn = (input: Ptr, weights: Ptr, out: Ptr, n: number, inH: number, inW: number, wpp: number,
  cout: number, kh: number, kw: number, strideH: number, strideW: number, outH: number, outW: number) => void;

/** A bconv with a ternary mask (bconv2dPopcountMasked*). */
export type MaskedBconvFn = (input: Ptr, weights: Ptr, mask: Ptr, out: Ptr, n: number, inH: number, inW: number, wpp: number,
  cout: number, kh: number, kw: number, strideH: number, strideW: number, outH: number, outW: number) => void;

/** maxPool2dF32 / avgPool2dF32. */
export type PoolFn = (input: Ptr, out: Ptr, n: number, inH: number, inW: number, c: number, poolH: number, poolW: number,
  strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number) => void;

export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  simdBuild(): number;
  bconv2dPopcount: BconvFn;
  bconv2dPopcountReference: BconvFn;
  bconv2dPopcountScalar: BconvFn;
  bconv2dPopcountSimd: BconvFn;
  bconv2dPopcountMasked: MaskedBconvFn;
  bconv2dPopcountMaskedReference: MaskedBconvFn;
  thresholdPackI32(acc: Ptr, m: number, c: number, thr: Ptr, flip: Ptr, out: Ptr): void;
  reluScaleI32(acc: Ptr, m: number, c: number, nValid: number, scale: number, out: Ptr): void;
  biasReluF32(x: Ptr, m: number, c: number, bias: Ptr, relu: number): void;
  fconv2d(input: Ptr, weights: Ptr, out: Ptr, n: number, inH: number, inW: number, cin: number, cout: number,
    kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number, relu: number): void;
  fconv2dBiasRelu(input: Ptr, weights: Ptr, bias: Ptr, out: Ptr, n: number, inH: number, inW: number, cin: number, cout: number,
    kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  fconv2dThresholdPack(input: Ptr, weights: Ptr, thr: Ptr, flip: Ptr, out: Ptr, scratch: Ptr, n: number, inH: number,
    inW: number, cin: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number,
    outH: number, outW: number): void;
  quantizeInputU8(src: Ptr, dst: Ptr, count: number): void;
  qconv2dPackWeights(src: Ptr, dst: Ptr, kh: number, kw: number, cin: number, cout: number): void;
  qconv2dPackedWeightBytes(kh: number, kw: number, cin: number, cout: number): number;
  qconv2dThresholdPack(input: Ptr, weights: Ptr, thr: Ptr, flip: Ptr, out: Ptr, scratch: Ptr, n: number, inH: number,
    inW: number, cin: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number,
    outH: number, outW: number): void;
  denseF32(x: Ptr, w: Ptr, out: Ptr, m: number, fin: number, fout: number): void;
  argmaxF32(x: Ptr, m: number, c: number, out: Ptr): void;
  bernoulliPack(prob: Ptr, count: number, groups: number, out: Ptr, state: Ptr): void;
  xorPopcountPeak(a: Ptr, b: Ptr, words: number, reps: number): bigint;
  xorPopcountPeakScalar(a: Ptr, b: Ptr, words: number, reps: number): bigint;
  maxPool2dF32: PoolFn;
  avgPool2dF32: PoolFn;
  globalAvgPool2dF32(input: Ptr, out: Ptr, n: number, h: number, w: number, c: number): void;
  bitMaxPool2d(input: Ptr, out: Ptr, n: number, inH: number, inW: number, wpp: number, poolH: number, poolW: number,
    strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number, orMask: Ptr): void;
  bitPad(input: Ptr, out: Ptr, n: number, inH: number, inW: number, wpp: number,
    padTop: number, padBottom: number, padLeft: number, padRight: number): void;
  addF32(a: Ptr, b: Ptr, out: Ptr, count: number): void;
  chainF32(x: Ptr, rows: number, c: number, ops: Ptr, nOps: number): void;
  accToF32(acc: Ptr, rows: number, c: number, mode: number, nValid: number, dq: Ptr, out: Ptr): void;
  thresholdPackF32(x: Ptr, rows: number, c: number, thr: Ptr, flip: Ptr, out: Ptr): void;
  zeroPadFixI32(acc: Ptr, n: number, perImage: number, corr: Ptr): void;
}

/** One instantiated module plus a bump allocator above heapBase(). */
export class Kernels {
  private top = 0;
  private constructor(readonly name: string, readonly k: KernelExports, readonly base: number) {
    this.top = base;
  }

  static async load(file: string): Promise<Kernels> {
    const bytes = readFileSync(new URL(`../../build/${file}`, import.meta.url));
    let memory: WebAssembly.Memory | undefined;
    const abort = (msg: number, fileName: number, line: number, col: number) => {
      throw new Error(`abort: ${readAsString(memory, msg)} (${readAsString(memory, fileName)}:${line}:${col})`);
    };
    const { instance } = await WebAssembly.instantiate(bytes, { env: { abort } });
    const k = instance.exports as unknown as KernelExports;
    memory = k.memory;
    return new Kernels(file, k, k.heapBase());
  }

  get simd(): boolean {
    return this.k.simdBuild() === 1;
  }

  /** Frees everything allocated so far. */
  reset(): void {
    this.top = this.base;
  }

  /** 16-byte aligned block of `bytes` bytes, growing memory as needed. */
  alloc(bytes: number): Ptr {
    const ptr = (this.top + 15) & ~15;
    this.top = ptr + Math.max(bytes, 1);
    const have = this.k.memory.buffer.byteLength;
    if (this.top > have) this.k.memory.grow(Math.ceil((this.top - have) / 65536));
    return ptr;
  }

  put(a: Uint32Array | Int32Array | Float32Array | Uint8Array | Int8Array | Int16Array): Ptr {
    const p = this.alloc(a.byteLength);
    new Uint8Array(this.k.memory.buffer, p, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return p;
  }

  /** Allocates and fills with a byte pattern, so stale results cannot pass by accident. */
  junk(bytes: number): Ptr {
    const p = this.alloc(bytes);
    new Uint8Array(this.k.memory.buffer, p, bytes).fill(0xa5);
    return p;
  }

  u32(p: Ptr, n: number): Uint32Array {
    return new Uint32Array(this.k.memory.buffer, p, n).slice();
  }
  i32(p: Ptr, n: number): Int32Array {
    return new Int32Array(this.k.memory.buffer, p, n).slice();
  }
  f32(p: Ptr, n: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, p, n).slice();
  }
  u8(p: Ptr, n: number): Uint8Array {
    return new Uint8Array(this.k.memory.buffer, p, n).slice();
  }
  i16(p: Ptr, n: number): Int16Array {
    return new Int16Array(this.k.memory.buffer, p, n).slice();
  }
  memBytes(): number {
    return this.k.memory.buffer.byteLength;
  }
}

/** Reads an AssemblyScript string (UTF-16, byte length at ptr - 4). */
export function readAsString(memory: WebAssembly.Memory | undefined, ptr: number): string {
  if (!memory || !ptr) return '';
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0]! >>> 1;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, len));
}

export const builds = await Promise.all([Kernels.load('bnn-scalar.wasm'), Kernels.load('bnn-simd.wasm')]);
export const scalarBuild = builds[0]!;
export const simdBuild = builds[1]!;

/** All bconv variants callable in a build. */
export function bconvVariants(m: Kernels): [string, BconvFn][] {
  const v: [string, BconvFn][] = [
    ['bconv2dPopcount', m.k.bconv2dPopcount],
    ['bconv2dPopcountReference', m.k.bconv2dPopcountReference],
    ['bconv2dPopcountScalar', m.k.bconv2dPopcountScalar],
  ];
  if (m.simd) v.push(['bconv2dPopcountSimd', m.k.bconv2dPopcountSimd]);
  return v;
}

/** A bconv shape: `stride` is the vertical stride, and the horizontal one too unless `strideW` is given. */
export interface BconvShape { n: number; h: number; w: number; c: number; cout: number; kh: number; kw: number; stride: number; strideW?: number }

/** Vertical and horizontal strides of a shape with `stride` and an optional `strideW`. */
export function strides(s: { stride: number; strideW?: number }): { strideH: number; strideW: number } {
  return { strideH: s.stride, strideW: s.strideW ?? s.stride };
}

export function outDims(s: BconvShape): { outH: number; outW: number } {
  const { strideH, strideW } = strides(s);
  return { outH: Math.floor((s.h - s.kh) / strideH) + 1, outW: Math.floor((s.w - s.kw) / strideW) + 1 };
}

/** Random packed words with padding bits zero. */
export function randomPacked(rng: TestRng, pixels: number, c: number): Uint32Array {
  const wpp = wordsPerPixel(c);
  const a = new Uint32Array(pixels * wpp);
  const lastMask = c % 32 === 0 ? 0xffffffff : ((1 << (c % 32)) >>> 0) - 1;
  for (let p = 0; p < pixels; p++)
    for (let i = 0; i < wpp; i++) a[p * wpp + i] = (rng.u32() & (i === wpp - 1 ? lastMask : 0xffffffff)) >>> 0;
  return a;
}

/** Runs one bconv variant on packed buffers; returns the i32 popcounts. */
export function runBconv(m: Kernels, fn: BconvFn, s: BconvShape, xw: Uint32Array, ww: Uint32Array): Int32Array {
  const { outH, outW } = outDims(s);
  const wpp = wordsPerPixel(s.c);
  m.reset();
  const pin = m.put(xw);
  const pw = m.put(ww);
  const count = s.n * outH * outW * s.cout;
  const pout = m.junk(count * 4);
  const { strideH, strideW } = strides(s);
  fn(pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, strideH, strideW, outH, outW);
  return m.i32(pout, count);
}

export function runMaskedBconv(m: Kernels, fn: MaskedBconvFn, s: BconvShape, xw: Uint32Array, ww: Uint32Array, mw: Uint32Array): Int32Array {
  const { outH, outW } = outDims(s);
  m.reset();
  const pin = m.put(xw);
  const pw = m.put(ww);
  const pm = m.put(mw);
  const count = s.n * outH * outW * s.cout;
  const pout = m.junk(count * 4);
  const { strideH, strideW } = strides(s);
  fn(pin, pw, pm, pout, s.n, s.h, s.w, wordsPerPixel(s.c), s.cout, s.kh, s.kw, strideH, strideW, outH, outW);
  return m.i32(pout, count);
}

export function assertPaddingZero(words: Uint32Array, pixels: number, c: number, what: string): void {
  const wpp = wordsPerPixel(c);
  if (c % 32 === 0) return;
  const mask = ~(((1 << (c % 32)) >>> 0) - 1) >>> 0;
  for (let p = 0; p < pixels; p++) assert.equal((words[p * wpp + wpp - 1]! & mask) >>> 0, 0, `${what}: padding bits of pixel ${p}`);
}

/**
 * A float or integer convolution's shape; `valid` for VALID padding (default SAME). `k` / `stride`
 * are the vertical kernel size / stride, and the horizontal ones too unless `kw` / `strideW` are given.
 */
export interface ConvCase { n: number; h: number; w: number; cin: number; cout: number; k: number; kw?: number; stride: number; strideW?: number; valid?: boolean }

/** Output size and padding of a ConvCase, as tf.conv2d computes them. */
export function convGeometry(s: ConvCase) {
  const kw = s.kw ?? s.k;
  const { strideH, strideW } = strides(s);
  if (s.valid) {
    return { outH: Math.floor((s.h - s.k) / strideH) + 1, outW: Math.floor((s.w - kw) / strideW) + 1, padTop: 0, padLeft: 0, kh: s.k, kw, strideH, strideW };
  }
  const ph = samePadding(s.h, s.k, strideH), pw = samePadding(s.w, kw, strideW);
  return { outH: ph.out, outW: pw.out, padTop: ph.before, padLeft: pw.before, kh: s.k, kw, strideH, strideW };
}
