/**
 * This node's copy of its keys: reads and writes DVV objects through the
 * Storage port and the record codec, serialising read-modify-write per key so
 * concurrent updates of one key on this node never lose one.
 *
 * The key's lock covers reading, computing and issuing a write, not waiting
 * for the write to land: group commit applies writes in the order they were
 * issued, and until a key's last issued write has settled, the next holder
 * reads the object it wrote (the key's pending write) instead of storage. So
 * writers of a hot key do not queue behind each other's disk round trips.
 *
 * Two safety rules live here (see actor-epochs.ts for the third):
 * - A client's context is trusted only as far as this replica's copy can
 *   vouch for it. A counter above what the copy holds is either a version
 *   this replica has not received yet (the coordinator catches up from the
 *   other replicas first) or one nobody issued (a forged, mutated or
 *   misrouted context). Only what is provably unissued is clamped away (the
 *   coordinator decides: every replica answered and none holds it), so a
 *   context never makes a clock claim versions that will be minted later.
 * - A record that does not decode is set aside (kept for an operator,
 *   counted, logged), the actor is retired, and the key behaves as missing
 *   here, so it stays writable and is rebuilt from the other replicas.
 *
 * Reading for a write reads the key's summary where storage keeps one (a
 * large record in a disk engine's value log; lib/storage/record-summary.ts):
 * its clock and value fingerprints, not the values. That suffices when the
 * write keeps none of the old values (a write whose context covers them all,
 * a replicated version that supersedes the local copy), which is the common
 * case; when a fingerprint would survive into the result, the whole object
 * is read and the write computed again from it, under the same lock.
 */
import { Buffer } from 'node:buffer';
import { assert, InvalidArgumentError, LimitExceededError, StorageCorruptionError, TimeoutError, type Logger } from '../runtime/index.ts';
import { LIMITS } from '../protocol/index.ts';
import { Dvv, type Actor, type VersionVector } from '../vclock/index.ts';
import {
  decodeRecord, decodeSummary, encodeRecord, encodeSummary, fingerprintOf, isFingerprint, isWhole, sameFingerprint,
  type HeldObject, type Storage, type StoredObject, type StoredValue, type ValueFingerprint,
} from '../storage/index.ts';
import type { ActorEpochs } from './actor-epochs.ts';
import { KeyLock } from '../runtime/index.ts';

/** The object a replica now holds for a key and its encoded record (encoded once, reused for fan-out). */
export interface ReplicaWrite {
  readonly object: StoredObject;
  readonly record: Uint8Array;
  /**
   * What the client that made this write has seen: its (vouched) context plus
   * the new version — and nothing it did not see. The object's own clock is
   * NOT that: it also covers siblings written concurrently through this
   * replica, and a next write made with it would replace them unseen.
   */
  readonly seen: VersionVector;
}

/** Bounds of the per-key write queues. */
export const REPLICA_QUEUE_LIMITS = {
  /** Writes of one key queued on this node before new ones are refused. */
  depthMax: 1024,
  /** Distinct keys with writes in flight on this node. */
  keysMax: 65_536,
} as const;

/** Rare paths a replica took, counted since start (Admin status, the simulator's swarm report). */
export interface ReplicaStats {
  /** Records that failed to decode and were set aside. */
  setAside: number;
  /** Merges that met one dot holding two different values (0 unless a version number was issued twice). */
  dotConflicts: number;
  /** Local writes of a new version that failed after the version was minted. */
  localWriteFailures: number;
  /** Writes whose context claimed counters this replica could not vouch for, even after catching up. */
  contextClamps: number;
  /** Writes refused because the key has too many siblings. */
  siblingCapRefusals: number;
  /** Reads for a write answered from a record summary (the values not read). */
  summaryReads: number;
  /** Of those, writes that then read the whole object (the result keeps a value known only by its fingerprint). */
  summaryFallbacks: number;
}

const EMPTY = new Uint8Array(0);

/** The object of a key's last issued write, until that write settles (undefined: the key is being removed). */
interface PendingWrite {
  readonly object: StoredObject | undefined;
  /** Settles when the write has landed (rejects if it failed). */
  landed: Promise<void>;
}

