/**
 * DynamoError <-> gRPC status, shared by the server edge and the SDK. The
 * stable code, replica counts and maybeApplied travel in trailing metadata
 * (`dynamo-code`, `dynamo-answered`, `dynamo-required`, and
 * `dynamo-maybe-applied: 1` when true) of a unary call, or in the
 * SessionError of a Session response (kv.proto) — both are an ErrorStatus,
 * so the caller rebuilds the same subclass either way; a status without a
 * dynamo code came from gRPC itself (connection refused, reset, local
 * deadline) and is classified by its status code alone.
 */
import * as grpc from '@grpc/grpc-js';
import { DynamoError, InvalidArgumentError, LimitExceededError, TimeoutError, UnauthenticatedError, UnavailableError } from '../runtime/index.ts';
import { countsOf, errorFromCode } from './error-codes.ts';

/** A failure as it crosses the wire: a gRPC status code plus the dynamo code and counts. */
export interface ErrorStatus {
  readonly code: grpc.status;
  /** The message (a unary call's status details). */
  readonly details: string;
  /** Stable DynamoError code; undefined when gRPC itself produced the status. */
  readonly dynamoCode: string | undefined;
  readonly answered: number;
  readonly required: number;
  /**
   * The node says the request may have been applied (DynamoError.maybeApplied).
   * Absent means false when `dynamoCode` is set; see fromErrorStatus for statuses gRPC produced.
   */
  readonly maybeApplied?: boolean;
}

/** Trailing-metadata keys set on every error the server answers with. */
export const METADATA_CODE = 'dynamo-code';
export const METADATA_ANSWERED = 'dynamo-answered';
export const METADATA_REQUIRED = 'dynamo-required';
/** Set to "1" when the request may have been applied; absent otherwise. */
export const METADATA_MAYBE_APPLIED = 'dynamo-maybe-applied';

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
    case 'DYNAMO_UNAUTHENTICATED':
      return grpc.status.UNAUTHENTICATED;
    default:
      return grpc.status.INTERNAL;
  }
}

/** The gRPC status code name an error is answered with ('UNAVAILABLE', ...; 'INTERNAL' for anything not a DynamoError): a metrics label. */
export function statusCodeName(e: unknown): string {
  return grpc.status[e instanceof DynamoError ? statusOf(e) : grpc.status.INTERNAL] ?? 'UNKNOWN';
}

/**
 * The status for an error a handler rejected with. Anything that is not a
 * DynamoError is a bug: INTERNAL, code DYNAMO_INTERNAL, maybeApplied (the
 * caller logs it).
 */
export function errorStatusOf(e: unknown): ErrorStatus {
  // A bug is not a DynamoError; nobody knows what it left behind, so it may have been applied.
  const error =
    e instanceof DynamoError
      ? e
      : new DynamoError('DYNAMO_INTERNAL', `internal error: ${e instanceof Error ? e.message : String(e)}`, { maybeApplied: true });
  const counts = countsOf(error);
  return {
    code: statusOf(error),
    details: error.message,
    dynamoCode: error.code,
    answered: counts.answered,
    required: counts.required,
    maybeApplied: error.maybeApplied,
  };
}

/** The unary form of errorStatusOf: status code, details and `dynamo-*` trailing metadata. */
export function toGrpcStatus(e: unknown): { code: grpc.status; details: string; metadata: grpc.Metadata } {
  const status = errorStatusOf(e);
  const metadata = new grpc.Metadata();
  metadata.set(METADATA_CODE, status.dynamoCode ?? 'DYNAMO_INTERNAL');
  metadata.set(METADATA_ANSWERED, String(status.answered));
  metadata.set(METADATA_REQUIRED, String(status.required));
  if (status.maybeApplied === true) metadata.set(METADATA_MAYBE_APPLIED, '1');
  return { code: status.code, details: status.details, metadata };
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
 * subclass, message, counts and maybeApplied the server threw. Without:
 * UNAVAILABLE-like statuses (connection refused, reset, cancelled) ->
 * UnavailableError, DEADLINE_EXCEEDED -> TimeoutError, each with zero counts
 * and maybeApplied true (see fromErrorStatus).
 */
export function fromGrpcError(e: grpc.ServiceError): DynamoError {
  const status: ErrorStatus = {
    code: e.code,
    details: e.details || e.message,
    dynamoCode: metadataValue(e.metadata, METADATA_CODE),
    answered: count(e.metadata, METADATA_ANSWERED),
    required: count(e.metadata, METADATA_REQUIRED),
    maybeApplied: metadataValue(e.metadata, METADATA_MAYBE_APPLIED) === '1',
  };
  return fromErrorStatus(status, e);
}

/**
 * The DynamoError an ErrorStatus stands for (see fromGrpcError); `cause` is
 * chained. With a dynamo code, maybeApplied is what the node said. Without
 * one, gRPC produced the status (connect refused, stream reset, local
 * deadline) and nobody knows whether the node got the request: maybeApplied
 * is true — a caller that knows better (a Session request never written)
 * builds its own error.
 */
export function fromErrorStatus(s: ErrorStatus, cause?: unknown): DynamoError {
  const details = s.details;
  const maybeApplied = s.dynamoCode === undefined || s.maybeApplied === true;
  const options = cause === undefined ? { maybeApplied } : { cause, maybeApplied };
  if (s.dynamoCode !== undefined) return errorFromCode(s.dynamoCode, details, s.answered, s.required, options);
  const counts = { answered: 0, required: 0 };
  switch (s.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return new TimeoutError(`deadline exceeded: ${details}`, counts, options);
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
    case grpc.status.ABORTED:
      return new UnavailableError(`unavailable: ${details}`, counts, options);
    case grpc.status.INVALID_ARGUMENT:
      return new InvalidArgumentError(details, options);
    case grpc.status.RESOURCE_EXHAUSTED:
      return new LimitExceededError(details, options);
    case grpc.status.UNAUTHENTICATED:
    case grpc.status.PERMISSION_DENIED:
      return new UnauthenticatedError(details, options);
    default:
      return new DynamoError('DYNAMO_INTERNAL', `${grpc.status[s.code] ?? s.code}: ${details}`, options);
  }
}
