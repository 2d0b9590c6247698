/**
 * DynamoNode: the composition root of one node. It owns the start/stop
 * lifecycle (storage, membership, coordinator, partition transfers) and
 * exposes the three handlers a server needs — kv, admin and peer — without
 * knowing which server or transport carries them (gRPC in process.ts,
 * SimNetwork in lib/sim).
 */
import {
  assert,
  ClosedError,
  InvalidArgumentError,
  UnavailableError,
  type Logger,
  type Metrics,
  type Runtime,
} from '../runtime/index.ts';
import type {
  Address,
  AdminHandler,
  KvHandler,
  MemberState,
  MemberStatus,
  NodeId,
  NodeStatus,
  PeerHandler,
  PeerReply,
  PeerRequest,
  RingStatus,
} from '../protocol/index.ts';
import type { Actor, ContextCodec } from '../vclock/index.ts';
import { partitionOf, preferenceList } from '../ring/index.ts';
import { encodeRecord, type Storage } from '../storage/index.ts';
import type { Transport } from '../transport/index.ts';
import { Coordinator, type ReplicationConfig } from '../replication/index.ts';
import type { MemberInfo, MembershipConfig, MembershipEvent, MembershipView } from '../membership/index.ts';
import { BackgroundAdmission, validateAntiEntropyConfig, valueHash, versionDigest, type AdmissionConfig, type AntiEntropyConfig } from '../antientropy/index.ts';
import { AntiEntropy } from './anti-entropy.ts';
import { checkPartitionCount } from './epoch.ts';
import { GossipMembership } from './gossip-membership.ts';
import { checkSeeds, type SeedSpec } from './seeds.ts';
import { Transfers, type TransferConfig } from './transfers.ts';
import { PendingRemovals, removalCommitted } from './removals.ts';
import { Handoff } from './handoff.ts';
import { hintCensus } from './hint-census.ts';
import { HANDOFF_DEFAULTS, HintStore, validateHandoffConfig, type HandoffConfig } from '../handoff/index.ts';

/** Everything a node is built from; the caller owns `transport` (and closes it after `stop`). */
export interface NodeOptions {
  readonly runtime: Runtime;
  readonly id: NodeId;
  /** Where peers reach this node; a seed with this address is this node. */
  readonly address: Address;
  /** Failure domain (rack / zone), '' when unset. */
  readonly zone?: string;
  /** Bootstrap list: any live member lets this node learn the whole cluster (ids, if given, are not needed). */
  readonly seeds: readonly SeedSpec[];
  /** Not yet opened: the node opens it in start() and closes it in stop(). */
  readonly storage: Storage;
  readonly transport: Transport;
  readonly partitionCount: number;
  readonly replication: ReplicationConfig;
  /** Membership tunables (gossip and probe intervals, autoJoin, bootstrapExpectCount, ...); partitionCount and replicas come from above. */
  readonly membership?: Partial<MembershipConfig>;
  /** Partition transfer tunables. */
  readonly transfers?: Partial<TransferConfig>;
  /** The background budget shared by partition streaming, anti-entropy and hint replay. */
  readonly background?: AdmissionConfig;
  /** Hinted handoff settings (on by default). */
  readonly handoff?: Partial<HandoffConfig>;
  /** Where hinted handoff and anti-entropy count what they do (hintStored, antiEntropyRepaired, ...); default noopMetrics. */
  readonly metrics?: Metrics;
  /** Merkle-tree anti-entropy and tombstone GC (lib/node/anti-entropy.ts): on by default, with defaultAntiEntropyConfig(). */
  readonly antiEntropy?: { readonly enabled?: boolean; readonly config?: Partial<AntiEntropyConfig> };
  /** Signs and checks client contexts (the same secrets on every node); default: the public default secret. */
  readonly contexts?: ContextCodec;
}

/** Background budget: 32 MiB/s sustained, 4 MiB burst, two transfers at once. */
export const BACKGROUND_DEFAULTS: AdmissionConfig = {
  bytesPerSecond: 32 << 20,
  burstBytes: 4 << 20,
  concurrencyMax: { 'anti-entropy': 1, 'hint-replay': 1, 'partition-stream': 2 },
};

type State = 'new' | 'starting' | 'running' | 'stopped';

