/**
 * The one Storage implementation, over any abstract-level database opened with
 * keyEncoding/valueEncoding 'view'. Public methods check the lifecycle state
 * and validate arguments, map keys through key-layout.ts, funnel every
 * mutation through group commit, copy whatever the engine returns into owned
 * Uint8Arrays, and turn engine failures into StorageError (ClosedError once
 * closing). Engine subclasses only say how to construct their database.
 *
 * Lifecycle: new -> opening -> open -> closing -> closed. Nothing works before
 * open() resolves; close() refuses new calls at once, lets accepted writes
 * finish, then closes the engine; after that every method rejects with
 * ClosedError (including open(): an instance is opened at most once).
 *
 * Engines with a value-log directory (the disk engines) keep large data
 * records in a value log (value-log/): the batch apply step hands each batch
 * to it, and reads resolve the pointers it leaves in the engine.
 */
import { ClosedError, InvalidArgumentError, StorageCorruptionError, StorageError } from '../runtime/index.ts';
import { type CommitOp, inlineOp, type LevelBatchOp } from './commit-ops.ts';
import { GroupCommit, type GroupCommitStats, type WriteQueueLimits, WRITE_QUEUE_LIMITS_DEFAULT } from './group-commit.ts';
import { checkBytes, DATA_SPACE, dataKey, hintKey, hintRange, metaKey, ownedCopy, parseHintKey, partitionRange, setAsideKey, userKeyOf } from './key-layout.ts';
import { ReadBatch } from './read-batch.ts';
import type { EngineKind, HintWrite, RecordHead, RecordWrite, Storage, StorageEstimate, StoredHint, StoredRecord } from './storage.ts';
import {
  isPointer, POINTER_TAG, pointerSummary, SUMMARY_POINTER_TAG, VALUE_LOG_META_PREFIX, VALUE_LOG_STATS_NONE, ValueLog, valueLogConfig, type ValueLogSettings, type ValueLogStats,
} from './value-log/index.ts';

export type { LevelBatchOp } from './commit-ops.ts';

/** The slice of an abstract-level iterator we use (abstract-level v1 and v3 agree on it). */
export interface LevelIterator {
  /** Up to `size` rows; an empty array at the end. */
  nextv(size: number): Promise<Array<[Uint8Array, Uint8Array]>>;
  close(): Promise<void>;
}

/**
 * The slice of an abstract-level database we use. RocksLevel is built on
 * abstract-level v1, whose get() rejects with code LEVEL_NOT_FOUND instead of
 * resolving undefined; both are handled.
 */
export interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
  /** Synchronous read, where the engine has one. */
  getSync?(key: Uint8Array): Uint8Array | undefined;
  batch(ops: LevelBatchOp[], options: { sync?: boolean }): Promise<void>;
  iterator(options: { gte: Uint8Array; lt: Uint8Array } | { gt: Uint8Array; lt: Uint8Array }): LevelIterator;
  /** Keys only (abstract-level v2+). */
  keys?(options: { gte: Uint8Array; lt: Uint8Array }): { nextv(size: number): Promise<Uint8Array[]>; close(): Promise<void> };
  /** Bytes on disk of a key range (classic-level). */
  approximateSize?(start: Uint8Array, end: Uint8Array): Promise<number>;
  /** An engine property (LevelDB, RocksDB). */
  getProperty?(name: string): string;
}

/**
 * How data reads reach the engine.
 * - 'sync': the engine's synchronous get on the event loop. A read of data in
 *   the memtable, block cache or OS page cache costs ~5 µs of CPU against
 *   ~25–40 µs for an async native get (thread-pool hop plus promise; measured
 *   on classic-level), so on a CPU-bound node this is the cheaper way; a read
 *   that misses to a slow disk blocks the loop while it waits.
 * - 'batched': async getMany of every read issued in one turn (read-batch.ts);
 *   never blocks the loop, for data sets far larger than memory on slow disks.
 * Engines without a synchronous get always use 'batched'.
 */
export type ReadMode = 'sync' | 'batched';

