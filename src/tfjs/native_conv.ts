/**
 * The optional native convolution kernels (native/conv_blas.c: im2col + OpenBLAS sgemm),
 * registered into tfjs-backend-wasm in place of its Conv2D and of the gradient kernels in
 * conv_grad_kernels.ts. They read and write the wasm heap directly, so no tensor is copied.
 *
 * Built by `npm run build` when a C compiler and libopenblas-dev are present; absent, or with
 * BNN_EDGE_NATIVE=0, everything runs on WebAssembly as before. Convolutions they do not cover
 * (NCHW, dilation > 1) go to the kernel they replaced. Parity with the CPU backend is tested for
 * every conv shape the models use, like the WebAssembly kernels.
 */
import { createRequire } from 'node:module';
import {
  type backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  getKernel,
  registerKernel,
  unregisterKernel,
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convInfo } from './conv_grad_kernels.js';

/** The addon's entry points: (a, b, out, geometry) as documented in native/conv_blas.c. */
export interface NativeConvModule {
  conv2dForward(x: Float32Array, w: Float32Array, y: Float32Array, geometry: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geometry: Int32Array): void;
}

let loaded: { module: NativeConvModule | null; why: string } | undefined;

/** The addon, or null with the reason it is not in use. Loaded once per thread. */
export function nativeConv(): { module: NativeConvModule | null; why: string } {
  if (loaded) return loaded;
  if (process.env['BNN_EDGE_NATIVE'] === '0') return (loaded = { module: null, why: 'disabled by BNN_EDGE_NATIVE=0' });
  try {
    // dist/src/tfjs/ → the package root's build/ (where native/build.mjs writes it).
    const module = createRequire(import.meta.url)('../../../build/bnn-native.node') as NativeConvModule;
    loaded = { module, why: 'OpenBLAS' };
  } catch (e) {
    loaded = { module: null, why: `build/bnn-native.node did not load (${(e as Error).message.split('\n')[0]}); run npm run build with libopenblas-dev installed` };
  }
  return loaded;
}

type Shape4 = [number, number, number, number];

function geometry(info: backend_util.Conv2DInfo): Int32Array {
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, outChannels, strideHeight, strideWidth, padInfo, outHeight, outWidth } = info;
  return Int32Array.of(batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, outChannels, strideHeight, strideWidth, padInfo.top, padInfo.left, outHeight, outWidth);
}

const isUnitDilation = (d: number | [number, number] | undefined): boolean => d === undefined || d === 1 || (Array.isArray(d) && d[0] === 1 && d[1] === 1);

/**
 * Allocates the output first (allocation may grow the wasm heap and detach earlier views), then
 * hands the addon views of the inputs and the output.
 */
function runNative(backend: BackendWasm, shape: number[], inputs: [TensorInfo, TensorInfo], geom: Int32Array, call: (a: Float32Array, b: Float32Array, out: Float32Array, g: Int32Array) => void): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  const outView = backend.typedArrayFromHeap(out) as Float32Array;
  if (outView.length === 0) return out;
  const [a, b] = inputs.map((t) => backend.typedArrayFromHeap(t) as Float32Array) as [Float32Array, Float32Array];
  // An empty input (an empty batch, say) leaves every output a sum over nothing.
  if (a.length === 0 || b.length === 0) outView.fill(0);
  else call(a, b, outView, geom);
  return out;
}

function forwardKernel(native: NativeConvModule, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as Conv2DAttrs;
    if (a.dataFormat !== 'NHWC' || !isUnitDilation(a.dilations) || x.dtype !== 'float32' || filter.dtype !== 'float32') return fallback(args);
    const info = convInfo(x.shape as Shape4, filter.shape as Shape4, a);
    return runNative(args.backend as BackendWasm, info.outShape, [x, filter], geometry(info), native.conv2dForward);
  };
}

function backpropInputKernel(native: NativeConvModule, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as Conv2DBackpropInputAttrs;
    if (a.dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return fallback(args);
    const info = convInfo(a.inputShape, filter.shape as Shape4, a);
    return runNative(args.backend as BackendWasm, [...a.inputShape], [dy, filter], geometry(info), native.conv2dBackpropInput);
  };
}

function backpropFilterKernel(native: NativeConvModule, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as Conv2DBackpropFilterAttrs;
    if (a.dataFormat !== 'NHWC' || x.dtype !== 'float32' || dy.dtype !== 'float32') return fallback(args);
    const info = convInfo(x.shape as Shape4, a.filterShape, a);
    return runNative(args.backend as BackendWasm, [...a.filterShape], [x, dy], geometry(info), native.conv2dBackpropFilter);
  };
}

/** Each native kernel function → the kernel it replaced (and falls back to). */
const replaced = new WeakMap<KernelFunc, KernelFunc>();

/**
 * Replaces `backendName`'s Conv2D and conv gradient kernels with the native ones, keeping the
 * replaced kernels as fallbacks. Returns false (and changes nothing) when the addon is absent.
 * Idempotent.
 */
export function registerNativeConvKernels(backendName = 'wasm'): boolean {
  const { module } = nativeConv();
  if (!module) return false;
  const wrap: Array<[string, (n: NativeConvModule, f: KernelFunc) => KernelFunc]> = [
    [Conv2D, forwardKernel],
    [Conv2DBackpropInput, backpropInputKernel],
    [Conv2DBackpropFilter, backpropFilterKernel],
  ];
  for (const [kernelName, make] of wrap) {
    const current = getKernel(kernelName, backendName);
    if (!current) throw new Error(`tfjs backend ${backendName} has no ${kernelName} kernel to wrap`);
    if (replaced.has(current.kernelFunc)) continue;
    const kernelFunc = make(module, current.kernelFunc);
    replaced.set(kernelFunc, current.kernelFunc);
    const config: KernelConfig = { kernelName, backendName, kernelFunc, setupFunc: current.setupFunc, disposeFunc: current.disposeFunc };
    unregisterKernel(kernelName, backendName);
    registerKernel(config);
  }
  return true;
}

/** Puts back the kernels registerNativeConvKernels replaced (benchmarks and parity tests). */
export function unregisterNativeConvKernels(backendName = 'wasm'): void {
  for (const kernelName of [Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter]) {
    const current = getKernel(kernelName, backendName);
    const original = current && replaced.get(current.kernelFunc);
    if (!current || !original) continue;
    unregisterKernel(kernelName, backendName);
    registerKernel({ ...current, kernelFunc: original });
  }
}
