/**
 * The pinned key hash and the key -> partition mapping. Every node must place
 * a key in the same partition forever (stored data is laid out by it), so the
 * hash is fixed by name in RING_HASH and guarded by a golden test.
 */
import murmur from 'murmurhash3js-revisited';
import { InvalidArgumentError, assert } from '../runtime/index.ts';

/**
 * Name of the key hash: MurmurHash3, x86 32-bit variant, seed 0 (the
 * reference C++ `MurmurHash3_x86_32`, via murmurhash3js-revisited). Changing
 * it moves almost every key, so it is part of the on-disk/cluster format.
 */
export const RING_HASH = 'murmur3-x86-32/seed0';

const HASH_SEED = 0;
const HASH_SPACE = 2 ** 32;

/** Largest accepted partition count; keeps hash * partitionCount below 2^53 (exact in doubles). */
export const PARTITION_COUNT_MAX = 65536;

/** MurmurHash3_x86_32(bytes, seed 0) as a uint32. */
export function murmur32(bytes: Uint8Array): number {
  const hash = murmur.x86.hash32(bytes, HASH_SEED);
  assert(typeof hash === 'number', 'murmur3 rejected a Uint8Array');
  return hash;
}

/** The key's position on the ring: a uint32 under RING_HASH. */
export function keyHash(key: Uint8Array): number {
  return murmur32(key);
}

/** Throws InvalidArgumentError unless `partitionCount` is an integer in 1..PARTITION_COUNT_MAX. */
export function validatePartitionCount(partitionCount: number): void {
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > PARTITION_COUNT_MAX) {
    throw new InvalidArgumentError(
      `partitionCount must be an integer in 1..${PARTITION_COUNT_MAX}, got ${String(partitionCount)}`,
    );
  }
}

/**
 * Partition of a uint32 hash: partitions are equal slices of the hash space
 * (Dynamo strategy 3), so partition p covers [p * 2^32 / P, (p + 1) * 2^32 / P).
 * hash * P < 2^48 and the division is by a power of two, so this is exact.
 */
export function partitionOfHash(hash: number, partitionCount: number): number {
  return Math.floor((hash * partitionCount) / HASH_SPACE);
}

/** Partition holding `key` in a ring of `partitionCount` partitions. */
export function partitionOf(key: Uint8Array, partitionCount: number): number {
  validatePartitionCount(partitionCount);
  return partitionOfHash(keyHash(key), partitionCount);
}
