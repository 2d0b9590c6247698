/**
 * Per-key mutual exclusion for read-modify-write on one node. Each key with
 * work in flight has a FIFO chain; idle keys hold no memory. Queues are
 * bounded so a hot key cannot grow memory without limit.
 */
import { UnavailableError } from './errors.ts';

interface KeyQueue {
  /** Holders waiting for the running one, oldest first (allocated only once a key is contended). */
  waiting: (() => void)[] | undefined;
  /** Holders queued or running. */
  depth: number;
}

/** Serialises async sections per key (string form of the key). */
export class KeyLock {
  readonly #queues = new Map<string, KeyQueue>();
  readonly #depthMax: number;
  readonly #keysMax: number;

  /** `depthMax`: holders queued per key; `keysMax`: keys with work in flight. */
  constructor(opts: { depthMax: number; keysMax: number }) {
    this.#depthMax = opts.depthMax;
    this.#keysMax = opts.keysMax;
  }

  /** Keys with work in flight (tests observe that idle keys are dropped). */
  get size(): number {
    return this.#queues.size;
  }

  /**
   * Run `fn` once every earlier holder of `key` finished. Rejects with
   * UnavailableError, without running `fn`, when the bounds are reached.
   */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      if (this.#queues.size >= this.#keysMax) {
        throw new UnavailableError(`replica overloaded: ${this.#keysMax} keys are being written`, { answered: 0, required: 1 });
      }
      queue = { waiting: undefined, depth: 0 };
      this.#queues.set(key, queue);
    } else if (queue.depth >= this.#depthMax) {
      throw new UnavailableError(`replica overloaded: ${this.#depthMax} writes to this key are queued`, { answered: 0, required: 1 });
    }
    // The uncontended case (nearly every write) allocates no promise of its own and starts at once.
    if (queue.depth++ > 0) {
      const q = queue;
      await new Promise<void>((resolve) => (q.waiting ??= []).push(resolve));
    }
    try {
      return await fn();
    } finally {
      // Hand the key to the next holder in line, or drop the idle key.
      if (--queue.depth === 0) this.#queues.delete(key);
      else queue.waiting!.shift()!();
    }
  }
}
