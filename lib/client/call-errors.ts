/**
 * Classifying a failed call: did the connection fail (try another endpoint)
 * or did the cluster answer (rebuild its DynamoError and stop)? The cluster
 * marks every answer with `dynamo-code` trailing metadata; a status without
 * it came from grpc-js itself (connect refused, stream reset, local deadline).
 */
import * as grpc from '@grpc/grpc-js';
import { DynamoError, TimeoutError } from '../runtime/index.ts';
import { fromGrpcError } from '../transport/index.ts';

function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number';
}

function answeredByCluster(e: grpc.ServiceError): boolean {
  return e.metadata !== undefined && e.metadata.get('dynamo-code').length > 0;
}

/** The connection failed before the cluster answered: safe to fail over to another endpoint. */
export function isConnectionFailure(e: unknown): e is grpc.ServiceError {
  return isServiceError(e) && e.code === grpc.status.UNAVAILABLE && !answeredByCluster(e);
}

/** The DynamoError a failed call to `endpoint` stands for. */
export function toDynamoError(e: unknown, endpoint: string): DynamoError {
  if (e instanceof DynamoError) return e;
  if (!isServiceError(e)) {
    return new DynamoError('DYNAMO_INTERNAL', `request to ${endpoint} failed: ${String(e)}`, { cause: e });
  }
  if (e.code === grpc.status.DEADLINE_EXCEEDED && !answeredByCluster(e)) {
    // Our own deadline fired: we do not know how many replicas answered.
    return new TimeoutError(`no answer from ${endpoint} before the deadline`, { answered: 0, required: 0 }, { cause: e });
  }
  return fromGrpcError(e);
}