/** What a locked section issued: its result, and the write that must land before the caller is answered. */
interface Issued<T> {
  readonly result: T;
  readonly persisted: Promise<void> | undefined;
}

/** A step computed from a key's summary would keep a value known only by its fingerprint: read the whole object. */
const NEEDS_VALUES = Symbol('needs values');

/** What a merge stores: `merged` and its record (bytes undefined: the local copy already holds it all). */
interface MergeStep {
  readonly merged: StoredObject;
  readonly bytes: Uint8Array | undefined;
  /** Dots both sides hold with different values (never expected: see ReplicaStats.dotConflicts). */
  readonly conflicts: number;
}

/** A new version minted by `update`, before its record is encoded. */
interface Minted {
  readonly object: StoredObject;
  readonly actor: Actor;
  readonly vouched: VersionVector;
  /** The context was clamped to what the local copy holds. */
  readonly clamped: boolean;
}

/** The lock-map key of a storage key (one latin1 char per byte: injective, cheap). */
function lockKey(partition: number, key: Uint8Array): string {
  return `${partition}/${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')}`;
}

/** True when two objects hold the same dots (a DVV set's values are fixed by its dots). */
function sameDots(a: HeldObject, b: HeldObject): boolean {
  if (a.entries.length !== b.entries.length || a.anonymous.length !== b.anonymous.length) return false;
  for (let i = 0; i < a.entries.length; i++) {
    const x = a.entries[i]!;
    const y = b.entries[i]!;
    if (x.actor !== y.actor || x.counter !== y.counter || x.values.length !== y.values.length) return false;
  }
  return true;
}

/** Equal stored values (used only to detect a dot that names two values). */
export function sameStoredValue(a: StoredValue, b: StoredValue): boolean {
  return a.tombstone === b.tombstone && a.writtenAtMs === b.writtenAtMs && Buffer.compare(a.data, b.data) === 0;
}

/**
 * The actors for which `context` claims more than `known` holds. Empty when
 * the replica can vouch for the whole context (the common case, checked in one walk).
 */
export function unverifiedActors(context: VersionVector, known: VersionVector): Actor[] {
  if (context.length === 0 || Dvv.descends(known, context)) return [];
  const held = new Map(known.map((e) => [e.actor, e.counter]));
  return context.filter((e) => e.counter > (held.get(e.actor) ?? 0)).map((e) => e.actor);
}

/**
 * The context a writer may use next: its own context plus its new dot
 * (actor, n). A DVV context naming (actor, n) also covers the actor's older
 * dots, so the new dot is included only when it is the actor's one live value
 * (older ones are superseded already); otherwise the writer gets its own
 * context back, and its next write keeps this one as a sibling rather than
 * replacing a concurrent value it never saw.
 */
export function seenByWriter(object: StoredObject, context: VersionVector, actor: Actor): VersionVector {
  const entry = object.entries.find((e) => e.actor === actor);
  if (entry === undefined || entry.values.length !== 1) return context;
  return Dvv.mergeVectors(context, [{ actor, counter: entry.counter }]);
}

/**
 * The record of `object`, the result of a write to `local`; LimitExceededError
 * (nothing is written) when the write would take the key past the sibling cap
 * or the object past its size limit.
 */
export function encodeWithinLimits(local: HeldObject, object: StoredObject): Uint8Array {
  if (Dvv.size(object) > LIMITS.siblingsMax) {
    throw new LimitExceededError(`key has ${Dvv.size(local)} siblings, the limit; read it and write back a resolved value with its context`);
  }
  const record = encodeRecord(object);
  if (record.byteLength > LIMITS.objectBytesMax) {
    throw new LimitExceededError(
      `object would be ${record.byteLength} bytes with this write, over the ${LIMITS.objectBytesMax}-byte limit; ` +
        'resolve its siblings or write a smaller value',
    );
  }
  return record;
}

/**
 * Observes every change of this replica's stored objects, so anti-entropy can
 * keep its per-partition hash trees in step with storage without a rebuild
 * (lib/node/anti-entropy.ts; docs/antientropy.md "What the driver must do").
 * Every path that changes a stored object reports through it: client writes
 * (update), replication, read repair, transfers and exchange pushes (merge),
 * tombstone purges (purge) and set-asides. Calls are synchronous and must
 * not throw.
 */
