/**
 * Fresh claim: stripe the partitions over the sorted members (riak_core's
 * sequential claim / claim_rebalance_n), owner(p) = member[p mod n], which gives
 * every window of min(n, replicas) consecutive partitions distinct owners.
 *
 * The one hard spot is the wrap: with r = P mod n, the ring ends with a short
 * run member[0..r-1] and starts again at member[0]. When 0 < r < replicas that
 * puts a member twice inside one window. As riak_core's solve_tail_violations
 * does, the fix lengthens the tail to member[0..replicas-1] by "fetching"
 * member[r..replicas-1] out of complete sequences 1..q-1 (one per sequence,
 * spread out). Deleting one member from a run that continues the cyclic order
 * keeps any window distinct as long as n > replicas, and counts stay
 * floor/ceil. With n == replicas no balanced layout exists (every window would
 * have to be a rotation, forcing n | P), and with too few sequences
 * (q - 1 < replicas - r) the plain stripe is kept: both are reported as
 * violations by a checker, never silently "fixed" by unbalancing the ring.
 */

/** Member index owning each partition in a fresh ring of `n` members. */
export function stripe(n: number, partitionCount: number, replicas: number): Int32Array {
  const owners = new Int32Array(partitionCount);
  const full = Math.floor(partitionCount / n);
  const overhang = partitionCount % n;
  const shortfall = replicas - overhang;
  const fixTail = overhang > 0 && shortfall > 0 && n > replicas && full - 1 >= shortfall;
  if (!fixTail) {
    for (let p = 0; p < partitionCount; p++) owners[p] = p % n;
    return owners;
  }
  // Sequence s in 1..full-1 that gives up member overhang + i, for i in 0..shortfall-1.
  const deletedAt = new Map<number, number>();
  for (let i = 0; i < shortfall; i++) deletedAt.set(1 + Math.floor((i * (full - 1)) / shortfall), overhang + i);
  let p = 0;
  for (let s = 0; s < full; s++) {
    const deleted = deletedAt.get(s);
    for (let m = 0; m < n; m++) if (m !== deleted) owners[p++] = m;
  }
  for (let m = 0; m < replicas; m++) owners[p++] = m;
  return owners;
}
