/**
 * The value log of one disk storage: large data records live in segment
 * files (segment-files.ts) and the engine keeps a pointer (segment-format.ts),
 * so LSM compactions rewrite 21-byte pointers instead of the records
 * (WiscKey, FAST '16).
 *
 * The storage's batch apply step (serialised by group commit) calls
 * prepare() — append the batch's large records with write syscalls, plan the
 * engine batch with its live-byte counters (batch-plan.ts), and fdatasync the
 * log when the batch will be synced — then applies the engine batch, then
 * commit(). So a pointer is never applied before its bytes were written, nor
 * made durable before they were synced. Bytes appended for a batch that then
 * failed (or a crash between the two steps) are garbage nothing points at.
 *
 * Live bytes per segment are exact (they change in the same engine batch as
 * the pointers), so at open every segment without live bytes is deleted, and
 * GC (gc.ts) compacts a sealed segment once its live bytes fall below
 * `gcLiveRatio` of its size. GC runs in the background, one segment at a
 * time, started after a batch that leaves such a segment (or by compact()),
 * never concurrently with itself; stop() ends it between steps.
 */
import { StorageCorruptionError, StorageError } from '../../runtime/index.ts';
import type { CommitOp, EntryLocation } from '../commit-ops.ts';
import { metaKey, metaNameOf, metaRange } from '../key-layout.ts';
import { keyString, needsTracking, planBatch, type BatchPlan } from './batch-plan.ts';
import { compactSegment, type GcPorts } from './gc.ts';
import { SegmentFiles } from './segment-files.ts';
import { decodeLiveBytes, decodePointer, liveCounterName, liveCounterPrefix, parseLiveCounterName, recordCrc, segmentFileName } from './segment-format.ts';

/** Live bytes assumed for a counter that does not decode: far above any segment, so it is never collected. */
export const UNKNOWN_LIVE_BYTES = 2 ** 52;

/**
 * Garbage (segment bytes no key points at) allowed beyond the live bytes
 * before client writes wait for GC, in segments. GC keeps garbage at or under
 * the live bytes in a steady state (every sealed segment it leaves is at
 * least half live), so writes only wait when they outrun GC, as LevelDB stops
 * writes when compaction falls behind; without it the log would grow without
 * bound under sustained overwrites faster than GC (measured: 1.2 GB of
 * segments for 49 MB live after 30 s of 64 KiB overwrites at 150 MB/s).
 */
export const GARBAGE_SLACK_SEGMENTS = 4;

export interface ValueLogOptions {
  /** Directory of the segment files (`<dataDir>/vlog`). */
  readonly dir: string;
  /** Records at least this long go to the log; 0: none do (pointers already stored still read). */
  readonly minBytes: number;
  /** A segment is sealed once it holds this many bytes. */
  readonly segmentBytes: number;
  /** GC compacts a sealed segment whose live bytes fall below this share of its size. */
  readonly gcLiveRatio: number;
  readonly syncWrites: boolean;
  /** For error messages, e.g. "leveldb at /var/lib/dynamo". */
  readonly description: string;
}

/** What the value log needs from the storage around it. */
export interface ValueLogHost {
  /** Group commit, waiting for room rather than refusing (GC is background work). */
  submit(ops: CommitOp[], bytes: number): Promise<void>;
  /** A data key's engine value now. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Runs before GC submits moves (a test seam; resolves at once otherwise). */
  beforeMove(): Promise<void>;
}

/** How the apply step reads the engine values a batch replaces. */
export interface CurrentValues {
  /** Synchronous get, where the engine has one and reads are 'sync'. */
  readonly getSync: ((key: Uint8Array) => Uint8Array | undefined) | undefined;
  readonly getMany: (keys: Uint8Array[]) => Promise<Array<Uint8Array | undefined>>;
}

/** Value-log counters (tests, metrics). */
export interface ValueLogStats {
  /** Segment files, the active one included. */
  readonly segments: number;
  readonly diskBytes: number;
  /** Entry bytes that some data key points at. */
  readonly liveBytes: number;
  /** Segments GC took on. */
  readonly gcRuns: number;
  readonly gcSegmentsDeleted: number;
  readonly gcEntriesRelocated: number;
  readonly gcBytesRelocated: number;
  /** Moves dropped because a client write replaced the value first. */
  readonly gcRelocationsSkipped: number;
  readonly gcFailures: number;
  /** Write calls that waited for GC because garbage passed its bound. */
  readonly writesStalled: number;
  /** Segments with live bytes but no file (their keys read as corrupt). */
  readonly missingSegments: number;
  /** Live-byte decrements below 0 (counters and pointers disagreed; never expected). */
  readonly counterUnderflows: number;
}

