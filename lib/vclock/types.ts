/**
 * Types of the dotted version vector set (DVV set; Almeida et al., "Scalable
 * and Accurate Causality Tracking for Eventually Consistent Stores", and
 * Riak's dvvset.erl). Only replicas are actors, so a clock has at most one
 * entry per replica actor, however many clients write.
 */

/**
 * A replica's identity inside clocks: `${nodeId}.${epoch}`. The epoch is minted
 * when a data directory is created, so a node that lost its data can never
 * reuse an old counter (Riak kv679).
 */
export type Actor = string;

/** One actor's counter in a version vector. */
export interface VectorEntry {
  readonly actor: Actor;
  readonly counter: number;
}

/** A version vector sorted by actor (ascending, by UTF-16 code unit), counters > 0, no duplicate actors. */
export type VersionVector = readonly VectorEntry[];

/**
 * One actor's slice of a DVV set: the actor has seen events 1..counter, and
 * `values` hold the still-concurrent values written at the newest dots, newest
 * first: values[i] has dot (actor, counter - i).
 */
export interface DvvEntry<V> {
  readonly actor: Actor;
  readonly counter: number;
  readonly values: readonly V[];
}

/**
 * A DVV set: entries sorted by actor plus anonymous values (values with no
 * dot, only produced when merging legacy data; normally empty).
 */
export interface DvvSet<V> {
  readonly entries: readonly DvvEntry<V>[];
  readonly anonymous: readonly V[];
}
