/**
 * The storage size a node reports to metrics: what the engine estimates
 * cheaply at each scrape (Storage.estimateSize: bytes always, keys on
 * RocksDB), and — where the engine keeps no key estimate (LevelDB, memory) —
 * a key count from a keys-only walk of the data key space, run at start and
 * then again in the background, never on a scrape: after `refreshMsMin`
 * (1 min) or 50 times as long as the last walk took, whichever is longer,
 * so walking costs at most ~2% of one thread (a walk is O(keys): about a
 * second per few million keys). Between walks the count lags writes.
 */
import type { Logger, Time, TimerHandle } from '../runtime/index.ts';
import type { Storage, StorageEstimate } from '../storage/index.ts';

/** Shortest interval between key-count walks. */
export const KEY_COUNT_REFRESH_MS_MIN = 60 * 1000;
/** A walk is followed by a pause of this many times its own duration (at least the minimum). */
const KEY_COUNT_PAUSE_FACTOR = 50;

export class StorageSize {
  readonly #storage: Storage;
  readonly #time: Time;
  readonly #logger: Logger;
  readonly #refreshMsMin: number;
  #lastWalkMs = 0;
  #counted: number | undefined;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(storage: Storage, time: Time, logger: Logger, refreshMsMin = KEY_COUNT_REFRESH_MS_MIN) {
    this.#storage = storage;
    this.#time = time;
    this.#logger = logger;
    this.#refreshMsMin = refreshMsMin;
  }

  /** Start counting keys (only when the engine has no estimate of its own); the storage must be open. */
  async start(): Promise<void> {
    const estimate = (await this.#storage.estimateSize?.()) ?? {};
    if (estimate.keys === undefined && this.#storage.countKeys !== undefined) this.#count();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#time.cancelTimer(this.#timer);
    this.#timer = undefined;
  }

  /** Keys and bytes as far as known. */
  async read(): Promise<StorageEstimate> {
    const estimate = (await this.#storage.estimateSize?.()) ?? {};
    const keys = estimate.keys ?? this.#counted;
    return { ...estimate, ...(keys === undefined ? {} : { keys }) };
  }

  #count(): void {
    if (this.#stopped) return;
    const startMs = this.#time.monotonicMs();
    this.#storage.countKeys!().then(
      (n) => {
        this.#counted = n;
        this.#lastWalkMs = this.#time.monotonicMs() - startMs;
        this.#logger.debug('counted stored keys', { keys: n, ms: Math.round(this.#time.monotonicMs() - startMs) });
      },
      (e: unknown) => this.#logger.debug('counting stored keys failed', { error: e }),
    ).finally(() => {
      const pauseMs = Math.max(this.#refreshMsMin, KEY_COUNT_PAUSE_FACTOR * this.#lastWalkMs);
      if (!this.#stopped) this.#timer = this.#time.setTimer(pauseMs, () => this.#count());
    });
  }
}
