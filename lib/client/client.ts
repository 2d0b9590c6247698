/**
 * DynamoClient: the typed SDK over the KV and Admin gRPC services.
 */
import * as grpc from '@grpc/grpc-js';
import type { Consistency, NodeStatus } from '../protocol/index.ts';
import { CONSISTENCY_LEVELS, isConsistency } from '../protocol/index.ts';
import type { Time, TimerHandle } from '../runtime/index.ts';
import { ClosedError, InvalidArgumentError, RealTime, assert, TimeoutError, UnavailableError } from '../runtime/index.ts';
import { contextBytes, keyBytes, valueBytes } from './bytes.ts';
import { toDynamoError } from './call-errors.ts';
import { Endpoint, type Protocol } from './endpoint.ts';
import type { Schema, StatusResponseObj, UnaryMethod } from './schema.ts';
import { schema } from './schema.ts';
import { TokenRouter } from './token-router.ts';

/** How long a request may take end to end (all failover attempts included) unless overridden. */
export const CLIENT_TIMEOUT_MS_DEFAULT = 5000;

export interface DynamoClientOptions {
  /** Nodes to talk to, as `host:port`. Any node serves any key. */
  readonly endpoints: readonly string[];
  /** Per-request deadline (ms) unless a call passes its own; default CLIENT_TIMEOUT_MS_DEFAULT. */
  readonly timeoutMs?: number;
  /** Consistency for calls that do not pass one; default: the node's configured default. */
  readonly consistency?: Consistency;
  /** Channel credentials; default insecure. The seam for TLS (`grpc.credentials.createSsl(...)`). */
  readonly credentials?: grpc.ChannelCredentials;
  /**
   * How get/put/delete travel. 'session' (default): pipelined over one
   * long-lived KV/Session stream per endpoint, many requests per HTTP/2
   * message — several times cheaper per request than 'unary', one gRPC call
   * per request (what any stock gRPC client does; kept for comparison).
   */
  readonly protocol?: Protocol;
  /**
   * How a key picks its endpoint. 'token' (default): the client learns the
   * ring from a node's Admin status and sends each key to an endpoint that
   * replicates it (round-robin among those), falling back to round-robin
   * until the ring is known; 'round-robin': any endpoint.
   */
  readonly routing?: 'token' | 'round-robin';
  /** How often token routing re-reads the ring; default RING_REFRESH_MS_DEFAULT. */
  readonly ringRefreshMs?: number;
}

/** Default pause between ring refreshes of token routing. */
export const RING_REFRESH_MS_DEFAULT = 30_000;
/** Pause before retrying a ring refresh that failed (no endpoint answered). */
const RING_RETRY_MS = 1_000;

/** Options every KV call accepts. */
export interface CallOptions {
  readonly consistency?: Consistency;
  /** Deadline for this call (ms), failover included. */
  readonly timeoutMs?: number;
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

/**
 * Client of a dynamo cluster. Holds one long-lived gRPC channel per endpoint
 * and on it one Session stream that pipelines the KV requests (requests
 * issued in the same turn share one HTTP/2 message); create one client per
 * process and share it (it is safe for concurrent use), then `close()` it.
 * Requests are spread round-robin over the endpoints; when an endpoint
 * cannot be reached (or answers that it is shutting down) the request moves
 * on to the next one, within the request's deadline. A request that was sent
 * and then lost with its stream may have been applied: a get is retried on
 * the next endpoint, a put/delete rejects with UnavailableError. Errors the
 * cluster answered (too few replicas, invalid argument, ...) are not retried
 * elsewhere — they would fail the same way — and reject with the DynamoError
 * subclass the node raised.
 *
 * Keys and values are `string` (sent as UTF-8) or `Uint8Array`; values come
 * back as `Uint8Array` (see `text()`/`texts()`).
 *
 * @example
 * const client = new DynamoClient({ endpoints: ['127.0.0.1:7001', '127.0.0.1:7002'] });
 * const { context } = await client.put('user:1', 'alice');
 * const got = await client.get('user:1', { consistency: 'QUORUM' });
 * console.log(texts(got.values));            // ['alice']
 * await client.delete('user:1', { context: got.context });
 * client.close();
 */
export class DynamoClient {
  readonly #endpoints: readonly Endpoint[];
  readonly #timeoutMs: number;
  /** Undefined: not sent, so the node applies its default (CONSISTENCY_UNSPECIFIED). */
  readonly #consistencyCode: number | undefined;
  readonly #schema: Schema;
  readonly #credentials: grpc.ChannelCredentials;
  readonly #time: Time = new RealTime();
  #next = 0;
  #closed = false;
  /** Token-aware routing; undefined when routing is round-robin or there is one endpoint. */
  readonly #router: TokenRouter | undefined;
  readonly #ringRefreshMs: number;
  #ringTimer: TimerHandle | undefined;

