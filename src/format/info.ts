/** Sizes of a decoded model, per layer and in total, against the same model in float32. */
import { layerShapes, modelName, paramInfos } from '../model/spec.js';
import { layerPayloadBytes, type BnnModel } from './model.js';

export interface LayerInfo {
  readonly name: string;
  readonly kind: string;
  readonly input: readonly number[];
  readonly output: readonly number[];
  /** Bytes of the layer's tensors in the .bnn. */
  readonly bytes: number;
  /** Bytes of the same layer's parameters as float32. */
  readonly float32Bytes: number;
}

export interface ModelInfo {
  readonly model: string;
  readonly arch: string;
  readonly k: number;
  readonly version: string;
  readonly fileBytes: number;
  readonly float32Bytes: number;
  /** float32 bytes / .bnn bytes. */
  readonly compression: number;
  readonly layers: readonly LayerInfo[];
}

export function describeModel(model: BnnModel, fileBytes: number): ModelInfo {
  const spec = model.spec;
  const params = paramInfos(spec);
  const floatBytesOf = (layer: string) => params.filter((p) => p.name.startsWith(layer + '/')).reduce((n, p) => n + 4 * p.shape.reduce((a, b) => a * b, 1), 0);
  const layers = layerShapes(spec).map((s): LayerInfo => {
    const l = s.layer;
    const kind = (l.kind === 'dense' ? 'dense (float)' : `conv ${l.kernel}×${l.kernel}/${l.stride} ${l.padding.toUpperCase()} ${l.binary ? (l.stochastic ? 'binary stochastic' : 'binary') : l.quantized ? 'int8 (u8 input)' : 'float'}${l.scaled ? ' +SReLU' : ''}`) + (l.bias ? ' +bias' : '');
    return { name: l.name, kind, input: s.in, output: s.out, bytes: layerPayloadBytes(s), float32Bytes: floatBytesOf(l.name) };
  });
  const float32Bytes = layers.reduce((n, l) => n + l.float32Bytes, 0);
  return {
    model: modelName(spec),
    arch: spec.arch,
    k: spec.k,
    version: `${model.version.major}.${model.version.minor}`,
    fileBytes,
    float32Bytes,
    compression: float32Bytes / fileBytes,
    layers,
  };
}
