/**
 * What goes through group commit. Plain engine operations are stored as
 * given; data-key operations are kept apart so the batch apply step can send
 * large records to the value log and keep its live-byte counters exact; GC
 * adds conditional moves and segment retirements. The apply step (serialised
 * by group commit: one batch at a time) turns a batch of these into one
 * engine batch.
 */

/** One operation of an engine batch (engine keys). */
export type LevelBatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

/** Where a GC move expects the key's current value to point. */
export interface EntryLocation {
  readonly segment: number;
  /** Offset of the record bytes in the segment file. */
  readonly offset: number;
}

export type CommitOp =
  /** A hint, meta or set-aside key, or a value-log counter: stored exactly as given. */
  | LevelBatchOp
  /**
   * Store (record) or remove (undefined) the record of a data key; large
   * records go to the value log, their pointer followed by `summary()` if given.
   */
  | { readonly type: 'record'; readonly key: Uint8Array; readonly record: Uint8Array | undefined; readonly summary?: (() => Uint8Array) | undefined }
  /**
   * GC: store `record` again (from a segment being compacted) only if the
   * key's current value still points at `from`; otherwise a client write
   * replaced it and the move is dropped. Forces a synced batch.
   */
  | { readonly type: 'relocate'; readonly key: Uint8Array; readonly from: EntryLocation; readonly record: Uint8Array }
  /** GC: drop a segment whose live bytes are 0 (its counter goes, in a synced batch; the file goes after). */
  | { readonly type: 'retire'; readonly segment: number };

/** The engine operation of a batch op when there is no value log: data records are stored inline. */
export function inlineOp(op: CommitOp): LevelBatchOp {
  switch (op.type) {
    case 'put':
    case 'del':
      return op;
    case 'record':
      return op.record === undefined ? { type: 'del', key: op.key } : { type: 'put', key: op.key, value: op.record };
    default:
      throw new Error(`assertion failed: a '${op.type}' op without a value log`);
  }
}