  constructor(opts: DynamoClientOptions) {
    const endpoints = opts?.endpoints;
    if (!Array.isArray(endpoints) || endpoints.length === 0) {
      throw new InvalidArgumentError('endpoints must be a non-empty array of host:port');
    }
    for (const e of endpoints) checkEndpoint(e);
    this.#schema = schema();
    this.#timeoutMs = checkTimeout(opts.timeoutMs, CLIENT_TIMEOUT_MS_DEFAULT);
    this.#consistencyCode = opts.consistency === undefined ? undefined : consistencyCode(this.#schema, opts.consistency);
    this.#credentials = opts.credentials ?? grpc.credentials.createInsecure();
    const protocol = opts.protocol ?? 'session';
    if (protocol !== 'session' && protocol !== 'unary') {
      throw new InvalidArgumentError(`protocol must be 'session' or 'unary', got ${String(protocol)}`);
    }
    this.#endpoints = endpoints.map((address: string) => new Endpoint(address, this.#credentials, protocol, this.#time));
    const routing = opts.routing ?? 'token';
    if (routing !== 'token' && routing !== 'round-robin') {
      throw new InvalidArgumentError(`routing must be 'token' or 'round-robin', got ${String(routing)}`);
    }
    this.#ringRefreshMs = checkTimeout(opts.ringRefreshMs, RING_REFRESH_MS_DEFAULT);
    if (routing === 'token' && endpoints.length > 1) {
      this.#router = new TokenRouter(endpoints);
      this.#ringTimer = this.#time.setTimer(0, () => void this.#refreshRing());
    }
  }

  /** Ring checksum token routing uses (0 while it routes round-robin). */
  get routingRing(): number {
    return this.#router?.checksum ?? 0;
  }

