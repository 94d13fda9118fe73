/**
 * Gradient kernels for 2-D convolution that tfjs-backend-wasm lacks (Conv2DBackpropFilter) or
 * runs slowly (Conv2DBackpropInput: ~820 ms for conv2 of K=64 at batch 128, 12× its forward).
 * Both are rewritten as ordinary forward convolutions, which XNNPACK runs fast:
 *
 * - dW: a dilated convolution with the batch as the channel axis —
 *   dW[kh,kw,ci,co] = Σ_{n,oh,ow} xpad[n, oh·s+kh, ow·s+kw, ci] · dy[n,oh,ow,co]
 *   is conv2d(xpadᵀ[ci,H,W,n], dyᵀ[oh,ow,n,co], stride 1, dilation s).
 * - dX: a sub-pixel ("phase") decomposition — for stride s the input pixels with the same
 *   position mod s receive gradient from one s-strided subset of the filter taps, so dX is one
 *   stride-1 convolution of the zero-padded dy with the s² flipped sub-filters stacked along the
 *   output channels, followed by a depth-to-space interleave. No zero-inserted dy, no waste
 *   beyond the border padding. A conv whose output is 1×1 (conv3) is a plain matrix product.
 *
 * Only NHWC and dilation 1 are supported (tfjs computes no conv gradients for dilation > 1).
 * Parity with the reference CPU backend is tested for every conv shape the models use.
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  getKernel,
  registerKernel,
  unregisterKernel,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { withKernelScope, type KernelScope } from './kernel_scope.js';

type Conv2DInfo = backend_util.Conv2DInfo;

function convInfo(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: { strides: [number, number] | number; pad: Conv2DBackpropInputAttrs['pad']; dataFormat: string; dimRoundingMode?: 'floor' | 'round' | 'ceil' | undefined },
): Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`conv gradient kernels support NHWC only, got ${attrs.dataFormat}`);
  return backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}

/** dW by a dilated forward convolution with the batch as the channel axis. */
export function conv2dBackpropFilterAsConv(s: KernelScope, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { padInfo: p, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  let xp = x;
  if (p.top || p.bottom || p.left || p.right) {
    xp = s.run('PadV2', { x }, { paddings: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]], constantValue: 0 });
  }
  const xT = s.run('Transpose', { x: xp }, { perm: [3, 1, 2, 0] }); // [ci, Hp, Wp, n]
  const dyT = s.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, n, co]
  let r = s.run('Conv2D', { x: xT, filter: dyT }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [sh, sw] });
  // [ci, Hp-(oh-1)sh, Wp-(ow-1)sw, co]; rows past the last tap (when (Hp-kh) % s ≠ 0) are dropped.
  if (r.shape[1] !== kh || r.shape[2] !== kw) r = s.run('Slice', { x: r }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
  return s.run('Transpose', { x: r }, { perm: [1, 2, 0, 3] });
}

