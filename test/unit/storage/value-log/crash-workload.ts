/**
 * The workload of the value-log crash test, shared by the writer (a child
 * process) and the checker: what the n-th operation on a key stores, so the
 * checker can tell exactly which values a key may hold after a SIGKILL.
 */
import type { DiskEngineOptions } from '../../../../lib/storage/index.ts';

export const PARTITION = 7;
export const LANES = 4;
export const KEYS_PER_LANE = 6;
export const KEY_COUNT = LANES * KEYS_PER_LANE;

/** syncWrites, tiny segments and a GC ratio of 0.9: segments fill in a few writes and GC runs all the time. */
export const CRASH_OPTIONS: Omit<DiskEngineOptions, 'dataDir'> = {
  syncWrites: true,
  valueLogMinBytes: 1024,
  valueLogSegmentBytes: 16 * 1024,
  valueLogGcLiveRatio: 0.9,
};

export const keyOf = (i: number): Uint8Array => new TextEncoder().encode(`key-${String(i).padStart(3, '0')}`);

/** Every fifth operation on a key deletes it. */
export const isDelete = (seq: number): boolean => seq % 5 === 4;

/** The record operation `seq` (>= 1) on key `i` puts: 200 B to ~12 KiB, so some stay inline; seq in bytes 1..4. */
export function recordFor(i: number, seq: number): Uint8Array {
  const length = 200 + ((seq * 7919 + i * 104729) % 12000);
  const r = new Uint8Array(length);
  let x = (seq * 2654435761 + i * 40503) >>> 0;
  for (let j = 0; j < length; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    r[j] = x >>> 24;
  }
  r[0] = 0x01;
  new DataView(r.buffer).setUint32(1, seq);
  return r;
}

/** What key `i` holds right after operation `seq`. */
export function stateAfter(i: number, seq: number): Uint8Array | undefined {
  return isDelete(seq) ? undefined : recordFor(i, seq);
}
