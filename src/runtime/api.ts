/**
 * The runtime's public API, shared by its two entries: index.ts (Node: also reads files) and
 * browser.ts (fetch only, no Node import), bundled as the bnn-edge-runtime package.
 *
 *   const rt = await BnnRuntime.load(bytes | url | path, { simd: true });
 *   const labels = rt.predict(images, n);          // Int32Array
 *   const logits = rt.logits(images, n);           // Float32Array [n][classes]
 *   const p = rt.probabilities(images, n);         // softmax, [n][classes]
 */
export { BnnRuntime, type RuntimeOptions, type ImageBatch, type StepTrace } from './runtime.js';
export { BnnInputError, BnnRuntimeError, BnnConfigError, type BnnInputErrorCode, type BnnConfigErrorCode } from './errors.js';
export { simdSupported, type WasmFlavor } from './wasm.js';
export { setResourceLoader, type ResourceLoader, type ResourceKind } from './resource.js';
export {
  lower, describePlan, UnsupportedModelError, type ExecutionPlan, type PlanStep, type PlanValue, type StepBase, type ValueForm, type AccMeaning, type Geometry2d,
  type QuantizeU8Step, type ConvStep, type QconvThresholdStep, type BitPadStep, type BconvStep, type DenseStep, type ThresholdStep, type BitMaxPoolStep,
  type AccToF32Step, type ChainStep, type PoolStep, type GlobalAvgPoolStep, type AddStep, type FlattenStep,
} from '../model/lower.js';
export { parseBnn, type ParseOptions } from '../format/read.js';
export { BnnFormatError, BnnFileError, type BnnFormatErrorCode, type BnnFileErrorCode } from '../format/errors.js';
export { describeModel, type ModelInfo, type LayerInfo } from '../format/info.js';
export type { BnnModel, LayerTensors } from '../format/model.js';
export type { ModelGraph, Layer, Shape3 } from '../model/graph.js';
