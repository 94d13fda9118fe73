/**
 * Gradient kernels for 2-D convolution that tfjs-backend-wasm lacks (Conv2DBackpropFilter) or
 * runs slowly (Conv2DBackpropInput: ~820 ms for conv2 of K=64 at batch 128, 12× its forward).
 * Both are rewritten as ordinary forward convolutions, which XNNPACK runs fast:
 *
 * - dW: a dilated convolution with the batch as the channel axis —
 *   dW[kh,kw,ci,co] = Σ_{n,oh,ow} xpad[n, oh·s+kh, ow·s+kw, ci] · dy[n,oh,ow,co]
 *   is conv2d(xpadᵀ[ci,H,W,n], dyᵀ[oh,ow,n,co], stride 1, dilation s).
 * - dX, strided with many input channels (conv2): one matrix product per s×s block of filter
 *   taps. The taps W[a·s + r, b·s + q] (r, q < s) of block (a, b) send the gradient of output
 *   position (i, j) to the s×s input block at (i + a, j + b)·s, so dy[n·oh·ow, co] × W_abᵀ is the
 *   block's whole contribution; a rank-4 transpose interleaves it into image rows and a pad
 *   shifts it into place. Exactly the forward conv's multiply-adds.
 * - dX otherwise: a sub-pixel ("phase") decomposition — for stride s the input pixels with the same
 *   position mod s receive gradient from one s-strided subset of the filter taps, so dX is one
 *   stride-1 convolution of the zero-padded dy with the s² flipped sub-filters stacked along the
 *   output channels, followed by a depth-to-space interleave. It also multiplies dy's zero
 *   padding (twice the work for conv2's 5×5 output), but suits one input channel (conv1).
 *   A conv whose output is 1×1 (conv3) is a plain matrix product.
 * tfjs-backend-wasm's rank-6 transposes and transposed-operand matMuls are slow (hundreds of ms
 * at these sizes); every path here avoids both.
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
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { withKernelScope, type KernelScope } from './kernel_scope.js';

type Conv2DInfo = backend_util.Conv2DInfo;

/** Conv geometry (dilation 1) of an NHWC conv: shared with the native kernels (native_conv.ts). */
export function convInfo(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: { strides: [number, number] | number; pad: Conv2DBackpropInputAttrs['pad']; dataFormat: string; dimRoundingMode?: 'floor' | 'round' | 'ceil' | undefined },
): Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`bnn-edge conv kernels support NHWC only, got ${attrs.dataFormat}`);
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

/**
 * dX algorithms: 'auto' picks the fastest per shape (above); 'phase' is the phase convolution for
 * every strided conv and a weight-transposing product for a 1×1 output — the earlier kernels,
 * kept so that benchmarks and tests can set the two side by side.
 */
export type DxAlgorithm = 'auto' | 'phase';

