/**
 * Safe tombstone garbage collection: when a replica may delete a key whose
 * object holds only tombstones, so that the delete can never be undone
 * (issue 9 §3: "a deleted key never comes back").
 *
 * How a deleted key could come back: a tombstone D supersedes the values it
 * deleted only while it exists. Once a replica purges D, an older version of
 * the key reaching it — from a replica that missed the delete, a hint, a
 * read repair or exchange in flight, an old owner streaming the partition —
 * is stored as if new and spreads again (Cassandra's zombie rows, the reason
 * for its gc_grace_seconds; Riak's delete_mode and tombstone reaping).
 *
 * The rule (tombstoneDecision): purge key K only if
 *  1. the local object of K holds only tombstones (at least one value, all
 *     deletes), with digest D;
 *  2. every replica of K's partition — this one included — is recorded
 *     holding exactly D (by the exchanges: recordExchange), and:
 *  3. (settle) each has been seen holding D for at least settleMs, on this
 *     node's monotonic clock: longer than any operation that could have read
 *     an older version before that replica got D (exchange deadline, request
 *     timeout) — none is still in flight;
 *  4. (fresh) each other replica was last seen holding D within
 *     holdingMaxAgeMs: a record is not trusted forever (see "Data loss" below);
 *  5. (grace) graceMs have passed since the newest tombstone of K was written
 *     (coordinator wall clock): every partition transfer of a write made
 *     before the delete is over (graceMs must exceed clock skew too). Hints
 *     are not bounded in age this way — a hint's holder may be down longer
 *     than any grace — so the driver also asks every node, twice, whether it
 *     holds a hint of K, and purges only if all answer that none does
 *     (lib/node/hint-census.ts; not a rule of this pure module);
 *  6. (seen after grace) each other replica was last seen holding D after
 *     the grace period had passed (its lastSeenMs, mapped to wall time
 *     through the clock given): a replica whose data directory was restored
 *     from a backup younger than graceMs was restored before that moment,
 *     so what was seen of it is its restored life, not the one before.
 *
 * Why that is safe: replicas are monotone — a replica that holds D keeps D
 * or something that descends from it, since every change is a DVV merge or a
 * new write. So once all N replicas hold D, no replica holds a version older
 * than D, and no new one can appear: operations that read one before are
 * over (3), transfers made before the delete are over (5), and no hint of
 * an older write is left anywhere (the driver's census). A
 * version arriving after the purge is therefore a new write (or a sibling
 * concurrent with the delete, which the delete never covered) — never a
 * deleted value. Requiring *all* N matters: a single replica that missed the
 * delete still holds the old value, and would hand it back to every replica
 * that had purged D.
 *
 * Data loss breaks monotonicity: a replica that loses its disk or a rotted
 * record (set aside), or is restored from a backup, can hold less than D
 * again and pick an old version up from a replica that has not got D yet.
 * Freshness (4) bounds how long a record can hide that; the driver must also
 * call forgetPeer(peer) when a peer restarts (a new generation: the only way
 * a disk is lost or a backup restored), so its holdings are observed again.
 * A backup younger than graceMs is harmless (6); one older than graceMs must
 * not be restored once other replicas may have purged (as in Cassandra;
 * docs/antientropy.md).
 *
 * A purged tombstone is remembered for purgedMemoMs (notePurged) and listed
 * by the replica's keysIn as if still held (purgedIn), so peers that have not
 * purged yet neither push D back nor stop seeing this replica as a holder —
 * each purges on its own once its rule holds. Without the memo the first
 * replica to purge would be refilled by the others, and they would never see
 * it holding D again.
 *
 * Everything here is pure and bounded: keysMax tracked tombstones (a
 * tombstone not tracked is simply kept), purgedMax remembered purges.
 */
import type { NodeId } from '../protocol/index.ts';
import { InvalidArgumentError, assert } from '../runtime/index.ts';
import type { StoredObject } from '../storage/index.ts';
import type { ExchangeResult } from './exchange.ts';
import { keyId } from './key-id.ts';
import { segmentOfKey, type TreeShape } from './tictac-tree.ts';
import { ABSENT_DIGEST, type KeyDigest, type VersionDigest } from './version-digest.ts';

