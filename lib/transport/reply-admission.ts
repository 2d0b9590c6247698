/**
 * Which requests of one served stream may start now, judged by the reply
 * bytes they will add (pure bookkeeping: no I/O, no timers).
 *
 * A reply's memory is committed when its request starts, so the way to keep
 * the replies a slow reader leaves unread within a bound — without refusing
 * or dropping anything a reader that is merely slower would still take — is
 * to start fewer requests: a request starts only while the bytes held plus
 * an estimate for every request running (and this one) stay within the
 * budget; otherwise it waits, in arrival order, and the stream stops reading
 * until the wait list is empty (so the list holds at most what was already
 * read). One request may always run, so a stream never stalls itself.
 *
 * The estimate is a decaying maximum of the mean reply size per frame sent:
 * it jumps up at once when large replies appear and relaxes by an eighth per
 * frame when they stop. It starts at budget / 4, so a stream's first burst
 * runs at most 4 requests before any reply size is known — even replies of
 * the largest object (3 MiB) then stay within twice the budget — and small
 * replies open it up within a few dozen frames. (Cassandra bounds its native-protocol connections by
 * bytes in flight for the same reason.)
 */

/** See the module comment. */
export class ReplyAdmission<E> {
  readonly #budgetBytes: number;
  #estimateBytes: number;
  #running = 0;
  readonly #waiting: E[] = [];
  #head = 0;

  /** `budgetBytes`: reply bytes held plus those expected from running requests. */
  constructor(budgetBytes: number) {
    this.#budgetBytes = budgetBytes;
    this.#estimateBytes = Math.max(1, budgetBytes / 4);
  }

  /** Requests started whose reply is not yet ready. */
  get running(): number {
    return this.#running;
  }

  /** Requests waiting to start. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** The current estimate of one reply's size. */
  get estimateBytes(): number {
    return this.#estimateBytes;
  }

  /** May a request that just arrived start now? If so it counts as running; if not, `wait` it. */
  tryStart(heldBytes: number): boolean {
    if (this.waiting > 0 || !this.#fits(heldBytes)) return false;
    this.#running++;
    return true;
  }

  /** Queue a request that may not start yet (it keeps its arrival order). */
  wait(entry: E): void {
    this.#waiting.push(entry);
  }

  /** The oldest waiting request if it may start now (it then counts as running). */
  next(heldBytes: number): E | undefined {
    if (this.waiting === 0 || !this.#fits(heldBytes)) return undefined;
    const entry = this.#waiting[this.#head]!;
    this.#waiting[this.#head++] = undefined as E;
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    }
    this.#running++;
    return entry;
  }

  /** A running request's reply (or error) is ready. */
  finished(): void {
    this.#running--;
  }

  /** A frame of `bytes` carrying `entries` replies was sent: learn how large replies are. */
  observe(bytes: number, entries: number): void {
    const mean = bytes / Math.max(1, entries);
    this.#estimateBytes = Math.max(mean, this.#estimateBytes - this.#estimateBytes / 8, 1);
  }

  /** Forget every waiting request (the stream is gone). */
  clear(): void {
    this.#waiting.length = 0;
    this.#head = 0;
  }

  #fits(heldBytes: number): boolean {
    return this.#running === 0 || heldBytes + (this.#running + 1) * this.#estimateBytes <= this.#budgetBytes;
  }
}
