/**
 * Removal requests a node accepted and whose callers are still waiting. A
 * remove request lives in the accepting node's memory until the claimant
 * commits a ring without the node; answering the operator before that would
 * turn a crash of the accepting node (or of the claimant) into a removal that
 * was acknowledged and never happens. So the Admin call resolves only once a
 * ring this node adopts no longer lists the removed node, and fails (safe to
 * repeat: removal is idempotent) when this node stops, the request is
 * dropped, or the wait outlasts its bound.
 */
import { UnavailableError, InvalidArgumentError, type Time, type TimerHandle } from '../runtime/index.ts';
import type { NodeId, RingStateRecord } from '../protocol/index.ts';

/** How long a removal may take to be committed before the caller is told to ask again. */
export const REMOVE_COMMIT_WAIT_MS = 30_000;

interface Waiter {
  readonly node: NodeId;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: TimerHandle;
}

/** True when `state` has planned `node` out: neither a member nor holding any moving partition. */
export function removalCommitted(state: RingStateRecord | undefined, node: NodeId): boolean {
  return state !== undefined && !state.members.includes(node) && state.moving.every((m) => !m.holders.includes(node));
}

export class PendingRemovals {
  readonly #time: Time;
  #waiters: Waiter[] = [];

  constructor(time: Time) {
    this.#time = time;
  }

  /** Resolves once a ring passed to onRing() has removed `node`. */
  wait(node: NodeId, waitMs = REMOVE_COMMIT_WAIT_MS): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.#time.setTimer(waitMs, () => {
        this.#drop((w) => w.timer === timer);
        reject(new UnavailableError(`the removal of ${node} was not committed within ${waitMs} ms (is a majority of the ring up?); ask again`, { answered: 0, required: 0 }));
      });
      this.#waiters.push({ node, resolve, reject, timer });
    });
  }

  /** A ring was adopted: release the callers whose node it removed. */
  onRing(state: RingStateRecord): void {
    for (const w of this.#drop((w) => removalCommitted(state, w.node))) w.resolve();
  }

  /** The membership dropped a pending request (e.g. the node came back to life). */
  onRejected(reason: string): void {
    for (const w of this.#drop((w) => reason.includes(w.node))) w.reject(new InvalidArgumentError(`remove: ${reason}`));
  }

  /** This node stops: nobody will commit the requests it held. */
  close(nodeId: NodeId): void {
    for (const w of this.#drop(() => true)) {
      w.reject(new UnavailableError(`node ${nodeId} stopped before the removal of ${w.node} was committed; ask another member`, { answered: 0, required: 0 }));
    }
  }

  #drop(match: (w: Waiter) => boolean): Waiter[] {
    const gone = this.#waiters.filter(match);
    this.#waiters = this.#waiters.filter((w) => !match(w));
    for (const w of gone) this.#time.cancelTimer(w.timer);
    return gone;
  }
}
