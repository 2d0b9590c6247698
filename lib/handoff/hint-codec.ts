/**
 * The value stored under a hint key: when the hint was last written (for the
 * hint window) and the record (storage record codec) to hand over. A format
 * byte first, so the layout can change without guessing.
 */
import { StorageCorruptionError } from '../runtime/index.ts';

const HINT_FORMAT_V1 = 1;
const HEADER_BYTES = 1 + 8;

export interface Hint {
  /** Wall-clock ms when the hint was first stored (merging a later version into it keeps this: the oldest version it may carry sets its age). */
  readonly storedAtMs: number;
  readonly record: Uint8Array;
}

export function encodeHint(h: Hint): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + h.record.length);
  out[0] = HINT_FORMAT_V1;
  new DataView(out.buffer).setFloat64(1, h.storedAtMs, false);
  out.set(h.record, HEADER_BYTES);
  return out;
}

export function decodeHint(bytes: Uint8Array): Hint {
  if (bytes.length < HEADER_BYTES || bytes[0] !== HINT_FORMAT_V1) {
    throw new StorageCorruptionError(`hint value is not a format-${HINT_FORMAT_V1} hint (${bytes.length} bytes, format ${bytes[0] ?? 'none'})`);
  }
  const storedAtMs = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(1, false);
  return { storedAtMs, record: bytes.subarray(HEADER_BYTES) };
}