/** Options shared by every engine (the value-log settings apply to disk engines only). */
export interface EngineOptions extends ValueLogSettings {
  /** Default 'sync' where the engine supports it. */
  readonly readMode?: ReadMode;
  /** fsync each engine batch before its writes resolve (disk engines). */
  readonly syncWrites?: boolean;
  /** Bounds of the group-commit queue; defaults WRITE_QUEUE_LIMITS_DEFAULT. */
  readonly writeQueue?: Partial<WriteQueueLimits>;
}

/** What an engine subclass tells the base about itself. */
export interface EngineTraits {
  readonly engine: EngineKind;
  readonly persistent: boolean;
  /** The engine keeps references to the value arrays it is given, so records are copied before writing. */
  readonly retainsInput: boolean;
  /** For error messages, e.g. "leveldb at /var/lib/dynamo". */
  readonly description: string;
  /** Directory of the value log; none: no value log (memory). */
  readonly valueLogDir?: string;
}

/** Counters of one storage instance (tests, metrics); `valueLog` is all zeros without a value log. */
export type StorageStats = GroupCommitStats & { readBatches: number; reads: number; valueLog: ValueLogStats };

/** Keys fetched per step when counting them. */
const COUNT_KEYS_PER_STEP = 1000;

/** Rows fetched per iterator step; the native engines also cap each step by bytes. */
const ITERATE_ROWS_PER_STEP = 32;

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

/** Storage over an abstract-level database; see the file header. */
export abstract class AbstractStorage implements Storage {
  readonly engine: EngineKind;
  readonly supports: { readonly persistent: boolean };
  readonly #traits: EngineTraits;
  readonly #batchOptions: { sync?: boolean };
  readonly #commits: GroupCommit<CommitOp>;
  readonly #syncWrites: boolean;
  readonly #valueLogConfig: ReturnType<typeof valueLogConfig>;
  #valueLog: ValueLog | undefined;
  readonly #reads = new ReadBatch((keys) => this.#db!.getMany(keys));
  readonly #readMode: ReadMode;
  /** Bound synchronous get once open, when reads are 'sync' and the engine has one. */
  #getSync: ((key: Uint8Array) => Uint8Array | undefined) | undefined;
  #syncReads = 0;
  #state: State = 'new';
  #db: LevelDatabase | undefined;
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  protected constructor(traits: EngineTraits, options: EngineOptions = {}) {
    this.engine = traits.engine;
    this.supports = { persistent: traits.persistent };
    this.#traits = traits;
    this.#syncWrites = options.syncWrites === true;
    this.#batchOptions = this.#syncWrites ? { sync: true } : {};
    this.#readMode = options.readMode ?? 'sync';
    this.#valueLogConfig = valueLogConfig(options);
    const limits = { ...WRITE_QUEUE_LIMITS_DEFAULT, ...options.writeQueue };
    if (!(limits.entriesMax >= 1 && limits.bytesMax >= 1)) throw new InvalidArgumentError('writeQueue limits must be >= 1');
    this.#commits = new GroupCommit<CommitOp>((ops) => this.#applyBatch(ops), limits);
  }

  /** Constructs (not opens) the engine database, keys and values encoded 'view'. Loaded lazily so unused engines cost nothing. */
  protected abstract createDatabase(): Promise<LevelDatabase>;

  /**
   * Runs after value-log GC found live entries and before it submits their
   * moves. A seam for tests to race a client write against a move; production
   * engines do not override it.
   */
  protected beforeValueLogMove(): Promise<void> {
    return Promise.resolve();
  }

