/**
 * Rebuilding a DynamoError from its stable code after it crossed the wire
 * (peer error envelopes, gRPC trailing metadata), so callers can branch on the
 * subclass exactly as if the error had been thrown locally — maybeApplied
 * included.
 */
import {
  ClosedError,
  DynamoError,
  InvalidArgumentError,
  LimitExceededError,
  StorageCorruptionError,
  StorageError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
  type DynamoErrorOptions,
} from '../runtime/index.ts';

/** Replica counts an error carries (UNAVAILABLE / TIMEOUT), or zeros. */
export function countsOf(e: DynamoError): { answered: number; required: number } {
  if (e instanceof UnavailableError || e instanceof TimeoutError) return { answered: e.answered, required: e.required };
  return { answered: 0, required: 0 };
}

/**
 * The DynamoError subclass for `code`. A code this build does not know (a newer
 * peer) becomes a plain DYNAMO_INTERNAL error that still names the code.
 * `options` carries `cause` and the sender's `maybeApplied`.
 */
export function errorFromCode(code: string, message: string, answered: number, required: number, options?: DynamoErrorOptions): DynamoError {
  switch (code) {
    case 'DYNAMO_INVALID_ARGUMENT':
      return new InvalidArgumentError(message, options);
    case 'DYNAMO_UNAVAILABLE':
      return new UnavailableError(message, { answered, required }, options);
    case 'DYNAMO_TIMEOUT':
      return new TimeoutError(message, { answered, required }, options);
    case 'DYNAMO_LIMIT_EXCEEDED':
      return new LimitExceededError(message, options);
    case 'DYNAMO_UNAUTHENTICATED':
      return new UnauthenticatedError(message, options);
    case 'DYNAMO_STORAGE':
      return new StorageError(message, options);
    case 'DYNAMO_STORAGE_CORRUPTION':
      return new StorageCorruptionError(message, options);
    case 'DYNAMO_CLOSED':
      return new ClosedError(message, options);
    case 'DYNAMO_INTERNAL':
      return new DynamoError('DYNAMO_INTERNAL', message, options);
    default:
      return new DynamoError('DYNAMO_INTERNAL', `${code}: ${message}`, options);
  }
}
