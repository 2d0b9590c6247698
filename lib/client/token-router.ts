/**
 * Token-aware routing, as Cassandra drivers do it: the client learns the
 * ring (partition owners) and every member's address from one node's Admin
 * status, and sends each key straight to one of its replicas, so the node
 * that coordinates is one that stores the key (no forwarding hop, and a
 * read's local copy counts toward R). Dynamo §6.4 measured client-driven
 * coordination halving p99.9. One contact point is enough: the members'
 * addresses come from the cluster, not from the client's configuration.
 *
 * Pure: it holds the last ring it was given and answers "which addresses
 * replicate this key"; the client decides when to refresh it and which
 * endpoints to connect.
 */
import type { Address, MemberStatus, NodeId, NodeStatus } from '../protocol/index.ts';
import { makeRing, partitionOf, preferenceList, type Ring } from '../ring/index.ts';

/**
 * The ring a status describes, or undefined when it describes none this
 * client can trust: a joining node (no owners yet), or owners that do not
 * reproduce the node's checksum (another ring hash or version).
 */
export function ringOf(status: NodeStatus): Ring | undefined {
  const owners = status.partitionOwners;
  if (!status.ready || owners.length === 0 || owners.length !== status.partitionCount) return undefined;
  const members = [...new Set(status.members.map((m) => m.id))].sort();
  const zoneOf = new Map(status.members.map((m) => [m.id, m.zone ?? '']));
  const ring = makeRing(status.partitionCount, members, owners, members.map((id) => zoneOf.get(id) ?? ''));
  return ring.checksum === status.ringChecksum ? ring : undefined;
}

/**
 * Whether a client elsewhere can dial `address`: not an unspecified host
 * (a node listening on 0.0.0.0 without --advertise reports that, and
 * dialling it would reach the client's own machine).
 */
export function routable(address: Address): boolean {
  return !/^(0\.0\.0\.0|\[::\]):\d+$/.test(address);
}

/** Where one key lives, as a status describes it. */
export interface KeyPlacement {
  readonly partition: number;
  /** The key's preference list: its N replicas in the order coordinators ask them. */
  readonly replicas: readonly MemberStatus[];
}

/** The partition and preference list of `key` under `status`'s ring (undefined as for ringOf). */
export function placementOf(status: NodeStatus, key: Uint8Array): KeyPlacement | undefined {
  const ring = ringOf(status);
  if (ring === undefined) return undefined;
  const partition = partitionOf(key, ring.partitionCount);
  const byId = new Map(status.members.map((m) => [m.id, m]));
  const replicas = preferenceList(ring, partition, status.replicas).map(
    (id) => byId.get(id) ?? { id, address: '', reachable: false, partitionsOwned: 0, self: false },
  );
  return { partition, replicas };
}

export class TokenRouter {
  #ring: Ring | undefined;
  #replicas = 0;
  /** Node id -> address clients dial, for routable members. */
  #addressOf = new Map<NodeId, Address>();
  #members: readonly Address[] = [];

  /** The ring checksum routing uses now (0 when routing is off). */
  get checksum(): number {
    return this.#ring?.checksum ?? 0;
  }

  /** Routable addresses of every member of the last ring adopted (empty when routing is off). */
  get members(): readonly Address[] {
    return this.#members;
  }

  /** Adopt the ring a node reported; a status describing no trustworthy ring turns routing off. Returns whether routing is on. */
  update(status: NodeStatus): boolean {
    const ring = ringOf(status);
    if (ring === undefined) {
      this.#ring = undefined;
      this.#addressOf = new Map();
      this.#members = [];
      return false;
    }
    const addressOf = new Map<NodeId, Address>();
    for (const m of status.members) if (routable(m.address)) addressOf.set(m.id, m.address);
    this.#ring = ring;
    this.#replicas = status.replicas;
    this.#addressOf = addressOf;
    this.#members = [...new Set(addressOf.values())];
    return true;
  }

  /**
   * Addresses of the members that replicate `key`, in preference order;
   * empty when routing is off. A replica without a routable address is left out.
   */
  replicasOf(key: Uint8Array): Address[] {
    const ring = this.#ring;
    if (ring === undefined) return [];
    const out: Address[] = [];
    for (const node of preferenceList(ring, partitionOf(key, ring.partitionCount), this.#replicas)) {
      const address = this.#addressOf.get(node);
      if (address !== undefined) out.push(address);
    }
    return out;
  }
}
