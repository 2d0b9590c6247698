/**
 * DynamoError <-> gRPC status, shared by the server edge and the SDK. The
 * stable code and replica counts travel in trailing metadata (`dynamo-code`,
 * `dynamo-answered`, `dynamo-required`), so the caller rebuilds the same
 * subclass; a status without `dynamo-code` came from gRPC itself (connection
 * refused, local deadline) and is classified by its status code alone.
 */
import * as grpc from '@grpc/grpc-js';
import { DynamoError, InvalidArgumentError, LimitExceededError, TimeoutError, UnavailableError } from '../runtime/index.ts';
import { countsOf, errorFromCode } from './error-codes.ts';

/** Trailing-metadata keys set on every error the server answers with. */
export const METADATA_CODE = 'dynamo-code';
export const METADATA_ANSWERED = 'dynamo-answered';
export const METADATA_REQUIRED = 'dynamo-required';

function statusOf(e: DynamoError): grpc.status {
  switch (e.code) {
    case 'DYNAMO_INVALID_ARGUMENT':
      return grpc.status.INVALID_ARGUMENT;
    case 'DYNAMO_UNAVAILABLE':
    case 'DYNAMO_CLOSED':
      return grpc.status.UNAVAILABLE;
    case 'DYNAMO_TIMEOUT':
      return grpc.status.DEADLINE_EXCEEDED;
    case 'DYNAMO_LIMIT_EXCEEDED':
      return grpc.status.FAILED_PRECONDITION;
    default:
      return grpc.status.INTERNAL;
  }
}

/**
 * The gRPC status for an error a handler rejected with. Anything that is not
 * a DynamoError is a bug: INTERNAL, code DYNAMO_INTERNAL (the caller logs it).
 */
export function toGrpcStatus(e: unknown): { code: grpc.status; details: string; metadata: grpc.Metadata } {
  const error =
    e instanceof DynamoError ? e : new DynamoError('DYNAMO_INTERNAL', `internal error: ${e instanceof Error ? e.message : String(e)}`);
  const metadata = new grpc.Metadata();
  metadata.set(METADATA_CODE, error.code);
  const counts = countsOf(error);
  metadata.set(METADATA_ANSWERED, String(counts.answered));
  metadata.set(METADATA_REQUIRED, String(counts.required));
  return { code: statusOf(error), details: error.message, metadata };
}

function metadataValue(md: grpc.Metadata | undefined, key: string): string | undefined {
  const v = md?.get(key)[0];
  return v === undefined ? undefined : String(v);
}

function count(md: grpc.Metadata | undefined, key: string): number {
  const n = Number(metadataValue(md, key) ?? 0);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/**
 * The DynamoError a failed call stands for. With `dynamo-code`: the same
 * subclass, message and counts the server threw. Without: UNAVAILABLE-like
 * statuses (connection refused, reset, cancelled) -> UnavailableError,
 * DEADLINE_EXCEEDED -> TimeoutError, each with zero counts.
 */
export function fromGrpcError(e: grpc.ServiceError): DynamoError {
  const code = metadataValue(e.metadata, METADATA_CODE);
  const details = e.details || e.message;
  if (code !== undefined) return errorFromCode(code, details, count(e.metadata, METADATA_ANSWERED), count(e.metadata, METADATA_REQUIRED), { cause: e });
  const counts = { answered: 0, required: 0 };
  switch (e.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return new TimeoutError(`deadline exceeded: ${details}`, counts, { cause: e });
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
    case grpc.status.ABORTED:
      return new UnavailableError(`unavailable: ${details}`, counts, { cause: e });
    case grpc.status.INVALID_ARGUMENT:
      return new InvalidArgumentError(details, { cause: e });
    case grpc.status.RESOURCE_EXHAUSTED:
      return new LimitExceededError(details, { cause: e });
    default:
      return new DynamoError('DYNAMO_INTERNAL', `${grpc.status[e.code] ?? e.code}: ${details}`, { cause: e });
  }
}
