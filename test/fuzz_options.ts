/**
 * The runtime's options and call arguments as a fuzz target: the input bytes are read as choices
 * (like libFuzzer's FuzzedDataProvider) — an options object with values of every type (getters that
 * change their answer or throw included), images of every kind (typed arrays of the wrong type,
 * subclasses that lie about their length, Proxies, shared and detached memory, NaN, −0, values
 * outside [0, 1]), an image count, and a call (predict, logits, probabilities, trace, profile).
 * Expected: a BnnConfigError or BnnInputError — or, when everything is valid, exactly the result a
 * runtime with default options computes on the same pixels (options that are not supposed to
 * change results do not).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FuzzTarget } from './fuzz_targets.js';

/** Reads choices from the fuzzer's bytes; once they run out, every choice is 0. */
export class ByteSource {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  byte(): number {
    return this.at < this.bytes.length ? this.bytes[this.at++]! : 0;
  }
  int(max: number): number {
    const v = this.byte() | (this.byte() << 8);
    return max <= 0 ? 0 : v % (max + 1);
  }
  bool(): boolean {
    return (this.byte() & 1) === 1;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.byte() % items.length]!;
  }
}

const MODEL_FILES = ['paper-c8.bnn', 'residual.bnn', 'int8.bnn', 'ties.bnn', 'stochastic.bnn'];
const NUMBERS = [0, 1, -1, 2, 3, 8, 128, 1.5, -0, NaN, Infinity, -Infinity, 65536, 65537, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, 1 << 16, 1 << 20, 1 << 30, 4294901760];
const STRINGS = ['', 'no', 'yes', 'per-call', 'per-image', 'bogus', 'clip', 'reject', 'true', '8', 'http://x/', '/tmp'];

/** An arbitrary value, of any type. */
function anyValue(src: ByteSource): unknown {
  switch (src.byte() % 10) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return src.bool();
    case 3:
    case 4:
      return src.pick(NUMBERS);
    case 5:
      return src.pick(STRINGS);
    case 6:
      return src.pick([{}, [], [1], () => 1, Symbol('s'), 10n, new URL('http://127.0.0.1:9/'), new Date(0)]);
    case 7:
      return src.int(70000);
    default:
      return src.byte() - 128;
  }
}

const KEYS = ['simd', 'maxBatch', 'seed', 'resample', 'inputRange', 'maxMemoryBytes', 'debugGuards', 'wasmBase', 'unknownKey', 'maxbatch'];

/** A value of the option's own type and range (so that most runs get past the checks). */
function validValue(k: string, src: ByteSource): unknown {
  switch (k) {
    case 'simd':
    case 'debugGuards':
      return src.bool();
    case 'maxBatch':
      return src.pick([1, 2, 3, 8, 128, 65536]);
    case 'seed':
      return src.int(1000) - 500;
    case 'resample':
      return src.pick(['per-call', 'per-image']);
    case 'inputRange':
      return src.pick(['reject', 'clip']);
    case 'maxMemoryBytes':
      return src.pick([1 << 16, 1 << 20, 1 << 24, 1 << 28]);
    default:
      return anyValue(src);
  }
}

/** Either a plain value, or a getter answering differently on each read, or one that throws. */
function optionsFrom(src: ByteSource): unknown {
  const kind = src.byte() % 16;
  if (kind === 0) return src.pick([null, 5, 'opts', [], undefined]);
  const o: Record<string, unknown> = {};
  for (const k of KEYS) {
    const mode = src.byte() % 8;
    if (mode < 4) continue;
    if (k === 'wasmBase' && mode !== 7) continue; // a real wasmBase would fetch
    if (mode === 7 && src.bool()) {
      const first = anyValue(src);
      const later = anyValue(src);
      const throws = src.bool();
      let reads = 0;
      Object.defineProperty(o, k, {
        enumerable: true,
        get() {
          if (throws && reads > 0) throw new Error('getter failed');
          return reads++ === 0 ? first : later;
        },
      });
    } else o[k] = mode === 6 ? anyValue(src) : validValue(k, src);
  }
  return o;
}

interface Images {
  readonly value: unknown;
  /** The pixels the runtime should see (floats in [0, 1], or bytes), when the value is valid. */
  readonly pixels: Float32Array | Uint8Array | null;
}

