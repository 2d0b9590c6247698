/**
 * The version digest of a stored object: a 64-bit fingerprint of everything
 * a replica holds for one key (its DVV set: clock and live values,
 * tombstones included). Trees hash (key, digest) pairs and exchanges compare
 * digests, so two replicas agree on a key exactly when their digests agree.
 *
 * Contract:
 * - Canonical: objects equal under DVV semantics give equal digests. Entries
 *   are already sorted by actor and each entry's values are ordered by their
 *   dots (values[i] is dot counter - i), so both are hashed as they stand;
 *   anonymous values carry no dot and their order follows merge arguments
 *   (Dvv.sync), so they are hashed as a sorted set of fingerprints.
 *   `writtenAtMs` -0 and 0 are one value (=== equal), so -0 is hashed as 0.
 * - Sensitive: any change of an actor, a counter, the number of live values
 *   of an entry, or a value's tombstone flag, write time, length or bytes
 *   changes the digest (up to a 64-bit collision for the clock and 32-bit for
 *   the bytes of a value, see below).
 * - ABSENT_DIGEST (0) means "no object" (an absent key, or the empty DVV set,
 *   which merges as nothing): it is the XOR identity in the trees, so an
 *   absent key contributes nothing. A present object never digests to 0.
 *
 * A value's bytes enter through a 32-bit hash plus their length rather than
 * in full, so the encoding stays small whatever the value size. This costs
 * nothing in practice: a dot names one value forever (README, "A version
 * number is issued once"), so two replicas with equal clocks hold equal
 * values unless a version number was issued twice — which the bytes hash
 * still reveals with probability 1 - 2^-32.
 *
 * Canonical encoding, format 1 (all integers big-endian):
 *   u8 1 | u32 entryCount | per entry: u32 actorBytes, actor UTF-8,
 *   f64 counter, u32 valueCount, fingerprint × valueCount |
 *   u32 anonymousCount | distinct anonymous fingerprints, sorted bytewise
 *   fingerprint (17 bytes): u8 tombstone | f64 writtenAtMs | u32 dataBytes | u32 VALUE_HASH(data)
 * hashed with DIGEST_HASH (hash.ts).
 */
import type { HeldObject, StoredValue, ValueFingerprint } from '../storage/index.ts';
import { assert } from '../runtime/index.ts';
import { digestHash, valueHash } from './hash.ts';

/** A 64-bit version digest (uint64 as bigint); ABSENT_DIGEST for no object. */
export type VersionDigest = bigint;

/** The digest of an absent key (the XOR identity of the trees). */
export const ABSENT_DIGEST: VersionDigest = 0n;

/** One key and the digest of what a replica holds for it. */
export interface KeyDigest {
  readonly key: Uint8Array;
  readonly digest: VersionDigest;
}

const DIGEST_MAX = (1n << 64n) - 1n;
const FORMAT = 1;
const FINGERPRINT_BYTES = 17;
const utf8 = new TextEncoder();

/**
 * UTF-8 bytes of recently seen non-ASCII actors. Actors are ASCII in
 * practice (node ids and an epoch) and are written char by char: a Map
 * lookup would hash the string, and every decoded record brings fresh
 * strings whose hash is not cached. Encoding costs about as much as hashing
 * the rest of a small object, so the rare non-ASCII actor is cached. Cleared
 * when full, so it stays bounded whatever a peer sends.
 */
const actorBytes = new Map<string, Uint8Array>();
const ACTOR_CACHE_MAX = 4096;

