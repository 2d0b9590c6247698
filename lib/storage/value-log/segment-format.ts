/**
 * Value-log formats (WiscKey, Lu et al., FAST '16: keys stay in the LSM tree,
 * large values go to an append-only log and the tree keeps a pointer). Pure:
 * bytes in, bytes or a verdict out; no file access here.
 *
 * Segment file `<dataDir>/vlog/NNNNNN.vlog`: entries back to back, nothing else.
 *
 *   entry   = magic (u32 BE, 'VLG1') | crc (u32 BE) | keyLen (u32 BE) | recordLen (u32 BE)
 *             | engine key | record
 *   crc     = crc32 of record, then keyLen and recordLen, then key (everything
 *             after itself; the record first so the pointer's crc of the record
 *             is the running value and the record is summed once)
 *
 * The engine key in the entry is what lets GC ask the engine whether the entry
 * is still the key's current value. A torn or rotten entry fails its magic,
 * lengths or crc, and a walk stops there.
 *
 * Pointer, stored by the engine under the data key in place of the record:
 *
 *   0xFE | segment (u32 BE) | record offset hi, lo (2 x u32 BE) | record length (u32 BE) | crc32 of the record (u32 BE)
 *
 * or, when the write carried the record's summary (storage.ts), the same
 * pointer tagged 0xFD and followed by the summary bytes:
 *
 *   0xFD | segment | offset hi, lo | length | crc (as above) | summary (the rest of the row)
 *
 * so a read that needs only the summary (the clock and the values'
 * fingerprints) never touches the log. Records never begin with 0xFE or 0xFD
 * (storage.ts; the record codec's tag is 0x01), so the first byte tells a
 * pointer from an inline record. The offset is that of the record bytes, not
 * of the entry, so a read needs no header.
 *
 * Live-byte counters persist as meta entries `valuelog/live/<segment>` holding
 * the segment's live entry bytes (u64 as 2 x u32 BE); no entry means 0.
 */
import { crc32 } from 'node:zlib';

/** Who appends: client writes, or GC relocating live entries; each has an active segment of its own. */
export type AppendStream = 'write' | 'gc';

/** First byte of a pointer; no record may begin with it. */
export const POINTER_TAG = 0xfe;
/** First byte of a pointer followed by its record's summary; no record may begin with it either. */
export const SUMMARY_POINTER_TAG = 0xfd;
/** Bytes of an encoded pointer (without a summary). */
export const POINTER_BYTES = 21;
/** Bytes of an entry header. */
export const ENTRY_HEADER_BYTES = 16;
/** 'VLG1': an entry starts here. */
export const ENTRY_MAGIC = 0x564c4731;
/** Engine keys are short (a 5-byte prefix plus a user key); a longer length in a header is rot, not data. */
export const ENTRY_KEY_BYTES_MAX = 1 << 20;
/** Meta names below this prefix belong to the value log. */
export const VALUE_LOG_META_PREFIX = 'valuelog/';
const LIVE_COUNTER_PREFIX = `${VALUE_LOG_META_PREFIX}live/`;
const U32 = 0x1_0000_0000;

/** Where a record lives in the value log. */
export interface Pointer {
  readonly segment: number;
  /** Byte offset of the record (not the entry) in the segment file. */
  readonly offset: number;
  readonly length: number;
  /** crc32 of the record bytes. */
  readonly crc: number;
}

/** One entry as found by a walk. */
export interface DecodedEntry {
  readonly key: Uint8Array;
  readonly record: Uint8Array;
  /** Entry bytes, header included. */
  readonly bytes: number;
}

/** What decodeEntry found at an offset. */
export type EntryVerdict =
  | { readonly kind: 'entry'; readonly entry: DecodedEntry }
  /** The buffer ends inside the entry: `need` bytes from the offset hold it (if the header is sane). */
  | { readonly kind: 'truncated'; readonly need: number }
  | { readonly kind: 'corrupt'; readonly reason: string };

/** Bytes an entry of this key and record takes in a segment (the unit of live-byte accounting). */
export function entryBytes(keyLength: number, recordLength: number): number {
  return ENTRY_HEADER_BYTES + keyLength + recordLength;
}

/**
 * The header of the entry for (key, a record of `recordLength` bytes whose
 * crc32 is `crcOfRecord`); written before them, so the record is never copied.
 */
export function encodeEntryHeader(key: Uint8Array, recordLength: number, crcOfRecord: number): Uint8Array {
  const header = new Uint8Array(ENTRY_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, ENTRY_MAGIC);
  view.setUint32(8, key.length);
  view.setUint32(12, recordLength);
  view.setUint32(4, crc32(key, crc32(header.subarray(8), crcOfRecord)));
  return header;
}

