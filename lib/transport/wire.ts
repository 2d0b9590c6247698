/**
 * Protobuf wire primitives for the hand-written codecs (peer-codec.ts,
 * session-codec.ts): field lengths computed before anything is written (so a
 * message's length prefix is known up front — no fork/ldelim), field writers
 * that leave proto3 defaults out, and the reader checks. Readers throw plain
 * Errors here; each codec wraps them in its own InvalidArgumentError.
 *
 * Tags are varints like every other number: a field numbered 16 or more takes
 * a two-byte tag, and every length below counts the tag's real size (the
 * codecs once assumed one byte, which would have corrupted frames silently
 * the day a field 16 was added).
 */
import protobuf from 'protobufjs';

/** A protobufjs writer (BufferWriter under Node, so `finish()` yields a Buffer). */
export type Writer = protobuf.Writer;
/** A protobufjs reader. */
export type Reader = protobuf.Reader;

/** Wire type of varint fields. */
export const VARINT = 0;
/** Wire type of 64-bit fields (fixed64). */
export const I64 = 1;
/** Wire type of length-delimited fields (bytes, strings, messages). */
export const LEN = 2;

/** The largest field number protobuf allows (2^29 - 1). */
export const FIELD_NUMBER_MAX = 0x1fffffff;

/** The tag of `field` with `wireType` (a uint32; field numbers up to 2^29 - 1). */
export const tag = (field: number, wireType: number): number => field * 8 + wireType;

/** Bytes a uint32 varint takes. */
export function varintLength(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Bytes the tag of `field` takes (the wire type never changes it). */
export const tagLength = (field: number): number => varintLength(field * 8);

// Lengths of whole fields (tag + payload). They also validate: a value of the
// wrong type (a bug upstream) throws before a byte of its entry is written,
// leaving the frame intact.

/** Length of `b`, checking it is bytes. */
export function bytesLength(b: Uint8Array): number {
  if (!(b instanceof Uint8Array)) throw new TypeError(`wire codec: expected bytes, got ${typeof b}`);
  return b.length;
}
/** An always-present length-delimited field `field` (optional bytes, oneof member) of `n` payload bytes. */
export const lenFieldLength = (field: number, n: number): number => tagLength(field) + varintLength(n) + n;
/** A proto3 bytes field: absent when empty. */
export const bytesFieldLength = (field: number, b: Uint8Array): number => {
  const n = bytesLength(b);
  return n === 0 ? 0 : lenFieldLength(field, n);
};
/** A proto3 optional bytes field: absent when undefined, present (even empty) otherwise. */
export const optionalBytesFieldLength = (field: number, b: Uint8Array | undefined): number =>
  b === undefined ? 0 : lenFieldLength(field, bytesLength(b));
/** A proto3 uint32 field: absent when 0. */
export const uint32FieldLength = (field: number, v: number): number => (v === 0 ? 0 : tagLength(field) + varintLength(v));
/** A proto3 optional fixed64 field: absent when undefined. */
export const optionalFixed64FieldLength = (field: number, v: bigint | undefined): number => (v === undefined ? 0 : tagLength(field) + 8);
/** A proto3 bool field: absent when false. */
export const boolFieldLength = (field: number, v: boolean): number => (v ? tagLength(field) + 1 : 0);
/** A proto3 string field: absent when empty. */
export function stringFieldLength(field: number, s: string): number {
  if (typeof s !== 'string') throw new TypeError(`wire codec: expected a string, got ${typeof s}`);
  if (s.length === 0) return 0;
  return lenFieldLength(field, protobuf.util.utf8.length(s));
}

/** Write a proto3 bytes field (nothing when empty). */
export function writeBytesField(w: Writer, field: number, b: Uint8Array): void {
  if (b.length !== 0) w.uint32(tag(field, LEN)).bytes(b);
}
/** Write a proto3 optional bytes field (nothing when undefined; present when empty). */
export function writeOptionalBytesField(w: Writer, field: number, b: Uint8Array | undefined): void {
  if (b !== undefined) w.uint32(tag(field, LEN)).bytes(b);
}
/** Write a proto3 uint32 field (nothing when 0). */
export function writeUint32Field(w: Writer, field: number, v: number): void {
  if (v !== 0) w.uint32(tag(field, VARINT)).uint32(v);
}
/** Write a proto3 bool field (nothing when false). */
export function writeBoolField(w: Writer, field: number, v: boolean): void {
  if (v) w.uint32(tag(field, VARINT)).uint32(1);
}
/** Write a proto3 optional fixed64 field (nothing when undefined); `v` must be a uint64 bigint. */
export function writeOptionalFixed64Field(w: Writer, field: number, v: bigint | undefined): void {
  if (v === undefined) return;
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw new TypeError(`wire codec: expected a uint64 bigint, got ${String(v)}`);
  w.uint32(tag(field, I64)).fixed32(Number(v & 0xffffffffn)).fixed32(Number(v >> 32n));
}
/** Read a fixed64 payload (little-endian) as a uint64 bigint. */
export function readFixed64(r: Reader): bigint {
  const lo = r.fixed32();
  const hi = r.fixed32();
  return (BigInt(hi) << 32n) | BigInt(lo);
}
/** Write a proto3 string field (nothing when empty). */
export function writeStringField(w: Writer, field: number, s: string): void {
  if (s.length !== 0) w.uint32(tag(field, LEN)).string(s);
}

/** uint32 for the wire: whole numbers (rounded up), clamped to the uint32 range; NaN -> 0. */
export function wireUint32(v: number): number {
  return v >= 0xffffffff ? 0xffffffff : v > 0 ? Math.ceil(v) : 0;
}

/** Skip a field the decoder does not read (unknown, or a known number with an unexpected wire type). */
export function skipField(r: Reader, t: number): void {
  if (t >>> 3 === 0) throw new Error('field number 0');
  r.skipType(t & 7);
}

/** After reading a field of a message ending at `end`: it must not have run past it. */
export function checkEnd(r: Reader, end: number): void {
  if (r.pos > end) throw new Error('field overruns its message');
}

/** Shared empty bytes (never written to). */
export const EMPTY: Uint8Array = new Uint8Array(0);
