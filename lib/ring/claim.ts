/**
 * claim: who owns which partition, computed identically on every node.
 *
 * The ring is Dynamo's partitioning "strategy 3" (DeCandia et al., SOSP 2007,
 * §6.2): the 32-bit hash space is cut into P equal partitions and each
 * partition is owned by one node; this is also Riak's ring (riak_core). Keys
 * never change partition; a membership change only reassigns partitions, and
 * the ring is rebuilt from (members, P, previous ring) by this pure function,
 * so nodes that agree on those inputs agree on the ring (and its checksum)
 * without coordination. Members are sorted first and nothing depends on input
 * or Map iteration order.
 *
 * Goals, in priority order (those of riak_core_claim):
 *  1. Balance: every member owns floor(P/n) or ceil(P/n) partitions.
 *  2. Little movement: with a previous ring, a partition changes owner only
 *     if its owner left or owns more than its target, so adding a node moves
 *     about P/(n+1) partitions and removing one moves only its own.
 *  3. Spacing: any `replicas` consecutive partitions have owners in distinct
 *     zones (riak_core's target_n_val; Riak 3's location-aware claim), so a
 *     key's replicas are spread evenly over nodes and failure domains. A
 *     member without a zone is a zone of its own (zones.ts): without zones
 *     the rule is "distinct owners".
 *
 * Algorithm.
 *  - No previous ring (or none of its owners is still a member), every member
 *    in a zone of its own: the stripe of stripe.ts, member[p mod n] with
 *    riak's tail fix at the wrap. Spacing holds whenever n > replicas and
 *    P >= n * (replicas + 1) (and when n divides P).
 *  - No previous ring, members sharing zones: the free-partition pass below
 *    over an empty ring (every partition is free), in ring order: a greedy
 *    stripe that interleaves the zones in proportion to their members and
 *    lets the members of a zone take turns.
 *  - Previous ring: targets are floor/ceil, the ceil going to the members
 *    that own most already (ties: smaller id). Partitions whose owner is still
 *    a member and within target stay. Partitions of departed members go, in
 *    ring order, to the under-target member that breaks the spacing in the
 *    fewest windows (usually none), then the one with the largest shortfall.
 *    Members still under target then take from members above target, one
 *    pick per equal slice of the ring, preferring picks that keep
 *    the spacing, that repair a spacing violation, and from the member
 *    furthest above target (riak_core claim_v2's select_indices).
 *
 * Trade-offs. Movement wins over spacing: unlike riak_core, which falls back
 * to a full re-stripe (claim_rebalance_n) when target_n cannot be met, this
 * claim never moves a partition only to restore spacing. Adding a node to a
 * well-spaced ring keeps it well spaced; removing one usually leaves a few
 * windows with a repeated owner (the departed node's ring neighbours are the
 * members that must absorb its partitions). That costs only evenness, not
 * safety: preference lists skip repeated owners and always return distinct
 * nodes. Measured at 256 partitions and 3..20 nodes (test/property/ring.test.ts):
 * a join moves 0.94-1.00 x P/(n+1) partitions, a departure exactly its own,
 * and along random join/leave histories about 3% of windows repeat an owner
 * (a 3-node ring cannot be spaced at all unless 3 divides P). The claim is
 * greedy, not optimal, and never re-stripes: a cluster that wants a perfect
 * layout can claim without `previous` and pay the full handoff.
 */
import type { NodeId } from '../protocol/index.ts';
import { InvalidArgumentError } from '../runtime/index.ts';
import { validatePartitionCount } from './hash.ts';
import { rebalance } from './rebalance.ts';
import { makeRing, type Ring } from './ring.ts';
import { stripe } from './stripe.ts';
import { distinctZoneCount, zoneIndices } from './zones.ts';

/** Replicas assumed for spacing when the caller does not say (Dynamo's N = 3). */
export const REPLICAS_DEFAULT = 3;

/** Inputs of an incremental claim. */
export interface ClaimOptions {
  /** The ring being replaced; most of its assignments are kept. Must have the same partitionCount. */
  readonly previous?: Ring;
  /** Window within which owners should be in distinct zones; default REPLICAS_DEFAULT. */
  readonly replicas?: number;
  /**
   * Failure domain of each member ('' or undefined: none, a zone of its own);
   * default: no member names a zone. Called once per member; its answers
   * become the ring's `zones`.
   */
  readonly zoneOf?: (id: NodeId) => string | undefined;
}

/**
 * Deterministic claim: same inputs -> same ring on every node. Duplicate
 * member ids count once. Throws InvalidArgumentError for no members, an empty
 * id, a bad partitionCount or replicas, or a previous ring of another size.
 */
export function claim(members: readonly NodeId[], partitionCount: number, options: ClaimOptions = {}): Ring {
  validatePartitionCount(partitionCount);
  const nodes = sortedMembers(members);
  const replicas = options.replicas ?? REPLICAS_DEFAULT;
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new InvalidArgumentError(`replicas must be a positive integer, got ${String(replicas)}`);
  }
  const zones = nodes.map((id) => options.zoneOf?.(id) ?? '');
  const zoneOf = zoneIndices(zones);
  const kept = options.previous === undefined ? undefined : keptOwners(options.previous, nodes, partitionCount);
  let owners: Int32Array;
  if (kept !== undefined) owners = rebalance(kept, nodes.length, replicas, zoneOf);
  else if (distinctZoneCount(zones) === nodes.length) owners = stripe(nodes.length, partitionCount, replicas);
  else owners = rebalance(new Int32Array(partitionCount).fill(-1), nodes.length, replicas, zoneOf);
  return makeRing(partitionCount, nodes, Array.from(owners, (m) => nodes[m] ?? ''), zones);
}

function sortedMembers(members: readonly NodeId[]): NodeId[] {
  if (members.length === 0) throw new InvalidArgumentError('a ring needs at least one member');
  for (const id of members) {
    if (typeof id !== 'string' || id.length === 0) {
      throw new InvalidArgumentError(`member ids must be non-empty strings, got ${JSON.stringify(id)}`);
    }
  }
  return [...new Set(members)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Previous owners as member indices (-1 where the owner left), or undefined when nobody stays. */
function keptOwners(previous: Ring, nodes: readonly NodeId[], partitionCount: number): Int32Array | undefined {
  if (previous.partitionCount !== partitionCount || previous.owners.length !== partitionCount) {
    throw new InvalidArgumentError(
      `previous ring has ${previous.partitionCount} partitions (${previous.owners.length} owners), expected ${partitionCount}`,
    );
  }
  const indexOf = new Map(nodes.map((id, i) => [id, i]));
  const kept = Int32Array.from(previous.owners, (owner) => indexOf.get(owner) ?? -1);
  return kept.some((m) => m >= 0) ? kept : undefined;
}
