/**
 * runtime — the thing users ship: a .bnn file run by the WebAssembly XNOR-popcount kernels.
 * No tfjs here; everything this folder imports is dependency-free TypeScript.
 *
 *   const rt = await BnnRuntime.load(bytes, { simd: true });
 *   const labels = rt.predict(images, n);   // Int32Array
 *   const logits = rt.logits(images, n);    // Float32Array [n][10]
 */
export { BnnRuntime, type RuntimeOptions, type ImageBatch, type LayerTrace } from './runtime.js';
export { BnnInputError, BnnRuntimeError, type BnnInputErrorCode } from './errors.js';
export { simdSupported, type WasmFlavor } from './wasm.js';
export { planSteps, UnsupportedModelError, type Step, type ConvStep, type DenseStep } from './plan.js';
export { parseBnn, type ParseOptions } from '../format/read.js';
export { BnnFormatError, type BnnFormatErrorCode } from '../format/errors.js';
export { describeModel, type ModelInfo, type LayerInfo } from '../format/info.js';
export type { BnnModel, BnnLayer } from '../format/model.js';
