/**
 * Classifying a failed attempt: did the request provably never reach a node
 * (so any other endpoint may take it), or did a node get it — and for a
 * write, may it have been applied? The cluster marks every answer with a
 * dynamo code (`dynamo-code` trailing metadata of a unary call, `dynamo_code`
 * of a SessionError) and says itself whether a failed write may have been
 * stored (DynamoError.maybeApplied, decoded by lib/transport); a status
 * without a dynamo code came from grpc-js itself (connect refused, stream
 * reset, local deadline), and then this module decides. One answer never
 * reached the replicas either: DYNAMO_CLOSED, a node refusing a request
 * because it is shutting down (rolling restart).
 *
 * Sessions know exactly what was written: a request never written to a
 * stream provably never reached a node; one written to a stream that then
 * broke, or whose deadline passed, may have been applied (maybeApplied for a
 * write). Unary calls know it only when grpc-js never got a connection.
 */
import * as grpc from '@grpc/grpc-js';
import {
  ClosedError,
  DynamoError,
  InvalidArgumentError,
  LimitExceededError,
  TimeoutError,
  UnavailableError,
} from '../runtime/index.ts';
import { METADATA_CODE, fromErrorStatus, fromGrpcError } from '../transport/index.ts';
import type { SessionOutcome } from './session.ts';

/** A failed attempt at one endpoint. */
export interface Failure {
  readonly error: DynamoError;
  /**
   * False when the request provably never reached a node's replicas (never
   * sent, no connection, refused by a node shutting down): it was not
   * applied, and the next endpoint may take it whatever the retry policy says.
   */
  readonly reached: boolean;
  /** The caller's AbortSignal ended it: stop and reject with the signal's reason. */
  readonly aborted: boolean;
}

const ZERO = { answered: 0, required: 0 };

function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number';
}

/** The `dynamo-code` the cluster answered with, or undefined when grpc-js produced the status. */
function dynamoCode(e: grpc.ServiceError): string | undefined {
  const value = e.metadata?.get(METADATA_CODE)[0];
  return value === undefined ? undefined : String(value);
}

/** grpc-js failed the call before any connection carried it (connect refused, name resolution failed). */
function neverConnected(e: grpc.ServiceError): boolean {
  return e.code === grpc.status.UNAVAILABLE && /No connection established|Name resolution failed/.test(e.details ?? '');
}

/** Our own deadline fired: we do not know how many replicas answered. */
function deadlineError(endpoint: string, maybeApplied: boolean, cause?: unknown): TimeoutError {
  return new TimeoutError(`no answer from ${endpoint} before the deadline`, ZERO, { maybeApplied, ...(cause === undefined ? {} : { cause }) });
}

/** The DynamoError a failed unary call to `endpoint` stands for (`write`: a put/delete, which may then have been applied). */
export function toDynamoError(e: unknown, endpoint: string, write = false): DynamoError {
  if (e instanceof DynamoError) return e;
  if (!isServiceError(e)) {
    return new DynamoError('DYNAMO_INTERNAL', `request to ${endpoint} failed: ${String(e)}`, { cause: e, maybeApplied: write });
  }
  if (dynamoCode(e) !== undefined) return fromGrpcError(e);
  // grpc-js's own status: the call may have reached the node unless it never had a connection.
  const maybeApplied = write && !neverConnected(e);
  if (e.code === grpc.status.DEADLINE_EXCEEDED) return deadlineError(endpoint, maybeApplied, e);
  const error = fromGrpcError(e);
  if (!maybeApplied) return error;
  if (error instanceof UnavailableError) return new UnavailableError(`${error.message} (the request may have been applied)`, ZERO, { cause: e, maybeApplied });
  return new DynamoError(error.code, `${error.message} (the request may have been applied)`, { cause: e, maybeApplied });
}

/** A failed unary call to `endpoint`. */
export function unaryFailure(e: unknown, endpoint: string, write: boolean, aborted: boolean): Failure {
  const error = toDynamoError(e, endpoint, write);
  const reached = !(isServiceError(e) && (neverConnected(e) || (e.code === grpc.status.UNAVAILABLE && dynamoCode(e) === 'DYNAMO_CLOSED')));
  return { error, reached, aborted };
}

/** A Session request to `endpoint` that did not succeed (`write`: a put/delete). */
export function sessionFailure(outcome: Exclude<SessionOutcome, { kind: 'ok' | 'unsupported' }>, endpoint: string, write: boolean): Failure {
  switch (outcome.kind) {
    case 'error': {
      const refused = outcome.status.dynamoCode === 'DYNAMO_CLOSED';
      return { error: fromErrorStatus(outcome.status), reached: !refused, aborted: false };
    }
    case 'unsent':
      return { error: new UnavailableError(`${endpoint} unreachable: ${outcome.reason}`, ZERO), reached: false, aborted: false };
    case 'broken': {
      const how = write ? '; it may have been applied' : '';
      const error = new UnavailableError(`the session to ${endpoint} broke with the request in flight (${outcome.reason})${how}`, ZERO, { maybeApplied: write });
      return { error, reached: true, aborted: false };
    }
    case 'timeout':
      return { error: deadlineError(endpoint, write && outcome.sent), reached: outcome.sent, aborted: false };
    case 'aborted':
      return { error: new ClosedError('aborted', { maybeApplied: write && outcome.sent }), reached: outcome.sent, aborted: true };
    case 'closed':
      return { error: new ClosedError('client is closed', { maybeApplied: write && outcome.sent }), reached: outcome.sent, aborted: false };
  }
}

/**
 * `error` as it should reach the caller when an earlier attempt of the same
 * write may have been applied: a copy of the same subclass, counts and
 * message, marked maybeApplied, with `error` as its cause.
 */
export function markMaybeApplied(error: DynamoError): DynamoError {
  if (error.maybeApplied) return error;
  const options = { cause: error, maybeApplied: true };
  const message = `${error.message} (an earlier attempt may have been applied)`;
  if (error instanceof UnavailableError) return new UnavailableError(message, error, options);
  if (error instanceof TimeoutError) return new TimeoutError(message, error, options);
  if (error instanceof InvalidArgumentError) return new InvalidArgumentError(message, options);
  if (error instanceof LimitExceededError) return new LimitExceededError(message, options);
  if (error instanceof ClosedError) return new ClosedError(message, options);
  return new DynamoError(error.code, message, options);
}
