/**
 * BnnRuntime: runs a .bnn on the WebAssembly kernels. The model is lowered once (model/lower.ts)
 * into steps on float, bit and accumulator values; each step becomes one kernel call (a float conv
 * feeding only a threshold or a ReLU is fused into one call), with weights and thresholds placed in
 * linear memory at load and value buffers sized for `maxBatch` images and shared by liveness.
 * Larger batches stream through in chunks; memory stays flat however many calls are made.
 */
import { checkModel } from '../format/check.js';
import { parseBnn } from '../format/read.js';
import type { BnnModel } from '../format/model.js';
import { wordsPerPixel } from '../format/layout.js';
import { plainImageView } from '../format/views.js';
import { inputSize } from '../model/graph.js';
import { lower, type ExecutionPlan, type PlanStep, type PlanValue } from '../model/lower.js';
import { splitmix32 } from '../util/rng.js';
import { BnnConfigError, BnnInputError, BnnRuntimeError } from './errors.js';
import { GUARD_BYTES, Guards } from './guards.js';
import { checkOptions, MAX_MEMORY_BYTES, type RuntimeOptions } from './options.js';
import { Arena, placeValues, planOps, valueBytes, type Region } from './plan.js';
import { instantiateKernels, simdSupported, type KernelExports, type WasmFlavor } from './wasm.js';
import { loadResource } from './resource.js';

export type { RuntimeOptions } from './options.js';

/** Images as floats in [0, 1] or bytes 0–255 (divided by 255), n × H·W·C values, row-major, channels last. */
export type ImageBatch = Float32Array | Uint8Array;

/** One step's output, for parity tests and debugging. */
export interface StepTrace {
  readonly step: number;
  readonly op: PlanStep['op'];
  readonly layer: string;
  readonly value: PlanValue;
  /** f32 values, i32 accumulators, packed u32 bit words, or u8 pixels, [n][…] as the value's form. */
  readonly data: Float32Array | Int32Array | Uint32Array | Uint8Array;
}

interface Exec {
  /** The plan steps this call performs (more than one when fused). */
  readonly steps: readonly number[];
  readonly kernel: string;
  readonly run: (m: number) => void;
}

/** The error for a pixel that is NaN, ±Infinity or (without clipping) outside [0, 1]; `index` counts from the first pixel of the first image. */
export function pixelError(index: number, pixelsPerImage: number, value: number): BnnInputError {
  const where = `pixel ${index % pixelsPerImage} of image ${Math.floor(index / pixelsPerImage)}`;
  if (!Number.isFinite(value)) return new BnnInputError('NOT_FINITE', `${where} is ${value}`, index);
  return new BnnInputError('OUT_OF_RANGE', `${where} is ${value}, outside [0, 1] (pass inputRange: 'clip' to clip)`, index);
}

export class BnnRuntime {
  readonly flavor: WasmFlavor;
  readonly maxBatch: number;
  readonly plan: ExecutionPlan;
  private readonly execs: Exec[] = [];
  private readonly ptr: number[];
  private readonly rngState: number;
  private readonly labelsPtr: number;
  private readonly resamplers: (() => void)[] = [];
  private readonly pixels: number;
  private readonly classes: number;
  private disposed = false;
  /** When set, forward() adds each exec's milliseconds here (profile()). */
  private timings: Float64Array | null = null;