/** How long a node that knows its ring waits to hear from peers before it serves anyway. */
export const READY_GRACE_MS = 5000;

/** One Dynamo node. Handlers exist from construction but serve only between start() and stop(). */
export class DynamoNode {
  /** Client KV operations, coordinated by this node. */
  readonly kv: KvHandler;
  /** Operator status and membership commands. */
  readonly admin: AdminHandler;
  /** Requests from other nodes; 'identify' is answered even while starting. */
  readonly peer: PeerHandler;
  readonly id: NodeId;
  readonly #opts: NodeOptions;
  readonly #logger: Logger;
  readonly #membership: GossipMembership;
  readonly #admission: BackgroundAdmission;
  readonly #antiEntropy: AntiEntropy;
  #transfers: Transfers | undefined;
  #handoff: Handoff | undefined;
  /** The hints on this node's disk (open once started, whether or not hinted handoff is on). */
  #hintStore: HintStore | undefined;
  readonly #handoffConfig: HandoffConfig;
  #state: State = 'new';
  #coordinator: Coordinator | undefined;
  /** Set once this node has left the ring (decommissioned or removed): it serves no more requests. */
  #departed: 'left' | 'removed' | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #startedAtMs = 0;
  /** Events of the membership step running now (to answer a command). */
  #stepEvents: MembershipEvent[] | undefined;
  readonly #removals: PendingRemovals;

