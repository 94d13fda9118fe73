// Tests of the WebAssembly kernels (build/bnn-scalar.wasm and build/bnn-simd.wasm) against the
// independent unpacked reference in kernel_reference.ts. Build the wasm first:
//   npx asc --config asconfig.json --target release && npx asc --config asconfig.json --target release-simd
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  TestRng, argmaxRef, bernoulliSignsRef, conv2dFloat, conv2dFloatF32, conv2dInt, conv2dSigns, denseF32Exact, denseRef,
  packQconvWeightsRef, packSigns, popcount32, quantizeU8Ref, reluScaleRef, biasReluRef, samePadding, thresholdSignsF32,
  thresholdSignsGE, thresholdSignsI32, unpackSigns, wordsPerPixel,
} from './kernel_reference.js';

type Ptr = number;
type BconvFn = (input: Ptr, weights: Ptr, out: Ptr, n: number, inH: number, inW: number, wpp: number,
  cout: number, kh: number, kw: number, stride: number, outH: number, outW: number) => void;

interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  simdBuild(): number;
  bconv2dPopcount: BconvFn;
  bconv2dPopcountReference: BconvFn;
  bconv2dPopcountScalar: BconvFn;
  bconv2dPopcountSimd: BconvFn;
  thresholdPackI32(acc: Ptr, m: number, c: number, thr: Ptr, flip: Ptr, out: Ptr): void;
  reluScaleI32(acc: Ptr, m: number, c: number, nValid: number, scale: number, out: Ptr): void;
  biasReluF32(x: Ptr, m: number, c: number, bias: Ptr, relu: number): void;
  fconv2d(input: Ptr, weights: Ptr, out: Ptr, n: number, inH: number, inW: number, cin: number, cout: number,
    kh: number, kw: number, stride: number, padTop: number, padLeft: number, outH: number, outW: number, relu: number): void;
  fconv2dBiasRelu(input: Ptr, weights: Ptr, bias: Ptr, out: Ptr, n: number, inH: number, inW: number, cin: number, cout: number,
    kh: number, kw: number, stride: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  fconv2dThresholdPack(input: Ptr, weights: Ptr, thr: Ptr, flip: Ptr, out: Ptr, scratch: Ptr, n: number, inH: number,
    inW: number, cin: number, cout: number, kh: number, kw: number, stride: number, padTop: number, padLeft: number,
    outH: number, outW: number): void;
  quantizeInputU8(src: Ptr, dst: Ptr, count: number): void;
  qconv2dPackWeights(src: Ptr, dst: Ptr, kh: number, kw: number, cin: number, cout: number): void;
  qconv2dPackedWeightBytes(kh: number, kw: number, cin: number, cout: number): number;
  qconv2dThresholdPack(input: Ptr, weights: Ptr, thr: Ptr, flip: Ptr, out: Ptr, scratch: Ptr, n: number, inH: number,
    inW: number, cin: number, cout: number, kh: number, kw: number, stride: number, padTop: number, padLeft: number,
    outH: number, outW: number): void;
  denseF32(x: Ptr, w: Ptr, out: Ptr, m: number, fin: number, fout: number): void;
  argmaxF32(x: Ptr, m: number, c: number, out: Ptr): void;
  bernoulliPack(prob: Ptr, count: number, groups: number, out: Ptr, state: Ptr): void;
  xorPopcountPeak(a: Ptr, b: Ptr, words: number, reps: number): bigint;
  xorPopcountPeakScalar(a: Ptr, b: Ptr, words: number, reps: number): bigint;
}

/** One instantiated module plus a bump allocator above heapBase(). */
class Kernels {
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
function readAsString(memory: WebAssembly.Memory | undefined, ptr: number): string {
  if (!memory || !ptr) return '';
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0]! >>> 1;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, len));
}

const builds = await Promise.all([Kernels.load('bnn-scalar.wasm'), Kernels.load('bnn-simd.wasm')]);
const scalarBuild = builds[0]!;
const simdBuild = builds[1]!;

/** All bconv variants callable in a build. */
function bconvVariants(m: Kernels): [string, BconvFn][] {
  const v: [string, BconvFn][] = [
    ['bconv2dPopcount', m.k.bconv2dPopcount],
    ['bconv2dPopcountReference', m.k.bconv2dPopcountReference],
    ['bconv2dPopcountScalar', m.k.bconv2dPopcountScalar],
  ];
  if (m.simd) v.push(['bconv2dPopcountSimd', m.k.bconv2dPopcountSimd]);
  return v;
}

interface BconvShape { n: number; h: number; w: number; c: number; cout: number; kh: number; kw: number; stride: number }

function outDims(s: BconvShape): { outH: number; outW: number } {
  return { outH: Math.floor((s.h - s.kh) / s.stride) + 1, outW: Math.floor((s.w - s.kw) / s.stride) + 1 };
}

/** Random packed words with padding bits zero. */
function randomPacked(rng: TestRng, pixels: number, c: number): Uint32Array {
  const wpp = wordsPerPixel(c);
  const a = new Uint32Array(pixels * wpp);
  const lastMask = c % 32 === 0 ? 0xffffffff : ((1 << (c % 32)) >>> 0) - 1;
  for (let p = 0; p < pixels; p++)
    for (let i = 0; i < wpp; i++) a[p * wpp + i] = (rng.u32() & (i === wpp - 1 ? lastMask : 0xffffffff)) >>> 0;
  return a;
}

/** Runs one bconv variant on packed buffers; returns the i32 popcounts. */
function runBconv(m: Kernels, fn: BconvFn, s: BconvShape, xw: Uint32Array, ww: Uint32Array): Int32Array {
  const { outH, outW } = outDims(s);
  const wpp = wordsPerPixel(s.c);
  m.reset();
  const pin = m.put(xw);
  const pw = m.put(ww);
  const count = s.n * outH * outW * s.cout;
  const pout = m.junk(count * 4);
  fn(pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, s.stride, outH, outW);
  return m.i32(pout, count);
}

function assertPaddingZero(words: Uint32Array, pixels: number, c: number, what: string): void {
  const wpp = wordsPerPixel(c);
  if (c % 32 === 0) return;
  const mask = ~(((1 << (c % 32)) >>> 0) - 1) >>> 0;
  for (let p = 0; p < pixels; p++) assert.equal((words[p * wpp + wpp - 1]! & mask) >>> 0, 0, `${what}: padding bits of pixel ${p}`);
}

test('builds: heapBase is 16-aligned and simdBuild() matches the file', () => {
  for (const m of builds) {
    assert.equal(m.base % 16, 0, m.name);
    assert.ok(m.base > 0, m.name);
  }
  assert.equal(scalarBuild.k.simdBuild(), 0);
  assert.equal(simdBuild.k.simdBuild(), 1);
});

test('reference packing: round trip, bit convention, padding bits zero', () => {
  const rng = new TestRng(1);
  for (const c of [1, 31, 32, 33, 64, 100]) {
    const x = rng.signs(7 * c);
    const w = packSigns(x, 7, c);
    assert.equal(w.length, 7 * wordsPerPixel(c));
    assert.deepEqual(unpackSigns(w, 7, c), x);
    assertPaddingZero(w, 7, c, `c=${c}`);
  }
  // channel 0 = -1 → bit 0 set; channel 33 = -1 → bit 1 of word 1; 0.0 counts as +1.
  const f = new Float32Array(40).fill(1);
  f[0] = -0.5;
  f[33] = -2;
  f[5] = 0;
  assert.deepEqual(Array.from(packSigns(f, 1, 40)), [1, 2]);
});

