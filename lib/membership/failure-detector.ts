/**
 * Failure detector: SWIM probing (Das, Gupta, Motivala, DSN 2002, §3-4) with
 * Lifeguard's refinements (Dadgar et al. 2018): indirect probes with nacks,
 * local health awareness and suspicion timeouts that shrink with independent
 * confirmations (suspicion.ts, awareness.ts).
 *
 * Why SWIM rather than phi-accrual: the detector has to feed the coordinator
 * a fast, local "do not wait for this replica" signal. SWIM's direct probe
 * answers "can *I* reach it" within one probe interval plus a timeout, and
 * the indirect probes keep one bad link from accusing a healthy node. Its
 * load per node is constant (one probe per interval) whatever the cluster
 * size, its detection bound is a closed formula (see index.ts), and its
 * incarnation rule lets a wrongly suspected node refute at once. Phi-accrual
 * over gossip heartbeats (Cassandra) would need a heartbeat version bumped
 * and gossiped every second by every node, so every digest exchange would
 * ship changed state for the whole cluster, and its detection time depends on
 * the irregular arrival of second-hand heartbeats (about 18 mean
 * inter-arrival times at phi = 8 with exponential arrivals).
 *
 * One probe round (period `probeIntervalMs`, scaled by awareness):
 *   t0          ping the next member of a shuffled round-robin list
 *   t0+timeout  no ack: ping-req `indirectChecks` other members, which ping
 *               the target and relay its ack, or answer nack when it stays silent
 *   t0+period   still no ack: suspect the target (missing nacks raise our own
 *               health score instead of blaming it alone)
 * A suspicion becomes dead when its Lifeguard timeout runs out, unless the
 * node refutes it with a higher incarnation first.
 *
 * The detector keeps its own timers as deadlines and reports through a host
 * (the membership state machine), so it is a pure, synchronous state machine.
 */
import type { Address, MemberRecord, NodeId } from '../protocol/index.ts';
import type { Random } from '../runtime/index.ts';
import { Awareness } from './awareness.ts';
import type { MembershipConfig } from './config.ts';
import { suspicionTimeoutMs } from './config.ts';
import { Suspicion } from './suspicion.ts';

/** A probe packet without the envelope (sender, piggyback) the host adds. */
export type ProbeBody =
  | { readonly type: 'ping'; readonly seq: number; readonly target: NodeId }
  | { readonly type: 'ack'; readonly seq: number }
  | { readonly type: 'nack'; readonly seq: number }
  | { readonly type: 'ping-req'; readonly seq: number; readonly target: NodeId; readonly targetAddress: Address };

/** What the detector needs from the membership state machine. */
export interface DetectorHost {
  readonly self: NodeId;
  /** Records of the nodes worth probing: every known node but self that is not dead. */
  probeCandidates(): readonly MemberRecord[];
  record(id: NodeId): MemberRecord | undefined;
  /** Members believed alive (self included): sizes suspicion timeouts and confirmations. */
  aliveCount(): number;
  send(to: Address, body: ProbeBody): void;
  /** The probe of `target` (at `record`'s generation/incarnation) failed. */
  suspect(record: MemberRecord, nowMs: number): void;
  /** The suspicion of `record` ran out. */
  declareDead(record: MemberRecord, nowMs: number): void;
}

interface Probe {
  readonly seq: number;
  readonly target: NodeId;
  readonly timeoutAtMs: number;
  readonly endAtMs: number;
  acked: boolean;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

interface Relay {
  readonly requester: Address;
  readonly requesterSeq: number;
  readonly deadlineMs: number;
}

/** Counters for status and tests. */
export interface DetectorStats {
  probes: number;
  probesFailed: number;
  indirectProbes: number;
  relaysDropped: number;
}

export class FailureDetector {
  readonly #config: MembershipConfig;
  readonly #random: Random;
  readonly #host: DetectorHost;
  readonly awareness: Awareness;
  #seq = 0;
  #probe: Probe | undefined;
  #nextProbeMs: number;
  #order: NodeId[] = [];
  #orderIndex = 0;
  readonly #relays = new Map<number, Relay>();
  /** Suspicions by node id, with the (generation, incarnation) they are about. */
  readonly #suspicions = new Map<NodeId, { suspicion: Suspicion; generation: number; incarnation: number }>();
  readonly stats: DetectorStats = { probes: 0, probesFailed: 0, indirectProbes: 0, relaysDropped: 0 };

