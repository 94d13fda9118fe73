/** Errors the runtime raises for bad inputs or failed kernel calls (never a bare WASM trap). */
export type BnnInputErrorCode = 'BAD_COUNT' | 'BAD_LENGTH' | 'BAD_TYPE' | 'NOT_FINITE' | 'OUT_OF_RANGE' | 'DISPOSED';

/** An input the runtime refuses: wrong length or type, NaN/Infinity, pixels outside [0, 1]. */
export class BnnInputError extends Error {
  constructor(
    readonly code: BnnInputErrorCode,
    message: string,
    /** Index of the offending element, when there is one. */
    readonly index?: number,
  ) {
    super(`${message} [${code}]`);
    this.name = 'BnnInputError';
  }
}

/** A kernel call that trapped inside WebAssembly (caught and wrapped; the runtime stays usable). */
export class BnnRuntimeError extends Error {
  constructor(
    readonly kernel: string,
    override readonly cause: unknown,
  ) {
    super(`runtime kernel ${kernel} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'BnnRuntimeError';
  }
}

export type BnnConfigErrorCode = 'BAD_OPTION' | 'MEMORY_LIMIT' | 'WASM_UNAVAILABLE';

/** Options the runtime cannot honour: a bad value, a configuration that does not fit in memory, or no kernel build where it was told to look. */
export class BnnConfigError extends Error {
  constructor(
    readonly code: BnnConfigErrorCode,
    message: string,
  ) {
    super(`${message} [${code}]`);
    this.name = 'BnnConfigError';
  }
}
