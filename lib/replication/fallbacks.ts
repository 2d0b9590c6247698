/**
 * Stand-ins for a request's replicas that are down or fail (Dynamo §4.6,
 * sloppy quorum): the next nodes clockwise past the key's replicas that are
 * believed up, each used once per request. Pure: the ring and liveness come
 * from the cluster view.
 */
import type { NodeId } from '../protocol/index.ts';
import { fallbackNodes } from '../ring/index.ts';
import type { ClusterView } from './types.ts';
import { SLOT_PENDING, type Round } from './round.ts';

export class Fallbacks {
  readonly #view: ClusterView;
  readonly #partition: number;
  readonly #used: Set<NodeId>;
  #selfFirst: boolean;

  /**
   * `exclude`: the request's replicas. This node stands in only when
   * `selfFirst` is set (a coordinator that is not a replica reads the hints
   * it holds itself before asking others).
   */
  constructor(view: ClusterView, partition: number, exclude: readonly NodeId[], selfFirst = false) {
    this.#view = view;
    this.#partition = partition;
    this.#used = new Set([...exclude, view.self]);
    this.#selfFirst = selfFirst && !exclude.includes(view.self);
  }

  /** The next stand-in, or undefined when no up node is left. */
  next(): NodeId | undefined {
    if (this.#selfFirst) {
      this.#selfFirst = false;
      return this.#view.self;
    }
    const [node] = fallbackNodes(this.#view.ring, this.#partition, [...this.#used], 1, (id) => this.#view.isUp(id));
    if (node !== undefined) this.#used.add(node);
    return node;
  }

  /** How many stand-ins are left now (at most `max`), without using them. */
  available(max: number): number {
    const others = fallbackNodes(this.#view.ring, this.#partition, [...this.#used], max, (id) => this.#view.isUp(id)).length;
    return Math.min(max, others + (this.#selfFirst ? 1 : 0));
  }
}

/**
 * Where each slot of a write round sends its copy: the slot's replica, or —
 * once that replica is down or failed — the next fallback, with a hint naming
 * the replica. The slot still counts as the replica's (Dynamo's sloppy
 * quorum: hints count toward W); it fails once no stand-in is left, or at
 * once without fallbacks (a strict request, or hinted handoff off).
 */
export class SloppySlots {
  readonly round: Round;
  /** Slot i's copy goes to targets[i]. */
  readonly targets: NodeId[];
  /** The replica slot i's copy is a hint for; undefined while it goes to the replica itself. */
  readonly hintFor: (NodeId | undefined)[];
  readonly #fallbacks: Fallbacks | undefined;

  constructor(round: Round, nodes: readonly NodeId[], fallbacks: Fallbacks | undefined) {
    this.round = round;
    this.targets = [...nodes];
    this.hintFor = new Array<NodeId | undefined>(nodes.length).fill(undefined);
    this.#fallbacks = fallbacks;
  }

  /** Slot i's target is down or failed: true if it moved to a fallback, else the slot is failed with `error`. */
  standIn(i: number, error: unknown): boolean {
    if (this.#fallbacks !== undefined && this.round.states[i] === SLOT_PENDING) {
      const node = this.#fallbacks.next();
      if (node !== undefined) {
        this.targets[i] = node;
        this.hintFor[i] ??= this.round.nodes[i];
        return true;
      }
    }
    this.round.fail(i, error);
    return false;
  }

  /** Slot i is served by this node itself as a fallback for its replica (the fallback coordinator keeps a hint). */
  keepHere(i: number, self: NodeId): void {
    this.targets[i] = self;
    this.hintFor[i] = this.round.nodes[i];
  }
}
