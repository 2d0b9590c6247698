/**
 * The actor this node mints new versions (dots) under, and the rule that
 * keeps every dot unique: an actor lives exactly as long as this node can
 * prove it remembers every dot it issued.
 *
 * A dot (actor, n) must name one value forever. A node that issued (a, 5) for
 * a key and then forgot it — its local write failed after the record was
 * fanned out, the process died before the write landed, power loss dropped
 * the unsynced log tail, a data directory was restored from a snapshot, a
 * record was found corrupt — would issue (a, 5) again for another value;
 * replicas merging the two keep only one, and one acknowledged write is gone
 * for good with no trace (Riak's kv679). Riak answers with a new vnode id
 * after an unclean shutdown plus counter leases; we take the simpler rule
 * that needs no shutdown detection at all:
 *
 * - every process life mints a fresh random epoch (`${nodeId}.${epoch}`), so
 *   nothing a restart, a crash at any instant, tail loss or a restored
 *   directory can forget is ever reissued: the old actor never mints again;
 * - within a life, the local copy of a key always holds every dot this actor
 *   issued for it (the next writer of the key builds on the last write
 *   issued, landed or not), except when a local write fails or a record must
 *   be set aside — then the actor is retired on the spot and a new epoch
 *   takes over before any writer of the key can read the older stored copy
 *   again (replica.ts: the failed write's pending state is dropped only
 *   after the retirement).
 *
 * The price is one more actor entry in the clocks of keys written after each
 * restart (about 30 bytes per key and life); anti-entropy may later prune
 * entries of retired actors that every replica holds with no live values.
 */
import type { Logger, Random } from '../runtime/index.ts';
import { actorFor, type Actor } from '../vclock/index.ts';

/** Random bytes in an epoch: 64 bits make two lives of one node sharing an epoch negligible. */
export const EPOCH_BYTES = 8;

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Hands out the current minting actor and retires it when a dot it issued may be forgotten. */
export class ActorEpochs {
  readonly #nodeId: string;
  readonly #random: Random;
  readonly #logger: Logger;
  #current: Actor;
  #retired = 0;

  readonly #mintEpoch: () => string;

  /**
   * Mints the first epoch of this life: EPOCH_BYTES from `random` as hex,
   * unless `mintEpoch` names epochs (tests that want readable actors).
   */
  constructor(nodeId: string, random: Random, logger: Logger, mintEpoch?: () => string) {
    this.#nodeId = nodeId;
    this.#random = random;
    this.#logger = logger;
    this.#mintEpoch = mintEpoch ?? (() => hex(this.#random.bytes(EPOCH_BYTES)));
    this.#current = this.#mint();
  }

  /** The actor new dots are minted under now. */
  current(): Actor {
    return this.#current;
  }

  /** Actors retired during this life (local write failures, set-aside records). */
  get retired(): number {
    return this.#retired;
  }

  /**
   * `actor` may have issued a dot this node no longer holds: never mint under
   * it again. A no-op if it was already replaced, so a burst of failures of
   * one batch retires it once.
   */
  retire(actor: Actor, reason: string): void {
    if (actor !== this.#current) return;
    this.#retired++;
    this.#current = this.#mint();
    this.#logger.warn('retired the minting actor; new versions use a fresh epoch', { retired: actor, actor: this.#current, reason });
  }

  #mint(): Actor {
    return actorFor(this.#nodeId, this.#mintEpoch());
  }
}