function encodeActor(actor: string): Uint8Array {
  let bytes = actorBytes.get(actor);
  if (bytes === undefined) {
    if (actorBytes.size >= ACTOR_CACHE_MAX) actorBytes.clear();
    bytes = utf8.encode(actor);
    actorBytes.set(actor, bytes);
  }
  return bytes;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** UTF-8 length of `actor`. */
function actorByteLength(actor: string): number {
  return isAscii(actor) ? actor.length : encodeActor(actor).length;
}

/** Writes `actor`'s UTF-8 bytes at `at` (its length was reserved by actorByteLength). */
function writeActor(out: Uint8Array, at: number, actor: string): number {
  if (isAscii(actor)) {
    for (let i = 0; i < actor.length; i++) out[at + i] = actor.charCodeAt(i);
    return actor.length;
  }
  const bytes = encodeActor(actor);
  out.set(bytes, at);
  return bytes.length;
}

/** Asserts `d` is a uint64 bigint (a programmer error otherwise). */
export function assertDigest(d: VersionDigest, what: string): void {
  // The message is built only on failure: this runs twice per tree update, on every write.
  if (!(typeof d === 'bigint' && d >= 0n && d <= DIGEST_MAX)) assert(false, `${what}: a version digest is a uint64 bigint, got ${String(d)}`);
}

/**
 * Scratch space for the canonical encoding. versionDigest runs on every local
 * write (the trees' observer) and is synchronous, so one buffer serves every
 * call; an encoding larger than SCRATCH_MAX (a key with very many siblings)
 * gets a buffer of its own rather than pinning a large one.
 */
const SCRATCH_MAX = 64 * 1024;
let scratch = new Uint8Array(1024);
let scratchView = new DataView(scratch.buffer);

/**
 * The version digest of `obj` (see the module header); ABSENT_DIGEST for the
 * empty set. Values may be whole or fingerprints (a record's summary,
 * lib/storage/record-summary.ts, whose hash is VALUE_HASH): both give the
 * same digest, so a replica that read only a summary digests it as the whole object.
 */
export function versionDigest(obj: HeldObject): VersionDigest {
  if (obj.entries.length === 0 && obj.anonymous.length === 0) return ABSENT_DIGEST;
  const anonymous = obj.anonymous.length === 0 ? NO_FINGERPRINTS : distinctSorted(obj.anonymous.map(fingerprint));
  let size = 1 + 4 + 4 + anonymous.length * FINGERPRINT_BYTES;
  for (const e of obj.entries) size += 4 + actorByteLength(e.actor) + 8 + 4 + e.values.length * FINGERPRINT_BYTES;
  let out = scratch;
  let view = scratchView;
  if (size > out.length) {
    out = new Uint8Array(size);
    view = new DataView(out.buffer);
    if (size <= SCRATCH_MAX) {
      scratch = out;
      scratchView = view;
    }
  }
  let at = 0;
  view.setUint8(at, FORMAT);
  view.setUint32((at += 1), obj.entries.length);
  at += 4;
  let previous: string | undefined;
  for (const e of obj.entries) {
    if (!(previous === undefined || previous < e.actor)) assert(false, `versionDigest: entries must be sorted by actor (${previous} then ${e.actor})`);
    previous = e.actor;
    const actorLength = writeActor(out, at + 4, e.actor);
    view.setUint32(at, actorLength);
    at += 4 + actorLength;
    view.setFloat64(at, e.counter);
    view.setUint32(at + 8, e.values.length);
    at += 12;
    for (const v of e.values) at = writeFingerprint(view, at, v);
  }
  view.setUint32(at, anonymous.length);
  at += 4;
  for (const f of anonymous) {
    out.set(f, at);
    at += FINGERPRINT_BYTES;
  }
  assert(at === size, 'versionDigest: encoding size mismatch');
  const digest = digestHash(out.length === size ? out : out.subarray(0, size));
  // 0 is reserved for "absent"; remapping one value of 2^64 keeps the contract.
  return digest === ABSENT_DIGEST ? 1n : digest;
}

const NO_FINGERPRINTS: readonly Uint8Array[] = Object.freeze([]);

function writeFingerprint(view: DataView, at: number, v: StoredValue | ValueFingerprint): number {
  view.setUint8(at, v.tombstone ? 1 : 0);
  // -0 === 0 for StoredValue equality; hash them alike.
  view.setFloat64(at + 1, v.writtenAtMs === 0 ? 0 : v.writtenAtMs);
  const whole = (v as Partial<StoredValue>).data;
  if (whole === undefined) {
    view.setUint32(at + 9, (v as ValueFingerprint).dataBytes);
    view.setUint32(at + 13, (v as ValueFingerprint).dataHash);
  } else {
    view.setUint32(at + 9, whole.length);
    view.setUint32(at + 13, valueHash(whole));
  }
  return at + FINGERPRINT_BYTES;
}

function fingerprint(v: StoredValue | ValueFingerprint): Uint8Array {
  const out = new Uint8Array(FINGERPRINT_BYTES);
  writeFingerprint(new DataView(out.buffer), 0, v);
  return out;
}

/** Fingerprints sorted bytewise, duplicates removed (anonymous values are a set). */
function distinctSorted(prints: Uint8Array[]): Uint8Array[] {
  prints.sort(compareBytes);
  return prints.filter((p, i) => i === 0 || compareBytes(p, prints[i - 1]!) !== 0);
}

/** Bytewise order of two byte strings (shorter first on a common prefix). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}