test('bconv2dPopcount (all variants, both builds) == ±1 conv reference', () => {
  const rng = new TestRng(2);
  const shapes: BconvShape[] = [
    { n: 2, h: 5, w: 6, c: 1, cout: 5, kh: 3, kw: 3, stride: 1 },
    { n: 1, h: 7, w: 7, c: 31, cout: 4, kh: 2, kw: 3, stride: 2 },
    { n: 3, h: 6, w: 5, c: 33, cout: 7, kh: 3, kw: 2, stride: 1 },
    { n: 2, h: 8, w: 8, c: 64, cout: 9, kh: 4, kw: 4, stride: 3 },
    { n: 2, h: 5, w: 5, c: 100, cout: 6, kh: 5, kw: 5, stride: 1 },
    { n: 1, h: 4, w: 9, c: 32, cout: 3, kh: 1, kw: 1, stride: 2 },
    // rows longer than 31 vectors (chunking) with a word tail: kw·wpp = 6·25 = 150 words
    { n: 2, h: 7, w: 8, c: 800, cout: 5, kh: 2, kw: 6, stride: 2 },
    // window equal to the input
    { n: 2, h: 3, w: 4, c: 65, cout: 8, kh: 3, kw: 4, stride: 5 },
  ];
  for (let i = 0; i < 12; i++) {
    const kh = rng.int(1, 5), kw = rng.int(1, 5), stride = rng.int(1, 3);
    shapes.push({
      n: rng.int(1, 3), h: kh + rng.int(0, 6), w: kw + rng.int(0, 6), c: rng.pick([1, 2, 31, 33, 64, 96, 100, 130]),
      cout: rng.int(1, 9), kh, kw, stride,
    });
  }
  for (const s of shapes) {
    const x = rng.signs(s.n * s.h * s.w * s.c);
    const f = rng.signs(s.cout * s.kh * s.kw * s.c);
    const ref = conv2dSigns(x, s.n, s.h, s.w, s.c, f, s.cout, s.kh, s.kw, s.stride);
    const xw = packSigns(x, s.n * s.h * s.w, s.c);
    const ww = packSigns(f, s.cout * s.kh * s.kw, s.c);
    const nValid = s.kh * s.kw * s.c;
    for (const m of builds) {
      for (const [name, fn] of bconvVariants(m)) {
        const p = runBconv(m, fn, s, xw, ww);
        const dot = p.map((v) => nValid - 2 * v);
        assert.deepEqual(dot, ref.dot, `${m.name} ${name} ${JSON.stringify(s)}`);
      }
    }
  }
});

test('bconv2dPopcount: SIMD variant == scalar variants bit for bit (random + model shapes)', () => {
  const rng = new TestRng(3);
  const shapes: BconvShape[] = [];
  for (const K of [64, 128, 256]) {
    shapes.push({ n: 2, h: 14, w: 14, c: K, cout: 2 * K, kh: 6, kw: 6, stride: 2 }); // conv2
    shapes.push({ n: 2, h: 5, w: 5, c: 2 * K, cout: 2 * K, kh: 5, kw: 5, stride: 1 }); // conv3
  }
  for (let i = 0; i < 40; i++) {
    const kh = rng.int(1, 7), kw = rng.int(1, 7), stride = rng.int(1, 3);
    shapes.push({
      n: rng.int(1, 4), h: kh + rng.int(0, 8), w: kw + rng.int(0, 8), c: rng.int(1, 600),
      cout: rng.int(1, 13), kh, kw, stride,
    });
  }
  for (const s of shapes) {
    const xw = randomPacked(rng, s.n * s.h * s.w, s.c);
    const ww = randomPacked(rng, s.cout * s.kh * s.kw, s.c);
    const what = JSON.stringify(s);
    const expect = runBconv(scalarBuild, scalarBuild.k.bconv2dPopcountScalar, s, xw, ww);
    assert.deepEqual(runBconv(simdBuild, simdBuild.k.bconv2dPopcountSimd, s, xw, ww), expect, `simd ${what}`);
    assert.deepEqual(runBconv(simdBuild, simdBuild.k.bconv2dPopcount, s, xw, ww), expect, `simd dispatch ${what}`);
    assert.deepEqual(runBconv(scalarBuild, scalarBuild.k.bconv2dPopcount, s, xw, ww), expect, `scalar dispatch ${what}`);
    if (s.n * s.h * s.w * s.c <= 20000) {
      assert.deepEqual(runBconv(simdBuild, simdBuild.k.bconv2dPopcountReference, s, xw, ww), expect, `reference ${what}`);
    }
    // Sanity: popcounts are within [0, kh·kw·32·wpp] and not all equal.
    const nBits = s.kh * s.kw * 32 * wordsPerPixel(s.c);
    assert.ok(expect.every((v) => v >= 0 && v <= nBits), what);
  }
});

test('bconv2dPopcount: worst-case counts (every bit differs) do not overflow byte accumulators', () => {
  // Input all -1 (bits set) against all +1 filters: every byte popcount is 8, so an i8x16
  // accumulator that took 32 additions would wrap. Long rows (> 31 vectors), many short rows
  // (flushes across rows), and rows with word tails.
  const shapes: BconvShape[] = [
    { n: 1, h: 3, w: 6, c: 1024, cout: 5, kh: 3, kw: 5, stride: 1 },   // 160 words = 40 vectors per row
    { n: 2, h: 9, w: 8, c: 96, cout: 6, kh: 9, kw: 7, stride: 1 },     // 21 words per row, 9 rows
    { n: 1, h: 14, w: 14, c: 256, cout: 8, kh: 6, kw: 6, stride: 2 },  // conv2 K=256 geometry
    { n: 1, h: 4, w: 4, c: 32 * 124, cout: 4, kh: 1, kw: 1, stride: 1 }, // exactly 31 vectors per row
  ];
  for (const s of shapes) {
    const wpp = wordsPerPixel(s.c);
    const xw = new Uint32Array(s.n * s.h * s.w * wpp).fill(0xffffffff);
    const ww = new Uint32Array(s.cout * s.kh * s.kw * wpp);
    const nValid = s.kh * s.kw * s.c;
    for (const m of builds) {
      for (const [name, fn] of bconvVariants(m)) {
        const p = runBconv(m, fn, s, xw, ww);
        assert.ok(p.every((v) => v === nValid), `${m.name} ${name} ${JSON.stringify(s)}: ${p[0]} != ${nValid}`);
      }
    }
  }
});

test('bconv2dPopcountSimd aborts in the scalar build', () => {
  const m = scalarBuild;
  m.reset();
  const p = m.alloc(64);
  assert.throws(() => m.k.bconv2dPopcountSimd(p, p, p, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), /not available in the scalar build/);
});

test('thresholdPackI32 == reference threshold + pack; padding bits zero', () => {
  const rng = new TestRng(4);
  for (const c of [1, 5, 31, 32, 33, 64, 100]) {
    const m = rng.int(1, 9);
    const acc = new Int32Array(m * c).map(() => rng.int(0, 40));
    const thr = new Int32Array(c).map(() => rng.int(-2, 42));
    const flip = new Int32Array(c).map(() => rng.int(0, 1));
    thr[0] = acc[0]!; // equality case
    const expect = packSigns(thresholdSignsI32(acc, m, c, thr, flip), m, c);
    for (const k of builds) {
      k.reset();
      const pacc = k.put(acc), pthr = k.put(thr), pflip = k.put(flip);
      const pout = k.junk(m * wordsPerPixel(c) * 4);
      k.k.thresholdPackI32(pacc, m, c, pthr, pflip, pout);
      const got = k.u32(pout, m * wordsPerPixel(c));
      assert.deepEqual(got, expect, `${k.name} c=${c}`);
      assertPaddingZero(got, m, c, `${k.name} c=${c}`);
    }
  }
});

