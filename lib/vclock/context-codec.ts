/**
 * The client context codec. A context is the version vector a client saw,
 * handed to it as opaque bytes and returned with its next write.
 *
 * A context is bound to the key it was read for: it carries a fingerprint of
 * the key, and decoding it for another key is refused. Otherwise a context
 * passed to the wrong key (an application bug, or a hostile client) would
 * make that key's clock claim counters its replicas never issued, covering
 * versions they will mint later (the replica side also clamps counters it
 * cannot verify; see replication/context-check.ts).
 *
 * Format, version 2 (all varints are unsigned LEB128, canonical — no
 * superfluous 0x80/0x00 continuation bytes — and at most 2^53 - 1):
 *
 *     byte 0       format version, 0x02
 *     bytes 1..8   key fingerprint: MurmurHash3 x86-32 of the key with seed
 *                  KEY_SEED_HI, then with KEY_SEED_LO, each big-endian
 *     varint       entry count (>= 1)
 *     per entry, in ascending actor order (UTF-16 code units, as JS `<`), actors unique:
 *       varint     actor length in bytes (>= 1)
 *       bytes      actor, UTF-8 (well-formed)
 *       varint     counter (>= 1)
 *
 * The empty vector is encoded as zero bytes (not as version + count 0), so
 * "no context" and "empty context" are the same thing. Every vector has
 * exactly one encoding and decodeContext accepts only that encoding, so
 * accepted bytes always re-encode to themselves. Contexts longer than
 * LIMITS.contextBytesMax are refused. Version 1 (no fingerprint) is no
 * longer accepted: such a context is refused with a message to read again.
 */
import murmur from 'murmurhash3js-revisited';
import { LIMITS } from '../protocol/index.ts';
import { assert, InvalidArgumentError } from '../runtime/index.ts';
import type { VectorEntry, VersionVector } from './types.ts';
import { assertVector } from './vector.ts';
import { readVarint, type VarintRead, writeVarint } from './varint.ts';

/** First byte of every non-empty context. */
const CONTEXT_FORMAT_VERSION = 2;
/** Bytes of the key fingerprint after the version byte. */
export const KEY_FINGERPRINT_BYTES = 8;
/** Seeds of the two 32-bit halves of the fingerprint (arbitrary, pinned: changing them invalidates every context). */
const KEY_SEED_HI = 0x6b43a9b5;
const KEY_SEED_LO = 0x2f0e1d3c;
/** Where the entry count starts. */
const HEADER_BYTES = 1 + KEY_FINGERPRINT_BYTES;
/** Smallest possible entry: 1-byte length, 1-byte actor, 1-byte counter. */
const ENTRY_BYTES_MIN = 3;

const utf8Encoder = new TextEncoder();
/** In `u` mode a surrogate pair is one code point, so this matches only unpaired surrogates (which UTF-8 cannot carry). */
const LONE_SURROGATE = /\p{Surrogate}/u;
/** fatal: refuse invalid UTF-8 rather than substitute; ignoreBOM: keep a leading U+FEFF as part of the actor. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The 8-byte fingerprint of `key` a context carries (two seeded MurmurHash3 x86-32, big-endian). */
export function keyFingerprint(key: Uint8Array): Uint8Array {
  const hi = murmur.x86.hash32(key, KEY_SEED_HI);
  const lo = murmur.x86.hash32(key, KEY_SEED_LO);
  assert(typeof hi === 'number' && typeof lo === 'number', 'murmur3 rejected a Uint8Array');
  const out = new Uint8Array(KEY_FINGERPRINT_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, hi);
  view.setUint32(4, lo);
  return out;
}

/** See lib/vclock index: encodeContext. */
export function encodeContext(vv: VersionVector, key: Uint8Array): Uint8Array {
  assertVector(vv, 'encodeContext');
  if (vv.length === 0) return new Uint8Array(0);
  const out: number[] = [CONTEXT_FORMAT_VERSION];
  for (const b of keyFingerprint(key)) out.push(b);
  writeVarint(out, vv.length);
  for (const e of vv) {
    assert(!LONE_SURROGATE.test(e.actor), `encodeContext: actor ${JSON.stringify(e.actor)} is not well-formed UTF-16`);
    const actor = utf8Encoder.encode(e.actor);
    writeVarint(out, actor.length);
    for (const b of actor) out.push(b);
    writeVarint(out, e.counter);
  }
  return Uint8Array.from(out);
}

