/**
 * The request coordinator (Dynamo §4.5, Riak's get/put FSMs): serves client
 * get/put/delete by fanning out to the key's preference list and waiting for
 * the consistency level's quorum, forwards writes it may not coordinate, runs
 * read repair in the background, and serves replicas' peer requests.
 */
import {
  assert,
  ClosedError,
  StorageCorruptionError,
  TimeoutError,
  UnavailableError,
  DynamoError,
  type Logger,
  type Random,
  type Result,
  type Runtime,
  type Time,
  type TimerHandle,
} from '../runtime/index.ts';
import type {
  Consistency,
  CoordinateRequest,
  DeleteCommand,
  GetCommand,
  GetResult,
  KvHandler,
  PeerReply,
  PeerRequest,
  PutCommand,
  PutResult,
  ReadRequest,
  WriteReply,
  WriteRequest,
} from '../protocol/index.ts';
import { Dvv, actorFor, DEFAULT_CONTEXT_CODEC, type Actor, type ContextCodec, type VersionVector } from '../vclock/index.ts';
import { partitionOf } from '../ring/index.ts';
import { decodeRecord, encodeRecord, type HeldObject, type Storage, type StoredObject, type StoredValue } from '../storage/index.ts';
import { ActorEpochs } from './actor-epochs.ts';
import { requiredReplies } from './quorum.ts';
import { LocalReplica, encodeWithinLimits, seenByWriter, unverifiedActors, type ReplicaObserver, type ReplicaStats, type ReplicaWrite } from './replica.ts';
import { Fallbacks, SloppySlots } from './fallbacks.ts';
import { DigestReads, type DigestVerdict } from './digest-reads.ts';
import { Round, SLOT_OK, SLOT_PENDING, type RoundOptions } from './round.ts';
import type { ClusterView, HintPort, PeerClient, ReplicationConfig } from './types.ts';
import { liveOrder, refuseStaleRouting } from './placement.ts';
import { checkKey, checkWrite } from './validate.ts';

/** Operation counters, reported by the Admin status. */
export interface ReplicationStats extends Readonly<ReplicaStats> {
  readonly gets: number;
  readonly puts: number;
  readonly deletes: number;
  /** Replicas brought up to date by read repair (each successful repair write counts once). */
  readonly readRepairs: number;
  /** Writes whose context was ahead of this replica's copy, which first caught up from the other replicas. */
  readonly contextCatchUps: number;
  /** Writes refused for their context: damaged, read for another key, or not signed by this cluster. */
  readonly contextsRefused: number;
  /** Replicas whose digest differed from this node's copy in a digest read, so their copy was read whole. */
  readonly digestMismatches: number;
  /** Minting actors retired this life (see actor-epochs.ts). */
  readonly actorsRetired: number;
  /** Copies of writes sent to (or kept by) a fallback as a hint for a primary that was down or failed. */
  readonly hintedWrites: number;
  /** Writes this node minted as a fallback because none of the key's replicas could (sloppy quorum, e.g. ANY). */
  readonly fallbackCoordinated: number;
}

/** What a Coordinator is built from. */
export interface CoordinatorDeps {
  runtime: Runtime;
  config: ReplicationConfig;
  storage: Storage;
  /** lib/transport's Transport (or the simulator's); only `request` is used. */
  transport: PeerClient;
  /** This node's id; its minting actor is `${nodeId}.${epoch}` with a fresh epoch per life (actor-epochs.ts). */
  nodeId: string;
  /** Names epochs instead of drawing them from runtime.random (tests that want readable actors). */
  mintEpoch?: () => string;
  /** The current cluster view; undefined while the node is joining (requests fail UNAVAILABLE). */
  cluster: () => ClusterView | undefined;
  /** This node's hint store (hinted handoff); absent when hinted handoff is off here: every request is then strict. */
  hints?: HintPort;
  /** Told of every change of the local replica's stored objects (anti-entropy's trees). */
  observer?: ReplicaObserver;
  /**
   * The version digest of a stored object (lib/antientropy's versionDigest; 0
   * for the empty object). With it this node answers digest reads, and asks
   * for them when config.digestReads is on; without it, it answers them with
   * the whole copy, as a node predating them does.
   */
  versionDigest?: (obj: HeldObject) => bigint;
  /**
   * Anti-entropy's VALUE_HASH (lib/antientropy valueHash): with it the local
   * replica writes record summaries and reads them where storage keeps them
   * (replica.ts), so a write or a digest read of a large value need not read it.
   */
  valueHash?: (data: Uint8Array) => number;
  /**
   * Signs the contexts this node hands out and checks those clients bring
   * back; every node of a cluster needs the same secrets. Default: the codec
   * under the public default secret (lib/vclock context-codec.ts).
   */
  contexts?: ContextCodec;
}

const EMPTY = new Uint8Array(0);

/**
 * A read's round plus what read repair needs once every asked replica
 * answered. A read asks only as many replicas as it needs (this node first,
 * then preference order), like Cassandra and unlike Riak's ask-all: each
 * extra replica costs a storage read and two peer messages for an answer the
 * client does not wait for. A replica that fails is replaced at once by the
 * next one; at half the deadline every replica not yet asked is asked, so one
 * hung replica cannot time a read out while another could answer.
 */
