/**
 * Piggyback dissemination: a retransmit-limited queue of recent member
 * changes carried on every outgoing packet (SWIM §4.1 "infection-style
 * dissemination"; memberlist's TransmitLimitedQueue).
 *
 * One entry per member id: a newer change about a node replaces the queued
 * one. Each entry is sent at most `limit` times, where the caller passes
 * retransmitMult x ceil(log10(n + 1)); entries sent least often go first
 * (ties: the most recently queued, then by id), so fresh news spreads before
 * old news. The queue holds at most `capacity` entries; beyond that the
 * most-sent entries are dropped (the digest gossip still carries every record).
 */
import type { MemberBroadcast, NodeId } from '../protocol/index.ts';

interface Entry {
  readonly item: MemberBroadcast;
  transmits: number;
  /** Insertion order, for the "newest first" tie-break. */
  readonly seq: number;
}

export class BroadcastQueue {
  readonly #entries = new Map<NodeId, Entry>();
  readonly #capacity: number;
  #seq = 0;
  /** Entries dropped because the queue was full (reported as a metric). */
  dropped = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Queue a change about `item.record.id`, replacing any queued one about the same node. */
  push(item: MemberBroadcast): void {
    this.#entries.set(item.record.id, { item, transmits: 0, seq: this.#seq++ });
    if (this.#entries.size > this.#capacity) this.#evict();
  }

  /**
   * Up to `count` entries to piggyback on one packet, each counted as sent
   * once; entries reaching `limit` sends leave the queue.
   */
  take(count: number, limit: number): MemberBroadcast[] {
    if (count <= 0 || this.#entries.size === 0) return [];
    const chosen = smallest(this.#entries.values(), count);
    for (const entry of chosen) {
      entry.transmits++;
      if (entry.transmits >= limit) this.#entries.delete(entry.item.record.id);
    }
    return chosen.map((e) => e.item);
  }

  /** Drops the queued change about `id`, if any. */
  forget(id: NodeId): void {
    this.#entries.delete(id);
  }

  #evict(): void {
    let worst: Entry | undefined;
    for (const e of this.#entries.values()) if (worst === undefined || fewestSentFirst(e, worst) > 0) worst = e;
    if (worst === undefined) return;
    this.#entries.delete(worst.item.record.id);
    this.dropped++;
  }
}

/** The `count` first entries in fewestSentFirst order, in that order, without sorting them all. */
function smallest(entries: Iterable<Entry>, count: number): Entry[] {
  const out: Entry[] = [];
  for (const e of entries) {
    if (out.length === count && fewestSentFirst(e, out[count - 1] as Entry) >= 0) continue;
    let i = Math.min(out.length, count - 1);
    if (out.length < count) out.push(e);
    while (i > 0 && fewestSentFirst(e, out[i - 1] as Entry) < 0) {
      out[i] = out[i - 1] as Entry;
      i--;
    }
    out[i] = e;
  }
  return out;
}

function fewestSentFirst(a: Entry, b: Entry): number {
  const ida = a.item.record.id;
  const idb = b.item.record.id;
  return a.transmits - b.transmits || b.seq - a.seq || (ida < idb ? -1 : ida > idb ? 1 : 0);
}
