/**
 * SimCluster: whole DynamoNodes (real replication, real codec, memory
 * storage) on one seeded scheduler and network. Crash (kill -9), power loss,
 * disk loss, a restored backup, restart and partitions are one call each;
 * every log line and network event goes to a transcript stamped with virtual
 * time, so a seed reproduces a run byte for byte.
 */
import {
  assert,
  DynamoError,
  LineLogger,
  SeededRandom,
  TimeoutError,
  UnavailableError,
  type LogLevel,
  type Runtime,
} from '../runtime/index.ts';
import type { Address, Consistency, GetResult, KvHandler, NodeId, PutResult } from '../protocol/index.ts';
import { Dvv } from '../vclock/index.ts';
import { partitionOf } from '../ring/index.ts';
import { decodeRecord, type Storage, type StoredObject, type StoredValue } from '../storage/index.ts';
import { DynamoNode, type SeedSpec, type TransferConfig } from '../node/index.ts';
import type { MembershipConfig, MembershipView } from '../membership/index.ts';
import type { HandoffConfig } from '../handoff/index.ts';
import { testAntiEntropyConfig, type AntiEntropyConfig } from '../antientropy/index.ts';
import { SimScheduler } from './scheduler.ts';
import { SimTime } from './sim-time.ts';
import { SimNetwork, type SimTransport } from './network.ts';
import { reproduceHint, seedFromEnv } from './seed.ts';
import { SimDisk, type DiskSnapshot, type SimDiskOptions } from './sim-disk.ts';
import { FNV_OFFSET, fnv1aString, hex32 } from './digest.ts';

export interface SimClusterOptions {
  /** Drives every random choice; defaults to DYNAMO_SEED or DEFAULT_SEED. */
  seed?: number;
  nodes?: number;
  replicas?: number;
  partitionCount?: number;
  defaultConsistency?: Consistency;
  requestTimeoutMsDefault?: number;
  readRepair?: boolean;
  /** Digest reads (lib/replication/digest-reads.ts); default true, as on a real node. */
  digestReads?: boolean;
  latencyMsMin?: number;
  latencyMsMax?: number;
  lossRate?: number;
  /** See SimNetworkOptions. */
  duplicationRate?: number;
  spikeRate?: number;
  spikeMsMax?: number;
  /** How every node's disk behaves (latency, writeback, sync); see SimDiskOptions. */
  disk?: SimDiskOptions;
  /** Each node's wall clock is skewed by a seeded amount in [-max, +max]. */
  clockSkewMsMax?: number;
  /** Seeds carry only addresses, so nodes identify each other at start. */
  anonymousSeeds?: boolean;
  /** Membership tunables for every node (e.g. autoJoin); bootstrapExpectCount defaults to `nodes`. */
  membership?: Partial<MembershipConfig>;
  /** Partition transfer tunables for every node (e.g. small chunks, to crash a node mid-transfer). */
  transfers?: Partial<TransferConfig>;
  /** Hinted handoff settings for every node (on by default, as on real nodes). */
  handoff?: Partial<HandoffConfig>;
  /** Anti-entropy for every node: false turns it off; otherwise settings over simAntiEntropyConfig(). */
  antiEntropy?: false | Partial<AntiEntropyConfig>;
  logLevel?: LogLevel;
  /** Logger modules whose trace lines are recorded (`*` for all). */
  trace?: readonly string[];
  /** Bound on events per run() call. */
  stepsMax?: number;
  /** Transcript lines kept in memory (the digest covers all of them). */
  transcriptLinesMax?: number;
  /** Also write transcript lines to stderr as they happen (or set DYNAMO_SIM_ECHO=1). */
  echo?: boolean;
}

/** KV call options the cluster helpers accept (strings are UTF-8 encoded). */
export interface SimKvOptions {
  consistency?: Consistency;
  timeoutMs?: number;
  context?: Uint8Array;
  /** Only primaries count (no fallbacks). */
  strict?: boolean;
}

/** The options every node life is built from, defaults filled in. */
type NodeShape = Required<
  Pick<SimClusterOptions, 'nodes' | 'replicas' | 'partitionCount' | 'defaultConsistency' | 'requestTimeoutMsDefault' | 'readRepair' | 'digestReads' | 'anonymousSeeds'>
