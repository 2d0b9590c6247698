/**
 * Incremental claim: move the fewest partitions needed to reach the target
 * counts, choosing which ones so that `replicas` consecutive owners stay
 * distinct where possible. See claim.ts for the whole algorithm and its trade-offs.
 */
import { assert } from '../runtime/index.ts';
import { ownsNearby, spacingPenalty } from './spacing.ts';
import { targetCounts } from './targets.ts';

/**
 * New owners (member indices) given `kept`: the previous owner of each
 * partition as a member index, or -1 where that owner left. Every member ends
 * at its target count; a partition changes owner only if it was free or its
 * owner was above target.
 */
export function rebalance(kept: Int32Array, n: number, replicas: number): Int32Array {
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
  assignFree(owners, deficit, replicas);
  takeFromSurplus(owners, deficit, excess, replicas);
  return owners;
}

/**
 * Phase 1: each partition whose owner left goes (in ring order) to the
 * under-target member that breaks the spacing rule in the fewest windows
 * there (usually none), then the one furthest below target (ties: lower
 * index), so shortfalls shrink evenly. When every candidate breaks it, the
 * rule is given up for that partition rather than moving a kept one.
 */
function assignFree(owners: Int32Array, deficit: Int32Array, replicas: number): void {
  for (let p = 0; p < owners.length; p++) {
    if (owners[p] !== -1) continue;
    let best = -1;
    let bestPenalty = 0;
    for (let m = 0; m < deficit.length; m++) {
      const want = deficit[m] ?? 0;
      if (want === 0) continue;
      const penalty = spacingPenalty(owners, p, m, replicas);
      if (best === -1 || penalty < bestPenalty || (penalty === bestPenalty && want > (deficit[best] ?? 0))) {
        best = m;
        bestPenalty = penalty;
      }
    }
    assert(best !== -1, 'a free partition with no member below target');
    owners[p] = best;
    deficit[best] = (deficit[best] ?? 0) - 1;
  }
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
 */
function takeFromSurplus(owners: Int32Array, deficit: Int32Array, excess: Int32Array, replicas: number): void {
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
      let bestFixes = false;
      let bestExcess = 0;
      for (let p = lo; p < hi; p++) {
        if (!takeable(taker, p) || ownsNearby(owners, p, taker, replicas)) continue;
        const giver = owners[p] ?? -1;
        const fixes = ownsNearby(owners, p, giver, replicas);
        const giverExcess = excess[giver] ?? 0;
        if (best === -1 || (fixes && !bestFixes) || (fixes === bestFixes && giverExcess > bestExcess)) {
          best = p;
          bestFixes = fixes;
          bestExcess = giverExcess;
        }
      }
      if (best !== -1) take(taker, best);
    }
    for (let p = 0; p < count && (deficit[taker] ?? 0) > 0; p++) {
      if (takeable(taker, p) && !ownsNearby(owners, p, taker, replicas)) take(taker, p);
    }
    for (let p = 0; p < count && (deficit[taker] ?? 0) > 0; p++) {
      if (takeable(taker, p)) take(taker, p);
    }
    assert(deficit[taker] === 0, 'surplus ran out before every member reached its target');
  }
}
