/**
 * Transfer plans: which nodes must receive which partitions when the replica
 * sets change, and from whom they can stream (riak_core's handoff plan, the
 * `next` list of a ring). A partition's replica set is its preference list;
 * a node that enters a partition's set gains it and streams it from the
 * nodes that held it before, a node that leaves the set drops it after the switch.
 */
import type { NodeId } from '../protocol/index.ts';
import { InvalidArgumentError } from '../runtime/index.ts';
import { preferenceList, type Ring } from './ring.ts';

/** The data movement of one partition whose replica set changed. */
export interface PartitionTransfer {
  readonly partition: number;
  /** Nodes in the new set and not in the old, in the new preference order. */
  readonly gaining: readonly NodeId[];
  /** The old replica set, in preference order: where the gainers can stream from. */
  readonly sources: readonly NodeId[];
  /** Nodes in the old set and not in the new, in the old preference order. */
  readonly losing: readonly NodeId[];
}

/**
 * The transfer plan between two replica-set assignments given per partition
 * (`before(p)` and `after(p)` in preference order). Lists exactly the
 * partitions whose sets differ as sets, ascending; a change of order only is
 * no movement.
 */
export function replicaSetTransfers(
  partitionCount: number,
  before: (partition: number) => readonly NodeId[],
  after: (partition: number) => readonly NodeId[],
): PartitionTransfer[] {
  const out: PartitionTransfer[] = [];
  for (let p = 0; p < partitionCount; p++) {
    const old = before(p);
    const next = after(p);
    const gaining = next.filter((node) => !old.includes(node));
    const losing = old.filter((node) => !next.includes(node));
    if (gaining.length > 0 || losing.length > 0) out.push({ partition: p, gaining, sources: [...old], losing });
  }
  return out;
}

/** The transfer plan for moving from `oldRing` to `newRing` with N = `n` replicas per partition. */
export function transfersBetween(oldRing: Ring, newRing: Ring, n: number): PartitionTransfer[] {
  if (oldRing.partitionCount !== newRing.partitionCount) {
    throw new InvalidArgumentError(
      `cannot plan transfers between rings of ${oldRing.partitionCount} and ${newRing.partitionCount} partitions`,
    );
  }
  return replicaSetTransfers(
    oldRing.partitionCount,
    (p) => preferenceList(oldRing, p, n),
    (p) => preferenceList(newRing, p, n),
  );
}
