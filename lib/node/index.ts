/**
 * node: the composition root of a Dynamo node. DynamoNode wires storage, the
 * actor epoch, static membership (seed identification, ring claim) and the
 * replication Coordinator into the kv/admin/peer handlers a server serves;
 * it knows no gRPC, so the same core runs in a real process and in lib/sim.
 */
export { DynamoNode, type NodeOptions } from './node.ts';
export { parseSeeds, type SeedSpec } from './seeds.ts';
export { checkPartitionCount, META_PARTITION_COUNT } from './epoch.ts';
export { IDENTIFY_RETRY_MS, IDENTIFY_TIMEOUT_MS, PROBE_INTERVAL_MS_DEFAULT } from './membership.ts';
export { startNodeProcess, type RunningNode } from './process.ts';
export { installFatalHandlers, FATAL_EXIT_CODE, type FatalProcess } from './fatal.ts';
export { LocalCluster, freePorts, READY_LINE_PREFIX, type LocalClusterOptions, type LocalMember } from './cluster-runner.ts';
