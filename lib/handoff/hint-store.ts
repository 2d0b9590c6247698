/**
 * HintStore: the versions this node holds for other nodes while they are
 * down (Dynamo §4.6 hinted handoff), kept in the storage port's hint space,
 * apart from this node's own data. One hint per (target, key): a second hint
 * for the same key is merged into the first by causal metadata, so a hint is
 * always one object that the target merges like any replica write, and
 * handing it over twice changes nothing.
 *
 * The store is bounded in total bytes: a hint that would overflow is refused
 * (the coordinator then tries another fallback or counts the replica as
 * failed) and counted as dropped; anti-entropy repairs what hints could not
 * carry. Deletion is compare-and-delete: a hint merged into while it was
 * being delivered stays, to go out again with the new versions.
 */
import { KeyLock, LimitExceededError, noopMetrics, type Logger, type Metrics } from '../runtime/index.ts';
import type { NodeId } from '../protocol/index.ts';
import { Dvv } from '../vclock/index.ts';
import { decodeRecord, encodeRecord, type Storage, type StoredObject } from '../storage/index.ts';
import { decodeHint, encodeHint, type Hint } from './hint-codec.ts';

export interface HintStoreConfig {
  /** Bound on the bytes (keys and values) of all hints held. */
  readonly bytesMax: number;
}

/** A hint as read back for delivery: `value` is the stored bytes compare-and-delete checks against. */
export interface PendingHint {
  readonly target: NodeId;
  readonly partition: number;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly hint: Hint;
}

export interface HintCounters {
  stored: number;
  delivered: number;
  dropped: number;
}

interface Held {
  keys: number;
  bytes: number;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function lockKey(target: NodeId, partition: number, key: Uint8Array): string {
  return `${target}\u0000${partition}\u0000${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')}`;
}

export class HintStore {
  readonly #storage: Storage;
  readonly #config: HintStoreConfig;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #lock = new KeyLock({ depthMax: 1000, keysMax: 100_000 });
  readonly #held = new Map<NodeId, Held>();
  #bytes = 0;
  readonly counters: HintCounters = { stored: 0, delivered: 0, dropped: 0 };

  constructor(storage: Storage, config: HintStoreConfig, logger: Logger, metrics: Metrics = noopMetrics) {
    this.#storage = storage;
    this.#config = config;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** Count what a previous life left (the storage must be open); undecodable hints are dropped. */
  async open(): Promise<void> {
    this.#held.clear();
    this.#bytes = 0;
    const bad: PendingHint[] = [];
    for await (const h of this.#storage.iterateHints()) {
      try {
        decodeHint(h.value);
      } catch {
        bad.push({ ...h, hint: { storedAtMs: 0, record: new Uint8Array(0) } });
        continue;
      }
      this.#add(h.target, h.key.length + h.value.length, 1);
    }
    if (bad.length > 0) {
      this.#logger.warn('dropped hints that did not decode; anti-entropy repairs their keys', { count: bad.length });
      await this.#storage.writeHints(bad.map((h) => ({ target: h.target, partition: h.partition, key: h.key, value: undefined })));
      for (let i = 0; i < bad.length; i++) this.#count('dropped');
    }
  }

  /** Nodes hints are held for, in id order. */
  targets(): NodeId[] {
    return [...this.#held.keys()].sort();
  }

  /** Hints held per target. */
  pendingCounts(): { target: NodeId; keys: number; bytes: number }[] {
    return this.targets().map((target) => ({ target, ...this.#held.get(target)! }));
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Keep `record` for `target`, merged into any hint already held for the key.
   * Rejects with LimitExceededError, storing nothing, when the store is full.
   */
  async store(target: NodeId, partition: number, key: Uint8Array, record: Uint8Array, nowMs: number): Promise<void> {
    const incoming = decodeRecord(record);
    await this.#lock.run(lockKey(target, partition, key), async () => {
      const existing = await this.#storage.getHint(target, partition, key);
      const held = existing === undefined ? undefined : decodeHint(existing);
      const merged = held === undefined ? record : encodeRecord(Dvv.sync(decodeRecord(held.record), incoming));
      // The age of a hint is that of the oldest version it may carry: tombstone GC
      // relies on every hint of a write made before a delete being delivered or
      // dropped within the hint window of that write (tombstone grace > window).
      const value = encodeHint({ storedAtMs: held === undefined ? nowMs : Math.min(held.storedAtMs, nowMs), record: merged });
      const delta = value.length - (existing?.length ?? -key.length);
      if (this.#bytes + delta > this.#config.bytesMax) {
        this.#count('dropped');
        throw new LimitExceededError(`hint store full (${this.#bytes} of ${this.#config.bytesMax} bytes); the key is left to anti-entropy`);
      }
      await this.#storage.writeHints([{ target, partition, key, value }]);
      this.#add(target, delta, existing === undefined ? 1 : 0);
      this.#count('stored');
    });
  }

  /** Everything hinted for `key` on this node, whichever node it is meant for (a fallback's answer to a read). */
  async read(partition: number, key: Uint8Array): Promise<StoredObject | undefined> {
    let merged: StoredObject | undefined;
    for (const target of this.targets()) {
      const value = await this.#storage.getHint(target, partition, key);
      if (value === undefined) continue;
      const obj = decodeRecord(decodeHint(value).record);
      merged = merged === undefined ? obj : Dvv.sync(merged, obj);
    }
    return merged;
  }

  /** The hints held for `target`, in partition and key order (read lazily; stop any time). */
  async *pending(target: NodeId): AsyncGenerator<PendingHint> {
    for await (const h of this.#storage.iterateHints({ target })) {
      let hint: Hint;
      try {
        hint = decodeHint(h.value);
      } catch {
        await this.#remove(h.target, h.partition, h.key, h.value, 'dropped');
        continue;
      }
      yield { ...h, hint };
    }
  }

  /** The target acknowledged `h`: delete it unless it was merged into meanwhile. True if deleted. */
  delivered(h: PendingHint): Promise<boolean> {
    return this.#remove(h.target, h.partition, h.key, h.value, 'delivered');
  }

  /** Give up on `h` (no replica took it within twice the hint window): delete it unless merged into meanwhile. */
  expire(h: PendingHint): Promise<boolean> {
    return this.#remove(h.target, h.partition, h.key, h.value, 'dropped');
  }

  #remove(target: NodeId, partition: number, key: Uint8Array, value: Uint8Array, outcome: 'delivered' | 'dropped'): Promise<boolean> {
    return this.#lock.run(lockKey(target, partition, key), async () => {
      const current = await this.#storage.getHint(target, partition, key);
      if (current === undefined || !sameBytes(current, value)) return false;
      await this.#storage.writeHints([{ target, partition, key, value: undefined }]);
      this.#add(target, -(key.length + value.length), -1);
      this.#count(outcome);
      return true;
    });
  }

  #count(outcome: keyof HintCounters): void {
    this.counters[outcome]++;
    if (outcome === 'stored') this.#metrics.hintStored();
    else if (outcome === 'delivered') this.#metrics.hintDelivered();
    else this.#metrics.hintDropped();
  }

  #add(target: NodeId, bytes: number, keys: number): void {
    const held = this.#held.get(target) ?? { keys: 0, bytes: 0 };
    held.keys += keys;
    held.bytes += bytes;
    this.#bytes += bytes;
    if (held.keys <= 0) this.#held.delete(target);
    else this.#held.set(target, held);
  }
}