  constructor(opts: NodeOptions) {
    if (opts.id === '') throw new InvalidArgumentError('node id must not be empty');
    if (!Number.isInteger(opts.partitionCount) || opts.partitionCount < 1) {
      throw new InvalidArgumentError(`partition count must be a positive integer, got ${opts.partitionCount}`);
    }
    if (!Number.isInteger(opts.replication.replicas) || opts.replication.replicas < 1) {
      throw new InvalidArgumentError(`replicas must be a positive integer, got ${opts.replication.replicas}`);
    }
    checkSeeds(opts.seeds);
    this.#opts = opts;
    this.id = opts.id;
    this.#logger = opts.runtime.logger;
    this.#removals = new PendingRemovals(opts.runtime.time);
    this.#handoffConfig = validateHandoffConfig({ ...HANDOFF_DEFAULTS, ...opts.handoff });
    const aaeConfig = validateAntiEntropyConfig(opts.antiEntropy?.config);
    const aaeEnabled = opts.antiEntropy?.enabled ?? true;
    this.#admission = new BackgroundAdmission(opts.background ?? BACKGROUND_DEFAULTS, opts.runtime.time.monotonicMs());
    this.#membership = new GossipMembership({
      runtime: opts.runtime,
      self: { id: opts.id, address: opts.address, ...(opts.zone === undefined ? {} : { zone: opts.zone }) },
      seeds: opts.seeds.map((s) => s.address).filter((a) => a !== opts.address),
      seedIds: opts.seeds.flatMap((s) => (s.id === undefined ? [] : [s.id])),
      transport: opts.transport,
      storage: opts.storage,
      config: { ...opts.membership, partitionCount: opts.partitionCount, replicas: opts.replication.replicas },
      onEvent: (e) => this.#onMembershipEvent(e),
    });
    this.#antiEntropy = new AntiEntropy({
      runtime: opts.runtime,
      self: opts.id,
      storage: opts.storage,
      admission: this.#admission,
      config: aaeConfig,
      enabled: aaeEnabled,
      cluster: () => this.#membership.clusterView(),
      generations: () => new Map((this.#membership.membership?.records() ?? []).map((r) => [r.id, r.generation])),
      request: (to, req, timeoutMs) => opts.transport.request(to, req, timeoutMs),
      merge: (partition, key, record) => this.#serving().mergeRecord(partition, key, record),
      purge: (partition, key, decide) => this.#serving().purgeRecord(partition, key, decide),
      hintCensus: (partition, key) =>
        hintCensus(
          {
            self: opts.id,
            ring: () => this.#membership.view()?.ringState,
            addressOf: (id) => this.#membership.view()?.addressOf(id),
            isUp: (id) => this.#membership.view()?.isUp(id) ?? false,
            localHints: async (p, k) => this.#hintStore?.read(p, k),
            request: (to, req, timeoutMs) => opts.transport.request(to, req, timeoutMs),
          },
          partition,
          key,
        ),
      ...(opts.metrics === undefined ? {} : { metrics: opts.metrics }),
      requests: () => this.#coordinator?.requestsHandled ?? 0,
    });
    this.kv = {
      get: async (cmd) => this.#serving().get(cmd),
      put: async (cmd) => this.#serving().put(cmd),
      delete: async (cmd) => this.#serving().delete(cmd),
    };
    this.peer = async (req, timeoutMs) => this.#peer(req, timeoutMs);
    this.admin = {
      status: async () => this.#status(),
      join: async () => this.#command({ type: 'join' }),
      decommission: async () => this.#command({ type: 'leave' }),
      remove: async (node) => this.#command({ type: 'remove', node }),
      ring: async () => this.#ringStatus(),
      repair: async (partition) => {
        this.#serving();
        return this.#antiEntropy.repair(partition);
      },
    };
  }

  /** Hints this node holds for other nodes (keys); 0 with hinted handoff off. */
  get hintsHeld(): number {
    return this.#handoff?.status().pending.reduce((n, p) => n + p.keys, 0) ?? 0;
  }

  /** The actor this node mints new versions under now (`id.epoch`, fresh per life), known once started. */
  get actor(): Actor | undefined {
    return this.#coordinator?.actor;
  }

  /**
   * True once started, a ring is known and every ring node is in the member
   * table (a restarted node knows its ring from disk but must hear from a
   * peer before it can tell who is up) — or, should no peer answer (the whole
   * cluster restarting), once READY_GRACE_MS have passed — and until this node leaves.
   */
  get ready(): boolean {
    if (this.#state !== 'running' || this.#departed !== undefined) return false;
    const view = this.#membership.view();
    if (view?.ring === undefined || view.ringState === undefined) return false;
    if (this.#opts.runtime.time.monotonicMs() - this.#startedAtMs >= READY_GRACE_MS) return true;
    // A ring node with generation 0 is only a name from the ring: no record of it has arrived yet.
    const known = new Set(view.members().filter((m) => m.generation > 0).map((m) => m.id));
    return view.ringState.members.every((id) => known.has(id)) && view.ringState.moving.every((m) => m.holders.every((id) => known.has(id)));
  }

  /** The membership view (who is up, the ring, placement); undefined before start. */
  membershipView(): MembershipView | undefined {
    return this.#membership.view();
  }

  /** 'left' or 'removed' once this node is no longer part of the ring. */
  get departed(): 'left' | 'removed' | undefined {
    return this.#departed;
  }

  /**
   * Open storage, check its partition count, mint this life's actor epoch,
   * then start membership. Resolves without waiting for peers: requests are
   * answered UNAVAILABLE until a ring is known.
   */
  start(): Promise<void> {
    assert(this.#state === 'new', `start() called on a node that is ${this.#state}`);
    this.#state = 'starting';
    this.#startedAtMs = this.#opts.runtime.time.monotonicMs();
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { storage, runtime, partitionCount } = this.#opts;
    await storage.open();
    try {
      await checkPartitionCount(storage, partitionCount);
      // Before anything of this life is written: saved trees are trusted only until then.
      await this.#antiEntropy.open();
      // Opened even with hinted handoff off: hints a life with it on left behind are still
      // reported to tombstone GC's census (hint-census.ts), though not delivered.
      this.#hintStore = new HintStore(storage, this.#handoffConfig, runtime.logger.child('handoff'), this.#opts.metrics);
      await this.#hintStore.open();
      const hints = this.#handoffConfig.enabled ? this.#hintStore : undefined;
      const coordinator = new Coordinator({
        runtime,
        config: this.#opts.replication,
        storage,
        // Replies count as liveness for the failure detector's probes (FailureDetector.heardFrom).
        transport: {
          request: (to, req, timeoutMs) =>
            this.#opts.transport.request(to, req, timeoutMs).then((res) => {
              if (res.ok) this.#membership.heardFrom(to);
              return res;
            }),
        },
        nodeId: this.id,
        cluster: () => this.#membership.clusterView(),
        versionDigest,
        valueHash,
        ...(this.#opts.contexts === undefined ? {} : { contexts: this.#opts.contexts }),
        ...(hints === undefined
          ? {}
          : {
              hints: {
                store: (target, partition, key, record) => hints.store(target, partition, key, record, runtime.time.nowMs()),
                read: (partition, key) => hints.read(partition, key),
              },
            }),
        ...(this.#antiEntropy.enabled ? { observer: this.#antiEntropy } : {}),
      });
      this.#coordinator = coordinator;
      if (hints !== undefined) {
        this.#handoff = new Handoff({
          time: runtime.time,
          logger: runtime.logger.child('handoff'),
          store: hints,
          config: this.#handoffConfig,
          self: this.id,
          cluster: () => this.#membership.clusterView(),
          upMembers: () => (this.#membership.view()?.members() ?? []).filter((m) => m.liveness === 'up' && (m.lifecycle === 'member' || m.lifecycle === 'joining')).map((m) => m.id),
          inRing: (id) => {
            const ring = this.#membership.view()?.ringState;
            return ring === undefined || ring.members.includes(id) || ring.moving.some((m) => m.holders.includes(id));
          },
          request: (to, req, timeoutMs) => this.#opts.transport.request(to, req, timeoutMs),
          mergeLocal: (partition, key, record) => coordinator.mergeRecord(partition, key, record),
          admission: this.#admission,
        });
      }
      this.#transfers = new Transfers(
        {
          time: runtime.time,
          logger: runtime.logger.child('transfer'),
          storage,
          request: (to, req, timeoutMs) => this.#opts.transport.request(to, req, timeoutMs),
          merge: (partition, key, record) => coordinator.mergeRecord(partition, key, record),
          addressOf: (id) => this.#membership.view()?.addressOf(id),
          isUp: (id) => this.#membership.view()?.isUp(id) ?? false,
          complete: (partition, planId) => this.#membership.command({ type: 'transfer-complete', partition, planId }),
          clusterHolds: (planId) => this.#clusterHolds(planId),
          holds: (partition) => this.#membership.clusterView()?.replicas(partition).reads.includes(this.id) ?? false,
          admission: this.#admission,
        },
        this.#opts.transfers,
      );
      if (this.#stopping !== undefined) return; // stop() arrived while storage was opening
      await this.#membership.start();
      this.#handoff?.start();
    } catch (e) {
      this.#state = 'stopped';
      await storage.close().catch(() => {});
      throw e;
    }
    if (this.#stopping !== undefined) return;
    this.#state = 'running';
    this.#antiEntropy.start();
    this.#logger.info('node started', {
      actor: this.#coordinator!.actor,
      engine: storage.engine,
      partitionCount,
      replicas: this.#opts.replication.replicas,
    });
  }

  /** Tell peers we are going, let the coordinator finish in-flight work, close storage. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#starting !== undefined) await this.#starting.catch(() => {});
    // Hand hints over while peers and the transport are still there (bounded: the rest stays on disk for the next life).
    await this.#handoff?.stop(this.#state === 'running' ? this.#handoffConfig.drainOnStopMs : 0);
    this.#membership.stop();
    this.#transfers?.stop();
    this.#removals.close(this.id);
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    try {
      await this.#antiEntropy.stop();
      await this.#coordinator?.close();
      // Every write of this life has settled: the trees match storage.
      await this.#antiEntropy.persist().catch((e: unknown) => this.#logger.warn('could not save the anti-entropy trees; they are rebuilt at the next start', { error: e }));
    } finally {
      await this.#opts.storage.close();
    }
    this.#logger.info('node stopped');
  }

  async #peer(req: PeerRequest, timeoutMs: number): Promise<PeerReply> {
    switch (req.type) {
      case 'identify':
        return { type: 'identify', nodeId: this.id, partitionCount: this.#opts.partitionCount, replicas: this.#opts.replication.replicas };
      case 'membership':
        if (this.#state !== 'running') throw new UnavailableError(`node ${this.id} is ${this.#state}`, { answered: 0, required: 0 });
        this.#membership.receive(req.packet);
        return { type: 'membership' };
      case 'transfer':
        return this.#running('transfer').serve(req, undefined);
      case 'tree':
        this.#serving();
        return this.#antiEntropy.serve(req);
      case 'read':
        // With hinted handoff off this node stands in for no one, but tombstone GC's census
        // (hint-census.ts) still needs to hear what hints it holds: none, unless an earlier life left some.
        if (req.hinted === true && !this.#handoffConfig.enabled) {
          this.#serving();
          const held = await this.#hintStore?.read(partitionOf(req.key, this.#opts.partitionCount), req.key);
          return { type: 'read', record: held === undefined ? undefined : encodeRecord(held) };
        }
        return this.#serving().handlePeer(req, timeoutMs);
      default:
        return this.#serving().handlePeer(req, timeoutMs);
    }
  }

  #serving(): Coordinator {
    if (this.#state === 'stopped') throw new ClosedError(`node ${this.id} is stopped`);
    if (this.#departed !== undefined) throw new ClosedError(`node ${this.id} has ${this.#departed === 'left' ? 'left' : 'been removed from'} the cluster`);
    if (this.#state !== 'running' || this.#coordinator === undefined) {
      throw new UnavailableError(`node ${this.id} is starting`, { answered: 0, required: 0 });
    }
    return this.#coordinator;
  }

  #running(what: string): Transfers {
    if (this.#state !== 'running' || this.#transfers === undefined) throw new UnavailableError(`node ${this.id} cannot serve ${what}: it is ${this.#state}`, { answered: 0, required: 0 });
    return this.#transfers;
  }

  #onMembershipEvent(e: MembershipEvent): void {
    this.#stepEvents?.push(e);
    switch (e.type) {
      case 'ring-changed':
        this.#removals.onRing(e.state);
        break;
      case 'command-rejected':
        if (e.command === 'remove') this.#removals.onRejected(e.reason);
        break;
      case 'transfers-assigned':
        this.#transfers?.assign(e.planId, e.transfers.map((t) => ({ partition: t.partition, sources: this.#pullSources(t.partition, t.sources) })));
        break;
      case 'partitions-released':
        this.#antiEntropy.released(e.partitions, this.#transfers?.release(e.partitions) ?? Promise.resolve());
        break;
      case 'member-up':
        this.#handoff?.kick();
        break;
      case 'departed':
        this.#departed = e.status;
        if (e.status === 'left') this.#handoff?.leaving();
        this.#logger.info(e.status === 'left' ? 'this node has left the cluster (decommissioned)' : 'this node was removed from the cluster', {});
        break;
      case 'superseded':
        this.#logger.error('another process runs this node id with a newer generation; this one stops', { generation: e.generation });
        void this.stop();
        break;
    }
  }

  /** Run a membership command; refused ones reject with InvalidArgumentError naming why. */
  async #command(input: { type: 'join' } | { type: 'leave' } | { type: 'remove'; node: NodeId }): Promise<void> {
    if (this.#state !== 'running') throw new UnavailableError(`node ${this.id} is ${this.#state}`, { answered: 0, required: 0 });
    if (input.type === 'remove' && (typeof input.node !== 'string' || input.node === '')) throw new InvalidArgumentError('remove needs a node id');
    if (input.type === 'remove') {
      // Asked again (a caller whose first call timed out while the claimant committed it): already done.
      const state = this.#membership.view()?.ringState;
      const node = input.node;
      if (removalCommitted(state, node) && state?.departed.some((d) => d.id === node && d.status === 'removed')) return;
    }
    const events: MembershipEvent[] = [];
    this.#stepEvents = events;
    try {
      this.#membership.command(input);
    } finally {
      this.#stepEvents = undefined;
    }
    const rejected = events.find((e) => e.type === 'command-rejected');
    if (rejected !== undefined && rejected.type === 'command-rejected') throw new InvalidArgumentError(`${input.type === 'leave' ? 'decommission' : input.type}: ${rejected.reason}`);
    if (input.type === 'remove' && !removalCommitted(this.#membership.view()?.ringState, input.node)) await this.#removals.wait(input.node);
  }

  /**
   * Whom to stream a gained partition from: the holders the target ring
   * drops (the replicas this node replaces), so the new replica set holds
   * exactly what the old one did; if none is left (they were removed), every
   * surviving holder, merged.
   */
  #pullSources(partition: number, holders: readonly NodeId[]): NodeId[] {
    const ring = this.#membership.view()?.ring;
    if (ring === undefined) return [...holders];
    const target = preferenceList(ring, partition, this.#opts.replication.replicas);
    const replaced = holders.filter((h) => !target.includes(h));
    return replaced.length > 0 ? replaced : [...holders];
  }

  /** Whether every live ring member holds ring version >= `planId` (a holder's barrier before streaming a partition out). */
  #clusterHolds(planId: number): boolean {
    const view = this.#membership.view();
    if (view === undefined || view.ringVersion < planId) return false;
    return view.members().every((m) => m.liveness !== 'up' || m.lifecycle === 'idle' || m.lifecycle === 'left' || m.lifecycle === 'removed' || m.ringVersion >= planId);
  }

  async #ringStatus(): Promise<RingStatus> {
    const view = this.#membership.view();
    const ring = view?.ring;
    const replicas = this.#opts.replication.replicas;
    const state = view?.ringState;
    return {
      nodeId: this.id,
      version: view?.ringVersion ?? 0,
      checksum: ring?.checksum ?? 0,
      partitionCount: this.#opts.partitionCount,
      replicas,
      owners: ring?.owners ?? [],
      replicaSets: ring === undefined ? [] : Array.from({ length: ring.partitionCount }, (_, p) => preferenceList(ring, p, replicas)),
      moving:
        state === undefined || ring === undefined
          ? []
          : state.moving.map((m) => ({ partition: m.partition, holders: [...m.holders], target: preferenceList(ring, m.partition, replicas) })),
    };
  }

  async #status(): Promise<NodeStatus> {
    const view = this.#membership.view();
    const ring = view?.ring;
    const stats = this.#coordinator?.stats();
    const probes = this.#membership.membership?.stats();
    const members = (view?.members() ?? []).filter((m) => m.lifecycle !== 'left' && m.lifecycle !== 'removed').map((m) => memberStatus(m));
    return {
      nodeId: this.id,
      members: members.length > 0 ? members : [{ id: this.id, address: this.#opts.address, reachable: true, partitionsOwned: 0, self: true, state: 'joining' }],
      partitionCount: this.#opts.partitionCount,
      replicas: this.#opts.replication.replicas,
      engine: this.#opts.storage.engine,
      ready: this.ready,
      readRepairs: stats?.readRepairs ?? 0,
      digestMismatches: stats?.digestMismatches ?? 0,
      probes: probes?.probes ?? 0,
      probesFailed: probes?.probesFailed ?? 0,
      summaryReads: stats?.summaryReads ?? 0,
      summaryFallbacks: stats?.summaryFallbacks ?? 0,
      gets: stats?.gets ?? 0,
      puts: stats?.puts ?? 0,
      deletes: stats?.deletes ?? 0,
      ringChecksum: ring?.checksum ?? 0,
      partitionOwners: ring?.owners ?? [],
      ringVersion: view?.ringVersion ?? 0,
      transfers: this.#transfers?.status() ?? [],
      hints: this.#handoff?.status() ?? { enabled: false, stored: 0, delivered: 0, dropped: 0, pending: [] },
      antiEntropy: this.#antiEntropy.status(),
      ...(stats === undefined
        ? {}
        : {
            safety: {
              actor: this.#coordinator!.actor,
              actorsRetired: stats.actorsRetired,
              recordsSetAside: stats.setAside,
              dotConflicts: stats.dotConflicts,
              localWriteFailures: stats.localWriteFailures,
              contextClamps: stats.contextClamps,
              contextCatchUps: stats.contextCatchUps,
              siblingCapRefusals: stats.siblingCapRefusals,
              contextsRefused: stats.contextsRefused,
            },
          }),
    };
  }
}

/** A member as `dynamo status` shows it: exactly one state of up, down, joining, leaving. */
function memberStatus(m: MemberInfo): MemberStatus {
  const state: MemberState = m.lifecycle === 'joining' ? 'joining' : m.lifecycle === 'leaving' ? 'leaving' : m.liveness === 'up' ? 'up' : 'down';
  return {
    id: m.id,
    address: m.address,
    reachable: m.self || m.liveness === 'up',
    partitionsOwned: m.partitionsOwned,
    self: m.self,
    state,
    ownershipPct: m.ownershipPct,
    partitionsHeld: m.partitionsHeld,
    generation: m.generation,
    zone: m.zone,
  };
}