test('reluScaleI32 == max(nValid - 2·acc, 0)·scale', () => {
  const rng = new TestRng(5);
  for (const [m, c] of [[1, 1], [3, 7], [5, 64], [2, 101]] as const) {
    const nValid = 150;
    const acc = new Int32Array(m * c).map(() => rng.int(0, nValid));
    const scale = 0.0371;
    const expect = reluScaleRef(acc, nValid, scale);
    assert.ok(expect.some((v) => v === 0) || m * c < 8);
    for (const k of builds) {
      k.reset();
      const pacc = k.put(acc);
      const pout = k.junk(m * c * 4);
      k.k.reluScaleI32(pacc, m, c, nValid, scale, pout);
      assert.deepEqual(k.f32(pout, m * c), expect, `${k.name} ${m}x${c}`);
    }
  }
});

test('biasReluF32 == x + bias, then max(·, 0) when asked, in place (NaN kept)', () => {
  const rng = new TestRng(6);
  for (const [m, c] of [[1, 1], [3, 7], [5, 64], [2, 101]] as const) {
    const x = new Float32Array(m * c).map(() => 2 * rng.float() - 1);
    x[0] = NaN;
    const bias = new Float32Array(c).map(() => rng.float() - 0.5);
    for (const relu of [true, false]) {
      const expect = biasReluRef(x, bias, relu);
      assert.ok(!relu || expect.some((v) => v === 0) || m * c < 8, 'the case exercises the ReLU');
      for (const k of builds) {
        k.reset();
        const px = k.put(x);
        k.k.biasReluF32(px, m, c, k.put(bias), relu ? 1 : 0);
        assert.deepEqual(k.f32(px, m * c), expect, `${k.name} ${m}x${c} relu=${relu}`);
      }
    }
  }
});

function relErr(got: Float32Array, ref: Float64Array): number {
  assert.equal(got.length, ref.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / scale;
}

/** A conv case; SAME padding unless `valid`, square kernel k unless kw is given. */
interface FconvCase { n: number; h: number; w: number; cin: number; cout: number; k: number; kw?: number; stride: number; valid?: boolean }

function fconvGeometry(s: FconvCase) {
  const kw = s.kw ?? s.k;
  if (s.valid) {
    return { outH: Math.floor((s.h - s.k) / s.stride) + 1, outW: Math.floor((s.w - kw) / s.stride) + 1, padTop: 0, padLeft: 0, kh: s.k, kw };
  }
  const ph = samePadding(s.h, s.k, s.stride), pw = samePadding(s.w, kw, s.stride);
  return { outH: ph.out, outW: pw.out, padTop: ph.before, padLeft: pw.before, kh: s.k, kw };
}

const fconvCases: FconvCase[] = [
  { n: 2, h: 28, w: 28, cin: 1, cout: 64, k: 8, stride: 2 }, // conv1 of the models: pads 3/3
  { n: 1, h: 28, w: 28, cin: 1, cout: 70, k: 8, stride: 2 }, // cout % 16 and % 4 tails
  { n: 2, h: 9, w: 7, cin: 3, cout: 7, k: 3, stride: 1 },
  { n: 1, h: 9, w: 10, cin: 5, cout: 33, k: 5, stride: 2 },
  // VALID layers with windows > 192 taps take the segmented path (chunks of 64 pixels, row
  // segments, sums parked between segments): conv2 / conv3 geometry of model A, an odd pixel
  // count across images, rows of 2 and 3 segments, channel tails.
  { n: 3, h: 14, w: 14, cin: 64, cout: 35, k: 6, stride: 2, valid: true },   // 75 pixels, span 384
  { n: 5, h: 5, w: 5, cin: 128, cout: 20, k: 5, stride: 1, valid: true },    // 1×1 outputs, span 640
  { n: 1, h: 11, w: 9, cin: 40, cout: 16, k: 4, kw: 5, stride: 3, valid: true }, // kh ≠ kw, span 200
  { n: 2, h: 6, w: 6, cin: 9, cout: 18, k: 5, stride: 1, valid: true },      // 225 taps, span 45
];

test('fconv2d (SAME and VALID) == float reference (1e-5 relative) and == the f32 order exactly, relu, builds bit-identical', () => {
  const rng = new TestRng(6);
  // The model's conv1 geometry: 8×8 stride 2 on 28×28 → 14×14, pads top/left 3.
  assert.deepEqual(fconvGeometry(fconvCases[0]!), { outH: 14, outW: 14, padTop: 3, padLeft: 3, kh: 8, kw: 8 });
  for (const s of fconvCases) {
    const g = fconvGeometry(s);
    const x = rng.floats(s.n * s.h * s.w * s.cin);
    const wt = rng.floats(g.kh * g.kw * s.cin * s.cout);
    const ref = conv2dFloat(x, s.n, s.h, s.w, s.cin, wt, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW);
    // The documented summation order, emulated in f32: the kernels must match it bit for bit.
    const exact = conv2dFloatF32(x, s.n, s.h, s.w, s.cin, wt, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW);
    const count = s.n * g.outH * g.outW * s.cout;
    const results: Float32Array[] = [];
    for (const m of builds) {
      for (const relu of [0, 1]) {
        m.reset();
        const px = m.put(x), pw = m.put(wt), pout = m.junk(count * 4);
        m.k.fconv2d(px, pw, pout, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW, relu);
        const got = m.f32(pout, count);
        const expect = relu ? ref.map((v) => Math.max(v, 0)) : ref;
        const err = relErr(got, expect);
        assert.ok(err <= 1e-5, `${m.name} relu=${relu} ${JSON.stringify(s)}: rel err ${err}`);
        assert.deepEqual(got, relu ? exact.map((v) => Math.max(v, 0)) : exact, `${m.name} relu=${relu} ${JSON.stringify(s)}: not the documented f32 order`);
        if (relu) assert.ok(got.every((v) => v >= 0));
        else results.push(got);
      }
    }
    assert.deepEqual(results[1], results[0], `scalar and simd builds differ: ${JSON.stringify(s)}`);
  }
});

test('fconv2d: random shapes (SAME / VALID, strides, kh ≠ kw, channel tails) == the f32 order exactly in both builds', () => {
  const rng = new TestRng(61);
  let segmented = 0;
  for (let it = 0; it < 80; it++) {
    const k = rng.int(1, 7), kw = rng.int(1, 7), stride = rng.int(1, 3);
    const s: FconvCase = {
      n: rng.int(1, 3), h: k + rng.int(0, 7), w: kw + rng.int(0, 7), cin: rng.pick([1, 2, 3, 8, 17, 40, 64]),
      cout: rng.pick([1, 3, 4, 5, 16, 17, 21, 32, 36]), k, kw, stride, valid: rng.int(0, 1) === 1,
    };
    const g = fconvGeometry(s);
    if (g.padTop >= g.kh || g.padLeft >= g.kw) continue;
    if (s.valid && g.kh * g.kw * s.cin > 192) segmented++;
    const x = rng.floats(s.n * s.h * s.w * s.cin);
    const wt = rng.floats(g.kh * g.kw * s.cin * s.cout);
    const exact = conv2dFloatF32(x, s.n, s.h, s.w, s.cin, wt, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW);
    const count = s.n * g.outH * g.outW * s.cout;
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pw = m.put(wt), pout = m.junk(count * 4);
      m.k.fconv2d(px, pw, pout, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW, 0);
      assert.deepEqual(m.f32(pout, count), exact, `${m.name} ${JSON.stringify(s)}`);
    }
  }
  assert.ok(segmented >= 8, `only ${segmented} shapes took the segmented path`);
});

