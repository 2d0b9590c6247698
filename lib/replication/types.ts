/** Configuration and the cluster view the coordinator works from. */
import type { DynamoError, Result } from '../runtime/index.ts';
import type { Address, Consistency, NodeId, PeerRequest, ReplyFor } from '../protocol/index.ts';
import type { Ring } from '../ring/index.ts';

/** Replication settings; must agree across the cluster (except the defaults). */
export interface ReplicationConfig {
  /** Replication factor N. */
  replicas: number;
  /** Level used when a request names none. */
  defaultConsistency: Consistency;
  /** Deadline of background work with no client deadline (read repair writes). */
  requestTimeoutMsDefault: number;
  /** Repair stale replicas after a read (Dynamo §4.7). */
  readRepair: boolean;
}

/**
 * What the coordinator needs to know about the cluster, supplied by `node`
 * per request so membership changes apply to the next request.
 */
export interface ClusterView {
  readonly self: NodeId;
  readonly ring: Ring;
  /** Where to reach a member; undefined when not (yet) known. */
  addressOf(id: NodeId): Address | undefined;
}

/**
 * The slice of lib/transport's `Transport` port replication uses. Declared
 * here because replication may not depend on transport; any Transport fits.
 * Never rejects: failures come back as the Result's error.
 */
export interface PeerClient {
  request<R extends PeerRequest>(to: Address, req: R, timeoutMs: number): Promise<Result<ReplyFor<R['type']>, DynamoError>>;
}
