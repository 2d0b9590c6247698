/**
 * The client context codec. A context is the version vector a client saw,
 * handed to it as opaque bytes and returned with its next write.
 *
 * A context is signed by the cluster that issued it (an HMAC under a secret
 * every node shares) and bound to the key it was read for. A context whose
 * claims were raised or invented would let a write supersede versions its
 * client never saw: clamping a claim to the counters a replica has issued
 * (replication/context-check) cannot tell a version minted before the client
 * read from one minted while its write was delayed in the network (swarm seed
 * 40999). The signature can: only contexts the store handed out are accepted.
 * The key fingerprint is kept so that a context passed to the wrong key gets
 * an error saying so.
 *
 * Format, version 3 (all varints are unsigned LEB128, canonical — no
 * superfluous 0x80/0x00 continuation bytes — and at most 2^53 - 1):
 *
 *     byte 0       format version, 0x03
 *     bytes 1..8   key fingerprint: MurmurHash3 x86-32 of the key with seed
 *                  KEY_SEED_HI, then with KEY_SEED_LO, each big-endian
 *     varint       entry count (>= 1)
 *     per entry, in ascending actor order (UTF-16 code units, as JS `<`), actors unique:
 *       varint     actor length in bytes (>= 1)
 *       bytes      actor, UTF-8 (well-formed)
 *       varint     counter (>= 1)
 *     16 bytes     signature: the first 16 bytes of HMAC-SHA256 under the
 *                  secret of SIGNATURE_DOMAIN, varint(key length), the key,
 *                  and every byte above
 *
 * The empty vector is encoded as zero bytes (not as version + count 0), so
 * "no context" and "empty context" are the same thing. Every vector has
 * exactly one encoding under a secret and the codec accepts only that
 * encoding. Contexts longer than LIMITS.contextBytesMax are refused. The
 * signature is checked before any entry is parsed. Version 2 (the same
 * without a signature) is accepted only by a codec built with
 * acceptUnsigned (a rolling upgrade from a build that issued it); version 1
 * (no key fingerprint) is refused with a message to read again.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import murmur from 'murmurhash3js-revisited';
import { LIMITS } from '../protocol/index.ts';
import { assert, InvalidArgumentError } from '../runtime/index.ts';
import type { VectorEntry, VersionVector } from './types.ts';
import { assertVector } from './vector.ts';
import { putVarint, readVarint, varintBytes, type VarintRead } from './varint.ts';

/** First byte of every non-empty context this build issues. */
const CONTEXT_FORMAT_VERSION = 3;
/** The previous format: version 3 without the signature. */
const UNSIGNED_FORMAT_VERSION = 2;
/** Bytes of the key fingerprint after the version byte. */
export const KEY_FINGERPRINT_BYTES = 8;
/** Bytes of the signature that ends a version-3 context (128 bits of HMAC-SHA256). */
export const CONTEXT_SIGNATURE_BYTES = 16;
/** Shortest secret a codec takes (the node checks its --context-secret-file against it too). */
export const CONTEXT_SECRET_BYTES_MIN = 16;
/**
 * The secret of a cluster that was given none. It is public (it is here), so
 * it stops clients that mutate, cut or fabricate contexts by accident or by
 * fuzzing, not one that signs its own forgeries with it: a cluster that must
 * hold against those sets --context-secret-file.
 */
export const DEFAULT_CONTEXT_SECRET: Uint8Array = new TextEncoder().encode('dynamo.v1 default context secret: set --context-secret-file');
/** Prefixes what is signed, so that no other HMAC under the same secret can pass for a context's. */
const SIGNATURE_DOMAIN = new TextEncoder().encode('dynamo.v1 context\0');
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

/** What a ContextCodec is built from. */
export interface ContextCodecOptions {
  /**
   * The cluster's secrets, each at least CONTEXT_SECRET_BYTES_MIN bytes. The
   * first signs; any of them verifies, so a secret can be rotated without
   * refusing the contexts clients hold: add the new one first, and drop the
   * old one once no client can hold a context it signed. Default:
   * [DEFAULT_CONTEXT_SECRET].
   */
  readonly secrets?: readonly Uint8Array[];
  /** Accept version-2 contexts, which carry no signature (only while older builds that issue them still serve). */
  readonly acceptUnsigned?: boolean;
}

/** Encodes the contexts a node hands out and checks those clients bring back (see the header). */
export class ContextCodec {
  readonly #keys: readonly KeyObject[];
  readonly #acceptUnsigned: boolean;

  constructor(options: ContextCodecOptions = {}) {
    const secrets = options.secrets ?? [DEFAULT_CONTEXT_SECRET];
    assert(secrets.length > 0, 'ContextCodec: at least one secret');
    for (const s of secrets) assert(s.length >= CONTEXT_SECRET_BYTES_MIN, `ContextCodec: a secret must be at least ${CONTEXT_SECRET_BYTES_MIN} bytes`);
    this.#keys = secrets.map((s) => createSecretKey(s));
    this.#acceptUnsigned = options.acceptUnsigned ?? false;
  }

