/**
 * Finding, compiling and instantiating the kernel module. Two builds of the same AssemblyScript
 * source exist: build/bnn-simd.wasm (simd128) and build/bnn-scalar.wasm (for engines without
 * simd128). Compiled modules are cached per build so loading many models is cheap.
 */
import { instantiate } from '@assemblyscript/loader';

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
 * Where a build may live: beside this module (the standalone bundle, dist/runtime/) or in the
 * package's build/ folder (running from dist/src/runtime/). `base` overrides both.
 */
function candidates(flavor: WasmFlavor, base?: string | URL): URL[] {
  const file = `bnn-${flavor}.wasm`;
  if (base !== undefined) return [new URL(file, base)];
  return [new URL(`./${file}`, import.meta.url), new URL(`../../../build/${file}`, import.meta.url)];
}

async function compileFrom(url: URL): Promise<WebAssembly.Module> {
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return WebAssembly.compile(await readFile(url));
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  // Streaming compilation needs the application/wasm content type; fall back to bytes.
  if (typeof WebAssembly.compileStreaming === 'function' && res.headers.get('content-type')?.startsWith('application/wasm')) return WebAssembly.compileStreaming(res);
  return WebAssembly.compile(await res.arrayBuffer());
}

/** Compiles (once per build and location) the kernel module. */
export function compileKernels(flavor: WasmFlavor, base?: string | URL): Promise<WebAssembly.Module> {
  const key = `${flavor}|${base ?? ''}`;
  let m = compiled.get(key);
  if (!m) {
    m = (async () => {
      const errors: string[] = [];
      for (const url of candidates(flavor, base)) {
        try {
          return await compileFrom(url);
        } catch (e) {
          errors.push(`${url.href}: ${(e as Error).message}`);
        }
      }
      throw new Error(`cannot load the runtime's WebAssembly (bnn-${flavor}.wasm); tried ${errors.join('; ')}. Run \`npm run build\` or pass wasmBase.`);
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
