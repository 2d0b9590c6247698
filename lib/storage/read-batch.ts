/**
 * Read coalescing, the read-side twin of group commit: every get issued in
 * the same turn of the event loop (a peer frame carries many reads) goes to
 * the engine as one getMany. A native get costs a thread-pool round trip and
 * a promise each (~20–40 µs of main-thread CPU on classic-level, measured with
 * bench/profile-summary.ts); getMany pays that once per batch (~8 µs a key).
 */

/** The engine call a batch of reads becomes; results in key order, undefined when missing. */
export type GetMany = (keys: Uint8Array[]) => Promise<Array<Uint8Array | undefined>>;

interface PendingRead {
  readonly key: Uint8Array;
  readonly resolve: (value: Uint8Array | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/** Most keys in one engine call; a larger turn is split so no batch starves the event loop. */
export const READ_BATCH_KEYS_MAX = 256;

export class ReadBatch {
  readonly #getMany: GetMany;
  #pending: PendingRead[] = [];
  #scheduled = false;
  readonly #flush = (): void => this.#drain();
  #batches = 0;
  #reads = 0;

  constructor(getMany: GetMany) {
    this.#getMany = getMany;
  }

  /** Resolves with the stored bytes or undefined; rejects with whatever the engine threw. */
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ key, resolve, reject });
      this.#reads++;
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(this.#flush);
      }
    });
  }

  /** Engine calls made and reads served: batches < reads shows coalescing. */
  stats(): { readBatches: number; reads: number } {
    return { readBatches: this.#batches, reads: this.#reads };
  }

  #drain(): void {
    this.#scheduled = false;
    const all = this.#pending;
    this.#pending = [];
    for (let start = 0; start < all.length; start += READ_BATCH_KEYS_MAX) {
      this.#run(all.slice(start, start + READ_BATCH_KEYS_MAX));
    }
  }

  #run(batch: PendingRead[]): void {
    this.#batches++;
    let call: Promise<Array<Uint8Array | undefined>>;
    try {
      call = this.#getMany(batch.map((r) => r.key));
    } catch (e) {
      for (const r of batch) r.reject(e);
      return;
    }
    call.then(
      (values) => {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(values[i] ?? undefined);
      },
      (e: unknown) => {
        for (const r of batch) r.reject(e);
      },
    );
  }
}