  private constructor(
    readonly model: BnnModel,
    private readonly ex: KernelExports,
    flavor: WasmFlavor,
    private readonly opts: RuntimeOptions,
  ) {
    this.flavor = flavor;
    this.maxBatch = opts.maxBatch ?? 128;
    this.plan = lower(model);
    this.pixels = inputSize(model.graph);
    this.classes = model.graph.classes;
    const plan = this.plan;
    const limit = opts.maxMemoryBytes ?? MAX_MEMORY_BYTES;
    const guard = opts.debugGuards ? GUARD_BYTES : 0;
    const arena = new Arena(ex.heapBase(), limit, guard);
    /** Regions that never change after load (weights, thresholds, masks), for debugGuards. */
    const immutable: Region[] = [];
    const uses = new Array<number>(plan.values.length).fill(0);
    const viewed = new Set<number>();
    for (const s of plan.steps) for (const i of s.inputs) uses[i]!++;
    for (const v of plan.values) if (v.viewOf !== undefined) viewed.add(v.viewOf);
    const soleUse = (v: number) => uses[v] === 1 && v !== plan.output && v !== plan.input && !viewed.has(v);
    const consumer = (v: number) => plan.steps.findIndex((s) => s.inputs.includes(v));

    // Static data first (its layout depends on nothing else), then the activations.
    const statics: { ptr: number; data: ArrayBufferView }[] = [];
    const put = (data: ArrayBufferView, what: string): number => {
      const ptr = arena.alloc(data.byteLength, what);
      statics.push({ ptr, data });
      immutable.push({ ptr, bytes: data.byteLength, what });
      return ptr;
    };
    const reserve = (bytes: number, what: string) => arena.alloc(bytes, what);
    const aliases = new Map<number, number>();
    const plans: ((ptr: number[]) => Exec)[] = [];
    const fused = new Set<number>();
    /** Outputs of fused calls, written when the call's first step runs. */
    const early: [number, number][] = [];
    const fuse = (next: PlanStep, t: number) => {
      fused.add(plan.steps.indexOf(next));
      early.push([next.output, t]);
    };
    plan.steps.forEach((s, t) => {
      if (fused.has(t)) return;
      const inV = plan.values[s.inputs[0]!]!;
      const outV = plan.values[s.output]!;
      const [inH, inW, cin] = inV.shape;
      const [outH, outW, cout] = outV.shape;
      const what = `layer ${s.layer} (${s.op})`;
      switch (s.op) {
        case 'quantizeU8':
          plans.push((p) => ({ steps: [t], kernel: 'quantizeInputU8', run: (m) => this.ex.quantizeInputU8(p[s.inputs[0]!]!, p[s.output]!, m * inH * inW * cin) }));
          break;
        case 'conv': {
          const w = put(s.weights, what);
          const g = s.g;
          const next = soleUse(s.output) ? plan.steps[consumer(s.output)] : undefined;
          const geo = [inH, inW, cin, cout, g.kh, g.kw, g.sh, g.sw, g.padTop, g.padLeft, outH, outW] as const;
          if (next?.op === 'threshold') {
            // fconv2dThresholdPack sees exactly the sums fconv2d would store.
            fuse(next, t);
            const thr = put(next.thr, what);
            const flip = put(next.flip, what);
            const scratch = reserve(cout * 4, what);
            plans.push((p) => ({ steps: [t, plan.steps.indexOf(next)], kernel: 'fconv2dThresholdPack', run: (m) => this.ex.fconv2dThresholdPack(p[s.inputs[0]!]!, w, thr, flip, p[next.output]!, scratch, m, ...geo) }));
            break;
          }
          const ops = next?.op === 'chain' ? next.ops : [];
          const relu = ops.length === 1 && ops[0]!.kind === 'relu';
          const biasRelu = ops.length === 2 && ops[0]!.kind === 'add' && ops[1]!.kind === 'relu';
          if (next && (relu || biasRelu)) {
            fuse(next, t);
            const out = next.output;
            if (biasRelu) {
              const bias = put(Float32Array.from((ops[0] as { v: Float64Array }).v), what);
              plans.push((p) => ({ steps: [t, plan.steps.indexOf(next)], kernel: 'fconv2dBiasRelu', run: (m) => this.ex.fconv2dBiasRelu(p[s.inputs[0]!]!, w, bias, p[out]!, m, ...geo) }));
            } else plans.push((p) => ({ steps: [t, plan.steps.indexOf(next)], kernel: 'fconv2d', run: (m) => this.ex.fconv2d(p[s.inputs[0]!]!, w, p[out]!, m, ...geo, 1) }));
            break;
          }
          plans.push((p) => ({ steps: [t], kernel: 'fconv2d', run: (m) => this.ex.fconv2d(p[s.inputs[0]!]!, w, p[s.output]!, m, ...geo, 0) }));
          break;
        }
        case 'qconvThreshold': {
          const g = s.g;
          const staging = put(s.weightsI8, what);
          const packedBytes = this.ex.qconv2dPackedWeightBytes(g.kh, g.kw, cin, cout);
          const packed = reserve(packedBytes, what);
          immutable.push({ ptr: packed, bytes: packedBytes, what: `${what} packed weights` });
          const thr = put(s.thr, what);
          const flip = put(s.flip, what);
          const scratch = reserve(cout * 4, what);
          this.afterStatics.push(() => this.ex.qconv2dPackWeights(staging, packed, g.kh, g.kw, cin, cout));
          plans.push((p) => ({ steps: [t], kernel: 'qconv2dThresholdPack', run: (m) => this.ex.qconv2dThresholdPack(p[s.inputs[0]!]!, packed, thr, flip, p[s.output]!, scratch, m, inH, inW, cin, cout, g.kh, g.kw, g.sh, g.sw, g.padTop, g.padLeft, outH, outW) }));
          break;
        }
        case 'bitPad': {
          const { top, bottom, left, right } = s.pads;
          plans.push((p) => ({ steps: [t], kernel: 'bitPad', run: (m) => this.ex.bitPad(p[s.inputs[0]!]!, p[s.output]!, m, inH, inW, wordsPerPixel(cin), top, bottom, left, right) }));
          break;
        }
        case 'bconv': {
          const wpp = wordsPerPixel(cin);
          let weights: number;
          if (s.probabilities) {
            const prob = put(s.probabilities, what);
            weights = reserve(cout * s.kh * s.kw * wpp * 4, what);
            this.resamplers.push(() => this.call('bernoulliPack', () => this.ex.bernoulliPack(prob, cin, cout * s.kh * s.kw, weights, this.rngState)));
          } else weights = put(s.signWords!, what);
          const mask = s.maskWords ? put(s.maskWords, what) : 0;
          const corr = s.correction ? put(s.correction, what) : 0;
          const perImage = outH * outW * cout;
          plans.push((p) => ({
            steps: [t],
            kernel: mask ? 'bconv2dPopcountMasked' : 'bconv2dPopcount',
            run: (m) => {
              if (mask) this.ex.bconv2dPopcountMasked(p[s.inputs[0]!]!, weights, mask, p[s.output]!, m, inH, inW, wpp, cout, s.kh, s.kw, s.sh, s.sw, outH, outW);
              else this.ex.bconv2dPopcount(p[s.inputs[0]!]!, weights, p[s.output]!, m, inH, inW, wpp, cout, s.kh, s.kw, s.sh, s.sw, outH, outW);
              if (corr) this.ex.zeroPadFixI32(p[s.output]!, m, perImage, corr);
            },
          }));
          break;
        }
        case 'dense': {
          const w = put(s.weights, what);
          const fin = inH * inW * cin;
          plans.push((p) => ({ steps: [t], kernel: 'denseF32', run: (m) => this.ex.denseF32(p[s.inputs[0]!]!, w, p[s.output]!, m, fin, cout) }));
          break;
        }
        case 'threshold': {
          const thr = put(s.thr, what);
          const flip = put(s.flip, what);
          const rows = inH * inW;
          if (inV.form === 'f32') plans.push((p) => ({ steps: [t], kernel: 'thresholdPackF32', run: (m) => this.ex.thresholdPackF32(p[s.inputs[0]!]!, m * rows, cin, thr, flip, p[s.output]!) }));
          else plans.push((p) => ({ steps: [t], kernel: 'thresholdPackI32', run: (m) => this.ex.thresholdPackI32(p[s.inputs[0]!]!, m * rows, cin, thr, flip, p[s.output]!) }));
          break;
        }
        case 'bitMaxPool': {
          const mask = put(s.orMask, what);
          const g = s.g;
          plans.push((p) => ({ steps: [t], kernel: 'bitMaxPool2d', run: (m) => this.ex.bitMaxPool2d(p[s.inputs[0]!]!, p[s.output]!, m, inH, inW, wordsPerPixel(cin), g.kh, g.kw, g.sh, g.sw, g.padTop, g.padLeft, outH, outW, mask) }));
          break;
        }
        case 'accToF32': {
          const acc = inV.acc!;
          const mode = acc.mode === 'popcount' ? 0 : 1;
          const n = acc.mode === 'int8' ? 0 : acc.n;
          plans.push((p) => ({ steps: [t], kernel: 'accToF32', run: (m) => this.ex.accToF32(p[s.inputs[0]!]!, m * inH * inW, cin, mode, n, 0, p[s.output]!) }));
          break;
        }
        case 'chain': {
          // Records (code, pointer) and their float32 constants: MUL 1, ADD 2, RELU 3.
          const records = new Int32Array(2 * s.ops.length);
          s.ops.forEach((op, i) => {
            records[2 * i] = op.kind === 'mul' ? 1 : op.kind === 'add' ? 2 : 3;
            records[2 * i + 1] = op.kind === 'relu' ? 0 : put(Float32Array.from(op.v), what);
          });
          const recs = put(records, what);
          const inPlace = soleUse(s.inputs[0]!);
          if (inPlace) aliases.set(s.output, s.inputs[0]!);
          const bytes = valueBytes(outV);
          plans.push((p) => ({
            steps: [t],
            kernel: 'chainF32',
            run: (m) => {
              if (!inPlace) new Uint8Array(this.ex.memory.buffer).copyWithin(p[s.output]!, p[s.inputs[0]!]!, p[s.inputs[0]!]! + m * bytes);
              this.ex.chainF32(p[s.output]!, m * inH * inW, cin, recs, s.ops.length);
            },
          }));
          break;
        }
        case 'maxPool':
        case 'avgPool': {
          const g = s.g;
          const kernel = s.op === 'maxPool' ? 'maxPool2dF32' : 'avgPool2dF32';
          plans.push((p) => ({ steps: [t], kernel, run: (m) => this.ex[kernel](p[s.inputs[0]!]!, p[s.output]!, m, inH, inW, cin, g.kh, g.kw, g.sh, g.sw, g.padTop, g.padLeft, outH, outW) }));
          break;
        }
        case 'globalAvgPool':
          plans.push((p) => ({ steps: [t], kernel: 'globalAvgPool2dF32', run: (m) => this.ex.globalAvgPool2dF32(p[s.inputs[0]!]!, p[s.output]!, m, inH, inW, cin) }));
          break;
        case 'add':
          plans.push((p) => ({ steps: [t], kernel: 'addF32', run: (m) => this.ex.addF32(p[s.inputs[0]!]!, p[s.inputs[1]!]!, p[s.output]!, m * inH * inW * cin) }));
          break;
        case 'flatten':
          break; // a view: same bytes
      }
    });
    this.labelsPtr = reserve(this.maxBatch * 4, 'labels');
    this.rngState = reserve(16, 'sampler state');
    const buffers = placeValues(plan, this.maxBatch, arena.end, aliases, early, { limit, guard });
    this.ptr = [...buffers.ptr];
    // placeValues checked buffers.end ≤ limit ≤ 4 GiB − 64 KiB: no size below can wrap.
    const need = buffers.end - ex.memory.buffer.byteLength;
    if (need > 0) {
      try {
        ex.memory.grow(Math.ceil(need / 65536));
      } catch (e) {
        throw new BnnConfigError('MEMORY_LIMIT', `cannot grow WebAssembly memory to ${buffers.end} bytes for maxBatch ${this.maxBatch}: ${(e as Error).message}`);
      }
    }
    if (opts.debugGuards) {
      this.guards = new Guards(ex.memory, arena.regions, buffers, plan.values.map(valueBytes));
      this.execSpan = [];
    }
    for (const s of statics) this.write(s.ptr, s.data);
    for (const f of this.afterStatics) this.call('qconv2dPackWeights', f);
    this.guards?.freeze(immutable);
    for (const p of plans) {
      const e = p(this.ptr);
      this.execs.push(e);
      const last = plan.steps[e.steps[e.steps.length - 1]!]!;
      this.execSpan?.push({ t0: e.steps[0]!, t1: e.steps[e.steps.length - 1]!, output: last.output });
    }
    this.reseed(opts.seed ?? 0);
  }

