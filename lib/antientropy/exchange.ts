/**
 * One Merkle exchange of one partition between this replica and a peer, as a
 * pure state machine (Dynamo §4.7; Riak AAE `hashtree:compare/4` and TicTac
 * AAE's `aae_exchange`). It issues calls to two TreePorts — `local` (this
 * replica) and `remote` (the peer) — and is fed their replies; it owns no
 * timers and does no I/O, so the same code runs over an in-memory port, in
 * the simulator and over gRPC (run-exchange.ts is the thin async driver).
 *
 *   round 1   root            both sides; equal roots: done (14 bytes moved)
 *   round 2…  segments        level by level, only the children of differing
 *                             nodes (fanOut hashes per differing parent)
 *   round d+2 keys-in         (key, digest) lists of the differing segments
 *                             (at most segmentsPerExchangeMax of them)
 *   round d+3 fetch           the peer's records of keys to pull, this
 *                             replica's records of keys to push
 *   round d+4 push            each side merges the other's records
 *
 * A key differs when the two digests differ; it is pulled when the peer
 * holds it and pushed when this replica does (both, when both hold different
 * versions: each side then merges the other's, and both end with the DVV
 * sync of the two — siblings preserved, never last-write-wins). A round
 * waits for all of its calls (a barrier), so replies are consumed in the order
 * the calls were issued whatever order they arrive in: the run is
 * deterministic under simulation.
 *
 * Bytes grow with the differing keys, not the partition: a differing key
 * costs at most depth × fanOut hashes on the way down, the (key, digest)
 * entries of its segment, and its record each way it moves (wire-size.ts).
 * Limits keep every exchange bounded (ExchangeLimits); when one cuts an
 * exchange short the result says `complete: false` and the next exchange of
 * the partition carries on (repaired segments no longer differ).
 *
 * Why a state machine rather than an async function over the ports: the
 * deadline arrives as an input ('deadline') from whoever owns time, late
 * replies after the end are ignored by construction, every decision is
 * testable without promises, and the node, the simulator and a gRPC peer
 * share it unchanged (STYLE.md principle 1; etcd raft Step/Ready).
 */
import { assert } from '../runtime/index.ts';
import type { StoredRecord } from '../storage/index.ts';
import { keyId } from './key-id.ts';
import {
  childIndices,
  differingIndices,
  sameShape,
  segmentCount,
  segmentOfKey,
  validateTreeShape,
  type TreeShape,
} from './tictac-tree.ts';
import type { TreeCall, TreeReply, TreeRoot } from './tree-port.ts';
import { ABSENT_DIGEST, compareBytes, type KeyDigest, type VersionDigest } from './version-digest.ts';
import { recordBytes, replyBytes, requestBytes } from './wire-size.ts';

/** Bounds of one exchange (AntiEntropyConfig carries the defaults). */
export interface ExchangeLimits {
  /** Differing segments listed per exchange; the rest wait for the next one. */
  readonly segmentsPerExchangeMax: number;
  /** Differing keys repaired per exchange; the rest wait for the next one. */
  readonly keysPerExchangeMax: number;
  /** Keys per fetch call. */
  readonly keysPerCallMax: number;
  /** Record payload per push call (a larger single record still goes alone). */
  readonly callBytesMax: number;
}

/** A key whose digests differ between the two sides (ABSENT_DIGEST: not held). */
export interface KeyDiff {
  readonly key: Uint8Array;
  readonly local: VersionDigest;
  readonly remote: VersionDigest;
}

export interface ExchangeOptions {
  readonly partition: number;
  readonly limits: ExchangeLimits;
  /**
   * When more segments differ than segmentsPerExchangeMax, take them from the
   * first at or after this one, wrapping (the driver rotates it so a segment
   * that never converges cannot starve the others). Default 0.
   */
  readonly startSegment?: number;
  /**
   * Consulted for each differing key; false leaves the key alone this time
   * (tombstone GC: do not hand a purged tombstone back; see tombstone-gc.ts).
   * Must be pure. Default: repair every differing key.
   */
  readonly repairFilter?: (diff: KeyDiff) => boolean;
}

export type Side = 'local' | 'remote';

/** A call the driver must perform on one side's port and answer with its id. */
export interface OutboundCall {
  readonly id: number;
  readonly side: Side;
  readonly call: TreeCall;
}

