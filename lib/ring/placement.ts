/**
 * Placement that knows liveness: the primaries of a partition and, for each
 * primary believed down, a fallback that stands in for it (Dynamo's sloppy
 * quorum, §4.6; riak_core_apl's get_apl_ann with primaries and fallbacks).
 * Pure: liveness comes in as a predicate, so the coordinator, tests and the
 * simulator ask the same function.
 */
import type { NodeId } from '../protocol/index.ts';
import { InvalidArgumentError } from '../runtime/index.ts';
import { preferenceList, type Ring } from './ring.ts';

/** An up node that receives a down primary's share of a request (and, later, its hint). */
export interface Fallback {
  readonly node: NodeId;
  /** The primary it stands in for. */
  readonly standsInFor: NodeId;
}

/** Where a partition's requests go given who is believed up. */
export interface Placement {
  /** The N owners in preference order, up or not (preferenceList). */
  readonly primaries: readonly NodeId[];
  /** One per down primary, in the order of the primaries they stand in for, while up nodes remain. */
  readonly fallbacks: readonly Fallback[];
}

/**
 * Primaries of `partition` plus fallbacks: for each primary for which `isUp`
 * is false (in preference order), the next up node clockwise past the
 * primaries that is not already listed. Deterministic; never lists a node
 * twice; with every node up there are no fallbacks; fewer fallbacks than down
 * primaries when the ring runs out of up nodes.
 */
export function preferenceListWithFallbacks(
  ring: Ring,
  partition: number,
  n: number,
  isUp: (node: NodeId) => boolean,
): Placement {
  const primaries = preferenceList(ring, partition, n);
  const down = primaries.filter((node) => !isUp(node));
  const nodes = fallbackNodes(ring, partition, primaries, down.length, isUp);
  const fallbacks = nodes.map((node, i) => ({ node, standsInFor: down[i] ?? '' }));
  return { primaries, fallbacks };
}

/**
 * Up to `count` distinct up nodes found walking the ring clockwise from
 * `partition`, skipping every node in `exclude`. The building block for
 * fallbacks when the primaries are not a plain preference list (a partition
 * that is moving has old and new holders).
 */
export function fallbackNodes(
  ring: Ring,
  partition: number,
  exclude: readonly NodeId[],
  count: number,
  isUp: (node: NodeId) => boolean,
): NodeId[] {
  const total = ring.partitionCount;
  if (!Number.isInteger(partition) || partition < 0 || partition >= total) {
    throw new InvalidArgumentError(`partition must be an integer in 0..${total - 1}, got ${String(partition)}`);
  }
  const out: NodeId[] = [];
  if (count <= 0) return out;
  const seen = new Set(exclude);
  for (let step = 0; step < total && out.length < count; step++) {
    const owner = ring.owners[(partition + step) % total];
    if (owner === undefined || seen.has(owner)) continue;
    seen.add(owner);
    if (isUp(owner)) out.push(owner);
  }
  return out;
}
