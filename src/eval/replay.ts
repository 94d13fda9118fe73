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

export function replay(adversarial: Float32Array, data: Pick<Dataset, 'labels' | 'n'>, logits: LogitsFn, rt: BnnRuntime): ReplayResult {
  const tfPred = predictLabels(logits, adversarial, data.n, rt.model.graph.input);
  const rtPred = rt.predict(adversarial, data.n);
  const { agreement, disagreements } = agreementOf(rtPred, tfPred);
  return {
    images: data.n,
    tfjsAccuracy: accuracyOf(tfPred, data.labels),
    runtimeAccuracy: accuracyOf(rtPred, data.labels),
    agreement,
    disagreements: disagreements.length,
  };
}
