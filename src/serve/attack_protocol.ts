/** Messages between the attack pool (main thread) and its workers. */
import type { ServeErrorCode } from './errors.js';

export type AttackKind = 'fgsm' | 'pgd';

/** What a worker job does: an attack, or `verify` (a robustness proof or counterexample, src/verify). */
export type JobKind = AttackKind | 'verify';

/** A job as the API takes it (already schema-checked; shape checks need the model). */
export interface AttackRequest {
  readonly model: string;
  readonly pixels: readonly number[];
  readonly label: number;
  readonly attack: JobKind;
  readonly eps: number;
}

/** A verify job's answer (VerifyRow's per-image result). */
export interface VerifyOutcome {
  readonly verdict: 'verified' | 'counterexample' | 'unknown' | 'misclassified';
  /** Proven lower bound of (label's logit − largest other) over the ball (> 0: verified). */
  readonly margin: number;
  readonly ms: number;
  readonly reason?: string;
}

export interface AttackResult {
  /** The adversarial image (for verify: the counterexample, empty if none). */
  readonly adversarial: Float32Array;
  readonly l2: number;
  readonly verify?: VerifyOutcome;
}

export interface WorkerInit {
  readonly modelsRoot: string;
  readonly maxModelBytes: number;
  /** Graphs kept per worker (each holds its weights as tfjs tensors). */
  readonly cacheSize: number;
}

export interface JobMessage {
  readonly id: number;
  readonly model: string;
  readonly pixels: Float32Array;
  readonly label: number;
  readonly attack: JobKind;
  readonly eps: number;
}

export type WorkerMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'init-failed'; readonly message: string }
  | { readonly kind: 'done'; readonly id: number; readonly adversarial: Float32Array; readonly l2: number; readonly verify?: VerifyOutcome }
  | { readonly kind: 'failed'; readonly id: number; readonly status: number; readonly code: ServeErrorCode; readonly message: string };
