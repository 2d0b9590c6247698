/**
 * Classifying a failed attempt: could another endpoint serve it (fail over)
 * or did the cluster answer (rebuild its DynamoError and stop)? The cluster
 * marks every answer with a dynamo code (`dynamo-code` trailing metadata of a
 * unary call, `dynamo_code` of a SessionError); a status without one came
 * from grpc-js itself (connect refused, stream reset, local deadline). One
 * answer also fails over: DYNAMO_CLOSED, a node shutting down (rolling
 * restart) — any other node can coordinate the request.
 *
 * Sessions know more than unary calls: a request never written to a stream
 * provably never reached a node and always fails over; one written to a
 * stream that then broke may have been applied, so only an idempotent
 * request (a get) is repeated elsewhere — a write fails with UnavailableError.
 */
import * as grpc from '@grpc/grpc-js';
import { ClosedError, DynamoError, TimeoutError, UnavailableError } from '../runtime/index.ts';
import { METADATA_CODE, fromErrorStatus, fromGrpcError } from '../transport/index.ts';
import type { SessionOutcome } from './session.ts';

/** A failed attempt at one endpoint. */
export interface Failure {
  readonly error: DynamoError;
  /** The request may be tried on the next endpoint. */
  readonly failOver: boolean;
}

function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number';
}

/** The `dynamo-code` the cluster answered with, or undefined when grpc-js produced the status. */
function dynamoCode(e: grpc.ServiceError): string | undefined {
  const value = e.metadata?.get(METADATA_CODE)[0];
  return value === undefined ? undefined : String(value);
}

/** The endpoint could not serve the request (unreachable, or shutting down): try the next one. */
function failsOver(code: grpc.status, dynamo: string | undefined): boolean {
  return code === grpc.status.UNAVAILABLE && (dynamo === undefined || dynamo === 'DYNAMO_CLOSED');
}

/** Our own deadline fired: we do not know how many replicas answered. */
function deadlineError(endpoint: string, cause?: unknown): TimeoutError {
  return new TimeoutError(`no answer from ${endpoint} before the deadline`, { answered: 0, required: 0 }, cause === undefined ? undefined : { cause });
}

/** The DynamoError a failed unary call to `endpoint` stands for. */
export function toDynamoError(e: unknown, endpoint: string): DynamoError {
  if (e instanceof DynamoError) return e;
  if (!isServiceError(e)) {
    return new DynamoError('DYNAMO_INTERNAL', `request to ${endpoint} failed: ${String(e)}`, { cause: e });
  }
  if (e.code === grpc.status.DEADLINE_EXCEEDED && dynamoCode(e) === undefined) return deadlineError(endpoint, e);
  return fromGrpcError(e);
}

/** A failed unary call to `endpoint`. */
export function unaryFailure(e: unknown, endpoint: string): Failure {
  return { error: toDynamoError(e, endpoint), failOver: isServiceError(e) && failsOver(e.code, dynamoCode(e)) };
}

/** A Session request to `endpoint` that did not succeed. */
export function sessionFailure(outcome: Exclude<SessionOutcome, { kind: 'ok' | 'unsupported' }>, endpoint: string, idempotent: boolean): Failure {
  const counts = { answered: 0, required: 0 };
  switch (outcome.kind) {
    case 'error':
      return { error: fromErrorStatus(outcome.status), failOver: failsOver(outcome.status.code, outcome.status.dynamoCode) };
    case 'unsent':
      return { error: new UnavailableError(`${endpoint} unreachable: ${outcome.reason}`, counts), failOver: true };
    case 'broken':
      return {
        error: new UnavailableError(
          `the session to ${endpoint} broke with the request in flight (${outcome.reason}); it may have been applied`,
          counts,
        ),
        failOver: idempotent,
      };
    case 'timeout':
      return { error: deadlineError(endpoint), failOver: false };
    case 'closed':
      return { error: new ClosedError('client is closed'), failOver: false };
  }
}
