/**
 * The hinted-handoff driver: hands the hints this node holds back to their
 * nodes once gossip reports them up (Dynamo §4.6; Riak's handoff of fallback
 * vnodes, Cassandra's hint replay). It owns the timer and the peer requests;
 * the hint store (lib/handoff) owns what is held.
 *
 * - A target believed up gets its hints in key order, `inflightMax` at a
 *   time, each as a replica write the target merges by causal metadata
 *   (replay is idempotent and never overwrites a newer version); a hint is
 *   deleted only after the target acknowledged it, and only if nothing was
 *   merged into it meanwhile. Bytes go through the background admission
 *   ('hint-replay'), shared with anti-entropy and partition streaming.
 * - If the ring no longer places the key on the target (it left or was
 *   removed), the hint goes to the key's current replicas instead, and is
 *   deleted once every one of them acknowledged.
 * - A hint older than the hint window whose target is still down goes to
 *   the key's other replicas instead (deleted once one of them acknowledged
 *   it; anti-entropy brings it to the target later): a version a write was
 *   acknowledged with may live only in the hint, so it is never just
 *   dropped while a replica of its key can take it. Only a hint that no
 *   replica took within twice the window is dropped (counted, logged at warn).
 *   Tombstone GC relies on that bound (the grace must exceed it).
 * - A node that left the ring (decommissioned) hands the hints it cannot
 *   deliver to another member, still naming their targets; a stopping node
 *   first tries, for a bounded time, to deliver what it can.
 */
import { Sleeps, sleep, type DynamoError, type Logger, type Result, type Time, type TimerHandle } from '../runtime/index.ts';
import type { Address, HintStatus, NodeId, WriteReply, WriteRequest } from '../protocol/index.ts';
import type { ClusterView } from '../replication/index.ts';
import type { BackgroundAdmission } from '../antientropy/index.ts';
import type { HandoffConfig, HintStore, PendingHint } from '../handoff/index.ts';

export interface HandoffDeps {
  readonly time: Time;
  readonly logger: Logger;
  readonly store: HintStore;
  readonly config: HandoffConfig;
  readonly self: NodeId;
  /** The node's current view (ring version, replica sets, liveness, addresses); undefined without a ring. */
  cluster(): ClusterView | undefined;
  /** Members believed up, for handing hints over when leaving. */
  upMembers(): NodeId[];
  /** Whether `id` is still part of the ring (a member or a holder of moving data); hints for a node that is not go to the keys' replicas now. */
  inRing(id: NodeId): boolean;
  request(to: Address, req: WriteRequest, timeoutMs: number): Promise<Result<WriteReply, DynamoError>>;
  /** Merge a record into this node's own replica (a hint whose key this node now replicates itself). */
  mergeLocal(partition: number, key: Uint8Array, record: Uint8Array): Promise<void>;
  readonly admission: BackgroundAdmission;
}

/** Deadline of one hint's delivery. */
const DELIVERY_TIMEOUT_MS = 10_000;

export class Handoff {
  readonly #deps: HandoffDeps;
  #timer: TimerHandle | undefined;
  #pass: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #leaving = false;
  /** Delivery pacing: stop() ends it once the drain is over. */
  readonly #sleeps: Sleeps;
  /** When each down target's hints were last scanned for expiry (a scan reads them all). */
  readonly #expiryScannedAtMs = new Map<NodeId, number>();

  constructor(deps: HandoffDeps) {
    this.#deps = deps;
    this.#sleeps = new Sleeps(deps.time);
  }

  start(): void {
    this.#arm();
  }

  /** A member came up, or this node left the ring: run a pass now rather than at the next tick. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#pass !== undefined) {
      this.#again = true;
      return;
    }
    this.#pass = this.#runPass()
      .catch((e: unknown) => {
        // Storage closing under a stopping node, a transport error: the next pass retries.
        if (!this.#stopped) this.#deps.logger.warn('hint handoff pass failed; retrying at the next pass', { error: e });
      })
      .finally(() => {
      this.#pass = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.kick();
      }
    });
  }

  /** This node has left the ring: from now on hints for targets that are down go to another member. */
  leaving(): void {
    this.#leaving = true;
    this.kick();
  }

