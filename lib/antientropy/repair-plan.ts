/**
 * An on-demand repair (`dynamo repair`, Admin Repair): a full exchange of one
 * partition, or of every partition the node replicates, with each of its
 * other replicas, now rather than when the periodic scheduler comes round.
 * Each (partition, peer) pair is exchanged until an exchange reports itself
 * complete (every difference repaired), continuing after the last segment an
 * incomplete one examined, as the scheduler does.
 *
 * A pair is skipped — counted, never silently — when its peer is down or
 * does not replicate the partition any more, when its exchange fails
 * `attemptsMax` times, when its trees do not become ready (or a suspected
 * peer does not come back up) within `waitMsMax`,
 * or when it is still incomplete after `roundsMax` exchanges (a partition
 * written faster than it can be compared). Pairs run one at a time, in
 * partition then peer order.
 *
 * Pure: the driver asks next(nowMs, readiness) what to run, runs it through
 * the same exchange and admission as the scheduler, and reports finished().
 */
import type { NodeId, RepairStatus } from '../protocol/index.ts';
import { InvalidArgumentError, assert } from '../runtime/index.ts';
import type { ExchangeResult } from './exchange.ts';
import type { PartitionReplicas } from './exchange-scheduler.ts';
import { exchangeComplete } from './exchange-log.ts';

export interface RepairPlanOptions {
  readonly id: number;
  readonly self: NodeId;
  /** The one partition asked for; undefined: every partition in `targets`. */
  readonly partition?: number;
  /** The partitions to repair with their replica sets (this node included). */
  readonly targets: readonly PartitionReplicas[];
  /** Wall-clock ms at the start (reported), and monotonic ms (for durations). */
  readonly startedAtMs: number;
  readonly startedAtMonotonicMs: number;
  /** Failed exchanges of one pair before it is skipped. */
  readonly attemptsMax: number;
  /** Monotonic ms a pair may wait for its trees to be ready before it is skipped. */
  readonly waitMsMax: number;
  /** Exchanges of one pair (each bounded by the exchange limits) before it is skipped as still incomplete. */
  readonly roundsMax: number;
}

/** Whether a pair can be exchanged now: yes, not yet (a tree is being built), or never (the peer is down). */
export type PairReadiness = 'ready' | 'wait' | 'skip';

export type RepairStep =
  /** Run an exchange of `partition` with `peer` from `startSegment`, then call finished(). */
  | { readonly type: 'start'; readonly partition: number; readonly peer: NodeId; readonly startSegment: number }
  /** Nothing can run yet: ask again a little later. */
  | { readonly type: 'wait' }
  /** Every pair is repaired or skipped. */
  | { readonly type: 'done' };

interface Pair {
  readonly partition: number;
  readonly peer: NodeId;
  state: 'pending' | 'done' | 'skipped';
  attempts: number;
  rounds: number;
  startSegment: number;
  waitingSinceMs: number | undefined;
}

/** One on-demand repair; see the module header. */
export class RepairPlan {
  readonly #opts: RepairPlanOptions;
  readonly #pairs: Pair[] = [];
  readonly #partitions: number[];
  #cursor = 0;
  #running: Pair | undefined;
  #state: RepairStatus['state'] = 'running';
  #error: string | undefined;
  #finishedAtMonotonicMs: number | undefined;
  #exchanges = 0;
  #skipped = 0;
  #keysPulled = 0;
  #keysPushed = 0;
  #bytesSent = 0;
  #bytesReceived = 0;

  constructor(options: RepairPlanOptions) {
    for (const f of ['attemptsMax', 'waitMsMax', 'roundsMax'] as const) {
      if (!Number.isSafeInteger(options[f]) || options[f] < 1) throw new InvalidArgumentError(`repair ${f} must be a positive integer, got ${String(options[f])}`);
    }
    this.#opts = options;
    const targets = [...options.targets].sort((a, b) => a.partition - b.partition);
    this.#partitions = targets.map((t) => t.partition);
    for (const t of targets) {
      for (const peer of [...t.replicas].filter((r) => r !== options.self).sort()) {
        this.#pairs.push({ partition: t.partition, peer, state: 'pending', attempts: 0, rounds: 0, startSegment: 0, waitingSinceMs: undefined });
      }
    }
  }

  get id(): number {
    return this.#opts.id;
  }

