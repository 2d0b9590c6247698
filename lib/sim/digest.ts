/**
 * FNV-1a (32-bit): the simulator's content fingerprint for messages and
 * transcripts. Not cryptographic; it only has to make "same bytes" cheap to
 * compare and print.
 */

/** FNV-1a offset basis: the digest of nothing. */
export const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Fold bytes into digest `h`. */
export function fnv1aBytes(bytes: Uint8Array, h: number = FNV_OFFSET): number {
  for (const b of bytes) h = Math.imul(h ^ b, FNV_PRIME) >>> 0;
  return h;
}

/** Fold a string's UTF-16 code units into digest `h`. */
export function fnv1aString(text: string, h: number = FNV_OFFSET): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME) >>> 0;
  return h;
}

/** A digest as 8 lowercase hex digits. */
export function hex32(h: number): string {
  return h.toString(16).padStart(8, '0');
}