export type ExchangeInput =
  | { readonly type: 'reply'; readonly id: number; readonly reply: TreeReply }
  /** The call failed (the port rejected); `error` says why, for the result. */
  | { readonly type: 'failed'; readonly id: number; readonly error: string }
  /** The driver's deadline for this exchange passed. */
  | { readonly type: 'deadline' };

export type AbortReason = 'deadline' | 'local-failed' | 'remote-failed' | 'shape-mismatch' | 'bad-reply';

export interface ExchangeResult {
  readonly partition: number;
  /**
   * 'in-sync': no segment differed. 'repaired': differing segments were
   * examined and the planned repairs applied (counts below; 0 when only the
   * hashes differed). 'aborted': stopped early (abortReason); repairs already
   * pushed stay — they are merges.
   */
  readonly status: 'in-sync' | 'repaired' | 'aborted';
  readonly abortReason?: AbortReason;
  readonly error?: string;
  /** Every difference found was repaired (no limit cut the exchange short, no abort, nothing skipped). */
  readonly complete: boolean;
  /**
   * Every segment whose hashes differed, ascending, once the descent
   * finished (undefined if it did not). All other segments were seen equal
   * at some moment during the exchange (tombstone GC relies on this).
   */
  readonly differingSegments: readonly number[] | undefined;
  /** The differing segments whose keys were listed (ascending). */
  readonly examinedSegments: readonly number[];
  /** Keys of the examined segments with different digests, ascending by key. */
  readonly diffs: readonly KeyDiff[];
  /** Keys of the examined segments both sides hold with the same digest. */
  readonly agreed: readonly KeyDigest[];
  /** Examined segments whose listings agreed although their hashes did not (tree drift or writes in between). */
  readonly phantomSegments: readonly number[];
  /** Differing keys the repair filter left alone. */
  readonly skipped: number;
  /** Records fetched from the peer and handed to this replica to merge. */
  readonly pulled: number;
  /** Records of this replica handed to the peer to merge. */
  readonly pushed: number;
  /** Payload bytes sent to the peer (wire-size.ts). */
  readonly bytesToRemote: number;
  /** Payload bytes received from the peer. */
  readonly bytesFromRemote: number;
  /** Rounds that involved the peer (sequential request/reply exchanges). */
  readonly roundTrips: number;
  readonly remoteCalls: number;
}

/** What the driver must do next: perform `calls`, or stop with `done`. */
export interface ExchangeStep {
  readonly calls: readonly OutboundCall[];
  readonly done: ExchangeResult | undefined;
}

type Phase = 'idle' | 'roots' | 'level' | 'keys' | 'fetch' | 'push' | 'done';

interface Answer {
  readonly call: OutboundCall;
  readonly reply: TreeReply;
}

/** Thrown inside #advance for a reply that breaks the port contract; becomes an abort. */
class BadReply extends Error {}

/** One exchange of one partition; see the module header. */
export class ExchangeSession {
  readonly partition: number;
  readonly #limits: ExchangeLimits;
  readonly #startSegment: number;
  readonly #repairFilter: ((diff: KeyDiff) => boolean) | undefined;
  #phase: Phase = 'idle';
  #nextId = 1;
  readonly #pending = new Map<number, OutboundCall>();
  #answers: Answer[] = [];
  #result: ExchangeResult | undefined;

  #shape: TreeShape | undefined;
  #level = 0;
  #indices: number[] = [];
  #differing: number[] | undefined;
  #examined: number[] = [];
  #diffs: KeyDiff[] = [];
  #agreed: KeyDigest[] = [];
  #phantoms: number[] = [];
  #skipped = 0;
  #complete = true;
  #pullKeys = new Set<string>();
  #pushKeys = new Set<string>();
  #pulled = 0;
  #pushed = 0;

  #bytesToRemote = 0;
  #bytesFromRemote = 0;
  #roundTrips = 0;
  #remoteCalls = 0;

  constructor(options: ExchangeOptions) {
    const { limits } = options;
    for (const field of ['segmentsPerExchangeMax', 'keysPerExchangeMax', 'keysPerCallMax', 'callBytesMax'] as const) {
      assert(Number.isSafeInteger(limits[field]) && limits[field] > 0, `ExchangeSession: ${field} must be a positive integer`);
    }
    assert(Number.isInteger(options.partition) && options.partition >= 0, 'ExchangeSession: bad partition');
    this.partition = options.partition;
    this.#limits = limits;
    this.#startSegment = options.startSegment ?? 0;
    this.#repairFilter = options.repairFilter;
  }

