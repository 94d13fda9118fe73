/** Sizes of a decoded model, per layer and in total, against the same model in float32. */
import { describeLayer, inferShapes, type Shape3 } from '../model/graph.js';
import { paramInfos } from '../model/params.js';
import { paperModelOf } from '../model/presets.js';
import { popcount32 } from './bits.js';
import { layerPayloadBytes, type BnnModel } from './model.js';

export interface LayerInfo {
  readonly name: string;
  readonly kind: string;
  /** Options in short (`3×3/1 valid in:ste_sign w:ste_sign`). */
  readonly detail: string;
  readonly inputs: readonly string[];
  readonly input: Shape3;
  readonly output: Shape3;
  /** Bytes of the layer's tensors in the .bnn. */
  readonly bytes: number;
  /** Bytes of the same layer's parameters as float32 (moving statistics included). */
  readonly float32Bytes: number;
}

export interface ModelInfo {
  readonly model: string;
  /** The paper model this is (`B`, K 64), or null for any other graph. */
  readonly paper: { readonly arch: string; readonly k: number } | null;
  readonly version: string;
  readonly input: Shape3;
  readonly classes: number;
  readonly fileBytes: number;
  readonly float32Bytes: number;
  /** float32 bytes / .bnn bytes. */
  readonly compression: number;
  readonly layers: readonly LayerInfo[];
}

/** The share of a ternary layer's weights that are 0, from its mask (set bits: nonzero). */
function zeroShare(mask: Uint32Array, weights: number): string {
  let nonzero = 0;
  for (const w of mask) nonzero += popcount32(w);
  return `${((100 * (weights - nonzero)) / weights).toFixed(0)}%`;
}

export function describeModel(model: BnnModel, fileBytes: number): ModelInfo {
  const graph = model.graph;
  const params = paramInfos(graph);
  const floatBytesOf = (layer: string) => params.filter((p) => p.layer === layer).reduce((n, p) => n + 4 * p.shape.reduce((a, b) => a * b, 1), 0);
  const layers = inferShapes(graph).map((s, i): LayerInfo => {
    const mask = model.layers[i]?.maskWords;
    const kernel = params.find((p) => p.name === `${s.layer.name}/kernel`);
    const detail = mask && kernel ? `${describeLayer(s)}, ${zeroShare(mask, kernel.shape.reduce((a, b) => a * b, 1))} zero` : describeLayer(s);
    return { name: s.layer.name, kind: s.layer.kind, detail, inputs: s.layer.inputs, input: s.inputs[0]!, output: s.output, bytes: layerPayloadBytes(s), float32Bytes: floatBytesOf(s.layer.name) };
  });
  const float32Bytes = layers.reduce((n, l) => n + l.float32Bytes, 0);
  return {
    model: graph.name,
    paper: paperModelOf(graph),
    version: `${model.version.major}.${model.version.minor}`,
    input: graph.input,
    classes: graph.classes,
    fileBytes,
    float32Bytes,
    compression: float32Bytes / fileBytes,
    layers,
  };
}
