/**
 * The node's anti-entropy driver (issue 9; docs/antientropy.md "What the
 * driver must do"): it keeps one TicTac tree per partition this node
 * replicates, in step with storage, runs exchanges with the partitions'
 * other replicas on a schedule, purges tombstones once every replica holds
 * them, and runs on-demand repairs. Everything that decides is in
 * lib/antientropy (trees, builder, exchange, scheduler, tombstone ledger,
 * repair plan, admission); this file owns the effects: timers, storage
 * scans, peers, persistence.
 *
 * Trees:
 *  - Every change of a stored object reaches `changing` (a ReplicaObserver
 *    the coordinator's LocalReplica calls under the key's lock, before the
 *    storage write is issued) with the objects before and after: the ready
 *    tree is updated with their digests, or, while the partition's tree is
 *    being rebuilt, the TreeBuilder is told. Writes not yet settled are
 *    remembered per partition, so a rebuild started meanwhile hears of
 *    them. A write that fails (outcome unknown) or a record set aside makes
 *    the tree untrustworthy: it is rebuilt.
 *  - Trees exist only for partitions this node replicates (the read set of
 *    the current ring); others are dropped (and their tombstone bookkeeping).
 *  - At a clean stop every ready tree is persisted (meta `aae/tree/<p>`) and
 *    a marker names them; at start the marker is read and deleted before the
 *    first write of the new life, so after a crash every tree is rebuilt in
 *    the background from a partition scan (TreeBuilder), one partition at a
 *    time, while requests are served. A tree is used only once complete.
 *
 * Exchanges: ExchangeScheduler picks (partition, peer) one at a time;
 * BackgroundAdmission ('anti-entropy') admits it and paces its bytes; the
 * exchange runs lib/antientropy's `exchange` over this node's
 * ReplicaTreePort and the peer's RemoteTreePort, under the ring version it
 * started with (either side refuses another), never with a peer believed
 * down, bounded by exchangeTimeoutMs. Its result feeds the tombstone ledger
 * (what the peer holds), the status log, a drift check of segments whose
 * hashes differed while their listings agreed, and tombstone GC.
 */
import {
  ABSENT_DIGEST,
  BackgroundAdmission,
  ExchangeLog,
  ExchangeScheduler,
  RepairPlan,
  SCAN_PACING_DEFAULT,
  SCAN_SLICE_KEYS,
  ScanPacer,
  TombstoneLedger,
  TreeBuilder,
  decodeTombstoneKeys,
  decodeTree,
  encodeTombstoneKeys,
  encodeTree,
  exchange,
  exchangeLimitsOf,
  keyId,
  performCall,
  tombstoneDecision,
  tombstoneFacts,
  tombstoneRuleOf,
  treeShapeOf,
  versionDigest,
  type AdmissionTicket,
  type AntiEntropyConfig,
  type ExchangeResult,
  type PairReadiness,
  type PartitionReplicas,
  type TictacTree,
  type TreePort,
  type TreeShape,
  type VersionDigest,
} from '../antientropy/index.ts';
import {
  InvalidArgumentError,
  Sleeps,
  StorageCorruptionError,
  UnavailableError,
  type DynamoError,
  type Logger,
  type Result,
  type Runtime,
  type TimerHandle,
} from '../runtime/index.ts';
import type { Address, AntiEntropyStatus, NodeId, RepairStatus, TreeReply, TreeRequest } from '../protocol/index.ts';
import type { ClusterView, ReplicaObserver } from '../replication/index.ts';
import type { Metrics } from '../runtime/index.ts';
import { decodeRecord, type HeldObject, type Storage, type StoredObject } from '../storage/index.ts';
import { ReplicaTreePort, RemoteTreePort, answerOf, recordDigest, segmentHashesOf } from './tree-ports.ts';

/** Meta names: the clean-stop marker (the partitions whose trees were saved) and each saved tree. */
export const META_AAE_CLEAN = 'aae/clean';
export const metaAaeTree = (partition: number): string => `aae/tree/${partition}`;
/** The partition's tombstone keys saved with its tree (empty: not known, walk the partition). */
export const metaAaeTombstones = (partition: number): string => `aae/tombstones/${partition}`;

/** Tombstones purged per partition per exchange at most (each is a locked re-read and a delete). */
const PURGES_PER_EXCHANGE_MAX = 256;
/** Repair: failed exchanges of one pair before it is skipped, the pause after one, and how long a pair waits for trees. */
const REPAIR_ATTEMPTS_MAX = 5;
const REPAIR_RETRY_MS = 1000;
const REPAIR_WAIT_MS_MAX = 120_000;
/** Repair: bounded exchanges of one pair before it is left incomplete (a partition written faster than it is compared). */
const REPAIR_ROUNDS_MAX = 1000;
/** Longest pause between two looks at the ring (trees to build or drop), whatever the exchange interval. */
const RECONCILE_MS_MAX = 1000;
/** Repair: how often it looks again while waiting for a tree or for the scheduler's exchange to end. */
const REPAIR_POLL_MS = 100;

