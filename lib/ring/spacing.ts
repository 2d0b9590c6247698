/**
 * The replica-spacing rule claim tries to keep: any `replicas` consecutive
 * partitions (wrapping around) have distinct owners, so a key's N replicas sit
 * on N distinct nodes within its own preference window (riak_core's target_n_val).
 * Owners here are member indices, -1 for "not assigned yet".
 */

/** True when `node` owns a partition other than `p` within `replicas - 1` steps of `p` in either direction. */
export function ownsNearby(owners: Int32Array, p: number, node: number, replicas: number): boolean {
  return spacingPenalty(owners, p, node, replicas) > 0;
}

/**
 * How many windows of `replicas` consecutive partitions would repeat `node`
 * if it owned `p`: an owner k steps away shares replicas - k windows with p.
 * 0 means owning p keeps the rule.
 */
export function spacingPenalty(owners: Int32Array, p: number, node: number, replicas: number): number {
  const count = owners.length;
  let penalty = 0;
  for (let step = 1; step < replicas && step < count; step++) {
    if (owners[(p + step) % count] === node) penalty += replicas - step;
    if (owners[(p - step + count) % count] === node) penalty += replicas - step;
  }
  return penalty;
}
