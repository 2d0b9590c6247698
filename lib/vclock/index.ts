/**
 * vclock: causality tracking for siblings. Owns dotted version vector sets
 * (DVV sets, a port of Riak's dvvset.erl) — the per-key clock plus the
 * concurrent values it keeps alive — together with plain version vectors,
 * replica actor naming, and the compact binary codec for the opaque, signed
 * context clients carry between a get and the next put. Only replicas are actors, so
 * clocks stay as small as the replica set however many clients write, and a
 * write supersedes exactly the values its context had seen: interleaved
 * read-modify-write cycles cannot cause sibling explosion. Pure and synchronous.
 */
export type { Actor, VectorEntry, VersionVector, DvvEntry, DvvSet } from './types.ts';
export { actorFor } from './actor.ts';
export {
  ContextCodec,
  type ContextCodecOptions,
  DEFAULT_CONTEXT_CODEC,
  DEFAULT_CONTEXT_SECRET,
  CONTEXT_SECRET_BYTES_MIN,
  CONTEXT_SIGNATURE_BYTES,
  encodeContext,
  decodeContext,
  peekContext,
  keyFingerprint,
  KEY_FINGERPRINT_BYTES,
} from './context-codec.ts';

import type { Actor, DvvSet, VersionVector } from './types.ts';
import { fresh, join, sync, update, values, size, map, conflictingDots } from './dvv-set.ts';
import { descends, compare, mergeVectors, clampVector } from './vector.ts';

/** The DVV-set operations and version-vector helpers, grouped as one namespace-like object. */
export const Dvv: {
  /** The empty set: no history, no values. */
  fresh<V>(): DvvSet<V>;
  /** Context covering every dot in s (entries' actor/counter; no values). */
  join<V>(s: DvvSet<V>): VersionVector;
  /**
   * Merge two replicas' sets (dvvset:sync): a value survives unless the other
   * side has seen its dot and no longer holds it. Commutative, associative,
   * idempotent (anonymous values aside, whose order follows the arguments).
   */
  sync<V>(a: DvvSet<V>, b: DvvSet<V>): DvvSet<V>;
  /**
   * Server-side write by replica `actor` of `value` by a client that had seen `context`:
   * drops every value of s whose dot is covered by context, then adds `value` with the dot
   * (actor, max(counter of actor in s, in context) + 1). The result's join descends both
   * join(s) and context. (dvvset:update/3 applied to new(context, value) and s.)
   * Throws InvalidArgumentError only if the counter would pass 2^53 - 1 (a forged context).
   */
  update<V>(s: DvvSet<V>, context: VersionVector, actor: Actor, value: V): DvvSet<V>;
  /** All values (siblings), deterministic order: entries by actor, each newest first, then anonymous. */
  values<V>(s: DvvSet<V>): V[];
  /** Number of values (siblings), anonymous ones included. */
  size<V>(s: DvvSet<V>): number;
  /** Same clock, each value replaced by f(value) (e.g. to strip payloads). */
  map<V, W>(s: DvvSet<V>, f: (v: V) => W): DvvSet<W>;
  /** a has seen everything b has (a >= b pointwise). */
  descends(a: VersionVector, b: VersionVector): boolean;
  /** Causal order of a relative to b ('before': a < b). */
  compare(a: VersionVector, b: VersionVector): 'before' | 'after' | 'equal' | 'concurrent';
  /** Pointwise maximum: the history of a client that has seen both. */
  mergeVectors(a: VersionVector, b: VersionVector): VersionVector;
  /**
   * vv with every counter capped at bound's counter for the same actor, and
   * actors bound lacks dropped (pointwise minimum over vv's actors): what of
   * a client's context a replica can vouch for. Clamping only ever makes a
   * write supersede less, so an unverifiable counter costs a sibling, never data.
   */
  clampVector(vv: VersionVector, bound: VersionVector): VersionVector;
  /**
   * Dots held live by both a and b whose values differ by `same`. Always 0
   * while dots are unique (a dot names one value forever); anything else
   * means a version number was issued twice, and sync would keep only one of
   * the two values.
   */
  conflictingDots<V>(a: DvvSet<V>, b: DvvSet<V>, same: (x: V, y: V) => boolean): number;
} = Object.freeze({ fresh, join, sync, update, values, size, map, descends, compare, mergeVectors, clampVector, conflictingDots });
