/**
 * node: the composition root of a Dynamo node. DynamoNode wires storage, the
 * actor epoch, static membership (seed identification, ring claim) and the
 * replication Coordinator into the kv/admin/peer handlers a server serves;
 * it knows no gRPC, so the same core runs in a real process and in lib/sim.
 */
export { DynamoNode, BACKGROUND_DEFAULTS, type NodeOptions } from './node.ts';
export { parseSeeds, type SeedSpec } from './seeds.ts';
export { checkPartitionCount, META_PARTITION_COUNT } from './epoch.ts';
export { GossipMembership, META_GENERATION, META_RING_STATE } from './gossip-membership.ts';
export { Transfers, TRANSFER_DEFAULTS, type TransferConfig } from './transfers.ts';
export { startNodeProcess, type RunningNode } from './process.ts';
export { installFatalHandlers, FATAL_EXIT_CODE, type FatalProcess } from './fatal.ts';
export { NODE_HEAP_FLAGS } from './heap-flags.ts';
export { LocalCluster, freePorts, READY_LINE_PREFIX, SERVING_LINE_PREFIX, type LocalClusterOptions, type LocalMember } from './cluster-runner.ts';
