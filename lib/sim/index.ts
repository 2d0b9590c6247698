/**
 * sim: a deterministic, seeded simulator of a whole cluster in one process
 * (TigerBeetle VOPR style). A virtual-time scheduler drives SimTime timers and
 * a SimNetwork whose every message goes through the real peer codec; SimCluster
 * runs real DynamoNodes on it with memory storage and can crash, restart and
 * partition them, and runs the history checker: seeded clients and faults
 * (run.ts, swarm.ts), judged from what clients saw (history.ts, checker.ts).
 * One seed (DYNAMO_SEED) reproduces a run byte for byte.
 */
export { SimScheduler, type SimSchedulerOptions, type SimEventHandle } from './scheduler.ts';
export { SimTime, SIM_EPOCH_MS } from './sim-time.ts';
export { SimNetwork, SimTransport, type SimNetworkOptions, type SimNetworkStats } from './network.ts';
export { SimDisk, type SimDiskOptions, type SimDiskStats, type DiskSnapshot, type WriteFailure } from './sim-disk.ts';
export { SimCluster, withSimCluster, simAntiEntropyConfig, type SimClusterOptions, type SimKvOptions } from './cluster.ts';
export { DEFAULT_SEED, seedFromEnv, reproduceHint } from './seed.ts';
export { History, valueOf, idOf, type Op, type ReadOp, type WriteOp, type ContextOrigin, type Outcome } from './history.ts';
export { checkHistory, describe as describeOp, traceOf, type Violation, type CheckInput } from './checker.ts';
export { Workload, fuzz, type WorkloadMix, type WorkloadOptions } from './workload.ts';
export { FaultInjector, NO_FAULTS, FAULT_NAMES, type FaultOptions, type FaultName, type FaultCounts } from './faults.ts';
export { runSimulation, defaultRunOptions, formatReport, type SimRunOptions, type SimRunReport, type RareCounts } from './run.ts';
export { swarmOptions, levelsFor } from './swarm.ts';
