/**
 * Engine key layout. Every engine key starts with a one-byte namespace tag:
 *
 *   meta keys:        0x00 | utf8(name)
 *   data keys:        0x01 | partition (uint32, big-endian) | user key bytes
 *   set-aside keys:   0x02 | partition (uint32, big-endian) | user key bytes
 *                     (records that failed to decode, kept for an operator)
 *   hint keys:        0x03 | target length (uint8) | utf8(target node id)
 *                     | partition (uint32, big-endian) | user key bytes
 *                     (versions held for another node: hinted handoff)
 *
 * Engines order keys bytewise, so all meta keys sort before all data keys and
 * each partition's data keys form one contiguous range [0x01|p, 0x01|p+1),
 * ordered by user key: walking a partition is a single range scan, and no
 * partition scan can ever see a meta, set-aside or hint key. The hints for
 * one target node are one contiguous range too. Tags 0x04..0xff are unused (reserved).
 */
import { InvalidArgumentError } from '../runtime/index.ts';

const TAG_META = 0x00;
const TAG_DATA = 0x01;
const TAG_SET_ASIDE = 0x02;
const TAG_HINT = 0x03;
/** Node ids in hint keys are at most this many UTF-8 bytes (the length is one byte). */
export const HINT_TARGET_BYTES_MAX = 255;
const DATA_PREFIX_BYTES = 5;
const PARTITION_MAX = 0xffff_ffff;

const utf8 = new TextEncoder();

/** Throws InvalidArgumentError unless `partition` is a uint32. */
export function checkPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition > PARTITION_MAX) {
    throw new InvalidArgumentError(`partition must be an integer in [0, ${PARTITION_MAX}], got ${partition}`);
  }
}

/** Throws InvalidArgumentError unless `bytes` is a Uint8Array. */
export function checkBytes(what: string, bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array`);
}

/** Engine key of a node metadata entry. */
export function metaKey(name: string): Uint8Array {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('meta name must be a non-empty string');
  const encoded = utf8.encode(name);
  const out = new Uint8Array(1 + encoded.length);
  out[0] = TAG_META;
  out.set(encoded, 1);
  return out;
}

/**
 * Engine key range of every meta entry whose name starts with `prefix`
 * (non-empty): the prefix key up to the same key with its last byte bumped
 * (UTF-8 of a prefix never ends in 0xff).
 */
export function metaRange(prefix: string): { gte: Uint8Array; lt: Uint8Array } {
  const gte = metaKey(prefix);
  const lt = Uint8Array.from(gte);
  lt[lt.length - 1]! += 1;
  return { gte, lt };
}

/** The name in a meta key. */
export function metaNameOf(engineKey: Uint8Array): string {
  return new TextDecoder().decode(engineKey.subarray(1));
}

/** Engine key of a record: a fresh array, so later changes to `key` cannot reach the engine. */
export function dataKey(partition: number, key: Uint8Array): Uint8Array {
  checkPartition(partition);
  checkBytes('key', key);
  const out = new Uint8Array(DATA_PREFIX_BYTES + key.length);
  writePrefix(out, TAG_DATA, partition);
  out.set(key, DATA_PREFIX_BYTES);
  return out;
}

/** Engine key under which a record that failed to decode is kept aside. */
export function setAsideKey(partition: number, key: Uint8Array): Uint8Array {
  checkPartition(partition);
  checkBytes('key', key);
  const out = new Uint8Array(DATA_PREFIX_BYTES + key.length);
  writePrefix(out, TAG_SET_ASIDE, partition);
  out.set(key, DATA_PREFIX_BYTES);
  return out;
}

function hintPrefix(target: string): Uint8Array {
  if (typeof target !== 'string' || target.length === 0) throw new InvalidArgumentError('hint target must be a non-empty node id');
  const id = utf8.encode(target);
  if (id.length > HINT_TARGET_BYTES_MAX) throw new InvalidArgumentError(`hint target must be at most ${HINT_TARGET_BYTES_MAX} bytes, got ${id.length}`);
  const out = new Uint8Array(2 + id.length);
  out[0] = TAG_HINT;
  out[1] = id.length;
  out.set(id, 2);
  return out;
}

/** Engine key of the hint held for `target` for one key. */
export function hintKey(target: string, partition: number, key: Uint8Array): Uint8Array {
  checkPartition(partition);
  checkBytes('key', key);
  const prefix = hintPrefix(target);
  const out = new Uint8Array(prefix.length + 4 + key.length);
  out.set(prefix, 0);
  const p = prefix.length;
  out[p] = partition >>> 24;
  out[p + 1] = (partition >>> 16) & 0xff;
  out[p + 2] = (partition >>> 8) & 0xff;
  out[p + 3] = partition & 0xff;
  out.set(key, p + 4);
  return out;
}

/**
 * Engine key range of every hint (`target` undefined) or of those for one
 * target. UTF-8 never contains 0xff, so bumping the prefix's last byte bounds it.
 */
export function hintRange(target?: string): { gte: Uint8Array; lt: Uint8Array } {
  if (target === undefined) return { gte: Uint8Array.of(TAG_HINT), lt: Uint8Array.of(TAG_HINT + 1) };
  const gte = hintPrefix(target);
  const lt = Uint8Array.from(gte);
  lt[lt.length - 1]! += 1;
  return { gte, lt };
}

/** Target, partition and user key of a hint key. */
export function parseHintKey(engineKey: Uint8Array): { target: string; partition: number; key: Uint8Array } {
  const len = engineKey[1]!;
  const p = 2 + len;
  const target = new TextDecoder().decode(engineKey.subarray(2, p));
  const partition = ((engineKey[p]! << 24) | (engineKey[p + 1]! << 16) | (engineKey[p + 2]! << 8) | engineKey[p + 3]!) >>> 0;
  return { target, partition, key: ownedCopy(engineKey.subarray(p + 4)) };
}

/** Engine key range holding exactly the records of `partition`: gte <= k < lt. */
export function partitionRange(partition: number): { gte: Uint8Array; lt: Uint8Array } {
  checkPartition(partition);
  const gte = new Uint8Array(DATA_PREFIX_BYTES);
  writePrefix(gte, TAG_DATA, partition);
  // The last partition's range ends where the next (unused) tag begins.
  const lt = partition === PARTITION_MAX ? Uint8Array.of(TAG_DATA + 1) : new Uint8Array(DATA_PREFIX_BYTES);
  if (partition !== PARTITION_MAX) writePrefix(lt, TAG_DATA, partition + 1);
  return { gte, lt };
}

/** The user key inside a data key, as a new owned array. */
/** Every data key of every partition (neither meta nor set-aside keys). */
export const DATA_SPACE: { readonly gte: Uint8Array; readonly lt: Uint8Array } = { gte: Uint8Array.of(TAG_DATA), lt: Uint8Array.of(TAG_DATA + 1) };

export function userKeyOf(engineKey: Uint8Array): Uint8Array {
  return ownedCopy(engineKey.subarray(DATA_PREFIX_BYTES));
}

/**
 * A plain Uint8Array copy with its own ArrayBuffer. Engines hand out Buffers
 * (even with the 'view' encoding), some pooled or still referenced by the
 * engine; callers get arrays nobody else can touch.
 */
export function ownedCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function writePrefix(out: Uint8Array, tag: number, partition: number): void {
  out[0] = tag;
  out[1] = partition >>> 24;
  out[2] = (partition >>> 16) & 0xff;
  out[3] = (partition >>> 8) & 0xff;
  out[4] = partition & 0xff;
}
