/**
 * The value log's part of applying one group-commit batch, as a function of
 * the batch, the engine's current values and an append port: which records
 * go to the log, which pointers the batch replaces, the live-byte change per
 * segment, and the counter updates that ride in the same engine batch.
 *
 * Counters live in the same atomic engine batch as the pointers they count,
 * so after a crash they agree with the pointers exactly (a segment whose
 * counter is 0 has no pointer into it and may be deleted). Knowing what a
 * write replaces needs the key's current value; group commit applies one
 * batch at a time, so "current" is the engine's value plus this batch's
 * earlier operations (an overlay), and nothing can change it meanwhile.
 */
import type { CommitOp, LevelBatchOp } from '../commit-ops.ts';
import { type AppendStream, decodePointer, encodeLiveBytes, encodePointer, entryBytes, type Pointer, pointerSummary } from './segment-format.ts';

/** What planning reads and does. */
export interface PlanContext {
  /** Records at least this long go to the log (Infinity: none do). */
  readonly minBytes: number;
  /** The engine value of a data key before this batch (called only when tracking). */
  current(key: Uint8Array): Uint8Array | undefined;
  /** Appends an entry to the active segment of client writes, or of GC (a write syscall); returns where its record is. */
  append(key: Uint8Array, record: Uint8Array, stream: AppendStream): Pointer;
  /** Live bytes of a segment before this batch. */
  liveBytes(segment: number): number;
  /** Engine key of a segment's live-byte counter. */
  counterKey(segment: number): Uint8Array;
}

export interface BatchPlan {
  /** The engine batch: the inline operations, pointers and counter updates. */
  readonly ops: LevelBatchOp[];
  /** Live bytes after the batch of every segment it changes. */
  readonly liveAfter: ReadonlyMap<number, number>;
  /** Segments GC's moves were appended to: a GC batch syncs these before its pointers. */
  readonly appendedByGc: ReadonlySet<number>;
  /** The batch moves or retires something: GC's appends (appendedByGc) and the engine batch must be synced. */
  readonly mustSync: boolean;
  /** Retired segments (counter 0, dropped in this batch): their files may go once the batch is applied. */
  readonly retired: readonly number[];
  /** Retirements refused because the segment still has live bytes (kept). */
  readonly retireRefused: readonly number[];
  readonly relocatedEntries: number;
  readonly relocatedBytes: number;
  /** GC moves dropped because a client write had replaced the value. */
  readonly relocationsSkipped: number;
  /** Decrements below zero (counters and pointers disagreed); clamped at 0. Never expected. */
  readonly underflows: number;
}

/**
 * Whether the batch must read current values: only when the log holds live
 * bytes (so a write may replace a pointer), or the batch creates a pointer or
 * is GC's. A small-value workload with an empty log pays no reads.
 */
export function needsTracking(ops: readonly CommitOp[], minBytes: number, liveBytesTotal: number): boolean {
  if (liveBytesTotal > 0) return true;
  for (const op of ops) {
    if (op.type === 'relocate' || op.type === 'retire') return true;
    if (op.type === 'record' && op.record !== undefined && op.record.length >= minBytes) return true;
  }
  return false;
}

/** Plans one batch (appending its large records as it goes); see the file header. */
export function planBatch(batch: readonly CommitOp[], ctx: PlanContext, tracking: boolean): BatchPlan {
  const ops: LevelBatchOp[] = [];
  const deltas = new Map<number, number>();
  const appendedByGc = new Set<number>();
  const overlay = new Map<string, Uint8Array | undefined>();
  const retireAsked: number[] = [];
  let mustSync = false;
  let relocatedEntries = 0;
  let relocatedBytes = 0;
  let relocationsSkipped = 0;

  const currentOf = (key: Uint8Array): Uint8Array | undefined => {
    const s = keyString(key);
    return overlay.has(s) ? overlay.get(s) : ctx.current(key);
  };
  const add = (segment: number, bytes: number): void => {
    deltas.set(segment, (deltas.get(segment) ?? 0) + bytes);
  };
  const forget = (key: Uint8Array, old: Uint8Array | undefined): void => {
    const p = old === undefined ? undefined : decodePointer(old);
    if (p !== undefined) add(p.segment, -entryBytes(key.length, p.length));
  };
  const store = (key: Uint8Array, record: Uint8Array | undefined, summary: Uint8Array | (() => Uint8Array) | undefined, stream: AppendStream = 'write'): void => {
    let value = record;
    if (record !== undefined && record.length >= ctx.minBytes) {
      const p = ctx.append(key, record, stream);
      if (stream === 'gc') appendedByGc.add(p.segment);
      add(p.segment, entryBytes(key.length, record.length));
      value = encodePointer(p, typeof summary === 'function' ? summaryOrNone(summary) : summary);
    }
    ops.push(value === undefined ? { type: 'del', key } : { type: 'put', key, value });
    if (tracking) overlay.set(keyString(key), value);
  };

  for (const op of batch) {
    switch (op.type) {
      case 'put':
      case 'del':
        ops.push(op);
        break;
      case 'record':
        if (tracking) forget(op.key, currentOf(op.key));
        store(op.key, op.record, op.summary);
        break;
      case 'relocate': {
        mustSync = true;
        const cur = currentOf(op.key);
        const p = cur === undefined ? undefined : decodePointer(cur);
        if (p === undefined || p.segment !== op.from.segment || p.offset !== op.from.offset) {
          relocationsSkipped++;
          break;
        }
        forget(op.key, cur);
        // The record moves; its summary (if it had one) stays beside the new pointer.
        store(op.key, op.record, pointerSummary(cur!), 'gc');
        relocatedEntries++;
        relocatedBytes += entryBytes(op.key.length, op.record.length);
        break;
      }
      case 'retire':
        mustSync = true;
        retireAsked.push(op.segment);
        break;
    }
  }

  const liveAfter = new Map<number, number>();
  let underflows = 0;
  for (const [segment, delta] of deltas) {
    if (delta === 0) continue;
    let next = ctx.liveBytes(segment) + delta;
    if (next < 0) {
      underflows++;
      next = 0;
    }
    liveAfter.set(segment, next);
  }
  const retired: number[] = [];
  const retireRefused: number[] = [];
  for (const segment of retireAsked) {
    const live = liveAfter.get(segment) ?? ctx.liveBytes(segment);
    if (live !== 0) {
      retireRefused.push(segment);
    } else if (!retired.includes(segment)) {
      retired.push(segment);
      liveAfter.set(segment, 0);
    }
  }
  for (const [segment, live] of liveAfter) {
    const key = ctx.counterKey(segment);
    ops.push(live === 0 ? { type: 'del', key } : { type: 'put', key, value: encodeLiveBytes(live) });
  }
  return { ops, liveAfter, appendedByGc, mustSync, retired, retireRefused, relocatedEntries, relocatedBytes, relocationsSkipped, underflows };
}

/** What a write's summary function returns; a summary that fails is left out (reads then read the record). */
function summaryOrNone(summary: () => Uint8Array): Uint8Array | undefined {
  try {
    const bytes = summary();
    return bytes instanceof Uint8Array && bytes.length > 0 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** A map key for an engine key (latin1 maps each byte to one char, so distinct keys stay distinct). */
export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}
