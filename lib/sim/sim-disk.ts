/**
 * A simulated data directory with the failure modes of a real one. Each node
 * life mounts a session (the Storage port) over one memory engine that
 * outlives it, so data survives restarts; what a crash, a power loss, a bad
 * disk or a restored backup do to that data is decided here, from a seeded
 * generator, on the simulator's clock.
 *
 * The model (what LevelDB on Linux does, simplified):
 * - A write takes virtual time to land (`writeLatencyMs*`); writes land in the
 *   order they were submitted (group commit keeps call order). A landed write
 *   is visible and survives a process crash: it sits in the OS page cache.
 * - A landed write becomes durable after `writebackMs` (OS writeback), or at
 *   once with `syncWrites`. A power loss drops a random suffix of the landed
 *   writes that are not durable yet (the unsynced tail of the log).
 * - A process crash drops a random suffix of the writes that had not landed
 *   (the process died before or during the write syscall); their callers
 *   never learn the outcome, like a killed process.
 * - `failWrites` makes landing writes fail with EIO (a rate) or ENOSPC (all)
 *   without applying them.
 * - `snapshot`/`restore` copy the whole directory (a volume backup) and put it back.
 * - `wipe` loses everything (a new, empty directory).
 * Meta writes and set-asides are rare and treated as landed and durable at once.
 * - A write's record summary (storage.ts) is kept beside the record, as a
 *   disk engine's value log keeps it beside its pointer, and `getSummary`
 *   answers with it; here every record written with one keeps it, so the
 *   replica's summary paths run on every write the simulator makes.
 */
import { assert, ClosedError, StorageCorruptionError, StorageError, type SeededRandom } from '../runtime/index.ts';
import { createStorage, type EngineKind, type HintWrite, type RecordHead, type RecordWrite, type Storage, type StoredHint, type StoredRecord } from '../storage/index.ts';
import type { SimScheduler } from './scheduler.ts';

/** How a simulated disk behaves; every field can change during a run. */
export interface SimDiskOptions {
  /** Virtual time for a write to land, uniform in [min, max]. */
  writeLatencyMsMin?: number;
  writeLatencyMsMax?: number;
  /** Virtual time after which a landed write survives power loss. */
  writebackMs?: number;
  /** Every landed write is durable at once (`--sync-writes`). */
  syncWrites?: boolean;
  /** Virtual time a read of a record takes (0, the default: it is answered at once). */
  readLatencyMs?: number;
}

/** Injected write failures: EIO fails each write with probability `rate`; ENOSPC fails them all. */
export type WriteFailure = { kind: 'EIO'; rate: number } | { kind: 'ENOSPC' };

/** A copy of a whole data directory. */
/** One data key as the disk holds it: its record and the summary written with it. */
interface StoredEntry {
  readonly partition: number;
  readonly key: Uint8Array;
  readonly record: Uint8Array;
  readonly summary?: Uint8Array | undefined;
}

export interface DiskSnapshot {
  readonly takenAtMs: number;
  readonly data: ReadonlyMap<string, StoredEntry>;
  readonly meta: ReadonlyMap<string, Uint8Array>;
  readonly hints: ReadonlyMap<string, HintWrite>;
}

/** Counters of what the disk did (the swarm reports how often each rare path was hit). */
export interface SimDiskStats {
  writesLanded: number;
  writesFailed: number;
  /** Writes not landed when their process crashed, and dropped. */
  writesDroppedByCrash: number;
  /** Landed-but-unsynced writes undone by power loss. */
  writesLostByPowerLoss: number;
  /** Reads refused because the record failed its checksum (value-log style rot). */
  checksumFailures: number;
  /** Writes submitted while an earlier write of one of their keys had not landed (a replica building on its pending write). */
  writesOverPending: number;
  /** Failed writes of a key a later write, already submitted, also writes (that write was built on this one). */
  failuresUnderLaterWrite: number;
}

interface PendingWrite {
  readonly session: DiskSession;
  readonly batch: readonly RecordWrite[];
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  state: 'pending' | 'landed' | 'dropped';
}

/** One landed, not yet durable write and what it replaced (for power loss). */
interface UnsyncedWrite {
  readonly durableAtMs: number;
  readonly undo: readonly { readonly mirrorKey: string; readonly partition: number; readonly key: Uint8Array; readonly previous: StoredEntry | undefined }[];
}

