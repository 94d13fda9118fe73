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
  | 'REQUEST_TIMEOUT'
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

/**
 * The raw HTTP answer to a request Node's parser refused before any route saw it (a garbled
 * request line, headers too large, a request too slow): the API's error shape, connection closed.
 */
export function clientErrorResponse(err: NodeJS.ErrnoException): string {
  const [status, reason, body] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ([408, 'Request Timeout', { error: 'the request did not arrive in time', code: 'REQUEST_TIMEOUT' }] as const)
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? ([431, 'Request Header Fields Too Large', { error: 'the request headers are too large', code: 'TOO_LARGE' }] as const)
        : ([400, 'Bad Request', { error: `not an HTTP request this server reads (${err.code ?? 'parse error'})`, code: 'BAD_REQUEST' }] as const);
  const json = JSON.stringify(body satisfies ErrorBody);
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${json}`;
}
