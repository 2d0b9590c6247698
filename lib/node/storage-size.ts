/**
 * The storage size a node reports to metrics: what the engine estimates
 * cheaply at each scrape (Storage.estimateSize: bytes always, keys on
 * RocksDB), and — where the engine keeps no key estimate (LevelDB, memory) —
 * a key count from a keys-only walk of the data key space, run at start and
 * then every `refreshMs` (default 10 min) in the background, never on a
 * scrape. The walk costs O(keys) (about a second per few million keys, on
 * the storage thread pool with one callback per thousand keys), hence the
 * interval; between walks the count lags writes.
 */
import type { Logger, Time, TimerHandle } from '../runtime/index.ts';
import type { Storage } from '../storage/index.ts';

/** Default interval between key-count walks. */
export const KEY_COUNT_REFRESH_MS_DEFAULT = 10 * 60 * 1000;

export class StorageSize {
  readonly #storage: Storage;
  readonly #time: Time;
  readonly #logger: Logger;
  readonly #refreshMs: number;
  #counted: number | undefined;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(storage: Storage, time: Time, logger: Logger, refreshMs = KEY_COUNT_REFRESH_MS_DEFAULT) {
    this.#storage = storage;
    this.#time = time;
    this.#logger = logger;
    this.#refreshMs = refreshMs;
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
  async read(): Promise<{ keys?: number; bytes?: number }> {
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
        this.#logger.debug('counted stored keys', { keys: n, ms: Math.round(this.#time.monotonicMs() - startMs) });
      },
      (e: unknown) => this.#logger.debug('counting stored keys failed', { error: e }),
    ).finally(() => {
      if (!this.#stopped) this.#timer = this.#time.setTimer(this.#refreshMs, () => this.#count());
    });
  }
}
