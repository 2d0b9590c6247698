/**
 * The storage port the rest of the node sees. Records are opaque bytes here
 * (the record codec in record-codec.ts turns them into DVV objects); keys are
 * laid out by partition so one partition's keys can be walked in key order
 * (anti-entropy and handoff walk partitions).
 *
 * Contract:
 * - `write` applies its whole batch atomically. Concurrent `write` calls may
 *   be coalesced into one engine batch (group commit); each call resolves
 *   only once its entries are applied and, if `syncWrites` is set, fsynced.
 *   A `get` issued after a `write` resolved sees it.
 * - After `close()` resolves every method rejects with ClosedError.
 * - Engine failures reject with StorageError; nothing is silently dropped.
 * - Returned Uint8Arrays are owned by the caller (never reused by the engine).
 * - A data record must not begin with byte 0xFE or 0xFD: disk engines keep
 *   large records in a value log and store a pointer tagged 0xFE (0xFD: a
 *   pointer followed by the record's summary) in their place (write rejects
 *   such a record with InvalidArgumentError; the record codec's records begin
 *   with 0x01). Meta names beginning with 'valuelog/' are reserved for the
 *   value log's counters.
 * - A write may carry a summary of its record (record-summary.ts: the clock
 *   and the values' fingerprints, not their bytes). A storage that keeps the
 *   record out of line keeps the summary beside its pointer, atomically with
 *   it, so `getSummary` answers from the small row without reading the value
 *   log; any other storage ignores it.
 * - A record whose value-log bytes are missing or fail their checksum is
 *   never returned: `get` rejects with StorageCorruptionError (the bytes on
 *   disk are not what was written, as for a record that does not decode), a
 *   partition walk yields the pointer row (tag 0xFE, or 0xFD followed by the
 *   summary; no record decoder accepts either) so one bad entry does not end
 *   the walk, and `setAside` keeps the pointer. I/O failures reject with StorageError.
 */

export type EngineKind = 'leveldb' | 'rocksdb' | 'memory';

/** One record to store (record = bytes from the record codec) or remove (record undefined). */
export interface RecordWrite {
  readonly partition: number;
  readonly key: Uint8Array;
  readonly record: Uint8Array | undefined;
  /**
   * The record's summary, asked for only when the storage keeps the record
   * out of line (so small records cost nothing): called at most once,
   * synchronously, while the write is applied. A summary that throws is
   * treated as absent.
   */
  readonly summary?: () => Uint8Array;
}

/** What `getSummary` found under a key: the summary written with its record, or the record itself. */
export type RecordHead =
  | { readonly summary: Uint8Array; readonly record?: undefined }
  | { readonly record: Uint8Array; readonly summary?: undefined };

/** Store (value) or remove (value undefined) the hint held for `target` under one key. */
export interface HintWrite {
  readonly target: string;
  readonly partition: number;
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

export interface StoredHint {
  readonly target: string;
  readonly partition: number;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface StoredRecord {
  readonly key: Uint8Array;
  readonly record: Uint8Array;
}

/** What Storage.estimateSize knows; what an engine cannot estimate is absent. */
export interface StorageEstimate {
  readonly keys?: number;
  /** Bytes on disk, value-log segments included. */
  readonly bytes?: number;
  /** The value log's segment files (docs/value-log.md): bytes on disk, and the bytes some key still points at. */
  readonly valueLog?: { readonly diskBytes: number; readonly liveBytes: number };
}

export interface Storage {
  readonly engine: EngineKind;
  /** Optional features, so tests skip by capability, never by engine name. */
  readonly supports: { readonly persistent: boolean };
  open(): Promise<void>;
  close(): Promise<void>;
  get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * The key's summary if the storage kept one with its record (see the
   * header), else its record as `get` returns it (same errors); undefined: no
   * record. A summary is answered without reading the record, so a record
   * whose bytes rotted behind an intact summary is not noticed here.
   */
  getSummary?(partition: number, key: Uint8Array): Promise<RecordHead | undefined>;
  write(batch: readonly RecordWrite[]): Promise<void>;
  /**
   * Every record of one partition, in ascending key order (bytewise); with
   * `after`, only the records whose key sorts after it (a walk resumed where
   * an earlier one stopped).
   */
  iteratePartition(partition: number, opts?: { readonly after?: Uint8Array }): AsyncIterable<StoredRecord>;
  /**
   * Move the record stored under a data key out of the data space, atomically,
   * into a set-aside space no read, partition walk or replication sees (for a
   * record that failed to decode: the key becomes writable again and is
   * rebuilt from other replicas, while the bad bytes stay for an operator).
   * A key with no record is a no-op. Later set-asides of the same key replace
   * the kept bytes.
   */
  setAside(partition: number, key: Uint8Array): Promise<void>;
  /** The bytes set aside for a key, if any (operators and tests). */
  getSetAside(partition: number, key: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * Hints (hinted handoff): versions this node holds for another node while
   * it is down, in a space of their own that no read, partition walk or
   * anti-entropy tree sees. Values are opaque (lib/handoff encodes them).
   * A batch applies atomically, like `write`.
   */
  writeHints(batch: readonly HintWrite[]): Promise<void>;
  getHint(target: string, partition: number, key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Every hint (or those for `target`), ordered by target, partition, key. */
  iterateHints(opts?: { readonly target?: string }): AsyncIterable<StoredHint>;
  /** Small named node metadata (actor epoch, ...), kept apart from data keys. */
  getMeta(name: string): Promise<Uint8Array | undefined>;
  putMeta(name: string, value: Uint8Array): Promise<void>;
  /**
   * The engine's cheap estimate of the data it holds (metrics): `bytes` on
   * disk (LevelDB's approximate size of the data key space, RocksDB's
   * live-data estimate) and `keys` where the engine keeps an estimate
   * (RocksDB); what it cannot estimate is absent. Reads no key; never rejects.
   */
  estimateSize?(): Promise<StorageEstimate>;
  /** Count the data keys by walking the key space, keys only: O(keys), for an occasional background refresh. */
  countKeys?(): Promise<number>;
}
