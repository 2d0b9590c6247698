/** Test helpers shared by the ring unit, golden and property tests (not a test file). */
import { partitionsOwned, type Ring } from '../../../lib/ring/index.ts';

/**
 * Start partitions p whose window p .. p+replicas-1 (wrapping) repeats an
 * owner although enough members exist to fill it with distinct ones.
 */
export function spacingViolations(ring: Ring, replicas: number): number[] {
  const count = ring.partitionCount;
  const width = Math.min(replicas, count);
  const distinctPossible = Math.min(width, ring.members.length);
  const bad: number[] = [];
  for (let p = 0; p < count; p++) {
    const seen = new Set<string>();
    for (let i = 0; i < width; i++) seen.add(ring.owners[(p + i) % count] ?? '');
    if (seen.size < distinctPossible) bad.push(p);
  }
  return bad;
}

/** Partitions owned per member, in member order. */
export function ownedCounts(ring: Ring): number[] {
  return ring.members.map((m) => partitionsOwned(ring, m));
}

/** `n` member ids that sort in numeric order: n00, n01, ... */
export function nodeNames(n: number, prefix = 'n'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
}