/** What the driver needs from the rest of the node. */
export interface AntiEntropyDeps {
  readonly runtime: Runtime;
  readonly self: NodeId;
  readonly storage: Storage;
  readonly admission: BackgroundAdmission;
  readonly config: AntiEntropyConfig;
  /** False: no trees, no exchanges; peers' calls are refused (UNAVAILABLE). */
  readonly enabled: boolean;
  /** The routing view; undefined while no ring is known. */
  cluster(): ClusterView | undefined;
  /** Each member's generation as membership knows it (a new one: it restarted, and may have lost data). */
  generations(): ReadonlyMap<NodeId, number>;
  /** The node-to-node transport. */
  request(to: Address, req: TreeRequest, timeoutMs: number): Promise<Result<TreeReply, DynamoError>>;
  /** Merge a record into the local replica (Coordinator.mergeRecord). */
  merge(partition: number, key: Uint8Array, record: Uint8Array): Promise<void>;
  /** Remove a record if `decide` approves it under the key's lock (Coordinator.purgeRecord). */
  purge(partition: number, key: Uint8Array, decide: (object: StoredObject) => boolean): Promise<boolean>;
  /** Who may still hold a hint of the key (hint-census.ts): unless 'none', its tombstone is kept. */
  hintCensus(partition: number, key: Uint8Array): Promise<'none' | 'held' | 'unanswered'>;
  /** Counts the keys exchanges repaired (default: not counted). */
  readonly metrics?: Metrics;
  /** Requests this node has handled since start, a monotonic count: exchanges slow down while it climbs fast (default: never). */
  requests?(): number;
}

/** A rebuild (or, for a tree loaded from disk, a scan that only re-tracks tombstones) of one partition. */
interface Scan {
  readonly kind: 'tree' | 'tombstones';
  /** Taken from the queue (a partition queued twice runs its latest scan once). */
  started: boolean;
  builder: TreeBuilder | undefined;
  /** Keys written since the scan began: the scan's copy of them is stale for the tombstone ledger. */
  readonly written: Set<string>;
  cancelled: boolean;
}

interface PartitionState {
  /** Ready once set; only a ready tree is exchanged. */
  tree: TictacTree | undefined;
  /** When the tree was built or loaded (monotonic ms): it is rebuilt every treeRebuildIntervalMs. */
  builtAtMs: number;
  /** A rebuild (the tree, if any, keeps serving until it is done) or a tombstone scan. */
  scan: Scan | undefined;
  /** Changes reported (a drift check is conclusive only if none came meanwhile). */
  writes: number;
  /**
   * The ledger's untracked count of this partition when the walk that found
   * every tombstone of it began (or when the saved list was loaded):
   * while the count is still this, the tracked keys are all its tombstones
   * and are saved at a clean stop. Undefined: not known (no walk finished,
   * or a write's outcome is unknown).
   */
  tombstonesKnownAt: number | undefined;
}

/** A change reported and not settled yet. */
interface Flight {
  readonly key: Uint8Array;
  readonly before: HeldObject | undefined;
  readonly after: StoredObject | undefined;
}

const digestOf = (o: HeldObject | undefined): VersionDigest => (o === undefined ? ABSENT_DIGEST : versionDigest(o));

function encodePartitions(ps: readonly number[]): Uint8Array {
  const out = new Uint8Array(4 * ps.length);
  const view = new DataView(out.buffer);
  ps.forEach((p, i) => view.setUint32(4 * i, p));
  return out;
}

function decodePartitions(bytes: Uint8Array): number[] {
  if (bytes.length % 4 !== 0) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(4 * i));
}

/** One node's anti-entropy; see the module header. */
export class AntiEntropy implements ReplicaObserver {
  readonly #deps: AntiEntropyDeps;
  readonly #log: Logger;
  readonly #shape: TreeShape;
  readonly #parts = new Map<number, PartitionState>();
  /** Per partition written since start, the changes reported and not settled, in the order they were issued (a key may have several: its lock covers issuing a write, not landing it). */
  readonly #inflight = new Map<number, Set<Flight>>();
  readonly #ledger: TombstoneLedger;
  readonly #scheduler: ExchangeScheduler;
  readonly #exchanges = new ExchangeLog();
  readonly #port: ReplicaTreePort;
  /** Partitions whose records are being deleted after a release: not rebuilt meanwhile. */
  readonly #releasing = new Set<number>();
  readonly #generations = new Map<NodeId, number>();
  readonly #scanQueue: number[] = [];
  #scanning: Promise<void> | undefined;
  #holdings: { readonly key: string; readonly list: PartitionReplicas[] } | undefined;
  #timer: TimerHandle | undefined;
  #started = false;
  #stopped = false;
  /** Settles the deadline of every exchange in flight (stop). */
  readonly #cancels = new Set<() => void>();
  /** Scan pauses, exchange pacing, repair polls: stop() ends them, so it never waits one out. */
  readonly #sleeps: Sleeps;
  readonly #running = new Set<Promise<unknown>>();
  #repair: RepairPlan | undefined;
  #repairIds = 0;
  #purged = 0;

