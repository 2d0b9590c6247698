/**
 * DynamoNode: the composition root of one node. It owns the start/stop
 * lifecycle (storage, actor epoch, membership, coordinator) and exposes the
 * three handlers a server needs — kv, admin and peer — without knowing which
 * server or transport carries them (gRPC in process.ts, SimNetwork in lib/sim).
 */
import {
  assert,
  ClosedError,
  InvalidArgumentError,
  UnavailableError,
  type Logger,
  type Runtime,
} from '../runtime/index.ts';
import type {
  Address,
  AdminHandler,
  KvHandler,
  NodeId,
  NodeStatus,
  PeerHandler,
  RingStatus,
} from '../protocol/index.ts';
import type { Actor } from '../vclock/index.ts';
import { partitionsOwned, preferenceList } from '../ring/index.ts';
import type { Storage } from '../storage/index.ts';
import type { Transport } from '../transport/index.ts';
import { Coordinator, type ReplicationConfig } from '../replication/index.ts';
import { checkPartitionCount } from './epoch.ts';
import { StaticMembership } from './membership.ts';
import { checkSeeds, type SeedSpec } from './seeds.ts';

/** Everything a node is built from; the caller owns `transport` (and closes it after `stop`). */
export interface NodeOptions {
  readonly runtime: Runtime;
  readonly id: NodeId;
  /** Where peers reach this node; a seed with this address is this node. */
  readonly address: Address;
  /** Static membership; may include this node (recognised by id or address). */
  readonly seeds: readonly SeedSpec[];
  /** Not yet opened: the node opens it in start() and closes it in stop(). */
  readonly storage: Storage;
  readonly transport: Transport;
  readonly partitionCount: number;
  readonly replication: ReplicationConfig;
  /** Liveness probe interval (StaticMembershipOptions.probeIntervalMs); default off. */
  readonly probeIntervalMs?: number;
}

type State = 'new' | 'starting' | 'running' | 'stopped';

/** One Dynamo node. Handlers exist from construction but serve only between start() and stop(). */
export class DynamoNode {
  /** Client KV operations, coordinated by this node. */
  readonly kv: KvHandler;
  /** Operator status. */
  readonly admin: AdminHandler;
  /** Requests from other nodes; 'identify' is answered even while starting. */
  readonly peer: PeerHandler;
  readonly id: NodeId;
  readonly #opts: NodeOptions;
  readonly #logger: Logger;
  readonly #membership: StaticMembership;
  #state: State = 'new';
  #coordinator: Coordinator | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

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
    this.#membership = new StaticMembership({
      runtime: opts.runtime,
      self: { id: opts.id, address: opts.address },
      seeds: opts.seeds,
      transport: opts.transport,
      partitionCount: opts.partitionCount,
      replicas: opts.replication.replicas,
      probeIntervalMs: opts.probeIntervalMs ?? 0,
    });
    this.kv = {
      get: async (cmd) => this.#serving().get(cmd),
      put: async (cmd) => this.#serving().put(cmd),
      delete: async (cmd) => this.#serving().delete(cmd),
    };
    this.peer = async (req, timeoutMs) => {
      if (req.type === 'identify') return this.#membership.identifyReply();
      return this.#serving().handlePeer(req, timeoutMs);
    };
    this.admin = {
      status: async () => this.#status(),
      join: async () => this.#membershipCommand('join'),
      decommission: async () => this.#membershipCommand('decommission'),
      remove: async () => this.#membershipCommand('remove'),
      ring: async () => this.#ringStatus(),
    };
  }

  /** The actor this node mints new versions under now (`id.epoch`, fresh per life), known once started. */
  get actor(): Actor | undefined {
    return this.#coordinator?.actor;
  }

  /** True once started and every seed is identified (the ring exists). */
  get ready(): boolean {
    return this.#state === 'running' && this.#membership.view() !== undefined;
  }

  /**
   * Open storage, check its partition count, mint this life's actor epoch,
   * then begin seed identification. Resolves without waiting for peers:
   * requests are answered UNAVAILABLE until the ring is built.
   */
  start(): Promise<void> {
    assert(this.#state === 'new', `start() called on a node that is ${this.#state}`);
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { storage, runtime, partitionCount } = this.#opts;
    await storage.open();
    try {
      await checkPartitionCount(storage, partitionCount);
      this.#coordinator = new Coordinator({
        runtime,
        config: this.#opts.replication,
        storage,
        transport: this.#opts.transport,
        nodeId: this.id,
        cluster: () => this.#membership.view(),
      });
    } catch (e) {
      this.#state = 'stopped';
      await storage.close().catch(() => {});
      throw e;
    }
    if (this.#stopping !== undefined) return; // stop() arrived while storage was opening
    this.#state = 'running';
    this.#logger.info('node started', {
      actor: this.#coordinator.actor,
      engine: storage.engine,
      partitionCount,
      replicas: this.#opts.replication.replicas,
    });
    this.#membership.start();
  }

  /** Stop retries, let the coordinator finish in-flight work, close storage. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#membership.stop();
    if (this.#starting !== undefined) await this.#starting.catch(() => {});
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    try {
      await this.#coordinator?.close();
    } finally {
      await this.#opts.storage.close();
    }
    this.#logger.info('node stopped');
  }

  #serving(): Coordinator {
    if (this.#state === 'stopped') throw new ClosedError(`node ${this.id} is stopped`);
    if (this.#state !== 'running' || this.#coordinator === undefined) {
      throw new UnavailableError(`node ${this.id} is starting`, { answered: 0, required: 0 });
    }
    return this.#coordinator;
  }

  /** Static membership cannot change the ring (gossip membership replaces it). */
  #membershipCommand(command: string): never {
    throw new UnavailableError(`${command}: this node runs with a static member list`, { answered: 0, required: 0 });
  }

  async #ringStatus(): Promise<RingStatus> {
    const ring = this.#membership.ring;
    const replicas = this.#opts.replication.replicas;
    return {
      nodeId: this.id,
      version: ring === undefined ? 0 : 1,
      checksum: ring?.checksum ?? 0,
      partitionCount: this.#opts.partitionCount,
      replicas,
      owners: ring?.owners ?? [],
      replicaSets: ring === undefined ? [] : Array.from({ length: ring.partitionCount }, (_, p) => preferenceList(ring, p, replicas)),
      moving: [],
    };
  }

  async #status(): Promise<NodeStatus> {
    const ring = this.#membership.ring;
    const stats = this.#coordinator?.stats();
    const transport = this.#opts.transport;
    return {
      nodeId: this.id,
      members: this.#membership.members().map((m) => {
        const self = m.id === this.id;
        return {
          id: m.id,
          address: m.address,
          reachable: self || (this.#membership.probed(m.id) ?? transport.reachable(m.address)),
          partitionsOwned: ring === undefined ? 0 : partitionsOwned(ring, m.id),
          self,
        };
      }),
      partitionCount: this.#opts.partitionCount,
      replicas: this.#opts.replication.replicas,
      engine: this.#opts.storage.engine,
      ready: this.ready,
      readRepairs: stats?.readRepairs ?? 0,
      gets: stats?.gets ?? 0,
      puts: stats?.puts ?? 0,
      deletes: stats?.deletes ?? 0,
      ringChecksum: ring?.checksum ?? 0,
      partitionOwners: ring?.owners ?? [],
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
            },
          }),
    };
  }
}