test('fconv2dBiasRelu == max(f32-order conv + bias, 0) exactly == fconv2d then biasReluF32, both builds, NaN kept', () => {
  const rng = new TestRng(71);
  for (const s of fconvCases) {
    const g = fconvGeometry(s);
    const x = rng.floats(s.n * s.h * s.w * s.cin);
    x[0] = NaN; // reaches the first output pixel of every channel whose window covers it
    const wt = rng.floats(g.kh * g.kw * s.cin * s.cout);
    // Biases large enough that some sums cross zero only because of them.
    const bias = new Float32Array(s.cout).map(() => 4 * (rng.float() - 0.5));
    const exact = conv2dFloatF32(x, s.n, s.h, s.w, s.cin, wt, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW);
    const expect = biasReluRef(exact, bias, true);
    assert.ok(expect.some((v) => Number.isNaN(v)) && expect.some((v) => v === 0) && expect.some((v) => v > 0), 'the case has NaN, rectified and positive outputs');
    const count = s.n * g.outH * g.outW * s.cout;
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pw = m.put(wt), pb = m.put(bias);
      const fused = m.junk(count * 4), twoPass = m.junk(count * 4);
      m.k.fconv2dBiasRelu(px, pw, pb, fused, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW);
      m.k.fconv2d(px, pw, twoPass, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW, 0);
      m.k.biasReluF32(twoPass, count / s.cout, s.cout, pb, 1);
      // As plain numbers: NaN equals NaN whatever its payload bits (wasm does not fix them).
      const got = Array.from(m.f32(fused, count));
      assert.deepEqual(got, Array.from(expect), `${m.name} ${JSON.stringify(s)}`);
      assert.deepEqual(got, Array.from(m.f32(twoPass, count)), `${m.name} ${JSON.stringify(s)}: fused != two passes`);
    }
  }
});

test('fconv2dThresholdPack == threshold(fconv2d) exactly, incl. ±Infinity and flip', () => {
  const rng = new TestRng(7);
  for (const s of fconvCases) {
    const g = fconvGeometry(s);
    const x = rng.floats(s.n * s.h * s.w * s.cin);
    const wt = rng.floats(g.kh * g.kw * s.cin * s.cout);
    const pixels = s.n * g.outH * g.outW;
    const thr = new Float32Array(s.cout).map(() => rng.float() - 0.5);
    const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
    thr[0] = Infinity;
    flip[0] = 0;                           // y ≥ +∞: always -1
    if (s.cout > 1) { thr[1] = -Infinity; flip[1] = 0; } // y ≥ -∞: always +1
    if (s.cout > 2) { thr[2] = Infinity; flip[2] = 1; }  // y ≤ +∞: always +1
    if (s.cout > 3) { thr[3] = -Infinity; flip[3] = 1; } // y ≤ -∞: always -1
    const wpp = wordsPerPixel(s.cout);
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pw = m.put(wt), pthr = m.put(thr), pflip = m.put(flip);
      const py = m.junk(pixels * s.cout * 4);
      m.k.fconv2d(px, pw, py, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW, 0);
      const y = m.f32(py, pixels * s.cout);
      // Exact threshold of a value in the middle of the data must hit the equality case too.
      const pthr2 = m.put(thr.map((t, j) => (j === s.cout - 1 ? y[s.cout - 1]! : t)));
      for (const tp of [pthr, pthr2]) {
        const thrNow = m.f32(tp, s.cout);
        const expect = packSigns(thresholdSignsF32(y, pixels, s.cout, thrNow, flip), pixels, s.cout);
        const pout = m.junk(pixels * wpp * 4);
        const scratch = m.junk(s.cout * 4);
        m.k.fconv2dThresholdPack(px, pw, tp, pflip, pout, scratch, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, s.stride,
          g.padTop, g.padLeft, g.outH, g.outW);
        const got = m.u32(pout, pixels * wpp);
        assert.deepEqual(got, expect, `${m.name} ${JSON.stringify(s)}`);
        assertPaddingZero(got, pixels, s.cout, m.name);
        const signs = unpackSigns(got, pixels, s.cout);
        for (let p = 0; p < pixels; p++) {
          assert.equal(signs[p * s.cout], -1);
          if (s.cout > 1) assert.equal(signs[p * s.cout + 1], 1);
          if (s.cout > 2) assert.equal(signs[p * s.cout + 2], 1);
          if (s.cout > 3) assert.equal(signs[p * s.cout + 3], -1);
        }
      }
    }
  }
});

test('denseF32 == reference (1e-5 relative) and == the f32 order exactly, builds bit-identical', () => {
  const rng = new TestRng(8);
  for (const [mm, fin, fout] of [[1, 1, 1], [3, 50, 10], [4, 200, 37], [2, 33, 64], [5, 128, 10], [7, 9, 23], [128, 128, 10]] as const) {
    const x = rng.floats(mm * fin), w = rng.floats(fin * fout);
    const ref = denseRef(x, w, mm, fin, fout);
    const exact = denseF32Exact(x, w, mm, fin, fout);
    const results: Float32Array[] = [];
    for (const m of builds) {
      m.reset();
      const px = m.put(x), pw = m.put(w), pout = m.junk(mm * fout * 4);
      m.k.denseF32(px, pw, pout, mm, fin, fout);
      const got = m.f32(pout, mm * fout);
      assert.ok(relErr(got, ref) <= 1e-5, `${m.name} ${mm}x${fin}x${fout}`);
      assert.deepEqual(got, exact, `${m.name} ${mm}x${fin}x${fout}: not the documented f32 order`);
      results.push(got);
    }
    assert.deepEqual(results[1], results[0]);
  }
});

test('argmaxF32: row maxima, ties → lowest index', () => {
  const rng = new TestRng(9);
  const m = 6, c = 10;
  const x = rng.floats(m * c);
  x.fill(0.5, 0, c);          // row 0 all equal → 0
  x[c + 3] = 9; x[c + 7] = 9; // row 1 tie at 3 and 7 → 3
  x[2 * c + 9] = 5;           // row 2 max at the last index
  x[3 * c] = 7;               // row 3 max at index 0
  for (let j = 0; j < c; j++) x[4 * c + j] = -1 - j; // row 4 all negative → 0
  const expect = argmaxRef(x, m, c);
  assert.deepEqual(Array.from(expect.slice(0, 5)), [0, 3, 9, 0, 0]);
  for (const k of builds) {
    k.reset();
    const px = k.put(x), pout = k.junk(m * 4);
    k.k.argmaxF32(px, m, c, pout);
    assert.deepEqual(k.i32(pout, m), expect, k.name);
  }
});

