/**
 * A tiny deterministic discrete-event loop over pure Membership state
 * machines (not a test file). One seed drives everything: per-node Random
 * streams, network delay and loss. Events are ordered by (atMs, seq), so a
 * run is a function of the seed. Partitions drop packets between groups;
 * stopped nodes neither send nor receive. The harness plays the node driver:
 * it delivers packets, wakes each machine at its wakeAtMs, and (optionally)
 * completes assigned transfers after a delay, as a streaming driver would.
 */
import {
  Membership,
  type MembershipConfig,
  type MembershipEvent,
  type MembershipInput,
  type MembershipView,
} from '../../../lib/membership/index.ts';
import type { Address, MembershipPacket, NodeId, RingStateRecord } from '../../../lib/protocol/index.ts';
import { SeededRandom } from '../../../lib/runtime/index.ts';

export interface HarnessOptions {
  readonly seed: number;
  readonly config?: Partial<MembershipConfig>;
  /** One-way packet delay, uniform in [delayMsMin, delayMsMax]. */
  readonly delayMsMin?: number;
  readonly delayMsMax?: number;
  /** Probability that a packet is lost. */
  readonly lossRate?: number;
  /** When set, every assigned transfer is reported complete this long after it was assigned. */
  readonly transferDelayMs?: number;
}

interface SimNode {
  readonly id: NodeId;
  readonly address: Address;
  readonly seeds: readonly Address[];
  readonly config: Partial<MembershipConfig>;
  machine: Membership;
  generation: number;
  up: boolean;
  /** Wake time currently scheduled (stale heap entries are skipped). */
  wakeAtMs: number;
  /** Last ring state adopted: what a driver would have persisted. */
  persistedRing: RingStateRecord | undefined;
}

type Job =
  | { readonly kind: 'wake'; readonly node: NodeId; readonly atMs: number }
  | { readonly kind: 'deliver'; readonly from: NodeId; readonly to: Address; readonly packet: MembershipPacket }
  | { readonly kind: 'input'; readonly node: NodeId; readonly generation: number; readonly input: (nowMs: number) => MembershipInput };

interface Entry {
  readonly atMs: number;
  readonly seq: number;
  readonly job: Job;
}

/** A logged event with when and where it happened. */
export interface LoggedEvent {
  readonly atMs: number;
  readonly node: NodeId;
  readonly event: MembershipEvent;
}

export const addressOf = (id: NodeId): Address => `sim://${id}`;

export class Harness {
  nowMs = 0;
  readonly log: LoggedEvent[] = [];
  /** Every ring state any node adopted, by checksum. */
  readonly rings = new Map<number, RingStateRecord>();
  packetsDelivered = 0;
  packetsDropped = 0;
  readonly #opts: HarnessOptions;
  readonly #root: SeededRandom;
  readonly #net: SeededRandom;
  readonly #nodes = new Map<NodeId, SimNode>();
  readonly #byAddress = new Map<Address, SimNode>();
  readonly #heap: Entry[] = [];
  #seq = 0;
  /** Group index per node while partitioned; packets between different groups are dropped. */
  #groups: Map<NodeId, number> | undefined;
  readonly #cuts = new Set<string>();
  readonly #transfersScheduled = new Set<string>();

  constructor(opts: HarnessOptions) {
    this.#opts = opts;
    this.#root = new SeededRandom(opts.seed);
    this.#net = this.#root.fork();
  }

