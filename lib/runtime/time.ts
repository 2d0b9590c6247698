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

/**
 * The sleeps of one component that its stop() ends early. A driver's loop
 * sleeps between steps (pacing, retries, polls); a stop() that waits for
 * that loop would otherwise wait out the sleep, and since our timers never
 * keep the process alive, a process with nothing else left could exit in
 * the middle of that shutdown. After stop(), every sleep resolves at once.
 */
export class Sleeps {
  readonly #time: Time;
  readonly #wakes = new Set<() => void>();
  #stopped = false;

  constructor(time: Time) {
    this.#time = time;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Resolve after `delayMs`, or as soon as stop() is called; true if the whole delay passed. */
  sleep(delayMs: number): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const wake = (slept: boolean): void => {
        this.#wakes.delete(end);
        if (!slept) this.#time.cancelTimer(timer);
        resolve(slept);
      };
      const end = (): void => wake(false);
      const timer = this.#time.setTimer(delayMs, () => wake(true));
      this.#wakes.add(end);
    });
  }

  /** End every sleep in progress, and every later one at once. */
  stop(): void {
    this.#stopped = true;
    for (const end of [...this.#wakes]) end();
  }
}
