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
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      if (this.#queues.size >= this.#keysMax) {
        return Promise.reject(new UnavailableError(`replica overloaded: ${this.#keysMax} keys are being written`, { answered: 0, required: 1 }));
      }
      queue = { waiting: undefined, depth: 0 };
      this.#queues.set(key, queue);
    } else if (queue.depth >= this.#depthMax) {
      return Promise.reject(new UnavailableError(`replica overloaded: ${this.#depthMax} writes to this key are queued`, { answered: 0, required: 1 }));
    }
    // The uncontended case (nearly every write) starts at once and allocates
    // only the promise that releases the key (an async function would add its own).
    if (queue.depth++ === 0) return this.#hold(key, queue, fn);
    const q = queue;
    return new Promise<void>((resolve) => (q.waiting ??= []).push(resolve)).then(() => this.#hold(key, q, fn));
  }

  /** Run `fn` holding `key`; the key passes to the next holder in line (or is dropped, idle) once it settled. */
  #hold<T>(key: string, queue: KeyQueue, fn: () => Promise<T>): Promise<T> {
    let running: Promise<T>;
    try {
      running = fn();
    } catch (e) {
      this.#release(key, queue);
      return Promise.reject(e);
    }
    return running.finally(() => this.#release(key, queue));
  }

  #release(key: string, queue: KeyQueue): void {
    if (--queue.depth === 0) this.#queues.delete(key);
    else queue.waiting!.shift()!();
  }
}