  /** debugGuards: the checker, and each exec's steps and output. */
  private readonly guards: Guards | undefined;
  private readonly execSpan: { t0: number; t1: number; output: number }[] | undefined;
  private readonly afterStatics: (() => void)[] = [];

  /**
   * Loads a .bnn onto a fresh kernel instance: its bytes, or a URL to fetch (in Node also a file
   * path or `file:` URL). Throws BnnFileError when it cannot be read (missing, not a regular file,
   * HTTP error) and BnnFormatError for a bad file (refused at its header, before the rest is read).
   */
  static async load(source: Uint8Array | ArrayBuffer | DataView | URL | string, opts: RuntimeOptions = {}): Promise<BnnRuntime> {
    const o = checkOptions(opts);
    const from = typeof source === 'string' || source instanceof URL ? String(source) : undefined;
    const bytes = from !== undefined ? await loadResource(source as URL | string, 'model') : (source as Uint8Array | ArrayBuffer | DataView);
    return BnnRuntime.create(parseBnn(bytes, from !== undefined ? { source: from } : {}), o);
  }

  /**
   * Runs an already decoded model. The model is checked with the reader's rules first (a copy is
   * run: what a .bnn could not hold — a short weight array, NaN, ε ≤ 0 — is a BnnFormatError).
   */
  static async fromModel(model: BnnModel, opts: RuntimeOptions = {}): Promise<BnnRuntime> {
    const o = checkOptions(opts);
    return BnnRuntime.create(checkModel(model), o);
  }

