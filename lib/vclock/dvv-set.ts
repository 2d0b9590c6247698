/**
 * Dotted version vector sets: a port of dvvset.erl (Gonçalves & Almeida,
 * used by Riak 2.0) to immutable TypeScript.
 *
 * An entry {actor, counter: n, values: [v1..vk]} says "this clock has seen
 * events 1..n of actor, and v1..vk are the still-live values written at dots
 * n, n-1, ..., n-k+1". Live dots are always the newest ones of their actor,
 * so one number per actor describes both the history and which values it
 * still holds; that is what lets sync drop obsolete siblings without ever
 * comparing values (identical dots mean identical values).
 */
import { assert, InvalidArgumentError } from '../runtime/index.ts';
import type { Actor, DvvEntry, DvvSet, VersionVector } from './types.ts';
import { assertVector, compareSorted, mergeByActor } from './vector.ts';

const EMPTY: DvvSet<never> = Object.freeze({ entries: Object.freeze([]), anonymous: Object.freeze([]) });

/** See Dvv.fresh. */
export function fresh<V>(): DvvSet<V> {
  return EMPTY;
}

/** See Dvv.join. */
export function join<V>(s: DvvSet<V>): VersionVector {
  return s.entries.map((e) => ({ actor: e.actor, counter: e.counter }));
}

/**
 * dvvset:merge/5 for one actor. The result has the larger counter and keeps
 * a dot only if both sides either still hold it or never saw it: i.e. dots
 * above max(n1 - len1, n2 - len2), taken from the side with the larger
 * counter (the only side that can hold all of them).
 */
function mergeEntry<V>(a: DvvEntry<V>, b: DvvEntry<V>): DvvEntry<V> {
  const [hi, lo] = a.counter >= b.counter ? [a, b] : [b, a];
  const floor = Math.max(hi.counter - hi.values.length, lo.counter - lo.values.length);
  const keep = hi.counter - floor;
  return keep === hi.values.length ? hi : { actor: hi.actor, counter: hi.counter, values: hi.values.slice(0, keep) };
}

/**
 * Anonymous values carry no dot, so (as in dvvset) they are discarded only
 * when the other clock is strictly newer; otherwise the two lists are united,
 * de-duplicated by identity (SameValueZero) since values are opaque.
 */
function syncAnonymous<V>(a: DvvSet<V>, b: DvvSet<V>): readonly V[] {
  if (a.anonymous.length === 0 && b.anonymous.length === 0) return a.anonymous;
  switch (compareSorted(a.entries, b.entries)) {
    case 'before':
      return b.anonymous;
    case 'after':
      return a.anonymous;
    default: {
      const seen = new Set<V>(a.anonymous);
      return [...a.anonymous, ...b.anonymous.filter((v) => !seen.has(v))];
    }
  }
}

/** See Dvv.sync. */
export function sync<V>(a: DvvSet<V>, b: DvvSet<V>): DvvSet<V> {
  return { entries: mergeByActor(a.entries, b.entries, mergeEntry), anonymous: syncAnonymous(a, b) };
}

/** dvvset:event/3: the next dot of `actor` (creating its entry in order if absent) holds `value`. */
function event<V>(entries: readonly DvvEntry<V>[], actor: Actor, value: V): DvvEntry<V>[] {
  const out: DvvEntry<V>[] = [];
  let placed = false;
  for (const e of entries) {
    if (!placed && e.actor === actor) {
      if (e.counter >= Number.MAX_SAFE_INTEGER) {
        throw new InvalidArgumentError(
          `version counter of actor ${actor} is at its maximum (${e.counter}); the context passed with this write was not produced by this store`,
        );
      }
      out.push({ actor, counter: e.counter + 1, values: [value, ...e.values] });
      placed = true;
    } else {
      if (!placed && e.actor > actor) {
        out.push({ actor, counter: 1, values: [value] });
        placed = true;
      }
      out.push(e);
    }
  }
  if (!placed) out.push({ actor, counter: 1, values: [value] });
  return out;
}

/**
 * See Dvv.update. This is dvvset:update/3 with the client clock
 * new(context, value): sync the context (as entries holding no values) into
 * s — which drops exactly the values whose dots the context covers — then
 * record `value` as a new event of `actor`.
 */
export function update<V>(s: DvvSet<V>, context: VersionVector, actor: Actor, value: V): DvvSet<V> {
  assertVector(context, 'update(context)');
  assert(typeof actor === 'string' && actor.length > 0, 'update(actor): actor must be a non-empty string');
  const clientEntries: DvvEntry<V>[] = context.map((e) => ({ actor: e.actor, counter: e.counter, values: [] }));
  const client: DvvSet<V> = { entries: clientEntries, anonymous: [] };
  const synced = sync(client, s);
  return { entries: event(synced.entries, actor, value), anonymous: synced.anonymous };
}

/** See Dvv.values. */
export function values<V>(s: DvvSet<V>): V[] {
  const out: V[] = [];
  for (const e of s.entries) out.push(...e.values);
  out.push(...s.anonymous);
  return out;
}

/** See Dvv.size. */
export function size<V>(s: DvvSet<V>): number {
  let n = s.anonymous.length;
  for (const e of s.entries) n += e.values.length;
  return n;
}

/** See Dvv.map. */
export function map<V, W>(s: DvvSet<V>, f: (v: V) => W): DvvSet<W> {
  return {
    entries: s.entries.map((e) => ({ actor: e.actor, counter: e.counter, values: e.values.map((v) => f(v)) })),
    anonymous: s.anonymous.map((v) => f(v)),
  };
}

/** See Dvv.conflictingDots. */
export function conflictingDots<V>(a: DvvSet<V>, b: DvvSet<V>, same: (x: V, y: V) => boolean): number {
  let conflicts = 0;
  let j = 0;
  for (const x of a.entries) {
    while (j < b.entries.length && b.entries[j]!.actor < x.actor) j++;
    const y = b.entries[j];
    if (y === undefined || y.actor !== x.actor) continue;
    // x holds dots (x.counter - x.values.length, x.counter], y likewise; compare the dots both hold.
    const low = Math.max(x.counter - x.values.length, y.counter - y.values.length) + 1;
    const high = Math.min(x.counter, y.counter);
    for (let dot = low; dot <= high; dot++) {
      if (!same(x.values[x.counter - dot]!, y.values[y.counter - dot]!)) conflicts++;
    }
  }
  return conflicts;
}
