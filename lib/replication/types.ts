/** Configuration and the cluster view the coordinator works from. */
import type { DynamoError, Result } from '../runtime/index.ts';
import type { Address, Consistency, NodeId, PeerRequest, ReplyFor } from '../protocol/index.ts';
import type { Ring } from '../ring/index.ts';
import type { StoredObject } from '../storage/index.ts';

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
  /**
   * Digest reads (digest-reads.ts): when this node reads its own copy, ask the
   * other replicas only for their version digest. Needs CoordinatorDeps.versionDigest.
   */
  digestReads?: boolean;
}

/** Who holds a partition now: reads ask `reads`; writes go to `writes` (see ClusterView.replicas). */
export interface PartitionReplicas {
  /** Complete replicas in preference order: reads are answered from them. */
  readonly reads: readonly NodeId[];
  /** `reads` then the nodes receiving the partition while it moves (which must get every write too). */
  readonly writes: readonly NodeId[];
}

/**
 * What the coordinator needs to know about the cluster, supplied by `node`
 * per request so membership changes apply to the next request: one
 * consistent snapshot of the ring version, placement and who is believed up.
 */
export interface ClusterView {
  readonly self: NodeId;
  /** The (target) ring: partition count and ownership. */
  readonly ring: Ring;
  /** Version of the ring this view routes by; 0 when the ring is not versioned (requests then carry none). */
  readonly ringVersion: number;
  /** Where to reach a member; undefined when not (yet) known. */
  addressOf(id: NodeId): Address | undefined;
  /** Read and write replica sets of a partition. */
  replicas(partition: number): PartitionReplicas;
  /** Believed alive; a request never waits for a node that is not (it counts as failed at once). */
  isUp(id: NodeId): boolean;
  /**
   * Not up only because a probe of it went unanswered: suspected, not yet
   * declared dead, and likely to refute. Requests treat it as down (isUp is
   * false); work that can wait (an on-demand repair) waits instead of giving
   * up. Absent: no node is ever merely suspected.
   */
  isSuspected?(id: NodeId): boolean;
}

/**
 * The slice of lib/transport's `Transport` port replication uses. Declared
 * here because replication may not depend on transport; any Transport fits.
 * Never rejects: failures come back as the Result's error.
 */
export interface PeerClient {
  request<R extends PeerRequest>(to: Address, req: R, timeoutMs: number): Promise<Result<ReplyFor<R['type']>, DynamoError>>;
}

/**
 * Where this node keeps the versions it holds for other nodes (hinted
 * handoff, lib/handoff's HintStore as the node wires it). Absent when hinted
 * handoff is off on this node: then no fallback is used and none is served.
 */
export interface HintPort {
  /** Keep `record` as a hint for `target`; rejects (storing nothing) when the hint store is full or failing. */
  store(target: NodeId, partition: number, key: Uint8Array, record: Uint8Array): Promise<void>;
  /** Everything hinted for `key` on this node, whoever it is meant for. */
  read(partition: number, key: Uint8Array): Promise<StoredObject | undefined>;
}