/** dX by tap-block matrix products, a phase-decomposed convolution, or one matrix product for a 1×1 output. */
export function conv2dBackpropInputAsConv(s: KernelScope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo, algorithm: DxAlgorithm = 'auto'): TensorInfo {
  const { padInfo: p, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { batchSize: n, inHeight: H, inWidth: W, outHeight: oh, outWidth: ow } = info;
  let full: TensorInfo; // gradient w.r.t. the padded input, starting at padded coordinate 0
  let fullH: number;
  let fullW: number;
  if (oh === 1 && ow === 1) {
    // dXpad[n, h, w, c] = Σ_co dy[n, co] · W[h, w, c, co]: one matrix product. Transpose
    // whichever side is smaller: W (kh·kw·ci × co), or dy and the result (n × (co + kh·kw·ci)).
    let m: TensorInfo;
    if (n < co && algorithm === 'auto') {
      const a = s.run('Reshape', { x: filter }, { shape: [1, kh * kw * ci, co] });
      const dyT = s.run('Transpose', { x: s.run('Reshape', { x: dy }, { shape: [n, co] }) }, { perm: [1, 0] });
      const b = s.run('Reshape', { x: dyT }, { shape: [1, co, n] });
      const mT = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false }); // [1, kh·kw·ci, n]
      m = s.run('Transpose', { x: s.run('Reshape', { x: mT }, { shape: [kh * kw * ci, n] }) }, { perm: [1, 0] });
    } else {
      const wT = s.run('Transpose', { x: s.run('Reshape', { x: filter }, { shape: [kh * kw * ci, co] }) }, { perm: [1, 0] });
      const a = s.run('Reshape', { x: dy }, { shape: [1, n, co] });
      const b = s.run('Reshape', { x: wT }, { shape: [1, co, kh * kw * ci] });
      m = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    }
    full = s.run('Reshape', { x: m }, { shape: [n, kh, kw, ci] });
    fullH = kh;
    fullW = kw;
  } else if ((sh > 1 || sw > 1) && ci >= TAP_BLOCK_MIN_CHANNELS && algorithm === 'auto') {
    ({ full, fullH, fullW } = backpropInputByTapBlocks(s, dy, filter, info));
  } else {
    const { w, jh, jw } = filterPaddedToStride(s, filter, info);
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

/**
 * The filter zero-padded to jh·sh × jw·sw taps (jh = ⌈kh/sh⌉), so that it splits into s×s blocks
 * of taps: both strided dX algorithms work on those blocks.
 */
function filterPaddedToStride(s: KernelScope, filter: TensorInfo, info: Conv2DInfo): { w: TensorInfo; jh: number; jw: number } {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const jh = Math.ceil(kh / sh);
  const jw = Math.ceil(kw / sw);
  const w = jh * sh === kh && jw * sw === kw ? filter : s.run('PadV2', { x: filter }, { paddings: [[0, jh * sh - kh], [0, jw * sw - kw], [0, 0], [0, 0]], constantValue: 0 });
  return { w, jh, jw };
}

/** Below this many input channels the phase convolution wins (conv1 has one). */
const TAP_BLOCK_MIN_CHANNELS = 16;

/** The gradient w.r.t. the padded input, one matrix product per s×s block of taps (see above). */
function backpropInputByTapBlocks(s: KernelScope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): { full: TensorInfo; fullH: number; fullW: number } {
  const { strideHeight: sh, strideWidth: sw, inChannels: ci, outChannels: co } = info;
  const { batchSize: n, outHeight: oh, outWidth: ow } = info;
  const { w, jh, jw } = filterPaddedToStride(s, filter, info);
  const fullH = (oh + jh - 1) * sh;
  const fullW = (ow + jw - 1) * sw;
  const a3 = s.run('Reshape', { x: dy }, { shape: [1, n * oh * ow, co] });
  const parts: TensorInfo[] = [];
  for (let a = 0; a < jh; a++) {
    for (let b = 0; b < jw; b++) {
      // W_abᵀ [co, sh·sw·ci], transposed explicitly (a transposed matMul operand is slow).
      const block = s.run('Slice', { x: w }, { begin: [a * sh, b * sw, 0, 0], size: [sh, sw, ci, co] });
      const wT = s.run('Transpose', { x: s.run('Reshape', { x: block }, { shape: [sh * sw * ci, co] }) }, { perm: [1, 0] });
      const b3 = s.run('Reshape', { x: wT }, { shape: [1, co, sh * sw * ci] });
      let c = s.run('BatchMatMul', { a: a3, b: b3 }, { transposeA: false, transposeB: false }); // [1, n·oh·ow, sh·sw·ci]
      // [n·oh, ow, r, q·ci] → [n·oh, r, ow, q·ci] = image rows oh·sh + r, columns ow·sw + q.
      c = s.run('Reshape', { x: c }, { shape: [n * oh, ow, sh, sw * ci] });
      if (sh > 1) c = s.run('Transpose', { x: c }, { perm: [0, 2, 1, 3] });
      c = s.run('Reshape', { x: c }, { shape: [n, oh * sh, ow * sw, ci] });
      parts.push(s.run('PadV2', { x: c }, { paddings: [[0, 0], [a * sh, fullH - oh * sh - a * sh], [b * sw, fullW - ow * sw - b * sw], [0, 0]], constantValue: 0 }));
    }
  }
  return { full: parts.length === 1 ? parts[0]! : s.run('AddN', parts as unknown as NamedTensorInfoMap) /* AddN takes the array itself */, fullH, fullW };
}

function backpropFilterKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropFilterAttrs;
    const info = convInfo(x.shape as [number, number, number, number], a.filterShape, a);
    return withKernelScope(backend as KernelBackend, backendName, (s) => conv2dBackpropFilterAsConv(s, x, dy, info));
  };
}

function backpropInputKernel(backendName: string, algorithm: DxAlgorithm): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropInputAttrs;
    const info = convInfo(a.inputShape, filter.shape as [number, number, number, number], a);
    return withKernelScope(backend as KernelBackend, backendName, (s) => conv2dBackpropInputAsConv(s, dy, filter, info, algorithm));
  };
}

/**
 * Registers both gradient kernels for `backendName` (default "wasm"), replacing the backend's
 * own Conv2DBackpropInput. Idempotent; registering again switches the dX algorithm.
 */
export function registerConvGradKernels(backendName = 'wasm', dx: DxAlgorithm = 'auto'): void {
  const configs: KernelConfig[] = [
    { kernelName: Conv2DBackpropFilter, backendName, kernelFunc: backpropFilterKernel(backendName) },
    { kernelName: Conv2DBackpropInput, backendName, kernelFunc: backpropInputKernel(backendName, dx) },
  ];
  for (const c of configs) {
    if (getKernel(c.kernelName, backendName)) unregisterKernel(c.kernelName, backendName);
    registerKernel(c);
  }
}
