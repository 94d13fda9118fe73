/**
 * BnnRuntime: loads a .bnn file into the WebAssembly kernels and classifies images. Binary
 * layers run as XNOR/XOR + popcount with integer thresholds; the float first layer emits packed
 * bits directly; model A runs on the float path. Batches of any size are streamed through
 * buffers sized once at load, so memory stays flat however many calls are made.
 */
import { parseBnn } from '../format/read.js';
import type { BnnModel } from '../format/model.js';
import { wordsPerPixel } from '../format/layout.js';
import { splitmix32 } from '../util/rng.js';
import { BnnInputError, BnnRuntimeError } from './errors.js';
import { Arena, convOutputBytes, planSteps, type ConvStep, type Step } from './plan.js';
import { instantiateKernels, simdSupported, type KernelExports, type WasmFlavor } from './wasm.js';

export interface RuntimeOptions {
  /** Use the simd128 build (default: when the engine supports it). false forces the scalar build. */
  readonly simd?: boolean;
  /** Images per kernel pass; larger batches are streamed in chunks of this size. Default 128. */
  readonly maxBatch?: number;
  /** Seed of model S's weight sampling (default 0). */
  readonly seed?: number;
  /** Model S: draw new weights once per call (default) or for every image. */
  readonly resample?: 'per-call' | 'per-image';
  /** Pixels outside [0, 1]: reject with an error (default) or clip. NaN/Infinity are always rejected. */
  readonly inputRange?: 'reject' | 'clip';
  /** Directory (URL) holding bnn-simd.wasm and bnn-scalar.wasm, if not beside the runtime. */
  readonly wasmBase?: string | URL;
}

/** Images as floats in [0, 1] or bytes 0–255 (divided by 255), n × 784 values, row-major. */
export type ImageBatch = Float32Array | Uint8Array;

interface StepBuffers {
  weights: number;
  /** qconv: the u8 image. */
  inputU8: number;
  probabilities: number;
  thr: number;
  flip: number;
  scratch: number;
  acc: number;
  out: number;
  /** f32[cout] of a layer with biases (model R), else 0. */
  bias: number;
}

export interface LayerTrace {
  readonly layer: string;
  /** bconv: i32 popcounts P [n][outH][outW][cout] (y = nValid − 2P). */
  readonly popcounts?: Int32Array;
  /** bits output: packed words [n][outH][outW][⌈cout/32⌉]. */
  readonly bits?: Uint32Array;
  /** float output [n][outH][outW][cout] (or logits for dense). */
  readonly floats?: Float32Array;
}

export class BnnRuntime {
  readonly flavor: WasmFlavor;
  readonly maxBatch: number;
  private readonly steps: Step[];
  private readonly bufs: StepBuffers[];
  private readonly input: number;
  private readonly logitsPtr: number;
  private readonly labelsPtr: number;
  private readonly rngState: number;
  private disposed = false;
  /** When set, forward() adds each step's milliseconds here (profile()). */
  private timings: Float64Array | null = null;

  private constructor(
    readonly model: BnnModel,
    private readonly ex: KernelExports,
    flavor: WasmFlavor,
    private readonly opts: RuntimeOptions,
  ) {
    this.flavor = flavor;
    this.maxBatch = opts.maxBatch ?? 128;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1 || this.maxBatch > 65536) throw new RangeError(`maxBatch must be an integer in 1..65536, got ${opts.maxBatch}`);
    this.steps = planSteps(model);
    const m = this.maxBatch;
    const arena = new Arena(ex.heapBase());
    const [h, w, c] = model.spec.input;
    this.input = arena.alloc(m * h * w * c * 4);
    this.bufs = this.steps.map((s) => {
      const b: StepBuffers = { weights: 0, inputU8: 0, probabilities: 0, thr: 0, flip: 0, scratch: 0, acc: 0, out: 0, bias: 0 };
      if (s.layer.bias) b.bias = arena.alloc(s.layer.bias.byteLength);
      if (s.kind === 'dense') {
        b.weights = arena.alloc(s.layer.weightsF32!.byteLength);
        return b;
      }
      if (s.kind === 'fconv') b.weights = arena.alloc(s.layer.weightsF32!.byteLength);
      else if (s.kind === 'qconv') {
        b.probabilities = arena.alloc(s.layer.weightsI8!.byteLength); // int8 HWIO staging
        b.weights = arena.alloc(ex.qconv2dPackedWeightBytes(s.k, s.k, s.cin, s.cout));
        b.inputU8 = arena.alloc(m * s.inH * s.inW * s.cin);
      } else if (s.stochastic) {
        b.probabilities = arena.alloc(s.layer.probabilities!.byteLength);
        b.weights = arena.alloc(s.cout * s.k * s.k * wordsPerPixel(s.cin) * 4);
      } else b.weights = arena.alloc(s.layer.signWords!.byteLength);
      if (s.output === 'bits') {
        b.thr = arena.alloc(s.cout * 4);
        b.flip = arena.alloc(s.cout * 4);
        if (s.kind !== 'bconv') b.scratch = arena.alloc(s.cout * 4);
      }
      if (s.kind === 'bconv') b.acc = arena.alloc(m * s.outH * s.outW * s.cout * 4);
      b.out = arena.alloc(m * convOutputBytes(s));
      return b;
    });
    this.logitsPtr = arena.alloc(m * model.spec.classes * 4);
    this.labelsPtr = arena.alloc(m * 4);
    this.rngState = arena.alloc(16);
    const need = arena.end - ex.memory.buffer.byteLength;
    if (need > 0) ex.memory.grow(Math.ceil(need / 65536));

