/**
 * The server's typed errors: every refusal carries an HTTP status and a stable `code`, and the
 * body a client gets is `{ error, code }` (the page shows `error`; programs branch on `code`).
 */
export type ServeErrorCode =
  | 'BAD_REQUEST'
  | 'BAD_HOST'
  | 'CROSS_ORIGIN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_LARGE'
  | 'BAD_MODEL'
  | 'DATA_MISMATCH'
  | 'DATA_UNAVAILABLE'
  | 'QUEUE_FULL'
  | 'CLIENT_BUSY'
  | 'ATTACK_TIMEOUT'
  | 'ATTACK_FAILED'
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

export class ServeError extends Error {
  constructor(
    readonly status: number,
    readonly code: ServeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** An attack the pool gave up on: its worker was terminated after the time limit. */
export class AttackTimeoutError extends ServeError {
  constructor(readonly limitMs: number) {
    super(504, 'ATTACK_TIMEOUT', `the attack did not finish within ${limitMs} ms; its worker was stopped`);
  }
}

/** The attack queue is full: the client should retry later (Retry-After is set). */
export class QueueFullError extends ServeError {
  constructor(readonly queued: number) {
    super(503, 'QUEUE_FULL', `the attack queue is full (${queued} waiting); try again shortly`);
  }
}

/** What a client receives for an error. */
export interface ErrorBody {
  readonly error: string;
  readonly code: ServeErrorCode | string;
}