const latin1 = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
const dataMirrorKey = (partition: number, key: Uint8Array): string => `${partition}/${latin1(key)}`;

/** A write's summary as a disk engine keeps it: one that throws or is empty is left out. */
function summaryOf(w: RecordWrite): Uint8Array | undefined {
  if (w.summary === undefined) return undefined;
  try {
    const bytes = w.summary();
    return bytes.length > 0 ? Uint8Array.from(bytes) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether two batches write a common data key. */
function sharesKey(a: readonly RecordWrite[], b: readonly RecordWrite[]): boolean {
  return a.some((x) => b.some((y) => x.partition === y.partition && Buffer.compare(x.key, y.key) === 0));
}

/** One node's disk across its lives. */
export class SimDisk {
  readonly stats: SimDiskStats = {
    writesLanded: 0,
    writesFailed: 0,
    writesDroppedByCrash: 0,
    writesLostByPowerLoss: 0,
    checksumFailures: 0,
    writesOverPending: 0,
    failuresUnderLaterWrite: 0,
  };
  readonly #scheduler: SimScheduler;
  readonly #random: SeededRandom;
  #opts: Required<SimDiskOptions>;
  #inner: Storage = createStorage({ engine: 'memory' });
  #opened: Promise<void> | undefined;
  #session: DiskSession | undefined;
  /** Exactly what the engine holds, kept synchronously so undo and snapshots need no I/O. */
  #data = new Map<string, StoredEntry>();
  #meta = new Map<string, Uint8Array>();
  /** Mirror of the hint space (durable at once, like meta), so snapshots and restores cover it. */
  #hints = new Map<string, HintWrite>();
  #pending: PendingWrite[] = [];
  #unsynced: UnsyncedWrite[] = [];
  /** When the last submitted write lands; later ones land no earlier (call order). */
  #lastLandAtMs = 0;
  #failure: WriteFailure | undefined;
  /** Rotten records whose reads fail their checksum (see corruptRandomRecord); a record replaced is no longer one. */
  readonly #checksumFailures = new WeakSet<Uint8Array>();

  constructor(scheduler: SimScheduler, random: SeededRandom, opts: SimDiskOptions = {}) {
    this.#scheduler = scheduler;
    this.#random = random;
    this.#opts = { writeLatencyMsMin: 0, writeLatencyMsMax: 1, writebackMs: 5000, syncWrites: false, readLatencyMs: 0 };
    this.configure(opts);
  }

  /** Change how the disk behaves from now on (a disk that turns slow, say). */
  configure(opts: SimDiskOptions): void {
    this.#opts = { ...this.#opts, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
    assert(this.#opts.writeLatencyMsMin >= 0 && this.#opts.writeLatencyMsMax >= this.#opts.writeLatencyMsMin, 'write latency bounds');
    assert(this.#opts.readLatencyMs >= 0, 'read latency');
  }

  /** Start (or with undefined, stop) failing writes as they land. */
  failWrites(failure: WriteFailure | undefined): void {
    this.#failure = failure;
  }

  /** A fresh, unopened Storage over this disk for the next node life. */
  mount(): Storage {
    assert(this.#session === undefined || this.#session.closed, 'a disk is mounted by one node life at a time');
    this.#session = new DiskSession(this);
    return this.#session;
  }

  /**
   * The process using the disk died: writes that had not landed are cut at a
   * random point (those before it land, the rest are lost; `land`/`drop` fix
   * the outcome for scripted scenarios), and the session is closed without its
   * callers hearing back.
   */
  crash(pending: 'random' | 'land' | 'drop' = 'random'): void {
    const session = this.#session;
    if (session !== undefined) session.kill();
    const waiting = this.#pending.filter((p) => p.state === 'pending');
    const landing = pending === 'land' ? waiting.length : pending === 'drop' ? 0 : this.#random.int(waiting.length + 1);
    const pendingWrites = waiting;
    pendingWrites.forEach((p, i) => {
      if (i < landing) this.#land(p, false);
      else {
        p.state = 'dropped';
        this.stats.writesDroppedByCrash++;
      }
    });
    this.#pending = [];
  }

  /**
   * Power loss (after crash()): a random suffix of the landed writes not yet
   * durable is undone (`all`: every one of them, for scripted scenarios).
   */
  powerLoss(lose: 'random' | 'all' = 'random'): void {
    const now = this.#scheduler.nowMs;
    this.#unsynced = this.#unsynced.filter((u) => u.durableAtMs > now);
    const lost = lose === 'all' ? this.#unsynced.length : this.#random.int(this.#unsynced.length + 1);
    const undone = this.#unsynced.splice(this.#unsynced.length - lost, lost);
    const restore: RecordWrite[] = [];
    for (const u of undone.reverse()) {
      for (const step of [...u.undo].reverse()) {
        if (step.previous === undefined) this.#data.delete(step.mirrorKey);
        else this.#data.set(step.mirrorKey, step.previous);
        restore.push({ partition: step.partition, key: step.key, record: step.previous?.record });
      }
      this.stats.writesLostByPowerLoss++;
    }
    if (restore.length > 0) void this.#inner.write(restore);
  }

  /**
   * Bit rot: one random stored record's bytes are replaced by bytes that do
   * not decode (in the engine and its mirror). Undecodable, not merely
   * different: engines checksum their blocks, so rot surfaces as an error or
   * garbage, not as another valid object. Returns false when the disk holds no record.
   */
  async corruptRandomRecord(): Promise<boolean> {
    if (this.#data.size === 0) return false;
    const keys = [...this.#data.keys()].sort();
    const victim = this.#data.get(keys[this.#random.int(keys.length)]!)!;
    const garbage = Uint8Array.from([0xee, ...this.#random.bytes(1 + this.#random.int(12))]);
    // Half the time the rot is where a disk engine's value log would find it: reads of the key
    // fail their checksum (StorageCorruptionError) while walks yield undecodable bytes. Chosen
    // from the garbage itself, so seeds draw the same numbers as before this mode existed.
    // The summary beside a value-log pointer survives rot of the log's bytes; rot of the row itself takes both.
    const logRot = (garbage[1]! & 1) === 1;
    if (logRot) this.#checksumFailures.add(garbage);
    this.#data.set(dataMirrorKey(victim.partition, victim.key), { ...victim, record: garbage, summary: logRot ? victim.summary : undefined });
    const inner = await this.backing();
    await inner.write([{ partition: victim.partition, key: victim.key, record: garbage }]);
    return true;
  }

  /** Throws StorageCorruptionError if the key's stored record is one whose reads fail their checksum. */
  /** @internal Resolves once a read's latency has passed; undefined when reads are answered at once. */
  readDelay(): Promise<void> | undefined {
    const ms = this.#opts.readLatencyMs;
    return ms === 0 ? undefined : new Promise<void>((resolve) => this.#scheduler.schedule(ms, resolve));
  }

  /** @internal The summary kept with the key's record, if any. */
  summaryOf(partition: number, key: Uint8Array): Uint8Array | undefined {
    return this.#data.get(dataMirrorKey(partition, key))?.summary;
  }

  checkReadable(partition: number, key: Uint8Array): void {
    const record = this.#data.get(dataMirrorKey(partition, key))?.record;
    if (record !== undefined && this.#checksumFailures.has(record)) {
      this.stats.checksumFailures++;
      throw new StorageCorruptionError(`sim disk: the record of a key in partition ${partition} fails its checksum`);
    }
  }

  /** A copy of the directory as it is now (landed writes, durable or not). */
  snapshot(): DiskSnapshot {
    return { takenAtMs: this.#scheduler.nowMs, data: new Map(this.#data), meta: new Map(this.#meta), hints: new Map(this.#hints) };
  }

  /** Put back a snapshot (while no life has the disk mounted): everything written since is gone. */
  async restore(snap: DiskSnapshot): Promise<void> {
    assert(this.#session === undefined || this.#session.closed, 'cannot restore a mounted disk');
    const batch: RecordWrite[] = [];
    for (const [k, v] of this.#data) if (!snap.data.has(k)) batch.push({ partition: v.partition, key: v.key, record: undefined });
    for (const v of snap.data.values()) batch.push({ partition: v.partition, key: v.key, record: v.record });
    const inner = await this.backing();
    if (batch.length > 0) await inner.write(batch);
    for (const [name, value] of snap.meta) await inner.putMeta(name, value);
    const hints: HintWrite[] = [];
    for (const [k, h] of this.#hints) if (!snap.hints.has(k)) hints.push({ ...h, value: undefined });
    hints.push(...snap.hints.values());
    if (hints.length > 0) await inner.writeHints(hints);
    this.#data = new Map(snap.data);
    this.#meta = new Map(snap.meta);
    this.#hints = new Map(snap.hints);
    this.#unsynced = [];
  }

  /** Lose every record and meta entry, as if the data directory were deleted. */
  async wipe(): Promise<void> {
    assert(this.#session === undefined || this.#session.closed, 'cannot wipe a mounted disk');
    await this.#inner.close();
    this.#inner = createStorage({ engine: 'memory' });
    this.#opened = undefined;
    this.#data.clear();
    this.#meta.clear();
    this.#hints.clear();
    this.#unsynced = [];
  }

  /** Release the memory at the end of a simulation. */
  async destroy(): Promise<void> {
    await this.#inner.close();
  }

  /** @internal The open backing store. */
  async backing(): Promise<Storage> {
    this.#opened ??= this.#inner.open();
    await this.#opened;
    return this.#inner;
  }

  /** @internal The backing store, which must already be open. */
  get inner(): Storage {
    return this.#inner;
  }

  /** @internal A session's write: lands after the disk's latency, in call order. */
  submit(session: DiskSession, batch: readonly RecordWrite[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const p: PendingWrite = { session, batch, resolve, reject, state: 'pending' };
      if (this.#pending.some((q) => sharesKey(q.batch, batch))) this.stats.writesOverPending++;
      this.#pending.push(p);
      const { writeLatencyMsMin: min, writeLatencyMsMax: max } = this.#opts;
      const now = this.#scheduler.nowMs;
      const landAtMs = Math.max(this.#lastLandAtMs, now + min + this.#random.int(max - min + 1));
      this.#lastLandAtMs = landAtMs;
      this.#scheduler.schedule(landAtMs - now, () => {
        if (p.state !== 'pending') return;
        this.#pending.splice(this.#pending.indexOf(p), 1);
        this.#land(p, true);
      });
    });
  }

  /** @internal Hint writes: landed and durable at once, unless the disk is failing writes. */
  async writeHints(batch: readonly HintWrite[]): Promise<void> {
    const failure = this.#failure;
    if (failure !== undefined && (failure.kind === 'ENOSPC' || this.#random.float() < failure.rate)) {
      this.stats.writesFailed++;
      throw new StorageError(failure.kind === 'ENOSPC' ? 'ENOSPC: no space left on device' : 'EIO: i/o error');
    }
    await this.#inner.writeHints(batch);
    for (const h of batch) {
      const k = `${h.target}/${dataMirrorKey(h.partition, h.key)}`;
      if (h.value === undefined) this.#hints.delete(k);
      else this.#hints.set(k, { target: h.target, partition: h.partition, key: Uint8Array.from(h.key), value: Uint8Array.from(h.value) });
    }
  }

  /** @internal Meta writes and set-asides: landed and durable at once. */
  async immediate(op: 'putMeta' | 'setAside', fn: (inner: Storage) => Promise<void>, name: string, partition = 0, key?: Uint8Array): Promise<void> {
    await fn(this.#inner);
    if (op === 'putMeta') this.#meta.set(name, (await this.#inner.getMeta(name))!);
    else this.#data.delete(dataMirrorKey(partition, key!));
  }

  #land(p: PendingWrite, answer: boolean): void {
    const failure = this.#failure;
    if (answer && failure !== undefined && (failure.kind === 'ENOSPC' || this.#random.float() < failure.rate)) {
      p.state = 'dropped';
      this.stats.writesFailed++;
      if (this.#pending.some((q) => sharesKey(q.batch, p.batch))) this.stats.failuresUnderLaterWrite++;
      p.reject(new StorageError(failure.kind === 'ENOSPC' ? 'ENOSPC: no space left on device' : 'EIO: i/o error'));
      return;
    }
    p.state = 'landed';
    this.stats.writesLanded++;
    const undo: UnsyncedWrite['undo'][number][] = [];
    for (const w of p.batch) {
      const mirrorKey = dataMirrorKey(w.partition, w.key);
      undo.push({ mirrorKey, partition: w.partition, key: w.key, previous: this.#data.get(mirrorKey) });
      if (w.record === undefined) this.#data.delete(mirrorKey);
      else this.#data.set(mirrorKey, { partition: w.partition, key: Uint8Array.from(w.key), record: Uint8Array.from(w.record), summary: summaryOf(w) });
    }
    const durableAtMs = this.#opts.syncWrites ? this.#scheduler.nowMs : this.#scheduler.nowMs + this.#opts.writebackMs;
    if (durableAtMs > this.#scheduler.nowMs) this.#unsynced.push({ durableAtMs, undo });
    const applied = this.#inner.write(p.batch);
    if (answer) applied.then(p.resolve, p.reject);
    else void applied.catch(() => undefined);
  }
}

/** Storage seen by one node life: closes (or dies) without losing the disk's data. */
class DiskSession implements Storage {
  readonly engine: EngineKind;
  readonly supports = { persistent: true } as const;
  readonly #disk: SimDisk;
  #state: 'new' | 'open' | 'closed' = 'new';
  #inflight = 0;
  #idle: (() => void) | undefined;

  constructor(disk: SimDisk) {
    this.#disk = disk;
    this.engine = disk.inner.engine;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** The process died: nothing more is served, and nobody waits for what was in flight. */
  kill(): void {
    this.#state = 'closed';
    this.#inflight = 0;
    this.#idle = undefined;
  }

  async open(): Promise<void> {
    if (this.#state === 'closed') throw new ClosedError('storage session is closed');
    await this.#disk.backing();
    if (this.#state === 'new') this.#state = 'open';
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  get(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    const read = (s: Storage): Promise<Uint8Array | undefined> => {
      this.#disk.checkReadable(partition, key);
      return s.get(partition, key);
    };
    // Without latency the read is answered as before, in the same turn (seeds replay unchanged).
    const delay = this.#disk.readDelay();
    return this.#op('get', delay === undefined ? read : (s) => delay.then(() => read(s)));
  }

  getSummary(partition: number, key: Uint8Array): Promise<RecordHead | undefined> {
    const read = async (s: Storage): Promise<RecordHead | undefined> => {
      const summary = this.#disk.summaryOf(partition, key);
      if (summary !== undefined) return { summary: Uint8Array.from(summary) };
      this.#disk.checkReadable(partition, key);
      const record = await s.get(partition, key);
      return record === undefined ? undefined : { record };
    };
    const delay = this.#disk.readDelay();
    return this.#op('getSummary', delay === undefined ? read : (s) => delay.then(() => read(s)));
  }

  write(batch: readonly RecordWrite[]): Promise<void> {
    return this.#op('write', () => this.#disk.submit(this, batch));
  }

  async *iteratePartition(partition: number, opts?: { readonly after?: Uint8Array }): AsyncIterable<StoredRecord> {
    this.#check('iteratePartition');
    for await (const r of this.#disk.inner.iteratePartition(partition, opts)) {
      this.#check('iteratePartition');
      yield r;
    }
  }

  setAside(partition: number, key: Uint8Array): Promise<void> {
    return this.#op('setAside', () => this.#disk.immediate('setAside', (s) => s.setAside(partition, key), '', partition, key));
  }

  getSetAside(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#op('getSetAside', (s) => s.getSetAside(partition, key));
  }

  writeHints(batch: readonly HintWrite[]): Promise<void> {
    return this.#op('writeHints', () => this.#disk.writeHints(batch));
  }

  getHint(target: string, partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#op('getHint', (s) => s.getHint(target, partition, key));
  }

  async *iterateHints(opts?: { readonly target?: string }): AsyncIterable<StoredHint> {
    this.#check('iterateHints');
    for await (const h of this.#disk.inner.iterateHints(opts)) {
      this.#check('iterateHints');
      yield h;
    }
  }

  getMeta(name: string): Promise<Uint8Array | undefined> {
    return this.#op('getMeta', (s) => s.getMeta(name));
  }

  putMeta(name: string, value: Uint8Array): Promise<void> {
    return this.#op('putMeta', () => this.#disk.immediate('putMeta', (s) => s.putMeta(name, value), name));
  }

  #check(op: string): void {
    if (this.#state !== 'open') throw new ClosedError(`storage ${op}: session is ${this.#state === 'new' ? 'not open' : 'closed'}`);
  }

  /** Accepted calls finish even if close() arrives meanwhile; close() waits for them. */
  async #op<T>(op: string, fn: (s: Storage) => Promise<T>): Promise<T> {
    this.#check(op);
    this.#inflight++;
    try {
      return await fn(this.#disk.inner);
    } finally {
      if (this.#inflight > 0 && --this.#inflight === 0 && this.#idle !== undefined) {
        const idle = this.#idle;
        this.#idle = undefined;
        idle();
      }
    }
  }
}