export interface ReplicaObserver {
  /**
   * One key is about to change: called under the key's lock, once the new
   * object is known and before its storage write is issued (a tree rebuild
   * must hear of every write before it can land). `before` is the object
   * read under the lock (undefined: none; its values may be fingerprints
   * where only the summary was read), `after` the object written
   * (undefined: the record is removed). Returns what to call once the write
   * settled: `ok` false when it failed, its outcome unknown.
   */
  changing(partition: number, key: Uint8Array, before: HeldObject | undefined, after: StoredObject | undefined): ((ok: boolean) => void) | undefined;
  /** A stored record did not decode and was moved aside: what this replica held for the key is not known. */
  setAside(partition: number, key: Uint8Array): void;
}

/** What `update` was asked to do with a context the local copy cannot fully vouch for. */
export type UnverifiedContext = 'report' | 'clamp';

/** How an update runs; see LocalReplica.update. */
export interface UpdateOptions {
  readonly unverified: UnverifiedContext;
  /** Gets the new object and record before they are persisted (the coordinator fans them out meanwhile). */
  readonly onComputed?: (write: ReplicaWrite) => void;
  /**
   * Checked once the key's lock is held, before anything is minted: true when
   * the client was already answered that nothing was applied (the write
   * waited too long in the key's queue), so it must not happen later.
   */
  readonly abandoned?: () => boolean;
  /**
   * What the replicas held when a catch-up asked them: the context is vouched
   * for only up to it, even if the local copy has received more since. A
   * version minted after the replicas answered did not exist when they were
   * asked, so a context naming it cannot have been read from the store
   * (README, "A context belongs to its key"); without this bound, a forged
   * context's claim would come true the moment a concurrent write minted that
   * version here, and the write would replace it unseen.
   */
  readonly vouchable?: VersionVector;
  /** With unverified 'report', told the local copy's clock the context was found ahead of (a catch-up's starting point). */
  readonly onUnverified?: (clock: VersionVector) => void;
}

/** Reads and writes this node's replica of keys. */
export class LocalReplica {
  readonly #storage: Storage;
  readonly #actors: ActorEpochs;
  readonly #logger: Logger;
  readonly #lock: KeyLock;
  readonly #observer: ReplicaObserver | undefined;
  /** The values' hash of record summaries (anti-entropy's VALUE_HASH); without it no summary is written or read. */
  readonly #valueHash: ((data: Uint8Array) => number) | undefined;
  /** Per lock key, the last issued write not settled yet: what the key holds once every issued write lands. */
  readonly #pending = new Map<string, PendingWrite>();
  /** Objects readSummary decoded from a summary (an object without values is whole by isWhole, yet no record was read). */
  readonly #fromSummaries = new WeakSet<HeldObject>();
  readonly #stats: ReplicaStats = { setAside: 0, dotConflicts: 0, localWriteFailures: 0, contextClamps: 0, siblingCapRefusals: 0, summaryReads: 0, summaryFallbacks: 0 };

  constructor(deps: {
    storage: Storage;
    actors: ActorEpochs;
    logger: Logger;
    queueLimits?: { depthMax: number; keysMax: number };
    observer?: ReplicaObserver;
    /**
     * The hash a record summary fingerprints values with; it must be
     * anti-entropy's VALUE_HASH (lib/antientropy valueHash), so a summary
     * digests as its object. With it, writes carry their record's summary and
     * reads for a write start from it (see the header).
     */
    valueHash?: (data: Uint8Array) => number;
  }) {
    this.#storage = deps.storage;
    this.#actors = deps.actors;
    this.#logger = deps.logger;
    this.#lock = new KeyLock(deps.queueLimits ?? REPLICA_QUEUE_LIMITS);
    this.#observer = deps.observer;
    this.#valueHash = deps.valueHash;
  }

  /** Keys with a write in flight (idle keys hold no lock state). */
  get lockedKeys(): number {
    return this.#lock.size;
  }

  /** The actor new versions are minted under now. */
  get actor(): Actor {
    return this.#actors.current();
  }