test('bernoulliPack: q=0 → -1, q=255 → +1, q=128 ≈ half, state advances, deterministic, exact draw order', () => {
  for (const m of builds) {
    const count = 100, groups = 50;
    const wpg = wordsPerPixel(count);
    const run = (prob: Uint8Array, state: Uint32Array) => {
      m.reset();
      const pp = m.put(prob), ps = m.put(state), pout = m.junk(groups * wpg * 4);
      m.k.bernoulliPack(pp, count, groups, pout, ps);
      return { words: m.u32(pout, groups * wpg), state: m.u32(ps, 4) };
    };
    const seed = new Uint32Array([0x12345678, 0x9abcdef0, 0x0badf00d, 0xdeadbeef]);
    const zeros = run(new Uint8Array(count * groups).fill(0), seed);
    assert.ok(unpackSigns(zeros.words, groups, count).every((v) => v === -1), 'q=0');
    assertPaddingZero(zeros.words, groups, count, 'q=0');
    const ones = run(new Uint8Array(count * groups).fill(255), seed);
    assert.ok(ones.words.every((v) => v === 0), 'q=255');
    const half = run(new Uint8Array(count * groups).fill(128), seed);
    const plus = unpackSigns(half.words, groups, count).filter((v) => v === 1).length;
    const frac = plus / (count * groups);
    assert.ok(Math.abs(frac - 128 / 255) < 0.02, `q=128 fraction ${frac}`);
    assertPaddingZero(half.words, groups, count, 'q=128');
    // Deterministic for a given state; the state advances; the next call differs.
    const again = run(new Uint8Array(count * groups).fill(128), seed);
    assert.deepEqual(again.words, half.words);
    assert.notDeepEqual(half.state, seed);
    const next = run(new Uint8Array(count * groups).fill(128), half.state);
    assert.notDeepEqual(next.words, half.words);
    // Exact mirror of the documented order (odd number of draws per call: 3·7 = 21).
    const rng = new TestRng(10);
    const prob = new Uint8Array(3 * 7).map(() => rng.int(0, 255));
    const st = new Uint32Array([1, 2, 3, 4]);
    const refState = st.slice();
    const refSigns = bernoulliSignsRef(prob, refState);
    m.reset();
    const pp = m.put(prob), ps = m.put(st), pout = m.junk(3 * 4);
    m.k.bernoulliPack(pp, 7, 3, pout, ps);
    assert.deepEqual(m.u32(pout, 3), packSigns(refSigns, 3, 7), m.name);
    assert.deepEqual(m.u32(ps, 4), refState, m.name);
    // All-zero state would be a constant stream: rejected.
    const pz = m.put(new Uint32Array(4));
    assert.throws(() => m.k.bernoulliPack(pp, 7, 3, pout, pz), /all zero/);
  }
});

test('xorPopcountPeak / xorPopcountPeakScalar return the exact total', () => {
  const rng = new TestRng(11);
  for (const words of [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 127, 248, 249, 250, 997, 1000, 4096]) {
    const a = new Uint32Array(words).map(() => rng.u32());
    const b = new Uint32Array(words).map(() => rng.u32());
    let once = 0;
    for (let i = 0; i < words; i++) once += popcount32(a[i]! ^ b[i]!);
    for (const m of builds) {
      m.reset();
      const pa = m.put(a), pb = m.put(b);
      for (const reps of [1, 3]) {
        assert.equal(m.k.xorPopcountPeak(pa, pb, words, reps), BigInt(once * reps), `${m.name} ${words}x${reps}`);
        assert.equal(m.k.xorPopcountPeakScalar(pa, pb, words, reps), BigInt(once * reps), `${m.name} scalar ${words}x${reps}`);
      }
    }
  }
  // All bits differ: 32 per word.
  const m = simdBuild;
  m.reset();
  const pa = m.put(new Uint32Array(301).fill(0)), pb = m.put(new Uint32Array(301).fill(0xffffffff));
  assert.equal(m.k.xorPopcountPeak(pa, pb, 301, 2), BigInt(301 * 32 * 2));
});

test('bad calls trap (out of bounds, non-positive dims, window > input) and the instance keeps working', () => {
  for (const m of builds) {
    const s: BconvShape = { n: 2, h: 6, w: 6, c: 40, cout: 5, kh: 3, kw: 3, stride: 1 };
    const rng = new TestRng(12);
    const xw = randomPacked(rng, s.n * s.h * s.w, s.c);
    const ww = randomPacked(rng, s.cout * s.kh * s.kw, s.c);
    const good = runBconv(m, m.k.bconv2dPopcountReference, s, xw, ww);
    m.reset();
    const pin = m.put(xw), pw = m.put(ww), pout = m.junk(good.length * 4);
    const end = m.memBytes();
    const wpp = wordsPerPixel(s.c);
    const args = [pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, s.stride, 4, 4];
    const bad: [string, number[], RegExp][] = [
      ['input past end', [end - 64, ...args.slice(1)], /input buffer out of bounds/],
      ['input near 4 GiB', [0xfffffff0, ...args.slice(1)], /input buffer out of bounds/],
      ['weights past end', [pin, end - 16, ...args.slice(2)], /weights buffer out of bounds/],
      ['out past end', [pin, pw, end - 100, ...args.slice(3)], /out buffer out of bounds/],
      ['out below heapBase', [pin, pw, 0, ...args.slice(3)], /out buffer out of bounds/],
      ['n = 0', [pin, pw, pout, 0, ...args.slice(4)], /n must be > 0/],
      ['wpp < 0', [pin, pw, pout, s.n, s.h, s.w, -1, ...args.slice(7)], /wpp must be > 0/],
      ['stride = 0', [...args.slice(0, 10), 0, 4, 4], /stride must be > 0/],
      ['window rows > input', [...args.slice(0, 11), 5, 4], /window rows exceed input/],
      ['window cols > input', [...args.slice(0, 11), 4, 5], /window cols exceed input/],
      ['kernel wider than input', [pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, 7, s.stride, 4, 1], /window cols exceed input/],
      // dims whose 32-bit product wraps to a small number (65536·65536·… ≡ 0 mod 2^32)
      ['overflowing dims', [pin, pw, pout, 65536, 65536, 1, 1, 1, 1, 1, 1, 1, 1], /input buffer out of bounds/],
      ['huge stride', [pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, 0x7fffffff, 2, 1], /window rows exceed input/],
    ];
    for (const [name, fn] of bconvVariants(m)) {
      for (const [what, a, re] of bad) {
        assert.throws(() => (fn as (...x: number[]) => void)(...a), re, `${m.name} ${name}: ${what}`);
      }
      // still usable after the traps
      fn(pin, pw, pout, s.n, s.h, s.w, wpp, s.cout, s.kh, s.kw, s.stride, 4, 4);
      assert.deepEqual(m.i32(pout, good.length), good, `${m.name} ${name} after traps`);
    }

    // Every other kernel: one out-of-bounds buffer and one bad dim each.
    m.reset();
    const buf = m.junk(4096);
    const big = m.memBytes();
    const k = m.k;
    const trapping: [string, () => unknown, RegExp][] = [
      ['thresholdPackI32 oob', () => k.thresholdPackI32(buf, 1, 8, buf, buf, big - 2), /out of bounds/],
      ['thresholdPackI32 m=0', () => k.thresholdPackI32(buf, 0, 8, buf, buf, buf), /m must be > 0/],
      ['reluScaleI32 oob', () => k.reluScaleI32(big - 8, 1, 8, 10, 1, buf), /out of bounds/],
      ['reluScaleI32 c<0', () => k.reluScaleI32(buf, 1, -8, 10, 1, buf), /c must be > 0/],
      ['biasReluF32 oob x', () => k.biasReluF32(big - 8, 1, 8, buf, 1), /x buffer out of bounds/],
      ['biasReluF32 oob bias', () => k.biasReluF32(buf, 1, 8, big - 8, 1), /bias buffer out of bounds/],
      ['biasReluF32 m=0', () => k.biasReluF32(buf, 0, 8, buf, 1), /m must be > 0/],
      ['fconv2d oob weights', () => k.fconv2d(buf, big - 4, buf, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 4, 4, 0), /weights buffer out of bounds/],
      ['fconv2d oob out', () => k.fconv2d(buf, buf, big - 4, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 4, 4, 0), /out buffer out of bounds/],
      ['fconv2d cin=0', () => k.fconv2d(buf, buf, buf, 1, 4, 4, 0, 4, 3, 3, 1, 1, 1, 4, 4, 0), /cin must be > 0/],
      ['fconv2d pad >= k', () => k.fconv2d(buf, buf, buf, 1, 4, 4, 1, 4, 3, 3, 1, 3, 1, 4, 4, 0), /padTop must be < kh/],
      ['fconv2d windows past input', () => k.fconv2d(buf, buf, buf, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 6, 4, 0), /last window row/],
      ['fconv2dBiasRelu oob bias', () => k.fconv2dBiasRelu(buf, buf, big - 8, buf, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 4, 4), /bias buffer out of bounds/],
      ['fconv2dBiasRelu oob out', () => k.fconv2dBiasRelu(buf, buf, buf, big - 4, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 4, 4), /out buffer out of bounds/],
      ['fconv2dBiasRelu kh=0', () => k.fconv2dBiasRelu(buf, buf, buf, buf, 1, 4, 4, 1, 4, 0, 3, 1, 1, 1, 4, 4), /kh must be > 0/],
      ['fconv2dThresholdPack oob scratch', () => k.fconv2dThresholdPack(buf, buf, buf, buf, buf, big - 4, 1, 4, 4, 1, 4, 3, 3, 1, 1, 1, 4, 4), /scratch buffer out of bounds/],
      ['fconv2dThresholdPack stride=0', () => k.fconv2dThresholdPack(buf, buf, buf, buf, buf, buf, 1, 4, 4, 1, 4, 3, 3, 0, 1, 1, 4, 4), /stride must be > 0/],
      ['denseF32 oob', () => k.denseF32(buf, buf, big - 4, 1, 4, 4), /out buffer out of bounds/],
      ['denseF32 fin=0', () => k.denseF32(buf, buf, buf, 1, 0, 4), /fin must be > 0/],
      ['argmaxF32 oob', () => k.argmaxF32(big - 4, 2, 4, buf), /x buffer out of bounds/],
      ['argmaxF32 c=0', () => k.argmaxF32(buf, 2, 0, buf), /c must be > 0/],
      ['bernoulliPack oob state', () => k.bernoulliPack(buf, 8, 1, buf, big - 8), /state buffer out of bounds/],
      ['bernoulliPack groups=0', () => k.bernoulliPack(buf, 8, 0, buf, buf), /groups must be > 0/],
      ['xorPopcountPeak oob', () => k.xorPopcountPeak(buf, big - 8, 4, 1), /b buffer out of bounds/],
      ['xorPopcountPeakScalar reps=0', () => k.xorPopcountPeakScalar(buf, buf, 4, 0), /reps must be > 0/],
      ['xorPopcountPeak huge words', () => k.xorPopcountPeak(buf, buf, 0x7fffffff, 1), /a buffer out of bounds/],
    ];
    for (const [what, call, re] of trapping) assert.throws(call, re, `${m.name}: ${what}`);
    // still usable
    const x = new Float32Array([1, 5, 5, 2]);
    m.reset();
    const px = m.put(x), po = m.junk(4);
    k.argmaxF32(px, 1, 4, po);
    assert.equal(m.i32(po, 1)[0], 1);
  }
});

