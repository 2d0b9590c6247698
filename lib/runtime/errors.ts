/**
 * Operating errors: failures a caller is expected to handle. Each kind is one
 * subclass with a stable `code` that is part of the public API (documented in
 * README "Errors"). Programmer errors use `assert` and crash instead.
 */

export type DynamoErrorCode =
  | 'DYNAMO_INVALID_ARGUMENT'
  | 'DYNAMO_UNAVAILABLE'
  | 'DYNAMO_TIMEOUT'
  | 'DYNAMO_STORAGE'
  | 'DYNAMO_STORAGE_CORRUPTION'
  | 'DYNAMO_LIMIT_EXCEEDED'
  | 'DYNAMO_CLOSED'
  | 'DYNAMO_UNAUTHENTICATED'
  | 'DYNAMO_INTERNAL';

/** ErrorOptions plus what every DynamoError may say about a failed write. */
export interface DynamoErrorOptions extends ErrorOptions {
  /** See DynamoError.maybeApplied; default false. */
  maybeApplied?: boolean;
}

export class DynamoError extends Error {
  readonly code: DynamoErrorCode;
  /**
   * For a failed write (or a peer request): true when some replica may have
   * stored it before the failure (a version was minted and sent, or a request
   * was written to a stream that then broke or timed out), so the write may
   * still become visible — through read repair, or anti-entropy — and must not
   * be retried as if nothing happened. False only when the store provably
   * applied nothing: it was refused before any replica stored a new version
   * (validation, limits, overload, shutdown, a peer that was never reached).
   * Travels on the wire (peer errors, Session errors, `dynamo-maybe-applied`
   * trailing metadata of unary calls).
   */
  readonly maybeApplied: boolean;
  constructor(code: DynamoErrorCode, message: string, options?: DynamoErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'DynamoError';
    this.maybeApplied = options?.maybeApplied ?? false;
  }
}

/** The request itself is wrong; retrying it unchanged will fail again. */
export class InvalidArgumentError extends DynamoError {
  constructor(message: string, options?: DynamoErrorOptions) {
    super('DYNAMO_INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

/**
 * Too few replicas answered to meet the requested consistency. `answered`
 * counts replicas that replied successfully, `required` how many were needed.
 */
export class UnavailableError extends DynamoError {
  readonly answered: number;
  readonly required: number;
  constructor(message: string, counts: { answered: number; required: number }, options?: DynamoErrorOptions) {
    super('DYNAMO_UNAVAILABLE', message, options);
    this.name = 'UnavailableError';
    this.answered = counts.answered;
    this.required = counts.required;
  }
}

/** The deadline passed before enough replicas answered. Counts as for UnavailableError. */
export class TimeoutError extends DynamoError {
  readonly answered: number;
  readonly required: number;
  constructor(message: string, counts: { answered: number; required: number } = { answered: 0, required: 0 }, options?: DynamoErrorOptions) {
    super('DYNAMO_TIMEOUT', message, options);
    this.name = 'TimeoutError';
    this.answered = counts.answered;
    this.required = counts.required;
  }
}

/** A size or count limit (value bytes, object bytes, siblings) would be exceeded. */
export class LimitExceededError extends DynamoError {
  constructor(message: string, options?: DynamoErrorOptions) {
    super('DYNAMO_LIMIT_EXCEEDED', message, options);
    this.name = 'LimitExceededError';
  }
}

/** The storage engine failed (I/O, closed database). */
export class StorageError extends DynamoError {
  constructor(message: string, options?: DynamoErrorOptions) {
    super('DYNAMO_STORAGE', message, options);
    this.name = 'StorageError';
  }
}

/** A stored record does not decode: the bytes on disk are not what we wrote. */
export class StorageCorruptionError extends DynamoError {
  constructor(message: string, options?: DynamoErrorOptions) {
    super('DYNAMO_STORAGE_CORRUPTION', message, options);
    this.name = 'StorageCorruptionError';
  }
}

/** The component was closed (node shutting down, client closed). */
export class ClosedError extends DynamoError {
  constructor(message: string, options?: DynamoErrorOptions) {
    super('DYNAMO_CLOSED', message, options);
    this.name = 'ClosedError';
  }
}

/**
 * The node refused the caller's credentials: no bearer token or a wrong one
 * (client calls), or no certificate from the cluster CA (node-to-node calls).
 * Nothing was applied; retrying with the same credentials fails again.
 */
export class UnauthenticatedError extends DynamoError {
  constructor(message: string, options?: DynamoErrorOptions) {
    super('DYNAMO_UNAUTHENTICATED', message, options);
    this.name = 'UnauthenticatedError';
  }
}

/** Kept on in production: a broken invariant is a bug, and continuing would corrupt data. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

/** Expected partial failure as a value (coordinator replies, storage reads). */
export type Result<T, E = DynamoError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