  /** The context of `vv` for `key`, signed with the first secret (empty bytes for the empty vector). */
  encode(vv: VersionVector, key: Uint8Array): Uint8Array {
    assertVector(vv, 'encodeContext');
    if (vv.length === 0) return new Uint8Array(0);
    // Sized first and written in place: every read and write reply carries one.
    const actors = vv.map((e) => actorBytes(e.actor));
    let size = HEADER_BYTES + varintBytes(vv.length) + CONTEXT_SIGNATURE_BYTES;
    for (let i = 0; i < vv.length; i++) size += varintBytes(actors[i]!.length) + actors[i]!.length + varintBytes(vv[i]!.counter);
    const out = new Uint8Array(size);
    out[0] = CONTEXT_FORMAT_VERSION;
    out.set(keyFingerprint(key), 1);
    let pos = putVarint(out, HEADER_BYTES, vv.length);
    for (let i = 0; i < vv.length; i++) {
      pos = putVarint(out, pos, actors[i]!.length);
      out.set(actors[i]!, pos);
      pos = putVarint(out, pos + actors[i]!.length, vv[i]!.counter);
    }
    out.set(signature(this.#keys[0]!, key, out.subarray(0, pos)), pos);
    return out;
  }

  /**
   * The version vector of a context a client sent for `key`: empty bytes give
   * the empty vector; anything not issued for this key by a node holding one
   * of this codec's secrets is refused with an InvalidArgumentError that
   * says what to do.
   */
  decode(bytes: Uint8Array, key: Uint8Array): VersionVector {
    const version = checkEnvelope(bytes, key);
    if (version === undefined) return [];
    if (version === UNSIGNED_FORMAT_VERSION) {
      if (!this.#acceptUnsigned) {
        throw new InvalidArgumentError(
          'context has format version 2, which carries no signature and is no longer accepted; read the key again and pass the context that read returns',
        );
      }
      return parseEntries(bytes, bytes.length);
    }
    if (bytes.length < HEADER_BYTES + CONTEXT_SIGNATURE_BYTES) throw malformed('truncated inside the signature', bytes.length);
    const body = bytes.length - CONTEXT_SIGNATURE_BYTES;
    const given = bytes.subarray(body);
    if (!this.#keys.some((k) => timingSafeEqual(signature(k, key, bytes.subarray(0, body)), given))) {
      throw new InvalidArgumentError(
        'context was not issued by this cluster, or was changed: its signature does not match; pass the context bytes returned by get/put unchanged (if the nodes were given different --context-secret-file, give them all the same secrets)',
      );
    }
    return parseEntries(bytes, body);
  }
}

/** The codec under the default secret, which is what nodes, tools and tests use unless told otherwise. */
export const DEFAULT_CONTEXT_CODEC = new ContextCodec();

/** See lib/vclock index: encodeContext. */
export function encodeContext(vv: VersionVector, key: Uint8Array): Uint8Array {
  return DEFAULT_CONTEXT_CODEC.encode(vv, key);
}

/** See lib/vclock index: decodeContext. */
export function decodeContext(bytes: Uint8Array, key: Uint8Array): VersionVector {
  return DEFAULT_CONTEXT_CODEC.decode(bytes, key);
}

/**
 * What a version-2 or -3 context of `key` claims, without checking who signed
 * it: for tools that show a context and for tests. A write must never take a
 * vector from here.
 */
export function peekContext(bytes: Uint8Array, key: Uint8Array): VersionVector {
  const version = checkEnvelope(bytes, key);
  if (version === undefined) return [];
  const end = version === UNSIGNED_FORMAT_VERSION ? bytes.length : bytes.length - CONTEXT_SIGNATURE_BYTES;
  if (end < HEADER_BYTES) throw malformed('truncated inside the signature', bytes.length);
  return parseEntries(bytes, end);
}

/**
 * UTF-8 of actors already encoded. Actors are replicas' minting actors, a few
 * per node life, so the cache stays small; it is emptied if it ever is not.
 */
const actorCache = new Map<string, Uint8Array>();
const ACTOR_CACHE_MAX = 4096;

function actorBytes(actor: string): Uint8Array {
  let bytes = actorCache.get(actor);
  if (bytes === undefined) {
    assert(!LONE_SURROGATE.test(actor), `encodeContext: actor ${JSON.stringify(actor)} is not well-formed UTF-16`);
    bytes = utf8Encoder.encode(actor);
    if (actorCache.size >= ACTOR_CACHE_MAX) actorCache.clear();
    actorCache.set(actor, bytes);
  }
  return bytes;
}

function signature(secret: KeyObject, key: Uint8Array, body: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(varintBytes(key.length));
  putVarint(prefix, 0, key.length);
  const mac = createHmac('sha256', secret).update(SIGNATURE_DOMAIN).update(prefix).update(key).update(body).digest();
  return mac.subarray(0, CONTEXT_SIGNATURE_BYTES);
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

/**
 * Checks what every context shares: bytes, size, format version and the key
 * fingerprint. Returns the version (2 or 3), or undefined for the empty
 * context.
 */
function checkEnvelope(bytes: Uint8Array, key: Uint8Array): number | undefined {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError(`context must be bytes (Uint8Array), got ${bytes === null ? 'null' : typeof bytes}`);
  }
  if (bytes.length === 0) return undefined;
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
  if (bytes[0] !== CONTEXT_FORMAT_VERSION && bytes[0] !== UNSIGNED_FORMAT_VERSION) {
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
  return bytes[0];
}

/** The entries in bytes[HEADER_BYTES, end): count, then (actor, counter) pairs, canonical and sorted. */
function parseEntries(whole: Uint8Array, end: number): VersionVector {
  const bytes = whole.subarray(0, end);
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
