/**
 * Engine key layout. Every engine key starts with a one-byte namespace tag:
 *
 *   meta keys:        0x00 | utf8(name)
 *   data keys:        0x01 | partition (uint32, big-endian) | user key bytes
 *   set-aside keys:   0x02 | partition (uint32, big-endian) | user key bytes
 *                     (records that failed to decode, kept for an operator)
 *
 * Engines order keys bytewise, so all meta keys sort before all data keys and
 * each partition's data keys form one contiguous range [0x01|p, 0x01|p+1),
 * ordered by user key: walking a partition is a single range scan, and no
 * partition scan can ever see a meta or set-aside key. Tags 0x03..0xff are unused (reserved).
 */
import { InvalidArgumentError } from '../runtime/index.ts';

const TAG_META = 0x00;
const TAG_DATA = 0x01;
const TAG_SET_ASIDE = 0x02;
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
