/**
 * The membership state machine: member table + SWIM failure detector +
 * piggyback dissemination + digest gossip + ring changes, behind one
 * `step(input) -> effects` (etcd raft's Step/Ready shape).
 *
 * Inputs carry the current time (`nowMs`, from the driver's monotonic Time);
 * nothing here reads a clock, sets a timer or draws randomness except through
 * the injected Random. Effects are the packets to send (best-effort,
 * one-way), the events that happened, and `wakeAtMs`: the driver must step a
 * `tick` at or after that time (earlier or extra ticks are harmless).
 */
import type {
  Address,
  GossipAck2Packet,
  GossipAckPacket,
  GossipSynPacket,
  MemberRecord,
  MembershipPacket,
  NodeId,
  RingStateRecord,
} from '../protocol/index.ts';
import { partitionsOwned, type Ring } from '../ring/index.ts';
import { assert, InvalidArgumentError, type Random } from '../runtime/index.ts';
import { BroadcastQueue } from './broadcast-queue.ts';
import { retransmitLimit, suspicionTimeoutMs, validateMembershipConfig, type MembershipConfig } from './config.ts';
import { FailureDetector, sample, type DetectorStats, type ProbeBody } from './failure-detector.ts';
import { answerAck, answerSyn, buildSyn, selectGossipTargets } from './gossip.ts';
import { compareStamps, MemberTable } from './member-state.ts';
import {
  claimantStep,
  compareRingStates,
  departureOf,
  electClaimant,
  gainersOf,
  genesisRing,
  incomingTransfers,
  lifecycleOf,
  partitionsHeld,
  partitionsWritten,
  placementOf,
  replicasOf,
  ringNodes,
  ringSummary,
  targetRing,
  type IncomingTransfer,
  type Lifecycle,
  type MovingPlacement,
  type Replicas,
  type StagedChanges,
} from './ring-changes.ts';

/** Who this node is. */
export interface SelfIdentity {
  readonly id: NodeId;
  readonly address: Address;
  readonly zone?: string;
}

export interface MembershipOptions {
  readonly self: SelfIdentity;
  /**
   * Higher than at any earlier start of this node id (the driver persists a
   * counter in the data dir, or uses wall-clock seconds at start as Cassandra
   * does). A positive safe integer.
   */
  readonly generation: number;
  /** Bootstrap addresses (`--seeds`); this node's own address is ignored. */
  readonly seeds: readonly Address[];
  /** Node ids the seed list names (`id@host:port` entries): a member with one of them is a seed wherever it listens. */
  readonly seedIds?: readonly NodeId[];
  readonly config?: Partial<MembershipConfig>;
  readonly random: Random;
  /** Time of construction on the driver's monotonic clock. */
  readonly nowMs: number;
  /** The ring state persisted before a restart, if any (the driver persists every ring-changed state). */
  readonly ringState?: RingStateRecord;
}

/** What the driver feeds in. */
export type MembershipInput =
  | { readonly type: 'tick'; readonly nowMs: number }
  | { readonly type: 'packet'; readonly packet: MembershipPacket; readonly nowMs: number }
  /** `dynamo join` (manual path, autoJoin false): ask to be added to the ring. */
  | { readonly type: 'join'; readonly nowMs: number }
  /** `dynamo leave` / decommission: hand every partition over, then leave. */
  | { readonly type: 'leave'; readonly nowMs: number }
  /** `dynamo remove NODE`: drop a dead node; its partitions are rebuilt from surviving holders. */
  | { readonly type: 'remove'; readonly node: NodeId; readonly nowMs: number }
  /** The driver finished streaming `partition` into this node under plan `planId`. */
  | { readonly type: 'transfer-complete'; readonly partition: number; readonly planId: number; readonly nowMs: number }
  /** Graceful stop: tell peers we are going (self-declared dead) and stop. */
  | { readonly type: 'shutdown'; readonly nowMs: number };

export type Liveness = 'up' | 'suspect' | 'down';