  /** The one partition asked for (undefined: all). */
  get partition(): number | undefined {
    return this.#opts.partition;
  }

  get state(): RepairStatus['state'] {
    return this.#state;
  }

  /** What to do now. `readiness(partition, peer)` is the driver's knowledge of the pair. */
  next(nowMs: number, readiness: (partition: number, peer: NodeId) => PairReadiness): RepairStep {
    assert(this.#running === undefined, 'RepairPlan.next: an exchange is running');
    if (this.#state !== 'running') return { type: 'done' };
    for (; this.#cursor < this.#pairs.length; this.#cursor++) {
      const pair = this.#pairs[this.#cursor]!;
      if (pair.state !== 'pending') continue;
      const ready = readiness(pair.partition, pair.peer);
      if (ready === 'skip') {
        this.#skip(pair);
        continue;
      }
      if (ready === 'wait') {
        pair.waitingSinceMs ??= nowMs;
        if (nowMs - pair.waitingSinceMs >= this.#opts.waitMsMax) {
          this.#skip(pair);
          continue;
        }
        return { type: 'wait' };
      }
      pair.waitingSinceMs = undefined;
      this.#running = pair;
      return { type: 'start', partition: pair.partition, peer: pair.peer, startSegment: pair.startSegment };
    }
    this.#end('done', nowMs);
    return { type: 'done' };
  }

  /**
   * The exchange next() started ended with `outcome`: its result; 'failed'
   * when it could not run (the peer's address unknown, an error before any
   * result) — an attempt like an aborted exchange; 'not-run' when it was not
   * admitted — the pair is simply asked for again.
   */
  finished(outcome: ExchangeResult | 'failed' | 'not-run'): void {
    const pair = this.#running;
    assert(pair !== undefined, 'RepairPlan.finished: no exchange is running');
    this.#running = undefined;
    if (outcome === 'not-run') return;
    if (outcome === 'failed') {
      pair.attempts++;
      pair.startSegment = 0;
      if (pair.attempts >= this.#opts.attemptsMax) this.#skip(pair);
      return;
    }
    const result = outcome;
    this.#exchanges++;
    pair.rounds++;
    this.#keysPulled += result.pulled;
    this.#keysPushed += result.pushed;
    this.#bytesSent += result.bytesToRemote;
    this.#bytesReceived += result.bytesFromRemote;
    if (exchangeComplete(result)) {
      pair.state = 'done';
    } else if (result.status === 'aborted') {
      pair.attempts++;
      pair.startSegment = 0;
      if (pair.attempts >= this.#opts.attemptsMax) this.#skip(pair);
    } else {
      const last = result.examinedSegments[result.examinedSegments.length - 1];
      pair.startSegment = last === undefined ? 0 : last + 1;
      if (pair.rounds >= this.#opts.roundsMax) this.#skip(pair);
    }
  }

  /** The repair cannot go on (the node stops, the partition set vanished): it ends as failed. */
  fail(error: string, nowMs: number): void {
    if (this.#state !== 'running') return;
    this.#running = undefined;
    this.#error = error;
    this.#end('failed', nowMs);
  }

  status(nowMs: number): RepairStatus {
    let partitionsDone = 0;
    for (const p of this.#partitions) if (this.#pairs.every((x) => x.partition !== p || x.state !== 'pending')) partitionsDone++;
    const end = this.#finishedAtMonotonicMs ?? nowMs;
    return {
      id: this.#opts.id,
      state: this.#state,
      ...(this.#opts.partition === undefined ? {} : { partition: this.#opts.partition }),
      partitionsTotal: this.#partitions.length,
      partitionsDone,
      exchanges: this.#exchanges,
      skipped: this.#skipped,
      keysPulled: this.#keysPulled,
      keysPushed: this.#keysPushed,
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
      startedAtMs: this.#opts.startedAtMs,
      elapsedMs: Math.max(0, end - this.#opts.startedAtMonotonicMs),
      ...(this.#error === undefined ? {} : { error: this.#error }),
    };
  }

  #skip(pair: Pair): void {
    pair.state = 'skipped';
    this.#skipped++;
  }

  #end(state: 'done' | 'failed', nowMs: number): void {
    this.#state = state;
    this.#finishedAtMonotonicMs = nowMs;
  }
}
