/**
 * Incremental claim: move the fewest partitions needed to reach the target
 * counts, choosing which ones so that `replicas` consecutive owners stay in
 * distinct zones where possible (spacing.ts). See claim.ts for the whole
 * algorithm and its trade-offs.
 */
import { assert } from '../runtime/index.ts';
import { ownsNearby, spacingPenalty } from './spacing.ts';
import { targetCounts } from './targets.ts';

/**
 * New owners (member indices) given `kept`: the previous owner of each
 * partition as a member index, or -1 where that owner left (all -1: a fresh
 * claim). Every member ends at its target count; a partition changes owner
 * only if it was free or its owner was above target. `zoneOf` maps member
 * index to zone index.
 */
export function rebalance(kept: Int32Array, n: number, replicas: number, zoneOf: Int32Array): Int32Array {
  const owners = Int32Array.from(kept);
  const owned = new Int32Array(n);
  for (const owner of owners) if (owner >= 0) owned[owner] = (owned[owner] ?? 0) + 1;
  const targets = targetCounts(owned, owners.length);
  const deficit = new Int32Array(n);
  const excess = new Int32Array(n);
  for (let m = 0; m < n; m++) {
    const diff = (targets[m] ?? 0) - (owned[m] ?? 0);
    deficit[m] = Math.max(0, diff);
    excess[m] = Math.max(0, -diff);
  }
  assignFree(owners, deficit, replicas, zoneOf);
  takeFromSurplus(owners, deficit, excess, replicas, zoneOf);
  return owners;
}

/**
 * Phase 1: each partition whose owner left goes (in ring order) to the
 * under-target member that breaks the spacing rule in the fewest windows
 * there (usually none), then the one furthest below target (ties: lower
 * index), so shortfalls shrink evenly. When every candidate breaks it, the
 * rule is given up for that partition rather than moving a kept one.
 *
 * With shared zones (which is also how a fresh zoned ring is built: every
 * partition free) the choice looks at zones first, because a key's replica
 * in zone z is the first member of z clockwise from it (ring.ts), so a
 * member's replica load is the sum of the gaps before its partitions since
 * the previous partition of its zone:
 *  1. pace: a zone that already took its proportional share of the free
 *     partitions seen so far (its shortfall x seen / free) is passed over
 *     for one that has not, even at a spacing cost, so a zone of two members
 *     takes partitions at two thirds of the pace of a zone of three all along
 *     the ring rather than alternating with it and running out early (which
 *     would leave a stretch without it and load one member with it);
 *  2. spacing penalty, as above;
 *  3. the zone furthest behind, per member;
 *  4. within the zone, the member that gathered the least gap so far in
 *     this pass (so the members of a zone share long and short gaps);
 *  5. the member furthest below target, then the lower index.
 */
function assignFree(owners: Int32Array, deficit: Int32Array, replicas: number, zoneOf: Int32Array): void {
  const count = owners.length;
  const zoned = sharesZones(zoneOf);
  const zones = zoneOf.length === 0 ? 0 : Math.max(...zoneOf) + 1;
  const zoneSize = new Int32Array(zones);
  const zoneDeficit = new Int32Array(zones);
  for (let m = 0; m < zoneOf.length; m++) {
    const z = zoneOf[m] ?? 0;
    zoneSize[z] = (zoneSize[z] ?? 0) + 1;
    zoneDeficit[z] = (zoneDeficit[z] ?? 0) + (deficit[m] ?? 0);
  }
  const zoneShare = Int32Array.from(zoneDeficit);
  const zoneTaken = new Int32Array(zones);
  const free = owners.reduce((sum, o) => sum + (o === -1 ? 1 : 0), 0);
  // Last partition (ring order) owned by each zone; starts at its last one before the wrap.
  const lastOf = new Int32Array(zones).fill(-count);
  for (let p = 0; p < count; p++) {
    const o = owners[p] ?? -1;
    if (o >= 0) lastOf[zoneOf[o] ?? 0] = p - count;
  }
  const gained = new Float64Array(zoneOf.length);
  let seen = 0;
  // Sort key of a candidate (smaller wins, field by field); kept in one reused array, no allocation per candidate.
  const KEY_LENGTH = 6;
  const candidate = new Float64Array(KEY_LENGTH);
  const best = new Float64Array(KEY_LENGTH);
  const keyOf = (m: number, p: number, out: Float64Array): void => {
    const penalty = spacingPenalty(owners, p, m, replicas, zoneOf);
    const z = zoneOf[m] ?? 0;
    out[0] = zoned && (zoneTaken[z] ?? 0) * free >= (zoneShare[z] ?? 0) * seen ? 1 : 0;
    out[1] = penalty;
    out[2] = zoned ? -(zoneDeficit[z] ?? 0) / (zoneSize[z] ?? 1) : 0;
    out[3] = zoned ? (gained[m] ?? 0) : 0;
    out[4] = -(deficit[m] ?? 0);
    out[5] = m;
  };
  const less = (a: Float64Array, b: Float64Array): boolean => {
    for (let i = 0; i < KEY_LENGTH; i++) if (a[i] !== b[i]) return (a[i] ?? 0) < (b[i] ?? 0);
    return false;
  };
  for (let p = 0; p < count; p++) {
    const kept = owners[p] ?? -1;
    if (kept !== -1) {
      lastOf[zoneOf[kept] ?? 0] = p;
      continue;
    }
    seen++;
    let chosen = -1;
    for (let m = 0; m < deficit.length; m++) {
      if ((deficit[m] ?? 0) === 0) continue;
      keyOf(m, p, candidate);
      if (chosen === -1 || less(candidate, best)) {
        chosen = m;
        best.set(candidate);
      }
    }
    assert(chosen !== -1, 'a free partition with no member below target');
    owners[p] = chosen;
    deficit[chosen] = (deficit[chosen] ?? 0) - 1;
    const z = zoneOf[chosen] ?? 0;
    zoneDeficit[z] = (zoneDeficit[z] ?? 0) - 1;
    zoneTaken[z] = (zoneTaken[z] ?? 0) + 1;
    gained[chosen] = (gained[chosen] ?? 0) + Math.min(count, p - (lastOf[z] ?? -count));
    lastOf[z] = p;
  }
}

