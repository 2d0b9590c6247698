/**
 * Digest reads (Cassandra's): of the replicas a read asks, one — the
 * coordinator's own copy — is read whole, and the others are asked only for
 * the version digest of theirs (the 64-bit fingerprint anti-entropy's trees
 * hash). A digest equal to the whole copy's stands for that copy: a dot names
 * one value forever, so replicas with equal digests hold equal objects. A
 * digest that differs, or one that arrives after the whole read failed, is
 * read whole after all, so read repair still sees every divergent copy.
 *
 * The saving is the bytes: a read of a 64 KiB value moves one copy through
 * the peer transport instead of R - 1. This class is the bookkeeping only (no
 * I/O): the coordinator sends the requests and feeds the replies in.
 */

/** What to do with a digest reply. */
export type DigestVerdict = 'same' | 'differs' | 'wait';

export class DigestReads<T> {
  /** The slot read whole: the coordinator's own replica. */
  readonly dataSlot: number;
  readonly #digestOf: (obj: T) => bigint;
  #state: 'pending' | 'read' | 'failed' = 'pending';
  #object: T | undefined;
  #digest: bigint | undefined;
  /** Digest replies that came before the whole read finished: slot -> digest. */
  readonly #early = new Map<number, bigint>();

  /** `digestOf` must give 0 for an absent object as for the empty one (ABSENT_DIGEST). */
  constructor(dataSlot: number, digestOf: (obj: T) => bigint) {
    this.dataSlot = dataSlot;
    this.#digestOf = digestOf;
  }

  /** Whether slot `i` may be asked for a digest rather than its copy. */
  mayAsk(i: number): boolean {
    return i !== this.dataSlot && this.#state !== 'failed';
  }

  /** The whole copy, once read (undefined: the replica holds nothing). */
  get object(): T | undefined {
    return this.#object;
  }

  /** Slot `i` answered a digest read. 'wait' parks it until the whole read finishes. */
  digestReply(i: number, digest: bigint): DigestVerdict {
    if (this.#state === 'failed') return 'differs';
    if (this.#state === 'pending') {
      this.#early.set(i, digest);
      return 'wait';
    }
    return digest === this.#wholeDigest() ? 'same' : 'differs';
  }

  /** The whole read finished: the verdicts of the digest replies parked meanwhile. */
  wholeRead(obj: T | undefined): Array<[slot: number, verdict: 'same' | 'differs']> {
    if (this.#state !== 'pending') return [];
    this.#state = 'read';
    this.#object = obj;
    const out: Array<[number, 'same' | 'differs']> = [];
    for (const [slot, digest] of this.#early) out.push([slot, digest === this.#wholeDigest() ? 'same' : 'differs']);
    this.#early.clear();
    return out;
  }

  /** The whole read failed: the parked slots, each to be read whole. Later digest replies are answered 'differs'. */
  wholeFailed(): number[] {
    if (this.#state !== 'pending') return [];
    this.#state = 'failed';
    const out = [...this.#early.keys()];
    this.#early.clear();
    return out;
  }

  #wholeDigest(): bigint {
    // Computed once, on the first digest reply (a read of ONE never needs it).
    this.#digest ??= this.#object === undefined ? 0n : this.#digestOf(this.#object);
    return this.#digest;
  }
}