  /** A runtime for a model the reader produced or checked, with checked options. */
  private static async create(model: BnnModel, opts: RuntimeOptions): Promise<BnnRuntime> {
    const simd = opts.simd ?? simdSupported();
    if (simd && !simdSupported()) throw new BnnConfigError('BAD_OPTION', 'simd128 was requested but this WebAssembly engine does not support it');
    const flavor: WasmFlavor = simd ? 'simd' : 'scalar';
    return new BnnRuntime(model, await instantiateKernels(flavor, opts.wasmBase), flavor, opts);
  }

  /** Restarts the stochastic layers' sampler (xoshiro128** seeded by SplitMix32, as util/rng.ts). */
  reseed(seed: number): void {
    if (!Number.isSafeInteger(seed)) throw new BnnConfigError('BAD_OPTION', `seed must be a (safe) integer, got ${String(seed)}`);
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
    const view = this.checkBatch(images, n);
    const out = new Int32Array(n);
    const logits = this.ptr[this.plan.output]!;
    this.run(view, n, (start, m) => {
      this.call('argmaxF32', () => this.ex.argmaxF32(logits, m, this.classes, this.labelsPtr));
      out.set(new Int32Array(this.ex.memory.buffer, this.labelsPtr, m), start);
    });
    return out;
  }

