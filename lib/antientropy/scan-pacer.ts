/**
 * How a background partition scan (a tree rebuild, or the walk that finds
 * tombstones again after trees were loaded at start) yields to requests. A
 * scan walks every key of the node: at 10M keys that is about 200 CPU
 * seconds per node, spent at every start, on the cores clients need. (A
 * same-machine A/B of the first minute after a restart showed no throughput
 * difference: LevelDB's compactions led that window. The pacer bounds the
 * scan's share; it is not a measured speed-up.) While the node is busy
 * (its requests since the previous slice came at `busyRequestsPerSecond` or
 * more) a scan runs at most `busyDutyCycle` of the time: after a slice of
 * keys that took t ms it pauses t × (1 − d) / d ms, at most `pauseMaxMs`.
 * An idle node scans at full speed. Riak throttles its AAE tree builds for
 * the same reason (anti_entropy_build_limit).
 *
 * Pure: the driver reports each slice's end with the time and its request
 * count and sleeps as told; nothing here reads a clock or sets a timer.
 */
import { InvalidArgumentError } from '../runtime/index.ts';

export interface ScanPacerOptions {
  /** Requests per second (the driver's count) from which the node is busy. */
  readonly busyRequestsPerSecond: number;
  /** Share of the time a scan may run while the node is busy, in (0, 1]. */
  readonly busyDutyCycle: number;
  /** Longest pause after one slice. */
  readonly pauseMaxMs: number;
}

/** The driver's pacing besides the busy threshold (which exchanges share): a quarter of the time, pauses of at most 1 s. */
export const SCAN_PACING_DEFAULT = { busyDutyCycle: 0.25, pauseMaxMs: 1_000 } as const;

/** Keys a scan reads between two looks at the pacer. */
export const SCAN_SLICE_KEYS = 1024;

export class ScanPacer {
  readonly #opts: ScanPacerOptions;
  #sliceStartMs: number;
  #windowStartMs: number;
  #windowStartRequests: number;
  #pausedMs = 0;

  /** A scan starting at `nowMs`, when the node had handled `requests` requests. */
  constructor(opts: ScanPacerOptions, nowMs: number, requests: number) {
    if (!(opts.busyDutyCycle > 0 && opts.busyDutyCycle <= 1)) throw new InvalidArgumentError(`busyDutyCycle must be in (0, 1], got ${opts.busyDutyCycle}`);
    if (!(opts.busyRequestsPerSecond >= 0) || !(opts.pauseMaxMs >= 0)) throw new InvalidArgumentError('busyRequestsPerSecond and pauseMaxMs must be >= 0');
    this.#opts = opts;
    this.#sliceStartMs = nowMs;
    this.#windowStartMs = nowMs;
    this.#windowStartRequests = requests;
  }

  /** Milliseconds paused so far. */
  get pausedMs(): number {
    return this.#pausedMs;
  }

  /**
   * A slice ended at `nowMs` with the node's request count at `requests`:
   * the pause before the next slice (0: go on at once). The next slice
   * starts at `nowMs` plus that pause.
   */
  sliceEnded(nowMs: number, requests: number): number {
    const sliceMs = Math.max(0, nowMs - this.#sliceStartMs);
    // The rate since the previous slice ended (its pause included).
    const windowMs = Math.max(1, nowMs - this.#windowStartMs);
    const perSecond = ((requests - this.#windowStartRequests) * 1000) / windowMs;
    this.#windowStartMs = nowMs;
    this.#windowStartRequests = requests;
    const { busyRequestsPerSecond, busyDutyCycle, pauseMaxMs } = this.#opts;
    const pause = perSecond >= busyRequestsPerSecond ? Math.min(pauseMaxMs, (sliceMs * (1 - busyDutyCycle)) / busyDutyCycle) : 0;
    this.#sliceStartMs = nowMs + pause;
    this.#pausedMs += pause;
    return pause;
  }
}
