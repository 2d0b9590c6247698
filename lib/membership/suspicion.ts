/**
 * Suspicion timers with Lifeguard's dynamic timeout (Dadgar et al.,
 * "Lifeguard: Local Health Awareness for More Accurate Failure Detection",
 * 2018, §IV.B; memberlist suspicion.go).
 *
 * A suspected node is declared dead when its timeout runs out. The timeout
 * starts at `max` and falls toward `min` as independent confirmations (other
 * nodes suspecting the same incarnation) arrive:
 *   timeout(c) = max(min, max - (max - min) x ln(c + 1) / ln(k + 1))
 * with k the confirmations expected. A lone slow observer waits long (fewer
 * false deaths); a node many observers suspect is declared dead quickly.
 */
import type { NodeId } from '../protocol/index.ts';

/** One suspected node (at one generation/incarnation). */
export class Suspicion {
  readonly startedMs: number;
  readonly #k: number;
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #confirmers = new Set<NodeId>();

  /**
   * @param origin the node whose suspicion started the timer; it does not count as a confirmation
   * @param k confirmations after which the timeout reaches `minMs` (0: always `minMs`)
   */
  constructor(origin: NodeId, k: number, minMs: number, maxMs: number, startedMs: number) {
    this.startedMs = startedMs;
    this.#k = k;
    this.#minMs = minMs;
    this.#maxMs = k < 1 ? minMs : maxMs;
    this.#confirmers.add(origin);
  }

  /** Confirmations counted so far (distinct nodes other than the origin). */
  get confirmations(): number {
    return this.#confirmers.size - 1;
  }

  /** Count `from` as an independent confirmation; false when already counted or no longer useful. */
  confirm(from: NodeId): boolean {
    if (this.confirmations >= this.#k || this.#confirmers.has(from)) return false;
    this.#confirmers.add(from);
    return true;
  }

  /** Timeout after the confirmations seen so far. */
  timeoutMs(): number {
    return suspicionTimeoutAfter(this.confirmations, this.#k, this.#minMs, this.#maxMs);
  }

  /** When the suspected node is to be declared dead. */
  deadlineMs(): number {
    return this.startedMs + this.timeoutMs();
  }
}

/** Lifeguard's timeout after `c` of `k` expected confirmations, never below `minMs`, rounded down to a millisecond. */
export function suspicionTimeoutAfter(c: number, k: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs;
  const fraction = Math.log(c + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - fraction * (maxMs - minMs)));
}