/** The timing part of the rule (AntiEntropyConfig carries the defaults). */
export interface TombstoneRule {
  /** Wall-clock ms since the newest tombstone was written before it may be purged (5). */
  readonly graceMs: number;
  /** Monotonic ms every replica must have been seen holding the tombstone (3). */
  readonly settleMs: number;
  /** Monotonic ms within which every replica must last have been seen holding it (4). */
  readonly holdingMaxAgeMs: number;
}

/** What this node knows of one replica's copy of a key. */
export interface Holding {
  readonly digest: VersionDigest;
  /** First seen holding `digest` (monotonic ms; an exchange's end, conservatively). */
  readonly sinceMs: number;
  /** Last seen holding it (monotonic ms; an exchange's start, conservatively). */
  readonly lastSeenMs: number;
}

/** The two clocks the rule reads: wall time for tombstone write times, monotonic for the rest. */
export interface GcClock {
  readonly wallMs: number;
  readonly monotonicMs: number;
}

export type KeepReason = 'not-a-tombstone' | 'holder-unknown' | 'holder-differs' | 'holder-stale' | 'settle' | 'grace' | 'seen-before-grace';

export type TombstoneDecision =
  | { readonly purge: true }
  | { readonly purge: false; readonly reason: KeepReason; readonly replica?: NodeId };

/** Input of the pure decision for one key. */
export interface TombstoneCheck {
  /** The key's object as stored here now. */
  readonly object: StoredObject;
  /** versionDigest(object). */
  readonly digest: VersionDigest;
  /**
   * This node. Its own holding (in `holders`, from noteLocal) must name
   * `digest` and be settled, but is never stale: `object` is its copy now.
   */
  readonly self: NodeId;
  /** The partition's replica set (N nodes; during a move, old and new replicas), this node included. */
  readonly replicas: readonly NodeId[];
  /** What is known of each replica's copy (TombstoneLedger.holders), this node included. */
  readonly holders: ReadonlyMap<NodeId, Holding>;
}

/** Whether `object` holds only tombstones (at least one), and when the newest was written. */
export function tombstoneFacts(object: StoredObject): { readonly tombstoneOnly: boolean; readonly newestTombstoneMs: number } {
  // Runs on every local write (the ledger's observer), so it walks the values in place.
  let values = 0;
  let newest = 0;
  for (const e of object.entries) {
    for (const v of e.values) {
      if (!v.tombstone) return NOT_TOMBSTONE_ONLY;
      values++;
      newest = Math.max(newest, v.writtenAtMs);
    }
  }
  for (const v of object.anonymous) {
    if (!v.tombstone) return NOT_TOMBSTONE_ONLY;
    values++;
    newest = Math.max(newest, v.writtenAtMs);
  }
  return { tombstoneOnly: values > 0, newestTombstoneMs: newest };
}

const NOT_TOMBSTONE_ONLY = Object.freeze({ tombstoneOnly: false, newestTombstoneMs: 0 });

/** Purge or keep `check.object` (see the rule in the module header). */
export function tombstoneDecision(check: TombstoneCheck, rule: TombstoneRule, clock: GcClock): TombstoneDecision {
  const facts = tombstoneFacts(check.object);
  return decide(facts.tombstoneOnly, facts.newestTombstoneMs, check.digest, check.self, check.replicas, check.holders, rule, clock);
}

function decide(
  tombstoneOnly: boolean,
  newestTombstoneMs: number,
  digest: VersionDigest,
  self: NodeId,
  replicas: readonly NodeId[],
  holders: ReadonlyMap<NodeId, Holding>,
  rule: TombstoneRule,
  clock: GcClock,
): TombstoneDecision {
  assert(replicas.length > 0, 'tombstoneDecision: no replicas');
  if (!tombstoneOnly || digest === ABSENT_DIGEST) return { purge: false, reason: 'not-a-tombstone' };
  for (const replica of replicas) {
    const h = holders.get(replica);
    if (h === undefined) return { purge: false, reason: 'holder-unknown', replica };
    if (h.digest !== digest) return { purge: false, reason: 'holder-differs', replica };
    if (replica !== self && clock.monotonicMs - h.lastSeenMs > rule.holdingMaxAgeMs) return { purge: false, reason: 'holder-stale', replica };
    if (clock.monotonicMs - h.sinceMs < rule.settleMs) return { purge: false, reason: 'settle', replica };
  }
  const graceEndsAtMs = newestTombstoneMs + rule.graceMs;
  if (clock.wallMs < graceEndsAtMs) return { purge: false, reason: 'grace' };
  for (const replica of replicas) {
    if (replica === self) continue;
    // Wall time of the last sighting, through this node's own clocks now.
    const seenAtWallMs = clock.wallMs - (clock.monotonicMs - holders.get(replica)!.lastSeenMs);
    if (seenAtWallMs < graceEndsAtMs) return { purge: false, reason: 'seen-before-grace', replica };
  }
  return { purge: true };
}

