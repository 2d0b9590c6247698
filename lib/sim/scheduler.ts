/**
 * The simulator's single source of time: a virtual clock plus a bounded queue
 * of events ordered by (atMs, seq), so two events due at the same virtual
 * instant always fire in the order they were scheduled. Nothing here reads
 * the process clock; the only real primitive is the one yield in `#drain`.
 */
import { assert } from '../runtime/index.ts';

/** Handle of a scheduled event, for `cancel`. */
export interface SimEventHandle {
  readonly id: number;
}

interface SimEvent {
  readonly id: number;
  readonly atMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export interface SimSchedulerOptions {
  /** Default bound on events fired by one `runUntil`/`run`. */
  stepsMax?: number;
  /** Bound on queued events (a runaway producer is a bug, not a workload). */
  eventsMax?: number;
}

/** How many consecutive idle yields (no due event, predicate false) prove a deadlock. */
const IDLE_YIELDS_MAX = 256;

function before(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

/** Deterministic discrete-event scheduler (TigerBeetle VOPR style). */
export class SimScheduler {
  readonly #heap: SimEvent[] = [];
  readonly #stepsMax: number;
  readonly #eventsMax: number;
  #nowMs = 0;
  #seq = 0;
  #nextId = 1;
  #running = false;
  #steps = 0;

  constructor(opts: SimSchedulerOptions = {}) {
    this.#stepsMax = opts.stepsMax ?? 500_000;
    this.#eventsMax = opts.eventsMax ?? 1_000_000;
    assert(this.#stepsMax > 0 && this.#eventsMax > 0, 'scheduler bounds must be positive');
  }

  /** Virtual milliseconds since the simulation began. */
  get nowMs(): number {
    return this.#nowMs;
  }

  /** Events fired since the scheduler was created (for transcripts and bounds). */
  get steps(): number {
    return this.#steps;
  }

  /** Events still queued, cancelled ones included until they surface. */
  get pending(): number {
    return this.#heap.length;
  }

  /** Run `fn` once, `delayMs` (>= 0) of virtual time from now; never synchronously. */
  schedule(delayMs: number, fn: () => void): SimEventHandle {
    assert(Number.isFinite(delayMs) && delayMs >= 0, `delay must be a finite non-negative number, got ${delayMs}`);
    assert(this.#heap.length < this.#eventsMax, `scheduler queue is full (${this.#eventsMax} events)`);
    const ev: SimEvent = { id: this.#nextId++, atMs: this.#nowMs + delayMs, seq: this.#seq++, fn, cancelled: false };
    this.#push(ev);
    return ev;
  }

  /** Cancel an event; cancelling a fired or cancelled event is a no-op. */
  cancel(handle: SimEventHandle): void {
    (handle as SimEvent).cancelled = true;
  }

  /** Drive the simulation until `promise` settles; its value or rejection is passed through. */
  async run<T>(promise: Promise<T>, stepsMax = this.#stepsMax): Promise<T> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    promise.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    await this.runUntil(() => outcome !== undefined, stepsMax);
    assert(outcome !== undefined, 'runUntil returned before the promise settled');
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /**
   * Fire events in order until `done()` holds. Throws when more than `stepsMax`
   * events fire, when virtual time would pass `deadlineMs`, or when nothing is
   * queued and nothing else can make progress.
   */
  async runUntil(done: () => boolean, stepsMax = this.#stepsMax, deadlineMs = Infinity): Promise<void> {
    assert(!this.#running, 'the scheduler is not reentrant: do not call run() from inside a running simulation');
    this.#running = true;
    try {
      let steps = 0;
      let idle = 0;
      for (;;) {
        await this.#drain();
        if (done()) return;
        const ev = this.#pop();
        if (ev === undefined) {
          if (++idle > IDLE_YIELDS_MAX) throw new Error(`simulation deadlocked at t=${this.#nowMs}ms: no events queued and the awaited condition never became true`);
          continue;
        }
        idle = 0;
        if (++steps > stepsMax) throw new Error(`simulation exceeded ${stepsMax} steps at t=${this.#nowMs}ms`);
        if (ev.atMs > deadlineMs) throw new Error(`simulation passed its deadline t=${deadlineMs}ms and the awaited condition never became true`);
        this.#steps++;
        this.#nowMs = ev.atMs;
        ev.fn();
      }
    } finally {
      this.#running = false;
    }
  }

  /** Advance virtual time by `durationMs`, firing every event due until then. */
  async runFor(durationMs: number, stepsMax = this.#stepsMax): Promise<void> {
    assert(durationMs >= 0, 'duration must be non-negative');
    let reached = false;
    this.schedule(durationMs, () => (reached = true));
    await this.runUntil(() => reached, stepsMax);
  }

  /** Fire events until none is queued (timers left armed count: bound them with stepsMax). */
  async settle(stepsMax = this.#stepsMax): Promise<void> {
    await this.runUntil(() => this.#heap.every((e) => e.cancelled), stepsMax);
    this.#heap.length = 0;
  }

  /**
   * Let every promise continuation run before the next event fires. This is
   * the simulator's single use of a real scheduling primitive: one macrotask
   * yield drains the whole microtask (and nextTick) queue, whose order is
   * deterministic, so the simulation stays reproducible.
   */
  #drain(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  #pop(): SimEvent | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined) return undefined;
      const last = this.#heap.pop()!;
      if (this.#heap.length > 0) {
        this.#heap[0] = last;
        this.#siftDown(0);
      }
      if (!top.cancelled) return top;
    }
  }

  #push(ev: SimEvent): void {
    const h = this.#heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #siftDown(start: number): void {
    const h = this.#heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
