/**
 * Unsigned LEB128 varints limited to Number.MAX_SAFE_INTEGER (at most 8
 * bytes), with one canonical encoding per number: decoding refuses overlong
 * forms so that accepted bytes re-encode to themselves.
 */

/** Longest varint that can hold Number.MAX_SAFE_INTEGER (53 bits / 7 per byte). */
const VARINT_BYTES_MAX = 8;

/** Bytes of `n` (a safe non-negative integer) as a varint. */
export function varintBytes(n: number): number {
  let bytes = 1;
  for (let rest = n; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

/** Writes `n` (a safe non-negative integer) at `pos` of `out`, which has room; returns the offset after it. */
export function putVarint(out: Uint8Array, pos: number, n: number): number {
  let rest = n;
  let at = pos;
  while (rest >= 0x80) {
    out[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[at++] = rest;
  return at;
}

/** Why a varint could not be read; the caller turns it into its own error. */
export type VarintProblem = 'truncated' | 'overlong' | 'too large';

/** A decoded varint and the offset just past it, or the problem found. */
export type VarintRead = { ok: true; value: number; next: number } | { ok: false; problem: VarintProblem };

/** Reads one varint at `offset`. Never throws. */
export function readVarint(bytes: Uint8Array, offset: number): VarintRead {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < VARINT_BYTES_MAX; i++) {
    const pos = offset + i;
    if (pos >= bytes.length) return { ok: false, problem: 'truncated' };
    const b = bytes[pos]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) return { ok: false, problem: 'overlong' };
      if (value > Number.MAX_SAFE_INTEGER) return { ok: false, problem: 'too large' };
      return { ok: true, value, next: pos + 1 };
    }
    scale *= 0x80;
  }
  return { ok: false, problem: 'too large' };
}