  /** Re-read the ring from the first endpoint that answers, then schedule the next refresh. */
  async #refreshRing(): Promise<void> {
    this.#ringTimer = undefined;
    const router = this.#router!;
    let learned = false;
    for (const e of this.#endpoints) {
      if (this.#closed) return;
      try {
        router.update(await this.status(e.address, { timeoutMs: 2000 }));
        learned = true;
        break;
      } catch {
        // try the next endpoint; routing stays as it was meanwhile
      }
    }
    if (this.#closed) return;
    this.#ringTimer = this.#time.setTimer(learned ? this.#ringRefreshMs : Math.min(RING_RETRY_MS, this.#ringRefreshMs), () => void this.#refreshRing());
  }

  /** The configured endpoints, in order (the indices `route` returns). */
  get endpoints(): readonly string[] {
    return this.#endpoints.map((e) => e.address);
  }

  /** Read every live sibling of `key` and one context covering them. */
  async get(key: string | Uint8Array, opts?: CallOptions): Promise<GetResult> {
    const deadlineMs = this.#deadline(opts?.timeoutMs);
    return this.#get(keyBytes(key), this.#consistency(opts?.consistency), deadlineMs);
  }

  /**
   * Write `value`. Pass the context of the get you based it on so it replaces
   * what you read; without a context it is added as a sibling.
   */
  async put(key: string | Uint8Array, value: string | Uint8Array, opts?: WriteOptions): Promise<PutResult> {
    const deadlineMs = this.#deadline(opts?.timeoutMs);
    const k = keyBytes(key);
    return this.#put(k, valueBytes(value), contextBytes(opts?.context), this.#consistency(opts?.consistency), deadlineMs);
  }

  /** Delete (writes a tombstone covering `opts.context`; concurrent writes it did not see survive as siblings). */
  async delete(key: string | Uint8Array, opts?: WriteOptions): Promise<void> {
    const deadlineMs = this.#deadline(opts?.timeoutMs);
    const k = keyBytes(key);
    const req = { key: k, context: contextBytes(opts?.context), consistency: this.#consistency(opts?.consistency) };
    await this.#call(this.#schema.delete, req, k, deadlineMs);
  }

  /**
   * Get `key`, compute one value from its siblings with `update`, and put it
   * with the get's context — so the write supersedes exactly the siblings
   * `update` saw. This is how siblings (concurrent writes) are resolved.
   * `update` gets an empty array when the key does not exist. One deadline
   * (`opts.timeoutMs`) covers both round trips; `opts.consistency` applies to both.
   * A write concurrent with this one is not lost: it survives as a sibling
   * for the next readModifyWrite to merge.
   *
   * @example
   * // Shopping cart kept as a comma-separated set: merge by union.
   * await client.readModifyWrite('cart:42', (siblings) => {
   *   const items = new Set<string>();
   *   for (const s of siblings) for (const i of text(s).split(',')) if (i) items.add(i);
   *   items.add('book');
   *   return [...items].sort().join(',');
   * });
   */
  async readModifyWrite(key: string | Uint8Array, update: SiblingResolver, opts?: CallOptions): Promise<PutResult> {
    const deadlineMs = this.#deadline(opts?.timeoutMs);
    const k = keyBytes(key);
    const consistency = this.#consistency(opts?.consistency);
    if (typeof update !== 'function') throw new InvalidArgumentError('update must be a function');
    const read = await this.#get(k, consistency, deadlineMs);
    const value = valueBytes(await update(read.values));
    return this.#put(k, value, contextBytes(read.context), consistency, deadlineMs);
  }

  /**
   * A node's view of the cluster (Admin.Status). With `endpoint`, asks that
   * node (it need not be one of the configured endpoints); otherwise any
   * reachable configured endpoint.
   */
  async status(endpoint?: string, opts?: { readonly timeoutMs?: number }): Promise<NodeStatus> {
    const deadlineMs = this.#deadline(opts?.timeoutMs);
    const method = this.#schema.status;
    if (endpoint === undefined) return toNodeStatus(await this.#call(method, {}, undefined, deadlineMs));
    const known = this.#endpoints.find((e) => e.address === endpoint);
    const target = known ?? new Endpoint(checkEndpoint(endpoint), this.#credentials, 'unary', this.#time);
    try {
      return toNodeStatus(await target.call(method, {}, deadlineMs));
    } catch (e) {
      throw this.#closed ? closedError() : toDynamoError(e, endpoint);
    } finally {
      if (known === undefined) target.close();
    }
  }

  /** Close every Session and channel. Calls made afterwards, and calls cut off by the close, reject with ClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ringTimer !== undefined) this.#time.cancelTimer(this.#ringTimer);
    this.#ringTimer = undefined;
    for (const e of this.#endpoints) e.close();
  }

  /**
   * Index of the endpoint to try first for `key` (undefined for keyless calls);
   * failover proceeds through the following indices, wrapping. Default:
   * round-robin over the endpoints that are connected or idle. The seam for
   * token-aware routing (send each key straight to one of its replicas).
   */
  protected route(key: Uint8Array | undefined): number {
    if (key !== undefined && this.#router !== undefined) {
      for (const index of this.#router.replicasOf(key)) if (this.#endpoints[index]!.preferred()) return index;
    }
    const n = this.#endpoints.length;
    const start = this.#next;
    for (let i = 0; i < n; i++) {
      const index = (start + i) % n;
      if (this.#endpoints[index]!.preferred()) {
        this.#next = (index + 1) % n;
        return index;
      }
    }
    this.#next = (start + 1) % n;
    return start;
  }


  async #get(key: Uint8Array, consistency: number | undefined, deadlineMs: number): Promise<GetResult> {
    const res = await this.#call(this.#schema.get, { key, consistency }, key, deadlineMs);
    // Absent fields decode as protobufjs's shared defaults: hand out our own array, and real bytes.
    const values = res.values.length > 0 ? res.values : [];
    return { values, context: bytesOrEmpty(res.context), found: values.length > 0 };
  }

  async #put(
    key: Uint8Array,
    value: Uint8Array,
    context: Uint8Array | undefined,
    consistency: number | undefined,
    deadlineMs: number,
  ): Promise<PutResult> {
    const res = await this.#call(this.#schema.put, { key, value, context, consistency }, key, deadlineMs);
    return { context: bytesOrEmpty(res.context) };
  }

  /** One request with failover on connection failures, bounded by `deadlineMs`. */
  async #call<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, key: Uint8Array | undefined, deadlineMs: number): Promise<Res> {
    if (this.#closed) throw closedError();
    const n = this.#endpoints.length;
    const first = this.route(key);
    assert(Number.isInteger(first) && first >= 0 && first < n, `route() returned ${first} for ${n} endpoints`);
    let lastFailure: Error | undefined;
    for (let i = 0; i < n; i++) {
      const endpoint = this.#endpoints[(first + i) % n]!;
      if (this.#time.nowMs() >= deadlineMs) break;
      const attempt = await endpoint.attempt(method, req, deadlineMs);
      if (attempt.ok) return attempt.value;
      if (this.#closed) throw closedError();
      if (!attempt.error.failOver) throw attempt.error.error;
      lastFailure = attempt.error.error;
    }
    if (lastFailure === undefined || this.#time.nowMs() >= deadlineMs) {
      throw new TimeoutError('deadline passed before any endpoint answered', { answered: 0, required: 0 }, { cause: lastFailure });
    }
    const tried = this.#endpoints.map((e) => e.address).join(', ');
    const detail = lastFailure.message;
    throw new UnavailableError(`no endpoint could serve the request (tried ${tried}): ${detail}`, { answered: 0, required: 0 }, { cause: lastFailure });
  }

  #deadline(timeoutMs: number | undefined): number {
    if (this.#closed) throw closedError();
    return this.#time.nowMs() + checkTimeout(timeoutMs, this.#timeoutMs);
  }

  #consistency(name: Consistency | undefined): number | undefined {
    return name === undefined ? this.#consistencyCode : consistencyCode(this.#schema, name);
  }
}

const EMPTY = new Uint8Array(0);

/** protobufjs decodes an absent bytes field as a plain empty array, not a Uint8Array. */
function bytesOrEmpty(bytes: Uint8Array): Uint8Array {
  return bytes instanceof Uint8Array ? bytes : EMPTY;
}

function checkEndpoint(endpoint: unknown): string {
  if (typeof endpoint !== 'string' || !/^[^\s]+:\d{1,5}$/.test(endpoint)) {
    throw new InvalidArgumentError(`endpoint '${String(endpoint)}' is not host:port`);
  }
  return endpoint;
}

function consistencyCode(s: Schema, name: Consistency): number {
  if (typeof name !== 'string' || !isConsistency(name)) {
    throw new InvalidArgumentError(`unknown consistency '${String(name)}'; use one of ${CONSISTENCY_LEVELS.join(', ')}`);
  }
  return s.consistencyCode[name];
}

function checkTimeout(timeoutMs: number | undefined, fallback: number): number {
  if (timeoutMs === undefined) return fallback;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

function closedError(): ClosedError {
  return new ClosedError('client is closed');
}

function toNodeStatus(s: StatusResponseObj): NodeStatus {
  return {
    nodeId: s.nodeId,
    members: s.members.map((m) => ({
      id: m.id,
      address: m.address,
      reachable: m.reachable,
      partitionsOwned: m.partitionsOwned,
      self: m.self,
    })),
    partitionCount: s.partitionCount,
    replicas: s.replicas,
    engine: s.engine,
    ready: s.ready,
    readRepairs: s.readRepairs,
    gets: s.gets,
    puts: s.puts,
    deletes: s.deletes,
    ringChecksum: s.ringChecksum,
    partitionOwners: s.partitionOwners ?? [],
  };
}
