/** The runtime's options and their checks: every option is validated, never coerced. */
import { BnnConfigError } from './errors.js';
import { WASM_MEMORY_LIMIT } from './plan.js';

export interface RuntimeOptions {
  /** Use the simd128 build (default: when the engine supports it). false forces the scalar build. */
  readonly simd?: boolean;
  /** Images per kernel pass (1–65536); larger batches are streamed in chunks of this size. Default 128. */
  readonly maxBatch?: number;
  /** Seed of the stochastic layers' weight sampling (default 0). */
  readonly seed?: number;
  /**
   * Stochastic layers: draw new weights once per call — every image of a predict/logits call sees
   * the same sample, whatever maxBatch (default) — or for every image.
   */
  readonly resample?: 'per-call' | 'per-image';
  /** Pixels outside [0, 1]: reject with an error (default) or clip. NaN/Infinity are always rejected. */
  readonly inputRange?: 'reject' | 'clip';
  /** Directory (URL) holding bnn-simd.wasm and bnn-scalar.wasm, if not beside the runtime. */
  readonly wasmBase?: string | URL;
  /**
   * Most bytes of WebAssembly memory the instance may use (weights, thresholds and the buffers of
   * maxBatch images); a model or maxBatch needing more is refused with BnnConfigError
   * MEMORY_LIMIT before anything is allocated. Default (and most): 4 GiB − 64 KiB. A model file
   * states its own image size and graph, so a service loading untrusted models sets this.
   */
  readonly maxMemoryBytes?: number;
  /**
   * Debugging: put guard words after every buffer in linear memory and check them — and that the
   * weights did not change — after every kernel call (BnnRuntimeError naming the kernel and the
   * buffer if not). Slow; off by default.
   */
  readonly debugGuards?: boolean;
}

/**
 * Largest linear memory the runtime plans for: wasm32's 4 GiB less one page, so that no buffer
 * ends at 2^32 (an end pointer that would wrap to 0 in the kernels' 32-bit arithmetic).
 */
export const MAX_MEMORY_BYTES = WASM_MEMORY_LIMIT - 65536;

const KNOWN = new Set(['simd', 'maxBatch', 'seed', 'resample', 'inputRange', 'wasmBase', 'maxMemoryBytes', 'debugGuards']);

/**
 * The options, read once each into a frozen plain object (a getter cannot answer the check one
 * way and the runtime another) and checked: BnnConfigError BAD_OPTION for any that is not exactly
 * of its type and range. Keys the runtime does not know are left out (callers pass option objects
 * of their own that include these).
 */
export function checkOptions(opts: unknown): RuntimeOptions {
  const bad = (msg: string): never => {
    throw new BnnConfigError('BAD_OPTION', msg);
  };
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) bad(`options must be an object, got ${opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts}`);
  const o: Record<string, unknown> = {};
  try {
    for (const k of KNOWN) {
      const v = (opts as Record<string, unknown>)[k];
      if (v !== undefined) o[k] = v;
    }
  } catch (e) {
    bad(`options could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { simd, maxBatch, seed, resample, inputRange, wasmBase, maxMemoryBytes, debugGuards } = o;
  const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? 'an object' : String(v));
  if (simd !== undefined && typeof simd !== 'boolean') bad(`simd must be true or false, got ${show(simd)}`);
  if (maxBatch !== undefined && !(Number.isInteger(maxBatch) && (maxBatch as number) >= 1 && (maxBatch as number) <= 65536)) bad(`maxBatch must be an integer in 1..65536, got ${show(maxBatch)}`);
  if (seed !== undefined && !Number.isSafeInteger(seed)) bad(`seed must be a (safe) integer, got ${show(seed)}`);
  if (resample !== undefined && resample !== 'per-call' && resample !== 'per-image') bad(`resample must be 'per-call' or 'per-image', got ${show(resample)}`);
  if (inputRange !== undefined && inputRange !== 'reject' && inputRange !== 'clip') bad(`inputRange must be 'reject' or 'clip', got ${show(inputRange)}`);
  if (wasmBase !== undefined && typeof wasmBase !== 'string' && !(wasmBase instanceof URL)) bad(`wasmBase must be a string or a URL, got ${show(wasmBase)}`);
  if (maxMemoryBytes !== undefined && !(Number.isSafeInteger(maxMemoryBytes) && (maxMemoryBytes as number) >= 65536 && (maxMemoryBytes as number) <= MAX_MEMORY_BYTES)) bad(`maxMemoryBytes must be an integer in 65536..${MAX_MEMORY_BYTES}, got ${show(maxMemoryBytes)}`);
  if (debugGuards !== undefined && typeof debugGuards !== 'boolean') bad(`debugGuards must be true or false, got ${show(debugGuards)}`);
  return Object.freeze(o) as RuntimeOptions;
}
