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
 */
import { ClosedError, InvalidArgumentError, StorageError } from '../runtime/index.ts';
import { GroupCommit, type GroupCommitStats, type WriteQueueLimits, WRITE_QUEUE_LIMITS_DEFAULT } from './group-commit.ts';
import { checkBytes, DATA_SPACE, dataKey, hintKey, hintRange, metaKey, ownedCopy, parseHintKey, partitionRange, setAsideKey, userKeyOf } from './key-layout.ts';
import { ReadBatch } from './read-batch.ts';
import type { EngineKind, HintWrite, RecordWrite, Storage, StoredHint, StoredRecord } from './storage.ts';

/** One operation of an engine batch (engine keys). */
export type LevelBatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

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

/** Options shared by every engine. */
export interface EngineOptions {
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
}

/** Counters of one storage instance (tests, metrics). */
export type StorageStats = GroupCommitStats & { readBatches: number; reads: number };

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
  readonly #commits: GroupCommit<LevelBatchOp>;
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
    this.#batchOptions = options.syncWrites === true ? { sync: true } : {};
    this.#readMode = options.readMode ?? 'sync';
    const limits = { ...WRITE_QUEUE_LIMITS_DEFAULT, ...options.writeQueue };
    if (!(limits.entriesMax >= 1 && limits.bytesMax >= 1)) throw new InvalidArgumentError('writeQueue limits must be >= 1');
    this.#commits = new GroupCommit<LevelBatchOp>((ops) => this.#applyBatch(ops), limits);
  }

  /** Constructs (not opens) the engine database, keys and values encoded 'view'. Loaded lazily so unused engines cost nothing. */
  protected abstract createDatabase(): Promise<LevelDatabase>;

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
    this.#openDb('get');
    const engineKey = dataKey(partition, key);
    let value: Uint8Array | undefined;
    try {
      if (this.#getSync !== undefined) {
        this.#syncReads++;
        value = this.#getSync(engineKey);
      } else {
        value = await this.#reads.get(engineKey);
      }
    } catch (e) {
      throw this.#engineError('get', e);
    }
    return value === undefined ? undefined : this.#owned(value);
  }

  async write(batch: readonly RecordWrite[]): Promise<void> {
    this.#openDb('write');
    if (!Array.isArray(batch)) throw new InvalidArgumentError('write batch must be an array');
    const ops: LevelBatchOp[] = new Array(batch.length);
    let bytes = 0;
    for (let i = 0; i < batch.length; i++) {
      const w = batch[i]!;
      const key = dataKey(w.partition, w.key);
      bytes += key.length;
      if (w.record === undefined) {
        ops[i] = { type: 'del', key };
      } else {
        checkBytes('record', w.record);
        bytes += w.record.length;
        ops[i] = { type: 'put', key, value: this.#traits.retainsInput ? ownedCopy(w.record) : w.record };
      }
    }
    if (ops.length === 0) return;
    await this.#commits.submit(ops, bytes);
  }

  async *iteratePartition(partition: number, opts: { readonly after?: Uint8Array } = {}): AsyncGenerator<StoredRecord, void, undefined> {
    const whole = partitionRange(partition);
    const range = opts.after === undefined ? whole : { gt: dataKey(partition, opts.after), lt: whole.lt };
    yield* this.#scan('iteratePartition', range, (k, v) => ({ key: userKeyOf(k), record: this.#owned(v) }));
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
    const record = await this.#read(db, from, 'setAside');
    if (record === undefined) return;
    await this.#commits.submit(
      [
        { type: 'put', key: to, value: record },
        { type: 'del', key: from },
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
    checkBytes('meta value', value);
    const stored = this.#traits.retainsInput ? ownedCopy(value) : value;
    await this.#commits.submit([{ type: 'put', key, value: stored }], key.length + value.length);
  }

  async estimateSize(): Promise<{ keys?: number; bytes?: number }> {
    const db = this.#db;
    if (this.#state !== 'open' || db === undefined) return {};
    try {
      if (this.engine === 'rocksdb' && db.getProperty !== undefined) {
        const keys = Number(db.getProperty('rocksdb.estimate-num-keys'));
        const bytes = Number(db.getProperty('rocksdb.estimate-live-data-size'));
        return { ...(Number.isFinite(keys) ? { keys } : {}), ...(Number.isFinite(bytes) ? { bytes } : {}) };
      }
      if (db.approximateSize !== undefined) return { bytes: await db.approximateSize(DATA_SPACE.gte, DATA_SPACE.lt) };
    } catch {
      // An estimate is best effort: a closing or failing engine just has none.
    }
    return {};
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

  /** Coalescing counters: engineBatches < writeCalls and readBatches < reads. */
  stats(): StorageStats {
    const batched = this.#reads.stats();
    return { ...this.#commits.stats(), readBatches: batched.readBatches + this.#syncReads, reads: batched.reads + this.#syncReads };
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
    if (this.#state !== 'opening') throw this.#closedError('open'); // close() was called meanwhile; it closes db
    this.#state = 'open';
  }

  async #doClose(): Promise<void> {
    try {
      await this.#opening?.catch(() => undefined);
      await this.#commits.idle();
      if (this.#db !== undefined) await this.#db.close();
    } catch (e) {
      throw new StorageError(`${this.#traits.description}: close failed: ${messageOf(e)}`, { cause: e });
    } finally {
      this.#db = undefined;
      this.#getSync = undefined;
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

  async #applyBatch(ops: readonly LevelBatchOp[]): Promise<void> {
    try {
      await this.#db!.batch(ops as LevelBatchOp[], this.#batchOptions);
    } catch (e) {
      throw this.#engineError('write', e);
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
    if (e instanceof ClosedError || e instanceof StorageError) return e;
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
