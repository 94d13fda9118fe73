/**
 * Replay: adversarial inputs crafted on the tfjs graph are scored on both the tfjs graph and
 * the packed runtime, so a user sees whether the robustness measured in tfjs holds on the
 * artifact that ships.
 */
import type { Dataset } from '../data/dataset.js';
import { predictLabels, type LogitsFn } from '../model/tfjs/predict.js';
import type { BnnRuntime } from '../runtime/index.js';
import { accuracyOf, agreementOf } from './parity.js';

export interface ReplayResult {
  readonly images: number;
  readonly tfjsAccuracy: number;
  readonly runtimeAccuracy: number;
  /** runtime label = tfjs label on the adversarial inputs. */
  readonly agreement: number;
  readonly disagreements: number;
}

/** The labels tfjs and the runtime give the adversarial images. */
export function replayLabels(adversarial: Float32Array, n: number, logits: LogitsFn, rt: BnnRuntime): { tfjs: Int32Array; runtime: Int32Array } {
  return { tfjs: predictLabels(logits, adversarial, n, rt.model.graph.input), runtime: rt.predict(adversarial, n) };
}

export function replay(adversarial: Float32Array, data: Pick<Dataset, 'labels' | 'n'>, logits: LogitsFn, rt: BnnRuntime, labels = replayLabels(adversarial, data.n, logits, rt)): ReplayResult {
  const { agreement, disagreements } = agreementOf(labels.runtime, labels.tfjs);
  return {
    images: data.n,
    tfjsAccuracy: accuracyOf(labels.tfjs, data.labels),
    runtimeAccuracy: accuracyOf(labels.runtime, data.labels),
    agreement,
    disagreements: disagreements.length,
  };
}