// ---------------------------------------------------------------------------------------------
// Integer first layer: quantizeInputU8, qconv2dPackWeights, qconv2dThresholdPack
// ---------------------------------------------------------------------------------------------

/** The f32 neighbours of v (next below, next above). */
function f32Neighbours(v: number): [number, number] {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer);
  const bits = u[0]!;
  if (v === 0) return [-1.401298464324817e-45, 1.401298464324817e-45];
  u[0] = v > 0 ? bits - 1 : bits + 1;
  const below = f[0]!;
  u[0] = v > 0 ? bits + 1 : bits - 1;
  return [below, f[0]!];
}

test('quantizeInputU8 == Math.floor(fround(fround(x·255) + 0.5)) on edge values, both builds, every lane position', () => {
  const vals: number[] = [0, 1, 0.5 / 255, 1 / 255, 254.5 / 255, 0.5, 0.25, 0.75];
  for (let k = 0; k < 256; k++) {
    const mid = Math.fround((k + 0.5) / 255);
    vals.push(mid, ...f32Neighbours(mid), Math.fround(k / 255), ...f32Neighbours(Math.fround(k / 255)));
  }
  const rng = new TestRng(20);
  for (let i = 0; i < 500; i++) vals.push(rng.float());
  vals.push(...f32Neighbours(1), ...f32Neighbours(0.5 / 255));
  // "Be safe": out-of-range inputs the caller should never pass still clamp (NaN → 0).
  const unsafe = [-0, -1e-30, -0.5, -1, 1.0001, 1.5, 255, 1e9, 3e38, Infinity, -Infinity, NaN, 1e-45, -3e38, 128.6 / 255];
  const x = Float32Array.from([...vals, ...unsafe]);
  const expect = quantizeU8Ref(x);
  // Spot checks of the formula itself.
  assert.equal(expect[0], 0);
  assert.equal(expect[1], 255);
  assert.equal(quantizeU8Ref([0.5 / 255])[0], 1);
  assert.deepEqual(Array.from(quantizeU8Ref([NaN, -1, 2, Infinity, -Infinity])), [0, 0, 255, 255, 0]);
  for (const m of builds) {
    // Every start offset 0..16 so each value passes through every SIMD lane and the scalar tail.
    for (let shift = 0; shift <= 16; shift++) {
      const xs = x.slice(shift);
      m.reset();
      const ps = m.put(xs), pd = m.junk(xs.length);
      m.k.quantizeInputU8(ps, pd, xs.length);
      assert.deepEqual(m.u8(pd, xs.length), expect.slice(shift), `${m.name} shift ${shift}`);
    }
    // Short counts (tail only) and an exact multiple of 16.
    for (const count of [1, 2, 15, 16, 17, 32]) {
      m.reset();
      const ps = m.put(x.slice(0, count)), pd = m.junk(count + 16);
      m.k.quantizeInputU8(ps, pd, count);
      assert.deepEqual(m.u8(pd, count), expect.slice(0, count), `${m.name} count ${count}`);
      assert.ok(m.u8(pd + count, 16).every((v) => v === 0xa5), `${m.name} count ${count}: wrote past the end`);
    }
  }
});

