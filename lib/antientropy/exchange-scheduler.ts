/**
 * Which partition to exchange next, with which peer, and when: round robin
 * over the partitions this node replicates, rotating through each
 * partition's other replicas, one start per `intervalMs`, at most
 * `concurrentMax` running (issue 9: "periodically, throttled, one exchange at
 * a time per node by default"). Riak's AAE manager works the same way (one
 * exchange per tick, partitions in turn, each with its own peers in turn).
 *
 * A busy node exchanges less often: when the requests it handled since the
 * previous start came at `busyRequestsPerSecond` or more, the next start
 * waits `busyIntervalMs` instead (Riak's AAE yields to load the same way,
 * throttled by vnode queue length). Exchanges are background work: under
 * sustained load they cost client throughput, while read repair and hints
 * already cover the writes being made; an idle cluster keeps the fast pace.
 * Only exchanges that find nothing are slowed: after one that found
 * differing segments, the next starts at the idle pace whatever the load.
 *
 * A partition whose last exchange stopped short (a limit; not an abort) is
 * taken again first, continuing after the last segment it examined, so a
 * large divergence is worked off one bounded exchange after another.
 *
 * Pure: the driver calls next(nowMs, …) whenever an exchange finishes or the
 * wake-up time it was given arrives, performs what it says, and reports
 * finished(…). Nothing here reads a clock or sets a timer.
 */
import type { NodeId } from '../protocol/index.ts';
import { InvalidArgumentError, assert } from '../runtime/index.ts';
import type { ExchangeResult } from './exchange.ts';

/** A partition this node replicates and its replica set (this node included). */
export interface PartitionReplicas {
  readonly partition: number;
  readonly replicas: readonly NodeId[];
}

export type ScheduleDecision =
  /** Start an exchange of `partition` with `peer` (ExchangeOptions.startSegment = startSegment). */
  | { readonly type: 'start'; readonly partition: number; readonly peer: NodeId; readonly startSegment: number }
  /** Nothing to start before `wakeAtMs`. */
  | { readonly type: 'wait'; readonly wakeAtMs: number }
  /** concurrentMax exchanges are running: call next() again when one finishes. */
  | { readonly type: 'busy' };

export interface SchedulerOptions {
  readonly self: NodeId;
  readonly intervalMs: number;
  /** The pause instead while busy (default intervalMs: never slower). */
  readonly busyIntervalMs?: number;
  /** Requests per second (the driver's count) from which the node is busy. */
  readonly busyRequestsPerSecond?: number;
  readonly concurrentMax: number;
}

export interface SchedulerStats {
  readonly started: number;
  readonly finished: number;
  /** Full passes over the partitions completed. */
  readonly cycles: number;
  /** Duration of the last full pass (ms), undefined before the first. */
  readonly lastCycleMs: number | undefined;
  /** Starts followed by the busy pause. */
  readonly loadedStarts: number;
}

/** The exchange scheduler; see the module header. */
export class ExchangeScheduler {
  readonly #opts: SchedulerOptions;
  readonly #running = new Set<number>();
  /** Per partition: how many exchanges it has had (rotates the peer). */
  readonly #turns = new Map<number, number>();
  /** Partitions to take again first, with the segment to continue from. */
  readonly #resume = new Map<number, number>();
  #cursor: number | undefined;
  #nextStartAtMs: number;
  #cycleStartedAtMs: number;
  #started = 0;
  #finished = 0;
  #cycles = 0;
  #lastCycleMs: number | undefined;
  #loadedStarts = 0;
  /** The request count and time at the previous start: the load since then sets the next pause. */
  #requestsAtStart: number | undefined;
  #lastStartAtMs: number | undefined;
  /** The last exchange that finished found differing segments (or stopped short): no busy pause after it. */
  #foundWork = false;