function imagesFrom(src: ByteSource, px: number, wantN: number): Images {
  const kind = src.byte() % 12;
  const count = [wantN * px, wantN * px, wantN * px, wantN * px + 1, Math.max(0, wantN * px - 1), 0][src.byte() % 6]!;
  const f = new Float32Array(count);
  for (let i = 0; i < count; i++) f[i] = ((i * 31 + 7) % 256) / 255;
  // Special values at a few positions.
  for (let k = src.byte() % 4; k > 0 && count > 0; k--) f[src.int(count - 1)] = src.pick([NaN, -0, -1e-30, 1.0000001, 2, -1, Infinity, 1, 0]);
  const u8 = Uint8Array.from(f, (v) => (Number.isFinite(v) ? Math.round(Math.min(1, Math.max(0, v)) * 255) : 0));
  class Liar extends Float32Array {
    override get length(): number {
      return wantN * px;
    }
  }
  switch (kind) {
    case 0:
    case 1:
    case 2:
      return { value: f, pixels: f };
    case 3:
      return { value: u8, pixels: u8 };
    case 4: {
      const liar = new Liar(Math.max(0, count - px));
      liar.set(f.subarray(0, Math.max(0, count - px)));
      return { value: liar, pixels: null };
    }
    case 5:
      return { value: new Proxy(f, {}), pixels: null };
    case 6: {
      const shared = new Float32Array(new SharedArrayBuffer(count * 4));
      shared.set(f);
      return { value: shared, pixels: f };
    }
    case 7: {
      const d = new Float32Array(count);
      structuredClone(d.buffer, { transfer: [d.buffer] });
      return { value: d, pixels: null };
    }
    case 8:
      return { value: Float64Array.from(f), pixels: null };
    case 9:
      return { value: Array.from(f), pixels: null };
    case 10:
      return { value: new DataView(f.buffer), pixels: null };
    default:
      return { value: src.pick([null, undefined, 7, 'img', {}, new Uint8ClampedArray(count)]), pixels: null };
  }
}

/** The pixels the runtime computes on, after clipping (or null where it must reject them). */
function effective(pixels: Float32Array | Uint8Array, clip: boolean): Float32Array | Uint8Array | null {
  if (pixels instanceof Uint8Array) return pixels;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (!Number.isFinite(v)) return null;
    if (v < 0 || v > 1) {
      if (!clip) return null;
      out[i] = v < 0 ? 0 : 1;
    } else out[i] = v;
  }
  return out;
}

export const optionsTarget = async (): Promise<FuzzTarget> => {
  const { BnnRuntime, BnnConfigError, BnnInputError } = await import('../src/runtime/index.js');
  const { FuzzFailure } = await import('./fuzz_targets.js');
  const dir = fileURLToPath(new URL('../../test/conformance/', import.meta.url));
  const models = MODEL_FILES.map((f) => new Uint8Array(readFileSync(dir + f)));
  const inputs = await Promise.all(models.map(async (m) => (await BnnRuntime.load(m)).model.graph.input));
  const typed = (e: unknown) => e instanceof BnnConfigError || e instanceof BnnInputError;
  const refs: Awaited<ReturnType<typeof BnnRuntime.load>>[] = [];
  return {
    name: 'options',
    description: 'runtime options and call arguments (any type, lying subclasses, Proxies, shared/detached memory, NaN, getters): BnnConfigError / BnnInputError, or the default runtime\'s result',
    seeds: () => [new Uint8Array(64), new Uint8Array(64).fill(0xff), Uint8Array.from({ length: 96 }, (_, i) => (i * 7) % 256)],
    maxLen: 512,
    coverageFiles: ['dist/src/runtime/options.js', 'dist/src/runtime/runtime.js', 'dist/src/format/views.js'],
    async run(input) {
      const src = new ByteSource(input);
      const m = src.byte() % models.length;
      const opts = optionsFrom(src);
      const [h, w, c] = inputs[m]!;
      const px = h * w * c;
      const wantN = 1 + (src.byte() % 3);
      const n = src.pick([wantN, wantN, wantN, 0, -1, 1.5, NaN, wantN + 1, 2 ** 40]);
      const images = imagesFrom(src, px, wantN);
      const call = src.pick(['predict', 'logits', 'probabilities', 'trace', 'profile'] as const);
      const reps = src.pick([1, 2, 0, -1, 1.5, NaN]);
      let rt;
      try {
        rt = await BnnRuntime.load(models[m]!, opts as never);
      } catch (e) {
        if (typed(e)) return `load:${(e as { code: string }).code}`;
        throw e;
      }
      let result: unknown;
      try {
        result = call === 'profile' ? rt.profile(images.value as Float32Array, n, reps) : rt[call](images.value as Float32Array, n);
      } catch (e) {
        if (typed(e)) return `${call}:${(e as { code: string }).code}`;
        throw e;
      }
      if (call === 'trace' || call === 'profile') return `${call}:ok`;
      // It ran: the input must have been valid, and the result the default runtime's.
      // The options the runtime checked and kept (read once: a getter's later answers do not count).
      const o = (rt as unknown as { opts: { seed?: number; resample?: 'per-call' | 'per-image'; inputRange?: string } }).opts;
      const used = images.pixels && effective(images.pixels, o.inputRange === 'clip');
      if (!used || used.length !== n * px) throw new FuzzFailure(`${call} accepted invalid images (n ${n}, ${images.pixels ? 'pixels out of range' : 'a value that is not real image memory'})`);
      // A deterministic model's reference runtime is reused; a stochastic one's is fresh (its first call, like rt's).
      const stochastic = rt.plan.steps.some((s) => s.op === 'bconv' && s.probabilities);
      const ref = stochastic ? await BnnRuntime.load(models[m]!, { ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.resample ? { resample: o.resample } : {}) }) : (refs[m] ??= await BnnRuntime.load(models[m]!));
      const want = ref[call](used, n);
      const got = result as Float32Array | Int32Array;
      if (got.length !== want.length || got.some((v, i) => !Object.is(v, want[i]))) throw new FuzzFailure(`${call} with options ${JSON.stringify(o)} differs from the default runtime's result`);
      return `${call}:ok`;
    },
  };
};
