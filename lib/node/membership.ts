/**
 * Static membership bootstrap: the member set is the seed list plus this
 * node. Seeds named with an id join at once; anonymous seeds are asked who
 * they are (IdentifyRequest), retried until they answer. Once every seed is
 * resolved the ring is claimed — deterministically, so every node that saw
 * the same members builds the same ring — and the cluster view turns ready.
 */
import { assert, type Logger, type Runtime, type TimerHandle } from '../runtime/index.ts';
import type { Address, IdentifyReply, Member, NodeId } from '../protocol/index.ts';
import { claim, preferenceList, type Ring } from '../ring/index.ts';
import type { ClusterView } from '../replication/index.ts';
import type { Transport } from '../transport/index.ts';
import type { SeedSpec } from './seeds.ts';

/** Pause between identify attempts to a seed that did not answer. */
export const IDENTIFY_RETRY_MS = 500;
/** How long one identify attempt waits for its answer. */
export const IDENTIFY_TIMEOUT_MS = 1000;
/** Default pause between liveness probes of every other member (0 turns probing off). */
export const PROBE_INTERVAL_MS_DEFAULT = 1000;

export interface StaticMembershipOptions {
  readonly runtime: Runtime;
  readonly self: Member;
  readonly seeds: readonly SeedSpec[];
  readonly transport: Transport;
  readonly partitionCount: number;
  readonly replicas: number;
  /**
   * Once the ring is built, ask every other member who it is this often, so
   * `reachable` reflects a peer that died or came back within one interval
   * (not only after a request failed) and connections to a restarted peer are
   * re-established before a client request needs them. A placeholder for the
   * SWIM failure detector; 0 turns it off (the simulator's default).
   */
  readonly probeIntervalMs?: number;
}

/** Tracks which seeds are identified and owns the ring built from them. */
export class StaticMembership {
  readonly #opts: StaticMembershipOptions;
  readonly #logger: Logger;
  readonly #members = new Map<NodeId, Address>();
  /** Anonymous seed addresses not identified yet. */
  readonly #unidentified = new Set<Address>();
  readonly #timers = new Map<Address, TimerHandle>();
  #view: ClusterView | undefined;
  /** Outcome of the last probe of each member (absent: not probed yet). */
  readonly #probed = new Map<NodeId, boolean>();
  #probeTimer: TimerHandle | undefined;
  #started = false;
  #stopped = false;

  constructor(opts: StaticMembershipOptions) {
    this.#opts = opts;
    this.#logger = opts.runtime.logger;
    const self = opts.self;
    this.#members.set(self.id, self.address);
    for (const seed of opts.seeds) {
      if (seed.id === self.id || seed.address === self.address) {
        if (seed.id !== undefined && seed.id !== self.id) {
          this.#logger.warn('a seed names this node\'s address with another id; treating it as this node', { seed: seed.address, seedId: seed.id });
        }
        continue;
      }
      if (seed.id !== undefined) this.#members.set(seed.id, seed.address);
      else this.#unidentified.add(seed.address);
    }
  }

