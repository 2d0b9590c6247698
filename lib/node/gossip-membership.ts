/**
 * The node's driver of the membership state machine (lib/membership): one
 * timer re-armed at each step's `wakeAtMs`, membership packets carried as
 * best-effort peer requests (their replies are only receipts), the ring state
 * persisted on every change and reloaded at start, a generation higher than
 * any earlier start of this node, and the state machine's events turned into
 * the node's actions (transfers, releases, leaving). It also adapts the
 * membership view into the ClusterView the coordinator routes by.
 */
import { assert, type Logger, type Runtime, type TimerHandle } from '../runtime/index.ts';
import type { Address, MembershipPacket, NodeId, RingStateRecord } from '../protocol/index.ts';
import {
  Membership,
  type MembershipConfig,
  type MembershipEvent,
  type MembershipInput,
  type MembershipView,
} from '../membership/index.ts';
import type { ClusterView } from '../replication/index.ts';
import type { Storage } from '../storage/index.ts';
import { decodeRingState, encodeRingState, type Transport } from '../transport/index.ts';

/** Storage meta names: the generation of the last start and the ring state last adopted. */
export const META_GENERATION = 'membership/generation';
export const META_RING_STATE = 'membership/ring-state';

export interface GossipMembershipOptions {
  readonly runtime: Runtime;
  readonly self: { readonly id: NodeId; readonly address: Address; readonly zone?: string };
  /** Bootstrap addresses (`--seeds`). */
  readonly seeds: readonly Address[];
  /** Node ids the seed list names (`id@host:port`). */
  readonly seedIds?: readonly NodeId[];
  readonly transport: Transport;
  /** Open storage (meta for the generation and the ring state). */
  readonly storage: Storage;
  readonly config: Partial<MembershipConfig> & Pick<MembershipConfig, 'partitionCount' | 'replicas'>;
  /** Called with every event after the step that produced it (transfers, releases, leaving). */
  readonly onEvent: (e: MembershipEvent) => void;
}

/** Deadline of a membership packet's delivery (its loss is tolerated; this only bounds the request). */
const PACKET_TIMEOUT_MS = 2000;

/** Drives one node's Membership. */
export class GossipMembership {
  readonly #opts: GossipMembershipOptions;
  readonly #logger: Logger;
  #membership: Membership | undefined;
  /** The routing view made of the membership view `of` (clusterView). */
  #cluster: { readonly of: MembershipView; readonly view: ClusterView } | undefined;
  #timer: TimerHandle | undefined;
  #wakeAtMs = Number.POSITIVE_INFINITY;
  #stopped = false;
  /** The last ring state persisted (so an unchanged one is not written again). */
  #persisted = 0;

  constructor(opts: GossipMembershipOptions) {
    this.#opts = opts;
    this.#logger = opts.runtime.logger.child('membership');
  }

