/**
 * Correlation ids of a pipelined stream (peer envelopes, Session requests):
 * uint32, increasing and wrapping at 2^32, never 0 (0 is "absent" on the wire,
 * and a Session's id 0 carries the node's notices), never one still in flight.
 */

/** Hands out the ids of one stream's requesters. */
export class CorrelationIds {
  #last = 0;

  /** The next id after the last one handed out that `inUse` does not hold. */
  next(inUse: { has(id: number): boolean }): number {
    let id: number;
    do {
      this.#last = (this.#last + 1) >>> 0;
      id = this.#last;
    } while (id === 0 || inUse.has(id));
    return id;
  }
}