  /** Stop handing over; with `drainMs` > 0, first run passes for up to that long (a graceful stop). */
  async stop(drainMs = 0): Promise<void> {
    if (this.#timer !== undefined) this.#deps.time.cancelTimer(this.#timer);
    this.#timer = undefined;
    if (drainMs > 0 && !this.#stopped && this.#deps.store.targets().length > 0) {
      const drained = (async () => {
        await this.#pass;
        if (!this.#stopped) await this.#runPass().catch(() => undefined);
      })();
      await Promise.race([drained, sleep(this.#deps.time, drainMs)]);
    }
    this.#stopped = true;
    this.#sleeps.stop();
    await Promise.race([this.#pass, sleep(this.#deps.time, 1000)]);
  }

  status(): HintStatus {
    const { stored, delivered, dropped } = this.#deps.store.counters;
    return { enabled: true, stored, delivered, dropped, pending: this.#deps.store.pendingCounts() };
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = this.#deps.time.setTimer(this.#deps.config.scanIntervalMs, () => {
      this.#timer = undefined;
      this.kick();
      this.#arm();
    });
  }

  async #runPass(): Promise<void> {
    const view = this.#deps.cluster();
    if (view === undefined) return;
    for (const target of this.#deps.store.targets()) {
      if (this.#stopped) return;
      if (view.isUp(target) || !this.#deps.inRing(target)) {
        await this.#replay(target, (h) => this.#deliver(h));
        // A target that is up but keeps refusing (disk errors) must not hold its expired hints hostage either.
        if (this.#deps.inRing(target)) await this.#retireOld(target);
      } else if (this.#leaving) await this.#replay(target, (h) => this.#handOver(h));
      else await this.#retireOld(target);
    }
  }

  /** Walk `target`'s hints, `send`ing up to inflightMax at once; stops at the first refusal (retried next pass). */
  async #replay(target: NodeId, send: (h: PendingHint) => Promise<boolean>): Promise<void> {
    const { admission, time, store, config } = this.#deps;
    const begun = admission.begin('hint-replay', time.monotonicMs());
    if (!begun.granted) return;
    const inflight = new Set<Promise<boolean>>();
    let refused = false;
    try {
      for await (const h of store.pending(target)) {
        if (this.#stopped || refused) break;
        const p: Promise<boolean> = send(h).then(
          (ok) => {
            if (!ok) refused = true;
            return ok;
          },
          (e: unknown) => {
            refused = true;
            this.#deps.logger.trace('hint delivery failed', { target, error: e });
            return false;
          },
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size >= config.inflightMax) await Promise.race(inflight);
        const now = time.monotonicMs();
        const readyAtMs = admission.charge(begun.ticket, h.key.length + h.hint.record.length, now);
        if (readyAtMs > now) await this.#sleeps.sleep(readyAtMs - now);
      }
      await Promise.all(inflight);
    } finally {
      admission.end(begun.ticket);
    }
  }

  /** One hint to its target (or, if the ring moved the key away from it, to the key's replicas now). */
  async #deliver(h: PendingHint): Promise<boolean> {
    const view = this.#deps.cluster();
    if (view === undefined) return false;
    const writes = view.replicas(h.partition).writes;
    const to = writes.includes(h.target) ? [h.target] : writes;
    const req: WriteRequest = { type: 'write', key: h.key, record: h.hint.record, ...(view.ringVersion === 0 ? {} : { ringVersion: view.ringVersion }) };
    const acks = await Promise.all(
      to.map(async (node) => {
        if (node === this.#deps.self) {
          await this.#deps.mergeLocal(h.partition, h.key, h.hint.record);
          return true;
        }
        const address = view.addressOf(node);
        if (address === undefined || !view.isUp(node)) return false;
        return (await this.#deps.request(address, req, DELIVERY_TIMEOUT_MS)).ok;
      }),
    );
    if (!acks.every(Boolean)) return false;
    await this.#deps.store.delivered(h);
    return true;
  }

  /** Leaving the ring: give a hint whose target is down to another member, still naming that target. */
  async #handOver(h: PendingHint): Promise<boolean> {
    const view = this.#deps.cluster();
    const heir = this.#deps.upMembers().find((id) => id !== this.#deps.self && id !== h.target);
    const address = heir === undefined ? undefined : view?.addressOf(heir);
    if (address === undefined) return false;
    const res = await this.#deps.request(address, { type: 'write', key: h.key, record: h.hint.record, hintFor: h.target }, DELIVERY_TIMEOUT_MS);
    if (!res.ok) return false;
    await this.#deps.store.delivered(h);
    return true;
  }

  /**
   * A down target's hints older than the window go to the key's other
   * replicas; those older than twice the window are dropped. Scans at most
   * every tenth of the window (delivery passes drop as they go).
   */
  async #retireOld(target: NodeId): Promise<void> {
    const now = this.#deps.time.monotonicMs();
    const last = this.#expiryScannedAtMs.get(target);
    if (last !== undefined && now - last < Math.min(this.#deps.config.windowMs / 10, 60_000)) return;
    this.#expiryScannedAtMs.set(target, now);
    let retired = 0;
    for await (const h of this.#deps.store.pending(target)) {
      if (this.#stopped) return;
      if (!this.#expired(h)) continue;
      // Offered to the replicas even past the drop age: a hint is dropped only once none would take it.
      if (await this.#retire(h).catch(() => false)) retired++;
      else if (this.#pastDropAge(h)) await this.#drop(h);
    }
    if (retired > 0) this.#deps.logger.info('hints older than the hint window handed to other replicas of their keys', { target, retired });
  }

  /** An expired hint to the key's replicas other than its (down) target; true, and deleted, once one of them acknowledged it. */
  async #retire(h: PendingHint): Promise<boolean> {
    const view = this.#deps.cluster();
    if (view === undefined) return false;
    const req: WriteRequest = { type: 'write', key: h.key, record: h.hint.record, ...(view.ringVersion === 0 ? {} : { ringVersion: view.ringVersion }) };
    for (const node of view.replicas(h.partition).writes) {
      if (node === h.target) continue;
      if (node === this.#deps.self) {
        await this.#deps.mergeLocal(h.partition, h.key, h.hint.record);
        return this.#deps.store.delivered(h);
      }
      const address = view.addressOf(node);
      if (address === undefined || !view.isUp(node)) continue;
      if ((await this.#deps.request(address, req, DELIVERY_TIMEOUT_MS)).ok) return this.#deps.store.delivered(h);
    }
    return false;
  }

  async #drop(h: PendingHint): Promise<void> {
    if (await this.#deps.store.expire(h)) {
      this.#deps.logger.warn('hint dropped: no replica of its key took it within twice the hint window; anti-entropy repairs what other replicas hold', {
        target: h.target,
        partition: h.partition,
      });
    }
  }

  #pastDropAge(h: PendingHint): boolean {
    return this.#deps.time.nowMs() - h.hint.storedAtMs > 2 * this.#deps.config.windowMs;
  }

  #expired(h: PendingHint): boolean {
    return this.#deps.time.nowMs() - h.hint.storedAtMs > this.#deps.config.windowMs;
  }
}