function malformed(detail: string, offset: number): InvalidArgumentError {
  return new InvalidArgumentError(
    `context is malformed: ${detail} at byte ${offset}; pass the context bytes returned by get/put unchanged (or empty bytes for none)`,
  );
}

/** Reads a varint at `offset` or throws the readable error naming `what` (e.g. "counter of entry 2"). */
function varintAt(bytes: Uint8Array, offset: number, what: string): { value: number; next: number } {
  const r: VarintRead = readVarint(bytes, offset);
  if (r.ok) return r;
  switch (r.problem) {
    case 'truncated':
      throw malformed(`truncated inside the ${what}`, bytes.length);
    case 'overlong':
      throw malformed(`the ${what} uses a non-canonical varint`, offset);
    case 'too large':
      throw malformed(`the ${what} is above ${Number.MAX_SAFE_INTEGER}`, offset);
  }
}

/** See lib/vclock index: decodeContext. */
export function decodeContext(bytes: Uint8Array, key: Uint8Array): VersionVector {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError(`context must be bytes (Uint8Array), got ${bytes === null ? 'null' : typeof bytes}`);
  }
  if (bytes.length === 0) return [];
  if (bytes.length > LIMITS.contextBytesMax) {
    throw new InvalidArgumentError(
      `context is ${bytes.length} bytes, above the limit of ${LIMITS.contextBytesMax}; pass the context bytes returned by get/put unchanged`,
    );
  }
  if (bytes[0] === 1) {
    throw new InvalidArgumentError(
      'context has format version 1, which is not bound to a key and is no longer accepted; read the key again and pass the context that read returns',
    );
  }
  if (bytes[0] !== CONTEXT_FORMAT_VERSION) {
    throw malformed(`unsupported format version ${bytes[0]} (expected ${CONTEXT_FORMAT_VERSION})`, 0);
  }
  if (bytes.length < HEADER_BYTES) throw malformed('truncated inside the key fingerprint', bytes.length);
  const fingerprint = keyFingerprint(key);
  for (let i = 0; i < KEY_FINGERPRINT_BYTES; i++) {
    if (bytes[1 + i] !== fingerprint[i]) {
      throw new InvalidArgumentError(
        'context was read for a different key; pass the context returned by a get or put of this same key (or none)',
      );
    }
  }
  const { value: count, next: entriesAt } = varintAt(bytes, HEADER_BYTES, 'entry count');
  let pos = entriesAt;
  if (count === 0) throw malformed('entry count is 0 (an empty context must be empty bytes)', HEADER_BYTES);
  const room = bytes.length - pos;
  if (count > Math.floor(room / ENTRY_BYTES_MIN)) {
    throw malformed(`entry count ${count} cannot fit in the ${room} bytes that follow`, HEADER_BYTES);
  }
  const vv: VectorEntry[] = [];
  let previous: string | undefined;
  for (let i = 1; i <= count; i++) {
    const lengthAt = pos;
    const length = varintAt(bytes, pos, `actor length of entry ${i}`);
    const actorBytes = length.value;
    pos = length.next;
    if (actorBytes === 0) throw malformed(`entry ${i} has an empty actor`, lengthAt);
    if (actorBytes > bytes.length - pos) throw malformed(`truncated inside the actor of entry ${i}`, bytes.length);
    let actor: string;
    try {
      actor = utf8Decoder.decode(bytes.subarray(pos, pos + actorBytes));
    } catch {
      throw malformed(`the actor of entry ${i} is not valid UTF-8`, pos);
    }
    if (previous !== undefined && !(previous < actor)) {
      throw malformed(
        previous === actor ? `actor of entry ${i} repeats the previous entry's` : `actor of entry ${i} is not after the previous one (actors must be sorted)`,
        pos,
      );
    }
    pos += actorBytes;
    const counterAt = pos;
    const { value: counter, next } = varintAt(bytes, pos, `counter of entry ${i}`);
    pos = next;
    if (counter === 0) throw malformed(`the counter of entry ${i} is 0`, counterAt);
    vv.push({ actor, counter });
    previous = actor;
  }
  if (pos !== bytes.length) throw malformed(`${bytes.length - pos} trailing bytes after the last entry`, pos);
  return vv;
}