  open(): Promise<void> {
    if (this.#state === 'open') return Promise.resolve();
    if (this.#state === 'opening') return this.#opening!;
    if (this.#state !== 'new') return Promise.reject(this.#closedError('open'));
    this.#state = 'opening';
    this.#opening = this.#doOpen().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#state = 'closing';
      this.#closing = this.#doClose();
    }
    return this.#closing;
  }

  async get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    const head = await this.#readData('get', partition, key, false);
    return head?.record;
  }

  /** See Storage.getSummary: a pointer row's summary is answered from the row, without the value log. */
  getSummary(partition: number, key: Uint8Array): Promise<RecordHead | undefined> {
    return this.#readData('getSummary', partition, key, true);
  }

  /** A data key's record, or with `summaries` the summary its pointer row carries if it has one. */
  async #readData(op: string, partition: number, key: Uint8Array, summaries: boolean): Promise<RecordHead | undefined> {
    this.#openDb(op);
    const engineKey = dataKey(partition, key);
    let value: Uint8Array | undefined;
    // An async read may see a pointer whose segment GC retires before it is read.
    const release = this.#getSync === undefined ? this.#valueLog?.pin() : undefined;
    try {
      if (this.#getSync !== undefined) {
        this.#syncReads++;
        value = this.#getSync(engineKey);
      } else {
        value = await this.#reads.get(engineKey);
      }
      if (value === undefined) return undefined;
      const summary = summaries ? pointerSummary(value) : undefined;
      return summary !== undefined ? { summary: ownedCopy(summary) } : { record: this.#record(value) };
    } catch (e) {
      throw this.#engineError(op, e);
    } finally {
      release?.();
    }
  }

  async write(batch: readonly RecordWrite[]): Promise<void> {
    this.#openDb('write');
    if (!Array.isArray(batch)) throw new InvalidArgumentError('write batch must be an array');
    const ops: CommitOp[] = new Array(batch.length);
    let bytes = 0;
    for (let i = 0; i < batch.length; i++) {
      const w = batch[i]!;
      const key = dataKey(w.partition, w.key);
      bytes += key.length;
      if (w.record !== undefined) {
        checkBytes('record', w.record);
        if (w.record[0] === POINTER_TAG || w.record[0] === SUMMARY_POINTER_TAG) {
          throw new InvalidArgumentError(`a record must not begin with byte 0x${w.record[0].toString(16)} (a value-log pointer tag)`);
        }
        bytes += w.record.length;
      }
      const record = w.record !== undefined && this.#traits.retainsInput ? ownedCopy(w.record) : w.record;
      // Only a disk engine's value log stores summaries; without one the function is never asked.
      const summary = w.record !== undefined && this.#traits.valueLogDir !== undefined ? w.summary : undefined;
      ops[i] = summary === undefined ? { type: 'record', key, record } : { type: 'record', key, record, summary };
    }
    if (ops.length === 0) return;
    // The value log holds writes back while its garbage outruns GC (a bound on disk use).
    const stalled = this.#valueLog?.admission();
    if (stalled !== undefined) {
      await stalled;
      this.#openDb('write');
    }
    await this.#commits.submit(ops, bytes);
  }

  async *iteratePartition(partition: number, opts: { readonly after?: Uint8Array } = {}): AsyncGenerator<StoredRecord, void, undefined> {
    const whole = partitionRange(partition);
    const range = opts.after === undefined ? whole : { gt: dataKey(partition, opts.after), lt: whole.lt };
    // The engine iterator reads a snapshot, whose pointers may name segments GC retires meanwhile.
    const release = this.#valueLog?.pin();
    try {
      yield* this.#scan('iteratePartition', range, (k, v) => ({ key: userKeyOf(k), record: this.#recordOrPointer(v) }));
    } finally {
      release?.();
    }
  }

  /** Walk `range` in batches of ITERATE_ROWS_PER_STEP, mapping each row; fails once the database closes under it. */
  async *#scan<T>(op: string, range: { readonly gte: Uint8Array; readonly lt: Uint8Array } | { readonly gt: Uint8Array; readonly lt: Uint8Array }, row: (k: Uint8Array, v: Uint8Array) => T): AsyncGenerator<T, void, undefined> {
    const db = this.#openDb(op);
    let it: LevelIterator;
    try {
      it = db.iterator(range);
    } catch (e) {
      throw this.#engineError('iterate', e);
    }
    try {
      for (;;) {
        this.#openDb(op);
        let rows: Array<[Uint8Array, Uint8Array]>;
        try {
          rows = await it.nextv(ITERATE_ROWS_PER_STEP);
        } catch (e) {
          throw this.#engineError('iterate', e);
        }
        if (rows.length === 0) return;
        for (const [k, v] of rows) yield row(k, v);
      }
    } finally {
      // Already closed by the engine if the database closed under us; nothing to report then.
      await it.close().catch(() => undefined);
    }
  }

