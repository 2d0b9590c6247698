/**
 * Group commit: at most one engine batch is being written at a time. Writes
 * submitted meanwhile wait in ONE pending group; when the running batch
 * completes, the whole group goes down as the next single batch, and each
 * submitter's promise settles with that batch. Under load this turns N small
 * writes (and N fsyncs with syncWrites) into a few large ones, without adding
 * any delay when idle: a write arriving with nothing in flight starts at once.
 *
 * The pending group is bounded (entries and bytes, see WriteQueueLimits); a
 * submit that would overflow it is refused with StorageError rather than
 * queued. A submit arriving when the group is empty is always accepted, so a
 * single oversized write is never refused forever. Background work (value-log
 * GC) uses submitPatiently, which waits for room instead of being refused.
 */
import { StorageError } from '../runtime/index.ts';

/** Bounds of the pending (not yet started) group of writes. */
export interface WriteQueueLimits {
  /** Most entries waiting for the next batch. */
  readonly entriesMax: number;
  /** Most key + record bytes waiting for the next batch. */
  readonly bytesMax: number;
}

/** 10k entries or 64 MiB (~21 objects at LIMITS.objectBytesMax) may wait behind the running batch. */
export const WRITE_QUEUE_LIMITS_DEFAULT: WriteQueueLimits = { entriesMax: 10_000, bytesMax: 64 * 1024 * 1024 };

/** Counters for observing group commit (tests, metrics). */
export interface GroupCommitStats {
  /** Accepted submits (write / putMeta calls with at least one entry). */
  readonly writeCalls: number;
  /** Engine batches issued; below writeCalls when calls were coalesced. */
  readonly engineBatches: number;
  /** Entries handed to the engine. */
  readonly entriesWritten: number;
  /** Submits refused because the pending group was full. */
  readonly queueFullRejections: number;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

interface Group<Op> {
  readonly ops: Op[];
  readonly waiters: Waiter[];
  bytes: number;
}

/** Serialises batches through `apply`, coalescing the writes that arrive while one runs. */
export class GroupCommit<Op> {
  readonly #apply: (ops: readonly Op[]) => Promise<void>;
  readonly #limits: WriteQueueLimits;
  #pending: Group<Op> | undefined;
  // `#busy` is the truth (set and cleared synchronously); `#running` is only for awaiting.
  #busy = false;
  #running: Promise<void> = Promise.resolve();
  /** Called when the pending group starts running (room again). */
  #roomWaiters: Array<() => void> = [];
  #writeCalls = 0;
  #engineBatches = 0;
  #entriesWritten = 0;
  #queueFullRejections = 0;

  /** `apply` writes one batch atomically; its rejection is passed to every submitter of that batch. */
  constructor(apply: (ops: readonly Op[]) => Promise<void>, limits: WriteQueueLimits = WRITE_QUEUE_LIMITS_DEFAULT) {
    this.#apply = apply;
    this.#limits = limits;
  }

  /** Resolves when `ops` (taken over by this call, applied in order) are applied as part of some batch. */
  submit(ops: Op[], bytes: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      if (!this.#busy) {
        this.#writeCalls++;
        this.#busy = true;
        this.#running = this.#run({ ops, waiters: [waiter], bytes });
        return;
      }
      const pending = this.#pending;
      if (pending === undefined) {
        this.#writeCalls++;
        this.#pending = { ops, waiters: [waiter], bytes };
        return;
      }
      if (pending.ops.length + ops.length > this.#limits.entriesMax || pending.bytes + bytes > this.#limits.bytesMax) {
        this.#queueFullRejections++;
        reject(new StorageError(
          `storage write queue full (${pending.ops.length} entries, ${pending.bytes} bytes waiting; ` +
          `limits ${this.#limits.entriesMax} entries, ${this.#limits.bytesMax} bytes)`));
        return;
      }
      this.#writeCalls++;
      for (const op of ops) pending.ops.push(op);
      pending.waiters.push(waiter);
      pending.bytes += bytes;
    });
  }

  /**
   * Like submit, but when the pending group has no room it waits for the
   * running batch to end (the pending group then starts and a new one is
   * empty) and tries again, rather than being refused.
   */
  async submitPatiently(ops: Op[], bytes: number): Promise<void> {
    for (;;) {
      const pending = this.#pending;
      if (pending === undefined || (pending.ops.length + ops.length <= this.#limits.entriesMax && pending.bytes + bytes <= this.#limits.bytesMax)) {
        return this.submit(ops, bytes);
      }
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }

  /** Resolves once no batch is running or pending. */
  async idle(): Promise<void> {
    while (this.#busy) await this.#running;
  }

  /** A snapshot of the counters. */
  stats(): GroupCommitStats {
    return {
      writeCalls: this.#writeCalls,
      engineBatches: this.#engineBatches,
      entriesWritten: this.#entriesWritten,
      queueFullRejections: this.#queueFullRejections,
    };
  }

  async #run(first: Group<Op>): Promise<void> {
    let group: Group<Op> | undefined = first;
    while (group !== undefined) {
      this.#engineBatches++;
      this.#entriesWritten += group.ops.length;
      try {
        await this.#apply(group.ops);
        for (const w of group.waiters) w.resolve();
      } catch (e) {
        for (const w of group.waiters) w.reject(e);
      }
      group = this.#pending;
      this.#pending = undefined;
      for (const wake of this.#roomWaiters.splice(0)) wake();
    }
    this.#busy = false;
  }
}
