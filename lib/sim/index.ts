/**
 * sim: a deterministic, seeded simulator of a whole cluster in one process
 * (TigerBeetle VOPR style). A virtual-time scheduler drives SimTime timers and
 * a SimNetwork whose every message goes through the real peer codec; SimCluster
 * runs real DynamoNodes on it with memory storage and can crash, restart and
 * partition them. One seed (DYNAMO_SEED) reproduces a run byte for byte.
 */
export { SimScheduler, type SimSchedulerOptions, type SimEventHandle } from './scheduler.ts';
export { SimTime, SIM_EPOCH_MS } from './sim-time.ts';
export { SimNetwork, SimTransport, type SimNetworkOptions, type SimNetworkStats } from './network.ts';
export { SimDisk } from './sim-disk.ts';
export { SimCluster, withSimCluster, type SimClusterOptions, type SimKvOptions } from './cluster.ts';
export { DEFAULT_SEED, seedFromEnv, reproduceHint } from './seed.ts';