/** The stats of a storage without a value log. */
export const VALUE_LOG_STATS_NONE: ValueLogStats = {
  segments: 0, diskBytes: 0, liveBytes: 0, gcRuns: 0, gcSegmentsDeleted: 0, gcEntriesRelocated: 0, gcBytesRelocated: 0,
  gcRelocationsSkipped: 0, gcFailures: 0, writesStalled: 0, missingSegments: 0, counterUnderflows: 0,
};

export class ValueLog {
  readonly #opts: ValueLogOptions;
  readonly #minBytes: number;
  readonly #host: ValueLogHost;
  readonly #files: SegmentFiles;
  readonly #live: Map<number, number>;
  #liveTotal = 0;
  readonly #queue = new Set<number>();
  /** Segments GC could not empty (a rotten entry hides live ones) or failed on: left until compact() or reopen. */
  readonly #skip = new Set<number>();
  #gcRunning: Promise<void> | undefined;
  #stopping = false;
  #lastGcError: Error | undefined;
  readonly #counts = { gcRuns: 0, gcSegmentsDeleted: 0, gcEntriesRelocated: 0, gcBytesRelocated: 0, gcRelocationsSkipped: 0, gcFailures: 0, writesStalled: 0, counterUnderflows: 0 };
  /** Stalled writers, woken after each segment GC finishes and when GC goes idle. */
  #progressWaiters: Array<() => void> = [];

  private constructor(opts: ValueLogOptions, host: ValueLogHost, files: SegmentFiles, live: Map<number, number>) {
    this.#opts = opts;
    this.#minBytes = opts.minBytes > 0 ? opts.minBytes : Number.POSITIVE_INFINITY;
    this.#host = host;
    this.#files = files;
    this.#live = live;
    for (const bytes of live.values()) this.#liveTotal += bytes;
  }

