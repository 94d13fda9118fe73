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

export type BnnFileErrorCode = 'NOT_FOUND' | 'NOT_A_FILE' | 'TOO_LARGE' | 'READ_FAILED';

/**
 * A model file that cannot be read at all: missing, not a regular file (a directory without
 * model.bnn, a FIFO, a device), or failing to read. A file that is read but is not a valid .bnn
 * is a BnnFormatError.
 */
export class BnnFileError extends Error {
  constructor(
    readonly code: BnnFileErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'BnnFileError';
  }
}