  /** What this node answers to an IdentifyRequest. */
  identifyReply(): IdentifyReply {
    return { type: 'identify', nodeId: this.#opts.self.id, partitionCount: this.#opts.partitionCount, replicas: this.#opts.replicas };
  }

  /** The ring and member addresses once every seed is identified; undefined while joining. */
  view(): ClusterView | undefined {
    return this.#view;
  }

  get ring(): Ring | undefined {
    return this.#view?.ring;
  }

  /** Members known so far, self included, sorted by id. */
  members(): Member[] {
    return [...this.#members].map(([id, address]) => ({ id, address })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Begin identifying anonymous seeds (or build the ring at once when there are none). */
  start(): void {
    assert(!this.#started, 'membership started twice');
    this.#started = true;
    if (this.#unidentified.size === 0) {
      this.#buildRing();
      return;
    }
    this.#logger.info('identifying seeds', { seeds: [...this.#unidentified].sort() });
    for (const address of [...this.#unidentified].sort()) this.#identify(address, 1);
  }

  /** Whether the last probe of `id` was answered; undefined before the first probe. */
  probed(id: NodeId): boolean | undefined {
    return this.#probed.get(id);
  }

  /** Cancel retries and probes; answers still in flight are ignored. */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) this.#opts.runtime.time.cancelTimer(t);
    this.#timers.clear();
    if (this.#probeTimer !== undefined) this.#opts.runtime.time.cancelTimer(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  #scheduleProbe(): void {
    const interval = this.#opts.probeIntervalMs ?? 0;
    if (interval <= 0 || this.#stopped) return;
    this.#probeTimer = this.#opts.runtime.time.setTimer(interval, () => {
      this.#probeTimer = undefined;
      const view = this.#view;
      if (view === undefined || this.#stopped) return;
      const rounds = view.ring.members
        .filter((id) => id !== this.#opts.self.id)
        .map(async (id) => {
          const address = view.addressOf(id);
          if (address === undefined) return;
          const r = await this.#opts.transport.request(address, { type: 'identify' }, Math.min(IDENTIFY_TIMEOUT_MS, interval));
          const up = r.ok && r.value.nodeId === id;
          if (this.#probed.get(id) !== up && this.#probed.has(id)) this.#logger.info(up ? 'peer is reachable again' : 'peer stopped answering', { peer: id, address });
          this.#probed.set(id, up);
        });
      void Promise.all(rounds).then(() => this.#scheduleProbe());
    });
  }

  #identify(address: Address, attempt: number): void {
    this.#timers.delete(address);
    if (this.#stopped) return;
    void this.#opts.transport.request(address, { type: 'identify' }, IDENTIFY_TIMEOUT_MS).then((r) => {
      if (this.#stopped) return;
      if (r.ok) {
        this.#identified(address, r.value);
        return;
      }
      // The first miss is worth a line (a seed still booting); the rest would flood the log.
      const log = attempt === 1 ? this.#logger.info.bind(this.#logger) : this.#logger.trace.bind(this.#logger);
      log('seed did not answer identify; retrying', { seed: address, attempt, error: r.error.message });
      this.#timers.set(
        address,
        this.#opts.runtime.time.setTimer(IDENTIFY_RETRY_MS, () => this.#identify(address, attempt + 1)),
      );
    });
  }

  #identified(address: Address, reply: IdentifyReply): void {
    if (!this.#unidentified.delete(address)) return;
    const { partitionCount, replicas, self } = this.#opts;
    if (reply.partitionCount !== partitionCount || reply.replicas !== replicas) {
      this.#logger.error('seed runs with another ring configuration; it is not added to the cluster', {
        seed: address,
        peer: reply.nodeId,
        peerPartitionCount: reply.partitionCount,
        peerReplicas: reply.replicas,
        partitionCount,
        replicas,
      });
    } else if (reply.nodeId === self.id) {
      this.#logger.warn('seed address leads back to this node; ignoring it', { seed: address });
    } else if (this.#members.has(reply.nodeId) && this.#members.get(reply.nodeId) !== address) {
      this.#logger.error('seed reports a node id already used by another member; it is not added', {
        seed: address,
        peer: reply.nodeId,
        otherAddress: this.#members.get(reply.nodeId),
      });
    } else {
      this.#members.set(reply.nodeId, address);
      this.#logger.info('seed identified', { seed: address, peer: reply.nodeId });
    }
    if (this.#unidentified.size === 0) this.#buildRing();
  }

  #buildRing(): void {
    assert(this.#view === undefined, 'ring built twice');
    const members = new Map(this.#members);
    const ring = claim([...members.keys()], this.#opts.partitionCount, { replicas: this.#opts.replicas });
    const replicas = this.#opts.replicas;
    this.#view = {
      self: this.#opts.self.id,
      ring,
      ringVersion: 0,
      addressOf: (id) => members.get(id),
      replicas: (partition) => {
        const nodes = preferenceList(ring, partition, replicas);
        return { reads: nodes, writes: nodes };
      },
      isUp: () => true,
    };
    this.#logger.info('ring ready', { members: ring.members, partitionCount: ring.partitionCount, ringChecksum: ring.checksum });
    this.#scheduleProbe();
  }
}
