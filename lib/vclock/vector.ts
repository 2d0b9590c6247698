/**
 * Version vectors as sorted arrays: pointwise comparison and merge by a single
 * linear walk over both arrays, which is why every vector is kept sorted by actor.
 */
import { assert } from '../runtime/index.ts';
import type { VersionVector, VectorEntry } from './types.ts';

/** Causal order of two vectors (of two clocks, when applied to their joins). */
export type Ordering = 'before' | 'after' | 'equal' | 'concurrent';

/**
 * Walks two actor-sorted arrays in step and merges them: entries present on
 * one side are kept as they are, entries for the same actor are combined by
 * `both`. Shared by vector merge and DVV-set sync so the walk exists once.
 */
export function mergeByActor<T extends { readonly actor: string }>(
  a: readonly T[],
  b: readonly T[],
  both: (x: T, y: T) => T,
): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x.actor < y.actor) {
      out.push(x);
      i++;
    } else if (x.actor > y.actor) {
      out.push(y);
      j++;
    } else {
      out.push(both(x, y));
      i++;
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/**
 * Compares two sorted vectors without validating them (DVV entries are
 * vectors too, so sync uses this on entry lists directly). A missing actor
 * counts as 0.
 */
export function compareSorted(a: readonly VectorEntry[], b: readonly VectorEntry[]): Ordering {
  let aAhead = false;
  let bAhead = false;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length && !(aAhead && bAhead)) {
    const x = a[i]!;
    const y = b[j]!;
    if (x.actor < y.actor) {
      aAhead = true;
      i++;
    } else if (x.actor > y.actor) {
      bAhead = true;
      j++;
    } else {
      if (x.counter > y.counter) aAhead = true;
      else if (x.counter < y.counter) bAhead = true;
      i++;
      j++;
    }
  }
  if (i < a.length) aAhead = true;
  if (j < b.length) bAhead = true;
  if (aAhead && bAhead) return 'concurrent';
  if (aAhead) return 'after';
  if (bAhead) return 'before';
  return 'equal';
}

/**
 * Guards the invariants of VersionVector (sorted, unique actors, safe
 * positive integer counters). Vectors reach this module from decodeContext,
 * which already refuses bad bytes, so a violation here is a bug: assert.
 */
export function assertVector(vv: VersionVector, what: string): void {
  let previous: string | undefined;
  for (const e of vv) {
    assert(typeof e.actor === 'string' && e.actor.length > 0, `${what}: actor must be a non-empty string`);
    assert(Number.isSafeInteger(e.counter) && e.counter > 0, `${what}: counter of ${e.actor} must be a positive safe integer`);
    assert(previous === undefined || previous < e.actor, `${what}: actors must be sorted and unique (${previous} then ${e.actor})`);
    previous = e.actor;
  }
}

/** See Dvv.compare. */
export function compare(a: VersionVector, b: VersionVector): Ordering {
  assertVector(a, 'compare(a)');
  assertVector(b, 'compare(b)');
  return compareSorted(a, b);
}

/** See Dvv.descends. */
export function descends(a: VersionVector, b: VersionVector): boolean {
  const order = compare(a, b);
  return order === 'after' || order === 'equal';
}

/** See Dvv.mergeVectors. */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  assertVector(a, 'mergeVectors(a)');
  assertVector(b, 'mergeVectors(b)');
  return mergeByActor(a, b, (x, y) => (x.counter >= y.counter ? x : y));
}

/** See Dvv.clampVector. */
export function clampVector(vv: VersionVector, bound: VersionVector): VersionVector {
  assertVector(vv, 'clampVector(vv)');
  assertVector(bound, 'clampVector(bound)');
  const out: VectorEntry[] = [];
  let j = 0;
  for (const e of vv) {
    while (j < bound.length && bound[j]!.actor < e.actor) j++;
    const b = bound[j];
    if (b === undefined || b.actor !== e.actor) continue;
    out.push(e.counter <= b.counter ? e : { actor: e.actor, counter: b.counter });
  }
  return out;
}
