/**
 * replication: turns a client get/put/delete into quorum reads and writes
 * over the key's N replicas (Dynamo §4.5; Riak's get/put FSMs). It owns the
 * quorum maths, this node's replica of its keys (per-key serialised
 * read-modify-write of DVV objects through Storage), the coordinator that
 * fans requests out over the transport and forwards writes it may not
 * coordinate, read repair, and serving replicas' peer requests.
 */
export { requiredReplies, QuorumTracker, type Outcome } from './quorum.ts';
export type { ReplicationConfig, ClusterView, PartitionReplicas, PeerClient } from './types.ts';
export { LocalReplica, REPLICA_QUEUE_LIMITS, sameStoredValue, unverifiedActors, type ReplicaWrite, type ReplicaStats, type UnverifiedContext, type ReplicaObserver } from './replica.ts';
export { ActorEpochs, EPOCH_BYTES } from './actor-epochs.ts';
export { Coordinator, type CoordinatorDeps, type ReplicationStats } from './coordinator.ts';
