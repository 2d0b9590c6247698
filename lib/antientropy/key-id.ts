/**
 * Keys as Map keys: one latin1 character per byte, so the mapping is
 * injective and costs one native conversion (no hex doubling).
 */
import { Buffer } from 'node:buffer';

/** A string that identifies `key`'s bytes (equal bytes <=> equal strings). */
export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