  constructor(deps: AntiEntropyDeps) {
    this.#deps = deps;
    this.#log = deps.runtime.logger.child('antientropy');
    this.#shape = treeShapeOf(deps.config);
    this.#sleeps = new Sleeps(deps.runtime.time);
    const now = deps.runtime.time.monotonicMs();
    this.#ledger = new TombstoneLedger({
      self: deps.self,
      shape: this.#shape,
      keysMax: deps.config.tombstonesTrackedMax,
      purgedMax: deps.config.purgedRememberedMax,
      purgedMemoMs: deps.config.purgedMemoMs,
    });
    this.#scheduler = new ExchangeScheduler(
      {
        self: deps.self,
        intervalMs: deps.config.exchangeIntervalMs,
        busyIntervalMs: deps.config.exchangeIntervalBusyMs,
        busyRequestsPerSecond: deps.config.exchangeBusyRequestsPerSecond,
        concurrentMax: deps.config.exchangesConcurrentMax,
      },
      now,
    );
    this.#port = new ReplicaTreePort({
      shape: this.#shape,
      storage: deps.storage,
      logger: this.#log,
      tree: (p) => this.#tree(p),
      purgedIn: (p, segments) => this.#ledger.purgedIn(p, segments, deps.runtime.time.monotonicMs()),
      merge: deps.merge,
    });
  }

  get enabled(): boolean {
    return this.#deps.enabled;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Storage is open and nothing has been written in this life yet: load the
   * trees a clean stop saved, and delete the marker before any write (even
   * with anti-entropy off: a later life must not trust trees this one did
   * not keep).
   */
  async open(): Promise<void> {
    const { storage } = this.#deps;
    const marker = await storage.getMeta(META_AAE_CLEAN);
    if (marker === undefined || marker.length === 0) return;
    if (this.#deps.enabled) {
      let loaded = 0;
      let listed = 0;
      for (const p of decodePartitions(marker)) {
        const bytes = await storage.getMeta(metaAaeTree(p));
        if (bytes === undefined) continue;
        const tree = decodeTree(bytes, this.#shape);
        if (!tree.ok) {
          this.#log.warn('a saved tree does not load; the partition is rebuilt', { partition: p, error: tree.error.message });
          continue;
        }
        this.#parts.set(p, { tree: tree.value, builtAtMs: this.#deps.runtime.time.monotonicMs(), scan: undefined, writes: 0, tombstonesKnownAt: undefined });
        // Tombstones are not part of a tree: the list saved beside it, or else a walk, tracks them again for GC.
        if (await this.#loadTombstones(p)) listed++;
        else this.#queueScan(p, 'tombstones');
        loaded++;
      }
      this.#log.info('loaded the trees saved at the last clean stop', { partitions: loaded });
      if (listed > 0) this.#log.info('tracked the tombstones listed at the last clean stop instead of walking', { partitions: listed, walked: loaded - listed });
    }
    await storage.putMeta(META_AAE_CLEAN, new Uint8Array(0));
  }

  /**
   * Track the tombstones of `partition` from the list its last clean stop
   * saved, reading each key's record back (what storage holds is what is
   * tracked). False when there is no usable list: the partition is walked.
   */
  async #loadTombstones(partition: number): Promise<boolean> {
    const { storage, runtime } = this.#deps;
    const part = this.#parts.get(partition)!;
    const bytes = await storage.getMeta(metaAaeTombstones(partition));
    if (bytes === undefined || bytes.length === 0) return false;
    const keys = decodeTombstoneKeys(bytes);
    if (!keys.ok) {
      this.#log.warn('a saved tombstone list does not load; the partition is walked', { partition, error: keys.error.message });
      return false;
    }
    for (const key of keys.value) {
      let record: Uint8Array | undefined;
      try {
        record = await storage.get(partition, key);
      } catch (e) {
        // A listed key whose bytes rotted (a value-log record failing its checksum) must not stop
        // the node from starting (swarm seed 38991): walk the partition instead, which skips it.
        if (!(e instanceof StorageCorruptionError)) throw e;
        this.#log.warn('a record of a saved tombstone list is damaged; the partition is walked', { partition, error: e.message });
        return false;
      }
      if (record === undefined) continue;
      let object: StoredObject;
      try {
        object = decodeRecord(record);
      } catch {
        continue;
      }
      if (tombstoneFacts(object).tombstoneOnly) this.#ledger.noteLocal(partition, key, object, versionDigest(object), runtime.time.monotonicMs());
    }
    if (this.#ledger.untrackedIn(partition) > 0) return false;
    part.tombstonesKnownAt = 0;
    return true;
  }

  /** Membership runs: begin scheduling. */
  start(): void {
    if (!this.#deps.enabled || this.#started || this.#stopped) return;
    this.#started = true;
    this.#arm(0);
  }

  /** Stop scheduling, end the exchanges and scans in flight (their repairs so far stay). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) this.#deps.runtime.time.cancelTimer(this.#timer);
    this.#timer = undefined;
    for (const cancel of this.#cancels) cancel();
    this.#sleeps.stop();
    for (const part of this.#parts.values()) if (part.scan !== undefined) part.scan.cancelled = true;
    this.#repair?.fail('the node stopped', this.#deps.runtime.time.monotonicMs());
    await Promise.allSettled([...this.#running, this.#scanning]);
  }

  /**
   * After the last write of this life (the coordinator is closed), before
   * storage closes: save every ready tree with no write in flight, then the
   * marker naming them.
   */
  async persist(): Promise<void> {
    if (!this.#deps.enabled) return;
    const saved: number[] = [];
    for (const [p, part] of this.#parts) {
      if (part.tree === undefined || (this.#inflight.get(p)?.size ?? 0) > 0) continue;
      await this.#deps.storage.putMeta(metaAaeTree(p), encodeTree(part.tree));
      // Every partition the marker names gets its list written now (empty: walk it), so no older list is ever read.
      const known = part.tombstonesKnownAt !== undefined && part.tombstonesKnownAt === this.#ledger.untrackedIn(p);
      await this.#deps.storage.putMeta(metaAaeTombstones(p), known ? encodeTombstoneKeys(this.#ledger.trackedKeys(p)) : new Uint8Array(0));
      saved.push(p);
    }
    await this.#deps.storage.putMeta(META_AAE_CLEAN, encodePartitions(saved));
    this.#log.info('saved the trees for the next start', { partitions: saved.length });
  }

  /** The cluster deletes these partitions here (released): drop their trees and build none while the deletes run. */
  released(partitions: readonly number[], done: Promise<void>): void {
    for (const p of partitions) {
      this.#drop(p);
      this.#releasing.add(p);
    }
    void done.finally(() => {
      for (const p of partitions) this.#releasing.delete(p);
    });
  }

  // ---------------------------------------------------------------- the replica's changes

  changing(partition: number, key: Uint8Array, before: HeldObject | undefined, after: StoredObject | undefined): ((ok: boolean) => void) | undefined {
    if (!this.#deps.enabled) return undefined;
    const flight: Flight = { key, before, after };
    let flights = this.#inflight.get(partition);
    if (flights === undefined) {
      flights = new Set();
      this.#inflight.set(partition, flights);
    }
    flights.add(flight);
    const part = this.#parts.get(partition);
    let digest: VersionDigest | undefined;
    if (part !== undefined) {
      part.writes++;
      const old = digestOf(before);
      digest = digestOf(after);
      part.tree?.update(key, old, digest);
      if (part.scan !== undefined) {
        part.scan.builder?.written(key, old, digest);
        part.scan.written.add(keyId(key));
      }
    }
    // The ledger tracks tombstone-only objects; for any other it only forgets the key (no digest needed).
    digest ??= after !== undefined && tombstoneFacts(after).tombstoneOnly ? versionDigest(after) : ABSENT_DIGEST;
    this.#ledger.noteLocal(partition, key, after, digest, this.#deps.runtime.time.monotonicMs());
    return (ok) => {
      // An emptied set stays (one per partition at most): dropping and making it again cost every write.
      this.#inflight.get(partition)?.delete(flight);
      if (!ok) this.#drifted(partition, 'a write of it failed; its outcome is unknown');
    };
  }

  setAside(partition: number): void {
    if (this.#deps.enabled) this.#drifted(partition, 'a record of it did not decode and was set aside');
  }

  // ---------------------------------------------------------------- serving peers

  /** A peer's exchange call on this node's replica of a partition. */
  async serve(req: TreeRequest): Promise<TreeReply> {
    const { self } = this.#deps;
    if (!this.#deps.enabled) throw new UnavailableError(`anti-entropy is off on ${self}`, { answered: 0, required: 0 });
    const view = this.#deps.cluster();
    if (view === undefined) throw new UnavailableError(`${self} knows no ring yet`, { answered: 0, required: 0 });
    if (!Number.isInteger(req.partition) || req.partition >= view.ring.partitionCount) {
      throw new InvalidArgumentError(`partition ${req.partition} is out of range (${view.ring.partitionCount} partitions)`);
    }
    if (req.ringVersion !== view.ringVersion) {
      throw new UnavailableError(`the exchange runs under ring version ${req.ringVersion}; ${self} holds version ${view.ringVersion}`, { answered: 0, required: 0 });
    }
    const reads = view.replicas(req.partition).reads;
    if (!reads.includes(self) || !reads.includes(req.from)) {
      throw new UnavailableError(`${self} and ${req.from} are not both replicas of partition ${req.partition} under ring version ${view.ringVersion}`, {
        answered: 0,
        required: 0,
      });
    }
    if (!view.isUp(req.from)) throw new UnavailableError(`${self} believes ${req.from} down`, { answered: 0, required: 0 });
    return { type: 'tree', answer: answerOf(await performCall(this.#port, req.partition, req.call)) };
  }

  // ---------------------------------------------------------------- operator

  status(): AntiEntropyStatus {
    const view = this.#deps.cluster();
    const held = view === undefined ? [] : this.#holdingsOf(view).map((h) => h.partition);
    let ready = 0;
    let building = 0;
    for (const p of held) {
      const part = this.#parts.get(p);
      if (part?.tree !== undefined) ready++;
      else if (part !== undefined) building++;
    }
    const totals = this.#exchanges.totals();
    const s = this.#scheduler.stats();
    return {
      enabled: this.#deps.enabled,
      partitions: held.length,
      treesReady: ready,
      treesBuilding: building,
      exchanges: totals.exchanges,
      cycles: s.cycles,
      lastCycleMs: s.lastCycleMs ?? 0,
      lastFullExchangeAtMs: this.#exchanges.fullExchangeAtMs(held),
      keysPulled: totals.keysPulled,
      keysPushed: totals.keysPushed,
      bytesSent: totals.bytesSent,
      bytesReceived: totals.bytesReceived,
      tombstonesPurged: this.#purged,
      exchangesSlowed: s.loadedStarts,
      peers: this.#exchanges.peers(),
      ...(this.#repair === undefined ? {} : { repair: this.#repair.status(this.#deps.runtime.time.monotonicMs()) }),
    };
  }

  /** Start an on-demand repair (AdminHandler.repair). */
  repair(partition?: number): RepairStatus {
    const { self, runtime } = this.#deps;
    if (!this.#deps.enabled) throw new UnavailableError(`anti-entropy is off on ${self} (--anti-entropy false)`, { answered: 0, required: 0 });
    if (this.#stopped || !this.#started) throw new UnavailableError(`${self} is not running`, { answered: 0, required: 0 });
    const view = this.#deps.cluster();
    if (view === undefined) throw new UnavailableError(`${self} knows no ring yet`, { answered: 0, required: 0 });
    if (partition !== undefined && (!Number.isInteger(partition) || partition < 0 || partition >= view.ring.partitionCount)) {
      throw new InvalidArgumentError(`partition must be an integer in 0..${view.ring.partitionCount - 1}, got ${String(partition)}`);
    }
    const now = runtime.time.monotonicMs();
    const current = this.#repair;
    if (current?.state === 'running') {
      if (current.partition === partition) return current.status(now);
      throw new UnavailableError(`repair ${current.id} is running on ${self}; wait for it to finish`, { answered: 0, required: 0 });
    }
    const holdings = this.#holdingsOf(view);
    const targets = partition === undefined ? holdings : holdings.filter((h) => h.partition === partition);
    if (partition !== undefined && targets.length === 0) throw new InvalidArgumentError(`${self} does not replicate partition ${partition}`);
    const plan = new RepairPlan({
      id: ++this.#repairIds,
      self,
      ...(partition === undefined ? {} : { partition }),
      targets,
      startedAtMs: runtime.time.nowMs(),
      startedAtMonotonicMs: now,
      attemptsMax: REPAIR_ATTEMPTS_MAX,
      waitMsMax: REPAIR_WAIT_MS_MAX,
      roundsMax: REPAIR_ROUNDS_MAX,
    });
    this.#repair = plan;
    this.#log.info('repair started', { repair: plan.id, partitions: targets.length, ...(partition === undefined ? {} : { partition }) });
    this.#track(this.#runRepair(plan));
    return plan.status(now);
  }

  // ---------------------------------------------------------------- scheduling

  #arm(delayMs: number): void {
    if (this.#stopped) return;
    const time = this.#deps.runtime.time;
    if (this.#timer !== undefined) time.cancelTimer(this.#timer);
    this.#timer = time.setTimer(Math.min(Math.max(0, delayMs), RECONCILE_MS_MAX), () => {
      this.#timer = undefined;
      this.#wake();
    });
  }

  #wake(): void {
    if (this.#stopped) return;
    const interval = this.#deps.config.exchangeIntervalMs;
    const view = this.#deps.cluster();
    if (view === undefined) return this.#arm(interval);
    const holdings = this.#reconcile(view);
    // An on-demand repair runs its own exchanges meanwhile.
    if (this.#repair?.state === 'running') return this.#arm(interval);
    const now = this.#deps.runtime.time.monotonicMs();
    const d = this.#scheduler.next(now, holdings, (p, peer) => this.#readiness(view, p, peer) === 'ready', this.#deps.requests?.() ?? 0);
    if (d.type === 'wait') return this.#arm(d.wakeAtMs - now);
    if (d.type === 'busy') return;
    const begun = this.#deps.admission.begin('anti-entropy', now);
    if (!begun.granted) {
      this.#scheduler.finished(d.partition, undefined);
      return this.#arm(interval);
    }
    const ticket = begun.ticket;
    this.#track(
      this.#exchange(d.partition, d.peer, d.startSegment, ticket)
        .then(
          (result) => this.#scheduler.finished(d.partition, result),
          (e: unknown) => {
            this.#scheduler.finished(d.partition, undefined);
            this.#log.warn('an exchange failed', { partition: d.partition, peer: d.peer, error: e });
          },
        )
        .finally(() => {
          this.#deps.admission.end(ticket);
          this.#wake();
        }),
    );
  }

  #track(p: Promise<unknown>): void {
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  /** Whether (partition, peer) can be exchanged now from this node's side. */
  #readiness(view: ClusterView, partition: number, peer: NodeId): PairReadiness {
    if (!view.replicas(partition).reads.includes(peer) || view.addressOf(peer) === undefined) return 'skip';
    // A suspected peer usually refutes within a probe or two (a slow ack on a busy machine): wait for
    // it, bounded like a tree being built, rather than give the pair up. A peer declared down is skipped.
    if (!view.isUp(peer)) return view.isSuspected?.(peer) === true ? 'wait' : 'skip';
    return this.#parts.get(partition)?.tree === undefined ? 'wait' : 'ready';
  }

  /** The partitions this node replicates under `view`, with their read sets (cached per ring). */
  #holdingsOf(view: ClusterView): PartitionReplicas[] {
    const key = `${view.ringVersion}/${view.ring.checksum}`;
    if (this.#holdings?.key !== key) {
      const list: PartitionReplicas[] = [];
      for (let p = 0; p < view.ring.partitionCount; p++) {
        const reads = view.replicas(p).reads;
        if (reads.includes(this.#deps.self)) list.push({ partition: p, replicas: reads });
      }
      this.#holdings = { key, list };
    }
    return this.#holdings.list;
  }

  /** Trees for exactly the partitions held: drop the others, start building the missing ones. */
  #reconcile(view: ClusterView): PartitionReplicas[] {
    const holdings = this.#holdingsOf(view);
    const held = new Set(holdings.map((h) => h.partition));
    for (const p of [...this.#parts.keys()]) if (!held.has(p)) this.#drop(p);
    for (const p of held) {
      if (this.#parts.has(p) || this.#releasing.has(p)) continue;
      this.#parts.set(p, { tree: undefined, builtAtMs: 0, scan: undefined, writes: 0, tombstonesKnownAt: undefined });
      this.#queueScan(p, 'tree');
    }
    // Old trees are rebuilt (while they keep serving): what no write reported shows up then.
    const every = this.#deps.config.treeRebuildIntervalMs;
    if (every > 0) {
      const now = this.#deps.runtime.time.monotonicMs();
      for (const [p, part] of this.#parts) if (part.tree !== undefined && part.scan === undefined && now - part.builtAtMs >= every) this.#queueScan(p, 'tree');
    }
    return holdings;
  }

  #drop(partition: number): void {
    const part = this.#parts.get(partition);
    if (part === undefined) return;
    if (part.scan !== undefined) part.scan.cancelled = true;
    this.#parts.delete(partition);
    this.#ledger.dropPartition(partition);
    this.#exchanges.dropPartition(partition);
  }

  /** A peer with a new generation restarted (it may have lost data): what it was seen holding no longer counts. */
  #checkGenerations(): void {
    for (const [id, generation] of this.#deps.generations()) {
      if (id === this.#deps.self) continue;
      const known = this.#generations.get(id);
      if (known !== undefined && known !== generation) this.#ledger.forgetPeer(id);
      this.#generations.set(id, generation);
    }
  }

  // ---------------------------------------------------------------- trees

  #tree(partition: number): TictacTree {
    const tree = this.#parts.get(partition)?.tree;
    if (tree === undefined) {
      throw new UnavailableError(`${this.#deps.self} has no ready tree of partition ${partition} (not a replica of it, or still building it)`, {
        answered: 0,
        required: 0,
      });
    }
    return tree;
  }

  /** The tree of `partition` cannot be trusted any more: rebuild it. */
  #drifted(partition: number, why: string): void {
    const part = this.#parts.get(partition);
    if (part === undefined) return;
    this.#log.info('rebuilding a partition tree', { partition, why });
    if (part.scan !== undefined) part.scan.cancelled = true;
    part.tree = undefined;
    part.scan = undefined;
    part.tombstonesKnownAt = undefined;
    this.#queueScan(partition, 'tree');
  }

  #queueScan(partition: number, kind: Scan['kind']): void {
    const part = this.#parts.get(partition);
    if (part === undefined) return;
    part.scan = { kind, started: false, builder: undefined, written: new Set(), cancelled: false };
    this.#scanQueue.push(partition);
    this.#pumpScans();
  }

  /** One scan at a time, in the background. */
  #pumpScans(): void {
    if (this.#scanning !== undefined || this.#stopped) return;
    const partition = this.#scanQueue.shift();
    if (partition === undefined) return;
    const scan = this.#parts.get(partition)?.scan;
    const run = scan === undefined || scan.cancelled || scan.started ? Promise.resolve() : this.#scan(partition, scan);
    this.#scanning = run.finally(() => {
      this.#scanning = undefined;
      this.#pumpScans();
    });
  }

  /**
   * Walk the partition: feed a TreeBuilder (kind 'tree'), and re-track
   * tombstones for GC. A record that does not decode counts as absent (the
   * next write of its key sets it aside).
   */
  async #scan(partition: number, scan: Scan): Promise<void> {
    const { storage, config, runtime } = this.#deps;
    const part = this.#parts.get(partition)!;
    scan.started = true;
    // Writes before now have landed (the scan sees them) or are in flight (told to the builder below).
    scan.written.clear();
    if (scan.kind === 'tree') {
      const builder = new TreeBuilder(this.#shape, config.rebuildDirtyKeysMax);
      // Writes issued before the builder existed and not landed yet: the scan may not see them.
      for (const f of this.#inflight.get(partition) ?? []) {
        builder.written(f.key, digestOf(f.before), digestOf(f.after));
        scan.written.add(keyId(f.key));
      }
      scan.builder = builder;
    }
    const started = runtime.time.monotonicMs();
    const untrackedBefore = this.#ledger.untrackedIn(partition);
    const requests = (): number => this.#deps.requests?.() ?? 0;
    const pacer = new ScanPacer({ busyRequestsPerSecond: config.exchangeBusyRequestsPerSecond, ...SCAN_PACING_DEFAULT }, started, requests());
    let keys = 0;
    try {
      for await (const r of storage.iteratePartition(partition)) {
        if (scan.cancelled || this.#stopped) return;
        if (scan.builder?.overflowed === true || scan.written.size > config.rebuildDirtyKeysMax) break;
        if (++keys % SCAN_SLICE_KEYS === 0) {
          // Yield to requests (scan-pacer.ts); writes meanwhile reach the builder and scan.written as before.
          const pause = pacer.sliceEnded(runtime.time.monotonicMs(), requests());
          if (pause > 0) await this.#sleeps.sleep(pause);
        }
        let object: StoredObject;
        try {
          object = decodeRecord(r.record);
        } catch {
          continue;
        }
        const digest = versionDigest(object);
        scan.builder?.scanned(r.key, digest);
        if (!scan.written.has(keyId(r.key)) && tombstoneFacts(object).tombstoneOnly) {
          this.#ledger.noteLocal(partition, r.key, object, digest, runtime.time.monotonicMs());
        }
      }
    } catch (e) {
      if (this.#stopped || scan.cancelled) return;
      this.#log.warn('a partition scan failed; it starts again', { partition, error: e });
      await this.#sleeps.sleep(config.exchangeIntervalMs);
      if (part.scan === scan && !scan.cancelled) this.#queueScan(partition, scan.kind);
      return;
    }
    if (scan.cancelled || this.#stopped || part.scan !== scan || this.#parts.get(partition) !== part) return;
    if (scan.builder?.overflowed === true || scan.written.size > config.rebuildDirtyKeysMax) {
      this.#log.info('too many writes during a tree rebuild; starting it again', { partition });
      this.#queueScan(partition, scan.kind);
      return;
    }
    part.scan = undefined;
    // Every tombstone of the partition is tracked now, unless the ledger ran out of room during the walk.
    part.tombstonesKnownAt = untrackedBefore;
    if (scan.builder !== undefined) {
      part.tree = scan.builder.finish();
      part.builtAtMs = runtime.time.monotonicMs();
      this.#log.trace('partition tree built', { partition, keys, ms: part.builtAtMs - started, pausedMs: pacer.pausedMs });
    }
  }

  /**
   * Segments whose hashes differed while both listings agreed: either writes
   * landed between the calls, a purged tombstone is listed by one side, or a
   * tree drifted from storage. This node's own tree is checked against its
   * storage (the peer checks its own when it runs an exchange); a mismatch
   * with no write meanwhile means drift, and the tree is rebuilt.
   */
  async #verify(partition: number, segments: readonly number[]): Promise<void> {
    const part = this.#parts.get(partition);
    if (part?.tree === undefined) return;
    const writes = part.writes;
    const wanted = new Set(segments);
    const entries: { key: Uint8Array; digest: bigint }[] = [];
    for await (const r of this.#deps.storage.iteratePartition(partition)) {
      if (!wanted.has(part.tree.segmentOf(r.key))) continue;
      const digest = recordDigest(r.record);
      if (digest !== undefined && digest !== ABSENT_DIGEST) entries.push({ key: r.key, digest });
    }
    const tree = part.tree;
    if (this.#parts.get(partition) !== part || tree === undefined || part.writes !== writes || (this.#inflight.get(partition)?.size ?? 0) > 0) return;
    const expected = segmentHashesOf(this.#shape, entries, segments);
    const actual = tree.hashes(this.#shape.depth, segments);
    const bad = segments.filter((_, i) => expected[i] !== actual[i]);
    if (bad.length > 0) this.#drifted(partition, `its tree differs from storage in segment(s) ${bad.slice(0, 8).join(',')}`);
  }

  // ---------------------------------------------------------------- exchanges

  /** One exchange of `partition` with `peer` (admitted with `ticket`), then what its result teaches. */
  async #exchange(partition: number, peer: NodeId, startSegment: number, ticket: AdmissionTicket): Promise<ExchangeResult | undefined> {
    const { runtime, config, admission, self } = this.#deps;
    const time = runtime.time;
    const view = this.#deps.cluster();
    const address = view?.addressOf(peer);
    if (view === undefined || address === undefined) return undefined;
    const ringVersion = view.ringVersion;
    const generation = this.#deps.generations().get(peer);
    const startedAtMs = time.monotonicMs();
    let cancel!: () => void;
    const deadline = new Promise<void>((resolve) => (cancel = resolve));
    this.#cancels.add(cancel);
    const timer = time.setTimer(config.exchangeTimeoutMs, cancel);
    const guard = (): void => {
      const now = this.#deps.cluster();
      if (now?.ringVersion !== ringVersion || !now.isUp(peer)) {
        throw new UnavailableError(`the ring or ${peer}'s liveness changed during the exchange`, { answered: 0, required: 0 });
      }
    };
    const port = this.#port;
    const local: TreePort = {
      async root(p) {
        guard();
        return port.root(p);
      },
      async segments(p, level, indices) {
        guard();
        return port.segments(p, level, indices);
      },
      async keysIn(p, segments) {
        guard();
        return port.keysIn(p, segments);
      },
      async fetch(p, keys) {
        guard();
        return port.fetch(p, keys);
      },
      async push(p, records) {
        guard();
        return port.push(p, records);
      },
    };
    const remote = new RemoteTreePort(
      async (req) => {
        const res = await this.#deps.request(address, req, config.exchangeTimeoutMs);
        if (!res.ok) throw res.error;
        return res.value.answer;
      },
      self,
      ringVersion,
    );
    let result: ExchangeResult;
    try {
      result = await exchange({ partition, limits: exchangeLimitsOf(config), startSegment }, { local, remote }, {
        deadline,
        pace: async (bytes) => {
          const now = time.monotonicMs();
          const readyAtMs = admission.charge(ticket, bytes, now);
          if (readyAtMs > now) await this.#sleeps.sleep(readyAtMs - now);
        },
      });
    } finally {
      time.cancelTimer(timer);
      this.#cancels.delete(cancel);
    }
    const finishedAtMs = time.monotonicMs();
    this.#exchanges.record(peer, result, time.nowMs());
    if (result.status === 'aborted') {
      this.#log.trace('exchange aborted', { partition, peer, reason: result.abortReason, error: result.error });
      return result;
    }
    if (result.pulled + result.pushed > 0) this.#log.trace('exchange repaired keys', { partition, peer, pulled: result.pulled, pushed: result.pushed });
    // Both sides' repairs count here, on the node that ran the exchange (the peer only answered).
    this.#deps.metrics?.antiEntropyRepaired(result.pulled + result.pushed);
    // What the peer holds counts only if it is still the life it was when the exchange began.
    this.#checkGenerations();
    if (this.#deps.generations().get(peer) === generation) this.#ledger.recordExchange(partition, peer, result, startedAtMs, finishedAtMs);
    if (result.phantomSegments.length > 0) await this.#verify(partition, result.phantomSegments);
    await this.#collect(partition);
    return result;
  }

  /**
   * Tombstone GC for `partition` (tombstone-gc.ts): purge the tombstones
   * every replica (old and new during a move) is known to hold, settled,
   * fresh and past the grace period, of keys no node may hold a hint of
   * (hint-census.ts) — each re-checked against the object found under its
   * key's lock.
   */
  async #collect(partition: number): Promise<void> {
    const view = this.#deps.cluster();
    if (view === undefined || this.#stopped) return;
    const { runtime, config, self } = this.#deps;
    const replicas = view.replicas(partition).writes;
    const rule = tombstoneRuleOf(config);
    const clock = (): { wallMs: number; monotonicMs: number } => ({ wallMs: runtime.time.nowMs(), monotonicMs: runtime.time.monotonicMs() });
    let purgedNow = 0;
    let keptForHints = 0;
    for (const key of this.#ledger.purgeable(partition, replicas, rule, clock(), PURGES_PER_EXCHANGE_MAX)) {
      // A hint of a version the tombstone deleted, delivered after the purge, would bring it back.
      const census = await this.#deps.hintCensus(partition, key);
      if (census === 'unanswered') {
        // A node that cannot answer now will not for the next key either: wait for a later exchange.
        keptForHints++;
        break;
      }
      if (census === 'held') {
        keptForHints++;
        continue;
      }
      let digest: VersionDigest = ABSENT_DIGEST;
      const purged = await this.#deps.purge(partition, key, (object) => {
        digest = versionDigest(object);
        const holders = this.#ledger.holders(partition, key);
        return tombstoneDecision({ object, digest, self, replicas, holders }, rule, clock()).purge;
      });
      if (!purged) continue;
      this.#ledger.notePurged(partition, key, digest, runtime.time.monotonicMs());
      this.#purged++;
      purgedNow++;
    }
    if (purgedNow > 0) this.#log.info('purged tombstones every replica holds', { partition, count: purgedNow });
    if (keptForHints > 0) this.#log.debug('kept tombstones a node may hold hints of (it holds some, or did not answer)', { partition, count: keptForHints });
  }

  // ---------------------------------------------------------------- on-demand repair

  async #runRepair(plan: RepairPlan): Promise<void> {
    const { runtime, admission } = this.#deps;
    const time = runtime.time;
    while (!this.#stopped) {
      const view = this.#deps.cluster();
      const step = plan.next(time.monotonicMs(), (p, peer) => (view === undefined ? 'wait' : this.#readiness(view, p, peer)));
      if (step.type === 'done') break;
      if (step.type === 'wait') {
        await this.#sleeps.sleep(REPAIR_POLL_MS);
        continue;
      }
      const begun = admission.begin('anti-entropy', time.monotonicMs());
      if (!begun.granted) {
        // The scheduler's exchange still runs: wait for its slot.
        plan.finished('not-run');
        await this.#sleeps.sleep(REPAIR_POLL_MS);
        continue;
      }
      let result: ExchangeResult | undefined;
      try {
        result = await this.#exchange(step.partition, step.peer, step.startSegment, begun.ticket);
      } catch (e) {
        this.#log.warn('a repair exchange failed', { partition: step.partition, peer: step.peer, error: e });
      } finally {
        admission.end(begun.ticket);
      }
      plan.finished(result ?? 'failed');
      if (result === undefined || result.status === 'aborted') await this.#sleeps.sleep(REPAIR_RETRY_MS);
    }
    if (this.#stopped) plan.fail('the node stopped', time.monotonicMs());
    const s = plan.status(time.monotonicMs());
    this.#log.info('repair finished', { repair: s.id, state: s.state, partitions: s.partitionsDone, exchanges: s.exchanges, skipped: s.skipped, pulled: s.keysPulled, pushed: s.keysPushed });
    this.#wake();
  }
}
