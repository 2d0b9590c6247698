/**
 * What a node's exchanges achieved, for `dynamo status`: per peer, how many
 * exchanges it ran and when the last (complete) one ended, and the keys
 * moved each way; per partition, when its last complete exchange ended, so
 * the status can say by when every partition had been fully compared.
 *
 * Pure bookkeeping: results and wall-clock times come in from the driver.
 */
import type { AntiEntropyPeerStatus, NodeId } from '../protocol/index.ts';
import type { ExchangeResult } from './exchange.ts';

/** Totals over every exchange recorded. */
export interface ExchangeTotals {
  readonly exchanges: number;
  readonly keysPulled: number;
  readonly keysPushed: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

interface PeerRow {
  exchanges: number;
  lastExchangeAtMs: number;
  lastCompleteAtMs: number;
  keysPulled: number;
  keysPushed: number;
}

/** True when an exchange compared the whole partition and repaired every difference it found. */
export function exchangeComplete(result: ExchangeResult): boolean {
  return result.status !== 'aborted' && result.complete;
}

/** Per-peer and per-partition record of the exchanges a node ran. */
export class ExchangeLog {
  readonly #peers = new Map<NodeId, PeerRow>();
  readonly #partitionCompleteAtMs = new Map<number, number>();
  #totals = { exchanges: 0, keysPulled: 0, keysPushed: 0, bytesSent: 0, bytesReceived: 0 };

  /** An exchange of `result.partition` with `peer` ended at `endedAtMs` (wall clock). */
  record(peer: NodeId, result: ExchangeResult, endedAtMs: number): void {
    let row = this.#peers.get(peer);
    if (row === undefined) {
      row = { exchanges: 0, lastExchangeAtMs: 0, lastCompleteAtMs: 0, keysPulled: 0, keysPushed: 0 };
      this.#peers.set(peer, row);
    }
    row.exchanges++;
    row.lastExchangeAtMs = endedAtMs;
    row.keysPulled += result.pulled;
    row.keysPushed += result.pushed;
    if (exchangeComplete(result)) {
      row.lastCompleteAtMs = endedAtMs;
      this.#partitionCompleteAtMs.set(result.partition, endedAtMs);
    }
    const t = this.#totals;
    this.#totals = {
      exchanges: t.exchanges + 1,
      keysPulled: t.keysPulled + result.pulled,
      keysPushed: t.keysPushed + result.pushed,
      bytesSent: t.bytesSent + result.bytesToRemote,
      bytesReceived: t.bytesReceived + result.bytesFromRemote,
    };
  }

  /** The node no longer replicates `partition`: its completion no longer counts. */
  dropPartition(partition: number): void {
    this.#partitionCompleteAtMs.delete(partition);
  }

  totals(): ExchangeTotals {
    return { ...this.#totals };
  }

  /** One row per peer, by id. */
  peers(): AntiEntropyPeerStatus[] {
    return [...this.#peers.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([peer, r]) => ({ peer, ...r }));
  }

  /** When the last complete exchange of `partition` ended (0: none yet). */
  completeAtMs(partition: number): number {
    return this.#partitionCompleteAtMs.get(partition) ?? 0;
  }

  /**
   * The time by which every one of `partitions` had had a complete exchange:
   * the oldest of their last complete exchanges (0 if any has had none, or
   * there are none).
   */
  fullExchangeAtMs(partitions: Iterable<number>): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const p of partitions) {
      const at = this.#partitionCompleteAtMs.get(p);
      if (at === undefined) return 0;
      oldest = Math.min(oldest, at);
    }
    return Number.isFinite(oldest) ? oldest : 0;
  }
}