>;

interface Slot {
  readonly id: NodeId;
  readonly address: Address;
  readonly disk: SimDisk;
  readonly skewMs: number;
  /** The current life's storage session over `disk`. */
  storage: Storage;
  /** The current life's clock (killed with the life, so a dead node never acts). */
  time: SimTime;
  node: DynamoNode;
  transport: SimTransport;
  up: boolean;
  /** Settles when the current life crashes (a client's in-flight call to it then fails). */
  died: Promise<void>;
  die: () => void;
}

function lifeEnd(): { died: Promise<void>; die: () => void } {
  let die!: () => void;
  const died = new Promise<void>((resolve) => (die = resolve));
  return { died, die };
}

const utf8 = new TextEncoder();
/** A simulated node's address: host:port shaped, so it passes the same validation as a real one. */
/** Virtual time a healed cluster gets to converge or settle its ring before the run counts as stuck. */
const SETTLE_DEADLINE_MS = 10 * 60_000;

const simAddress = (id: NodeId): Address => `${id}.sim:7000`;

/**
 * Anti-entropy in the simulator: testAntiEntropyConfig() (an exchange every
 * 50 ms, tombstone grace 60 s) with 16 × 16 trees — simulated partitions
 * hold a few keys, and a tree of 256 segments costs 2 KiB to build, save and
 * load instead of 32 KiB, which a run does hundreds of times.
 */
export function simAntiEntropyConfig(): AntiEntropyConfig {
  return { ...testAntiEntropyConfig(), treeFanOut: 16 };
}
const toBytes = (v: string | Uint8Array): Uint8Array => (typeof v === 'string' ? utf8.encode(v) : v);

/** A deterministic in-process cluster. Create, start(), drive with run()/helpers, stop(). */
export class SimCluster {
  readonly seed: number;
  readonly scheduler: SimScheduler;
  readonly network: SimNetwork;
  readonly #ids: NodeId[];
  readonly #opts: NodeShape;
  readonly #membership: Partial<MembershipConfig>;
  readonly #transfers: Partial<TransferConfig> | undefined;
  readonly #handoff: Partial<HandoffConfig> | undefined;
  readonly #antiEntropy: false | Partial<AntiEntropyConfig>;
  readonly #skewRandom: SeededRandom;
  readonly #diskRandom: SeededRandom;
  readonly #skewMax: number;
  readonly #diskOptions: SimDiskOptions | undefined;
  /** Nodes started with autoJoin false. */
  readonly #noAutoJoin = new Set<NodeId>();
  readonly #slots = new Map<NodeId, Slot>();
  readonly #lifeRandom: SeededRandom;
  /** Transcript lines matching a watched pattern, by pattern (rare paths the swarm reports). */
  readonly #watched = new Map<string, number>();
  readonly #logLevel: LogLevel;
  readonly #trace: ReadonlySet<string>;
  readonly #lines: string[] = [];
  readonly #linesMax: number;
  readonly #echo: boolean;
  #linesTotal = 0;
  #digest = FNV_OFFSET;
  #stopped = false;

  private constructor(opts: SimClusterOptions) {
    this.seed = (opts.seed ?? seedFromEnv()) >>> 0;
    const nodes = opts.nodes ?? 3;
    assert(Number.isInteger(nodes) && nodes >= 1 && nodes <= 64, 'a simulated cluster has 1..64 nodes');
    this.#opts = {
      nodes,
      replicas: opts.replicas ?? 3,
      partitionCount: opts.partitionCount ?? 64,
      defaultConsistency: opts.defaultConsistency ?? 'QUORUM',
      requestTimeoutMsDefault: opts.requestTimeoutMsDefault ?? 1000,
      readRepair: opts.readRepair ?? true,
      digestReads: opts.digestReads ?? true,
      anonymousSeeds: opts.anonymousSeeds ?? false,
    };
    this.#membership = opts.membership ?? {};
    this.#transfers = opts.transfers;
    this.#handoff = opts.handoff;
    this.#antiEntropy = opts.antiEntropy ?? {};
    this.#logLevel = opts.logLevel ?? 'info';
    this.#trace = new Set(opts.trace ?? []);
    this.#linesMax = opts.transcriptLinesMax ?? 50_000;
    this.#echo = opts.echo ?? process.env['DYNAMO_SIM_ECHO'] === '1';

