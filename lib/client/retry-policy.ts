/**
 * When the SDK sends a failed request again, to the next endpoint of its
 * plan. Two kinds of failure never reach the policy:
 *
 * - a request that provably never reached a node (not written to any
 *   stream, a connection that was never established, a node that refused it
 *   because it is shutting down) always moves on to the next endpoint: it
 *   cannot have been applied, and another node can coordinate it;
 * - the request's own deadline or AbortSignal ends it at once.
 *
 * Every other failure reached a node (or may have), and the policy decides.
 * The default follows what Cassandra's drivers do and what the write
 * contract allows: a read (idempotent) is retried on another replica when
 * the failure was about availability; a write only when the error says it
 * was provably not applied (`maybeApplied === false`, and no replica
 * acknowledged it), because repeating a write that may have been stored
 * would store it twice (as two sibling versions). Pure: the SDK bounds the
 * attempts with the request's deadline as well.
 */
import { InvalidArgumentError, TimeoutError, UnavailableError, type DynamoError } from '../runtime/index.ts';

/**
 * Requests the client sends (getMany sends gets). status and ring read a
 * node's view; join, decommission and remove are membership commands, which
 * change the cluster like a write does; repair starts work on a node, and is
 * retried like them.
 */
export type RequestOp = 'get' | 'put' | 'delete' | 'status' | 'ring' | 'join' | 'decommission' | 'remove' | 'repair';

/** What a RetryPolicy is asked about: one failed attempt that reached a node. */
export interface RetryInput {
  readonly op: RequestOp;
  /** Why the attempt failed; `error.maybeApplied` says whether a write may have been stored. */
  readonly error: DynamoError;
  /** Attempts of this request that reached a node so far, this one included (1 after the first failure). */
  readonly attempts: number;
}

/** Decides whether a failed request is sent again, to the next endpoint of its plan. */
export interface RetryPolicy {
  shouldRetry(input: RetryInput): boolean;
}

/** Settings of DefaultRetryPolicy. */
export interface DefaultRetryPolicyOptions {
  /** Most attempts per request that reach a node, the first included; default RETRY_ATTEMPTS_MAX_DEFAULT. 1 turns retries off. */
  readonly attemptsMax?: number;
}

/** Default of DefaultRetryPolicyOptions.attemptsMax: one retry on another replica. */
export const RETRY_ATTEMPTS_MAX_DEFAULT = 2;

/**
 * True only when `error` says nothing of the write was applied: it is not
 * marked maybeApplied, and no replica acknowledged it (an UnavailableError
 * or TimeoutError counting answered replicas means one stored it).
 */
export function provablyNotApplied(error: DynamoError): boolean {
  if (error.maybeApplied) return false;
  if ((error instanceof UnavailableError || error instanceof TimeoutError) && error.answered > 0) return false;
  return true;
}

/** Failures another coordinator may not have: too few replicas reachable, too slow, or shutting down. */
function transient(error: DynamoError): boolean {
  return error.code === 'DYNAMO_UNAVAILABLE' || error.code === 'DYNAMO_TIMEOUT' || error.code === 'DYNAMO_CLOSED';
}

/**
 * Reads (get, status, ring): retried on another endpoint after an availability
 * failure. Writes (put, delete), membership commands (join, decommission,
 * remove) and repair: retried only when provably not applied.
 * Invalid arguments, limits, storage and internal errors: never (they would
 * fail the same way). At most `attemptsMax` attempts reach a node.
 */
export class DefaultRetryPolicy implements RetryPolicy {
  readonly attemptsMax: number;

  constructor(opts: DefaultRetryPolicyOptions = {}) {
    const max = opts.attemptsMax ?? RETRY_ATTEMPTS_MAX_DEFAULT;
    if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError(`attemptsMax must be a whole number >= 1, got ${String(max)}`);
    this.attemptsMax = max;
  }

  shouldRetry({ op, error, attempts }: RetryInput): boolean {
    if (attempts >= this.attemptsMax || !transient(error)) return false;
    if (op === 'get' || op === 'status' || op === 'ring') return true;
    return provablyNotApplied(error);
  }
}
