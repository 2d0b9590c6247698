/**
 * Quorum maths (Dynamo §4.5): how many replica replies a consistency level
 * needs, and a tracker that decides a request as soon as the outcome is
 * certain. Pure and synchronous.
 */
import { assert, InvalidArgumentError } from '../runtime/index.ts';
import type { Consistency } from '../protocol/index.ts';

/** Successful replica replies needed for `consistency` with replication factor `n`. Throws InvalidArgumentError for levels this cluster cannot serve. */
export function requiredReplies(consistency: Consistency, n: number, op: 'read' | 'write'): number {
  assert(Number.isInteger(n) && n >= 1, `replication factor must be a positive integer, got ${n}`);
  let required: number;
  switch (consistency) {
    case 'ONE':
      required = 1;
      break;
    case 'TWO':
      required = 2;
      break;
    case 'THREE':
      required = 3;
      break;
    case 'QUORUM':
      required = Math.floor(n / 2) + 1;
      break;
    case 'ALL':
      required = n;
      break;
    case 'ANY':
      // One node storing the write, even only as a hint holder (Cassandra's ANY);
      // a strict ANY write (no fallbacks) needs one replica, as ONE does.
      if (op !== 'write') throw new InvalidArgumentError('consistency ANY is only valid for writes');
      required = 1;
      break;
    default:
      throw new InvalidArgumentError(`unknown consistency level ${String(consistency)}`);
  }
  if (required > n) {
    throw new InvalidArgumentError(`consistency ${consistency} needs ${required} replicas but the replication factor is ${n}`);
  }
  return required;
}

/** Where a quorum request stands: still waiting, enough successes, or enough failures that success is impossible. */
export type Outcome = 'pending' | 'won' | 'lost';

/**
 * Counts replica replies against a requirement. The outcome is decided as
 * early as possible (lost the moment `required` successes can no longer be
 * reached) and never changes once decided, so late replies are harmless.
 */
export class QuorumTracker {
  readonly #required: number;
  readonly #total: number;
  #successes = 0;
  #failures = 0;
  #outcome: Outcome;

  constructor(required: number, total: number) {
    assert(Number.isInteger(required) && required >= 1, `required must be a positive integer, got ${required}`);
    assert(Number.isInteger(total) && total >= 0, `total must be a non-negative integer, got ${total}`);
    this.#required = required;
    this.#total = total;
    // A requirement above the replicas that exist (cluster smaller than N) can never be met.
    this.#outcome = required > total ? 'lost' : 'pending';
  }

  /** Record one successful reply. */
  success(): Outcome {
    this.#count();
    this.#successes++;
    if (this.#outcome === 'pending' && this.#successes >= this.#required) this.#outcome = 'won';
    return this.#outcome;
  }

  /** Record one failed (or timed-out) replica. */
  failure(): Outcome {
    this.#count();
    this.#failures++;
    if (this.#outcome === 'pending' && this.#total - this.#failures < this.#required) this.#outcome = 'lost';
    return this.#outcome;
  }

  #count(): void {
    assert(this.#successes + this.#failures < this.#total, `more replies than the ${this.#total} replicas asked`);
  }

  get outcome(): Outcome {
    return this.#outcome;
  }
  get successes(): number {
    return this.#successes;
  }
  get failures(): number {
    return this.#failures;
  }
  get required(): number {
    return this.#required;
  }
  get total(): number {
    return this.#total;
  }
}