  /**
   * Opens the log given the persisted live-byte counters (segment -> bytes,
   * absent = 0). Segment files nothing points into are deleted (garbage from
   * before the last close or crash); unknown files are left alone. Segments
   * under the GC ratio are queued for the first batch to start GC.
   */
  static async open(opts: ValueLogOptions, host: ValueLogHost, counters: ReadonlyMap<number, number>): Promise<ValueLog> {
    const files = await SegmentFiles.open(opts.dir, opts.segmentBytes, Math.max(0, ...counters.keys()));
    files.deleteUnused(files.segments().filter((s) => !counters.has(s)));
    const log = new ValueLog(opts, host, files, new Map(counters));
    for (const s of files.segments()) if (log.#isCandidate(s)) log.#queue.add(s);
    return log;
  }

  /**
   * The persisted live-byte counters (segment -> bytes), read with `scan` (the
   * engine's rows of a key range). A counter that does not decode (never
   * written so) counts as UNKNOWN_LIVE_BYTES: its segment is kept, never collected.
   */
  static async readCounters(scan: (range: { gte: Uint8Array; lt: Uint8Array }) => Promise<Array<[Uint8Array, Uint8Array]>>): Promise<Map<number, number>> {
    const counters = new Map<number, number>();
    for (const [key, value] of await scan(metaRange(liveCounterPrefix()))) {
      const segment = parseLiveCounterName(metaNameOf(key));
      if (segment === undefined) continue;
      const bytes = decodeLiveBytes(value) ?? UNKNOWN_LIVE_BYTES;
      if (bytes > 0) counters.set(segment, bytes);
    }
    return counters;
  }

  /** Engine key of a segment's live-byte counter. */
  static counterKey(segment: number): Uint8Array {
    return metaKey(liveCounterName(segment));
  }

  /** See SegmentFiles.pin: call before reading pointers that are used after an await. */
  pin(): () => void {
    return this.#files.pin();
  }

  /**
   * The record a pointer value refers to, checked against the pointer's crc.
   * StorageCorruptionError when the pointer is malformed, its segment is
   * missing or the bytes are not what was written; StorageError on I/O failure.
   */
  read(value: Uint8Array): Uint8Array {
    const p = decodePointer(value);
    const where = (segment: number): string => `${this.#opts.description}: value log segment ${segmentFileName(segment)}`;
    if (p === undefined) throw new StorageCorruptionError(`${this.#opts.description}: a data key holds a malformed value-log pointer (${value.length} bytes)`);
    let bytes: Uint8Array | undefined;
    try {
      bytes = this.#files.read(p.segment, p.offset, p.length);
    } catch (e) {
      throw new StorageError(`${where(p.segment)}: read failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (bytes === undefined) throw new StorageCorruptionError(`${where(p.segment)} is missing (a ${p.length}-byte record at offset ${p.offset} was there)`);
    if (bytes.length !== p.length) throw new StorageCorruptionError(`${where(p.segment)} ends before the ${p.length}-byte record at offset ${p.offset}`);
    if (recordCrc(bytes) !== p.crc) throw new StorageCorruptionError(`${where(p.segment)}: the ${p.length}-byte record at offset ${p.offset} fails its checksum`);
    return bytes;
  }

  /**
   * Call before submitting a client write: undefined when it may go ahead at
   * once, else a promise that resolves once GC has brought garbage back under
   * its bound (GARBAGE_SLACK_SEGMENTS) or can reclaim nothing more. Never
   * waits on a GC that is not running, so a log whose garbage GC cannot
   * reclaim (a rotten segment) does not stop writes. GC's own batches do not
   * pass here.
   */
  admission(): Promise<void> | undefined {
    return this.#overGarbageBound() ? this.#stall() : undefined;
  }

  #overGarbageBound(): boolean {
    return this.#files.diskBytes() - this.#liveTotal > this.#liveTotal + GARBAGE_SLACK_SEGMENTS * this.#opts.segmentBytes;
  }

  async #stall(): Promise<void> {
    this.#counts.writesStalled++;
    while (this.#overGarbageBound()) {
      this.#kick();
      if (this.#gcRunning === undefined || this.#stopping) return;
      await new Promise<void>((resolve) => this.#progressWaiters.push(resolve));
    }
  }

  #progressed(): void {
    for (const wake of this.#progressWaiters.splice(0)) wake();
  }

  /** Step 1 of applying a batch: append, plan, sync the log if the batch will be synced. */
  async prepare(batch: readonly CommitOp[], current: CurrentValues): Promise<BatchPlan> {
    const tracking = needsTracking(batch, this.#minBytes, this.#liveTotal);
    let lookup = current.getSync ?? ((): undefined => undefined);
    if (tracking && current.getSync === undefined) {
      const keys: Uint8Array[] = [];
      for (const op of batch) if (op.type === 'record' || op.type === 'relocate') keys.push(op.key);
      const values = await current.getMany(keys);
      const byKey = new Map<string, Uint8Array | undefined>();
      keys.forEach((k, i) => byKey.set(keyString(k), values[i] ?? undefined));
      lookup = (key) => byKey.get(keyString(key));
    }
    const plan = planBatch(batch, {
      minBytes: this.#minBytes,
      current: lookup,
      append: (key, record, stream) => this.#files.append(key, record, stream),
      liveBytes: (s) => this.#live.get(s) ?? 0,
      counterKey: ValueLog.counterKey,
    }, tracking);
    // A GC batch syncs only what GC moved (its pointers must not outlive those bytes); client
    // records that share the batch are synced only with syncWrites, as in any other batch.
    if (this.#opts.syncWrites) await this.#files.sync();
    else if (plan.mustSync) await this.#files.sync(plan.appendedByGc);
    return plan;
  }

  /** Step 3, once the engine batch of `plan` is applied: counters in memory, retired files, GC. */
  commit(plan: BatchPlan): void {
    for (const [segment, live] of plan.liveAfter) {
      this.#liveTotal += live - (this.#live.get(segment) ?? 0);
      if (live === 0) this.#live.delete(segment);
      else this.#live.set(segment, live);
    }
    for (const segment of plan.retired) {
      try {
        this.#files.retire(segment);
        this.#counts.gcSegmentsDeleted++;
      } catch (e) {
        this.#gcFailed(segment, e);
      }
    }
    for (const segment of plan.retireRefused) this.#skip.add(segment);
    this.#counts.gcEntriesRelocated += plan.relocatedEntries;
    this.#counts.gcBytesRelocated += plan.relocatedBytes;
    this.#counts.gcRelocationsSkipped += plan.relocationsSkipped;
    this.#counts.counterUnderflows += plan.underflows;
    for (const segment of [...plan.liveAfter.keys(), ...this.#files.takeSealed()]) {
      if (this.#isCandidate(segment)) this.#queue.add(segment);
    }
    this.#kick();
  }

  /**
   * Compacts every sealed segment under the GC ratio (also those background
   * GC gave up on) and resolves when GC is idle; rejects with StorageError if
   * a segment failed meanwhile.
   */
  async compact(): Promise<void> {
    this.#skip.clear();
    for (const s of this.#files.segments()) if (this.#isCandidate(s)) this.#queue.add(s);
    const failures = this.#counts.gcFailures;
    this.#kick();
    while (this.#gcRunning !== undefined) await this.#gcRunning;
    if (this.#counts.gcFailures > failures) throw this.#lastGcError!;
  }

  stats(): ValueLogStats {
    let missingSegments = 0;
    for (const s of this.#live.keys()) if (this.#files.sizeOf(s) === undefined) missingSegments++;
    return {
      segments: this.#files.segments().length,
      diskBytes: this.#files.diskBytes(),
      liveBytes: this.#liveTotal,
      missingSegments,
      ...this.#counts,
    };
  }

  /** Stops GC between steps and waits for it; the log serves reads and batches until close(). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#progressed();
    while (this.#gcRunning !== undefined) await this.#gcRunning;
  }

  close(): void {
    this.#stopping = true;
    this.#files.close();
  }

  #isCandidate(segment: number): boolean {
    const size = this.#files.sizeOf(segment);
    if (size === undefined || !this.#files.isSealed(segment) || this.#skip.has(segment)) return false;
    const live = this.#live.get(segment) ?? 0;
    return live === 0 || live < this.#opts.gcLiveRatio * size;
  }

  #kick(): void {
    if (this.#gcRunning !== undefined || this.#stopping || this.#queue.size === 0) return;
    this.#gcRunning = this.#gcLoop().finally(() => {
      this.#gcRunning = undefined;
      this.#kick();
      this.#progressed();
    });
  }

  async #gcLoop(): Promise<void> {
    // Off the caller's stack: commit() runs inside the batch apply step.
    await Promise.resolve();
    const ports: GcPorts = {
      liveBytes: (s) => this.#live.get(s) ?? 0,
      walk: (s) => this.#files.walk(s),
      pointsAt: (key, at) => this.#pointsAt(key, at),
      submit: (ops, bytes) => this.#host.submit(ops, bytes),
      exists: (s) => this.#files.sizeOf(s) !== undefined,
      stopping: () => this.#stopping,
      beforeMove: () => this.#host.beforeMove(),
    };
    while (!this.#stopping) {
      const segment = this.#pick();
      if (segment === undefined) return;
      this.#queue.delete(segment);
      if (!this.#isCandidate(segment)) continue;
      this.#counts.gcRuns++;
      try {
        if ((await compactSegment(segment, ports)) === 'kept') this.#skip.add(segment);
      } catch (e) {
        if (this.#stopping) return;
        this.#gcFailed(segment, e);
      } finally {
        this.#progressed();
      }
    }
  }

  /** The queued segment with the smallest share of live bytes. */
  #pick(): number | undefined {
    let best: number | undefined;
    let bestRatio = Number.POSITIVE_INFINITY;
    for (const s of this.#queue) {
      const ratio = (this.#live.get(s) ?? 0) / Math.max(1, this.#files.sizeOf(s) ?? 1);
      if (ratio < bestRatio) {
        best = s;
        bestRatio = ratio;
      }
    }
    return best;
  }

  async #pointsAt(key: Uint8Array, at: EntryLocation): Promise<boolean> {
    const value = await this.#host.get(key);
    const p = value === undefined ? undefined : decodePointer(value);
    return p !== undefined && p.segment === at.segment && p.offset === at.offset;
  }

  #gcFailed(segment: number, e: unknown): void {
    this.#counts.gcFailures++;
    this.#skip.add(segment);
    this.#lastGcError = e instanceof StorageError
      ? e
      : new StorageError(`${this.#opts.description}: value-log GC of segment ${segmentFileName(segment)} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
