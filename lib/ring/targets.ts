/**
 * How many partitions each member should own after a claim: floor or ceil of
 * partitionCount / members, so max - min <= 1.
 */

/**
 * Target count per member index. The `partitionCount mod n` ceil slots go to
 * the members that already own the most (ties: lower index, i.e. smaller id),
 * so a member never has to give up a partition only to receive another
 * elsewhere, which keeps movement minimal and the choice deterministic.
 */
export function targetCounts(owned: Int32Array, partitionCount: number): Int32Array {
  const n = owned.length;
  const base = Math.floor(partitionCount / n);
  const extra = partitionCount % n;
  const order = Array.from(owned.keys()).sort((a, b) => (owned[b] ?? 0) - (owned[a] ?? 0) || a - b);
  const targets = new Int32Array(n).fill(base);
  for (let rank = 0; rank < extra; rank++) targets[order[rank] ?? 0] = base + 1;
  return targets;
}