  /** Logits [n][classes]. */
  logits(images: ImageBatch, n: number): Float32Array {
    const classes = this.classes;
    const view = this.checkBatch(images, n);
    const out = new Float32Array(n * classes);
    const logits = this.ptr[this.plan.output]!;
    this.run(view, n, (start, m) => out.set(new Float32Array(this.ex.memory.buffer, logits, m * classes), start * classes));
    return out;
  }

  /**
   * Class probabilities [n][classes]: the softmax of the logits, computed in float64 (the largest
   * logit subtracted first) and stored as float32.
   */
  probabilities(images: ImageBatch, n: number): Float32Array {
    const logits = this.logits(images, n);
    const c = this.classes;
    const out = new Float32Array(logits.length);
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let j = 0; j < c; j++) max = Math.max(max, logits[i * c + j]!);
      let sum = 0;
      for (let j = 0; j < c; j++) sum += Math.exp(logits[i * c + j]! - max);
      for (let j = 0; j < c; j++) out[i * c + j] = Math.exp(logits[i * c + j]! - max) / sum;
    }
    return out;
  }

  /**
   * Every step's output for n ≤ maxBatch images (fused steps report their final output only). Each
   * output is copied right after its kernel runs: the arena reuses a value's memory once no later
   * step reads it, so reading after the whole pass would return what a later step wrote there.
   */
  trace(images: ImageBatch, n: number): StepTrace[] {
    const view = this.checkBatch(images, n);
    if (n > this.maxBatch) throw new BnnInputError('BAD_COUNT', `trace takes at most maxBatch = ${this.maxBatch} images, got ${n}`);
    const traces: StepTrace[] = this.execs.map((e) => {
      const t = e.steps[e.steps.length - 1]!;
      const s = this.plan.steps[t]!;
      const value = this.plan.values[s.output]!;
      const bytes = valueBytes(value) * n;
      const data = value.form === 'f32' ? new Float32Array(bytes / 4) : value.form === 'acc' ? new Int32Array(bytes / 4) : value.form === 'bits' ? new Uint32Array(bytes / 4) : new Uint8Array(bytes);
      return { step: t, op: s.op, layer: s.layer, value, data };
    });
    // Chunks of one image when stochastic weights are resampled per image; one chunk otherwise.
    this.run(view, n, () => {}, (i, start, m) => {
      const { value, data } = traces[i]!;
      const per = data.length / n;
      const p = this.ptr[this.plan.steps[traces[i]!.step]!.output]!;
      const buf = this.ex.memory.buffer;
      const out = value.form === 'f32' ? new Float32Array(buf, p, per * m) : value.form === 'acc' ? new Int32Array(buf, p, per * m) : value.form === 'bits' ? new Uint32Array(buf, p, per * m) : new Uint8Array(buf, p, per * m);
      data.set(out, start * per);
    });
    return traces;
  }

  /**
   * Mean milliseconds per call of each kernel call (and of input copying), over `reps` passes of
   * n ≤ maxBatch images: where the time goes.
   */
  profile(images: ImageBatch, n: number, reps = 10): { layer: string; kind: string; ms: number }[] {
    const view = this.checkBatch(images, n);
    if (n > this.maxBatch) throw new BnnInputError('BAD_COUNT', `profile takes at most maxBatch = ${this.maxBatch} images, got ${n}`);
    if (!Number.isSafeInteger(reps) || reps < 1) throw new BnnConfigError('BAD_OPTION', `reps must be a positive integer, got ${String(reps)}`);
    const totals = new Float64Array(this.execs.length + 1);
    this.timings = totals;
    try {
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        this.run(view, n, () => {});
        totals[this.execs.length]! += performance.now() - t0;
      }
    } finally {
      this.timings = null;
    }
    const stepSum = totals.subarray(0, this.execs.length).reduce((a, b) => a + b, 0);
    return [
      ...this.execs.map((e, i) => ({ layer: this.plan.steps[e.steps[0]!]!.layer, kind: e.kernel, ms: totals[i]! / reps })),
      { layer: 'input + overhead', kind: 'js', ms: (totals[this.execs.length]! - stepSum) / reps },
    ];
  }

  /**
   * Basic operations one image costs (plan.ts planOps): a model states its own graph, so a service
   * running untrusted models checks this against its budget before running one.
   */
  get opsPerImage(): number {
    return planOps(this.plan);
  }

  /** Bytes of linear memory this instance uses. */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /** Releases the instance; later calls throw. */
  dispose(): void {
    this.disposed = true;
  }

  /**
   * The images as a plain view of the memory they really hold (a subclass or Proxy cannot misstate
   * its length or contents: format/views.ts), after checking the count and length.
   */
  private checkBatch(images: ImageBatch, n: number): ImageBatch {
    if (this.disposed) throw new BnnInputError('DISPOSED', 'this runtime was disposed');
    return checkImages(images, n, this.model.graph.input);
  }

  /** Streams n images through the steps in chunks, calling `done` after each. */
  private run(images: ImageBatch, n: number, done: (start: number, m: number) => void, afterExec?: (exec: number, start: number, m: number) => void): void {
    const px = this.pixels;
    const clip = this.opts.inputRange === 'clip';
    const perImage = this.opts.resample === 'per-image' && this.resamplers.length > 0;
    // One sample per call (or per image): independent of how the call is cut into chunks.
    if (!perImage) for (const r of this.resamplers) r();
    const chunk = perImage ? 1 : this.maxBatch;
    const input = this.ptr[this.plan.input]!;
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      if (perImage) for (const r of this.resamplers) r();
      const dst = new Float32Array(this.ex.memory.buffer, input, m * px);
      if (images instanceof Uint8Array) {
        // Any byte / 255 is in [0, 1]: nothing to check.
        for (let i = 0; i < m * px; i++) dst[i] = images[start * px + i]! / 255;
      } else {
        dst.set(images.subarray(start * px, (start + m) * px));
        // Checked on the copy, never the caller's memory (which another thread may change, if
        // shared): a float is in [0, 1] iff its bits are ≤ those of 1.0 as an unsigned integer
        // (NaN, negatives, > 1 are all larger; −0 takes the slow path and passes).
        const bits = new Uint32Array(this.ex.memory.buffer, input, m * px);
        for (let i = 0; i < bits.length; i++) {
          if (bits[i]! <= 0x3f800000) continue;
          const v = dst[i]!;
          if (v >= 0 && v <= 1) continue;
          if (!Number.isFinite(v) || !clip) throw pixelError(start * px + i, px, v);
          dst[i] = v < 0 ? 0 : 1;
        }
      }
      this.forward(m, afterExec && ((i) => afterExec(i, start, m)));
      done(start, m);
    }
  }

  private forward(m: number, afterExec?: (exec: number) => void): void {
    this.execs.forEach((e, i) => {
      const t0 = this.timings ? performance.now() : 0;
      const span = this.execSpan?.[i];
      if (span) this.guards!.enter(span.t0, span.t1, span.output, m);
      this.call(e.kernel, () => e.run(m), span ? { ...span, m } : undefined);
      if (this.timings) this.timings[i]! += performance.now() - t0;
      afterExec?.(i);
    });
  }

  private write(ptr: number, data: ArrayBufferView): void {
    new Uint8Array(this.ex.memory.buffer, ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  private call(kernel: string, f: () => void, exec?: { t0: number; t1: number; output: number; m: number }): void {
    try {
      f();
    } catch (e) {
      throw new BnnRuntimeError(kernel, e);
    }
    this.guards?.check(kernel, exec);
  }
}

/**
 * The images of a predict / logits call, checked: a real Float32Array or Uint8Array (read through
 * the intrinsic getters, so a subclass claiming another length or a Proxy is refused or read as
 * what it is), a positive integer count, and exactly count × H·W·C values. Returns a plain view.
 */
export function checkImages(images: unknown, n: number, [h, w, c]: readonly [number, number, number]): ImageBatch {
  const view = plainImageView(images);
  if (!view) throw new BnnInputError('BAD_TYPE', 'images must be a Float32Array (pixels in [0, 1]) or a Uint8Array (0–255)');
  if (!Number.isSafeInteger(n) || n < 1) throw new BnnInputError('BAD_COUNT', `image count must be a positive integer, got ${String(n)}`);
  const px = h * w * c;
  if (view.length !== n * px) {
    throw new BnnInputError('BAD_LENGTH', `expected ${n} images × ${h}×${w}×${c} = ${n * px} values, got ${view.length}` + (view.length % px === 0 ? ` (${view.length / px} images)` : ''));
  }
  return view;
}