  constructor(config: MembershipConfig, random: Random, host: DetectorHost, nowMs: number) {
    this.#config = config;
    this.#random = random;
    this.#host = host;
    this.awareness = new Awareness(config.awarenessMax);
    // Start at a random offset within the first interval, so nodes started together do not probe in lockstep.
    this.#nextProbeMs = nowMs + random.int(config.probeIntervalMs);
  }

  /** Run every deadline due at `nowMs`. */
  tick(nowMs: number): void {
    for (const [seq, relay] of [...this.#relays]) {
      if (relay.deadlineMs > nowMs) continue;
      this.#relays.delete(seq);
      this.#host.send(relay.requester, { type: 'nack', seq: relay.requesterSeq });
    }
    const probe = this.#probe;
    if (probe !== undefined && !probe.acked && !probe.indirectSent && nowMs >= probe.timeoutAtMs) this.#sendIndirect(probe);
    if (probe !== undefined && nowMs >= probe.endAtMs) this.#finishProbe(probe, nowMs);
    if (this.#probe === undefined && nowMs >= this.#nextProbeMs) this.#startProbe(nowMs);
    for (const [id, s] of [...this.#suspicions]) {
      if (s.suspicion.deadlineMs() > nowMs) continue;
      this.#suspicions.delete(id);
      const record = this.#host.record(id);
      if (record?.status === 'suspect' && record.generation === s.generation && record.incarnation === s.incarnation) {
        this.#host.declareDead(record, nowMs);
      }
    }
  }

  /** Earliest deadline the detector is waiting for. */
  nextWakeMs(): number {
    let at = this.#nextProbeMs;
    const probe = this.#probe;
    if (probe !== undefined) at = Math.min(at, probe.indirectSent || probe.acked ? probe.endAtMs : probe.timeoutAtMs);
    for (const relay of this.#relays.values()) at = Math.min(at, relay.deadlineMs);
    for (const s of this.#suspicions.values()) at = Math.min(at, s.suspicion.deadlineMs());
    return at;
  }

  /** A ping for us: answer it. */
  onPing(from: Address, seq: number): void {
    this.#host.send(from, { type: 'ack', seq });
  }

  /** A ping-req: ping the target for the requester, bounded by indirectRelaysMax. */
  onPingReq(from: Address, seq: number, target: NodeId, targetAddress: Address, nowMs: number): void {
    if (this.#relays.size >= this.#config.indirectRelaysMax) {
      this.stats.relaysDropped++;
      return;
    }
    const mySeq = this.#nextSeq();
    this.#relays.set(mySeq, { requester: from, requesterSeq: seq, deadlineMs: nowMs + this.#config.probeTimeoutMs });
    this.#host.send(targetAddress, { type: 'ping', seq: mySeq, target });
  }

  /** An ack: ends our probe, or is relayed to the node that asked us to probe. */
  onAck(seq: number): void {
    const relay = this.#relays.get(seq);
    if (relay !== undefined) {
      this.#relays.delete(seq);
      this.#host.send(relay.requester, { type: 'ack', seq: relay.requesterSeq });
      return;
    }
    const probe = this.#probe;
    if (probe !== undefined && probe.seq === seq) probe.acked = true;
  }

  /**
   * A reply of `id` to one of this node's requests (a replica read or write)
   * arrived: it acks a probe of `id` in progress. The probe asks "can I reach
   * it, and does it answer"; a reply answers that as well as an ack does. On
   * a loaded cluster an ack can queue behind megabytes of replica traffic on
   * the same peer stream for longer than a probe period while the node keeps
   * answering requests (`npm run bench -- --workloads W --value-size 65536`:
   * 51 suspicions of live nodes a minute, and writes refused as if two of
   * three replicas were down). A node that is down or cut off sends no
   * replies, so it is still suspected within a probe period (or, on a link
   * cut one way, once the replies to requests sent before the cut are in).
   */
  heardFrom(id: NodeId): void {
    const probe = this.#probe;
    if (probe !== undefined && probe.target === id) probe.acked = true;
  }

  /** The node the probe in progress is about, if any. */
  get probing(): NodeId | undefined {
    return this.#probe?.target;
  }

  onNack(seq: number): void {
    const probe = this.#probe;
    if (probe !== undefined && probe.seq === seq) probe.nacks++;
  }

  /** Add a newly discovered node to the probe order at a random place still ahead (memberlist). */
  noteMember(id: NodeId): void {
    if (id === this.#host.self || this.#order.includes(id)) return;
    const remaining = this.#order.length - this.#orderIndex;
    const at = this.#orderIndex + this.#random.int(remaining + 1);
    this.#order.splice(at, 0, id);
  }

  /**
   * Start (or confirm) a suspicion of `record` reported by `origin`. Returns
   * true when this is news worth passing on (a new timer or a new confirmation).
   */
  suspect(record: MemberRecord, origin: NodeId, nowMs: number): boolean {
    const current = this.#suspicions.get(record.id);
    if (current !== undefined && current.generation === record.generation && current.incarnation === record.incarnation) {
      return origin !== '' && current.suspicion.confirm(origin);
    }
    const alive = this.#host.aliveCount();
    const { min, max } = suspicionTimeoutMs(this.#config, alive);
    // Lifeguard: expect suspicionMult - 2 confirmations, or none in a cluster too small to give them.
    const k = alive - 2 < this.#config.suspicionMult - 2 ? 0 : this.#config.suspicionMult - 2;
    const suspicion = new Suspicion(origin, k, min, max, nowMs);
    this.#suspicions.set(record.id, { suspicion, generation: record.generation, incarnation: record.incarnation });
    return true;
  }

  /** Drop the suspicion of `id` (it refuted, died or left). */
  clearSuspicion(id: NodeId): void {
    this.#suspicions.delete(id);
  }

  /** The running suspicion of `id`, for status and tests. */
  suspicionOf(id: NodeId): Suspicion | undefined {
    return this.#suspicions.get(id)?.suspicion;
  }

  /** Our own node was suspected and had to refute: we are probably the slow one (Lifeguard). */
  noteRefuted(): void {
    this.awareness.apply(1);
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) % 0x7fffffff;
    return this.#seq;
  }

  #startProbe(nowMs: number): void {
    const target = this.#nextTarget();
    const interval = this.awareness.scale(this.#config.probeIntervalMs);
    if (target === undefined) {
      this.#nextProbeMs = nowMs + interval;
      return;
    }
    const seq = this.#nextSeq();
    this.#probe = {
      seq,
      target: target.id,
      timeoutAtMs: nowMs + this.awareness.scale(this.#config.probeTimeoutMs),
      endAtMs: nowMs + interval,
      acked: false,
      indirectSent: false,
      expectedNacks: 0,
      nacks: 0,
    };
    this.#nextProbeMs = nowMs + interval;
    this.stats.probes++;
    this.#host.send(target.address, { type: 'ping', seq, target: target.id });
  }

  #sendIndirect(probe: Probe): void {
    probe.indirectSent = true;
    const target = this.#host.record(probe.target);
    if (target === undefined) return;
    const helpers = this.#host
      .probeCandidates()
      .filter((r) => r.status === 'alive' && r.id !== probe.target);
    const chosen = sample(helpers, this.#config.indirectChecks, this.#random);
    probe.expectedNacks = chosen.length;
    this.stats.indirectProbes += chosen.length;
    for (const helper of chosen) {
      this.#host.send(helper.address, { type: 'ping-req', seq: probe.seq, target: target.id, targetAddress: target.address });
    }
  }

  #finishProbe(probe: Probe, nowMs: number): void {
    this.#probe = undefined;
    if (probe.acked) {
      this.awareness.apply(-1);
      return;
    }
    this.stats.probesFailed++;
    // Lifeguard: helpers that did not even nack suggest our own links are the problem.
    this.awareness.apply(probe.expectedNacks > 0 ? probe.expectedNacks - probe.nacks : 1);
    const record = this.#host.record(probe.target);
    if (record !== undefined && record.status !== 'dead') this.#host.suspect(record, nowMs);
  }

  /** Next node of the shuffled round-robin order that is still worth probing; reshuffles at the end. */
  #nextTarget(): MemberRecord | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.#orderIndex < this.#order.length) {
        const id = this.#order[this.#orderIndex++] ?? '';
        const record = this.#host.record(id);
        if (record !== undefined && record.status !== 'dead' && id !== this.#host.self) return record;
      }
      this.#order = shuffle(this.#host.probeCandidates().map((r) => r.id), this.#random);
      this.#orderIndex = 0;
    }
    return undefined;
  }
}

/** Fisher-Yates shuffle of a copy, driven by the injected Random. */
export function shuffle<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}

/** Up to `count` distinct items chosen uniformly. */
export function sample<T>(items: readonly T[], count: number, random: Random): T[] {
  if (items.length <= count) return shuffle(items, random);
  return shuffle(items, random).slice(0, count);
}