/** What happened during a step, for the driver to act on or log. */
export type MembershipEvent =
  | { readonly type: 'member-up'; readonly id: NodeId; readonly generation: number }
  | { readonly type: 'member-suspect'; readonly id: NodeId }
  | { readonly type: 'member-down'; readonly id: NodeId }
  | { readonly type: 'member-reaped'; readonly id: NodeId }
  /** A new ring version was adopted (persist `state` before acting on it). */
  | {
      readonly type: 'ring-changed';
      readonly version: number;
      readonly previousVersion: number;
      readonly claimant: NodeId;
      readonly planId: number;
      readonly state: RingStateRecord;
    }
  /**
   * Partitions this node must now stream in (pull from `sources`) and then
   * report with transfer-complete. Each (planId, partition) is announced once
   * per process; a new plan announces its partitions again.
   */
  | { readonly type: 'transfers-assigned'; readonly planId: number; readonly transfers: readonly IncomingTransfer[] }
  /** Partitions whose data this node may now delete: the whole ring holds a ring in which it no longer replicates them. */
  | { readonly type: 'partitions-released'; readonly partitions: readonly number[] }
  /** This node is no longer part of the ring (decommission finished, or removed): stop serving. */
  | { readonly type: 'departed'; readonly status: 'left' | 'removed' }
  /** Another process runs this node id with a newer generation: this one is stale and should stop. */
  | { readonly type: 'superseded'; readonly generation: number }
  | { readonly type: 'command-rejected'; readonly command: string; readonly reason: string }
  /** As claimant: a remove request was carried out or refused. */
  | { readonly type: 'remove-settled'; readonly node: NodeId; readonly outcome: 'removed' | 'not-a-member' | 'alive' }
  | { readonly type: 'config-mismatch'; readonly peer: NodeId; readonly partitionCount: number; readonly replicas: number }
  | { readonly type: 'table-full'; readonly id: NodeId };

export interface OutboundPacket {
  readonly to: Address;
  readonly packet: MembershipPacket;
}

export interface MembershipEffects {
  readonly packets: readonly OutboundPacket[];
  readonly events: readonly MembershipEvent[];
  /** Step a tick at or after this time. */
  readonly wakeAtMs: number;
}

/** One member as `dynamo status` shows it. */
export interface MemberInfo {
  readonly id: NodeId;
  readonly address: Address;
  readonly zone: string;
  readonly generation: number;
  readonly incarnation: number;
  readonly liveness: Liveness;
  readonly lifecycle: Lifecycle;
  /** Partitions the target ring assigns it as owner. */
  readonly partitionsOwned: number;
  /** Share of the target ring it owns, in percent. */
  readonly ownershipPct: number;
  /** Partitions it holds completely (as a replica), moving ones included. */
  readonly partitionsHeld: number;
  readonly ringVersion: number;
  readonly self: boolean;
}

/**
 * What the coordinator and admin read: one consistent snapshot of the ring
 * version and of who is believed up.
 */
export interface MembershipView {
  readonly self: NodeId;
  /** 0 until a ring is known. */
  readonly ringVersion: number;
  readonly ringChecksum: number;
  readonly planId: number;
  /** Target ring; undefined until a ring is known. */
  readonly ring: Ring | undefined;
  readonly ringState: RingStateRecord | undefined;
  /** Checksum of the member table's digest (equal on nodes that agree). */
  readonly tableChecksum: number;
  /** Believed alive (not suspect, not dead); self is always up. Routing must not wait for nodes that are not. */
  isUp(id: NodeId): boolean;
  liveness(id: NodeId): Liveness;
  addressOf(id: NodeId): Address | undefined;
  members(): MemberInfo[];
  /** Read and write replica sets of a partition (throws without a ring). */
  replicas(partition: number): Replicas;
  /** Liveness-aware placement: primaries, gainers, fallbacks for down primaries (throws without a ring). */
  placement(partition: number): MovingPlacement;
  /** Partitions this node must still receive under the current plan. */
  incomingTransfers(): IncomingTransfer[];
}

/** Counters for status and tests. */
export interface MembershipStats extends DetectorStats {
  readonly awareness: number;
  readonly broadcastQueued: number;
  readonly broadcastsDropped: number;
  readonly gossipRounds: number;
  readonly packetsSent: number;
}

type Body<P> = P extends MembershipPacket ? Omit<P, 'from' | 'fromAddress' | 'piggyback'> : never;
type PacketBody = Body<MembershipPacket>;