/** Whether two members share a zone (otherwise every rule here is the zone-less one). */
function sharesZones(zoneOf: Int32Array): boolean {
  return new Set(zoneOf).size < zoneOf.length;
}

/**
 * Phase 2: members still below target (largest shortfall first, ties: lower
 * index) take partitions from members above target (riak_core claim_v2's
 * select_indices). Three passes, each only if the previous fell short:
 * (1) one pick per equal slice of the ring, so the taker's partitions are
 * spread out; (2) any partition that keeps the spacing rule; (3) any
 * partition of an above-target member. Within a slice the pick prefers a
 * partition whose current owner breaks the spacing rule there (the move fixes
 * it for free), then the owner furthest above target, then the earliest.
 * With shared zones, pass (1) does not skip a pick that breaks the rule for
 * the taker but prefers the one that breaks it least, then the one that
 * repairs most windows: spreading the taker's partitions over the whole ring
 * is what keeps its replica load close to its zone's mean, and with zones of
 * unequal size some windows must repeat a zone anyway.
 */
function takeFromSurplus(owners: Int32Array, deficit: Int32Array, excess: Int32Array, replicas: number, zoneOf: Int32Array): void {
  const nearby = (p: number, node: number): boolean => ownsNearby(owners, p, node, replicas, zoneOf);
  // How much taking p from `giver` repairs: whether it does (members in zones of their own,
  // the original rule), or by how many windows (shared zones, where repairs are the rule).
  const zoned = sharesZones(zoneOf);
  const fixWeight = (p: number, giver: number): number =>
    zoned ? spacingPenalty(owners, p, giver, replicas, zoneOf) : nearby(p, giver) ? 1 : 0;
  const count = owners.length;
  const takers = Array.from(deficit.keys())
    .filter((m) => (deficit[m] ?? 0) > 0)
    .sort((a, b) => (deficit[b] ?? 0) - (deficit[a] ?? 0) || a - b);
  const take = (taker: number, p: number): void => {
    const giver = owners[p] ?? -1;
    excess[giver] = (excess[giver] ?? 0) - 1;
    deficit[taker] = (deficit[taker] ?? 0) - 1;
    owners[p] = taker;
  };
  const takeable = (taker: number, p: number): boolean => {
    const giver = owners[p] ?? -1;
    return giver !== taker && (excess[giver] ?? 0) > 0;
  };
  for (const taker of takers) {
    const slices = deficit[taker] ?? 0;
    for (let slice = 0; slice < slices; slice++) {
      const lo = Math.floor((slice * count) / slices);
      const hi = Math.floor(((slice + 1) * count) / slices);
      let best = -1;
      let bestCost = 0;
      let bestFixes = 0;
      let bestExcess = 0;
      for (let p = lo; p < hi; p++) {
        if (!takeable(taker, p)) continue;
        // Members in zones of their own skip a pick that breaks spacing (pass 2 may take one later);
        // with shared zones a break is often unavoidable, and spreading the taker's picks over the
        // ring matters more (it evens out the replicas each member of a zone receives).
        const cost = zoned ? spacingPenalty(owners, p, taker, replicas, zoneOf) : nearby(p, taker) ? -1 : 0;
        if (cost < 0) continue;
        const giver = owners[p] ?? -1;
        const fixes = fixWeight(p, giver);
        const giverExcess = excess[giver] ?? 0;
        const better =
          cost < bestCost || (cost === bestCost && (fixes > bestFixes || (fixes === bestFixes && giverExcess > bestExcess)));
        if (best === -1 || better) {
          best = p;
          bestCost = cost;
          bestFixes = fixes;
          bestExcess = giverExcess;
        }
      }
      if (best !== -1) take(taker, best);
    }
    for (let p = 0; p < count && (deficit[taker] ?? 0) > 0; p++) {
      if (takeable(taker, p) && !nearby(p, taker)) take(taker, p);
    }
    for (let p = 0; p < count && (deficit[taker] ?? 0) > 0; p++) {
      if (takeable(taker, p)) take(taker, p);
    }
    assert(deficit[taker] === 0, 'surplus ran out before every member reached its target');
  }
}