class ReadRound extends Round<StoredObject> {
  /** Slots in the order they are asked; `asked` of them have been. */
  readonly order: number[];
  asked = 0;
  escalation: TimerHandle | undefined;
  /** Slots whose copy did not decode: they fail toward the quorum but are repaired like stale ones. */
  readonly corrupt: Set<number>;
  /** Slots answered by a fallback from its hints (sloppy quorum), by stand-in: never read-repaired. */
  readonly standIns = new Map<number, string>();
  /** Digest reads, when this node's own copy is among those read (see digest-reads.ts). */
  digests: DigestReads<StoredObject> | undefined;
  constructor(
    opts: RoundOptions,
    readonly key: Uint8Array,
    readonly partition: number,
    readonly view: ClusterView,
    readonly fallbacks: Fallbacks | undefined,
  ) {
    super(opts);
    this.corrupt = new Set();
    this.order = liveOrder(opts.nodes, view);
  }
}

/** Sync of every object the successful replies carried; undefined if none had one. */
function mergeReplies(round: Round<StoredObject>): StoredObject | undefined {
  let merged: StoredObject | undefined;
  for (let i = 0; i < round.nodes.length; i++) {
    const obj = round.values[i];
    if (round.states[i] !== SLOT_OK || obj === undefined) continue;
    merged = merged === undefined ? obj : Dvv.sync(merged, obj);
  }
  return merged;
}

/**
 * A forwarded write may be retried on the next replica only if nothing was
 * written: the peer was unreachable, joining, overloaded or shutting down.
 * A peer that coordinated and fell short of W already stored a new version;
 * retrying would store a duplicate sibling, so its error goes to the client.
 */
function mayFallOver(e: DynamoError): boolean {
  if (e.maybeApplied) return false;
  return e.code === 'DYNAMO_CLOSED' || (e.code === 'DYNAMO_UNAVAILABLE' && (e as UnavailableError).answered === 0);
}

/** A peer request stamped with the ring version it was routed by (none for an unversioned ring). */
function withRing(req: CoordinateRequest, view: ClusterView): CoordinateRequest {
  return view.ringVersion === 0 ? req : { ...req, ringVersion: view.ringVersion };
}

/**
 * The read and write requests of the hot path, stamped like withRing but
 * built as literals: an object spread of requests of several shapes costs a
 * slow generic copy on every replica message.
 */
function readRequest(key: Uint8Array, view: ClusterView): ReadRequest {
  return view.ringVersion === 0 ? { type: 'read', key } : { type: 'read', key, ringVersion: view.ringVersion };
}

function writeRequest(key: Uint8Array, record: Uint8Array, view: ClusterView): WriteRequest {
  return view.ringVersion === 0 ? { type: 'write', key, record } : { type: 'write', key, record, ringVersion: view.ringVersion };
}

/**
 * Fail at once, not at the deadline, when fewer of `nodes` are believed up
 * than the level needs: nothing was sent, so nothing was applied. With a
 * sloppy quorum the up nodes that can stand in for the down ones count too.
 */
function failFastIfTooFewUp(
  nodes: readonly string[],
  view: ClusterView,
  required: number,
  level: Consistency,
  op: 'read' | 'write',
  fallbacks: Fallbacks | undefined,
): void {
  let up = 0;
  for (const n of nodes) if (n === view.self || view.isUp(n)) up++;
  if (up >= required) return;
  const standIns = fallbacks?.available(nodes.length - up) ?? 0;
  if (up + standIns >= required) return;
  const more = standIns === 0 ? '' : ` (and ${standIns} other node${standIns === 1 ? '' : 's'} up to stand in)`;
  throw new UnavailableError(`${level} ${op} failed: ${up} of ${nodes.length} replicas are up${more}, ${required} needed`, { answered: 0, required });
}

/** A fresh actor for one version minted by a node that is not a replica of the key (see #coordinateAsFallback). */
function fallbackActor(nodeId: string, random: { bytes(n: number): Uint8Array }): Actor {
  let epoch = 'f';
  for (const b of random.bytes(8)) epoch += b.toString(16).padStart(2, '0');
  return actorFor(nodeId, epoch);
}

/** Coordinates client requests and serves peer requests for this node. */
export class Coordinator implements KvHandler {
  readonly #time: Time;
  readonly #log: Logger;
  readonly #config: ReplicationConfig;
  readonly #transport: PeerClient;
  readonly #cluster: () => ClusterView | undefined;
  readonly #replica: LocalReplica;
  readonly #hints: HintPort | undefined;
  readonly #nodeId: string;
  readonly #random: Random;
  readonly #stats = { gets: 0, puts: 0, deletes: 0, readRepairs: 0, digestMismatches: 0, contextCatchUps: 0, contextsRefused: 0, hintedWrites: 0, fallbackCoordinated: 0 };
  /** Requests, replica calls and repairs not yet finished; close() waits for zero. */
  #inflight = 0;
  /** Peer requests served since start (reads, writes, hints, forwards; not anti-entropy's own merges). */
  #peerRequests = 0;
  #closed = false;
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  readonly #versionDigest: ((obj: HeldObject) => bigint) | undefined;
  readonly #contexts: ContextCodec;

