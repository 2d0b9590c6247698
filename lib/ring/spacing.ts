/**
 * The replica-spacing rule claim tries to keep: any `replicas` consecutive
 * partitions (wrapping around) have owners in distinct zones, so a key's N
 * replicas sit in N distinct failure domains within its own preference
 * window (riak_core's target_n_val, extended to locations as Riak 3's
 * location-aware claim does). A member without a zone is a zone of its own
 * (zones.ts), so without zones the rule is "distinct owners".
 * Owners here are member indices, -1 for "not assigned yet"; `zoneOf` maps a
 * member index to its zone index (zones.ts zoneIndices).
 */

/** True when a member of `node`'s zone owns a partition other than `p` within `replicas - 1` steps of `p` in either direction. */
export function ownsNearby(owners: Int32Array, p: number, node: number, replicas: number, zoneOf: Int32Array): boolean {
  return spacingPenalty(owners, p, node, replicas, zoneOf) > 0;
}

/**
 * How many windows of `replicas` consecutive partitions would repeat
 * `node`'s zone if it owned `p`: an owner of that zone k steps away shares
 * replicas - k windows with p. 0 means owning p keeps the rule.
 */
export function spacingPenalty(owners: Int32Array, p: number, node: number, replicas: number, zoneOf: Int32Array): number {
  const count = owners.length;
  const zone = zoneOf[node];
  let penalty = 0;
  for (let step = 1; step < replicas && step < count; step++) {
    const after = owners[(p + step) % count] ?? -1;
    if (after >= 0 && zoneOf[after] === zone) penalty += replicas - step;
    const before = owners[(p - step + count) % count] ?? -1;
    if (before >= 0 && zoneOf[before] === zone) penalty += replicas - step;
  }
  return penalty;
}
