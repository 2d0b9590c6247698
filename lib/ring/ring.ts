/**
 * The Ring value and the read-only questions asked of it on the request path
 * (who replicates a partition, how much a node owns, how much two rings differ).
 */
import type { NodeId } from '../protocol/index.ts';
import { InvalidArgumentError } from '../runtime/index.ts';
import { ringChecksum } from './checksum.ts';

/** Assignment of every partition to one owner; immutable and identical on every node that claimed it from the same inputs. */
export interface Ring {
  readonly partitionCount: number;
  /** Sorted ascending (UTF-16 code-unit order), no duplicates. */
  readonly members: readonly NodeId[];
  /** owners[p] = owner of partition p. */
  readonly owners: readonly NodeId[];
  /** uint32 over (partitionCount, members, owners): nodes compare rings by it. */
  readonly checksum: number;
}

/** Builds a frozen Ring and its checksum; `members` must already be sorted and unique. */
export function makeRing(partitionCount: number, members: readonly NodeId[], owners: readonly NodeId[]): Ring {
  const frozenMembers = Object.freeze([...members]);
  const frozenOwners = Object.freeze([...owners]);
  return Object.freeze({
    partitionCount,
    members: frozenMembers,
    owners: frozenOwners,
    checksum: ringChecksum(partitionCount, frozenMembers, frozenOwners),
  });
}

/**
 * Primary preference list: owner of `partition`, then owners of the next
 * partitions clockwise, skipping nodes already listed, until `n` distinct
 * nodes. When `n` exceeds the distinct owners, returns every owner (every
 * member unless there are more members than partitions).
 */
export function preferenceList(ring: Ring, partition: number, n: number): NodeId[] {
  const count = ring.partitionCount;
  if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
    throw new InvalidArgumentError(`partition must be an integer in 0..${count - 1}, got ${String(partition)}`);
  }
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(`preference list length must be a positive integer, got ${String(n)}`);
  }
  const list: NodeId[] = [];
  for (let step = 0; step < count && list.length < n; step++) {
    const owner = ring.owners[(partition + step) % count];
    if (owner !== undefined && !list.includes(owner)) list.push(owner);
  }
  return list;
}

/** Number of partitions `node` owns (0 for a non-member). */
export function partitionsOwned(ring: Ring, node: NodeId): number {
  let owned = 0;
  for (const owner of ring.owners) if (owner === node) owned++;
  return owned;
}

/** Partitions whose owner differs between `a` and `b`: the handoff cost of moving from one to the other. */
export function ownershipMoves(a: Ring, b: Ring): number {
  if (a.partitionCount !== b.partitionCount) {
    throw new InvalidArgumentError(`cannot compare rings of ${a.partitionCount} and ${b.partitionCount} partitions`);
  }
  let moves = 0;
  for (let p = 0; p < a.partitionCount; p++) if (a.owners[p] !== b.owners[p]) moves++;
  return moves;
}
