/**
 * Reading a sealed segment from start to end, for GC: in chunks of
 * WALK_CHUNK_BYTES through a descriptor of its own (so no cached descriptor is
 * used across an await), entry by entry with the pure decoder. A walk stops at
 * the first entry that is torn (a crash mid-append: it can only be the tail,
 * as nothing is appended to a segment after a restart) or rotten; anything
 * live beyond a rotten entry keeps the segment's counter above zero, so the
 * segment is kept.
 */
import { open } from 'node:fs/promises';
import { decodeEntry } from './segment-format.ts';

/** Bytes read per step (an entry larger than this is read whole). */
export const WALK_CHUNK_BYTES = 1024 * 1024;

/** One entry found by walking a segment; arrays are owned copies. */
export interface WalkedEntry {
  readonly key: Uint8Array;
  readonly record: Uint8Array;
  /** Offset of the record bytes (what a pointer to it holds). */
  readonly recordOffset: number;
}

/** Every intact entry of the segment file at `path`, in order. */
export async function* walkSegment(path: string): AsyncGenerator<WalkedEntry, void, undefined> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    let pos = 0;
    let want = WALK_CHUNK_BYTES;
    while (pos < size) {
      const chunk = new Uint8Array(Math.min(want, size - pos));
      const { bytesRead } = await file.read(chunk, 0, chunk.length, pos);
      const buf = chunk.subarray(0, bytesRead);
      let at = 0;
      want = WALK_CHUNK_BYTES;
      for (;;) {
        const v = decodeEntry(buf, at);
        if (v.kind === 'corrupt') return;
        if (v.kind === 'truncated') {
          // Past the end of the file: a torn tail. (A full-size read that still falls short cannot happen; stop rather than spin.)
          if (pos + at + v.need > size || (at === 0 && v.need <= buf.length)) return;
          want = Math.max(WALK_CHUNK_BYTES, v.need);
          break;
        }
        const { key, record, bytes } = v.entry;
        yield { key: new Uint8Array(key), record: new Uint8Array(record), recordOffset: pos + at + bytes - record.length };
        at += bytes;
      }
      pos += at;
    }
  } finally {
    await file.close();
  }
}