export class Membership {
  readonly config: MembershipConfig;
  readonly #self: SelfIdentity;
  readonly #random: Random;
  readonly #seeds: readonly Address[];
  readonly #seedIds: ReadonlySet<NodeId>;
  readonly #startMs: number;
  #lastNowMs: number;
  readonly #table: MemberTable;
  readonly #queue: BroadcastQueue;
  readonly #detector: FailureDetector;
  #ring: RingStateRecord | undefined;
  #nextGossipMs: number;
  #staged: StagedChanges | undefined;
  #removeRequests: NodeId[] = [];
  readonly #deadSinceMs = new Map<NodeId, number>();
  /** Partitions this node wrote for under the current ring. */
  #written = new Set<number>();
  /** Partitions it wrote for earlier and no longer does: to release once the cluster agrees. */
  readonly #pendingRelease = new Set<number>();
  /** Partitions already announced in transfers-assigned for the current plan. */
  #assigned: { planId: number; partitions: Set<number> } = { planId: 0, partitions: new Set() };
  #departed = false;
  #superseded = false;
  readonly #mismatched = new Set<NodeId>();
  #stopped = false;
  #gossipRounds = 0;
  #packetsSent = 0;
  #view: MembershipView | undefined;
  #packets: OutboundPacket[] = [];
  #events: MembershipEvent[] = [];

  constructor(opts: MembershipOptions) {
    this.config = validateMembershipConfig(opts.config);
    if (typeof opts.self.id !== 'string' || opts.self.id.length === 0) throw new InvalidArgumentError('membership self.id must be a non-empty string');
    if (!Number.isSafeInteger(opts.generation) || opts.generation < 1) {
      throw new InvalidArgumentError(`membership generation must be a positive safe integer, got ${String(opts.generation)}`);
    }
    this.#self = opts.self;
    this.#random = opts.random;
    this.#seeds = [...new Set(opts.seeds)].filter((a) => a !== opts.self.address).sort();
    this.#seedIds = new Set(opts.seedIds ?? []);
    this.#startMs = opts.nowMs;
    this.#lastNowMs = opts.nowMs;
    this.#table = new MemberTable(this.config.membersMax);
    this.#queue = new BroadcastQueue(this.config.broadcastQueueMax);
    const restored = opts.ringState;
    if (restored !== undefined && (restored.partitionCount !== this.config.partitionCount || restored.replicas !== this.config.replicas)) {
      throw new InvalidArgumentError(
        `restored ring has ${restored.partitionCount} partitions x ${restored.replicas} replicas, config says ${this.config.partitionCount} x ${this.config.replicas}`,
      );
    }
    const me: MemberRecord = {
      id: opts.self.id,
      address: opts.self.address,
      zone: opts.self.zone ?? '',
      generation: opts.generation,
      incarnation: 0,
      status: 'alive',
      intent: this.config.autoJoin ? 'join' : 'none',
      ringVersion: 0,
      ringChecksum: 0,
      donePlanId: 0,
      donePartitions: [],
    };
    this.#table.put(me);
    this.#queue.push({ record: me, origin: me.id });
    this.#detector = new FailureDetector(this.config, opts.random, this.#detectorHost(), opts.nowMs);
    this.#nextGossipMs = opts.nowMs + opts.random.int(this.config.gossipIntervalMs);
    // Events of adopting the restored ring (ring-changed, transfers-assigned) come out of the first step.
    if (restored !== undefined) this.#adoptRing(restored);
  }

  get id(): NodeId {
    return this.#self.id;
  }

