/**
 * Token-aware routing, as Cassandra drivers do it: the client learns the
 * ring (partition owners) from a node's Admin status and sends each key
 * straight to one of its replicas, so the node that coordinates is one that
 * stores the key (no forwarding hop, and a read's local copy counts toward R).
 * Dynamo §6.4 measured client-driven coordination halving p99.9.
 *
 * Pure: it holds the last ring it was given and answers "which endpoint
 * indices replicate this key"; the client decides when to refresh it.
 */
import type { NodeStatus } from '../protocol/index.ts';
import { makeRing, partitionOf, preferenceList, type Ring } from '../ring/index.ts';

export class TokenRouter {
  readonly #endpoints: readonly string[];
  #ring: Ring | undefined;
  #replicas = 0;
  /** Node id -> index into endpoints, for members this client can reach. */
  #endpointOf = new Map<string, number>();
  /** Rotates among a key's replicas so load spreads like round-robin. */
  #turn = 0;

  constructor(endpoints: readonly string[]) {
    this.#endpoints = endpoints;
  }

  /** The ring checksum routing uses now (0 when routing is off). */
  get checksum(): number {
    return this.#ring?.checksum ?? 0;
  }

  /**
   * Adopt the ring a node reported. A status from a joining node, or one
   * whose owners do not reproduce its checksum (another ring hash or
   * version), turns routing off rather than sending keys to the wrong nodes.
   * Returns whether routing is on.
   */
  update(status: NodeStatus): boolean {
    const owners = status.partitionOwners;
    if (!status.ready || owners.length !== status.partitionCount || owners.length === 0) return this.#off();
    const members = [...new Set(status.members.map((m) => m.id))].sort();
    const ring = makeRing(status.partitionCount, members, owners);
    if (ring.checksum !== status.ringChecksum) return this.#off();
    const endpointOf = new Map<string, number>();
    for (const m of status.members) {
      const index = this.#endpoints.indexOf(m.address);
      if (index >= 0) endpointOf.set(m.id, index);
    }
    this.#ring = ring;
    this.#replicas = status.replicas;
    this.#endpointOf = endpointOf;
    return true;
  }

  /**
   * Indices of the endpoints that replicate `key`, in preference order,
   * rotated by one on every call; empty when routing is off or none of the
   * key's replicas is among the endpoints.
   */
  replicasOf(key: Uint8Array): number[] {
    const ring = this.#ring;
    if (ring === undefined) return [];
    const out: number[] = [];
    for (const node of preferenceList(ring, partitionOf(key, ring.partitionCount), this.#replicas)) {
      const index = this.#endpointOf.get(node);
      if (index !== undefined) out.push(index);
    }
    if (out.length > 1) {
      const shift = this.#turn++ % out.length;
      return [...out.slice(shift), ...out.slice(0, shift)];
    }
    return out;
  }

  #off(): false {
    this.#ring = undefined;
    this.#endpointOf = new Map();
    return false;
  }
}
