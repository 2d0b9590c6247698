/**
 * One quorum round of a coordinated request: counts the replies of the
 * preference list's replicas, decides as soon as the outcome is certain or
 * the deadline passes, and turns a failed decision into the client error.
 */
import { TimeoutError, UnavailableError, type DynamoError, type Time, type TimerHandle } from '../runtime/index.ts';
import type { Consistency, NodeId } from '../protocol/index.ts';
import { QuorumTracker } from './quorum.ts';

/** How a round ended for the client. */
export type Decision = 'won' | 'lost' | 'timeout';

/** Reply states of a replica slot (kept in a Uint8Array). */
export const SLOT_PENDING = 0;
export const SLOT_OK = 1;
export const SLOT_FAILED = 2;
/** Never asked (a read needed only some replicas): counts neither way. */
export const SLOT_SKIPPED = 3;

/** What a round is started with. */
export interface RoundOptions {
  /** The preference list; slot i is nodes[i]. */
  readonly nodes: readonly NodeId[];
  readonly required: number;
  readonly level: Consistency;
  readonly op: 'read' | 'write';
  readonly timeoutMs: number;
  readonly time: Time;
}

/**
 * Replies of one request's replicas (slot i = nodes[i]). Won as soon as the
 * quorum is reached. Once the quorum became impossible it is decided when
 * every other replica answered (or the deadline passed): 'lost' if the
 * unreachable/refusing replicas alone made it impossible, 'timeout' if
 * replica timeouts did. Timed out at the deadline otherwise. Late replies are still recorded (read repair uses them) but
 * never change the decision.
 */
export class Round<T = undefined> {
  readonly nodes: readonly NodeId[];
  readonly tracker: QuorumTracker;
  readonly level: Consistency;
  readonly op: 'read' | 'write';
  readonly timeoutMs: number;
  /** Settles once, with the decision. */
  readonly decided: Promise<Decision>;
  /** Per slot: SLOT_PENDING, SLOT_OK, SLOT_FAILED or SLOT_SKIPPED. */
  readonly states: Uint8Array;
  /** Per slot: the value of a successful reply. */
  readonly values: (T | undefined)[];
  /** Runs once every slot has replied or failed (read repair hangs off it). */
  onSettled: (() => void) | undefined;
  #firstError: string | undefined;
  #pending: number;
  /** Failures other than timeouts (unreachable, refused). */
  #hardFailures = 0;
  #decision: Decision | undefined;
  #resolve!: (d: Decision) => void;
  #timer: TimerHandle | undefined;
  readonly #time: Time;

  constructor(opts: RoundOptions) {
    this.nodes = opts.nodes;
    this.level = opts.level;
    this.op = opts.op;
    this.timeoutMs = opts.timeoutMs;
    this.#time = opts.time;
    const n = opts.nodes.length;
    this.tracker = new QuorumTracker(opts.required, n);
    this.states = new Uint8Array(n);
    this.values = new Array<T | undefined>(n).fill(undefined);
    this.#pending = n;
    this.decided = new Promise<Decision>((resolve) => {
      this.#resolve = resolve;
    });
    if (this.tracker.outcome === 'lost') this.#decide('lost');
    else this.#timer = this.#time.setTimer(opts.timeoutMs, () => this.#onDeadline());
  }

  /** The decision, once made. */
  get decision(): Decision | undefined {
    return this.#decision;
  }

  /** Slot `i` answered successfully. */
  succeed(i: number, value: T | undefined): void {
    if (this.states[i] !== SLOT_PENDING) return;
    this.states[i] = SLOT_OK;
    this.values[i] = value;
    this.#pending--;
    if (this.tracker.success() === 'won') this.#decide('won');
    this.#afterReply();
  }

  /** Slot `i` failed (unreachable, timed out, refused). */
  fail(i: number, error: unknown): void {
    if (this.states[i] !== SLOT_PENDING) return;
    this.states[i] = SLOT_FAILED;
    if (this.#firstError === undefined) {
      this.#firstError = `${this.nodes[i]}: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (!(error instanceof Error && (error as DynamoError).code === 'DYNAMO_TIMEOUT')) this.#hardFailures++;
    this.#pending--;
    this.tracker.failure();
    this.#afterReply();
  }

  /** Slot `i` will never be asked; it stops holding the round's settlement. */
  skip(i: number): void {
    if (this.states[i] !== SLOT_PENDING) return;
    this.states[i] = SLOT_SKIPPED;
    this.#pending--;
    this.#afterReply();
  }

  /** Stop the deadline timer (the caller has what it needs). */
  finish(): void {
    if (this.#timer !== undefined) {
      this.#time.cancelTimer(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * The client error for a round that was lost or timed out. A write passes
   * `maybeApplied: true` once its new version was sent or stored anywhere.
   */
  error(decision: Exclude<Decision, 'won'>, opts: { maybeApplied?: boolean } = {}): DynamoError {
    const counts = { answered: this.tracker.successes, required: this.tracker.required };
    const tally = `${counts.answered} of ${this.nodes.length} replicas answered, ${counts.required} needed`;
    const reason = this.#firstError === undefined ? '' : ` (first error: ${this.#firstError})`;
    return decision === 'timeout'
      ? new TimeoutError(`${this.level} ${this.op} timed out after ${this.timeoutMs} ms: ${tally}${reason}`, counts, opts)
      : new UnavailableError(`${this.level} ${this.op} failed: ${tally}${reason}`, counts, opts);
  }

  #decide(d: Decision): void {
    if (this.#decision !== undefined) return;
    this.#decision = d;
    this.finish();
    this.#resolve(d);
  }

  #afterReply(): void {
    if (this.#pending !== 0) return;
    // A lost round is reported once the other replicas answered, so `answered`
    // counts every replica that did (deterministic for clients and tests).
    if (this.tracker.outcome === 'lost') this.#decide(this.#lostKind());
    if (this.onSettled !== undefined) {
      const run = this.onSettled;
      this.onSettled = undefined;
      run();
    }
  }

  #onDeadline(): void {
    this.#timer = undefined;
    this.#decide(this.tracker.outcome === 'lost' ? this.#lostKind() : 'timeout');
  }

  /**
   * Unavailable if the replicas that were unreachable or refused make the
   * quorum impossible by themselves; otherwise replicas ran out of time and
   * the request timed out.
   */
  #lostKind(): Exclude<Decision, 'won'> {
    return this.nodes.length - this.#hardFailures < this.tracker.required ? 'lost' : 'timeout';
  }
}
