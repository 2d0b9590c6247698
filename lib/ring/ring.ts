/**
 * The Ring value and the read-only questions asked of it on the request path
 * (who replicates a partition, how much a node owns, how much two rings differ).
 *
 * Preference lists are zone-aware, as Cassandra's NetworkTopologyStrategy
 * walks the ring: clockwise from the key's partition, an owner is taken only
 * if its zone (zones.ts; an unzoned member is a zone of its own) is not
 * listed yet, so a key's N replicas sit in N distinct zones whenever the
 * ring's owners span at least N zones; when they span fewer, the list is
 * completed with the next distinct nodes clockwise. The claim (claim.ts)
 * lays zones out so that this walk rarely has to skip an owner, which keeps
 * each node's share of replicas close to its share of partitions.
 */
import type { NodeId } from '../protocol/index.ts';
import { InvalidArgumentError } from '../runtime/index.ts';
import { ringChecksum } from './checksum.ts';
import { hasZones, validateZones, zoneIndices } from './zones.ts';

/** Assignment of every partition to one owner; immutable and identical on every node that claimed it from the same inputs. */
export interface Ring {
  readonly partitionCount: number;
  /** Sorted ascending (UTF-16 code-unit order), no duplicates. */
  readonly members: readonly NodeId[];
  /** owners[p] = owner of partition p. */
  readonly owners: readonly NodeId[];
  /** zones[i] = failure domain of members[i]; '' when that member names none. */
  readonly zones: readonly string[];
  /** uint32 over (partitionCount, members, owners, zones): nodes compare rings by it. */
  readonly checksum: number;
}

/**
 * Builds a frozen Ring and its checksum; `members` must already be sorted and
 * unique, `zones` parallel to them (omitted: no member names a zone).
 */
export function makeRing(
  partitionCount: number,
  members: readonly NodeId[],
  owners: readonly NodeId[],
  zones: readonly string[] = members.map(() => ''),
): Ring {
  validateZones(members, zones);
  const frozenMembers = Object.freeze([...members]);
  const frozenOwners = Object.freeze([...owners]);
  const frozenZones = Object.freeze([...zones]);
  return Object.freeze({
    partitionCount,
    members: frozenMembers,
    owners: frozenOwners,
    zones: frozenZones,
    checksum: ringChecksum(partitionCount, frozenMembers, frozenOwners, frozenZones),
  });
}

/** Zone index per member id, for rings where some member names a zone (cached per ring object). */
const zoneCache = new WeakMap<Ring, ReadonlyMap<NodeId, number>>();

function zoneIndexOf(ring: Ring): ReadonlyMap<NodeId, number> {
  let byId = zoneCache.get(ring);
  if (byId === undefined) {
    const indices = zoneIndices(ring.zones);
    byId = new Map(ring.members.map((id, i) => [id, indices[i] ?? -1]));
    zoneCache.set(ring, byId);
  }
  return byId;
}

/**
 * Primary preference list: owner of `partition`, then owners of the next
 * partitions clockwise whose zone is not listed yet, until `n` nodes; if the
 * ring's owners span fewer than `n` zones, the next distinct nodes clockwise
 * complete it. So the list holds min(n, distinct owners) distinct nodes in
 * min(n, zones among owners) distinct zones. Without zones (every member
 * its own zone) that is simply the next `n` distinct owners. When `n`
 * exceeds the distinct owners, returns every owner (every member unless
 * there are more members than partitions).
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
  if (hasZones(ring.zones)) {
    const zoneOf = zoneIndexOf(ring);
    const taken: number[] = [];
    for (let step = 0; step < count && list.length < n; step++) {
      const owner = ring.owners[(partition + step) % count];
      if (owner === undefined || list.includes(owner)) continue;
      const zone = zoneOf.get(owner) ?? -1;
      if (taken.includes(zone)) continue;
      taken.push(zone);
      list.push(owner);
    }
    if (list.length === n) return list;
  }
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
