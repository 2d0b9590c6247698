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

/**
 * Keep the process alive until `work` settles. Our timers never do, and a
 * graceful stop awaits some (a driver's loop between steps, a bounded drain):
 * with the server and the peer connections already closed, Node would find
 * nothing left on its event loop and exit with code 0 in the middle of the
 * shutdown, before the trees are saved and storage is closed.
 */
export function keepAliveUntil<T>(work: Promise<T>): Promise<T> {
  const hold = setInterval(() => {}, 1 << 30);
  return work.finally(() => clearInterval(hold));
}

/**
 * Run `fn` once the current event-loop turn has handled all of its I/O
 * (setImmediate: after the poll phase, before any timer). What a turn's
 * callbacks produce (requests read from several sockets, storage
 * completions, the replies they lead to) can then leave together: unlike a
 * microtask, which runs when the one callback that queued it returns.
 */
export function atTurnEnd(fn: () => void): void {
  setImmediate(fn);
}
