/**
 * antientropy: Merkle-tree anti-entropy and safe tombstone GC (issue 9), the
 * pure core a node driver wires in. Read repair fixes only keys that are
 * read, and hints can be dropped; anti-entropy closes the gap the way Dynamo
 * §4.7 describes ("each node maintains a separate Merkle tree for each key
 * range … two nodes exchange the root of the Merkle tree corresponding to
 * the key ranges that they host in common") and Riak implements it — first
 * with hashtree.erl / riak_kv_index_hashtree, then with TicTac AAE
 * (leveled_tictac.erl, riak_kv_tictacaae), whose XOR-combined segment
 * hashes this module follows.
 *
 * One mechanism per file:
 *  - hash.ts            the pinned hashes (SEGMENT_HASH, ENTRY_HASH, DIGEST_HASH, …)
 *  - version-digest.ts  canonical 64-bit digest of a stored object (0 = absent)
 *  - tictac-tree.ts     per-partition tree: fanOut^depth segments (64 × 64),
 *                       XOR of entry hashes, O(depth) incremental update, diff
 *  - tree-codec.ts      persisted form (segment hashes + checksum)
 *  - tombstone-list-codec.ts  persisted tombstone keys of a partition (spares the walk after a clean start)
 *  - tree-builder.ts    background rebuild from a partition scan while writes go on
 *  - tree-port.ts       TreePort (= RemoteTree): the port an exchange talks to
 *  - exchange.ts        the exchange state machine: roots, differing branches,
 *                       (key, digest) lists, fetch, push both ways
 *  - run-exchange.ts    its thin async driver over two ports (deadline and
 *                       pacing come in from the caller)
 *  - wire-size.ts       payload bytes of each message
 *  - memory-tree-port.ts an in-memory replica behind the port (tests, bench, sim)
 *  - tombstone-gc.ts    the purge rule and its bookkeeping (TombstoneLedger)
 *  - admission.ts       one admission control for all background work
 *  - exchange-scheduler.ts which partition and peer next, and when
 *  - scan-pacer.ts      how a background partition scan yields to requests
 *  - exchange-log.ts    per-peer and per-partition record of exchanges (status)
 *  - repair-plan.ts     an on-demand repair: every (partition, peer) pair until complete
 *  - config.ts          AntiEntropyConfig, profiles, validation
 *
 * Pure and synchronous except the exchange driver and the ports: no timers,
 * clocks, randomness or storage access. What the node driver must do (update
 * the tree on every local write with the old and new digests, persist or
 * rebuild trees, schedule exchanges, apply repairs with LocalReplica.merge,
 * feed the tombstone ledger) is in docs/antientropy.md.
 */
export { SEGMENT_HASH, ENTRY_HASH, DIGEST_HASH, VALUE_HASH, TREE_CHECKSUM_HASH, valueHash } from './hash.ts';
export { type VersionDigest, type KeyDigest, ABSENT_DIGEST, versionDigest, compareBytes } from './version-digest.ts';
export { keyId } from './key-id.ts';
export {
  type TreeShape,
  TREE_SHAPE_DEFAULT,
  SEGMENT_COUNT_MAX,
  TictacTree,
  validateTreeShape,
  sameShape,
  segmentCount,
  segmentOfKey,
  nodesAt,
} from './tictac-tree.ts';
export { encodeTree, decodeTree } from './tree-codec.ts';
export { encodeTombstoneKeys, decodeTombstoneKeys } from './tombstone-list-codec.ts';
export { TreeBuilder } from './tree-builder.ts';
export { type TreePort, type RemoteTree, type TreeRoot, type TreeCall, type TreeReply, performCall } from './tree-port.ts';
export {
  type ExchangeLimits,
  type ExchangeOptions,
  type ExchangeInput,
  type ExchangeStep,
  type ExchangeResult,
  type OutboundCall,
  type KeyDiff,
  type Side,
  type AbortReason,
  ExchangeSession,
} from './exchange.ts';
export { type ExchangePorts, type RunExchangeOptions, runExchange, exchange } from './run-exchange.ts';
export { requestBytes, replyBytes } from './wire-size.ts';
export { type RecordOps, MemoryTreePort } from './memory-tree-port.ts';
export {
  type TombstoneRule,
  type TombstoneCheck,
  type TombstoneDecision,
  type KeepReason,
  type Holding,
  type GcClock,
  type TombstoneLedgerOptions,
  tombstoneDecision,
  tombstoneFacts,
  TombstoneLedger,
} from './tombstone-gc.ts';
export {
  type BackgroundKind,
  type AdmissionConfig,
  type AdmissionTicket,
  type BeginDecision,
  type SpendDecision,
  type AdmissionStats,
  BACKGROUND_KINDS,
  BackgroundAdmission,
  validateAdmissionConfig,
} from './admission.ts';
export {
  type PartitionReplicas,
  type ScheduleDecision,
  type SchedulerOptions,
  type SchedulerStats,
  ExchangeScheduler,
} from './exchange-scheduler.ts';
export { ScanPacer, SCAN_SLICE_KEYS, SCAN_PACING_DEFAULT, type ScanPacerOptions } from './scan-pacer.ts';
export { type ExchangeTotals, ExchangeLog, exchangeComplete } from './exchange-log.ts';
export { type RepairPlanOptions, type PairReadiness, type RepairStep, RepairPlan } from './repair-plan.ts';
export {
  type AntiEntropyConfig,
  defaultAntiEntropyConfig,
  localAntiEntropyConfig,
  testAntiEntropyConfig,
  validateAntiEntropyConfig,
  treeShapeOf,
  exchangeLimitsOf,
  tombstoneRuleOf,
  admissionConfigOf,
} from './config.ts';
