/**
 * Local health awareness (Lifeguard §IV.A, memberlist awareness.go): a node
 * that misses acks or nacks it should have received, or has to refute
 * suspicions about itself, is probably the slow one (CPU, GC, a bad link).
 * It then probes more slowly and waits longer, instead of accusing healthy
 * peers. The score lives in 0..max-1 and scales probe interval and timeout by
 * score + 1.
 */
export class Awareness {
  readonly #max: number;
  #score = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get score(): number {
    return this.#score;
  }

  /** Add `delta` (negative after a good probe), clamped to 0..max-1. */
  apply(delta: number): void {
    this.#score = Math.min(this.#max - 1, Math.max(0, this.#score + delta));
  }

  /** `ms` scaled by the current score. */
  scale(ms: number): number {
    return ms * (this.#score + 1);
  }
}
