/**
 * The fault injector of a simulated run: while the clients run it crashes
 * and restarts nodes (kill -9, power loss with the unsynced tail lost, a lost
 * disk, a restored old backup), makes disks fail writes (EIO, ENOSPC) or turn
 * slow, and cuts, slows, drops, duplicates and reorders messages — each fault
 * drawn from the run's seed, recorded in the History, and undone after a
 * while. `heal()` ends every fault and brings every node back.
 *
 * Faults that make a replica forget acknowledged data (power loss, disk loss,
 * restore, a rotten record) only ever hit one node per run, the "unlucky" one: every write
 * acknowledged by W >= 2 replicas then survives on another replica, which is
 * the promise the checker holds the store to (README "What an acknowledged
 * write survives"). At most `downMax` nodes are down at once.
 */
import { assert, type SeededRandom } from '../runtime/index.ts';
import type { NodeId } from '../protocol/index.ts';
import type { SimCluster } from './cluster.ts';
import type { History } from './history.ts';
import type { DiskSnapshot } from './sim-disk.ts';

/** Which faults a run may inject, and how hard. */
export interface FaultOptions {
  /** Process crash (kill -9) and restart. */
  crash: boolean;
  /** Graceful stop (SIGTERM, as a rolling restart does) and restart: trees saved and loaded, hints handed over. */
  restart: boolean;
  /** Crash with the unsynced tail of the log lost (unlucky node only). */
  powerLoss: boolean;
  /** Crash and lose the whole data directory (unlucky node only). */
  diskLoss: boolean;
  /** Crash and restore a backup taken earlier in the run (unlucky node only). */
  restore: boolean;
  /** A stored record's bytes rot (unlucky node only: that replica's copy is lost). */
  corrupt: boolean;
  /** A disk fails writes with EIO at a rate for a while. */
  writeErrors: boolean;
  /** A disk fails every write (ENOSPC) for a while. */
  diskFull: boolean;
  /** Symmetric partitions between two groups. */
  partition: boolean;
  /** One-way cuts. */
  oneWay: boolean;
  /** A node whose messages and disk turn slow for a while. */
  slow: boolean;
  /** A new node joins (its share of partitions streams to it). */
  join: boolean;
  /** A member is decommissioned (streams its partitions away and leaves). */
  decommission: boolean;
  /** The unlucky node is crashed for good and removed (its partitions rebuilt from the other replicas). */
  remove: boolean;
  /** Background message loss / duplication / delay-spike rates while faults run. */
  lossRate: number;
  duplicationRate: number;
  spikeRate: number;
  /** Mean virtual ms between two fault events. */
  intervalMs: number;
  /** Most nodes down at once (>= 1). */
  downMax: number;
  /**
   * Oldest backup (virtual ms) a restore may put back; an older one is
   * replaced by a fresh backup instead. With tombstone GC on, the operator
   * rule is "never restore a backup older than the tombstone grace period"
   * (docs/antientropy.md), and the injector keeps it. Infinity: any.
   */
  backupAgeMsMax: number;
}

/** No faults at all. */
export const NO_FAULTS: FaultOptions = {
  crash: false,
  restart: false,
  powerLoss: false,
  diskLoss: false,
  restore: false,
  corrupt: false,
  writeErrors: false,
  diskFull: false,
  partition: false,
  oneWay: false,
  slow: false,
  join: false,
  decommission: false,
  remove: false,
  lossRate: 0,
  duplicationRate: 0,
  spikeRate: 0,
  intervalMs: 300,
  downMax: 1,
  backupAgeMsMax: Number.POSITIVE_INFINITY,
};

/** The names `--faults` accepts, each switching one boolean on. */
export const FAULT_NAMES = [
  'crash',
  'powerLoss',
  'diskLoss',
  'restore',
  'corrupt',
  'writeErrors',
  'diskFull',
  'partition',
  'oneWay',
  'slow',
  'join',
  'decommission',
  'remove',
  'restart',
] as const;

/** Most nodes a run grows to by joins. */
const NODES_MAX = 9;
/** How long the injector keeps asking for a removal before leaving it to the settle check to report. */
const REMOVE_RETRY_MS = 5 * 60_000;
/** The operator's deadline for one membership command (the CLI's default is of this order). */
const ADMIN_DEADLINE_MS = 60_000;
export type FaultName = (typeof FAULT_NAMES)[number];

/** How many times each fault was injected (the swarm's rare-path report). */
export type FaultCounts = Record<FaultName, number>;