  /** Whether the node has stopped (shutdown); further steps do nothing. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Feed one input; returns what to do. */
  step(input: MembershipInput): MembershipEffects {
    this.#view = undefined;
    if (this.#stopped) return { packets: [], events: [], wakeAtMs: Number.POSITIVE_INFINITY };
    const now = input.nowMs;
    assert(Number.isFinite(now) && now >= this.#lastNowMs, `nowMs must be monotonic: ${now} after ${this.#lastNowMs}`);
    this.#lastNowMs = now;
    this.#runDue(now);
    switch (input.type) {
      case 'tick':
        break;
      case 'packet':
        this.#receive(input.packet, now);
        break;
      case 'join':
        this.#join();
        break;
      case 'leave':
        this.#leave();
        break;
      case 'remove':
        this.#remove(input.node);
        break;
      case 'transfer-complete':
        this.#transferComplete(input.partition, input.planId);
        break;
      case 'shutdown':
        this.#shutdown();
        break;
    }
    this.#checkRelease();
    const wakeAtMs = this.#stopped ? Number.POSITIVE_INFINITY : Math.min(this.#detector.nextWakeMs(), this.#nextGossipMs);
    const effects = { packets: this.#packets, events: this.#events, wakeAtMs };
    this.#packets = [];
    this.#events = [];
    return effects;
  }

  /** The current snapshot (cached until the next step). */
  view(): MembershipView {
    this.#view ??= this.#makeView();
    return this.#view;
  }

  /**
   * A reply from the node at `address` to one of this node's requests (see
   * FailureDetector.heardFrom). Not a step: it changes no record and no view,
   * and runs on every replica reply, so it costs one comparison.
   */
  heardFrom(address: Address): void {
    const target = this.#detector.probing;
    if (target !== undefined && this.#table.get(target)?.address === address) this.#detector.heardFrom(target);
  }

  /** This node's own member record. */
  selfRecord(): MemberRecord {
    const me = this.#table.get(this.#self.id);
    assert(me !== undefined, 'own record missing');
    return me;
  }

  /** Every member record, sorted by id (for tests and debugging). */
  records(): readonly MemberRecord[] {
    return this.#table.records();
  }

  stats(): MembershipStats {
    return {
      ...this.#detector.stats,
      awareness: this.#detector.awareness.score,
      broadcastQueued: this.#queue.size,
      broadcastsDropped: this.#queue.dropped,
      gossipRounds: this.#gossipRounds,
      packetsSent: this.#packetsSent,
    };
  }

  // --- time ----------------------------------------------------------------

  #runDue(now: number): void {
    this.#detector.tick(now);
    if (now < this.#nextGossipMs) return;
    this.#nextGossipMs = now + this.config.gossipIntervalMs;
    this.#gossipRound(now);
  }

  #gossipRound(now: number): void {
    this.#gossipRounds++;
    this.#reap(now);
    if (this.#ring === undefined) this.#maybeGenesis(now);
    else this.#claimantTick(now);
    this.#forwardRemoves();
    const up: NodeId[] = [];
    const down: NodeId[] = [];
    for (const r of this.#table.records()) {
      if (r.id === this.#self.id) continue;
      if (r.status === 'dead') {
        if (this.#ring === undefined || departureOf(this.#ring, r.id) === undefined) down.push(r.id);
      } else up.push(r.id);
    }
    const targets = selectGossipTargets(
      { up, down, seeds: this.#seeds, addressOf: (id) => this.#table.get(id)?.address },
      this.#random,
    );
    if (targets.length === 0) return;
    const syn = buildSyn(this.#table, this.#ring, this.config.partitionCount, this.config.replicas);
    for (const to of targets) this.#send(to, syn);
  }

  #reap(now: number): void {
    const nodes = this.#ring === undefined ? new Set<NodeId>() : ringNodes(this.#ring);
    for (const [id, since] of [...this.#deadSinceMs]) {
      if (now - since < this.config.deadMemberReapMs || nodes.has(id)) continue;
      this.#deadSinceMs.delete(id);
      this.#table.delete(id);
      this.#queue.forget(id);
      this.#events.push({ type: 'member-reaped', id });
    }
  }

  // --- sending -------------------------------------------------------------

  #send(to: Address, body: PacketBody): void {
    const limit = retransmitLimit(this.config, this.#table.size);
    const piggyback = this.#queue.take(this.config.piggybackCountMax, limit);
    const packet = { ...body, from: this.#self.id, fromAddress: this.#self.address, piggyback } as MembershipPacket;
    this.#packets.push({ to, packet });
    this.#packetsSent++;
  }

  #detectorHost() {
    const self = this.#self.id;
    return {
      self,
      probeCandidates: (): MemberRecord[] => this.#table.records().filter((r) => r.id !== self && r.status !== 'dead'),
      record: (id: NodeId): MemberRecord | undefined => this.#table.get(id),
      aliveCount: (): number => this.#table.records().filter((r) => r.status === 'alive').length,
      send: (to: Address, body: ProbeBody): void => this.#send(to, body),
      suspect: (record: MemberRecord, nowMs: number): void => this.#markSuspect(record, nowMs),
      declareDead: (record: MemberRecord, nowMs: number): void => this.#markDead(record, nowMs),
    };
  }

  // --- receiving -------------------------------------------------------------

  #receive(packet: MembershipPacket, now: number): void {
    for (const b of packet.piggyback) this.#applyRecord(b.record, b.origin, now);
    switch (packet.type) {
      case 'ping':
        if (packet.target === this.#self.id) this.#detector.onPing(packet.fromAddress, packet.seq);
        break;
      case 'ack':
        this.#detector.onAck(packet.seq);
        break;
      case 'nack':
        this.#detector.onNack(packet.seq);
        break;
      case 'ping-req':
        this.#detector.onPingReq(packet.fromAddress, packet.seq, packet.target, packet.targetAddress, now);
        break;
      case 'gossip-syn':
        this.#onSyn(packet);
        break;
      case 'gossip-ack':
        this.#onAck(packet, now);
        break;
      case 'gossip-ack2':
        this.#onAck2(packet, now);
        break;
      case 'remove-request':
        if (!this.#removeRequests.includes(packet.node) && this.#removeRequests.length < this.config.removeRequestsMax) {
          this.#removeRequests.push(packet.node);
        }
        break;
    }
  }

  #onSyn(syn: GossipSynPacket): void {
    if (syn.partitionCount !== this.config.partitionCount || syn.replicas !== this.config.replicas) {
      this.#mismatch(syn.from, syn.partitionCount, syn.replicas);
      return;
    }
    this.#send(syn.fromAddress, answerSyn(this.#table, this.#ring, syn, this.config.gossipRecordsMax));
  }

  #onAck(ack: GossipAckPacket, now: number): void {
    for (const r of ack.records) this.#applyRecord(r, '', now);
    if (ack.ring !== undefined) this.#adoptRing(ack.ring);
    const ack2 = answerAck(this.#table, this.#ring, ack, this.config.gossipRecordsMax);
    if (ack2 !== undefined) this.#send(ack.fromAddress, ack2);
  }

  #onAck2(ack2: GossipAck2Packet, now: number): void {
    for (const r of ack2.records) this.#applyRecord(r, '', now);
    if (ack2.ring !== undefined) this.#adoptRing(ack2.ring);
  }

  #mismatch(peer: NodeId, partitionCount: number, replicas: number): void {
    if (this.#mismatched.has(peer) || this.#mismatched.size >= this.config.membersMax) return;
    this.#mismatched.add(peer);
    this.#events.push({ type: 'config-mismatch', peer, partitionCount, replicas });
  }

  // --- member records --------------------------------------------------------

  /** Merge a record learned from a peer; `origin` is who made the change ('' when unknown). */
  #applyRecord(record: MemberRecord, origin: NodeId, now: number): void {
    if (record.id === this.#self.id) {
      this.#aboutSelf(record);
      return;
    }
    const before = this.#table.get(record.id);
    const outcome = this.#table.apply(record, this.#ring !== undefined && ringNodes(this.#ring).has(record.id));
    if (outcome === 'ignored') {
      if (record.status !== 'dead') this.#events.push({ type: 'table-full', id: record.id });
      return;
    }
    if (outcome === 'unchanged') {
      // Lifeguard: another node suspecting the same incarnation confirms our suspicion.
      if (before?.status === 'suspect' && record.status === 'suspect' && compareStamps(record, before) === 0 && origin !== '') {
        if (this.#detector.suspect(before, origin, now)) this.#queue.push({ record: before, origin });
      }
      return;
    }
    const after = this.#table.get(record.id);
    assert(after !== undefined, 'applied record missing');
    this.#changed(before, after, origin, now);
    this.#queue.push({ record: after, origin });
  }

  /** Events and detector bookkeeping after the record of another node changed. */
  #changed(before: MemberRecord | undefined, after: MemberRecord, origin: NodeId, now: number): void {
    if (before === undefined) this.#detector.noteMember(after.id);
    const restarted = before !== undefined && after.generation > before.generation;
    if (before?.status === after.status && !restarted) {
      // Same liveness at a newer incarnation: a refuted suspicion keeps the same status only if it was alive.
      if (after.status === 'suspect') this.#detector.suspect(after, origin, now);
      return;
    }
    switch (after.status) {
      case 'alive':
        this.#detector.clearSuspicion(after.id);
        this.#deadSinceMs.delete(after.id);
        this.#events.push({ type: 'member-up', id: after.id, generation: after.generation });
        break;
      case 'suspect':
        this.#deadSinceMs.delete(after.id);
        this.#detector.suspect(after, origin, now);
        this.#events.push({ type: 'member-suspect', id: after.id });
        break;
      case 'dead':
        this.#detector.clearSuspicion(after.id);
        this.#deadSinceMs.set(after.id, now);
        this.#events.push({ type: 'member-down', id: after.id });
        break;
    }
  }

  /** Someone says something about us: refute a suspicion, or notice we are superseded. */
  #aboutSelf(record: MemberRecord): void {
    const me = this.selfRecord();
    if (record.generation > me.generation) {
      if (!this.#superseded) this.#events.push({ type: 'superseded', generation: record.generation });
      this.#superseded = true;
      return;
    }
    if (record.generation < me.generation) return;
    const refute = record.incarnation > me.incarnation || (record.incarnation === me.incarnation && record.status !== 'alive');
    if (!refute) return;
    if (record.status !== 'alive') this.#detector.noteRefuted();
    this.#updateSelf({}, Math.max(record.incarnation, me.incarnation) + 1);
  }

  /** Publish a change of our own record at a new incarnation. */
  #updateSelf(patch: Partial<Pick<MemberRecord, 'intent' | 'ringVersion' | 'ringChecksum' | 'donePlanId' | 'donePartitions' | 'status'>>, incarnation?: number): void {
    const me = this.selfRecord();
    const next: MemberRecord = { ...me, status: 'alive', ...patch, incarnation: incarnation ?? me.incarnation + 1 };
    this.#table.put(next);
    this.#queue.push({ record: next, origin: me.id });
  }

  #markSuspect(record: MemberRecord, now: number): void {
    if (record.status !== 'alive') {
      // Already suspected by others: our failed probe is one more confirmation.
      if (record.status === 'suspect' && this.#detector.suspect(record, this.#self.id, now)) {
        this.#queue.push({ record, origin: this.#self.id });
      }
      return;
    }
    const next: MemberRecord = { ...record, status: 'suspect' };
    this.#table.put(next);
    this.#changed(record, next, this.#self.id, now);
    this.#queue.push({ record: next, origin: this.#self.id });
  }

  #markDead(record: MemberRecord, now: number): void {
    const next: MemberRecord = { ...record, status: 'dead' };
    this.#table.put(next);
    this.#changed(record, next, this.#self.id, now);
    this.#queue.push({ record: next, origin: this.#self.id });
  }

  // --- ring ------------------------------------------------------------------

  #adoptRing(state: RingStateRecord): void {
    if (state.partitionCount !== this.config.partitionCount || state.replicas !== this.config.replicas) {
      this.#mismatch(state.claimant, state.partitionCount, state.replicas);
      return;
    }
    const previous = this.#ring;
    if (previous !== undefined && compareRingStates(ringSummary(state), ringSummary(previous)) <= 0) return;
    this.#ring = state;
    const me = this.selfRecord();
    const id = me.id;
    const samePlan = me.donePlanId === state.planId;
    const stillGaining = samePlan ? me.donePartitions.filter((p) => gainersOf(state, p).includes(id)) : [];
    this.#updateSelf({
      ringVersion: state.version,
      ringChecksum: state.checksum,
      donePlanId: stillGaining.length > 0 ? state.planId : 0,
      donePartitions: stillGaining,
    });
    this.#events.push({
      type: 'ring-changed',
      version: state.version,
      previousVersion: previous?.version ?? 0,
      claimant: state.claimant,
      planId: state.planId,
      state,
    });
    if (this.#assigned.planId !== state.planId) this.#assigned = { planId: state.planId, partitions: new Set() };
    const assigned = this.#assigned.partitions;
    const fresh = incomingTransfers(state, id).filter((t) => !stillGaining.includes(t.partition) && !assigned.has(t.partition));
    for (const t of fresh) assigned.add(t.partition);
    if (fresh.length > 0) this.#events.push({ type: 'transfers-assigned', planId: state.planId, transfers: fresh });
    const written = partitionsWritten(state, id);
    for (const p of this.#written) if (!written.has(p)) this.#pendingRelease.add(p);
    for (const p of written) this.#pendingRelease.delete(p);
    this.#written = written;
    const gone = departureOf(state, id);
    if (!this.#departed && gone !== undefined && gone.generation >= me.generation) {
      this.#departed = true;
      this.#events.push({ type: 'departed', status: gone.status });
    }
  }

  /**
   * First ring of a new cluster: founded by the lowest-id node among the up
   * nodes asking to join, once bootstrapExpectCount of them are known, or
   * bootstrapWaitMs after start, or at once without seeds (a cluster of one).
   * Never while any known node holds a ring.
   *
   * With seeds, bootstrapExpectCount founders are enough only if one of
   * them is a seed (by address, or by the id a seed entry names): the seeds
   * name the cluster's first members. Nodes that join a running cluster later
   * know each other too; before this rule enough of them, cut off from every
   * member that held the ring, counted as founders: one founded a second
   * ring, nodes acknowledged writes under it, and deleted them when the real
   * ring reached them (swarm seed 30572).
   */
  #maybeGenesis(now: number): void {
    const me = this.selfRecord();
    if (me.intent !== 'join') return;
    const records = this.#table.records();
    if (records.some((r) => r.ringVersion > 0)) return; // a ring exists: gossip brings it
    const joining = records.filter((r) => r.status === 'alive' && r.intent === 'join');
    const founders = joining.map((r) => r.id);
    if (founders[0] !== me.id) return;
    const isSeed = (r: MemberRecord): boolean => r.id !== me.id && (this.#seedIds.has(r.id) || this.#seeds.includes(r.address));
    const seeded = this.#seeds.length === 0 || joining.some(isSeed);
    const expected = this.config.bootstrapExpectCount > 0 && founders.length >= this.config.bootstrapExpectCount && seeded;
    const waited = this.config.bootstrapWaitMs > 0 && now - this.#startMs >= this.config.bootstrapWaitMs;
    if (!expected && !waited && this.#seeds.length > 0) return;
    const zoneOf = (id: NodeId): string | undefined => this.#table.get(id)?.zone;
    this.#adoptRing(genesisRing(founders, me.id, this.config.partitionCount, this.config.replicas, zoneOf));
  }

  #claimantTick(now: number): void {
    const state = this.#ring;
    if (state === undefined) return;
    const out = claimantStep({
      state,
      self: this.#self.id,
      nowMs: now,
      records: this.#table.records(),
      record: (id) => this.#table.get(id),
      isAlive: (id) => this.#isAlive(id),
      isNotDead: (id) => this.#isNotDead(id),
      removeRequests: this.#removeRequests,
      // A live node's record reaches every node within a few gossip rounds;
      // one that nobody has told us of in the longest suspicion timeout since
      // we started is dead to everyone we hear from.
      unheardIsDead: now - this.#startMs >= suspicionTimeoutMs(this.config, ringNodes(state).size).max,
      staged: this.#staged,
      planSettleMs: this.config.planSettleMs,
      departedMax: this.config.departedMax,
    });
    this.#staged = out.staged;
    for (const s of out.settled) {
      this.#removeRequests = this.#removeRequests.filter((id) => id !== s.node);
      this.#events.push({ type: 'remove-settled', node: s.node, outcome: s.outcome });
    }
    if (out.next !== undefined) this.#adoptRing(out.next);
  }

  /** Resend pending remove requests to the claimant; drop those done or refused. */
  #forwardRemoves(): void {
    const state = this.#ring;
    if (state === undefined || this.#removeRequests.length === 0) return;
    this.#removeRequests = this.#removeRequests.filter((id) => {
      if (departureOf(state, id) !== undefined || !ringNodes(state).has(id)) return false;
      if (this.#table.get(id)?.status === 'alive') {
        this.#events.push({ type: 'command-rejected', command: 'remove', reason: `${id} is alive again` });
        return false;
      }
      return true;
    });
    const claimant = electClaimant(state, (id) => this.#isNotDead(id));
    if (claimant === undefined || claimant === this.#self.id) return;
    const address = this.#table.get(claimant)?.address;
    if (address === undefined) return;
    for (const node of this.#removeRequests) this.#send(address, { type: 'remove-request', node });
  }

  /** Partitions to release once every ring node holds our exact ring. */
  #checkRelease(): void {
    const state = this.#ring;
    if (state === undefined || this.#pendingRelease.size === 0) return;
    for (const id of ringNodes(state)) {
      const r = this.#table.get(id);
      if (r === undefined || r.ringVersion !== state.version || r.ringChecksum !== state.checksum) return;
    }
    const partitions = [...this.#pendingRelease].sort((a, b) => a - b);
    this.#pendingRelease.clear();
    this.#events.push({ type: 'partitions-released', partitions });
  }

  #isAlive(id: NodeId): boolean {
    return id === this.#self.id || this.#table.get(id)?.status === 'alive';
  }

  #isNotDead(id: NodeId): boolean {
    if (id === this.#self.id) return true;
    const r = this.#table.get(id);
    return r !== undefined && r.status !== 'dead';
  }

  // --- commands ----------------------------------------------------------------

  #reject(command: string, reason: string): void {
    this.#events.push({ type: 'command-rejected', command, reason });
  }

  #join(): void {
    const me = this.selfRecord();
    if (this.#ring !== undefined && ringNodes(this.#ring).has(me.id)) return this.#reject('join', 'already part of the ring');
    if (me.intent === 'join') return this.#reject('join', 'join already requested');
    this.#updateSelf({ intent: 'join' });
  }

  #leave(): void {
    const state = this.#ring;
    if (state === undefined || !state.members.includes(this.#self.id)) return this.#reject('leave', 'not a ring member');
    if (state.members.length === 1) return this.#reject('leave', 'the last member cannot leave');
    if (this.selfRecord().intent === 'leave') return this.#reject('leave', 'leave already requested');
    this.#updateSelf({ intent: 'leave' });
  }

  #remove(node: NodeId): void {
    const state = this.#ring;
    if (state === undefined) return this.#reject('remove', 'no ring yet');
    if (node === this.#self.id) return this.#reject('remove', 'a node cannot remove itself; use leave');
    if (!ringNodes(state).has(node)) return this.#reject('remove', `${node} is not part of the ring`);
    if (this.#table.get(node)?.status === 'alive') return this.#reject('remove', `${node} is alive; only a dead node can be removed`);
    if (this.#removeRequests.includes(node)) return;
    if (this.#removeRequests.length >= this.config.removeRequestsMax) return this.#reject('remove', 'too many pending remove requests');
    this.#removeRequests.push(node);
  }

  #transferComplete(partition: number, planId: number): void {
    const state = this.#ring;
    if (state === undefined || state.planId !== planId) return this.#reject('transfer-complete', `plan ${planId} is not current`);
    if (!gainersOf(state, partition).includes(this.#self.id)) {
      return this.#reject('transfer-complete', `partition ${partition} is not moving to this node`);
    }
    const me = this.selfRecord();
    const done = me.donePlanId === planId ? me.donePartitions : [];
    if (done.includes(partition)) return;
    this.#updateSelf({ donePlanId: planId, donePartitions: [...done, partition].sort((a, b) => a - b) });
  }

  #shutdown(): void {
    const me = this.selfRecord();
    const last: MemberRecord = { ...me, status: 'dead', incarnation: me.incarnation + 1 };
    this.#table.put(last);
    this.#queue.push({ record: last, origin: me.id });
    const peers = this.#table.records().filter((r) => r.id !== me.id && r.status === 'alive');
    const syn = buildSyn(this.#table, this.#ring, this.config.partitionCount, this.config.replicas);
    for (const peer of sample(peers, this.config.indirectChecks, this.#random)) this.#send(peer.address, syn);
    this.#stopped = true;
  }

  // --- view ----------------------------------------------------------------------

  #makeView(): MembershipView {
    const state = this.#ring;
    const self = this.#self.id;
    const records = new Map(this.#table.records().map((r) => [r.id, r]));
    const liveness = (id: NodeId): Liveness => {
      if (id === self) return 'up';
      const status = records.get(id)?.status;
      return status === 'alive' ? 'up' : status === 'suspect' ? 'suspect' : 'down';
    };
    const isUp = (id: NodeId): boolean => liveness(id) === 'up';
    const ring = state === undefined ? undefined : targetRing(state);
    const needRing = (): RingStateRecord => {
      if (state === undefined) throw new InvalidArgumentError('no ring yet');
      return state;
    };
    const members = (): MemberInfo[] => {
      const ids = new Set([...records.keys(), ...(state === undefined ? [] : ringNodes(state))]);
      return [...ids].sort().map((id) => {
        const r = records.get(id);
        const owned = ring === undefined ? 0 : partitionsOwned(ring, id);
        return {
          id,
          address: r?.address ?? '',
          zone: r?.zone ?? '',
          generation: r?.generation ?? 0,
          incarnation: r?.incarnation ?? 0,
          liveness: liveness(id),
          lifecycle: lifecycleOf(state, id, r),
          partitionsOwned: owned,
          ownershipPct: ring === undefined ? 0 : (100 * owned) / ring.partitionCount,
          partitionsHeld: state === undefined ? 0 : partitionsHeld(state, id).length,
          ringVersion: r?.ringVersion ?? 0,
          self: id === self,
        };
      });
    };
    const me = records.get(self);
    return {
      self,
      ringVersion: state?.version ?? 0,
      ringChecksum: state?.checksum ?? 0,
      planId: state?.planId ?? 0,
      ring,
      ringState: state,
      tableChecksum: this.#table.checksum(),
      isUp,
      liveness,
      addressOf: (id) => records.get(id)?.address,
      members,
      replicas: (partition) => replicasOf(needRing(), partition),
      placement: (partition) => placementOf(needRing(), partition, isUp),
      incomingTransfers: () => {
        if (state === undefined) return [];
        const done = me !== undefined && me.donePlanId === state.planId ? me.donePartitions : [];
        return incomingTransfers(state, self).filter((t) => !done.includes(t.partition));
      },
    };
  }
}

