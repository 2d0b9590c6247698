/**
 * ring: Dynamo-style consistent hashing with fixed, equal partitions
 * (Dynamo's strategy 3, Riak's ring). It owns the pinned key hash
 * (RING_HASH) and key -> partition mapping, the deterministic claim that
 * assigns partitions to members (balanced, minimal movement, replicas spread
 * over distinct nodes), the ring checksum nodes compare, and preference lists.
 * Pure and synchronous: no I/O, time or randomness.
 */
export { RING_HASH, keyHash, partitionOf } from './hash.ts';
export type { Ring } from './ring.ts';
export { makeRing, preferenceList, partitionsOwned, ownershipMoves } from './ring.ts';
export { claim } from './claim.ts';