  /** Payload bytes moved to and from the peer so far. */
  get bytesMoved(): number {
    return this.#bytesToRemote + this.#bytesFromRemote;
  }

  /** The result, once the exchange ended. */
  get result(): ExchangeResult | undefined {
    return this.#result;
  }

  /** The first calls: both roots. */
  start(): ExchangeStep {
    assert(this.#phase === 'idle', 'ExchangeSession.start: already started');
    return this.#issue('roots', [
      ['local', { op: 'root' }],
      ['remote', { op: 'root' }],
    ]);
  }

  /**
   * Feed one reply, failure or the deadline. Returns the next calls once
   * every call of the current round is answered (none before), or the
   * result. Inputs after the end are ignored (late replies of an aborted
   * exchange), and the result is returned again.
   */
  step(input: ExchangeInput): ExchangeStep {
    if (this.#result !== undefined) return { calls: [], done: this.#result };
    if (input.type === 'deadline') return this.#abort('deadline', 'the exchange deadline passed');
    const call = this.#pending.get(input.id);
    assert(call !== undefined, `ExchangeSession.step: no call ${input.id} is pending`);
    this.#pending.delete(input.id);
    if (input.type === 'failed') return this.#abort(call.side === 'local' ? 'local-failed' : 'remote-failed', input.error);
    if (input.reply.op !== call.call.op) {
      return this.#abort('bad-reply', `${call.side} answered a ${call.call.op} call with ${input.reply.op}`);
    }
    if (call.side === 'remote') this.#bytesFromRemote += replyBytes(input.reply);
    this.#answers.push({ call, reply: input.reply });
    if (this.#pending.size > 0) return { calls: [], done: undefined };
    const answers = this.#answers;
    this.#answers = [];
    try {
      return this.#advance(answers);
    } catch (e) {
      if (e instanceof BadReply) return this.#abort('bad-reply', e.message);
      throw e;
    }
  }

  #advance(answers: readonly Answer[]): ExchangeStep {
    switch (this.#phase) {
      case 'roots':
        return this.#afterRoots(reply(answers, 'local', 'root').root, reply(answers, 'remote', 'root').root);
      case 'level':
        return this.#afterLevel(reply(answers, 'local', 'segments').hashes, reply(answers, 'remote', 'segments').hashes);
      case 'keys':
        return this.#afterKeys(reply(answers, 'local', 'keys-in').entries, reply(answers, 'remote', 'keys-in').entries);
      case 'fetch':
        return this.#afterFetch(answers);
      case 'push':
        return this.#finish('repaired');
      case 'idle':
      case 'done':
        throw new Error(`ExchangeSession: no round is open in phase ${this.#phase}`);
    }
  }

  #afterRoots(local: TreeRoot, remote: TreeRoot): ExchangeStep {
    try {
      validateTreeShape(remote.shape);
    } catch (e) {
      throw new BadReply(`remote tree shape: ${(e as Error).message}`);
    }
    if (!sameShape(local.shape, remote.shape)) {
      return this.#abort(
        'shape-mismatch',
        `local tree is ${local.shape.fanOut}^${local.shape.depth}, remote ${remote.shape.fanOut}^${remote.shape.depth}`,
      );
    }
    this.#shape = local.shape;
    if (local.hash === remote.hash) {
      this.#differing = [];
      return this.#finish('in-sync');
    }
    return this.#descend([0]);
  }

  /** Compare the children of `parents` (nodes of the current level) next. */
  #descend(parents: readonly number[]): ExchangeStep {
    this.#level++;
    this.#indices = childIndices(this.#shape!, parents);
    const call: TreeCall = { op: 'segments', level: this.#level, indices: this.#indices };
    return this.#issue('level', [
      ['local', call],
      ['remote', call],
    ]);
  }

  #afterLevel(local: readonly bigint[], remote: readonly bigint[]): ExchangeStep {
    if (remote.length !== this.#indices.length || remote.some((h) => typeof h !== 'bigint')) {
      throw new BadReply(`remote answered ${remote.length} hashes for ${this.#indices.length} nodes`);
    }
    if (local.length !== this.#indices.length) throw new BadReply(`local answered ${local.length} hashes for ${this.#indices.length} nodes`);
    const differing = differingIndices(this.#indices, local, remote);
    const shape = this.#shape!;
    if (this.#level < shape.depth && differing.length > 0) return this.#descend(differing);
    // Either the segments, or an inner level whose children all agree (the
    // trees changed between rounds): nothing under them differs.
    this.#differing = this.#level === shape.depth ? differing : [];
    if (this.#differing.length === 0) return this.#finish('in-sync');
    this.#examined = this.#pickSegments(this.#differing);
    if (this.#examined.length < this.#differing.length) this.#complete = false;
    const call: TreeCall = { op: 'keys-in', segments: this.#examined };
    return this.#issue('keys', [
      ['local', call],
      ['remote', call],
    ]);
  }

  /** Up to segmentsPerExchangeMax of the differing segments, from startSegment on, wrapping; ascending. */
  #pickSegments(differing: readonly number[]): number[] {
    const max = this.#limits.segmentsPerExchangeMax;
    if (differing.length <= max) return [...differing];
    const start = this.#startSegment % segmentCount(this.#shape!);
    let first = differing.findIndex((s) => s >= start);
    if (first < 0) first = 0;
    const picked: number[] = [];
    for (let i = 0; i < max; i++) picked.push(differing[(first + i) % differing.length]!);
    return picked.sort((a, b) => a - b);
  }

  #afterKeys(localEntries: readonly KeyDigest[], remoteEntries: readonly KeyDigest[]): ExchangeStep {
    const local = this.#listing('local', localEntries);
    const remote = this.#listing('remote', remoteEntries);
    const keys = new Map<string, Uint8Array>();
    for (const [id, e] of local) keys.set(id, e.key);
    for (const [id, e] of remote) if (!keys.has(id)) keys.set(id, e.key);
    const ordered = [...keys.entries()].sort((a, b) => compareBytes(a[1], b[1]));
    const shape = this.#shape!;
    const segmentsWithDiffs = new Set<number>();
    const toRepair: KeyDiff[] = [];
    for (const [id, key] of ordered) {
      const l = local.get(id)?.digest ?? ABSENT_DIGEST;
      const r = remote.get(id)?.digest ?? ABSENT_DIGEST;
      if (l === r) {
        this.#agreed.push({ key, digest: l });
        continue;
      }
      const diff: KeyDiff = { key, local: l, remote: r };
      this.#diffs.push(diff);
      segmentsWithDiffs.add(segmentOfKey(shape, key));
      if (this.#repairFilter !== undefined && !this.#repairFilter(diff)) {
        this.#skipped++;
        this.#complete = false;
      } else if (toRepair.length >= this.#limits.keysPerExchangeMax) {
        this.#complete = false;
      } else {
        toRepair.push(diff);
      }
    }
    this.#phantoms = this.#examined.filter((s) => !segmentsWithDiffs.has(s));
    const pull = toRepair.filter((d) => d.remote !== ABSENT_DIGEST).map((d) => d.key);
    const push = toRepair.filter((d) => d.local !== ABSENT_DIGEST).map((d) => d.key);
    this.#pullKeys = new Set(pull.map(keyId));
    this.#pushKeys = new Set(push.map(keyId));
    if (pull.length === 0 && push.length === 0) return this.#finish('repaired');
    const calls: Array<[Side, TreeCall]> = [];
    for (const keys of chunks(pull, this.#limits.keysPerCallMax)) calls.push(['remote', { op: 'fetch', keys }]);
    for (const keys of chunks(push, this.#limits.keysPerCallMax)) calls.push(['local', { op: 'fetch', keys }]);
    return this.#issue('fetch', calls);
  }

  /** A side's (key, digest) listing by key id, checked against the port contract. */
  #listing(side: Side, entries: readonly KeyDigest[]): Map<string, KeyDigest> {
    const examined = new Set(this.#examined);
    const out = new Map<string, KeyDigest>();
    for (const e of entries) {
      if (!(e.key instanceof Uint8Array) || typeof e.digest !== 'bigint' || e.digest <= ABSENT_DIGEST || e.digest >= 1n << 64n) {
        throw new BadReply(`${side} listed a key with an invalid digest`);
      }
      if (!examined.has(segmentOfKey(this.#shape!, e.key))) throw new BadReply(`${side} listed a key outside the segments asked`);
      const id = keyId(e.key);
      if (out.has(id)) throw new BadReply(`${side} listed a key twice`);
      out.set(id, e);
    }
    return out;
  }

  #afterFetch(answers: readonly Answer[]): ExchangeStep {
    const fromRemote = this.#fetched(answers, 'remote', this.#pullKeys);
    const fromLocal = this.#fetched(answers, 'local', this.#pushKeys);
    this.#pulled = fromRemote.length;
    this.#pushed = fromLocal.length;
    const calls: Array<[Side, TreeCall]> = [];
    for (const records of byteChunks(fromRemote, this.#limits.callBytesMax)) calls.push(['local', { op: 'push', records }]);
    for (const records of byteChunks(fromLocal, this.#limits.callBytesMax)) calls.push(['remote', { op: 'push', records }]);
    if (calls.length === 0) return this.#finish('repaired');
    return this.#issue('push', calls);
  }

  /** The records one side returned, each asked for and once (a key deleted meanwhile is just missing). */
  #fetched(answers: readonly Answer[], side: Side, asked: ReadonlySet<string>): StoredRecord[] {
    const seen = new Set<string>();
    const out: StoredRecord[] = [];
    for (const a of answers) {
      if (a.call.side !== side || a.reply.op !== 'fetch') continue;
      for (const r of a.reply.records) {
        if (!(r.key instanceof Uint8Array) || !(r.record instanceof Uint8Array)) throw new BadReply(`${side} returned a malformed record`);
        const id = keyId(r.key);
        if (!asked.has(id)) throw new BadReply(`${side} returned a record that was not asked for`);
        if (seen.has(id)) throw new BadReply(`${side} returned a record twice`);
        seen.add(id);
        out.push(r);
      }
    }
    return out;
  }

  #issue(phase: Phase, calls: ReadonlyArray<readonly [Side, TreeCall]>): ExchangeStep {
    this.#phase = phase;
    const out: OutboundCall[] = [];
    let remote = false;
    for (const [side, call] of calls) {
      const c: OutboundCall = { id: this.#nextId++, side, call };
      this.#pending.set(c.id, c);
      out.push(c);
      if (side === 'remote') {
        remote = true;
        this.#remoteCalls++;
        this.#bytesToRemote += requestBytes(call);
      }
    }
    if (remote) this.#roundTrips++;
    return { calls: out, done: undefined };
  }

  #abort(reason: AbortReason, error: string): ExchangeStep {
    this.#complete = false;
    return this.#finish('aborted', reason, error);
  }

  #finish(status: ExchangeResult['status'], abortReason?: AbortReason, error?: string): ExchangeStep {
    this.#phase = 'done';
    this.#pending.clear();
    const result: ExchangeResult = {
      partition: this.partition,
      status,
      ...(abortReason === undefined ? {} : { abortReason, error }),
      complete: this.#complete,
      differingSegments: this.#differing,
      examinedSegments: this.#examined,
      diffs: this.#diffs,
      agreed: this.#agreed,
      phantomSegments: this.#phantoms,
      skipped: this.#skipped,
      pulled: this.#pulled,
      pushed: this.#pushed,
      bytesToRemote: this.#bytesToRemote,
      bytesFromRemote: this.#bytesFromRemote,
      roundTrips: this.#roundTrips,
      remoteCalls: this.#remoteCalls,
    };
    this.#result = result;
    return { calls: [], done: result };
  }
}

/** The reply of `side` among a round's answers (each round asks each side once, except fetch/push). */
function reply<Op extends TreeReply['op']>(answers: readonly Answer[], side: Side, op: Op): Extract<TreeReply, { op: Op }> {
  const a = answers.find((x) => x.call.side === side);
  assert(a !== undefined && a.reply.op === op, `ExchangeSession: no ${op} answer from ${side}`);
  return a.reply as Extract<TreeReply, { op: Op }>;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Consecutive groups of at most `bytesMax` payload bytes each (a larger record goes alone). */
function byteChunks(records: readonly StoredRecord[], bytesMax: number): StoredRecord[][] {
  const out: StoredRecord[][] = [];
  let current: StoredRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (current.length > 0 && bytes + size > bytesMax) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