/** Injects faults into a running SimCluster until stopped. */
export class FaultInjector {
  readonly counts: FaultCounts = Object.fromEntries(FAULT_NAMES.map((n) => [n, 0])) as FaultCounts;
  readonly #cluster: SimCluster;
  readonly #history: History;
  readonly #random: SeededRandom;
  readonly #opts: FaultOptions;
  readonly #unlucky: NodeId;
  readonly #down = new Set<NodeId>();
  /** Nodes removed from the ring (crashed for good; never restarted). */
  readonly #removed = new Set<NodeId>();
  /** Nodes asked to decommission. */
  readonly #leaving = new Set<NodeId>();
  /** Removals under way (heal waits for them). */
  readonly #removals: Promise<void>[] = [];
  /** Restarts under way (a life starting), awaited by heal(). */
  readonly #starting = new Set<Promise<void>>();
  #backup: DiskSnapshot | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(cluster: SimCluster, history: History, random: SeededRandom, opts: FaultOptions) {
    assert(opts.downMax >= 1, 'downMax must be at least 1');
    this.#cluster = cluster;
    this.#history = history;
    this.#random = random;
    this.#opts = opts;
    this.#unlucky = cluster.ids[random.int(cluster.ids.length)]!;
  }

  /** Begin injecting (returns at once; the faults happen as the simulation runs). */
  start(): void {
    const net = this.#cluster.network;
    net.setLoss(this.#opts.lossRate);
    net.setDuplication(this.#opts.duplicationRate);
    net.setSpikes(this.#opts.spikeRate, 200);
    this.#loop = this.#run();
  }

  /** Nodes removed from the ring during the run. */
  get removed(): ReadonlySet<NodeId> {
    return this.#removed;
  }

  /** Stop injecting, end every fault and restart every down node (not removed ones); resolves once all are running again. */
  async heal(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    const net = this.#cluster.network;
    net.heal();
    net.setLoss(0);
    net.setDuplication(0);
    net.setSpikes(0, 0);
    for (const id of this.#cluster.ids) {
      net.setSlow(this.#cluster.address(id), 0);
      this.#cluster.disk(id).failWrites(undefined);
      this.#cluster.disk(id).configure({ writeLatencyMsMin: 0, writeLatencyMsMax: 1 });
    }
    await Promise.all([...this.#starting]);
    for (const id of [...this.#down]) if (!this.#removed.has(id)) this.#restartNow(id);
    await Promise.all(this.#removals);
    await Promise.all([...this.#starting]);
    this.#note('heal: every fault ended, every node running');
  }

  async #run(): Promise<void> {
    const kinds = FAULT_NAMES.filter((n) => this.#opts[n]);
    if (kinds.length === 0) return;
    if (this.#opts.restore) {
      // A backup of the unlucky node, taken early, for a later restore to go back to.
      await this.#sleep(this.#random.int(this.#opts.intervalMs * 2));
      if (this.#stopped) return;
      this.#backup = this.#cluster.snapshotDisk(this.#unlucky);
      this.#note(`backup of ${this.#unlucky}'s disk taken`);
    }
    while (!this.#stopped) {
      await this.#sleep(1 + this.#random.int(2 * this.#opts.intervalMs));
      if (this.#stopped) return;
      const kind = kinds[this.#random.int(kinds.length)]!;
      await this.#inject(kind);
    }
  }

  async #inject(kind: FaultName): Promise<void> {
    const ids = this.#cluster.ids;
    const any = (): NodeId => ids[this.#random.int(ids.length)]!;
    const durationMs = 50 + this.#random.int(4 * this.#opts.intervalMs);
    switch (kind) {
      case 'crash': {
        const id = any();
        if (!this.#mayCrash(id)) return;
        await this.#crash(id, false, durationMs);
        break;
      }
      case 'restart': {
        const id = any();
        if (!this.#mayCrash(id)) return;
        // Down from the first moment of its stop: no other fault picks it meanwhile, and heal restarts it.
        this.#down.add(id);
        this.#note(`graceful stop of ${id} (SIGTERM), down for ${durationMs} ms`);
        await this.#cluster.stopLife(id);
        this.#later(durationMs, () => this.#restartNow(id));
        break;
      }
      case 'powerLoss': {
        if (!this.#mayCrash(this.#unlucky)) return;
        if (this.#removed.has(this.#unlucky)) return;
        await this.#crash(this.#unlucky, true, durationMs);
        break;
      }
      case 'diskLoss': {
        const id = this.#unlucky;
        if (!this.#mayCrash(id) || this.#removed.has(id)) return;
        await this.#cluster.crash(id);
        this.#down.add(id);
        this.#note(`crash ${id} and lose its disk`, true);
        await this.#cluster.disk(id).wipe();
        await this.#cluster.disk(id).backing();
        this.#later(durationMs, () => this.#restartNow(id));
        break;
      }
      case 'restore': {
        const id = this.#unlucky;
        const backup = this.#backup;
        if (backup === undefined || !this.#mayCrash(id) || this.#removed.has(id)) return;
        if (this.#cluster.scheduler.nowMs - backup.takenAtMs > this.#opts.backupAgeMsMax) {
          // Too old to restore safely once tombstones may have been purged: back up again instead.
          if (this.#cluster.isUp(id)) {
            this.#backup = this.#cluster.snapshotDisk(id);
            this.#note(`backup of ${id}'s disk taken again (the last one is older than the tombstone grace period)`);
          }
          return;
        }
        await this.#cluster.crash(id);
        this.#down.add(id);
        this.#note(`crash ${id} and restore its disk from the backup of t=${backup.takenAtMs}`, true);
        await this.#cluster.restoreDisk(id, backup);
        this.#later(durationMs, () => this.#restartNow(id));
        break;
      }
      case 'corrupt': {
        const id = this.#unlucky;
        if (this.#removed.has(id) || !(await this.#cluster.disk(id).corruptRandomRecord())) return;
        this.#note(`a record on ${id}'s disk rots`, true);
        break;
      }
      case 'writeErrors': {
        const id = any();
        const rate = 0.2 + this.#random.float() * 0.8;
        this.#cluster.disk(id).failWrites({ kind: 'EIO', rate });
        this.#note(`${id}'s disk fails ${Math.round(rate * 100)}% of writes (EIO) for ${durationMs} ms`);
        this.#later(durationMs, () => this.#cluster.disk(id).failWrites(undefined));
        break;
      }
      case 'diskFull': {
        const id = any();
        this.#cluster.disk(id).failWrites({ kind: 'ENOSPC' });
        this.#note(`${id}'s disk is full (ENOSPC) for ${durationMs} ms`);
        this.#later(durationMs, () => this.#cluster.disk(id).failWrites(undefined));
        break;
      }
      case 'partition': {
        const shuffled = [...ids];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = this.#random.int(i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const cut = 1 + this.#random.int(Math.max(1, ids.length - 1));
        const a = shuffled.slice(0, cut);
        const b = shuffled.slice(cut);
        if (b.length === 0) return;
        this.#cluster.partition(a, b);
        this.#note(`partition [${a.join(',')}] | [${b.join(',')}] for ${durationMs} ms`);
        this.#later(durationMs, () => this.#cluster.heal());
        break;
      }
      case 'oneWay': {
        const from = any();
        const to = ids.filter((id) => id !== from && this.#random.float() < 0.5);
        if (to.length === 0) return;
        const net = this.#cluster.network;
        net.partitionOneWay([this.#cluster.address(from)], to.map((id) => this.#cluster.address(id)));
        this.#note(`one-way cut ${from} -> [${to.join(',')}] for ${durationMs} ms`);
        this.#later(durationMs, () => this.#cluster.heal());
        break;
      }
      case 'join': {
        if (this.#cluster.ids.length >= NODES_MAX) return;
        const { id, started } = this.#cluster.startNewNode();
        void started.catch((e: unknown) => this.#note(`start of ${id} failed: ${String(e)}`));
        this.#note(`${id} starts with an empty disk and joins`);
        break;
      }
      case 'decommission': {
        const staying = this.#stayingMembers();
        const replicas = this.#cluster.node(this.#cluster.ids[0]!).membershipView()?.ringState?.replicas ?? 3;
        if (staying.length <= replicas + 1) return;
        const id = staying[this.#random.int(staying.length)]!;
        if (id === this.#unlucky || !this.#cluster.isUp(id) || this.#down.has(id)) return;
        this.#leaving.add(id);
        this.#note(`decommission ${id}`);
        this.#cluster
          .node(id)
          .admin.decommission()
          .catch((e: unknown) => {
            this.#leaving.delete(id);
            this.#note(`decommission of ${id} refused: ${String(e)}`);
          });
        break;
      }
      case 'remove': {
        const id = this.#unlucky;
        const staying = this.#stayingMembers();
        const replicas = this.#cluster.node(this.#cluster.ids[0]!).membershipView()?.ringState?.replicas ?? 3;
        if (this.#removed.has(id) || !staying.includes(id) || staying.length <= replicas + 1) return;
        if (this.#cluster.isUp(id)) {
          if (this.#down.size >= this.#opts.downMax) return;
          await this.#cluster.crash(id);
        }
        this.#down.delete(id);
        this.#removed.add(id);
        this.#note(`crash ${id} for good and remove it from the ring`, true);
        this.#removals.push(this.#removeLater(id));
        break;
      }
      case 'slow': {
        const id = any();
        const extraMs = 20 + this.#random.int(300);
        this.#cluster.network.setSlow(this.#cluster.address(id), extraMs);
        this.#cluster.disk(id).configure({ writeLatencyMsMin: extraMs / 4, writeLatencyMsMax: extraMs });
        this.#note(`${id} is slow (+${extraMs} ms per message, disk too) for ${durationMs} ms`);
        this.#later(durationMs, () => {
          this.#cluster.network.setSlow(this.#cluster.address(id), 0);
          this.#cluster.disk(id).configure({ writeLatencyMsMin: 0, writeLatencyMsMax: 1 });
        });
        break;
      }
    }
    this.counts[kind]++;
  }

  #mayCrash(id: NodeId): boolean {
    return (
      this.#cluster.isUp(id) &&
      !this.#down.has(id) &&
      !this.#leaving.has(id) &&
      this.#cluster.node(id).departed === undefined &&
      this.#down.size < this.#opts.downMax
    );
  }

  /** Ring members still in it for good (not leaving, not removed), as the cluster's first node sees them. */
  #stayingMembers(): NodeId[] {
    const via = this.#cluster.ids.find((id) => this.#cluster.isUp(id) && this.#cluster.node(id).departed === undefined);
    const ring = via === undefined ? undefined : this.#cluster.node(via).membershipView()?.ringState;
    return (ring?.members ?? []).filter((id) => !this.#leaving.has(id) && !this.#removed.has(id));
  }

  /** A node that can take a membership command now. */
  #anyMember(except: NodeId): NodeId | undefined {
    const ok = this.#cluster.ids.filter(
      (id) => id !== except && this.#cluster.isUp(id) && !this.#down.has(id) && this.#cluster.node(id).departed === undefined,
    );
    return ok.length === 0 ? undefined : ok[this.#random.int(ok.length)];
  }

  /** Remove the crashed unlucky node, retrying until some member accepts (it must be known dead first); heal() waits for it. */
  async #removeLater(id: NodeId): Promise<void> {
    const giveUpAtMs = this.#cluster.scheduler.nowMs + REMOVE_RETRY_MS;
    while (this.#cluster.scheduler.nowMs < giveUpAtMs) {
      await this.#sleep(1000);
      const via = this.#anyMember(id);
      if (via === undefined) continue;
      try {
        await this.#cluster.adminCall(via, ADMIN_DEADLINE_MS, (admin) => admin.remove(id));
        this.#note(`${via} committed the removal of ${id}`);
        return;
      } catch {
        // not yet known dead, or the claimant is busy: try again
      }
    }
  }

  async #crash(id: NodeId, powerLoss: boolean, downMs: number): Promise<void> {
    await this.#cluster.crash(id, { powerLoss });
    this.#down.add(id);
    this.#note(`crash ${id}${powerLoss ? ' with power loss (unsynced tail lost)' : ''}, down for ${downMs} ms`, powerLoss);
    this.#later(downMs, () => this.#restartNow(id));
  }

  #restartNow(id: NodeId): void {
    if (!this.#down.delete(id) || this.#removed.has(id)) return;
    this.#note(`restart ${id}`);
    const starting = this.#cluster.startLife(id).catch((e: unknown) => this.#note(`restart of ${id} failed: ${String(e)}`));
    this.#starting.add(starting);
    void starting.finally(() => this.#starting.delete(starting));
  }

  #later(ms: number, fn: () => void): void {
    this.#cluster.scheduler.schedule(ms, () => {
      if (!this.#stopped) fn();
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#cluster.scheduler.schedule(ms, resolve));
  }

  #note(line: string, regression = false): void {
    const at = this.#cluster.scheduler.nowMs;
    this.#history.fault(at, `t=${at} fault: ${line}`, regression);
  }
}
