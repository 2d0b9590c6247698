/**
 * Value-log GC of one sealed segment (WiscKey §3.3.3, but per segment rather
 * than from the log's tail, since our live-byte counters say which segment
 * is worth it).
 *
 * Walk the segment's entries in order. An entry is live iff its key's current
 * engine value points at exactly (this segment, this offset); live entries are
 * submitted, in groups, as conditional moves through group commit, where the
 * batch apply step checks the pointer again before appending the record to
 * the active segment (a client write that replaced the value meanwhile wins:
 * the move is dropped). Moves are applied in synced batches, after the value
 * log is synced. Last, a retire operation drops the counter in a synced batch
 * and, only if the segment's live bytes are 0 then, its file is deleted.
 *
 * Crash safety: until that last step the old entries stay where they were,
 * so every pointer — old (not yet moved) or new (moved, synced) — reads.
 */
import type { CommitOp, EntryLocation } from '../commit-ops.ts';
import { entryBytes } from './segment-format.ts';
import type { WalkedEntry } from './segment-walk.ts';

/** Moves per group-commit submit: bounded so GC never fills the write queue or holds much memory. */
export const GC_MOVE_BYTES_MAX = 1024 * 1024;
export const GC_MOVE_ENTRIES_MAX = 256;

/** What compacting a segment reads and does. */
export interface GcPorts {
  liveBytes(segment: number): number;
  walk(segment: number): AsyncIterable<WalkedEntry>;
  /** Whether the key's current engine value points at `at` (a hint; the apply step decides). */
  pointsAt(key: Uint8Array, at: EntryLocation): Promise<boolean>;
  submit(ops: CommitOp[], bytes: number): Promise<void>;
  /** Whether the segment still has a file (false once retired). */
  exists(segment: number): boolean;
  /** Storage is closing: stop between steps. */
  stopping(): boolean;
  /** Runs between finding live entries and submitting their moves (a test seam for racing writes). */
  beforeMove(): Promise<void>;
}

export type GcOutcome = 'retired' | 'kept' | 'stopped';

/** Compacts one sealed segment; see the file header. */
export async function compactSegment(segment: number, ports: GcPorts): Promise<GcOutcome> {
  if (ports.liveBytes(segment) > 0) {
    let group: CommitOp[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (group.length === 0) return;
      await ports.beforeMove();
      const ops = group;
      group = [];
      const b = bytes;
      bytes = 0;
      await ports.submit(ops, b);
    };
    for await (const e of ports.walk(segment)) {
      if (ports.stopping()) return 'stopped';
      // Everything still unread is dead: the counters are exact.
      if (ports.liveBytes(segment) === 0) break;
      const from = { segment, offset: e.recordOffset };
      if (!(await ports.pointsAt(e.key, from))) continue;
      group.push({ type: 'relocate', key: e.key, from, record: e.record });
      bytes += entryBytes(e.key.length, e.record.length);
      if (bytes >= GC_MOVE_BYTES_MAX || group.length >= GC_MOVE_ENTRIES_MAX) await flush();
    }
    if (ports.stopping()) return 'stopped';
    await flush();
  }
  if (ports.stopping()) return 'stopped';
  await ports.submit([{ type: 'retire', segment }], 0);
  return ports.exists(segment) ? 'kept' : 'retired';
}
