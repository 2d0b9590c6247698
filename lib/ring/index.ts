/**
 * ring: Dynamo-style consistent hashing with fixed, equal partitions
 * (Dynamo's strategy 3, Riak's ring). It owns the pinned key hash
 * (RING_HASH) and key -> partition mapping, the deterministic claim that
 * assigns partitions to members (balanced, minimal movement, replicas spread
 * over distinct nodes), the ring checksum nodes compare, preference lists
 * (with fallbacks for down primaries) and transfer plans between rings.
 * Pure and synchronous: no I/O, time or randomness.
 */
export { RING_HASH, keyHash, partitionOf, murmur32 } from './hash.ts';
export type { Ring } from './ring.ts';
export { makeRing, preferenceList, partitionsOwned, ownershipMoves } from './ring.ts';
export { claim } from './claim.ts';
export type { Fallback, Placement } from './placement.ts';
export { preferenceListWithFallbacks, fallbackNodes } from './placement.ts';
export type { PartitionTransfer } from './transfers.ts';
export { transfersBetween, replicaSetTransfers } from './transfers.ts';