export interface TombstoneLedgerOptions {
  /** This node (its own holding is what noteLocal recorded). */
  readonly self: NodeId;
  /** The tree shape, to know which keys an equal segment vouches for. */
  readonly shape: TreeShape;
  /** Tombstoned keys tracked at most (all partitions). */
  readonly keysMax: number;
  /** Purged tombstones remembered at most (all partitions). */
  readonly purgedMax: number;
  /** How long a purged tombstone is remembered and listed (monotonic ms). */
  readonly purgedMemoMs: number;
}

interface Candidate {
  readonly key: Uint8Array;
  readonly digest: VersionDigest;
  readonly segment: number;
  readonly newestTombstoneMs: number;
  /** When the local object became this one (monotonic ms). */
  readonly changedAtMs: number;
  readonly holders: Map<NodeId, Holding>;
}

interface Purged {
  readonly key: Uint8Array;
  readonly digest: VersionDigest;
  readonly segment: number;
  readonly untilMs: number;
}

/** Replicas remembered per key beyond the replica set (peers of a partition move); oldest forgotten first. */
const HOLDERS_PER_KEY_MAX = 16;

/**
 * This node's tombstone bookkeeping: which local keys are tombstone-only,
 * which replicas are known to hold the same tombstone (from exchanges), and
 * which tombstones it purged recently. Driver duties: docs/antientropy.md.
 */
export class TombstoneLedger {
  readonly #opts: TombstoneLedgerOptions;
  readonly #candidates = new Map<number, Map<string, Candidate>>();
  readonly #purged = new Map<number, Map<string, Purged>>();
  /**
   * Every remembered purge in the order made. Monotonic time never goes
   * back and every memo lasts purgedMemoMs, so this is also expiry order:
   * expiring and evicting take from the front.
   */
  readonly #purgedOrder = new Map<string, { readonly partition: number; readonly id: string }>();
  #tracked = 0;
  #untracked = 0;
  /** Per partition, tombstones met and not tracked for lack of room: the partition's candidates are not all its tombstones. */
  readonly #untrackedIn = new Map<number, number>();

