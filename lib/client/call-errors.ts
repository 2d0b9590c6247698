/**
 * Classifying a failed call: could another endpoint serve it (fail over) or
 * did the cluster answer (rebuild its DynamoError and stop)? The cluster
 * marks every answer with `dynamo-code` trailing metadata; a status without
 * it came from grpc-js itself (connect refused, stream reset, local deadline).
 * One answer also fails over: DYNAMO_CLOSED, a node shutting down (rolling
 * restart) — any other node can coordinate the request.
 */
import * as grpc from '@grpc/grpc-js';
import { DynamoError, TimeoutError } from '../runtime/index.ts';
import { METADATA_CODE, fromGrpcError } from '../transport/index.ts';

function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number';
}

/** The `dynamo-code` the cluster answered with, or undefined when grpc-js produced the status. */
function dynamoCode(e: grpc.ServiceError): string | undefined {
  const value = e.metadata?.get(METADATA_CODE)[0];
  return value === undefined ? undefined : String(value);
}

/** The endpoint could not serve the call (unreachable, or shutting down): try the next one. */
export function shouldFailOver(e: unknown): e is grpc.ServiceError {
  if (!isServiceError(e) || e.code !== grpc.status.UNAVAILABLE) return false;
  const code = dynamoCode(e);
  return code === undefined || code === 'DYNAMO_CLOSED';
}

/** The DynamoError a failed call to `endpoint` stands for. */
export function toDynamoError(e: unknown, endpoint: string): DynamoError {
  if (e instanceof DynamoError) return e;
  if (!isServiceError(e)) {
    return new DynamoError('DYNAMO_INTERNAL', `request to ${endpoint} failed: ${String(e)}`, { cause: e });
  }
  if (e.code === grpc.status.DEADLINE_EXCEEDED && dynamoCode(e) === undefined) {
    // Our own deadline fired: we do not know how many replicas answered.
    return new TimeoutError(`no answer from ${endpoint} before the deadline`, { answered: 0, required: 0 }, { cause: e });
  }
  return fromGrpcError(e);
}