/** Decodes the entry at `offset` of `buf` (key and record are views into `buf`). */
export function decodeEntry(buf: Uint8Array, offset: number): EntryVerdict {
  if (buf.length - offset < ENTRY_HEADER_BYTES) return { kind: 'truncated', need: ENTRY_HEADER_BYTES };
  const view = new DataView(buf.buffer, buf.byteOffset + offset, ENTRY_HEADER_BYTES);
  if (view.getUint32(0) !== ENTRY_MAGIC) return { kind: 'corrupt', reason: 'bad entry magic' };
  const keyLength = view.getUint32(8);
  const recordLength = view.getUint32(12);
  if (keyLength > ENTRY_KEY_BYTES_MAX) return { kind: 'corrupt', reason: `entry key length ${keyLength} is not plausible` };
  const need = entryBytes(keyLength, recordLength);
  if (buf.length - offset < need) return { kind: 'truncated', need };
  const keyStart = offset + ENTRY_HEADER_BYTES;
  const key = buf.subarray(keyStart, keyStart + keyLength);
  const record = buf.subarray(keyStart + keyLength, keyStart + keyLength + recordLength);
  const lengths = buf.subarray(offset + 8, offset + ENTRY_HEADER_BYTES);
  if (crc32(key, crc32(lengths, crc32(record))) !== view.getUint32(4)) return { kind: 'corrupt', reason: 'entry fails its checksum' };
  return { kind: 'entry', entry: { key, record, bytes: need } };
}

/** crc32 of a record, as a pointer carries it. */
export function recordCrc(record: Uint8Array): number {
  return crc32(record);
}

/** Whether a stored engine value is a pointer rather than an inline record (by its tag; see decodePointer). */
export function isPointer(value: Uint8Array): boolean {
  return value.length > 0 && (value[0] === POINTER_TAG || value[0] === SUMMARY_POINTER_TAG);
}

/** A pointer row, tagged 0xFD and followed by `summary` when one is given. */
export function encodePointer(p: Pointer, summary?: Uint8Array): Uint8Array {
  // An empty summary is none: a 0xFD row must hold at least one summary byte to decode.
  const extra = summary !== undefined && summary.length > 0 ? summary : undefined;
  const out = new Uint8Array(POINTER_BYTES + (extra?.length ?? 0));
  const view = new DataView(out.buffer);
  out[0] = extra === undefined ? POINTER_TAG : SUMMARY_POINTER_TAG;
  if (extra !== undefined) out.set(extra, POINTER_BYTES);
  view.setUint32(1, p.segment);
  view.setUint32(5, Math.floor(p.offset / U32));
  view.setUint32(9, p.offset % U32);
  view.setUint32(13, p.length);
  view.setUint32(17, p.crc);
  return out;
}

/** The pointer in `value` (either tag), or undefined if it is not a well-formed one. */
export function decodePointer(value: Uint8Array): Pointer | undefined {
  const wellFormed = value[0] === POINTER_TAG ? value.length === POINTER_BYTES : value[0] === SUMMARY_POINTER_TAG && value.length > POINTER_BYTES;
  if (!wellFormed) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, POINTER_BYTES);
  const offset = view.getUint32(5) * U32 + view.getUint32(9);
  if (!Number.isSafeInteger(offset)) return undefined;
  return { segment: view.getUint32(1), offset, length: view.getUint32(13), crc: view.getUint32(17) };
}

/** The summary a pointer row carries (a view into `value`), or undefined: none, or not a pointer. */
export function pointerSummary(value: Uint8Array): Uint8Array | undefined {
  return value.length > POINTER_BYTES && value[0] === SUMMARY_POINTER_TAG ? value.subarray(POINTER_BYTES) : undefined;
}

/** File name of a segment: six digits at least, so names sort like numbers up to 999999. */
export function segmentFileName(segment: number): string {
  return `${String(segment).padStart(6, '0')}.vlog`;
}

/** The segment number a file name stands for, or undefined for any other file (left alone). */
export function parseSegmentFileName(name: string): number | undefined {
  const m = /^(\d{6,10})\.vlog$/.exec(name);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return n >= 1 && n < U32 ? n : undefined;
}

/** Meta name of a segment's live-byte counter. */
export function liveCounterName(segment: number): string {
  return `${LIVE_COUNTER_PREFIX}${segment}`;
}

/** The prefix every live-counter meta name starts with (for a range scan at open). */
export function liveCounterPrefix(): string {
  return LIVE_COUNTER_PREFIX;
}

/** The segment of a live-counter meta name, or undefined. */
export function parseLiveCounterName(name: string): number | undefined {
  if (!name.startsWith(LIVE_COUNTER_PREFIX)) return undefined;
  const rest = name.slice(LIVE_COUNTER_PREFIX.length);
  if (!/^\d+$/.test(rest)) return undefined;
  const n = Number(rest);
  return n >= 1 && n < U32 ? n : undefined;
}

export function encodeLiveBytes(bytes: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(bytes / U32));
  view.setUint32(4, bytes % U32);
  return out;
}

/** A counter's value, or undefined if the bytes are not one. */
export function decodeLiveBytes(value: Uint8Array): number | undefined {
  if (value.length !== 8) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, 8);
  const n = view.getUint32(0) * U32 + view.getUint32(4);
  return Number.isSafeInteger(n) ? n : undefined;
}