    // Static data: weights, thresholds, the sampler's state.
    this.steps.forEach((s, i) => {
      const b = this.bufs[i]!;
      if (s.layer.bias) this.write(b.bias, s.layer.bias);
      if (s.kind === 'dense' || s.kind === 'fconv') this.write(b.weights, s.layer.weightsF32!);
      else if (s.kind === 'qconv') {
        this.write(b.probabilities, s.layer.weightsI8!);
        ex.qconv2dPackWeights(b.probabilities, b.weights, s.k, s.k, s.cin, s.cout);
      } else if (s.stochastic) this.write(b.probabilities, s.layer.probabilities!);
      else this.write(b.weights, s.layer.signWords!);
      if (s.kind !== 'dense' && s.output === 'bits') {
        this.write(b.thr, s.thr!);
        this.write(b.flip, s.flip!);
      }
    });
    this.reseed(opts.seed ?? 0);
  }

  /** Loads a .bnn (bytes) onto a fresh kernel instance. Throws BnnFormatError for a bad file. */
  static async load(bytes: Uint8Array | ArrayBuffer, opts: RuntimeOptions = {}): Promise<BnnRuntime> {
    const model = parseBnn(bytes);
    return BnnRuntime.fromModel(model, opts);
  }

  /** Loads an already decoded model. */
  static async fromModel(model: BnnModel, opts: RuntimeOptions = {}): Promise<BnnRuntime> {
    const simd = opts.simd ?? simdSupported();
    if (simd && !simdSupported()) throw new Error('simd128 was requested but this WebAssembly engine does not support it');
    const flavor: WasmFlavor = simd ? 'simd' : 'scalar';
    return new BnnRuntime(model, await instantiateKernels(flavor, opts.wasmBase), flavor, opts);
  }

  /** Restarts model S's weight sampler (xoshiro128** seeded by SplitMix32, as util/rng.ts). */
  reseed(seed: number): void {
    const words = new Uint32Array(4);
    let st = seed | 0;
    for (let i = 0; i < 4; i++) {
      const [v, next] = splitmix32(st);
      words[i] = v;
      st = next;
    }
    if ((words[0]! | words[1]! | words[2]! | words[3]!) === 0) words[0] = 1;
    this.write(this.rngState, words);
  }

  /** Predicted class of each of n images. */
  predict(images: ImageBatch, n: number): Int32Array {
    const out = new Int32Array(this.checkBatch(images, n));
    this.run(images, n, (start, m) => {
      this.call('argmaxF32', () => this.ex.argmaxF32(this.logitsPtr, m, this.model.spec.classes, this.labelsPtr));
      out.set(new Int32Array(this.ex.memory.buffer, this.labelsPtr, m), start);
    });
    return out;
  }

  /** Logits [n][classes]. */
  logits(images: ImageBatch, n: number): Float32Array {
    const classes = this.model.spec.classes;
    const out = new Float32Array(this.checkBatch(images, n) * classes);
    this.run(images, n, (start, m) => out.set(new Float32Array(this.ex.memory.buffer, this.logitsPtr, m * classes), start * classes));
    return out;
  }

  /** Every layer's output for n ≤ maxBatch images (for parity tests and debugging). */
  trace(images: ImageBatch, n: number): LayerTrace[] {
    this.checkBatch(images, n);
    if (n > this.maxBatch) throw new BnnInputError('BAD_COUNT', `trace takes at most maxBatch = ${this.maxBatch} images, got ${n}`);
    const traces: LayerTrace[] = [];
    this.run(images, n, (_start, m) => {
      this.steps.forEach((s, i) => {
        const b = this.bufs[i]!;
        const buf = this.ex.memory.buffer;
        if (s.kind === 'dense') {
          traces.push({ layer: s.layer.shape.layer.name, floats: new Float32Array(buf, this.logitsPtr, m * s.fout).slice() });
          return;
        }
        const count = m * s.outH * s.outW;
        traces.push({
          layer: s.layer.shape.layer.name,
          ...(s.kind === 'bconv' ? { popcounts: new Int32Array(buf, b.acc, count * s.cout).slice() } : {}),
          ...(s.output === 'bits' ? { bits: new Uint32Array(buf, b.out, count * wordsPerPixel(s.cout)).slice() } : { floats: new Float32Array(buf, b.out, count * s.cout).slice() }),
        });
      });
    });
    return traces;
  }

  /**
   * Mean milliseconds per call of each layer's kernels (and of input copying), over `reps`
   * passes of n ≤ maxBatch images: where the time goes.
   */
  profile(images: ImageBatch, n: number, reps = 10): { layer: string; kind: string; ms: number }[] {
    this.checkBatch(images, n);
    if (n > this.maxBatch) throw new BnnInputError('BAD_COUNT', `profile takes at most maxBatch = ${this.maxBatch} images, got ${n}`);
    const totals = new Float64Array(this.steps.length + 1);
    this.timings = totals;
    try {
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        this.run(images, n, () => {});
        totals[this.steps.length]! += performance.now() - t0;
      }
    } finally {
      this.timings = null;
    }
    const layerSum = totals.subarray(0, this.steps.length).reduce((a, b) => a + b, 0);
    return [
      ...this.steps.map((s, i) => ({ layer: s.layer.shape.layer.name, kind: s.kind, ms: totals[i]! / reps })),
      { layer: 'input + overhead', kind: 'js', ms: (totals[this.steps.length]! - layerSum) / reps },
    ];
  }

  /** Bytes of linear memory this instance uses. */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /** Releases the instance; later calls throw. */
  dispose(): void {
    this.disposed = true;
  }

  private checkBatch(images: ImageBatch, n: number): number {
    if (this.disposed) throw new BnnInputError('DISPOSED', 'this runtime was disposed');
    if (!(images instanceof Float32Array) && !(images instanceof Uint8Array)) throw new BnnInputError('BAD_TYPE', 'images must be a Float32Array (pixels in [0, 1]) or a Uint8Array (0–255)');
    if (!Number.isInteger(n) || n < 1) throw new BnnInputError('BAD_COUNT', `image count must be a positive integer, got ${n}`);
    const px = this.model.spec.input[0] * this.model.spec.input[1] * this.model.spec.input[2];
    if (images.length !== n * px) {
      throw new BnnInputError('BAD_LENGTH', `expected ${n} images × ${px} pixels = ${n * px} values, got ${images.length}` + (images.length % px === 0 ? ` (${images.length / px} images)` : ''));
    }
    return n;
  }

  /** Streams n images through the layers in chunks of maxBatch, calling `done` after each. */
  private run(images: ImageBatch, n: number, done: (start: number, m: number) => void): void {
    const px = this.model.spec.input[0] * this.model.spec.input[1] * this.model.spec.input[2];
    const clip = this.opts.inputRange === 'clip';
    for (let start = 0; start < n; start += this.maxBatch) {
      const m = Math.min(this.maxBatch, n - start);
      const dst = new Float32Array(this.ex.memory.buffer, this.input, m * px);
      if (images instanceof Uint8Array) {
        for (let i = 0; i < m * px; i++) dst[i] = images[start * px + i]! / 255;
      } else {
        const src = images.subarray(start * px, (start + m) * px);
        dst.set(src);
        // Fast check on the copy's bits: a float is in [0, 1] iff its bits are ≤ those of 1.0
        // as an unsigned integer (NaN, negatives, > 1 are all larger; −0 takes the slow path).
        const bits = new Uint32Array(this.ex.memory.buffer, this.input, m * px);
        let bad = -1;
        for (let i = 0; i < bits.length; i++) {
          if (bits[i]! > 0x3f800000) {
            bad = i;
            break;
          }
        }
        for (let i = bad; bad >= 0 && i < src.length; i++) {
          const v = src[i]!;
          if (v >= 0 && v <= 1) continue;
          const where = `pixel ${i % px} of image ${start + Math.floor(i / px)}`;
          if (!Number.isFinite(v)) throw new BnnInputError('NOT_FINITE', `${where} is ${v}`, start * px + i);
          if (!clip) throw new BnnInputError('OUT_OF_RANGE', `${where} is ${v}, outside [0, 1] (pass inputRange: 'clip' to clip)`, start * px + i);
          dst[i] = v < 0 ? 0 : 1;
        }
      }
      this.forward(m);
      done(start, m);
    }
  }

  private forward(m: number): void {
    let cur = this.input;
    this.steps.forEach((s, i) => {
      const t0 = this.timings ? performance.now() : 0;
      this.step(s, i, cur, m);
      if (this.timings) this.timings[i]! += performance.now() - t0;
      cur = this.bufs[i]!.out;
    });
  }

  private step(s: Step, i: number, cur: number, m: number): void {
    const b = this.bufs[i]!;
    if (s.kind === 'dense') {
      this.call('denseF32', () => this.ex.denseF32(cur, b.weights, this.logitsPtr, m, s.fin, s.fout));
      if (b.bias) this.call('biasReluF32', () => this.ex.biasReluF32(this.logitsPtr, m, s.fout, b.bias, 0));
      return;
    }
    if (s.kind === 'qconv') {
      const count = m * s.inH * s.inW * s.cin;
      this.call('quantizeInputU8', () => this.ex.quantizeInputU8(cur, b.inputU8, count));
      this.call('qconv2dThresholdPack', () =>
        this.ex.qconv2dThresholdPack(b.inputU8, b.weights, b.thr, b.flip, b.out, b.scratch, m, s.inH, s.inW, s.cin, s.cout, s.k, s.k, s.stride, s.stride, s.padTop, s.padLeft, s.outH, s.outW),
      );
    } else if (s.kind === 'fconv') {
      if (s.output === 'bits') {
        this.call('fconv2dThresholdPack', () =>
          this.ex.fconv2dThresholdPack(cur, b.weights, b.thr, b.flip, b.out, b.scratch, m, s.inH, s.inW, s.cin, s.cout, s.k, s.k, s.stride, s.stride, s.padTop, s.padLeft, s.outH, s.outW),
        );
      } else {
        // With a bias the ReLU comes after it; the kernel adds both in its store, in one pass.
        if (b.bias) this.call('fconv2dBiasRelu', () => this.ex.fconv2dBiasRelu(cur, b.weights, b.bias, b.out, m, s.inH, s.inW, s.cin, s.cout, s.k, s.k, s.stride, s.stride, s.padTop, s.padLeft, s.outH, s.outW));
        else this.call('fconv2d', () => this.ex.fconv2d(cur, b.weights, b.out, m, s.inH, s.inW, s.cin, s.cout, s.k, s.k, s.stride, s.stride, s.padTop, s.padLeft, s.outH, s.outW, 1));
      }
    } else {
      this.bconv(s, b, cur, m);
      const rows = m * s.outH * s.outW;
      if (s.output === 'bits') this.call('thresholdPackI32', () => this.ex.thresholdPackI32(b.acc, rows, s.cout, b.thr, b.flip, b.out));
      else this.call('reluScaleI32', () => this.ex.reluScaleI32(b.acc, rows, s.cout, s.nValid, s.scale, b.out));
    }
  }

  private bconv(s: ConvStep, b: StepBuffers, input: number, m: number): void {
    const wpp = wordsPerPixel(s.cin);
    const conv = (inPtr: number, outPtr: number, count: number) =>
      this.call('bconv2dPopcount', () => this.ex.bconv2dPopcount(inPtr, b.weights, outPtr, count, s.inH, s.inW, wpp, s.cout, s.k, s.k, s.stride, s.stride, s.outH, s.outW));
    const resample = () => this.call('bernoulliPack', () => this.ex.bernoulliPack(b.probabilities, s.cin, s.cout * s.k * s.k, b.weights, this.rngState));
    if (!s.stochastic) return conv(input, b.acc, m);
    if (this.opts.resample !== 'per-image') {
      resample();
      return conv(input, b.acc, m);
    }
    const inBytes = s.inH * s.inW * wpp * 4;
    const outBytes = s.outH * s.outW * s.cout * 4;
    for (let j = 0; j < m; j++) {
      resample();
      conv(input + j * inBytes, b.acc + j * outBytes, 1);
    }
  }

  private write(ptr: number, data: ArrayBufferView): void {
    new Uint8Array(this.ex.memory.buffer, ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  private call(kernel: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      throw new BnnRuntimeError(kernel, e);
    }
  }
}