    // One seed, one fork per subsystem, forked in a fixed order.
    const root = new SeededRandom(this.seed);
    const netRandom = root.fork();
    const skewRandom = root.fork();
    this.#lifeRandom = root.fork();
    const diskRandom = root.fork();

    this.scheduler = new SimScheduler({ stepsMax: opts.stepsMax ?? 200_000 });
    this.network = new SimNetwork({
      scheduler: this.scheduler,
      random: netRandom,
      latencyMsMin: opts.latencyMsMin ?? 1,
      latencyMsMax: opts.latencyMsMax ?? 10,
      lossRate: opts.lossRate ?? 0,
      duplicationRate: opts.duplicationRate ?? 0,
      spikeRate: opts.spikeRate ?? 0,
      spikeMsMax: opts.spikeMsMax ?? 0,
      trace: (line) => this.#record(line),
    });
    this.#ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
    this.#skewRandom = skewRandom;
    this.#diskRandom = diskRandom;
    this.#skewMax = opts.clockSkewMsMax ?? 0;
    this.#diskOptions = opts.disk;
    for (const id of this.#ids) this.#addSlot(id);
  }

  /** Node ids, in creation order (added nodes last). */
  get ids(): readonly NodeId[] {
    return this.#ids;
  }

  #addSlot(id: NodeId): Slot {
    {
      const address = simAddress(id);
      const skewMax = this.#skewMax;
      const skewMs = skewMax > 0 ? this.#skewRandom.int(2 * skewMax + 1) - skewMax : 0;
      const disk = new SimDisk(this.scheduler, this.#diskRandom.fork(), this.#diskOptions);
      const parts = {
        id,
        address,
        disk,
        skewMs,
        storage: disk.mount(),
        time: new SimTime(this.scheduler, { skewMs }),
        transport: this.network.transportFor(address),
      };
      const slot: Slot = { ...parts, node: this.#buildNode(parts), up: false, ...lifeEnd() };
      this.#slots.set(id, slot);
      this.network.register(address, (req, timeoutMs) => slot.node.peer(req, timeoutMs));
      this.network.setDown(address, true);
      return slot;
    }
  }

  /**
   * Start one more node with an empty disk and every existing node as a
   * seed: it joins the running cluster (unless `autoJoin: false`). Runs until
   * it knows the ring; returns its id.
   */
  async addNode(opts: { autoJoin?: boolean } = {}): Promise<NodeId> {
    const { id, started } = this.startNewNode(opts);
    await this.run(started);
    await this.waitReady([id]);
    return id;
  }

  /**
   * addNode without driving the simulation (for fault plans inside a running
   * workload): the node starts as the simulation runs.
   */
  startNewNode(opts: { autoJoin?: boolean } = {}): { id: NodeId; started: Promise<void> } {
    const id = `n${this.#ids.length + 1}`;
    this.#ids.push(id);
    this.#record(`t=${this.scheduler.nowMs} sim add ${id}`);
    if (opts.autoJoin === false) this.#noAutoJoin.add(id);
    const slot = this.#addSlot(id);
    this.network.setDown(slot.address, false);
    slot.up = true;
    // The memory engine is imported statically and opens in microtasks: safe inside a running simulation.
    return { id, started: slot.disk.backing().then(() => slot.node.start()) };
  }

  /** Decommission a running node and run until it has left the ring (its data handed over). */
  async decommission(id: NodeId): Promise<void> {
    this.#record(`t=${this.scheduler.nowMs} sim decommission ${id}`);
    await this.run(this.node(id).admin.decommission());
    await this.#guard(() => this.scheduler.runUntil(() => this.node(id).departed === 'left'));
  }

  /** Ask `via` to remove crashed node `id` (retried until its failure is known everywhere); run until the ring has settled without it. */
  async removeNode(id: NodeId, via: NodeId): Promise<void> {
    assert(!this.isUp(id), `${id} is running; crash it before removing it`);
    this.#record(`t=${this.scheduler.nowMs} sim remove ${id} via ${via}`);
    for (;;) {
      try {
        await this.run(this.node(via).admin.remove(id));
        break;
      } catch (e) {
        // Refused while the node is not yet known dead: wait a gossip round or two.
        if (!(e instanceof DynamoError)) throw e;
        await this.runFor(1000);
      }
    }
    await this.#guard(() =>
      this.scheduler.runUntil(() => {
        const v = this.node(via).membershipView()?.ringState;
        return v !== undefined && !v.members.includes(id) && v.moving.every((m) => !m.holders.includes(id));
      }),
    );
    await this.waitRingSettled();
  }

