/**
 * Per-key mutual exclusion for read-modify-write on one node. Each key with
 * work in flight has a FIFO chain; idle keys hold no memory. Queues are
 * bounded so a hot key cannot grow memory without limit.
 */
import { UnavailableError } from './errors.ts';

interface KeyQueue {
  /** Settles when the last queued holder releases. */
  tail: Promise<void>;
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
    const first = queue === undefined;
    if (queue === undefined) {
      if (this.#queues.size >= this.#keysMax) {
        throw new UnavailableError(`replica overloaded: ${this.#keysMax} keys are being written`, { answered: 0, required: 1 });
      }
      queue = { tail: Promise.resolve(), depth: 0 };
      this.#queues.set(key, queue);
    } else if (queue.depth >= this.#depthMax) {
      throw new UnavailableError(`replica overloaded: ${this.#depthMax} writes to this key are queued`, { answered: 0, required: 1 });
    }
    const previous = queue.tail;
    let release!: () => void;
    queue.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    queue.depth++;
    try {
      // The uncontended case (every write of a fresh key) starts at once: an
      // await of the already settled tail would only cost a turn of the queue.
      if (!first) await previous;
      return await fn();
    } finally {
      release();
      if (--queue.depth === 0) this.#queues.delete(key);
    }
  }
}
