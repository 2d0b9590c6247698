/**
 * storage: a node's durable local state. Owns the Storage port (storage.ts),
 * its engines over abstract-level databases — LevelDB (classic-level), RocksDB
 * (@nxtedition/rocksdb) and memory (memory-level) — with a partition-ordered
 * key layout and group commit, and the binary record codec that turns a key's
 * DVV set of values into the bytes stored (protos/dynamo/v1/storage.proto),
 * and its summary (clock and value fingerprints) that disk engines keep beside
 * value-log pointers.
 */
export type { EngineKind, HintWrite, RecordHead, RecordWrite, Storage, StorageEstimate, StoredHint, StoredRecord } from './storage.ts';
export { HINT_TARGET_BYTES_MAX } from './key-layout.ts';
export { type StoredValue, type StoredObject, encodeRecord, decodeRecord, RECORD_FORMAT_PROTOBUF_V1 } from './record-codec.ts';
export {
  type HeldObject, type ObjectSummary, type ValueFingerprint, decodeSummary, encodeSummary, fingerprintOf, isFingerprint, isWhole, sameFingerprint,
} from './record-summary.ts';
export { type StorageOptions, type DiskEngineOptions, createStorage, LevelStorage, RocksStorage, MemoryStorage } from './engines.ts';
export { AbstractStorage, type EngineOptions, type ReadMode, type StorageStats } from './abstract-storage.ts';
export { type WriteQueueLimits, WRITE_QUEUE_LIMITS_DEFAULT } from './group-commit.ts';
export { VALUE_LOG_MIN_BYTES_DEFAULT } from './value-log/index.ts';
