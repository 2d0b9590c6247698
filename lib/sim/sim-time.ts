/**
 * The `Time` port on top of the simulator's scheduler: every timer is a
 * scheduler event, and "now" is virtual. A per-node skew shifts the wall
 * clock only (monotonic time is shared), like NTP-disciplined machines.
 */
import type { Time, TimerHandle } from '../runtime/index.ts';
import type { SimScheduler } from './scheduler.ts';

/** Wall-clock origin of every simulation (2024-01-01T00:00:00Z), fixed so transcripts are byte-stable. */
export const SIM_EPOCH_MS = 1_704_067_200_000;

export class SimTime implements Time {
  readonly #scheduler: SimScheduler;
  readonly #skewMs: number;
  /** Timers not yet fired or cancelled, so kill() can cancel them. */
  readonly #armed = new Set<TimerHandle>();
  #dead = false;

  constructor(scheduler: SimScheduler, opts: { skewMs?: number } = {}) {
    this.#scheduler = scheduler;
    this.#skewMs = opts.skewMs ?? 0;
  }

  nowMs(): number {
    return SIM_EPOCH_MS + this.#scheduler.nowMs + this.#skewMs;
  }

  monotonicMs(): number {
    return this.#scheduler.nowMs;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    if (this.#dead) return { id: 0 };
    const handle: TimerHandle = this.#scheduler.schedule(Math.max(0, delayMs), () => {
      this.#armed.delete(handle);
      fn();
    });
    this.#armed.add(handle);
    return handle;
  }

  cancelTimer(handle: TimerHandle): void {
    this.#armed.delete(handle);
    this.#scheduler.cancel(handle);
  }

  /**
   * The process this clock belongs to died: its timers never fire and new
   * ones are never armed (a crashed node must not act after its crash).
   */
  kill(): void {
    this.#dead = true;
    for (const handle of this.#armed) this.#scheduler.cancel(handle);
    this.#armed.clear();
  }
}
