/**
 * Which model a reproduction's result was measured on. Checkpoints are recreated when a machine
 * loses them (training is deterministic, so the same seed gives the same model on the same
 * backend); a result measured on another model of the same name must not be mixed into a table
 * silently. Each new result records the SHA-256 of the .bnn it was scored on; results recorded
 * before that are checked by their clean accuracy on the same test images.
 */
import { createHash } from 'node:crypto';
import type { BnnModel } from '../format/model.js';
import { serializeBnn } from '../format/write.js';
import { evalKind, type ReproResult, type ReproResults } from './repro_plan.js';

/** SHA-256 (hex) of the model's .bnn: what `modelSha256` records. */
export function modelSha256(model: BnnModel): string {
  return createHash('sha256').update(serializeBnn(model)).digest('hex');
}

/** An evaluation's result disagrees with the results recorded for its model: it was measured on another model. */
export class ModelIdentityError extends Error {
  override name = 'ModelIdentityError';
}

const modelOf = (id: string): string => id.slice(id.indexOf(':') + 1);

/** The model of evaluation `id` (whose .bnn has SHA-256 `sha`) must be the one every result recorded with a SHA-256 for that model was measured on. */
export function checkModelSha(results: ReproResults, id: string, sha: string): void {
  const model = modelOf(id);
  for (const [otherId, other] of Object.entries(results)) {
    if (otherId === id || modelOf(otherId) !== model || other.modelSha256 === undefined || other.modelSha256 === sha) continue;
    throw new ModelIdentityError(`${id} is measured on a model ${model} whose .bnn has SHA-256 ${sha.slice(0, 12)}…, but ${otherId} was measured on one with ${other.modelSha256.slice(0, 12)}…: the checkpoint was trained again and came out different (another machine or backend?). Delete ${model}'s results to measure them all on this model, or restore the checkpoint they were measured on`);
  }
}

/**
 * The result `id`'s model must be the one the results already in `results` were measured on: an
 * error naming both otherwise. By SHA-256 where both record it, else by clean accuracy on the same
 * test images. `stochastic`: the model samples its weights, so its clean accuracy differs between
 * evaluations and only the SHA-256 tells. `alsoKinds`: the kinds scored on other test images.
 */
export function checkModelIdentity(results: ReproResults, id: string, result: ReproResult, opts: { stochastic: boolean; alsoKinds: readonly string[] }): void {
  if (result.modelSha256 !== undefined) checkModelSha(results, id, result.modelSha256);
  if (opts.stochastic || !('cleanRuntimeAccuracy' in result)) return;
  const model = modelOf(id);
  const testSet = (kind: string) => (opts.alsoKinds.includes(kind) ? kind : 'held-out');
  for (const [otherId, other] of Object.entries(results)) {
    if (otherId === id || modelOf(otherId) !== model || !('cleanRuntimeAccuracy' in other)) continue;
    if (result.modelSha256 !== undefined && other.modelSha256 !== undefined) continue;
    if (result.images !== other.images || testSet(evalKind(id)) !== testSet(evalKind(otherId))) continue;
    if (result.cleanRuntimeAccuracy !== other.cleanRuntimeAccuracy) throw new ModelIdentityError(`${id} scored ${model} ${result.cleanRuntimeAccuracy} clean on its ${result.images} test images, but ${otherId} scored ${other.cleanRuntimeAccuracy} on the same images: they were measured on different models of that name (a checkpoint trained again that came out different?). Delete ${model}'s results to measure them all on one model`);
  }
}

/**
 * Before hours of attacks on a model trained again: its clean accuracy on the first `images` test
 * images (`cleanAccuracy`) must be what every result of model `id` recorded without a SHA-256
 * measured on those images. Deterministic models only; the held-out test images only.
 */
export function checkRecordedCleanAccuracy(results: ReproResults, id: string, cleanAccuracy: (images: number) => number, opts: { alsoKinds: readonly string[] }): void {
  const model = modelOf(id);
  const seen = new Map<number, number>();
  for (const [otherId, other] of Object.entries(results)) {
    if (modelOf(otherId) !== model || other.modelSha256 !== undefined || !('cleanRuntimeAccuracy' in other) || opts.alsoKinds.includes(evalKind(otherId))) continue;
    if (!seen.has(other.images)) seen.set(other.images, cleanAccuracy(other.images));
    const now = seen.get(other.images)!;
    if (now !== other.cleanRuntimeAccuracy) throw new ModelIdentityError(`${model} as trained now scores ${now} clean on the first ${other.images} test images, but ${otherId} recorded ${other.cleanRuntimeAccuracy} on them: the checkpoint was trained again and came out different (another machine or backend, e.g. without the OpenBLAS kernels?). Delete ${model}'s results to measure them all on this model, or train it where the recorded results were measured`);
  }
}