  get ids(): NodeId[] {
    return [...this.#nodes.keys()].sort();
  }

  upIds(): NodeId[] {
    return this.ids.filter((id) => this.#node(id).up);
  }

  node(id: NodeId): Membership {
    return this.#node(id).machine;
  }

  view(id: NodeId): MembershipView {
    return this.#node(id).machine.view();
  }

  /** Start a node now (or at `atMs`). */
  add(id: NodeId, seeds: readonly NodeId[], config: Partial<MembershipConfig> = {}, generation = 1): void {
    const node: SimNode = {
      id,
      address: addressOf(id),
      seeds: seeds.map(addressOf),
      config,
      machine: this.#newMachine(id, seeds.map(addressOf), config, generation, undefined),
      generation,
      up: true,
      wakeAtMs: Number.POSITIVE_INFINITY,
      persistedRing: undefined,
    };
    this.#nodes.set(id, node);
    this.#byAddress.set(node.address, node);
    this.#wake(node, this.nowMs);
  }

  /** Crash: the node stops sending and receiving; its machine is discarded. */
  stop(id: NodeId): void {
    this.#node(id).up = false;
  }

  /** Restart a stopped node with the same id and address and a higher generation (keeping its persisted ring). */
  restart(id: NodeId): void {
    const node = this.#node(id);
    node.generation++;
    node.machine = this.#newMachine(id, node.seeds, node.config, node.generation, node.persistedRing);
    node.up = true;
    this.#wake(node, this.nowMs);
  }

  /** Split the nodes into groups that cannot reach each other (nodes not listed form no group and reach nobody). */
  partition(...groups: ReadonlyArray<readonly NodeId[]>): void {
    this.#groups = new Map();
    groups.forEach((g, i) => g.forEach((id) => this.#groups?.set(id, i)));
  }

  /** Cut the link between two nodes only (both directions); they still reach everyone else. */
  cut(a: NodeId, b: NodeId): void {
    this.#cuts.add(linkKey(a, b));
  }

  /** End every partition and cut link. */
  heal(): void {
    this.#groups = undefined;
    this.#cuts.clear();
  }

  /** Feed a command to a node now. */
  command(id: NodeId, input: (nowMs: number) => MembershipInput): void {
    this.#schedule(this.nowMs, { kind: 'input', node: id, generation: this.#node(id).generation, input });
  }

  /** Run every job up to and including `untilMs`. */
  runUntil(untilMs: number): void {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.atMs > untilMs) break;
      this.#pop();
      this.nowMs = top.atMs;
      this.#run(top.job);
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  runFor(ms: number): void {
    this.runUntil(this.nowMs + ms);
  }

  /**
   * Run until `done()` holds, checking every `checkEveryMs`; returns the time
   * it first held, or undefined after `maxMs`.
   */
  runUntilTrue(done: () => boolean, maxMs: number, checkEveryMs = 100): number | undefined {
    const end = this.nowMs + maxMs;
    while (this.nowMs < end) {
      if (done()) return this.nowMs;
      this.runUntil(Math.min(end, this.nowMs + checkEveryMs));
    }
    return done() ? this.nowMs : undefined;
  }

  /** Every up node (or `ids`) holds the same member table and the same ring (and has one). */
  agreed(ids: readonly NodeId[] = this.upIds()): boolean {
    let table: number | undefined;
    let ring: number | undefined;
    for (const id of ids) {
      const v = this.view(id);
      if (v.ringVersion === 0) return false;
      if (table === undefined) {
        table = v.tableChecksum;
        ring = v.ringChecksum;
      } else if (v.tableChecksum !== table || v.ringChecksum !== ring) return false;
    }
    return true;
  }

  /** Events of one type, optionally at one node. */
  events<T extends MembershipEvent['type']>(type: T, node?: NodeId): Array<LoggedEvent & { event: Extract<MembershipEvent, { type: T }> }> {
    return this.log.filter(
      (e): e is LoggedEvent & { event: Extract<MembershipEvent, { type: T }> } => e.event.type === type && (node === undefined || e.node === node),
    );
  }

  #newMachine(id: NodeId, seeds: readonly Address[], config: Partial<MembershipConfig>, generation: number, ring: RingStateRecord | undefined): Membership {
    return new Membership({
      self: { id, address: addressOf(id), zone: 'z1' },
      generation,
      seeds,
      config: { ...this.#opts.config, ...config },
      random: this.#root.fork(),
      nowMs: this.nowMs,
      ...(ring === undefined ? {} : { ringState: ring }),
    });
  }

  #node(id: NodeId): SimNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  #run(job: Job): void {
    switch (job.kind) {
      case 'wake': {
        const node = this.#node(job.node);
        if (!node.up || node.wakeAtMs !== job.atMs) return;
        node.wakeAtMs = Number.POSITIVE_INFINITY;
        this.#step(node, { type: 'tick', nowMs: this.nowMs });
        return;
      }
      case 'deliver': {
        const node = this.#byAddress.get(job.to);
        if (node === undefined || !node.up || this.#blocked(job.from, node.id)) {
          this.packetsDropped++;
          return;
        }
        this.packetsDelivered++;
        this.#step(node, { type: 'packet', packet: job.packet, nowMs: this.nowMs });
        return;
      }
      case 'input': {
        const node = this.#node(job.node);
        if (!node.up || node.generation !== job.generation) return;
        this.#step(node, job.input(this.nowMs));
        return;
      }
    }
  }

  #step(node: SimNode, input: MembershipInput): void {
    const effects = node.machine.step(input);
    for (const event of effects.events) {
      this.log.push({ atMs: this.nowMs, node: node.id, event });
      if (event.type === 'ring-changed') {
        node.persistedRing = event.state;
        this.rings.set(event.state.checksum, event.state);
      }
      if (event.type === 'transfers-assigned') this.#scheduleTransfers(node, event.planId, event.transfers.map((t) => t.partition));
    }
    for (const out of effects.packets) this.#sendPacket(node, out.to, out.packet);
    if (effects.wakeAtMs < node.wakeAtMs) this.#wake(node, Math.max(this.nowMs, effects.wakeAtMs));
  }

  #wake(node: SimNode, atMs: number): void {
    node.wakeAtMs = atMs;
    this.#schedule(atMs, { kind: 'wake', node: node.id, atMs });
  }

  #scheduleTransfers(node: SimNode, planId: number, partitions: readonly number[]): void {
    const delay = this.#opts.transferDelayMs;
    if (delay === undefined) return;
    for (const partition of partitions) {
      const key = `${node.id}/${node.generation}/${planId}/${partition}`;
      if (this.#transfersScheduled.has(key)) continue;
      this.#transfersScheduled.add(key);
      this.#schedule(this.nowMs + delay, {
        kind: 'input',
        node: node.id,
        generation: node.generation,
        input: (nowMs) => ({ type: 'transfer-complete', partition, planId, nowMs }),
      });
    }
  }

  #sendPacket(from: SimNode, to: Address, packet: MembershipPacket): void {
    const target = this.#byAddress.get(to);
    if (target === undefined || this.#blocked(from.id, target.id) || this.#net.float() < (this.#opts.lossRate ?? 0)) {
      this.packetsDropped++;
      return;
    }
    const min = this.#opts.delayMsMin ?? 1;
    const max = this.#opts.delayMsMax ?? 10;
    const delay = min + this.#net.int(max - min + 1);
    this.#schedule(this.nowMs + delay, { kind: 'deliver', from: from.id, to, packet });
  }

  #blocked(a: NodeId, b: NodeId): boolean {
    if (this.#cuts.has(linkKey(a, b))) return true;
    if (this.#groups === undefined) return false;
    const ga = this.#groups.get(a);
    return ga === undefined || ga !== this.#groups.get(b);
  }

  #schedule(atMs: number, job: Job): void {
    const entry = { atMs, seq: this.#seq++, job };
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent] as Entry)) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as Entry;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      if (l < heap.length && before(heap[l] as Entry, best)) {
        m = l;
        best = heap[l] as Entry;
      }
      if (r < heap.length && before(heap[r] as Entry, best)) m = r;
      if (m === i) break;
      heap[i] = heap[m] as Entry;
      i = m;
    }
    heap[i] = last;
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function before(a: Entry, b: Entry): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

/** `n` node ids that sort numerically: n000, n001, ... */
export function names(n: number, prefix = 'n'): NodeId[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
}

/** Start `n` nodes that each know the first `seedCount` nodes as seeds; returns their ids. */
export function coldStart(h: Harness, n: number, seedCount = 3, config: Partial<MembershipConfig> = {}): NodeId[] {
  const ids = names(n);
  const seeds = ids.slice(0, seedCount);
  for (const id of ids) h.add(id, seeds, config);
  return ids;
}