  /** Counters since start. */
  stats(): ReplicaStats & { actorsRetired: number } {
    return { ...this.#stats, actorsRetired: this.#actors.retired };
  }

  /** The stored record bytes as they are (a peer's read: no decode/encode round trip). */
  readRecord(partition: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#storage.get(partition, key);
  }

  /**
   * The stored object, or undefined when this replica has none. Rejects with
   * StorageCorruptionError on bytes that do not decode (the replica cannot say
   * what it held, so its answer must not count toward a read quorum); the
   * record is set aside by the next write of the key here — read repair's, or
   * a client's — under the key's lock, so a concurrent write is never moved aside.
   */
  async read(partition: number, key: Uint8Array): Promise<StoredObject | undefined> {
    const bytes = await this.#storage.get(partition, key);
    return bytes === undefined ? undefined : decodeRecord(bytes);
  }

  /**
   * The stored object as far as its summary tells (values may be
   * fingerprints: enough for its clock and version digest), or the whole
   * object where storage keeps no summary; undefined when this replica has
   * none. A summary that does not decode is ignored and the record read; a
   * record that does not decode rejects with StorageCorruptionError, as `read`.
   */
  async readSummary(partition: number, key: Uint8Array): Promise<HeldObject | undefined> {
    const storage = this.#storage;
    if (this.#valueHash === undefined || storage.getSummary === undefined) return this.read(partition, key);
    const head = await storage.getSummary(partition, key);
    if (head === undefined) return undefined;
    if (head.record !== undefined) return decodeRecord(head.record);
    try {
      const summary = decodeSummary(head.summary);
      this.#fromSummaries.add(summary);
      return summary;
    } catch (e) {
      if (!(e instanceof StorageCorruptionError)) throw e;
      this.#logger.warn('stored summary does not decode; reading the whole record', { partition, error: e.message });
      return this.read(partition, key);
    }
  }

  /**
   * Merge an object written elsewhere (replication fan-out, read repair) into
   * the local copy; stores only if that changes anything. `record`, when
   * given, must be `incoming` encoded and is stored as-is if the key is new.
   * Never refused for size: refusing would leave replicas diverged forever.
   */
  async merge(partition: number, key: Uint8Array, incoming: StoredObject, record?: Uint8Array): Promise<StoredObject> {
    const lk = lockKey(partition, key);
    return this.#landed(this.#lock.run(lk, async (): Promise<Issued<StoredObject>> => {
      let local: HeldObject | undefined = await this.#heldForWrite(lk, partition, key);
      let step = this.#mergeStep(local, incoming, record);
      if (step === NEEDS_VALUES) {
        this.#stats.summaryFallbacks++;
        // The merge keeps (or returns) a value the summary knows only by its fingerprint.
        local = await this.#readForWrite(lk, partition, key);
        step = this.#mergeStep(local, incoming, record);
        assert(step !== NEEDS_VALUES, 'merge: a whole object needs no more values');
      }
      if (step.conflicts > 0) {
        this.#stats.dotConflicts += step.conflicts;
        this.#logger.error('one version number names two different values; only one can be kept', { partition, conflicts: step.conflicts });
      }
      if (step.bytes === undefined) {
        // Nothing to store. But if the copy the merge matched is a write still
        // landing, the merge holds only once that write has: were it to fail,
        // an answer now would vouch for a version this replica never stored
        // (swarm seed 45704: a replica write delivered twice was acknowledged
        // by its duplicate while the first copy's disk write failed).
        return { result: step.merged, persisted: this.#pending.get(lk)?.landed };
      }
      const siblings = Dvv.size(step.merged);
      if (siblings >= LIMITS.siblingsWarn) this.#logger.warn('key has many siblings', { siblings, partition });
      return { result: step.merged, persisted: this.#write(lk, partition, key, local, step.merged, step.bytes) };
    }));
  }

  /**
   * What merging `incoming` into `local` stores: the merged object and its
   * record (bytes undefined: nothing changes), or NEEDS_VALUES when the
   * result keeps a value `local` holds only as a fingerprint.
   */
  #mergeStep(local: HeldObject | undefined, incoming: StoredObject, record: Uint8Array | undefined): MergeStep | typeof NEEDS_VALUES {
    if (local === undefined) return { merged: incoming, bytes: record ?? encodeRecord(incoming), conflicts: 0 };
    const merged = Dvv.sync<StoredValue | ValueFingerprint>(local, incoming);
    if (sameDots(merged, local)) {
      // The result is the local copy, so it must be read whole. A summary
      // without values (a clock alone) would pass for whole while the record
      // behind it may have rotted: read repair of that record would then
      // change nothing, forever (swarm seed 47008). Reading it sets a rotten
      // record aside.
      if (!isWhole(local) || this.#fromSummaries.has(local)) return NEEDS_VALUES;
      return { merged: local, bytes: undefined, conflicts: Dvv.conflictingDots(local, incoming, sameStoredValue) };
    }
    if (!isWhole(merged)) return NEEDS_VALUES;
    const conflicts = Dvv.conflictingDots<StoredValue | ValueFingerprint>(local, incoming, (a, b) => this.#sameHeldValue(a, b));
    if (record !== undefined && conflicts === 0 && merged.anonymous.length === 0 && incoming.anonymous.length === 0 && sameDots(merged, incoming)) {
      // The incoming object supersedes the local copy (replication's common
      // case): it is what the merge holds, so its record is stored as it came.
      return { merged: incoming, bytes: record, conflicts };
    }
    return { merged, bytes: encodeRecord(merged), conflicts };
  }

  /** Equal values, either of which may be a fingerprint (compared by fingerprint then). */
  #sameHeldValue(a: StoredValue | ValueFingerprint, b: StoredValue | ValueFingerprint): boolean {
    if (!isFingerprint(a) && !isFingerprint(b)) return sameStoredValue(a, b);
    const hash = this.#valueHash!;
    return sameFingerprint(fingerprintOf(a, hash), fingerprintOf(b, hash));
  }

  /**
   * Tombstone GC: remove the key's record if `decide` approves the object
   * found once the key's lock is held (it re-checks what a decision made
   * earlier assumed). Resolves true if the record was removed; a record that
   * does not decode is left for the next write to set aside.
   */
  async purge(partition: number, key: Uint8Array, decide: (object: StoredObject) => boolean): Promise<boolean> {
    const lk = lockKey(partition, key);
    return this.#landed(this.#lock.run(lk, async (): Promise<Issued<boolean>> => {
      let local: StoredObject | undefined;
      try {
        local = await this.#current(lk, partition, key);
      } catch (e) {
        if (e instanceof StorageCorruptionError) return { result: false, persisted: undefined };
        throw e;
      }
      if (local === undefined || !decide(local)) return { result: false, persisted: undefined };
      return { result: true, persisted: this.#write(lk, partition, key, local, undefined, undefined) };
    }));
  }

  /** The result of a locked section once the write it issued (if any) landed; the key's lock is already free. */
  async #landed<T>(section: Promise<Issued<T>>): Promise<T> {
    const { result, persisted } = await section;
    if (persisted !== undefined) await persisted;
    return result;
  }

  /**
   * Report a change of one key to the observer, then issue its storage write
   * (`record` undefined removes the key) and make `after` the key's pending
   * write (called with the key locked). The promise settles with the write,
   * after telling the observer how it went and, on failure, running
   * `onFailure`, both before the key's pending write may be dropped: once it
   * is, the next writer reads storage again, so whatever must precede that
   * (retiring an actor whose version did not land) has happened.
   */
  #write(
    lk: string,
    partition: number,
    key: Uint8Array,
    before: HeldObject | undefined,
    after: StoredObject | undefined,
    record: Uint8Array | undefined,
    onFailure?: () => void,
  ): Promise<void> {
    const settled = this.#observer?.changing(partition, key, before, after);
    const hash = this.#valueHash;
    let write: Promise<void>;
    try {
      write = this.#storage.write([
        after === undefined || hash === undefined ? { partition, key, record } : { partition, key, record, summary: () => encodeSummary(after, hash) },
      ]);
    } catch (e) {
      write = Promise.reject(e);
    }
    const pending: PendingWrite = { object: after, landed: Promise.resolve() };
    this.#pending.set(lk, pending);
    const persisted = write.then(
      () => {
        settled?.(true);
        this.#settle(lk, pending);
      },
      (e: unknown) => {
        settled?.(false);
        onFailure?.();
        this.#settle(lk, pending);
        throw e;
      },
    );
    // The caller awaits it once the key's lock is released; until then a failure must not count as unhandled.
    persisted.catch(() => undefined);
    pending.landed = persisted;
    return persisted;
  }

  /** A write settled: if it is still the key's last issued one, the key holds no pending write. */
  #settle(lk: string, pending: PendingWrite): void {
    if (this.#pending.get(lk) === pending) this.#pending.delete(lk);
  }

  /**
   * A client write coordinated here: `value` (undefined writes a tombstone)
   * supersedes what `context` saw and gets a new dot of this node's actor.
   *
   * If the local copy cannot vouch for every counter of `context`:
   * `unverified: 'report'` resolves undefined and writes nothing (the
   * coordinator catches up from the other replicas and calls again);
   * `'clamp'` caps the context at what the local copy holds. A context ahead
   * for this life's own actor is refused with InvalidArgumentError, writing
   * nothing: that actor's dots are all in the local copy (a failed local
   * write retires it first), so the excess was never issued and the context
   * was not read from this store. Clamping it instead would let it cover a
   * version this node minted meanwhile, which its client never saw (swarm
   * seed 3325: an acknowledged THREE write superseded by a forged context).
   *
   * Refused with LimitExceededError, writing nothing, when the object would
   * exceed the sibling or size limits. `onComputed` gets the new object and
   * record before they are persisted (the coordinator fans them out
   * meanwhile); the call resolves once the local write is stored. The key is
   * locked only until that write is issued (later writers build on it as the
   * key's pending write), and a failed local write retires the actor before
   * the pending write is dropped, so no writer reads the older stored copy
   * and mints the failed version's number again. An `abandoned` write rejects
   * with TimeoutError, minting nothing.
   */
  async update(
    partition: number,
    key: Uint8Array,
    value: Uint8Array | undefined,
    context: VersionVector,
    nowMs: number,
    opts: UpdateOptions,
  ): Promise<ReplicaWrite | undefined> {
    const { onComputed } = opts;
    const stored: StoredValue =
      value === undefined ? { data: EMPTY, tombstone: true, writtenAtMs: nowMs } : { data: value, tombstone: false, writtenAtMs: nowMs };
    const lk = lockKey(partition, key);
    const issued = await this.#lock.run(lk, async () => {
      let held: HeldObject | undefined = await this.#heldForWrite(lk, partition, key);
      let minted = this.#mint(partition, held, context, stored, opts);
      if (minted === NEEDS_VALUES) {
        this.#stats.summaryFallbacks++;
        // The new version keeps a sibling the summary knows only by its fingerprint.
        held = await this.#readForWrite(lk, partition, key);
        minted = this.#mint(partition, held, context, stored, opts);
        assert(minted !== NEEDS_VALUES, 'update: a whole object needs no more values');
      }
      if (minted === undefined) return undefined;
      const { object, actor, vouched } = minted;
      const local = held ?? Dvv.fresh<StoredValue>();
      if (minted.clamped) this.#stats.contextClamps++;
      let record: Uint8Array;
      try {
        record = encodeWithinLimits(local, object);
      } catch (e) {
        if (e instanceof LimitExceededError && Dvv.size(object) > LIMITS.siblingsMax) this.#stats.siblingCapRefusals++;
        throw e;
      }
      const siblings = Dvv.size(object);
      if (siblings >= LIMITS.siblingsWarn) this.#logger.warn('key has many siblings', { siblings, partition });
      const written = { object, record, seen: seenByWriter(object, vouched, actor) };
      const persisted = this.#write(lk, partition, key, held, object, record, () => {
        this.#stats.localWriteFailures++;
        this.#actors.retire(actor, 'local write of a new version failed');
      });
      let fanOutFailure: unknown;
      try {
        onComputed?.(written);
      } catch (e) {
        // Whatever was sent before the throw may be stored elsewhere: settle the local write first.
        fanOutFailure = e;
      }
      return { written, persisted, fanOutFailure };
    });
    if (issued === undefined) return undefined;
    await issued.persisted;
    if (issued.fanOutFailure !== undefined) throw issued.fanOutFailure;
    return issued.written;
  }

  /**
   * The new version of an update given what the key holds (`held`; see
   * update): undefined when an unverified context is to be reported,
   * NEEDS_VALUES when the version would keep a value `held` knows only by its
   * fingerprint. Throws as update does.
   */
  #mint(partition: number, held: HeldObject | undefined, context: VersionVector, stored: StoredValue, opts: UpdateOptions): Minted | typeof NEEDS_VALUES | undefined {
    const local = held ?? Dvv.fresh<StoredValue>();
    if (opts.abandoned?.() === true) throw new TimeoutError('the write was given up before a version was minted for it');
    let actor = this.#actors.current();
    let vouched = context;
    let clamped = false;
    const clock = Dvv.join(local);
    const known = opts.vouchable === undefined ? clock : Dvv.clampVector(clock, opts.vouchable);
    const ahead = unverifiedActors(context, known);
    if (ahead.length > 0) {
      if (ahead.includes(actor)) {
        const claimed = context.find((e) => e.actor === actor)!.counter;
        const issued = known.find((e) => e.actor === actor)?.counter ?? 0;
        throw new InvalidArgumentError(
          `the context claims version ${claimed} of ${actor}, which has issued only ${issued} for this key: it was not read from this store; read the key again and write with that context`,
        );
      }
      if (opts.unverified === 'report') {
        opts.onUnverified?.(known);
        return undefined;
      }
      this.#logger.trace('context claims versions this replica cannot vouch for; clamped', { partition, actors: ahead });
      clamped = true;
      vouched = Dvv.clampVector(context, known);
    }
    if ((known.find((e) => e.actor === actor)?.counter ?? 0) >= Number.MAX_SAFE_INTEGER) {
      this.#actors.retire(actor, 'version counter exhausted');
      actor = this.#actors.current();
    }
    const object = Dvv.update<StoredValue | ValueFingerprint>(local, vouched, actor, stored);
    if (!isWhole(object)) return NEEDS_VALUES;
    return { object, actor, vouched, clamped };
  }

  /**
   * The local object for a read-modify-write (key locked) as far as its
   * summary tells (see readSummary): the key's pending write if it has one,
   * else storage's summary or record; a corrupt record is set aside and
   * treated as missing.
   */
  async #heldForWrite(lk: string, partition: number, key: Uint8Array): Promise<HeldObject | undefined> {
    const pending = this.#pending.get(lk);
    if (pending !== undefined) return pending.object;
    const held = await this.#orSetAside(partition, key, this.readSummary(partition, key));
    // A summary holds every value as a fingerprint; a record read whole holds none.
    if (held !== undefined && !isWhole(held)) this.#stats.summaryReads++;
    return held;
  }

  /**
   * The local object for a read-modify-write (key locked): the key's pending
   * write if it has one, else what storage holds; a corrupt record is set
   * aside and treated as missing.
   */
  #readForWrite(lk: string, partition: number, key: Uint8Array): Promise<StoredObject | undefined> {
    return this.#orSetAside(partition, key, this.#current(lk, partition, key));
  }

  /** What `read` found, or undefined once a record that does not decode was set aside. */
  async #orSetAside<T>(partition: number, key: Uint8Array, read: Promise<T | undefined>): Promise<T | undefined> {
    try {
      return await read;
    } catch (e) {
      if (!(e instanceof StorageCorruptionError)) throw e;
      await this.#setAside(partition, key, e);
      return undefined;
    }
  }

  /**
   * What the key holds once every issued write lands (key locked): its
   * pending write if it has one, else storage's copy. Rejects with
   * StorageCorruptionError on a stored record that does not decode.
   */
  #current(lk: string, partition: number, key: Uint8Array): Promise<StoredObject | undefined> {
    const pending = this.#pending.get(lk);
    return pending !== undefined ? Promise.resolve(pending.object) : this.read(partition, key);
  }

  async #setAside(partition: number, key: Uint8Array, e: StorageCorruptionError): Promise<void> {
    this.#stats.setAside++;
    // Whatever this copy held is now unknown here, dots of the current actor included.
    this.#actors.retire(this.#actors.current(), 'a stored record was set aside');
    this.#logger.error('stored record does not decode; set aside, the key will be rebuilt from other replicas', {
      partition,
      error: e.message,
    });
    try {
      await this.#storage.setAside(partition, key);
    } finally {
      this.#observer?.setAside(partition, key);
    }
  }
}
