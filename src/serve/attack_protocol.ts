/** Messages between the attack pool (main thread) and its workers. */
import type { ServeErrorCode } from './errors.js';

export type AttackKind = 'fgsm' | 'pgd';

/** An attack as the API takes it (already schema-checked; shape checks need the model). */
export interface AttackRequest {
  readonly model: string;
  readonly pixels: readonly number[];
  readonly label: number;
  readonly attack: AttackKind;
  readonly eps: number;
}

export interface AttackResult {
  readonly adversarial: Float32Array;
  readonly l2: number;
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
  readonly attack: AttackKind;
  readonly eps: number;
}

export type WorkerMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'init-failed'; readonly message: string }
  | { readonly kind: 'done'; readonly id: number; readonly adversarial: Float32Array; readonly l2: number }
  | { readonly kind: 'failed'; readonly id: number; readonly status: number; readonly code: ServeErrorCode; readonly message: string };
