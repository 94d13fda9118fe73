/**
 * Errors across worker threads. Structured cloning keeps an Error's message but not its class or
 * its own fields (code, offset, index), so BnnPool's workers send this plain record instead and
 * the pool rebuilds the same class with the same fields.
 */
import { BnnFormatError, type BnnFormatErrorCode } from '../format/errors.js';
import { UnsupportedModelError } from '../model/lower.js';
import { BnnConfigError, BnnInputError, BnnRuntimeError, type BnnConfigErrorCode, type BnnInputErrorCode } from './errors.js';

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  /** BnnFormatError: byte offset; source: its source. */
  readonly offset?: number;
  readonly source?: string;
  /** BnnInputError: the element's index, and for a pixel its value. */
  readonly index?: number;
  readonly value?: number;
  /** BnnRuntimeError: the kernel. */
  readonly kernel?: string;
}

export function serializeError(e: unknown, images?: ArrayLike<number>): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const f = e as Error & { code?: unknown; offset?: unknown; source?: unknown; index?: unknown; kernel?: unknown };
  const index = typeof f.index === 'number' ? f.index : undefined;
  return {
    name: e.name,
    message: e.message,
    ...(typeof f.code === 'string' ? { code: f.code } : {}),
    ...(typeof f.offset === 'number' ? { offset: f.offset } : {}),
    ...(typeof f.source === 'string' ? { source: f.source } : {}),
    ...(index !== undefined ? { index, ...(images && index < images.length ? { value: images[index]! } : {}) } : {}),
    ...(typeof f.kernel === 'string' ? { kernel: f.kernel } : {}),
  };
}

/** The error a worker raised, as the class it was (message kept as it was written). */
export function reviveError(s: SerializedError): Error {
  let e: Error;
  switch (s.name) {
    case 'BnnFormatError':
      e = new BnnFormatError(s.code as BnnFormatErrorCode, s.offset ?? 0, '', s.source);
      break;
    case 'BnnInputError':
      e = new BnnInputError(s.code as BnnInputErrorCode, '', s.index);
      break;
    case 'BnnConfigError':
      e = new BnnConfigError(s.code as BnnConfigErrorCode, '');
      break;
    case 'BnnRuntimeError':
      e = new BnnRuntimeError(s.kernel ?? 'worker', new Error(s.message));
      break;
    case 'UnsupportedModelError':
      e = new UnsupportedModelError(s.message);
      break;
    default:
      e = new Error(s.message);
      e.name = s.name;
  }
  e.message = s.message;
  return e;
}