  /**
   * Run until the ring is settled: every running node holds the same ring,
   * no partition moves, no node is joining or leaving (a join or
   * decommission asked for has been planned, streamed and switched), and
   * none of `without` (removed nodes) is a member any more.
   */
  async waitRingSettled(without: ReadonlySet<NodeId> = new Set()): Promise<void> {
    const views = (): MembershipView[] =>
      [...this.#slots.values()].filter((s) => s.up && s.node.departed === undefined).flatMap((s) => s.node.membershipView() ?? []);
    await this.#guard(
      () =>
        this.scheduler.runUntil(
          () => {
            const all = views();
            const first = all[0]?.ringState;
            return (
              first !== undefined &&
              first.members.every((id) => !without.has(id)) &&
              all.every(
                (v) =>
                  v.ringState?.checksum === first.checksum &&
                  v.ringState.moving.length === 0 &&
                  v.members().every((m) => m.lifecycle !== 'joining' && m.lifecycle !== 'leaving'),
              )
            );
          },
          undefined,
          this.scheduler.nowMs + SETTLE_DEADLINE_MS,
        ),
      () =>
        views()
          .map((v) => {
            const r = v.ringState;
            const busy = v.members().filter((m) => m.lifecycle === 'joining' || m.lifecycle === 'leaving' || !v.isUp(m.id));
            return (
              `${v.self}: ring ${r?.checksum ?? '-'} plan ${r?.planId ?? '-'} members [${r?.members ?? ''}] ` +
              `moving ${r?.moving.length ?? 0}${r?.moving[0] ? ` (p${r.moving[0].partition} held by ${r.moving[0].holders})` : ''} ` +
              `not settled [${busy.map((m) => `${m.id}:${m.lifecycle}${v.isUp(m.id) ? "" : `/${v.liveness(m.id)}`}`)}] ` +
              `incoming ${v.incomingTransfers().length}`
            );
          })
          .join('; '),
    );
  }

  /** Run until no running node holds a hint (every one handed over), within the settle deadline. */
  async waitHintsDrained(): Promise<void> {
    const running = (): Slot[] => [...this.#slots.values()].filter((s) => s.up);
    await this.#guard(
      () => this.scheduler.runUntil(() => running().every((s) => s.node.hintsHeld === 0), undefined, this.scheduler.nowMs + SETTLE_DEADLINE_MS),
      () =>
        `hints still held: ${running()
          .filter((s) => s.node.hintsHeld > 0)
          .map((s) => `${s.id}: ${s.node.hintsHeld}`)
          .join(', ')}`,
    );
  }

  /** Build a cluster (nothing runs until start()). */
  static create(opts: SimClusterOptions = {}): SimCluster {
    return new SimCluster(opts);
  }

