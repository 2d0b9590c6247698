/**
 * The SDK's public option and result types, apart from the client so that
 * its declarations pull in nothing internal (the published SDK ships the
 * declarations of client.ts, this file, retry-policy.ts and what they name).
 */
import type * as grpc from '@grpc/grpc-js';
import type { Consistency, MemberStatus } from '../protocol/index.ts';
import type { RetryPolicy } from './retry-policy.ts';

/** How KV requests travel: pipelined on one Session stream per endpoint, or one unary call each. */
export type Protocol = 'session' | 'unary';

export interface DynamoClientOptions {
  /**
   * Contact points, as `host:port`; one is enough (a Kubernetes client
   * Service, say). The client asks them for the cluster's status, learns
   * every member's address (`discovery`) and sends each key to one of its
   * replicas (`routing`). Until it knows the ring, and whenever none of a
   * key's replicas can be used, any endpoint coordinates (any node serves
   * any key).
   */
  readonly endpoints: readonly string[];
  /** Per-request deadline (ms) unless a call passes its own; default CLIENT_TIMEOUT_MS_DEFAULT. */
  readonly timeoutMs?: number;
  /** Consistency for calls that do not pass one; default: the node's configured default. */
  readonly consistency?: Consistency;
  /**
   * Connect with TLS: trust the cluster's CA (PEM), and present a client
   * certificate if the nodes are given one (optional: nodes ask clients for
   * none). Default plaintext. `credentials` wins over it.
   */
  readonly tls?: TlsOptions;
  /**
   * Bearer token for nodes started with `--auth-token-file`: sent as
   * `authorization: Bearer <token>` on every call. A node that refuses it
   * answers UnauthenticatedError (code DYNAMO_UNAUTHENTICATED), never retried.
   */
  readonly token?: string;
  /** Channel credentials, for what `tls` cannot say; default plaintext (or `tls`). */
  readonly credentials?: grpc.ChannelCredentials;
  /**
   * How get/put/delete travel. 'session' (default): pipelined over one
   * long-lived KV/Session stream per endpoint, many requests per HTTP/2
   * message — several times cheaper per request than 'unary', one gRPC call
   * per request (what any stock gRPC client does; kept for comparison).
   */
  readonly protocol?: Protocol;
  /**
   * How a key picks its endpoint. 'token' (default): to one of the key's
   * replicas (rotating among them), from the ring the cluster reports;
   * 'round-robin': any endpoint.
   */
  readonly routing?: 'token' | 'round-robin';
  /**
   * Connect to every member the cluster reports, not only the contact
   * points (default true), and follow membership changes: members that
   * appear get an endpoint, members that leave are drained and closed.
   * Addresses a node reports as 0.0.0.0 or [::] (no --advertise) are skipped.
   */
  readonly discovery?: boolean;
  /**
   * How often the client re-reads the cluster's status (ring and members);
   * default RING_REFRESH_MS_DEFAULT. It also re-reads it soon (at most once
   * a second) after an endpoint could not be reached.
   */
  readonly ringRefreshMs?: number;
  /** When a failed request is sent again; default `new DefaultRetryPolicy()` (see retry-policy). */
  readonly retryPolicy?: RetryPolicy;
}

/** TLS settings of a client (PEM text or bytes). */
export interface TlsOptions {
  /** CA certificate(s) the nodes' certificates chain to. */
  readonly ca: string | Uint8Array;
  /** Client certificate (with `key`), for clusters that want one from clients too. */
  readonly cert?: string | Uint8Array;
  readonly key?: string | Uint8Array;
  /** Host name to check the node certificates against instead of the endpoint's host (e.g. when dialling by IP). */
  readonly serverName?: string;
}

/** Options every request accepts. */
export interface RequestOptions {
  /** Deadline for this call (ms from now), failover and retries included; default the client's timeoutMs. */
  readonly timeoutMs?: number;
  /** Absolute deadline (a Date or epoch milliseconds); with timeoutMs as well, the earlier one wins. */
  readonly deadline?: Date | number;
  /**
   * Cancels the call: it rejects at once with `signal.reason` (an
   * `AbortError` DOMException unless you passed a reason). A put or delete
   * that had already been sent may still be applied.
   */
  readonly signal?: AbortSignal;
}

/** Options every KV call accepts. */
export interface CallOptions extends RequestOptions {
  readonly consistency?: Consistency;
  /**
   * Count only the key's primary replicas (Riak's pr/pw): no fallback node
   * stands in for a replica that is down, so the call fails UNAVAILABLE
   * instead of succeeding on hints. Default false (sloppy quorum).
   */
  readonly strict?: boolean;
}

/** Options of put and delete: the causal context from an earlier get/put of the same key. */
export interface WriteOptions extends CallOptions {
  /**
   * Context from the last get/put of this key. With it, the write replaces
   * exactly the versions that context saw; without it (or empty) the write
   * becomes a sibling of whatever is stored.
   */
  readonly context?: Uint8Array;
}

export interface GetResult {
  /** Live siblings; more than one means concurrent writes (resolve them with readModifyWrite). */
  readonly values: Uint8Array[];
  /** Opaque causal context covering every version seen; pass it to the next put/delete. */
  readonly context: Uint8Array;
  /** values.length > 0. A deleted key is not found but still has a context. */
  readonly found: boolean;
}

export interface PutResult {
  /** Context of the object after this write, usable for the next put of this key. */
  readonly context: Uint8Array;
}

/** Computes the single value replacing all siblings (empty array when the key does not exist). */
export type SiblingResolver = (siblings: Uint8Array[]) => string | Uint8Array | Promise<string | Uint8Array>;

/** Where a key lives (`locate`; Cassandra's `nodetool getendpoints`). */
export interface KeyLocation {
  /** The node whose view this is. */
  readonly nodeId: string;
  /** The key's ring partition, `floor(murmur3(key) × partitionCount / 2³²)`. */
  readonly partition: number;
  readonly partitionCount: number;
  readonly ringChecksum: number;
  /** The key's preference list: its N replicas, in the order coordinators ask them, with that node's view of each. */
  readonly replicas: readonly MemberStatus[];
}
