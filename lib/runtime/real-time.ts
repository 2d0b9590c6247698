/** The process clock behind the `Time` port. The only file (with real-random.ts) allowed to touch timers. */
import type { Time, TimerHandle } from './time.ts';

interface RealTimerHandle extends TimerHandle {
  readonly timeout: NodeJS.Timeout;
}

export class RealTime implements Time {
  #nextId = 1;
  nowMs(): number {
    return Date.now();
  }
  monotonicMs(): number {
    return performance.now();
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timeout = setTimeout(fn, Math.max(0, delayMs));
    // Timers never keep the process alive on their own: shutdown is explicit.
    timeout.unref();
    const handle: RealTimerHandle = { id: this.#nextId++, timeout };
    return handle;
  }
  /**
   * Resolve after `delayMs`, keeping the process alive meanwhile (unlike
   * setTimer): for a command line that waits on purpose (`dynamo
   * decommission` between polls).
   */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, delayMs)));
  }
  cancelTimer(handle: TimerHandle): void {
    clearTimeout((handle as RealTimerHandle).timeout);
  }
}