/** dX by a phase-decomposed forward convolution (or a matrix product for a 1×1 output). */
export function conv2dBackpropInputAsConv(s: KernelScope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { padInfo: p, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { batchSize: n, inHeight: H, inWidth: W, outHeight: oh, outWidth: ow } = info;
  let full: TensorInfo; // gradient w.r.t. the padded input, starting at padded coordinate 0
  let fullH: number;
  let fullW: number;
  if (oh === 1 && ow === 1) {
    // dXpad[n, h, w, c] = Σ_co dy[n, co] · W[h, w, c, co]: one matrix product with Wᵀ.
    const w2 = s.run('Reshape', { x: filter }, { shape: [kh * kw * ci, co] });
    const wT = s.run('Transpose', { x: w2 }, { perm: [1, 0] });
    const a = s.run('Reshape', { x: dy }, { shape: [1, n, co] });
    const b = s.run('Reshape', { x: wT }, { shape: [1, co, kh * kw * ci] });
    const m = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    full = s.run('Reshape', { x: m }, { shape: [n, kh, kw, ci] });
    fullH = kh;
    fullW = kw;
  } else {
    const jh = Math.ceil(kh / sh);
    const jw = Math.ceil(kw / sw);
    let w = filter;
    if (jh * sh !== kh || jw * sw !== kw) {
      w = s.run('PadV2', { x: filter }, { paddings: [[0, jh * sh - kh], [0, jw * sw - kw], [0, 0], [0, 0]], constantValue: 0 });
    }
    // Sub-filter of phase (rh, rw), tap (j, k) is W[j·sh + rh, k·sw + rw]; flip the taps, swap
    // in/out channels, and stack the s² phases on the output-channel axis.
    let kr = s.run('Reshape', { x: w }, { shape: [jh, sh, jw, sw, ci, co] });
    kr = s.run('Reverse', { x: kr }, { dims: [0, 2] });
    kr = s.run('Transpose', { x: kr }, { perm: [0, 2, 5, 1, 3, 4] }); // [jh, jw, co, sh, sw, ci]
    kr = s.run('Reshape', { x: kr }, { shape: [jh, jw, co, sh * sw * ci] });
    const dyp = s.run('PadV2', { x: dy }, { paddings: [[0, 0], [jh - 1, jh - 1], [jw - 1, jw - 1], [0, 0]], constantValue: 0 });
    const mh = oh + jh - 1;
    const mw = ow + jw - 1;
    let o = s.run('Conv2D', { x: dyp, filter: kr }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] });
    if (sh === 1 && sw === 1) {
      full = o;
    } else {
      o = s.run('Reshape', { x: o }, { shape: [n, mh, mw, sh, sw, ci] });
      o = s.run('Transpose', { x: o }, { perm: [0, 1, 3, 2, 4, 5] }); // [n, mh, sh, mw, sw, ci]
      full = s.run('Reshape', { x: o }, { shape: [n, mh * sh, mw * sw, ci] });
    }
    fullH = mh * sh;
    fullW = mw * sw;
  }
  // Keep padded rows/cols [top, top+H) × [left, left+W); rows beyond the last tap get zeros.
  const needH = p.top + H;
  const needW = p.left + W;
  if (needH > fullH || needW > fullW) {
    full = s.run('PadV2', { x: full }, { paddings: [[0, 0], [0, Math.max(0, needH - fullH)], [0, Math.max(0, needW - fullW)], [0, 0]], constantValue: 0 });
  }
  if (p.top === 0 && p.left === 0 && H === Math.max(fullH, needH) && W === Math.max(fullW, needW)) return full;
  return s.run('Slice', { x: full }, { begin: [0, p.top, p.left, 0], size: [n, H, W, ci] });
}

function backpropFilterKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropFilterAttrs;
    const info = convInfo(x.shape as [number, number, number, number], a.filterShape, a);
    return withKernelScope(backend as KernelBackend, backendName, (s) => conv2dBackpropFilterAsConv(s, x, dy, info));
  };
}

function backpropInputKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropInputAttrs;
    const info = convInfo(a.inputShape, filter.shape as [number, number, number, number], a);
    return withKernelScope(backend as KernelBackend, backendName, (s) => conv2dBackpropInputAsConv(s, dy, filter, info));
  };
}

/**
 * Registers both gradient kernels for `backendName` (default "wasm"), replacing the backend's
 * own Conv2DBackpropInput. Idempotent.
 */
export function registerConvGradKernels(backendName = 'wasm'): void {
  const configs: KernelConfig[] = [
    { kernelName: Conv2DBackpropFilter, backendName, kernelFunc: backpropFilterKernel(backendName) },
    { kernelName: Conv2DBackpropInput, backendName, kernelFunc: backpropInputKernel(backendName) },
  ];
  for (const c of configs) {
    if (getKernel(c.kernelName, backendName)) unregisterKernel(c.kernelName, backendName);
    registerKernel(c);
  }
}