  constructor(deps: CoordinatorDeps) {
    assert(Number.isInteger(deps.config.replicas) && deps.config.replicas >= 1, 'replicas must be a positive integer');
    this.#time = deps.runtime.time;
    this.#log = deps.runtime.logger.child('replication');
    this.#config = deps.config;
    this.#transport = deps.transport;
    this.#cluster = deps.cluster;
    this.#hints = deps.hints;
    this.#nodeId = deps.nodeId;
    this.#random = deps.runtime.random;
    this.#versionDigest = deps.versionDigest;
    this.#contexts = deps.contexts ?? DEFAULT_CONTEXT_CODEC;
    const actors = new ActorEpochs(deps.nodeId, deps.runtime.random, this.#log, deps.mintEpoch);
    this.#replica = new LocalReplica({
      storage: deps.storage,
      actors,
      logger: this.#log,
      ...(deps.observer === undefined ? {} : { observer: deps.observer }),
      ...(deps.valueHash === undefined ? {} : { valueHash: deps.valueHash }),
    });
  }

  /**
   * Client and peer requests handled since start (a monotonic count):
   * anti-entropy paces its exchanges by it. Its own merges and purges are
   * not counted, so a large repair does not slow itself down.
   */
  get requestsHandled(): number {
    return this.#stats.gets + this.#stats.puts + this.#stats.deletes + this.#peerRequests;
  }

  /** The actor new versions are minted under now (changes when one is retired). */
  get actor(): Actor {
    return this.#replica.actor;
  }

  /** Read every live sibling of a key from R of its N replicas. */
  async get(cmd: GetCommand): Promise<GetResult> {
    this.#admit();
    this.#stats.gets++;
    try {
      return await this.#get(cmd);
    } finally {
      this.#leave();
    }
  }

  /** Write a value superseding what the context saw, acknowledged by W replicas. */
  async put(cmd: PutCommand): Promise<PutResult> {
    this.#admit();
    this.#stats.puts++;
    try {
      return await this.#write(cmd.key, cmd.value, cmd.context, cmd.consistency, cmd.timeoutMs, false, cmd.strict === true);
    } finally {
      this.#leave();
    }
  }

  /** Write a tombstone superseding what the context saw. */
  async delete(cmd: DeleteCommand): Promise<PutResult> {
    this.#admit();
    this.#stats.deletes++;
    try {
      return await this.#write(cmd.key, undefined, cmd.context, cmd.consistency, cmd.timeoutMs, false, cmd.strict === true);
    } finally {
      this.#leave();
    }
  }

  /**
   * Serves 'read' | 'write' | 'coordinate' peer requests (the node answers the
   * others). A request routed by an older ring than this node holds, for a
   * partition this node no longer reads or writes for, is refused (nothing is
   * applied) rather than answered from or stored on the wrong owner.
   */
  async handlePeer(req: PeerRequest, timeoutMs: number): Promise<PeerReply> {
    assert(req.type === 'read' || req.type === 'write' || req.type === 'coordinate', `${req.type} requests are answered by the node, not replication`);
    this.#admit();
    this.#peerRequests++;
    try {
      switch (req.type) {
        case 'read': {
          const view = this.#view(1);
          const partition = partitionOf(req.key, view.ring.partitionCount);
          if (req.hinted === true) {
            // Standing in for a primary that is down: answer from the hints held for the key.
            const held = await this.#hintPort().read(partition, req.key);
            return { type: 'read', record: held === undefined ? undefined : encodeRecord(held) };
          }
          refuseStaleRouting(view, partition, 'reads', req.ringVersion);
          if (req.digestOnly === true && this.#versionDigest !== undefined) {
            // The summary digests as the whole object: a large value is not read to be hashed.
            const obj = await this.#replica.readSummary(partition, req.key);
            return { type: 'read', record: undefined, digest: obj === undefined ? 0n : this.#versionDigest(obj) };
          }
          const record = await this.#replica.readRecord(partition, req.key);
          return { type: 'read', record };
        }
        case 'write': {
          const view = this.#view(1);
          const partition = partitionOf(req.key, view.ring.partitionCount);
          if (req.hintFor !== undefined && req.hintFor !== view.self) {
            await this.#hintPort().store(req.hintFor, partition, req.key, req.record);
            return { type: 'write' };
          }
          refuseStaleRouting(view, partition, 'writes', req.ringVersion);
          const incoming = decodeRecord(req.record);
          await this.#replica.merge(partition, req.key, incoming, req.record);
          return { type: 'write' };
        }
        case 'coordinate': {
          const view = this.#view(1);
          refuseStaleRouting(view, partitionOf(req.key, view.ring.partitionCount), 'writes', req.ringVersion);
          const result = await this.#write(req.key, req.value, req.context, req.consistency, timeoutMs, true, req.strict === true);
          return { type: 'coordinate', context: result.context };
        }
      }
    } finally {
      this.#leave();
    }
  }

  /**
   * Merge a record streamed in by a partition transfer into the local
   * replica (the same causal merge as replication: idempotent, siblings kept).
   */
  async mergeRecord(partition: number, key: Uint8Array, record: Uint8Array): Promise<void> {
    this.#admit();
    try {
      await this.#replica.merge(partition, key, decodeRecord(record), record);
    } finally {
      this.#leave();
    }
  }

  /** This node's hint store, or a refusal (nothing stored) when hinted handoff is off here. */
  #hintPort(): HintPort {
    if (this.#hints === undefined) throw new UnavailableError('hinted handoff is off on this node: it holds no hints for others', { answered: 0, required: 1 });
    return this.#hints;
  }

  /**
   * Anti-entropy's tombstone GC: remove the key's record if `decide` approves
   * what the local replica holds once the key is locked. Resolves true if removed.
   */
  async purgeRecord(partition: number, key: Uint8Array, decide: (object: StoredObject) => boolean): Promise<boolean> {
    this.#admit();
    try {
      return await this.#replica.purge(partition, key, decide);
    } finally {
      this.#leave();
    }
  }

  /** Counters since start. */
  stats(): ReplicationStats {
    return { ...this.#stats, ...this.#replica.stats() };
  }

  /** Refuse new requests and wait for in-flight ones, their stragglers and background read repair. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#closing =
        this.#inflight === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              this.#drained = resolve;
            });
    }
    return this.#closing;
  }

  // -------------------------------------------------------------------------

  async #get(cmd: GetCommand): Promise<GetResult> {
    const level = cmd.consistency ?? this.#config.defaultConsistency;
    const required = requiredReplies(level, this.#config.replicas, 'read');
    checkKey(cmd.key);
    const view = this.#view(required);
    const partition = partitionOf(cmd.key, view.ring.partitionCount);
    const nodes = view.replicas(partition).reads;
    const sloppy = cmd.strict !== true && this.#hints !== undefined;
    failFastIfTooFewUp(nodes, view, required, level, 'read', sloppy ? new Fallbacks(view, partition, nodes, true) : undefined);
    const fallbacks = sloppy ? new Fallbacks(view, partition, nodes, true) : undefined;
    const round = new ReadRound({ nodes, required, level, op: 'read', timeoutMs: cmd.timeoutMs, time: this.#time }, cmd.key, partition, view, fallbacks);
    try {
      if (round.decision === 'lost') throw round.error('lost');
      if (this.#config.readRepair) round.onSettled = () => this.#repair(round);
      const self = nodes.indexOf(view.self);
      if (this.#config.digestReads === true && this.#versionDigest !== undefined && self >= 0) round.digests = new DigestReads<StoredObject>(self, this.#versionDigest);
      const req: ReadRequest = readRequest(cmd.key, view);
      this.#askMore(round, required, req, cmd.timeoutMs);
      if (round.asked < nodes.length) {
        round.escalation = this.#time.setTimer(cmd.timeoutMs / 2, () => {
          round.escalation = undefined;
          if (round.decision === undefined) this.#askMore(round, nodes.length, req, cmd.timeoutMs);
        });
      }
      const decision = await round.decided;
      if (round.escalation !== undefined) this.#time.cancelTimer(round.escalation);
      // Replicas never asked do not hold back read repair among those that were.
      for (let k = round.asked; k < nodes.length; k++) round.skip(round.order[k]!);
      if (decision !== 'won') throw round.error(decision);
      const merged = mergeReplies(round);
      if (merged === undefined) return { values: [], context: EMPTY };
      const values: Uint8Array[] = [];
      for (const v of Dvv.values(merged)) if (!v.tombstone) values.push(v.data);
      return { values, context: this.#contexts.encode(Dvv.join(merged), cmd.key) };
    } finally {
      round.finish();
    }
  }

  /**
   * Ask replicas, in the round's order, until `count` have been asked. A
   * replica believed down is stood in for by a fallback answering from its
   * hints (sloppy quorum), or fails at once.
   */
  #askMore(round: ReadRound, count: number, req: ReadRequest, timeoutMs: number): void {
    while (round.asked < count && round.asked < round.order.length) {
      const i = round.order[round.asked++]!;
      const node = round.nodes[i]!;
      if (node === round.view.self) this.#readLocal(round, i, req, timeoutMs);
      else if (round.view.isUp(node)) this.#readRemote(round, i, node, req, timeoutMs, round.digests?.mayAsk(i) === true);
      else {
        const standIn = round.fallbacks?.next();
        if (standIn === undefined) this.#readFailed(round, i, `${node} is believed down`, req, timeoutMs);
        else {
          round.standIns.set(i, standIn);
          if (standIn === round.view.self) this.#readHintsHere(round, i, req, timeoutMs);
          else this.#readRemote(round, i, standIn, { ...req, hinted: true }, timeoutMs);
        }
      }
    }
  }

  #readHintsHere(round: ReadRound, i: number, req: ReadRequest, timeoutMs: number): void {
    this.#inflight++;
    this.#hintPort()
      .read(round.partition, round.key)
      .then(
        (obj) => round.succeed(i, obj),
        (e: unknown) => this.#readFailed(round, i, e, req, timeoutMs),
      )
      .finally(() => this.#leave());
  }

  /** A replica failed: ask the next one in its place (unless the read is already decided). */
  #readFailed(round: ReadRound, i: number, error: unknown, req: ReadRequest, timeoutMs: number): void {
    if (round.decision === undefined) this.#askMore(round, round.asked + 1, req, timeoutMs);
    round.fail(i, error);
  }

  #readLocal(round: ReadRound, i: number, req: ReadRequest, timeoutMs: number): void {
    this.#inflight++;
    this.#replica.read(round.partition, round.key).then(
      (obj) => {
        round.succeed(i, obj);
        if (round.digests?.dataSlot === i) {
          for (const [slot, verdict] of round.digests.wholeRead(obj)) this.#digestAnswered(round, slot, verdict, req, timeoutMs);
        }
        this.#leave();
      },
      (e: unknown) => {
        if (e instanceof StorageCorruptionError) round.corrupt.add(i);
        // First, so the replica asked in this one's place is asked for its copy, not a digest.
        const parked = round.digests?.dataSlot === i ? round.digests.wholeFailed() : [];
        this.#readFailed(round, i, e, req, timeoutMs);
        for (const slot of parked) this.#readRemote(round, slot, round.nodes[slot]!, req, timeoutMs);
        this.#leave();
      },
    );
  }

  /**
   * A digest read's verdict: a copy the same as this node's counts as that
   * copy; one that differs is read whole from the same replica (a fallback
   * standing in is never asked for a digest, so slot i is its own node).
   */
  #digestAnswered(round: ReadRound, i: number, verdict: DigestVerdict, req: ReadRequest, timeoutMs: number): void {
    if (verdict === 'same') round.succeed(i, round.digests!.object);
    else if (verdict === 'differs') {
      this.#stats.digestMismatches++;
      this.#readRemote(round, i, round.nodes[i]!, req, timeoutMs);
    }
  }

  /** Asks `target` for its copy of the key, or with `digest` only for its version digest. */
  #readRemote(round: ReadRound, i: number, target: string, req: ReadRequest, timeoutMs: number, digest = false): void {
    const address = round.view.addressOf(target);
    if (address === undefined) {
      this.#readFailed(round, i, 'address not known yet', req, timeoutMs);
      return;
    }
    this.#inflight++;
    this.#transport.request(address, digest ? { ...req, digestOnly: true } : req, timeoutMs).then(
      (res) => {
        if (!res.ok) {
          // The replica's stored bytes are damaged (a value-log record failing its checksum): read repair rewrites it.
          if (res.error instanceof StorageCorruptionError) round.corrupt.add(i);
          this.#readFailed(round, i, res.error, req, timeoutMs);
        } else if (digest && res.value.digest !== undefined) {
          this.#digestAnswered(round, i, round.digests!.digestReply(i, res.value.digest), req, timeoutMs);
        } else if (res.value.record === undefined) round.succeed(i, undefined);
        else {
          let obj: StoredObject | undefined;
          try {
            obj = decodeRecord(res.value.record);
          } catch (e) {
            round.corrupt.add(i);
            this.#readFailed(round, i, e, req, timeoutMs);
          }
          if (obj !== undefined) round.succeed(i, obj);
        }
        this.#leave();
      },
      (e: unknown) => {
        this.#readFailed(round, i, e, req, timeoutMs);
        this.#leave();
      },
    );
  }

  /**
   * Read repair (Dynamo §4.7): bring every replica that answered stale or
   * empty up to the merged object. A replica whose copy did not decode is
   * repaired too — with an empty object if nobody else had one — so it sets
   * the bad record aside and the key becomes readable there again.
   */
  #repair(round: ReadRound): void {
    let merged = mergeReplies(round);
    if (merged === undefined) {
      if (round.corrupt.size === 0) return;
      merged = Dvv.fresh();
    }
    const target = Dvv.join(merged);
    const full = target.length > 0;
    let record: Uint8Array | undefined;
    for (let i = 0; i < round.nodes.length; i++) {
      // A stand-in holds hints, not the replica's data: read repair never writes there.
      if (round.standIns.has(i)) continue;
      if (!round.corrupt.has(i)) {
        if (round.states[i] !== SLOT_OK) continue;
        const obj = round.values[i];
        if (obj === undefined ? !full : Dvv.descends(Dvv.join(obj), target)) continue;
      }
      const node = round.nodes[i]!;
      if (node !== round.view.self && !round.view.isUp(node)) continue;
      if (node === round.view.self) {
        this.#inflight++;
        this.#replica.merge(round.partition, round.key, merged, record).then(
          () => this.#repaired(round, node, undefined),
          (e: unknown) => this.#repaired(round, node, e),
        );
        continue;
      }
      const address = round.view.addressOf(node);
      if (address === undefined) continue;
      record ??= encodeRecord(merged);
      const req: WriteRequest = writeRequest(round.key, record, round.view);
      this.#inflight++;
      this.#transport.request(address, req, this.#config.requestTimeoutMsDefault).then(
        (res) => this.#repaired(round, node, res.ok ? undefined : res.error),
        (e: unknown) => this.#repaired(round, node, e),
      );
    }
  }

  #repaired(round: ReadRound, node: string, error: unknown): void {
    if (error === undefined) {
      this.#stats.readRepairs++;
      this.#log.trace('read repair', { node, partition: round.partition });
    } else {
      this.#log.trace('read repair failed', { node, partition: round.partition, error });
    }
    this.#leave();
  }

  /**
   * put/delete: coordinate here if this node is a replica, else forward to
   * one. With a sloppy quorum (the default; `strict` turns it off), replicas
   * believed down or failing are stood in for by fallbacks that keep the
   * version as a hint; when no replica can coordinate at all, this node
   * mints the version itself as a fallback (#coordinateAsFallback).
   */
  async #write(
    key: Uint8Array,
    value: Uint8Array | undefined,
    contextBytes: Uint8Array,
    consistency: Consistency | undefined,
    timeoutMs: number,
    forwarded: boolean,
    strict: boolean,
  ): Promise<PutResult> {
    const start = this.#time.monotonicMs();
    const level = consistency ?? this.#config.defaultConsistency;
    const required = requiredReplies(level, this.#config.replicas, 'write');
    checkKey(key);
    checkWrite(value, contextBytes);
    let context: VersionVector;
    try {
      context = this.#contexts.decode(contextBytes, key);
    } catch (e) {
      this.#stats.contextsRefused++;
      throw e;
    }
    const view = this.#view(required);
    const partition = partitionOf(key, view.ring.partitionCount);
    const replicas = view.replicas(partition);
    const nodes = replicas.writes;
    const sloppy = !strict && this.#hints !== undefined;
    const self = nodes.indexOf(view.self);
    // While a partition moves, the nodes receiving it must get every write as
    // well (Cassandra's pending endpoints): W is raised by their number, so a
    // write acknowledged now is on W of the replica set after the switch too.
    const needed = required + (nodes.length - replicas.reads.length);
    failFastIfTooFewUp(nodes, view, needed, level, 'write', sloppy ? new Fallbacks(view, partition, nodes, self < 0 && !forwarded) : undefined);
    const fallbacks = sloppy ? new Fallbacks(view, partition, nodes) : undefined;
    if (self >= 0) return this.#coordinateWrite(nodes, self, view, partition, key, value, context, level, needed, timeoutMs, fallbacks);
    // A forwarded write is never forwarded again: rings that disagree must not loop.
    if (forwarded) throw new UnavailableError(`${view.self} is not a replica of this key in its ring`, { answered: 0, required });
    const up = nodes.filter((n) => view.isUp(n));
    if (up.length > 0 || fallbacks === undefined) {
      const req: CoordinateRequest = { type: 'coordinate', key, value, context: contextBytes, consistency: level, ...(strict ? { strict } : {}) };
      try {
        return await this.#forward(up, view, withRing(req, view), required, timeoutMs);
      } catch (e) {
        // Only when no replica could coordinate and none applied anything may this node mint the version instead.
        if (fallbacks === undefined || !(e instanceof DynamoError) || !mayFallOver(e)) throw e;
      }
    }
    const leftMs = timeoutMs - (this.#time.monotonicMs() - start);
    if (leftMs <= 0) throw new TimeoutError(`${level} write timed out after ${timeoutMs} ms: no replica could coordinate`, { answered: 0, required });
    return this.#coordinateAsFallback(nodes, view, partition, key, value, context, level, needed, leftMs, fallbacks);
  }

  async #coordinateWrite(
    nodes: readonly string[],
    self: number,
    view: ClusterView,
    partition: number,
    key: Uint8Array,
    value: Uint8Array | undefined,
    context: VersionVector,
    level: Consistency,
    required: number,
    timeoutMs: number,
    fallbacks: Fallbacks | undefined,
  ): Promise<PutResult> {
    const start = this.#time.monotonicMs();
    const round = new Round({ nodes, required, level, op: 'write', timeoutMs, time: this.#time });
    try {
      if (round.decision === 'lost') throw round.error('lost');
      // The local update mints the new dot; its record is what every other
      // replica merges. It is sent as soon as it exists, while the local copy
      // is still being persisted: the write then costs one storage round, not
      // two in a row, and the local copy counts toward W only once stored.
      // Safe because a dot whose local write fails retires its actor before
      // the key is unlocked (actor-epochs.ts): it is never minted again.
      let computed: ReplicaWrite | undefined;
      const slots = new SloppySlots(round, nodes, fallbacks);
      // Replicas believed down are not waited for: a fallback stands in, or they count as failed at once.
      for (let i = 0; i < nodes.length; i++) if (i !== self && !view.isUp(nodes[i]!)) slots.standIn(i, `${nodes[i]} is believed down`);
      const fanOut = (w: ReplicaWrite): void => {
        computed = w;
        const req: WriteRequest = writeRequest(key, w.record, view);
        const remainingMs = Math.max(1, timeoutMs - (this.#time.monotonicMs() - start));
        for (let i = 0; i < nodes.length; i++) {
          if (i === self || round.states[i] !== SLOT_PENDING) continue;
          this.#sendWrite(slots, i, view, req, remainingMs);
        }
      };
      const nowMs = this.#time.nowMs();
      // Set when the client is told nothing was applied: a write still queued
      // behind the key's lock must then never be minted.
      let abandoned = false;
      const isAbandoned = (): boolean => abandoned;
      const writeLocally = async (): Promise<ReplicaWrite> => {
        let checkedAgainst: VersionVector = [];
        const first = await this.#replica.update(partition, key, value, context, nowMs, {
          unverified: 'report',
          onComputed: fanOut,
          abandoned: isAbandoned,
          onUnverified: (clock) => (checkedAgainst = clock),
        });
        if (first !== undefined) return first;
        // The context names versions this copy lacks: learn them from the other
        // replicas (repairing this one), then write. What no replica holds
        // although every replica answered was never issued (or is lost
        // everywhere) and is clamped; with replicas silent it cannot be told
        // apart from a version on them, so the write is refused, not weakened.
        // A version may also live only in hints (a sloppy write that only
        // fallbacks took), so before clamping, every other member is asked
        // for the hints it holds for the key: clamping one of those would let
        // it come back as a sibling of this write once its hint is delivered.
        this.#stats.contextCatchUps++;
        const leftMs = timeoutMs - (this.#time.monotonicMs() - start);
        // What this copy held when the context was checked, plus what the replicas hold when
        // asked, bounds what the context may claim (UpdateOptions.vouchable).
        const caughtUp = await this.#catchUp(nodes, self, view, partition, key, Math.max(1, Math.floor(leftMs / 2)));
        const answered = caughtUp.answered;
        let vouchable = Dvv.mergeVectors(checkedAgainst, caughtUp.seen);
        let everyone = false;
        if (answered === nodes.length - 1) {
          const hints = await this.#catchUpHints(nodes, view, partition, key, Math.max(1, Math.floor(leftMs / 2)));
          everyone = hints.everyone;
          vouchable = Dvv.mergeVectors(vouchable, hints.seen);
        }
        const second = await this.#replica.update(partition, key, value, context, nowMs, {
          unverified: everyone ? 'clamp' : 'report',
          onComputed: fanOut,
          abandoned: isAbandoned,
          vouchable,
        });
        if (second !== undefined) return second;
        throw new UnavailableError(
          `${level} write refused: its context names versions that neither this replica nor the ${answered} of ${nodes.length - 1} other replicas that answered hold; ` +
            'retry once the replicas are reachable, or read the key again and write with that context',
          { answered: 0, required },
        );
      };
      const update = writeLocally();
      this.#inflight++;
      update.then(
        () => {
          round.succeed(self, undefined);
          this.#leave();
        },
        (e: unknown) => {
          round.fail(self, e);
          this.#leave();
        },
      );
      // A refusal before anything was sent (limits, storage) is the client's error as it is.
      const refused = update.then(
        () => undefined,
        (e: unknown) => (computed === undefined ? e : undefined),
      );
      const first = await Promise.race([refused, round.decided]);
      if (first instanceof Error) throw first;
      const decision = await round.decided;
      if (decision !== 'won') {
        if (computed === undefined) abandoned = true;
        throw round.error(decision, { maybeApplied: computed !== undefined });
      }
      return { context: this.#contexts.encode(computed!.seen, key) };
    } finally {
      round.finish();
    }
  }

  /**
   * No replica of the key can coordinate (all down or refusing): with a
   * sloppy quorum this node mints the version itself and keeps it as a hint
   * for the first replica, while fallbacks hold it for the others. It is not
   * a replica, so it has no actor in the key's clocks that it could keep
   * counting under; it mints under a fresh actor for this one version, which
   * nothing can ever mint again (the price: one more clock entry for a
   * write that reached no replica). A context naming versions this node
   * cannot vouch for (its hints lack them; no replica is there to ask) is
   * refused, as the replicas refuse it (README "contexts are bound").
   */
  async #coordinateAsFallback(
    nodes: readonly string[],
    view: ClusterView,
    partition: number,
    key: Uint8Array,
    value: Uint8Array | undefined,
    context: VersionVector,
    level: Consistency,
    required: number,
    timeoutMs: number,
    fallbacks: Fallbacks,
  ): Promise<PutResult> {
    const local = (await this.#hintPort().read(partition, key)) ?? Dvv.fresh<StoredValue>();
    if (unverifiedActors(context, Dvv.join(local)).length > 0) {
      throw new UnavailableError(
        `${level} write refused: none of the ${nodes.length} replicas can coordinate, and the context names versions this node cannot vouch for; ` +
          'retry once a replica is reachable, or write without a context',
        { answered: 0, required },
      );
    }
    const actor = fallbackActor(this.#nodeId, this.#random);
    const nowMs = this.#time.nowMs();
    const stored: StoredValue = value === undefined ? { data: EMPTY, tombstone: true, writtenAtMs: nowMs } : { data: value, tombstone: false, writtenAtMs: nowMs };
    const object = Dvv.update(local, context, actor, stored);
    const record = encodeWithinLimits(local, object);
    this.#stats.fallbackCoordinated++;
    const round = new Round({ nodes, required, level, op: 'write', timeoutMs, time: this.#time });
    try {
      if (round.decision === 'lost') throw round.error('lost');
      const slots = new SloppySlots(round, nodes, fallbacks);
      slots.keepHere(0, view.self);
      for (let i = 1; i < nodes.length; i++) slots.standIn(i, `${nodes[i]} is not reachable`);
      const req: WriteRequest = writeRequest(key, record, view);
      for (let i = 0; i < nodes.length; i++) if (round.states[i] === SLOT_PENDING) this.#sendWrite(slots, i, view, req, timeoutMs);
      const decision = await round.decided;
      if (decision !== 'won') throw round.error(decision, { maybeApplied: true });
      return { context: this.#contexts.encode(seenByWriter(object, context, actor), key) };
    } finally {
      round.finish();
    }
  }

  /**
   * Merge every other replica's copy of the key into this one (bounded by
   * `timeoutMs`), so a context naming versions this copy has not received
   * yet is honoured. Resolves to how many of the other replicas answered
   * (and were merged) and the join of their clocks; failures only mean less is learnt.
   */
  async #catchUp(
    nodes: readonly string[],
    self: number,
    view: ClusterView,
    partition: number,
    key: Uint8Array,
    timeoutMs: number,
  ): Promise<{ answered: number; seen: VersionVector }> {
    const req: ReadRequest = readRequest(key, view);
    let answered = 0;
    let seen: VersionVector = [];
    const asks = nodes.map(async (node, i) => {
      if (i === self || !view.isUp(node)) return;
      const address = view.addressOf(node);
      if (address === undefined) return;
      this.#inflight++;
      try {
        const res = await this.#transport.request(address, req, timeoutMs);
        if (!res.ok) return;
        if (res.value.record !== undefined) {
          const copy = decodeRecord(res.value.record);
          await this.#replica.merge(partition, key, copy, res.value.record);
          seen = Dvv.mergeVectors(seen, Dvv.join(copy));
        }
        answered++;
      } catch (e) {
        this.#log.trace('catch-up from a replica failed', { node, partition, error: e });
      } finally {
        this.#leave();
      }
    });
    await Promise.all(asks);
    return { answered, seen };
  }

  /**
   * Merge the hints every member but the key's replicas holds for the key
   * into this replica (an early, idempotent handoff: the hints stay and are
   * delivered as usual). `everyone`: every one of them answered; `seen`: the join of the hints' clocks.
   */
  async #catchUpHints(
    replicas: readonly string[],
    view: ClusterView,
    partition: number,
    key: Uint8Array,
    timeoutMs: number,
  ): Promise<{ everyone: boolean; seen: VersionVector }> {
    const req: ReadRequest = { type: 'read', key, hinted: true };
    let seen: VersionVector = [];
    // This node too may still hold hints for the key from before it became its replica.
    const own = await this.#hints?.read(partition, key);
    if (own !== undefined) {
      await this.#replica.merge(partition, key, own, encodeRecord(own));
      seen = Dvv.join(own);
    }
    const others = view.ring.members.filter((id) => !replicas.includes(id));
    const answers = await Promise.all(
      others.map(async (node) => {
        const address = view.addressOf(node);
        if (address === undefined || !view.isUp(node)) return false;
        this.#inflight++;
        try {
          const res = await this.#transport.request(address, req, timeoutMs);
          if (!res.ok) return false;
          if (res.value.record !== undefined) {
            const held = decodeRecord(res.value.record);
            await this.#replica.merge(partition, key, held, res.value.record);
            seen = Dvv.mergeVectors(seen, Dvv.join(held));
          }
          return true;
        } catch (e) {
          this.#log.trace('hint catch-up from a member failed', { node, partition, error: e });
          return false;
        } finally {
          this.#leave();
        }
      }),
    );
    return { everyone: answers.every(Boolean), seen };
  }

  /**
   * Send slot `i`'s copy of a write to whoever the slot targets now (its
   * replica, or a fallback with a hint for it). A failure while the write is
   * undecided moves the slot to the next fallback (sloppy quorum); the slot
   * fails once no stand-in is left.
   */
  #sendWrite(slots: SloppySlots, i: number, view: ClusterView, req: WriteRequest, timeoutMs: number): void {
    const target = slots.targets[i]!;
    const hintFor = slots.hintFor[i];
    if (hintFor !== undefined) this.#stats.hintedWrites++;
    const failed = (error: unknown): void => {
      if (slots.standIn(i, error)) this.#sendWrite(slots, i, view, req, timeoutMs);
    };
    if (target === view.self) {
      // This node stands in for a replica (it coordinates as a fallback): the hint is kept here.
      this.#inflight++;
      this.#hintPort()
        .store(hintFor!, partitionOf(req.key, view.ring.partitionCount), req.key, req.record)
        .then(
          () => slots.round.succeed(i, undefined),
          (e: unknown) => failed(e),
        )
        .finally(() => this.#leave());
      return;
    }
    const address = view.addressOf(target);
    if (address === undefined) {
      failed(`${target}: address not known yet`);
      return;
    }
    this.#inflight++;
    let sent: Promise<Result<WriteReply, DynamoError>>;
    try {
      sent = this.#transport.request(address, hintFor === undefined ? req : { ...req, hintFor }, timeoutMs);
    } catch (e) {
      this.#leave();
      failed(e);
      return;
    }
    sent.then(
      (res) => {
        if (res.ok) slots.round.succeed(i, undefined);
        else failed(res.error);
        this.#leave();
      },
      (e: unknown) => {
        failed(e);
        this.#leave();
      },
    );
  }

  /** This node is not a replica: the first reachable replica, in preference order, coordinates (only a replica may mint a dot). */
  async #forward(
    nodes: readonly string[],
    view: ClusterView,
    req: CoordinateRequest,
    required: number,
    timeoutMs: number,
  ): Promise<PutResult> {
    const start = this.#time.monotonicMs();
    const level = req.consistency!;
    let firstError: string | undefined;
    for (const node of nodes) {
      const address = view.addressOf(node);
      if (address === undefined) {
        firstError ??= `${node}: address not known yet`;
        continue;
      }
      const remainingMs = timeoutMs - (this.#time.monotonicMs() - start);
      if (remainingMs <= 0) break;
      const res = await this.#transport.request(address, req, remainingMs);
      if (res.ok) return { context: res.value.context };
      // Only a request that provably did nothing may go to the next replica: a
      // second coordinator would mint a second version of the same write.
      if (!mayFallOver(res.error)) throw res.error;
      firstError ??= `${node}: ${res.error.message}`;
    }
    const counts = { answered: 0, required };
    const tally = `0 of ${nodes.length} replicas answered, ${required} needed (no replica could coordinate; first error: ${firstError ?? 'none'})`;
    if (this.#time.monotonicMs() - start >= timeoutMs) {
      throw new TimeoutError(`${level} write timed out after ${timeoutMs} ms: ${tally}`, counts);
    }
    throw new UnavailableError(`${level} write failed: ${tally}`, counts);
  }

  #view(required: number): ClusterView {
    const view = this.#cluster();
    if (view === undefined) {
      throw new UnavailableError("node is still joining: waiting to learn its seeds' identities", { answered: 0, required });
    }
    return view;
  }

  #admit(): void {
    if (this.#closed) throw new ClosedError('replication coordinator is closed');
    this.#inflight++;
  }

  #leave(): void {
    if (--this.#inflight === 0 && this.#drained !== undefined) {
      const drained = this.#drained;
      this.#drained = undefined;
      drained();
    }
  }
}