  constructor(options: TombstoneLedgerOptions) {
    for (const field of ['keysMax', 'purgedMax', 'purgedMemoMs'] as const) {
      const n = options[field];
      if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`tombstone ledger ${field} must be a positive integer, got ${String(n)}`);
    }
    this.#opts = options;
  }

  /**
   * Every change of a local key (client write, merge, repair, purge, set
   * aside): `object` is what is stored now (undefined: nothing), `digest`
   * its version digest. Also call it for each tombstone a tree rebuild scan
   * meets, so tombstones written before a restart are tracked again.
   */
  noteLocal(partition: number, key: Uint8Array, object: StoredObject | undefined, digest: VersionDigest, monotonicMs: number): void {
    const facts = object === undefined ? undefined : tombstoneFacts(object);
    const candidates = this.#candidates.get(partition);
    // The common case on the write path (a live value, nothing tracked or
    // remembered in this partition) needs no key id: return before making one.
    if ((facts === undefined || !facts.tombstoneOnly) && candidates === undefined && (object === undefined || !this.#purged.has(partition))) return;
    const id = keyId(key);
    if (object !== undefined) this.#unremember(partition, id);
    const current = candidates?.get(id);
    if (facts === undefined || !facts.tombstoneOnly || digest === ABSENT_DIGEST) {
      if (current !== undefined) this.#forget(partition, id);
      return;
    }
    if (current !== undefined && current.digest === digest) return;
    if (current === undefined && this.#tracked >= this.#opts.keysMax) {
      this.#untracked++;
      this.#untrackedIn.set(partition, (this.#untrackedIn.get(partition) ?? 0) + 1);
      return;
    }
    const holders = new Map<NodeId, Holding>([[this.#opts.self, { digest, sinceMs: monotonicMs, lastSeenMs: monotonicMs }]]);
    const candidate: Candidate = {
      key: key.slice(),
      digest,
      segment: segmentOfKey(this.#opts.shape, key),
      newestTombstoneMs: facts.newestTombstoneMs,
      changedAtMs: monotonicMs,
      holders,
    };
    if (current === undefined) this.#tracked++;
    this.#partitionCandidates(partition).set(id, candidate);
  }

  /**
   * `peer` was seen holding `digest` for a tracked key during
   * [observedFromMs, observedToMs] (monotonic). Keys not tracked are ignored.
   */
  recordHolding(partition: number, key: Uint8Array, peer: NodeId, digest: VersionDigest, observedFromMs: number, observedToMs: number): void {
    const c = this.#candidates.get(partition)?.get(keyId(key));
    if (c !== undefined) this.#hold(c, peer, digest, observedFromMs, observedToMs);
  }

  /**
   * Learn from an exchange this node ran with `peer` over `partition`, which
   * started and finished at the given monotonic times. A tracked tombstone
   * unchanged here since before the exchange began is held by the peer with
   * the same digest if its segment was seen equal (not among the differing
   * segments once the descent finished) or its key was listed with equal
   * digests; a listed key with another digest tells what the peer holds instead.
   */
  recordExchange(partition: number, peer: NodeId, result: ExchangeResult, startedAtMs: number, finishedAtMs: number): void {
    const candidates = this.#candidates.get(partition);
    if (candidates === undefined || candidates.size === 0) return;
    const unchanged = (c: Candidate | undefined): c is Candidate => c !== undefined && c.changedAtMs < startedAtMs;
    if (result.differingSegments !== undefined) {
      const differing = new Set(result.differingSegments);
      for (const c of candidates.values()) {
        if (unchanged(c) && !differing.has(c.segment)) this.#hold(c, peer, c.digest, startedAtMs, finishedAtMs);
      }
    }
    for (const e of result.agreed) {
      const c = candidates.get(keyId(e.key));
      if (unchanged(c) && c.digest === e.digest) this.#hold(c, peer, e.digest, startedAtMs, finishedAtMs);
    }
    for (const d of result.diffs) {
      const c = candidates.get(keyId(d.key));
      if (unchanged(c) && c.digest === d.local) this.#hold(c, peer, d.remote, startedAtMs, finishedAtMs);
    }
  }

  /** What is known of each replica's copy of a tracked key (this node included); empty if not tracked. */
  holders(partition: number, key: Uint8Array): ReadonlyMap<NodeId, Holding> {
    return this.#candidates.get(partition)?.get(keyId(key))?.holders ?? new Map();
  }

  /**
   * Up to `max` tracked keys of `partition` whose tombstone the rule allows
   * purging now, in the order they were tracked. The driver
   * re-reads each under its key lock, checks tombstoneDecision against the
   * object it finds, deletes it, updates the tree and calls notePurged.
   */
  purgeable(partition: number, replicas: readonly NodeId[], rule: TombstoneRule, clock: GcClock, max: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const c of this.#candidates.get(partition)?.values() ?? []) {
      if (out.length >= max) break;
      if (decide(true, c.newestTombstoneMs, c.digest, this.#opts.self, replicas, c.holders, rule, clock).purge) out.push(c.key);
    }
    return out;
  }

  /** The driver purged `key` (whose object had `digest`): forget it, and remember the purge for purgedMemoMs. */
  notePurged(partition: number, key: Uint8Array, digest: VersionDigest, monotonicMs: number): void {
    const id = keyId(key);
    this.#forget(partition, id);
    this.#expire(monotonicMs);
    this.#unremember(partition, id);
    let purged = this.#purged.get(partition);
    if (purged === undefined) {
      purged = new Map();
      this.#purged.set(partition, purged);
    }
    purged.set(id, { key: key.slice(), digest, segment: segmentOfKey(this.#opts.shape, key), untilMs: monotonicMs + this.#opts.purgedMemoMs });
    this.#purgedOrder.set(`${partition}/${id}`, { partition, id });
    if (this.#purgedOrder.size > this.#opts.purgedMax) {
      const first = this.#purgedOrder.values().next().value!;
      this.#unremember(first.partition, first.id);
    }
  }

  /**
   * Remembered purges of `partition` in the given segments, for the keysIn
   * listing of this replica (as if still held). A key stored again is no
   * longer remembered (noteLocal); if a listing races with that, the stored
   * copy wins and the driver leaves the remembered one out.
   */
  purgedIn(partition: number, segments: readonly number[], monotonicMs: number): KeyDigest[] {
    this.#expire(monotonicMs);
    const wanted = new Set(segments);
    const out: KeyDigest[] = [];
    for (const p of this.#purged.get(partition)?.values() ?? []) {
      if (wanted.has(p.segment)) out.push({ key: p.key, digest: p.digest });
    }
    return out;
  }

  /** Forget everything known of `peer`'s copies (it restarted: it may have lost data). */
  forgetPeer(peer: NodeId): void {
    assert(peer !== this.#opts.self, 'TombstoneLedger.forgetPeer: this node');
    for (const candidates of this.#candidates.values()) for (const c of candidates.values()) c.holders.delete(peer);
  }

  /** The keys tracked in `partition` (saved beside its tree at a clean stop: tombstone-list-codec.ts). */
  trackedKeys(partition: number): Uint8Array[] {
    return [...(this.#candidates.get(partition)?.values() ?? [])].map((c) => c.key);
  }

  /**
   * Tombstones of `partition` met and not tracked for lack of room, a count
   * that only grows (until dropPartition): while it stays what it was when a
   * walk of the partition began, the tracked keys are all its tombstones.
   */
  untrackedIn(partition: number): number {
    return this.#untrackedIn.get(partition) ?? 0;
  }

  /** This node no longer replicates `partition`. */
  dropPartition(partition: number): void {
    this.#tracked -= this.#candidates.get(partition)?.size ?? 0;
    this.#candidates.delete(partition);
    this.#untrackedIn.delete(partition);
    for (const id of [...(this.#purged.get(partition)?.keys() ?? [])]) this.#unremember(partition, id);
  }

  stats(): { readonly tracked: number; readonly untracked: number; readonly purgedRemembered: number } {
    return { tracked: this.#tracked, untracked: this.#untracked, purgedRemembered: this.#purgedOrder.size };
  }

  #hold(c: Candidate, peer: NodeId, digest: VersionDigest, fromMs: number, toMs: number): void {
    if (peer === this.#opts.self) return;
    const h = c.holders.get(peer);
    if (h !== undefined && h.digest === digest) {
      c.holders.set(peer, { digest, sinceMs: h.sinceMs, lastSeenMs: Math.max(h.lastSeenMs, fromMs) });
      return;
    }
    if (h === undefined && c.holders.size >= HOLDERS_PER_KEY_MAX) {
      let oldest: NodeId | undefined;
      for (const [id, x] of c.holders) {
        if (id !== this.#opts.self && (oldest === undefined || x.lastSeenMs < c.holders.get(oldest)!.lastSeenMs)) oldest = id;
      }
      if (oldest !== undefined) c.holders.delete(oldest);
    }
    c.holders.set(peer, { digest, sinceMs: toMs, lastSeenMs: fromMs });
  }

  #partitionCandidates(partition: number): Map<string, Candidate> {
    let m = this.#candidates.get(partition);
    if (m === undefined) {
      m = new Map();
      this.#candidates.set(partition, m);
    }
    return m;
  }

  #forget(partition: number, id: string): void {
    const candidates = this.#candidates.get(partition);
    if (candidates?.delete(id) !== true) return;
    this.#tracked--;
    if (candidates.size === 0) this.#candidates.delete(partition);
  }

  #expire(monotonicMs: number): void {
    for (const { partition, id } of this.#purgedOrder.values()) {
      if (this.#purged.get(partition)!.get(id)!.untilMs > monotonicMs) return;
      this.#unremember(partition, id);
    }
  }

  #unremember(partition: number, id: string): void {
    const purged = this.#purged.get(partition);
    if (purged?.delete(id) !== true) return;
    this.#purgedOrder.delete(`${partition}/${id}`);
    if (purged.size === 0) this.#purged.delete(partition);
  }
}