  /**
   * Load the persisted ring state and generation, persist the next
   * generation (before any packet carries it), and start the state machine.
   */
  async start(): Promise<void> {
    const { storage, runtime } = this.#opts;
    const stored = await storage.getMeta(META_GENERATION);
    const previous = stored === undefined || stored.length !== 8 ? 0 : Number(new DataView(stored.buffer, stored.byteOffset, 8).getBigUint64(0));
    // Higher than any earlier start even if the data dir (and its counter) was lost or restored from a
    // backup: wall-clock time, as Cassandra does — in milliseconds, since two starts within one second
    // (a restore, or a power loss that dropped the unsynced counter) would otherwise reuse a generation
    // and the cluster would take the new life's gossip for the old one's, believing it down for good.
    const generation = Math.max(previous + 1, Math.floor(runtime.time.nowMs()));
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(generation));
    await storage.putMeta(META_GENERATION, bytes);
    const ringBytes = await storage.getMeta(META_RING_STATE);
    let ringState: RingStateRecord | undefined;
    if (ringBytes !== undefined) {
      try {
        ringState = decodeRingState(ringBytes);
      } catch (e) {
        this.#logger.error('the persisted ring state does not decode; starting without it (gossip brings the current one)', { error: e });
      }
    }
    if (ringState !== undefined && (ringState.partitionCount !== this.#opts.config.partitionCount || ringState.replicas !== this.#opts.config.replicas)) {
      this.#logger.error('the persisted ring state has another partition count or N; starting without it', {
        partitionCount: ringState.partitionCount,
        replicas: ringState.replicas,
      });
      ringState = undefined;
    }
    this.#persisted = ringState?.checksum ?? 0;
    this.#membership = new Membership({
      self: this.#opts.self,
      generation,
      seeds: this.#opts.seeds,
      ...(this.#opts.seedIds === undefined ? {} : { seedIds: this.#opts.seedIds }),
      config: this.#opts.config,
      random: runtime.random,
      nowMs: runtime.time.monotonicMs(),
      ...(ringState === undefined ? {} : { ringState }),
    });
    this.#logger.info('membership started', { generation, ringVersion: ringState?.version ?? 0, seeds: [...this.#opts.seeds] });
    this.#step({ type: 'tick', nowMs: runtime.time.monotonicMs() });
  }

  /** Tell peers this node is going, and stop. */
  stop(): void {
    if (this.#stopped) return;
    if (this.#membership !== undefined && !this.#membership.stopped) this.#step({ type: 'shutdown', nowMs: this.#opts.runtime.time.monotonicMs() });
    this.#stopped = true;
    if (this.#timer !== undefined) this.#opts.runtime.time.cancelTimer(this.#timer);
    this.#timer = undefined;
  }

  /** A membership packet from a peer. */
  receive(packet: MembershipPacket): void {
    if (this.#membership === undefined || this.#stopped) return;
    this.#step({ type: 'packet', packet, nowMs: this.#opts.runtime.time.monotonicMs() });
  }

  /** A reply from the peer at `address` arrived (Membership.heardFrom). */
  heardFrom(address: Address): void {
    if (this.#stopped) return;
    this.#membership?.heardFrom(address);
  }

  /** An operator command or a transfer report. */
  command(input: { type: 'join' } | { type: 'leave' } | { type: 'remove'; node: NodeId } | { type: 'transfer-complete'; partition: number; planId: number }): void {
    assert(this.#membership !== undefined, 'membership command before start');
    this.#step({ ...input, nowMs: this.#opts.runtime.time.monotonicMs() });
  }

  /** The membership view (undefined before start). */
  view(): MembershipView | undefined {
    return this.#membership?.view();
  }

  /** This node's own record. */
  get membership(): Membership | undefined {
    return this.#membership;
  }

  /**
   * What the coordinator routes by; undefined until a ring is known. Made
   * once per membership view (a new view object on every change), not per
   * call: every request asks for it, several times.
   */
  clusterView(): ClusterView | undefined {
    const v = this.#membership?.view();
    if (v === undefined || v.ring === undefined) return undefined;
    if (this.#cluster?.of !== v) {
      const ring = v.ring;
      this.#cluster = {
        of: v,
        view: {
          self: v.self,
          ring,
          ringVersion: v.ringVersion,
          addressOf: (id) => v.addressOf(id),
          replicas: (partition) => v.replicas(partition),
          isUp: (id) => v.isUp(id),
          isSuspected: (id) => v.liveness(id) === 'suspect',
        },
      };
    }
    return this.#cluster.view;
  }

  #step(input: MembershipInput): void {
    const m = this.#membership;
    if (m === undefined || this.#stopped) return;
    const effects = m.step(input);
    for (const { to, packet } of effects.packets) this.#send(to, packet);
    for (const e of effects.events) this.#onEvent(e);
    this.#arm(effects.wakeAtMs);
  }

  #send(to: Address, packet: MembershipPacket): void {
    void this.#opts.transport.request(to, { type: 'membership', packet }, PACKET_TIMEOUT_MS).then((r) => {
      if (!r.ok) this.#logger.trace('membership packet not delivered', { to, type: packet.type, error: r.error.message });
    });
  }

  #onEvent(e: MembershipEvent): void {
    switch (e.type) {
      case 'ring-changed':
        this.#logger.info('ring changed', { version: e.version, previousVersion: e.previousVersion, claimant: e.claimant, planId: e.planId });
        this.#persist(e.state);
        break;
      case 'member-up':
      case 'member-down':
      case 'member-suspect':
        this.#logger.info(e.type === 'member-up' ? 'member up' : e.type === 'member-down' ? 'member down' : 'member suspected', {
          peer: e.id,
          ...(e.type === 'member-up' ? { generation: e.generation } : {}),
        });
        break;
      case 'config-mismatch':
        this.#logger.error('a peer runs with another ring configuration; it is not gossiped with', { peer: e.peer, partitionCount: e.partitionCount, replicas: e.replicas });
        break;
      case 'command-rejected':
        this.#logger.warn('membership command rejected', { command: e.command, reason: e.reason });
        break;
      default:
        this.#logger.info(`membership: ${e.type}`, { ...e });
    }
    this.#opts.onEvent(e);
  }

  #persist(state: RingStateRecord): void {
    if (state.checksum === this.#persisted) return;
    this.#persisted = state.checksum;
    this.#opts.storage.putMeta(META_RING_STATE, encodeRingState(state)).catch((e: unknown) => {
      this.#logger.error('could not persist the ring state; a restart will learn it from its peers', { version: state.version, error: e });
    });
  }

  #arm(wakeAtMs: number): void {
    if (this.#stopped || !Number.isFinite(wakeAtMs)) return;
    if (this.#timer !== undefined && wakeAtMs >= this.#wakeAtMs) return;
    if (this.#timer !== undefined) this.#opts.runtime.time.cancelTimer(this.#timer);
    const time = this.#opts.runtime.time;
    this.#wakeAtMs = wakeAtMs;
    this.#timer = time.setTimer(Math.max(0, wakeAtMs - time.monotonicMs()), () => {
      this.#timer = undefined;
      this.#wakeAtMs = Number.POSITIVE_INFINITY;
      this.#step({ type: 'tick', nowMs: time.monotonicMs() });
    });
  }
}