  /** Start every node and run until each has built its ring. */
  async start(): Promise<void> {
    // Open the disks before the simulation runs: engines import their package
    // lazily, and module loading (real I/O, off-thread loader hooks) inside a
    // simulated step would look like a deadlock and break reproducibility.
    for (const slot of this.#slots.values()) await slot.disk.backing();
    for (const slot of this.#slots.values()) {
      this.network.setDown(slot.address, false);
      slot.up = true;
    }
    await this.run(Promise.all([...this.#slots.values()].map((s) => s.node.start())));
    await this.waitConverged();
  }

  /** Run until the given nodes (default: all up nodes) are ready. */
  async waitReady(ids: readonly NodeId[] = this.ids.filter((id) => this.#slot(id).up)): Promise<void> {
    await this.#guard(() => this.scheduler.runUntil(() => ids.every((id) => this.#slot(id).node.ready)));
  }

  /**
   * Run until every running node is ready and believes every other running
   * node up (after a start or restart: gossip has spread the new generation).
   */
  async waitConverged(): Promise<void> {
    const running = (): Slot[] => [...this.#slots.values()].filter((s) => s.up && s.node.departed === undefined);
    await this.#guard(
      () =>
        this.scheduler.runUntil(
          () => {
            const up = running();
            return up.every((s) => s.node.ready && up.every((o) => o === s || s.node.membershipView()?.isUp(o.id) === true));
          },
          undefined,
          this.scheduler.nowMs + SETTLE_DEADLINE_MS,
        ),
      () =>
        running()
          .map((s) => `${s.id}: ready=${s.node.ready} sees down [${running().filter((o) => o !== s && s.node.membershipView()?.isUp(o.id) !== true).map((o) => o.id)}]`)
          .join('; '),
    );
  }

  /** The node currently living under `id` (a restart makes a new one). */
  node(id: NodeId): DynamoNode {
    return this.#slot(id).node;
  }

  address(id: NodeId): Address {
    return this.#slot(id).address;
  }

  /** The storage of the node's current life (a session over its disk, which survives restarts). */
  storage(id: NodeId): Storage {
    return this.#slot(id).storage;
  }

  /** Lose a crashed node's data directory: its next life starts empty, under a fresh actor epoch. */
  async wipe(id: NodeId): Promise<void> {
    const slot = this.#slot(id);
    assert(!slot.up, `${id} is running; crash it before wiping its disk`);
    this.#record(`t=${this.scheduler.nowMs} sim wipe ${id}`);
    await slot.disk.wipe();
    await slot.disk.backing();
  }

  isUp(id: NodeId): boolean {
    return this.#slot(id).up;
  }

  /** Drive the simulation until `promise` settles; returns its value or rethrows its rejection. */
  async run<T>(promise: Promise<T>): Promise<T> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    const settled = promise.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    await this.#guard(async () => {
      await this.scheduler.run(settled);
    });
    assert(outcome !== undefined, 'promise did not settle');
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** Advance virtual time by `durationMs`. */
  async runFor(durationMs: number): Promise<void> {
    await this.#guard(() => this.scheduler.runFor(durationMs));
  }

  /**
   * Let background work (fan-out stragglers, read repair) finish: run for two
   * request deadlines of virtual time. (Not "until nothing is queued": gossip
   * and the failure detector keep periodic timers armed for as long as nodes run.)
   */
  async settle(): Promise<void> {
    await this.runFor(2 * Math.max(500, this.#opts.requestTimeoutMsDefault));
  }

  /**
   * Process crash (kill -9): the address refuses connections at once, the
   * life's timers never fire, its storage session dies with writes that had
   * not landed cut at a random point (disk.crash), and nothing it had in
   * flight completes. With `powerLoss`, the machine lost power too: a random
   * suffix of the landed but unsynced writes is gone (disk.powerLoss).
   */
  async crash(id: NodeId, opts: { powerLoss?: boolean | 'all'; pendingWrites?: 'random' | 'land' | 'drop' } = {}): Promise<void> {
    const slot = this.#slot(id);
    assert(slot.up, `${id} is already down`);
    slot.up = false;
    const power = opts.powerLoss ?? false;
    this.#record(`t=${this.scheduler.nowMs} sim crash ${id}${power === false ? '' : ' (power loss)'}`);
    this.network.setDown(slot.address, true);
    slot.time.kill();
    slot.die();
    slot.disk.crash(opts.pendingWrites);
    if (power !== false) slot.disk.powerLoss(power === 'all' ? 'all' : 'random');
    await slot.transport.close();
  }

  /** Graceful stop (SIGTERM), driving the simulation until the life has ended (stopLife). */
  async shutdown(id: NodeId): Promise<void> {
    await this.run(this.stopLife(id));
  }

  /**
   * Graceful stop (SIGTERM) without driving the simulation, for fault plans
   * inside a running workload, in the order a node process stops: clients
   * are refused at once, the node finishes in-flight work, hands hints over,
   * saves its trees and closes storage while its peers can still be reached;
   * then its address goes away. Settles when the life has ended.
   */
  async stopLife(id: NodeId): Promise<void> {
    const slot = this.#slot(id);
    assert(slot.up, `${id} is already down`);
    slot.up = false;
    this.#record(`t=${this.scheduler.nowMs} sim graceful stop ${id}`);
    await slot.node.stop();
    this.network.setDown(slot.address, true);
    await slot.transport.close();
    slot.time.kill();
    slot.die();
  }

  /** Process restart on the same disk (what survived survives) and address; runs until it is ready. */
  async restart(id: NodeId): Promise<void> {
    await this.run(this.startLife(id));
    await this.waitConverged();
  }

  /**
   * Begin a new life of a crashed node without driving the simulation: its
   * start runs as the simulation runs (for fault plans inside a running
   * workload). The returned promise settles when the node has started.
   */
  startLife(id: NodeId): Promise<void> {
    const slot = this.#slot(id);
    assert(!slot.up, `${id} is running; crash it first`);
    this.#record(`t=${this.scheduler.nowMs} sim restart ${id}`);
    slot.transport = this.network.transportFor(slot.address);
    slot.storage = slot.disk.mount();
    slot.time = new SimTime(this.scheduler, { skewMs: slot.skewMs });
    slot.node = this.#buildNode(slot);
    Object.assign(slot, lifeEnd());
    this.network.setDown(slot.address, false);
    slot.up = true;
    return slot.node.start();
  }

  /**
   * A client's call to node `id`, as a remote client experiences it (does not
   * drive the simulation): refused at once while the node is down
   * (maybeApplied false: nothing reached it), failed if the node crashes while
   * the call is in flight or it outlasts `timeoutMs` (maybeApplied true: it
   * may have been applied). Never hangs on a dead node.
   */
  clientCall<T>(id: NodeId, timeoutMs: number, fn: (kv: KvHandler) => Promise<T>): Promise<T> {
    return this.#remoteCall(id, timeoutMs, (node) => fn(node.kv));
  }

  /** An operator's Admin call to node `id`, failing like clientCall when the node dies or the deadline passes. */
  adminCall<T>(id: NodeId, timeoutMs: number, fn: (admin: DynamoNode['admin']) => Promise<T>): Promise<T> {
    return this.#remoteCall(id, timeoutMs, (node) => fn(node.admin));
  }

  #remoteCall<T>(id: NodeId, timeoutMs: number, fn: (node: DynamoNode) => Promise<T>): Promise<T> {
    const slot = this.#slot(id);
    if (!slot.up) return Promise.reject(new UnavailableError(`${id} is down: connection refused`, { answered: 0, required: 0 }));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        this.scheduler.cancel(timer);
        f();
      };
      const timer = this.scheduler.schedule(timeoutMs, () =>
        settle(() => reject(new TimeoutError(`client deadline of ${timeoutMs} ms passed`, undefined, { maybeApplied: true }))),
      );
      void slot.died.then(() =>
        settle(() => reject(new UnavailableError(`${id} crashed with the request in flight: connection reset`, { answered: 0, required: 0 }, { maybeApplied: true }))),
      );
      let call: Promise<T>;
      try {
        call = fn(slot.node);
      } catch (e) {
        call = Promise.reject(e);
      }
      call.then(
        (v) => settle(() => resolve(v)),
        (e: unknown) => settle(() => reject(e instanceof DynamoError ? e : new DynamoError('DYNAMO_INTERNAL', String(e)))),
      );
    });
  }

  /** The node's disk (fault knobs: failWrites, configure). */
  disk(id: NodeId): SimDisk {
    return this.#slot(id).disk;
  }

  /** A copy of a node's data directory now (a volume backup). */
  snapshotDisk(id: NodeId): DiskSnapshot {
    this.#record(`t=${this.scheduler.nowMs} sim snapshot ${id}`);
    return this.#slot(id).disk.snapshot();
  }

  /** Put an old backup back into a crashed node's data directory. */
  async restoreDisk(id: NodeId, snap: DiskSnapshot): Promise<void> {
    const slot = this.#slot(id);
    assert(!slot.up, `${id} is running; crash it before restoring its disk`);
    this.#record(`t=${this.scheduler.nowMs} sim restore ${id} to t=${snap.takenAtMs}`);
    await slot.disk.restore(snap);
  }

  /** Count transcript lines containing `fragment` from now on (see watched()). */
  watch(fragment: string): void {
    if (!this.#watched.has(fragment)) this.#watched.set(fragment, 0);
  }

  /** How many transcript lines contained `fragment` since watch(fragment). */
  watched(fragment: string): number {
    return this.#watched.get(fragment) ?? 0;
  }

  /** Cut every link between the two groups of nodes. */
  partition(groupA: readonly NodeId[], groupB: readonly NodeId[]): void {
    this.network.partition(groupA.map((id) => this.address(id)), groupB.map((id) => this.address(id)));
  }

  heal(): void {
    this.network.heal();
  }

  /** Get through node `via`, driving the simulation until it answers. */
  get(via: NodeId, key: string | Uint8Array, opts: SimKvOptions = {}): Promise<GetResult> {
    return this.run(this.node(via).kv.get({ key: toBytes(key), ...this.#kvOpts(opts) }));
  }

  put(via: NodeId, key: string | Uint8Array, value: string | Uint8Array, opts: SimKvOptions = {}): Promise<PutResult> {
    return this.run(
      this.node(via).kv.put({ key: toBytes(key), value: toBytes(value), context: opts.context ?? new Uint8Array(0), ...this.#kvOpts(opts) }),
    );
  }

  delete(via: NodeId, key: string | Uint8Array, opts: SimKvOptions = {}): Promise<PutResult> {
    return this.run(this.node(via).kv.delete({ key: toBytes(key), context: opts.context ?? new Uint8Array(0), ...this.#kvOpts(opts) }));
  }

  /** What node `id` has stored for `key` (read straight from its disk, even while it is down), or undefined. */
  async stored(id: NodeId, key: string | Uint8Array): Promise<StoredObject | undefined> {
    const k = toBytes(key);
    const disk = this.#slot(id).disk;
    const bytes = await this.run(disk.backing().then((s) => s.get(partitionOf(k, this.#opts.partitionCount), k)));
    return bytes === undefined ? undefined : decodeRecord(bytes);
  }

  /** Stored sibling values of `key` on node `id`, tombstones included, in DVV order. */
  async storedValues(id: NodeId, key: string | Uint8Array): Promise<StoredValue[]> {
    const obj = await this.stored(id, key);
    return obj === undefined ? [] : Dvv.values(obj);
  }

  /** Transcript lines kept in memory (the newest `transcriptLinesMax`). */
  get transcript(): readonly string[] {
    return this.#lines;
  }

  /** Count and FNV-1a digest of every transcript line ever recorded. */
  get transcriptDigest(): { lines: number; digest: string } {
    return { lines: this.#linesTotal, digest: hex32(this.#digest) };
  }

  /** Stop every running node and close its transport. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const up = [...this.#slots.values()].filter((s) => s.up);
    for (const s of up) {
      s.up = false;
      await s.transport.close();
    }
    await this.run(Promise.all(up.map((s) => s.node.stop())));
    await this.run(Promise.all([...this.#slots.values()].map((s) => s.disk.destroy())));
  }

  #antiEntropyConfig(): AntiEntropyConfig {
    return { ...simAntiEntropyConfig(), ...(this.#antiEntropy === false ? {} : this.#antiEntropy) };
  }

  /**
   * Hinted handoff settings: as given, and unless given, a hint window a third
   * of the tombstone grace — what nodes required before tombstone GC asked
   * every node for hints (hint-census.ts); kept so the scenarios and frozen
   * swarm runs written then still run the windows they were written for.
   */
  #handoffConfig(): Partial<HandoffConfig> {
    if (this.#antiEntropy === false || this.#handoff?.windowMs !== undefined) return this.#handoff ?? {};
    return { windowMs: Math.max(1, Math.floor(this.#antiEntropyConfig().tombstoneGraceMs / 3)), ...this.#handoff };
  }

  #buildNode(slot: Pick<Slot, 'id' | 'address' | 'storage' | 'time' | 'transport'>): DynamoNode {
    const logger = new LineLogger(
      { level: this.#logLevel, trace: this.#trace, write: (line) => this.#record(line), nowMs: () => this.scheduler.nowMs },
      'node',
      { node: slot.id },
    );
    const runtime: Runtime = { time: slot.time, random: this.#lifeRandom.fork(), logger };
    const seeds: SeedSpec[] = this.#ids.map((id) =>
      this.#opts.anonymousSeeds ? { address: simAddress(id) } : { id, address: simAddress(id) },
    );
    return new DynamoNode({
      runtime,
      id: slot.id,
      address: slot.address,
      seeds,
      storage: slot.storage,
      transport: slot.transport,
      partitionCount: this.#opts.partitionCount,
      membership: this.#membershipConfig(slot.id),
      ...(this.#transfers === undefined ? {} : { transfers: this.#transfers }),
      handoff: this.#handoffConfig(),
      antiEntropy: this.#antiEntropy === false ? { enabled: false } : { enabled: true, config: this.#antiEntropyConfig() },
      replication: {
        replicas: this.#opts.replicas,
        defaultConsistency: this.#opts.defaultConsistency,
        requestTimeoutMsDefault: this.#opts.requestTimeoutMsDefault,
        readRepair: this.#opts.readRepair,
        digestReads: this.#opts.digestReads,
      },
    });
  }

  #kvOpts(opts: SimKvOptions): { consistency?: Consistency; timeoutMs: number; strict?: boolean } {
    const timeoutMs = opts.timeoutMs ?? this.#opts.requestTimeoutMsDefault;
    return {
      timeoutMs,
      ...(opts.consistency === undefined ? {} : { consistency: opts.consistency }),
      ...(opts.strict === undefined ? {} : { strict: opts.strict }),
    };
  }

  #slot(id: NodeId): Slot {
    const slot = this.#slots.get(id);
    assert(slot !== undefined, `no node ${id} in this cluster (${this.ids.join(', ')})`);
    return slot;
  }

  /**
   * A node's membership settings: founders expect the cluster's starting size
   * and, as a node process does with --bootstrap-expect, never found a ring
   * just because time passed (a joiner cut off from the cluster would found
   * its own).
   */
  #membershipConfig(id: NodeId): Partial<MembershipConfig> {
    const merged: Partial<MembershipConfig> = { bootstrapExpectCount: this.#opts.nodes, ...this.#membership };
    if ((merged.bootstrapExpectCount ?? 0) > 0 && this.#membership.bootstrapWaitMs === undefined) merged.bootstrapWaitMs = 0;
    if (this.#noAutoJoin.has(id)) merged.autoJoin = false;
    return merged;
  }

  /** Scheduler failures (deadlock, step bound) and handler bugs carry the seed. */
  async #guard(step: () => Promise<void>, describe?: () => string): Promise<void> {
    try {
      await step();
    } catch (e) {
      if (describe !== undefined && e instanceof Error) e.message += ` (${describe()})`;
      throw this.#withSeed(e);
    }
    const bug = this.network.unexpectedErrors.shift();
    if (bug !== undefined) throw this.#withSeed(new Error(`a peer handler failed with a non-Dynamo error: ${String(bug)}`, { cause: bug }));
  }

  #withSeed(e: unknown): unknown {
    if (e instanceof Error && !e.message.includes('DYNAMO_SEED=')) e.message += `\n${reproduceHint(this.seed)}`;
    return e;
  }

  #record(line: string): void {
    for (const [fragment, n] of this.#watched) if (line.includes(fragment)) this.#watched.set(fragment, n + 1);
    this.#linesTotal++;
    this.#digest = fnv1aString(line + '\n', this.#digest);
    this.#lines.push(line);
    if (this.#lines.length > this.#linesMax) this.#lines.shift();
    if (this.#echo) process.stderr.write(line + '\n');
  }
}

/**
 * Create and start a cluster, run `body`, always stop it. A failure gets the
 * seed appended (`reproduce with DYNAMO_SEED=<n>`) and the transcript tail
 * printed to stderr, so any failing run can be replayed exactly.
 */
export async function withSimCluster<T>(opts: SimClusterOptions, body: (cluster: SimCluster) => Promise<T>): Promise<T> {
  const cluster = SimCluster.create(opts);
  try {
    await cluster.start();
    const value = await body(cluster);
    await cluster.stop();
    return value;
  } catch (e) {
    const tail = cluster.transcript.slice(-40);
    process.stderr.write(`simulation failed; ${reproduceHint(cluster.seed)}\nlast transcript lines:\n${tail.join('\n')}\n`);
    if (e instanceof Error && !e.message.includes('DYNAMO_SEED=')) e.message += `\n${reproduceHint(cluster.seed)}`;
    await cluster.stop().catch(() => {});
    throw e;
  }
}