  constructor(options: SchedulerOptions, nowMs: number) {
    if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs < 1) {
      throw new InvalidArgumentError(`scheduler intervalMs must be a positive integer, got ${String(options.intervalMs)}`);
    }
    if (!Number.isSafeInteger(options.concurrentMax) || options.concurrentMax < 1) {
      throw new InvalidArgumentError(`scheduler concurrentMax must be a positive integer, got ${String(options.concurrentMax)}`);
    }
    const busy = options.busyIntervalMs ?? options.intervalMs;
    if (!Number.isSafeInteger(busy) || busy < options.intervalMs) {
      throw new InvalidArgumentError(`scheduler busyIntervalMs must be an integer of at least intervalMs (${options.intervalMs}), got ${String(busy)}`);
    }
    const rate = options.busyRequestsPerSecond ?? 1;
    if (!Number.isFinite(rate) || rate <= 0) {
      throw new InvalidArgumentError(`scheduler busyRequestsPerSecond must be a positive number, got ${String(rate)}`);
    }
    this.#opts = options;
    this.#nextStartAtMs = nowMs;
    this.#cycleStartedAtMs = nowMs;
  }

  /**
   * The next thing to do. `holdings`: the partitions this node replicates
   * now; `canExchange(partition, peer)`: the peer is up and both trees are
   * built (the driver's knowledge); `requests`: how many requests this node
   * has handled since it started (a monotonic count; it sets the pace).
   */
  next(
    nowMs: number,
    holdings: readonly PartitionReplicas[],
    canExchange: (partition: number, peer: NodeId) => boolean,
    requests = 0,
  ): ScheduleDecision {
    if (this.#running.size >= this.#opts.concurrentMax) return { type: 'busy' };
    const startAtMs = this.#foundWork && this.#lastStartAtMs !== undefined ? Math.min(this.#nextStartAtMs, this.#lastStartAtMs + this.#opts.intervalMs) : this.#nextStartAtMs;
    if (nowMs < startAtMs) return { type: 'wait', wakeAtMs: startAtMs };
    const ordered = [...holdings].sort((a, b) => a.partition - b.partition);
    const retryAtMs = nowMs + this.#opts.intervalMs;
    if (ordered.length === 0) return { type: 'wait', wakeAtMs: retryAtMs };
    for (const [h, resumed] of this.#candidates(ordered)) {
      if (this.#running.has(h.partition)) continue;
      const peer = this.#pickPeer(h, canExchange);
      if (peer === undefined) continue;
      return this.#start(h.partition, peer, nowMs, resumed, requests);
    }
    return { type: 'wait', wakeAtMs: retryAtMs };
  }

  /** The exchange of `partition` ended (with its result, or undefined if it failed before one). */
  finished(partition: number, result: ExchangeResult | undefined): void {
    assert(this.#running.delete(partition), `ExchangeScheduler.finished: partition ${partition} was not running`);
    this.#finished++;
    this.#resume.delete(partition);
    this.#foundWork = result !== undefined && result.status !== 'aborted' && (!result.complete || (result.differingSegments?.length ?? 0) > 0);
    if (result !== undefined && result.status !== 'aborted' && !result.complete) {
      const last = result.examinedSegments[result.examinedSegments.length - 1];
      this.#resume.set(partition, last === undefined ? 0 : last + 1);
    }
  }

  stats(): SchedulerStats {
    return { started: this.#started, finished: this.#finished, cycles: this.#cycles, lastCycleMs: this.#lastCycleMs, loadedStarts: this.#loadedStarts };
  }

  /** Resumable partitions first (flagged true), then the round robin from after the cursor. */
  *#candidates(ordered: readonly PartitionReplicas[]): Iterable<readonly [PartitionReplicas, boolean]> {
    for (const h of ordered) if (this.#resume.has(h.partition)) yield [h, true];
    let first = this.#cursor === undefined ? 0 : ordered.findIndex((h) => h.partition > this.#cursor!);
    if (first < 0) first = 0;
    for (let i = 0; i < ordered.length; i++) yield [ordered[(first + i) % ordered.length]!, false];
  }

  #pickPeer(h: PartitionReplicas, canExchange: (partition: number, peer: NodeId) => boolean): NodeId | undefined {
    const peers = h.replicas.filter((r) => r !== this.#opts.self).sort();
    if (peers.length === 0) return undefined;
    const turn = this.#turns.get(h.partition) ?? 0;
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[(turn + i) % peers.length]!;
      if (canExchange(h.partition, peer)) return peer;
    }
    return undefined;
  }

  /** Whether the requests since the previous start came at the busy rate (and remember this start). */
  #underLoad(nowMs: number, requests: number): boolean {
    const since = this.#requestsAtStart;
    const at = this.#lastStartAtMs;
    this.#requestsAtStart = requests;
    this.#lastStartAtMs = nowMs;
    if (since === undefined || at === undefined || requests <= since) return false;
    const elapsedMs = Math.max(1, nowMs - at);
    return ((requests - since) * 1000) / elapsedMs >= (this.#opts.busyRequestsPerSecond ?? 1);
  }

  #start(partition: number, peer: NodeId, nowMs: number, resumed: boolean, requests: number): ScheduleDecision {
    const startSegment = this.#resume.get(partition) ?? 0;
    this.#resume.delete(partition);
    this.#turns.set(partition, (this.#turns.get(partition) ?? 0) + 1);
    // Resumed partitions are extra turns: they leave the round robin where it was.
    if (!resumed) {
      // A pass is complete when the round robin wraps.
      if (this.#cursor !== undefined && partition <= this.#cursor) {
        this.#cycles++;
        this.#lastCycleMs = nowMs - this.#cycleStartedAtMs;
        this.#cycleStartedAtMs = nowMs;
      }
      this.#cursor = partition;
    }
    this.#running.add(partition);
    this.#started++;
    const loaded = this.#underLoad(nowMs, requests);
    if (loaded) this.#loadedStarts++;
    this.#nextStartAtMs = nowMs + (loaded ? (this.#opts.busyIntervalMs ?? this.#opts.intervalMs) : this.#opts.intervalMs);
    return { type: 'start', partition, peer, startSegment };
  }
}
