/**
 * Time as a port. Everything in lib/ that needs "now" or a timer gets a `Time`;
 * only real-time.ts touches the process clock, so a simulator can drive a whole
 * cluster from one seeded scheduler (TigerBeetle's TimeOS/TimeSim split).
 */

/** Opaque handle returned by `Time.setTimer`. */
export interface TimerHandle {
  readonly id: number;
}

export interface Time {
  /** Wall-clock milliseconds since the Unix epoch (may jump; use for timestamps only). */
  nowMs(): number;
  /** Monotonic milliseconds from an arbitrary origin (use for deadlines and durations). */
  monotonicMs(): number;
  /** Run `fn` once after `delayMs` (>= 0). The callback never runs synchronously inside setTimer. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /** Cancel a timer; cancelling a fired or cancelled timer is a no-op. */
  cancelTimer(handle: TimerHandle): void;
}

/** Resolve after `delayMs` of this Time. */
export function sleep(time: Time, delayMs: number): Promise<void> {
  return new Promise((resolve) => time.setTimer(delayMs, resolve));
}
