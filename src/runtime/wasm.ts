/**
 * Finding, compiling and instantiating the kernel module. Two builds of the same AssemblyScript
 * source exist: bnn-simd.wasm (simd128) and bnn-scalar.wasm (for engines without simd128), built
 * into build/ and copied beside the runtime's JavaScript. Compiled modules are cached per build so loading many models is cheap.
 */
import { instantiate } from '@assemblyscript/loader';
import { BnnConfigError } from './errors.js';
import { loadResource } from './resource.js';

export type WasmFlavor = 'simd' | 'scalar';

/** The kernel exports (see assembly/index.ts for their contracts). */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  simdBuild(): number;
  bconv2dPopcount(input: number, weights: number, out: number, n: number, inH: number, inW: number, wpp: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, outH: number, outW: number): void;
  bconv2dPopcountReference(input: number, weights: number, out: number, n: number, inH: number, inW: number, wpp: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, outH: number, outW: number): void;
  bconv2dPopcountScalar(input: number, weights: number, out: number, n: number, inH: number, inW: number, wpp: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, outH: number, outW: number): void;
  bconv2dPopcountSimd(input: number, weights: number, out: number, n: number, inH: number, inW: number, wpp: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, outH: number, outW: number): void;
  bconv2dPopcountMasked(input: number, weights: number, mask: number, out: number, n: number, inH: number, inW: number, wpp: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, outH: number, outW: number): void;
  bconv2dPopcountMaskedReference(input: number, weights: number, mask: number, out: number, n: number, inH: number, inW: number, wpp: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, outH: number, outW: number): void;
  thresholdPackI32(acc: number, m: number, c: number, thr: number, flip: number, out: number): void;
  reluScaleI32(acc: number, m: number, c: number, nValid: number, scale: number, out: number): void;
  biasReluF32(x: number, m: number, c: number, bias: number, relu: number): void;
  fconv2d(input: number, weights: number, out: number, n: number, inH: number, inW: number, cin: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number, relu: number): void;
  fconv2dBiasRelu(input: number, weights: number, bias: number, out: number, n: number, inH: number, inW: number, cin: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  fconv2dThresholdPack(input: number, weights: number, thr: number, flip: number, out: number, scratch: number, n: number, inH: number, inW: number, cin: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  quantizeInputU8(src: number, dst: number, count: number): void;
  qconv2dPackWeights(src: number, dst: number, kh: number, kw: number, cin: number, cout: number): void;
  qconv2dPackedWeightBytes(kh: number, kw: number, cin: number, cout: number): number;
  qconv2dThresholdPack(input: number, weights: number, thr: number, flip: number, out: number, scratch: number, n: number, inH: number, inW: number, cin: number, cout: number, kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  denseF32(x: number, w: number, out: number, m: number, fin: number, fout: number): void;
  argmaxF32(x: number, m: number, c: number, out: number): void;
  bernoulliPack(prob: number, count: number, groups: number, out: number, state: number): void;
  xorPopcountPeak(a: number, b: number, words: number, reps: number): bigint;
  xorPopcountPeakScalar(a: number, b: number, words: number, reps: number): bigint;
  maxPool2dF32(input: number, out: number, n: number, inH: number, inW: number, c: number, poolH: number, poolW: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  avgPool2dF32(input: number, out: number, n: number, inH: number, inW: number, c: number, poolH: number, poolW: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number): void;
  globalAvgPool2dF32(input: number, out: number, n: number, h: number, w: number, c: number): void;
  bitMaxPool2d(input: number, out: number, n: number, inH: number, inW: number, wpp: number, poolH: number, poolW: number, strideH: number, strideW: number, padTop: number, padLeft: number, outH: number, outW: number, orMask: number): void;
  bitPad(input: number, out: number, n: number, inH: number, inW: number, wpp: number, padTop: number, padBottom: number, padLeft: number, padRight: number): void;
  addF32(a: number, b: number, out: number, count: number): void;
  chainF32(x: number, rows: number, c: number, ops: number, nOps: number): void;
  accToF32(acc: number, rows: number, c: number, mode: number, nValid: number, dq: number, out: number): void;
  thresholdPackF32(x: number, rows: number, c: number, thr: number, flip: number, out: number): void;
  zeroPadFixI32(acc: number, n: number, perImage: number, corr: number): void;
}

/**
 * A minimal module that uses simd128 (i32.const 0; i8x16.splat; i8x16.popcnt): it validates
 * exactly when the engine supports simd128.
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62, 0x0b, // code
]);

export function simdSupported(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Where a build lives: beside this module (dist/src/runtime/ in the repository, dist/ in the
 * bnn-edge-runtime package), unless `base` names a directory. The URLs are literal so bundlers
 * that understand `new URL('./x.wasm', import.meta.url)` (webpack 5, Vite, Parcel) ship the file.
 */
function wasmUrl(flavor: WasmFlavor, base?: string | URL): URL | string {
  // A string base may be relative ('/static/' in a page, a directory path in Node): the loader resolves it.
  if (typeof base === 'string') return `${base.endsWith('/') ? base : `${base}/`}bnn-${flavor}.wasm`;
  if (base !== undefined) return new URL(`bnn-${flavor}.wasm`, base.href.endsWith('/') ? base : `${base.href}/`);
  try {
    return flavor === 'simd' ? new URL('./bnn-simd.wasm', import.meta.url) : new URL('./bnn-scalar.wasm', import.meta.url);
  } catch {
    // An IIFE or CommonJS bundle has no import.meta.url: the caller must say where the builds are.
    throw new BnnConfigError('WASM_UNAVAILABLE', `cannot tell where bnn-${flavor}.wasm is (this bundle has no import.meta.url); pass the wasmBase option`);
  }
}

async function compileFrom(url: URL | string): Promise<WebAssembly.Module> {
  return WebAssembly.compile(await loadResource(url, 'wasm'));
}

/** Compiles (once per build and location) the kernel module. */
export function compileKernels(flavor: WasmFlavor, base?: string | URL): Promise<WebAssembly.Module> {
  const key = `${flavor}|${base ?? ''}`;
  let m = compiled.get(key);
  if (!m) {
    m = (async () => {
      const url = wasmUrl(flavor, base);
      try {
        return await compileFrom(url);
      } catch (e) {
        if (e instanceof BnnConfigError) throw e;
        throw new BnnConfigError('WASM_UNAVAILABLE', `cannot load the runtime's WebAssembly from ${String(url)}: ${(e as Error).message}. Serve bnn-simd.wasm and bnn-scalar.wasm beside the runtime, or pass wasmBase (the URL of their directory).`);
      }
    })();
    compiled.set(key, m);
    m.catch(() => compiled.delete(key));
  }
  return m;
}

/** A fresh instance (own memory) of the requested build. */
export async function instantiateKernels(flavor: WasmFlavor, base?: string | URL): Promise<KernelExports> {
  const module = await compileKernels(flavor, base);
  const { exports } = await instantiate<KernelExports & Record<string, unknown>>(module, {});
  return exports as unknown as KernelExports;
}
