/**
 * Metrics as a port: the events a node counts and times, named by what
 * happened, not by how a metrics library records it. lib/ code calls these
 * methods (or is handed `noopMetrics` and calls nothing that costs); the
 * Prometheus implementation lives at the edge (lib/metrics, prom-client),
 * so pure modules, the simulator and the SDK never load a metrics library.
 *
 * Contract for implementations: every method is called on the request path
 * or from background work, synchronously, and must neither throw nor block;
 * label values are bounded by construction (operation names, consistency
 * levels, gRPC status code names, peer addresses of cluster members).
 * Durations are in seconds (Prometheus base units).
 *
 * What a node can report without an event — counters it already keeps
 * (read repairs, the safety counters), members by state, storage size — is
 * read when metrics are collected (lib/metrics `StatusSource`), not pushed.
 */

/** A client KV operation. */
export type KvOperationName = 'get' | 'put' | 'delete';

export interface Metrics {
  /**
   * A client request finished (unary or on a Session stream): its operation,
   * consistency level (the node's default when the request named none),
   * outcome as a gRPC status code name ('OK', 'UNAVAILABLE', 'DEADLINE_EXCEEDED', ...)
   * and how long the node took, in seconds.
   */
  request(op: KvOperationName, consistency: string, code: string, seconds: number): void;
  /** A successful get returned `count` live siblings (0 for a missing or deleted key). */
  siblingsReturned(count: number): void;
  /** A request to another node (`op`: the peer request type) finished, successfully or not, after `seconds`. */
  replicaRpc(peer: string, op: string, seconds: number): void;
  /** A hint was stored for a replica that could not take a write (hinted handoff). */
  hintStored(): void;
  /** A stored hint was delivered to its replica. */
  hintDelivered(): void;
  /** A hint was dropped (queue bound, age bound, or its replica left the ring). */
  hintDropped(): void;
  /** Anti-entropy repaired `keys` keys on this node. */
  antiEntropyRepaired(keys: number): void;
}

/** Counts nothing; the default wherever no metrics are wanted (tests, simulator). */
export const noopMetrics: Metrics = {
  request() {},
  siblingsReturned() {},
  replicaRpc() {},
  hintStored() {},
  hintDelivered() {},
  hintDropped() {},
  antiEntropyRepaired() {},
};