  async setAside(partition: number, key: Uint8Array): Promise<void> {
    const db = this.#openDb('setAside');
    const from = dataKey(partition, key);
    const to = setAsideKey(partition, key);
    // Set-aside bytes are always inline, so they never keep a segment alive.
    const release = this.#valueLog?.pin();
    let record: Uint8Array | undefined;
    try {
      const stored = await this.#read(db, from, 'setAside');
      record = stored === undefined ? undefined : this.#recordOrPointer(stored);
    } catch (e) {
      throw this.#engineError('setAside', e);
    } finally {
      release?.();
    }
    if (record === undefined) return;
    await this.#commits.submit(
      [
        { type: 'put', key: to, value: record },
        { type: 'record', key: from, record: undefined },
      ],
      from.length + to.length + record.length,
    );
  }

  async getSetAside(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    const db = this.#openDb('getSetAside');
    return this.#read(db, setAsideKey(partition, key), 'getSetAside');
  }

  async writeHints(batch: readonly HintWrite[]): Promise<void> {
    this.#openDb('writeHints');
    if (!Array.isArray(batch)) throw new InvalidArgumentError('hint batch must be an array');
    const ops: LevelBatchOp[] = [];
    let bytes = 0;
    for (const h of batch) {
      const key = hintKey(h.target, h.partition, h.key);
      bytes += key.length;
      if (h.value === undefined) {
        ops.push({ type: 'del', key });
      } else {
        checkBytes('hint', h.value);
        bytes += h.value.length;
        ops.push({ type: 'put', key, value: this.#traits.retainsInput ? ownedCopy(h.value) : h.value });
      }
    }
    if (ops.length === 0) return;
    await this.#commits.submit(ops, bytes);
  }

  async getHint(target: string, partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    const db = this.#openDb('getHint');
    return this.#read(db, hintKey(target, partition, key), 'getHint');
  }

  async *iterateHints(opts: { readonly target?: string } = {}): AsyncGenerator<StoredHint, void, undefined> {
    yield* this.#scan('iterateHints', hintRange(opts.target), (k, v) => ({ ...parseHintKey(k), value: this.#owned(v) }));
  }

  async getMeta(name: string): Promise<Uint8Array | undefined> {
    const db = this.#openDb('getMeta');
    return this.#read(db, metaKey(name), 'getMeta');
  }

  async putMeta(name: string, value: Uint8Array): Promise<void> {
    this.#openDb('putMeta');
    const key = metaKey(name);
    if (name.startsWith(VALUE_LOG_META_PREFIX)) throw new InvalidArgumentError(`meta names beginning with '${VALUE_LOG_META_PREFIX}' are reserved`);
    checkBytes('meta value', value);
    const stored = this.#traits.retainsInput ? ownedCopy(value) : value;
    await this.#commits.submit([{ type: 'put', key, value: stored }], key.length + value.length);
  }

  async estimateSize(): Promise<StorageEstimate> {
    const db = this.#db;
    if (this.#state !== 'open' || db === undefined) return {};
    // Records in the value log are on disk too, not in the engine's files.
    const log = this.#valueLog?.stats();
    const logBytes = log?.diskBytes ?? 0;
    const valueLog = log === undefined ? {} : { valueLog: { diskBytes: log.diskBytes, liveBytes: log.liveBytes } };
    try {
      if (this.engine === 'rocksdb' && db.getProperty !== undefined) {
        const keys = Number(db.getProperty('rocksdb.estimate-num-keys'));
        const bytes = Number(db.getProperty('rocksdb.estimate-live-data-size'));
        return { ...(Number.isFinite(keys) ? { keys } : {}), ...(Number.isFinite(bytes) ? { bytes: bytes + logBytes } : {}), ...valueLog };
      }
      if (db.approximateSize !== undefined) return { bytes: (await db.approximateSize(DATA_SPACE.gte, DATA_SPACE.lt)) + logBytes, ...valueLog };
    } catch {
      // An estimate is best effort: a closing or failing engine just has none.
    }
    return valueLog;
  }

  async countKeys(): Promise<number> {
    const db = this.#openDb('countKeys');
    let count = 0;
    const it = db.keys !== undefined ? db.keys(DATA_SPACE) : db.iterator(DATA_SPACE);
    try {
      for (;;) {
        this.#openDb('countKeys');
        const rows = await it.nextv(COUNT_KEYS_PER_STEP);
        if (rows.length === 0) return count;
        count += rows.length;
      }
    } catch (e) {
      throw e instanceof ClosedError ? e : this.#engineError('countKeys', e);
    } finally {
      await it.close().catch(() => undefined);
    }
  }

  /** Coalescing counters (engineBatches < writeCalls, readBatches < reads) and the value log's. */
  stats(): StorageStats {
    const batched = this.#reads.stats();
    return {
      ...this.#commits.stats(),
      readBatches: batched.readBatches + this.#syncReads,
      reads: batched.reads + this.#syncReads,
      valueLog: this.#valueLog?.stats() ?? VALUE_LOG_STATS_NONE,
    };
  }

  /**
   * Runs value-log GC now on every sealed segment under the GC ratio and
   * resolves once GC is idle (it otherwise runs in the background after
   * writes); rejects with StorageError if GC failed on a segment. Without a
   * value log it does nothing.
   */
  async compactValueLog(): Promise<void> {
    this.#openDb('compactValueLog');
    await this.#valueLog?.compact();
  }

  async #doOpen(): Promise<void> {
    let db: LevelDatabase;
    try {
      db = await this.createDatabase();
      await db.open();
    } catch (e) {
      if (this.#state === 'opening') this.#state = 'new';
      throw new StorageError(`${this.#traits.description}: open failed: ${messageOf(e)}`, { cause: e });
    }
    this.#db = db;
    if (this.#readMode === 'sync' && typeof db.getSync === 'function') this.#getSync = db.getSync.bind(db);
    if (this.#traits.valueLogDir !== undefined) {
      try {
        this.#valueLog = await this.#openValueLog(db, this.#traits.valueLogDir);
      } catch (e) {
        // As if the engine had not opened: close it, and allow another open().
        this.#db = undefined;
        this.#getSync = undefined;
        await db.close().catch(() => undefined);
        if (this.#state === 'opening') this.#state = 'new';
        throw new StorageError(`${this.#traits.description}: opening the value log failed: ${messageOf(e)}`, { cause: e });
      }
    }
    if (this.#state !== 'opening') throw this.#closedError('open'); // close() was called meanwhile; it closes db
    this.#state = 'open';
  }

  /** The value log in `dir`; its live-byte counters are meta entries. */
  async #openValueLog(db: LevelDatabase, dir: string): Promise<ValueLog> {
    const scan = async (range: { gte: Uint8Array; lt: Uint8Array }): Promise<Array<[Uint8Array, Uint8Array]>> => {
      const rows: Array<[Uint8Array, Uint8Array]> = [];
      const it = db.iterator(range);
      try {
        for (let step = await it.nextv(COUNT_KEYS_PER_STEP); step.length > 0; step = await it.nextv(COUNT_KEYS_PER_STEP)) rows.push(...step);
      } finally {
        await it.close();
      }
      return rows;
    };
    return ValueLog.open(
      { ...this.#valueLogConfig, dir, syncWrites: this.#syncWrites, description: this.#traits.description },
      {
        submit: (ops, bytes) => this.#commits.submitPatiently(ops, bytes),
        get: (key) => (this.#getSync !== undefined ? Promise.resolve(this.#getSync(key)) : this.#read(db, key, 'value-log GC')),
        beforeMove: () => this.beforeValueLogMove(),
      },
      await ValueLog.readCounters(scan),
    );
  }

  async #doClose(): Promise<void> {
    try {
      await this.#opening?.catch(() => undefined);
      await this.#valueLog?.stop();
      await this.#commits.idle();
      this.#valueLog?.close();
      this.#valueLog = undefined;
      if (this.#db !== undefined) await this.#db.close();
    } catch (e) {
      throw new StorageError(`${this.#traits.description}: close failed: ${messageOf(e)}`, { cause: e });
    } finally {
      this.#db = undefined;
      this.#getSync = undefined;
      this.#valueLog = undefined;
      this.#state = 'closed';
    }
  }

  async #read(db: LevelDatabase, key: Uint8Array, op: string): Promise<Uint8Array | undefined> {
    let value: Uint8Array | undefined;
    try {
      value = await db.get(key);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.#engineError(op, e);
    }
    return value === undefined ? undefined : this.#owned(value);
  }

  /**
   * Applies one group-commit batch (never two at once). With a value log:
   * append and plan (and sync the log when the batch is synced), apply the
   * engine batch, then let the log account for it.
   */
  async #applyBatch(batch: readonly CommitOp[]): Promise<void> {
    const db = this.#db!;
    const log = this.#valueLog;
    try {
      if (log === undefined) {
        await db.batch(batch.map(inlineOp), this.#batchOptions);
        return;
      }
      const getMany = (keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> => db.getMany(keys);
      const plan = await log.prepare(batch, { getSync: this.#getSync, getMany });
      await db.batch(plan.ops, plan.mustSync ? { sync: true } : this.#batchOptions);
      log.commit(plan);
    } catch (e) {
      throw this.#engineError('write', e);
    }
  }

  /** A data key's stored value as the caller's record: inline bytes, or what its pointer refers to. */
  #record(value: Uint8Array): Uint8Array {
    if (!isPointer(value) || this.#traits.valueLogDir === undefined) return this.#owned(value);
    // A disk engine has its value log from open to close: a read that outlived it cannot follow the pointer.
    if (this.#valueLog === undefined) throw this.#closedError('read');
    return this.#valueLog.read(value);
  }

  /**
   * #record, except that a pointer whose bytes are lost or rotten comes back
   * as the pointer bytes themselves (tag 0xfe or 0xfd: no record decodes from them).
   * A partition walk then goes on past one bad entry, its consumers skip it as
   * a record that does not decode, and set-aside keeps where it was.
   */
  #recordOrPointer(value: Uint8Array): Uint8Array {
    try {
      return this.#record(value);
    } catch (e) {
      if (e instanceof StorageCorruptionError) return ownedCopy(value);
      throw e;
    }
  }

  /**
   * A plain Uint8Array the caller owns. Native engines hand back a fresh
   * buffer per read, so a view over its whole ArrayBuffer is already owned
   * and the copy (16–64 KiB per read for large values) is skipped; memory-level
   * returns the stored array itself, and pooled slices share memory, so those
   * are copied.
   */
  #owned(value: Uint8Array): Uint8Array {
    if (!this.#traits.retainsInput && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) {
      return new Uint8Array(value.buffer, 0, value.byteLength);
    }
    return ownedCopy(value);
  }

  #openDb(op: string): LevelDatabase {
    if (this.#state !== 'open') throw this.#closedError(op);
    return this.#db!;
  }

  #closedError(op: string): ClosedError {
    const why = this.#state === 'new' || this.#state === 'opening' ? 'not open' : 'closed';
    return new ClosedError(`${this.#traits.description}: ${op}: storage is ${why}`);
  }

  #engineError(op: string, e: unknown): Error {
    if (e instanceof ClosedError || e instanceof StorageError || e instanceof StorageCorruptionError) return e;
    if (this.#state !== 'open') return new ClosedError(`${this.#traits.description}: ${op}: storage closed`, { cause: e });
    return new StorageError(`${this.#traits.description}: ${op} failed: ${messageOf(e)}`, { cause: e });
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'LEVEL_NOT_FOUND';
}

function messageOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // abstract-level wraps the real reason (e.g. LEVEL_LOCKED) in `cause`.
  return e.cause instanceof Error ? `${e.message} (${e.cause.message})` : e.message;
}
