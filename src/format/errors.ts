/** Why a .bnn file was rejected; stable codes for programs, messages for people. */
export type BnnFormatErrorCode =
  | 'TRUNCATED'
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'BAD_HEADER'
  | 'SIZE_MISMATCH'
  | 'BAD_CHECKSUM'
  | 'BAD_ARCH'
  | 'BAD_GRAPH'
  | 'SHAPE_MISMATCH'
  | 'BAD_TENSOR'
  | 'TENSOR_OUT_OF_BOUNDS'
  | 'MISSING_TENSOR'
  | 'DUPLICATE_TENSOR'
  | 'BAD_VALUE'
  | 'LIMIT_EXCEEDED';

/** A .bnn file that cannot be loaded: `code` says why, `offset` where (byte offset in the file). */
export class BnnFormatError extends Error {
  constructor(
    readonly code: BnnFormatErrorCode,
    readonly offset: number,
    message: string,
    readonly source?: string,
  ) {
    super(`${source ? source + ': ' : ''}${message} [${code} at byte ${offset}]`);
    this.name = 'BnnFormatError';
  }
}
