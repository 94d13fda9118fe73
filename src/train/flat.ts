/**
 * Parameters as one flat float32 vector (the trainable ones, in paramInfos order) so that
 * gradients and weights cross thread boundaries as a single transferable buffer, and batch-norm
 * moments as another.
 */
import type { ParamValues } from '../model/params.js';
import type { ModelGraph } from '../model/graph.js';
import { paramInfos, type ParamInfo } from '../model/params.js';

export interface FlatLayout {
  readonly params: readonly (ParamInfo & { offset: number; size: number })[];
  /** Total floats of the trainable parameters. */
  readonly size: number;
  /** Batch-norm layers and their channel counts, in order. */
  readonly bnLayers: readonly { layer: string; channels: number; offset: number }[];
  /** Floats of the concatenated [mean, variance] of all BN layers. */
  readonly momentsSize: number;
}

export function flatLayout(graph: ModelGraph): FlatLayout {
  let size = 0;
  const params: (ParamInfo & { offset: number; size: number })[] = [];
  const bnLayers: { layer: string; channels: number; offset: number }[] = [];
  let momentsSize = 0;
  for (const p of paramInfos(graph)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (p.trainable) {
      params.push({ ...p, offset: size, size: n });
      size += n;
    }
    if (p.name === `${p.layer}/moving_mean`) {
      bnLayers.push({ layer: p.layer, channels: n, offset: momentsSize });
      momentsSize += 2 * n;
    }
  }
  return { params, size, bnLayers, momentsSize };
}

export function flattenTrainable(layout: FlatLayout, values: ParamValues): Float32Array {
  const flat = new Float32Array(layout.size);
  for (const p of layout.params) flat.set(values.get(p.name)!, p.offset);
  return flat;
}

/** Writes the trainable slices of `flat` into `values` (copies). */
export function unflattenTrainable(layout: FlatLayout, flat: Float32Array, values: ParamValues): void {
  for (const p of layout.params) values.set(p.name, flat.slice(p.offset, p.offset + p.size));
}