test('qconv2dPackWeights / qconv2dPackedWeightBytes: the documented [C/16][P][16][2] i16 layout', () => {
  const rng = new TestRng(21);
  for (const [kh, kw, cin, cout] of [[8, 8, 1, 64], [8, 8, 3, 33], [3, 3, 1, 5], [3, 3, 3, 16], [1, 1, 1, 1], [2, 3, 5, 47]] as const) {
    const w = Int8Array.from({ length: kh * kw * cin * cout }, () => rng.int(-128, 127));
    w[0] = -128;
    w[w.length - 1] = 127;
    const expect = packQconvWeightsRef(w, kh, kw, cin, cout);
    for (const m of builds) {
      const bytes = m.k.qconv2dPackedWeightBytes(kh, kw, cin, cout);
      assert.equal(bytes, Math.ceil((kh * kw * cin) / 2) * Math.ceil(cout / 16) * 16 * 4, `${m.name} bytes ${kh}x${kw}x${cin}x${cout}`);
      assert.equal(bytes, expect.byteLength);
      m.reset();
      const ps = m.put(w), pd = m.junk(bytes + 16);
      m.k.qconv2dPackWeights(ps, pd, kh, kw, cin, cout);
      assert.deepEqual(m.i16(pd, bytes / 2), expect, `${m.name} layout ${kh}x${kw}x${cin}x${cout}`);
      assert.ok(m.u8(pd + bytes, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end`);
    }
  }
  // The model shapes: exactly ceil(T/2)·cout·4 bytes (no channel padding when cout % 16 == 0).
  for (const K of [64, 128, 256]) assert.equal(scalarBuild.k.qconv2dPackedWeightBytes(8, 8, 1, K), 32 * K * 4);
});

interface QconvCase { n: number; h: number; w: number; cin: number; cout: number; k: number; kw?: number; stride: number; valid?: boolean }

/** Packs int8 HWIO weights w in build m and runs qconv2dThresholdPack; returns the packed words. */
function runQconv(m: Kernels, s: QconvCase, x: Uint8Array, w: Int8Array, thr: Int32Array, flip: Int32Array): Uint32Array {
  const g = fconvGeometry(s);
  const pixels = s.n * g.outH * g.outW;
  const wpp = wordsPerPixel(s.cout);
  m.reset();
  const px = m.put(x), pw8 = m.put(w);
  const pw = m.junk(m.k.qconv2dPackedWeightBytes(g.kh, g.kw, s.cin, s.cout));
  m.k.qconv2dPackWeights(pw8, pw, g.kh, g.kw, s.cin, s.cout);
  const pthr = m.put(thr), pflip = m.put(flip), scratch = m.junk(s.cout * 4);
  const pout = m.junk(pixels * wpp * 4 + 16);
  m.k.qconv2dThresholdPack(px, pw, pthr, pflip, pout, scratch, s.n, s.h, s.w, s.cin, s.cout, g.kh, g.kw, s.stride,
    g.padTop, g.padLeft, g.outH, g.outW);
  assert.ok(m.u8(pout + pixels * wpp * 4, 16).every((v) => v === 0xa5), `${m.name}: wrote past the end of out`);
  return m.u32(pout, pixels * wpp);
}

const I32_MIN = -(2 ** 31), I32_MAX = 2 ** 31 - 1;

test('qconv2dThresholdPack == integer conv reference + threshold, SIMD == scalar bit for bit', () => {
  const rng = new TestRng(22);
  const cases: QconvCase[] = [];
  // The first layer: 8×8 stride 2 SAME on 28×28 (pads 3/3), cin 1 and 3, K up to 256 and tails.
  for (const cout of [64, 33, 5, 256]) cases.push({ n: 2, h: 28, w: 28, cin: 1, cout, k: 8, stride: 2 });
  for (const cout of [64, 33, 5]) cases.push({ n: 1, h: 28, w: 28, cin: 3, cout, k: 8, stride: 2 });
  // 3×3 stride 1 (SAME and VALID), odd tap counts (T = 9, 27), odd pixel counts.
  for (const cout of [5, 33, 64]) {
    cases.push({ n: 3, h: 7, w: 5, cin: 1, cout, k: 3, stride: 1 });
    cases.push({ n: 1, h: 9, w: 8, cin: 3, cout, k: 3, stride: 1, valid: true });
  }
  cases.push(
    { n: 2, h: 10, w: 11, cin: 2, cout: 17, k: 4, kw: 5, stride: 3 },            // kh ≠ kw, stride 3
    { n: 1, h: 48, w: 48, cin: 4, cout: 20, k: 5, stride: 2 },                   // image > padded buffer: clipped gather
    { n: 1, h: 9, w: 9, cin: 64, cout: 17, k: 8, stride: 2 },                    // T = 4096: two patches fill the buffer
    { n: 1, h: 5, w: 4, cin: 2049, cout: 5, k: 2, kw: 1, stride: 2, valid: true }, // T = 4098 > 4096: direct path
    { n: 1, h: 12, w: 12, cin: 130, cout: 37, k: 8, stride: 2 },                 // T = 8320: direct path, SAME
    { n: 2, h: 3, w: 3, cin: 1, cout: 1, k: 3, stride: 1, valid: true },         // one pixel per image, one channel
    { n: 1, h: 1, w: 1, cin: 1, cout: 3, k: 1, stride: 1 },
  );
  for (const s of cases) {
    const g = fconvGeometry(s);
    const pixels = s.n * g.outH * g.outW;
    const x = Uint8Array.from({ length: s.n * s.h * s.w * s.cin }, () => rng.int(0, 255));
    const w = Int8Array.from({ length: g.kh * g.kw * s.cin * s.cout }, () => rng.int(-128, 127));
    // Extreme pixels: a saturated region and the most negative weights.
    x.fill(255, 0, Math.min(x.length, 3 * s.w * s.cin));
    w.fill(-128, 0, Math.min(w.length, s.cout * 2));
    const acc = conv2dInt(x, s.n, s.h, s.w, s.cin, w, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW);
    // Thresholds: mostly an actual sum (equality) or near one, so both outcomes occur; plus the
    // int32 bounds (always / never true) on a few channels.
    const thr = new Int32Array(s.cout).map((_, j) => acc[rng.int(0, pixels - 1) * s.cout + j]! + rng.int(-2, 2));
    const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
    if (s.cout > 4) {
      thr[0] = I32_MIN + 1; flip[0] = 0;  // acc ≥ -2^31+1: always +1
      thr[1] = I32_MAX; flip[1] = 0;      // acc ≥ 2^31-1: always -1
      thr[2] = I32_MIN + 1; flip[2] = 1;  // acc ≤ -2^31+1: always -1
      thr[3] = I32_MAX; flip[3] = 7;      // acc ≤ 2^31-1 (any nonzero flip): always +1
      thr[4] = I32_MIN; flip[4] = 0;      // acc ≥ -2^31: always +1
    }
    const expect = packSigns(thresholdSignsGE(acc, pixels, s.cout, thr, flip), pixels, s.cout);
    const what = JSON.stringify(s);
    const got = builds.map((m) => runQconv(m, s, x, w, thr, flip));
    assert.deepEqual(got[0], expect, `scalar ${what}`);
    assert.deepEqual(got[1], got[0], `simd != scalar ${what}`);
    assertPaddingZero(got[0]!, pixels, s.cout, what);
    const signs = unpackSigns(got[0]!, pixels, s.cout);
    if (s.cout > 4) {
      for (let p = 0; p < pixels; p++) {
        assert.deepEqual(Array.from(signs.slice(p * s.cout, p * s.cout + 5)), [1, -1, -1, 1, 1], `${what} pixel ${p}`);
      }
    }
    // Both outcomes occur on the data-driven channels.
    if (s.cout > 8 && pixels > 8) assert.ok(signs.some((v) => v === 1) && signs.some((v) => v === -1), what);
  }
});

test('qconv2dThresholdPack: random shapes and extreme sums, both builds == reference', () => {
  const rng = new TestRng(23);
  for (let it = 0; it < 40; it++) {
    const k = rng.int(1, 8), kw = rng.int(1, 8), stride = rng.int(1, 3);
    const s: QconvCase = {
      n: rng.int(1, 3), h: k + rng.int(0, 9), w: kw + rng.int(0, 9), cin: rng.pick([1, 2, 3, 5]),
      cout: rng.pick([1, 4, 5, 15, 16, 17, 31, 33, 48, 64]), k, kw, stride, valid: rng.int(0, 1) === 1,
    };
    const g = fconvGeometry(s);
    if (g.padTop >= g.kh || g.padLeft >= g.kw) continue;
    const pixels = s.n * g.outH * g.outW;
    // Half of the shapes use extreme values only (255 × ±128), the largest possible sums.
    const extreme = it % 2 === 0;
    const x = Uint8Array.from({ length: s.n * s.h * s.w * s.cin }, () => (extreme ? rng.pick([0, 255]) : rng.int(0, 255)));
    const w = Int8Array.from({ length: g.kh * g.kw * s.cin * s.cout }, () => (extreme ? rng.pick([-128, 127]) : rng.int(-128, 127)));
    const acc = conv2dInt(x, s.n, s.h, s.w, s.cin, w, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW);
    const thr = new Int32Array(s.cout).map((_, j) => acc[rng.int(0, pixels - 1) * s.cout + j]!);
    const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
    const expect = packSigns(thresholdSignsGE(acc, pixels, s.cout, thr, flip), pixels, s.cout);
    for (const m of builds) assert.deepEqual(runQconv(m, s, x, w, thr, flip), expect, `${m.name} ${JSON.stringify(s)}`);
  }
});

test('qconv2dThresholdPack: quantized float images give the same bits as the integer reference', () => {
  // End to end as the runtime will use it: f32 image in [0,1] → quantizeInputU8 → qconv.
  const rng = new TestRng(24);
  const s: QconvCase = { n: 4, h: 28, w: 28, cin: 1, cout: 64, k: 8, stride: 2 };
  const g = fconvGeometry(s);
  const pixels = s.n * g.outH * g.outW;
  const img = Float32Array.from({ length: s.n * 784 }, () => (rng.float() < 0.3 ? 0 : rng.float()));
  const xq = quantizeU8Ref(img);
  const w = Int8Array.from({ length: 64 * s.cout }, () => rng.int(-128, 127));
  const acc = conv2dInt(xq, s.n, s.h, s.w, s.cin, w, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW);
  const thr = new Int32Array(s.cout).map(() => rng.int(-20000, 20000));
  const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
  const expect = packSigns(thresholdSignsGE(acc, pixels, s.cout, thr, flip), pixels, s.cout);
  for (const m of builds) {
    m.reset();
    const pimg = m.put(img), pq = m.junk(img.length);
    m.k.quantizeInputU8(pimg, pq, img.length);
    const q = m.u8(pq, img.length);
    assert.deepEqual(q, xq, m.name);
    assert.deepEqual(runQconv(m, s, q, w, thr, flip), expect, m.name);
  }
});

test('integer first layer: bad calls trap and the instance keeps working', () => {
  for (const m of builds) {
    const s: QconvCase = { n: 2, h: 28, w: 28, cin: 1, cout: 33, k: 8, stride: 2 };
    const g = fconvGeometry(s);
    const rng = new TestRng(25);
    const x = Uint8Array.from({ length: s.n * 784 }, () => rng.int(0, 255));
    const w = Int8Array.from({ length: 64 * s.cout }, () => rng.int(-128, 127));
    const acc = conv2dInt(x, s.n, s.h, s.w, s.cin, w, s.cout, g.kh, g.kw, s.stride, g.padTop, g.padLeft, g.outH, g.outW);
    const thr = new Int32Array(s.cout).map((_, j) => acc[j]!);
    const flip = new Int32Array(s.cout).map(() => rng.int(0, 1));
    const good = runQconv(m, s, x, w, thr, flip);

    m.reset();
    const px = m.put(x), pw8 = m.put(w);
    const wBytes = m.k.qconv2dPackedWeightBytes(8, 8, 1, s.cout);
    const pw = m.junk(wBytes);
    m.k.qconv2dPackWeights(pw8, pw, 8, 8, 1, s.cout);
    const pthr = m.put(thr), pflip = m.put(flip), scratch = m.junk(s.cout * 4);
    const outWords = s.n * 14 * 14 * 2;
    const pout = m.junk(outWords * 4);
    const f = m.junk(64 * 4);
    const end = m.memBytes();
    const k = m.k;
    const args = [px, pw, pthr, pflip, pout, scratch, s.n, 28, 28, 1, s.cout, 8, 8, 2, 3, 3, 14, 14];
    const call = (a: number[]) => () => (k.qconv2dThresholdPack as (...v: number[]) => void)(...a);
    const withArg = (i: number, v: number) => args.map((a, j) => (j === i ? v : a));
    const bad: [string, () => unknown, RegExp][] = [
      ['input past end', call(withArg(0, end - 100)), /input buffer out of bounds/],
      ['input below heapBase', call(withArg(0, 0)), /input buffer out of bounds/],
      ['weights past end', call(withArg(1, end - wBytes + 4)), /weights buffer out of bounds/],
      ['thr past end', call(withArg(2, end - 8)), /thr buffer out of bounds/],
      ['flip near 4 GiB', call(withArg(3, 0xfffffff0)), /flip buffer out of bounds/],
      ['out past end', call(withArg(4, end - 16)), /out buffer out of bounds/],
      ['scratch past end', call(withArg(5, end - 4)), /scratch buffer out of bounds/],
      ['n = 0', call(withArg(6, 0)), /n must be > 0/],
      ['inH < 0', call(withArg(7, -28)), /inH must be > 0/],
      ['cin = 0', call(withArg(9, 0)), /cin must be > 0/],
      ['cout = 0', call(withArg(10, 0)), /cout must be > 0/],
      ['stride = 0', call(withArg(13, 0)), /stride must be > 0/],
      ['padTop >= kh', call(withArg(14, 8)), /padTop must be < kh/],
      ['padLeft < 0', call(withArg(15, -1)), /padLeft must be >= 0/],
      ['windows below the input', call(withArg(16, 20)), /last window row/],
      ['windows right of the input', call(withArg(17, 20)), /last window col/],
      ['too many taps', call([px, pw, pthr, pflip, pout, scratch, 1, 300, 300, 1, 1, 257, 256, 1, 0, 0, 1, 1]), /must be <= 65536/],
      ['overflowing dims', call([px, pw, pthr, pflip, pout, scratch, 65536, 65536, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1]), /input buffer out of bounds/],
      ['pack: src past end', () => k.qconv2dPackWeights(end - 100, pw, 8, 8, 1, s.cout), /src buffer out of bounds/],
      ['pack: dst past end', () => k.qconv2dPackWeights(pw8, end - 100, 8, 8, 1, s.cout), /dst buffer out of bounds/],
      ['pack: kh = 0', () => k.qconv2dPackWeights(pw8, pw, 0, 8, 1, s.cout), /kh must be > 0/],
      ['bytes: cout < 0', () => k.qconv2dPackedWeightBytes(8, 8, 1, -5), /cout must be > 0/],
      ['bytes: too many taps', () => k.qconv2dPackedWeightBytes(256, 256, 2, 1), /must be <= 65536/],
      ['quantize: src past end', () => k.quantizeInputU8(end - 32, f, 16), /src buffer out of bounds/],
      ['quantize: dst past end', () => k.quantizeInputU8(f, end - 8, 16), /dst buffer out of bounds/],
      ['quantize: count = 0', () => k.quantizeInputU8(f, f, 0), /count must be > 0/],
      ['quantize: huge count', () => k.quantizeInputU8(f, f, 0x7fffffff), /src buffer out of bounds/],
    ];
    for (const [what, fn, re] of bad) assert.throws(fn, re, `${m.name}: ${what}`);
    // Still usable after the traps.
    k.qconv2dThresholdPack(px, pw, pthr, pflip, pout, scratch, s.n, 28, 28, 1, s.cout, 8, 8, 2, 3, 3, 14, 14);
    assert.deepEqual(m.u32(pout, outWords), good, `${m.name} after traps`);
  }
});
