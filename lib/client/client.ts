/**
 * DynamoClient: the typed SDK over the KV and Admin gRPC services (reads,
 * writes, and the operator calls: status, ring, join, decommission, remove).
 *
 * Endpoints: the contact points the application configured, plus (with
 * discovery) every member the cluster's Admin status names, re-read every
 * `ringRefreshMs` and soon after an endpoint could not be reached. Each
 * request gets a plan — the key's replicas first (token-aware routing,
 * rotating among them), then every other endpoint — and walks it: a request
 * that provably never reached a node moves on to the next endpoint; one
 * that failed at a node moves on only when the RetryPolicy says so; the
 * deadline and the caller's AbortSignal end the walk.
 */
import * as grpc from '@grpc/grpc-js';
import type { Consistency, NodeStatus, RepairStatus, RingStatus } from '../protocol/index.ts';
import { CONSISTENCY_LEVELS, isConsistency } from '../protocol/index.ts';
import type { Time, TimerHandle } from '../runtime/index.ts';
import { ClosedError, DynamoError, InvalidArgumentError, RealTime, TimeoutError, UnavailableError } from '../runtime/index.ts';
import { contextBytes, keyBytes, valueBytes } from './bytes.ts';
import { markMaybeApplied, toDynamoError } from './call-errors.ts';
import { channelOptions, tlsCredentials } from './credentials.ts';
import { Endpoint } from './endpoint.ts';
import type {
  CallOptions,
  DynamoClientOptions,
  GetResult,
  KeyLocation,
  Protocol,
  PutResult,
  RequestOptions,
  SiblingResolver,
  WriteOptions,
} from './options.ts';
import { DefaultRetryPolicy, type RequestOp, type RetryPolicy } from './retry-policy.ts';
import type { Level, Schema, UnaryMethod } from './schema.ts';
import { schema } from './schema.ts';
import { placementOf, TokenRouter } from './token-router.ts';

/** How long a request may take end to end (all failover attempts included) unless overridden. */
export const CLIENT_TIMEOUT_MS_DEFAULT = 5000;
/** Default pause between re-reads of the cluster's status (ring and members). */
export const RING_REFRESH_MS_DEFAULT = 30_000;
/** Most keys one getMany may ask for (split larger pages). */
export const GET_MANY_KEYS_MAX = 1000;
/** Shortest pause between two status re-reads (after a failed one, or one prompted by an unreachable endpoint). */
const RING_RETRY_MS = 1_000;
/** Deadline of the client's own status requests. */
const STATUS_TIMEOUT_MS = 2_000;

const ZERO = { answered: 0, required: 0 };

/** One request's deadline (wall clock) and cancellation. */
interface RequestContext {
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
}

/**
 * Client of a dynamo cluster. Create one per process and share it (it is
 * safe for concurrent use), then `await close()`. It holds one long-lived
 * gRPC channel per endpoint and on it one Session stream that pipelines the
 * KV requests (requests issued in the same turn share one HTTP/2 message).
 *
 * Given one contact point it learns every member and sends each key to one
 * of its replicas. A request that could not reach a node goes to the next
 * endpoint; one that failed at a node is retried per the RetryPolicy — by
 * default a read on another replica, a write only when the error proves it
 * was not applied (`maybeApplied === false`). Every failure is a DynamoError
 * subclass with a stable `code`; for a failed write, `maybeApplied` says
 * whether it may have been stored anyway.
 *
 * Keys and values are `string` (sent as UTF-8) or `Uint8Array`; values come
 * back as `Uint8Array` (see `text()`/`texts()`).
 *
 * @example
 * const client = new DynamoClient({ endpoints: ['127.0.0.1:7001'] });
 * const { context } = await client.put('user:1', 'alice');
 * const got = await client.get('user:1', { consistency: 'QUORUM' });
 * console.log(texts(got.values));            // ['alice']
 * await client.delete('user:1', { context: got.context });
 * await client.close();
 */
export class DynamoClient {
  readonly #contactPoints: readonly string[];
  /** Every endpoint by address: the contact points first, then discovered members. */
  readonly #endpoints = new Map<string, Endpoint>();
  /** #endpoints' values, in order (rebuilt when membership changes). */
  #list: Endpoint[] = [];
  /** Endpoints of members that left, draining; close() waits for them. */
  readonly #retiring = new Set<Promise<void>>();
  readonly #timeoutMs: number;
  /** Undefined: not sent, so the node applies its default (CONSISTENCY_UNSPECIFIED). */
  readonly #consistencyCode: number | undefined;
  readonly #schema: Schema;
  readonly #credentials: grpc.ChannelCredentials;
  /** Channel options beyond the defaults: the token interceptor, a TLS server name. */
  readonly #channel: grpc.ClientOptions;
  readonly #protocol: Protocol;
  readonly #retry: RetryPolicy;
  readonly #time: Time = new RealTime();
  /** Public calls not settled yet (each entry never rejects); close() waits for them. */
  readonly #inflight = new Set<Promise<void>>();
  #next = 0;
  #turn = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Aborts the client's own status requests on close. */
  readonly #internal = new AbortController();
  /** The last ring and members the cluster reported. */
  readonly #router = new TokenRouter();
  readonly #tokenRouting: boolean;
  readonly #discovery: boolean;
  readonly #ringRefreshMs: number;
  #refreshTimer: TimerHandle | undefined;
  #refreshAtMs = 0;
  #refreshing = false;
  #lastRefreshMs = Number.NEGATIVE_INFINITY;
  /** The endpoint whose status was adopted last: asked first next time. */
  #lastAnswered: string | undefined;

  constructor(opts: DynamoClientOptions) {
    const endpoints = opts?.endpoints;
    if (!Array.isArray(endpoints) || endpoints.length === 0) {
      throw new InvalidArgumentError('endpoints must be a non-empty array of host:port');
    }
    for (const e of endpoints) checkEndpoint(e);
    this.#schema = schema();
    this.#timeoutMs = checkTimeout(opts.timeoutMs, CLIENT_TIMEOUT_MS_DEFAULT);
    this.#consistencyCode = opts.consistency === undefined ? undefined : consistencyCode(this.#schema, opts.consistency);
    this.#credentials = opts.credentials ?? tlsCredentials(opts.tls);
    this.#channel = channelOptions(opts.tls, opts.token);
    const protocol = opts.protocol ?? 'session';
    if (protocol !== 'session' && protocol !== 'unary') {
      throw new InvalidArgumentError(`protocol must be 'session' or 'unary', got ${String(protocol)}`);
    }
    this.#protocol = protocol;
    const routing = opts.routing ?? 'token';
    if (routing !== 'token' && routing !== 'round-robin') {
      throw new InvalidArgumentError(`routing must be 'token' or 'round-robin', got ${String(routing)}`);
    }
    this.#tokenRouting = routing === 'token';
    this.#discovery = opts.discovery ?? true;
    if (typeof this.#discovery !== 'boolean') throw new InvalidArgumentError(`discovery must be a boolean, got ${String(opts.discovery)}`);
    const retry = opts.retryPolicy ?? new DefaultRetryPolicy();
    if (typeof retry?.shouldRetry !== 'function') throw new InvalidArgumentError('retryPolicy must have a shouldRetry(input) method');
    this.#retry = retry;
    this.#ringRefreshMs = checkTimeout(opts.ringRefreshMs, RING_REFRESH_MS_DEFAULT);
    this.#contactPoints = [...new Set(endpoints)];
    for (const address of this.#contactPoints) this.#endpoints.set(address, this.#newEndpoint(address));
    this.#list = [...this.#endpoints.values()];
    if (this.#refreshes) this.#scheduleRefresh(0);
  }

  /** Ring checksum token routing uses (0 while it routes round-robin). */
  get routingRing(): number {
    return this.#tokenRouting ? this.#router.checksum : 0;
  }

  /** Addresses of every endpoint the client uses now: the contact points, then the members it discovered. */
  get endpoints(): readonly string[] {
    return this.#list.map((e) => e.address);
  }

  /** Read every live sibling of `key` and one context covering them. */
  get(key: string | Uint8Array, opts?: CallOptions): Promise<GetResult> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      const k = keyBytes(key);
      return this.#get(k, this.#level(opts), ctx, this.plan(k));
    });
  }

  /**
   * Read many keys at once — a page of keys — in one round trip per replica
   * set rather than one per key: keys are grouped by the replicas that hold
   * them, each group goes to one of its replicas, and each endpoint's gets
   * travel together on its Session stream. Results come in the order of
   * `keys` (a key asked twice is read once). Rejects with the first failure
   * (after that key's own failover and retries); at most GET_MANY_KEYS_MAX keys.
   */
  getMany(keys: readonly (string | Uint8Array)[], opts?: CallOptions): Promise<GetResult[]> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      if (!Array.isArray(keys)) throw new InvalidArgumentError('keys must be an array of strings or Uint8Arrays');
      if (keys.length > GET_MANY_KEYS_MAX) throw new InvalidArgumentError(`getMany takes at most ${GET_MANY_KEYS_MAX} keys, got ${keys.length}`);
      const level = this.#level(opts);
      const bytes = keys.map(keyBytes);
      const plans = new Map<string, readonly string[]>();
      const reads = new Map<string, Promise<GetResult>>();
      const results = bytes.map((k) => {
        const id = Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');
        let read = reads.get(id);
        if (read === undefined) {
          const group = this.#replicaSet(k);
          let plan = plans.get(group);
          if (plan === undefined) {
            plan = this.plan(k);
            plans.set(group, plan);
          }
          read = this.#get(k, level, ctx, plan);
          reads.set(id, read);
        }
        return read;
      });
      return Promise.all(results);
    });
  }

  /**
   * Write `value`. Pass the context of the get you based it on so it replaces
   * what you read; without a context it is added as a sibling.
   */
  put(key: string | Uint8Array, value: string | Uint8Array, opts?: WriteOptions): Promise<PutResult> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      const k = keyBytes(key);
      return this.#put(k, valueBytes(value), contextBytes(opts?.context), this.#level(opts), ctx);
    });
  }

  /** Delete (writes a tombstone covering `opts.context`; concurrent writes it did not see survive as siblings). */
  delete(key: string | Uint8Array, opts?: WriteOptions): Promise<void> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      const k = keyBytes(key);
      const req = { key: k, context: contextBytes(opts?.context), ...this.#level(opts) };
      await this.#call('delete', this.#schema.delete, req, this.plan(k), ctx);
    });
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
  readModifyWrite(key: string | Uint8Array, update: SiblingResolver, opts?: CallOptions): Promise<PutResult> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      const k = keyBytes(key);
      const level = this.#level(opts);
      if (typeof update !== 'function') throw new InvalidArgumentError('update must be a function');
      const read = await this.#get(k, level, ctx, this.plan(k));
      const value = valueBytes(await update(read.values));
      return this.#put(k, value, contextBytes(read.context), level, ctx);
    });
  }

  /**
   * A node's view of the cluster (Admin.Status). With `endpoint`, asks that
   * node (it need not be one the client uses); otherwise any endpoint that
   * answers. Fields a node does not report (one that predates gossip
   * membership: member `state`, `ownershipPct`, `ringVersion`,
   * `transfers`...) are undefined.
   */
  status(endpoint?: string, opts?: RequestOptions): Promise<NodeStatus> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      return this.#schema.admin.nodeStatus(await this.#admin('status', this.#schema.status, {}, endpoint, ctx));
    });
  }

  /**
   * The ring a node holds (Admin.Ring): each partition's owner and replica
   * set, and the partitions still moving. Asks `endpoint`, or any endpoint.
   */
  ring(endpoint?: string, opts?: RequestOptions): Promise<RingStatus> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      return this.#schema.admin.ringStatus(await this.#admin('ring', this.#schema.ring, {}, endpoint, ctx));
    });
  }

  /**
   * Ask the node at `endpoint` to join the ring (Admin.Join; the manual path
   * for a node started with --auto-join false). Resolves once the node
   * accepted: it then shows as `joining` in `status()` while it takes over
   * its share of partitions. Rejects with InvalidArgumentError when the
   * node refuses (already a member) and UnavailableError when it cannot act yet.
   */
  join(endpoint: string, opts?: RequestOptions): Promise<void> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      await this.#admin('join', this.#schema.join, {}, requiredEndpoint(endpoint, 'join'), ctx);
    });
  }

  /**
   * Start decommissioning the node at `endpoint` (Admin.Decommission): it
   * streams every partition to its new owners, leaves the ring and stops.
   * Resolves once the node accepted; it shows as `leaving` in `status()`,
   * with its outgoing transfers, until it has left (it is then no longer
   * among the members other nodes report).
   */
  decommission(endpoint: string, opts?: RequestOptions): Promise<void> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      await this.#admin('decommission', this.#schema.decommission, {}, requiredEndpoint(endpoint, 'decommission'), ctx);
    });
  }

  /**
   * Remove the dead member `nodeId` from the ring (Admin.Remove); its
   * partitions are rebuilt on their new owners from the surviving replicas.
   * Asks `endpoint`, or any endpoint (any member may be asked; a failure is
   * retried elsewhere only when provably not applied). Rejects with
   * InvalidArgumentError for an unknown or live member.
   */
  remove(nodeId: string, endpoint?: string, opts?: RequestOptions): Promise<void> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      if (typeof nodeId !== 'string' || nodeId.length === 0) throw new InvalidArgumentError('remove needs the id of the member to remove');
      await this.#admin('remove', this.#schema.remove, { nodeId }, endpoint, ctx);
    });
  }

  /**
   * Start an on-demand anti-entropy repair on the node at `endpoint`
   * (Admin.Repair): it exchanges `opts.partition` — or every partition it
   * replicates — with each of its other replicas believed up, until every
   * difference is repaired. Resolves once started, with the repair's status;
   * follow it in `status(endpoint).antiEntropy.repair` (same `id`). A repair
   * of the same scope already running is returned instead of a new one.
   * Rejects with InvalidArgumentError for a partition the node does not
   * replicate, UnavailableError when anti-entropy is off there, another
   * repair runs, or it knows no ring yet.
   */
  repair(endpoint: string, opts?: RequestOptions & { readonly partition?: number }): Promise<RepairStatus> {
    return this.#track(async () => {
      const ctx = this.#context(opts);
      const partition = opts?.partition;
      if (partition !== undefined && (!Number.isInteger(partition) || partition < 0 || partition > 0xffffffff)) {
        throw new InvalidArgumentError(`partition must be a whole number, got ${String(partition)}`);
      }
      const res = await this.#admin('repair', this.#schema.repair, partition === undefined ? {} : { partition }, requiredEndpoint(endpoint, 'repair'), ctx);
      const repair = res.repair === null || res.repair === undefined ? undefined : this.#schema.admin.repairStatus(res.repair);
      if (repair === undefined) throw new DynamoError('DYNAMO_INTERNAL', 'the node answered Repair without a repair status this client can read');
      return repair;
    });
  }

  /**
   * Where `key` lives: its partition and preference list (its N replicas),
   * from the ring a node reports now — asked of `opts.endpoint`, or of any
   * endpoint. Cassandra's `nodetool getendpoints`; `dynamo where KEY`.
   */
  locate(key: string | Uint8Array, opts?: RequestOptions & { readonly endpoint?: string }): Promise<KeyLocation> {
    return this.#track(async () => {
      const k = keyBytes(key);
      const status = await this.status(opts?.endpoint, opts);
      const placement = placementOf(status, k);
      if (placement === undefined) {
        throw new UnavailableError(`node ${status.nodeId} has no ring to place keys with (still joining, or a ring this client cannot check)`, ZERO);
      }
      return {
        nodeId: status.nodeId,
        partition: placement.partition,
        partitionCount: status.partitionCount,
        ringChecksum: status.ringChecksum,
        replicas: placement.replicas,
      };
    });
  }

  /**
   * Stop taking calls (later ones reject with ClosedError), let the calls in
   * flight finish or fail, then close every stream and channel. Resolves
   * once all of that is done; calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    if (this.#refreshTimer !== undefined) this.#time.cancelTimer(this.#refreshTimer);
    this.#refreshTimer = undefined;
    this.#internal.abort();
    this.#closing = (async () => {
      while (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
      await Promise.all([...this.#list.map((e) => e.drain()), ...this.#retiring]);
    })();
    return this.#closing;
  }

  /**
   * The endpoints to try for `key` (keyless calls: undefined), in order,
   * as addresses. Default: the key's replicas that are connected or idle
   * (rotating among them), then the other usable endpoints round-robin,
   * then the rest (connecting, or backing off after a failure). The seam
   * tests use to pin the order.
   */
  protected plan(key: Uint8Array | undefined): string[] {
    const first: Endpoint[] = [];
    const last: Endpoint[] = [];
    const taken = new Set<Endpoint>();
    const take = (e: Endpoint): void => {
      if (taken.has(e)) return;
      taken.add(e);
      (e.preferred() ? first : last).push(e);
    };
    if (key !== undefined && this.#tokenRouting) {
      const replicas = this.#router.replicasOf(key);
      const shift = replicas.length > 1 ? this.#turn++ % replicas.length : 0;
      for (let i = 0; i < replicas.length; i++) {
        const e = this.#endpoints.get(replicas[(shift + i) % replicas.length]!);
        if (e !== undefined) take(e);
      }
    }
    const list = this.#list;
    const start = this.#next % list.length;
    this.#next = start + 1;
    for (let i = 0; i < list.length; i++) take(list[(start + i) % list.length]!);
    return [...first, ...last].map((e) => e.address);
  }

  /**
   * One Admin call: to `endpoint` when given (it need not be one the client
   * uses: a channel is opened for this call), otherwise along the keyless
   * plan like any request.
   */
  async #admin<Req, Res>(op: RequestOp, method: UnaryMethod<Req, Res>, req: Req, endpoint: string | undefined, ctx: RequestContext): Promise<Res> {
    if (endpoint === undefined) return this.#call(op, method, req, this.plan(undefined), ctx);
    const known = this.#endpoints.get(checkEndpoint(endpoint));
    const target = known ?? new Endpoint(endpoint, this.#credentials, 'unary', this.#time, this.#channel);
    try {
      return await target.call(method, req, ctx.deadlineMs, ctx.signal);
    } catch (e) {
      if (ctx.signal?.aborted) throw abortReason(ctx.signal);
      throw this.#closed ? closedError() : toDynamoError(e, endpoint, method.command === true);
    } finally {
      if (known === undefined) target.close();
    }
  }

  /** The replicas of `key` as one string: keys with equal ones form a getMany group. */
  #replicaSet(key: Uint8Array): string {
    return this.#tokenRouting ? this.#router.replicasOf(key).sort().join(',') : '';
  }

  async #get(key: Uint8Array, level: Level, ctx: RequestContext, plan: readonly string[]): Promise<GetResult> {
    const res = await this.#call('get', this.#schema.get, { key, ...level }, plan, ctx);
    // Absent fields decode as protobufjs's shared defaults: hand out our own array, and real bytes.
    const values = res.values.length > 0 ? res.values : [];
    return { values, context: bytesOrEmpty(res.context), found: values.length > 0 };
  }

  async #put(key: Uint8Array, value: Uint8Array, context: Uint8Array | undefined, level: Level, ctx: RequestContext): Promise<PutResult> {
    const res = await this.#call('put', this.#schema.put, { key, value, context, ...level }, this.plan(key), ctx);
    return { context: bytesOrEmpty(res.context) };
  }

  /**
   * One request, walking `plan`: past endpoints it provably never reached,
   * and past failures the retry policy wants retried, within the deadline.
   */
  async #call<Req, Res>(op: RequestOp, method: UnaryMethod<Req, Res>, req: Req, plan: readonly string[], ctx: RequestContext): Promise<Res> {
    if (this.#closed) throw closedError();
    let attempts = 0;
    let reached: DynamoError | undefined;
    let unreached: DynamoError | undefined;
    let maybeApplied = false;
    for (const address of plan) {
      const endpoint = this.#endpoints.get(address);
      if (endpoint === undefined) continue;
      if (this.#time.nowMs() >= ctx.deadlineMs) break;
      const attempt = await endpoint.attempt(method, req, ctx.deadlineMs, ctx.signal);
      if (attempt.ok) return attempt.value;
      const failure = attempt.error;
      if (ctx.signal?.aborted) throw abortReason(ctx.signal);
      maybeApplied ||= failure.error.maybeApplied;
      if (this.#closed) throw closedError(maybeApplied);
      if (!failure.reached) {
        unreached = failure.error;
        this.#refreshSoon();
        continue;
      }
      reached = failure.error;
      attempts++;
      if (!this.#retry.shouldRetry({ op, error: failure.error, attempts })) break;
    }
    if (reached !== undefined) throw maybeApplied ? markMaybeApplied(reached) : reached;
    const options = { cause: unreached, maybeApplied };
    if (unreached === undefined || this.#time.nowMs() >= ctx.deadlineMs) {
      throw new TimeoutError('deadline passed before any endpoint answered', ZERO, options);
    }
    throw new UnavailableError(`no endpoint could serve the request (tried ${plan.join(', ')}): ${unreached.message}`, ZERO, options);
  }

  /** Run a public call, counted as in flight until it settles (close() waits for it). */
  #track<T>(run: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    const call = run();
    const settled: Promise<void> = call.then(
      () => void this.#inflight.delete(settled),
      () => void this.#inflight.delete(settled),
    );
    this.#inflight.add(settled);
    return call;
  }

  #context(opts: RequestOptions | undefined): RequestContext {
    if (this.#closed) throw closedError();
    const signal = opts?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal must be an AbortSignal');
    if (signal?.aborted) throw abortReason(signal);
    const nowMs = this.#time.nowMs();
    const deadline = opts?.deadline;
    if (deadline === undefined) return { deadlineMs: nowMs + checkTimeout(opts?.timeoutMs, this.#timeoutMs), signal };
    const deadlineMs = checkDeadline(deadline);
    return { deadlineMs: opts?.timeoutMs === undefined ? deadlineMs : Math.min(deadlineMs, nowMs + checkTimeout(opts.timeoutMs, this.#timeoutMs)), signal };
  }

  #level(opts: CallOptions | undefined): Level {
    const name = opts?.consistency;
    const consistency = name === undefined ? this.#consistencyCode : consistencyCode(this.#schema, name);
    if (opts?.strict !== undefined && typeof opts.strict !== 'boolean') throw new InvalidArgumentError('strict must be a boolean');
    return opts?.strict === true ? { consistency, strict: true } : { consistency };
  }

  #newEndpoint(address: string): Endpoint {
    return new Endpoint(address, this.#credentials, this.#protocol, this.#time, this.#channel);
  }

  // ------------------------------------------------------------ discovery

  /** Whether the client reads the cluster's status at all. */
  get #refreshes(): boolean {
    return this.#tokenRouting || this.#discovery;
  }

  #scheduleRefresh(delayMs: number): void {
    if (this.#closed) return;
    const atMs = this.#time.monotonicMs() + delayMs;
    if (this.#refreshTimer !== undefined) {
      if (this.#refreshAtMs <= atMs) return;
      this.#time.cancelTimer(this.#refreshTimer);
    }
    this.#refreshAtMs = atMs;
    this.#refreshTimer = this.#time.setTimer(delayMs, () => void this.#refresh());
  }

  /** An endpoint could not be reached: membership may have changed, so re-read it soon (at most once per RING_RETRY_MS). */
  #refreshSoon(): void {
    if (!this.#refreshes || this.#refreshing) return;
    const sinceMs = this.#time.monotonicMs() - this.#lastRefreshMs;
    this.#scheduleRefresh(Math.max(0, RING_RETRY_MS - sinceMs));
  }

  /** Read the status of the first endpoint that answers (the last one that did first), adopt it, schedule the next read. */
  async #refresh(): Promise<void> {
    this.#refreshTimer = undefined;
    if (this.#closed) return;
    this.#refreshing = true;
    this.#lastRefreshMs = this.#time.monotonicMs();
    let learned = false;
    try {
      const candidates = new Set([...(this.#lastAnswered === undefined ? [] : [this.#lastAnswered]), ...this.#contactPoints, ...this.#endpoints.keys()]);
      for (const address of candidates) {
        const endpoint = this.#endpoints.get(address);
        if (endpoint === undefined) continue;
        if (this.#closed) return;
        try {
          const status = await endpoint.call(this.#schema.status, {}, this.#time.nowMs() + STATUS_TIMEOUT_MS, this.#internal.signal);
          if (this.#closed) return;
          this.#adopt(this.#schema.admin.nodeStatus(status));
          this.#lastAnswered = address;
          learned = true;
          break;
        } catch {
          // the next endpoint; routing stays as it was meanwhile
        }
      }
    } finally {
      this.#refreshing = false;
    }
    this.#scheduleRefresh(learned ? this.#ringRefreshMs : Math.min(RING_RETRY_MS, this.#ringRefreshMs));
  }

  /** Take a status's ring for routing and, with discovery, its members as endpoints (draining those that left). */
  #adopt(status: NodeStatus): void {
    if (!this.#router.update(status) || !this.#discovery) return;
    const members = this.#router.members;
    const keep = new Set([...this.#contactPoints, ...members]);
    for (const address of members) if (!this.#endpoints.has(address)) this.#endpoints.set(address, this.#newEndpoint(address));
    for (const [address, endpoint] of this.#endpoints) {
      if (keep.has(address)) continue;
      this.#endpoints.delete(address);
      const drained: Promise<void> = endpoint.drain().then(() => void this.#retiring.delete(drained));
      this.#retiring.add(drained);
    }
    this.#list = [...this.#endpoints.values()];
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

/** The endpoint a command that acts on one node was given (it must name it). */
function requiredEndpoint(endpoint: string | undefined, command: string): string {
  if (endpoint === undefined) throw new InvalidArgumentError(`${command} needs the endpoint (host:port) of the node it acts on`);
  return checkEndpoint(endpoint);
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

/** Epoch milliseconds of a `deadline` option. */
function checkDeadline(deadline: Date | number): number {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new InvalidArgumentError(`deadline must be a Date or epoch milliseconds, got ${String(deadline)}`);
  }
  return ms;
}

function closedError(maybeApplied = false): ClosedError {
  return new ClosedError('client is closed', { maybeApplied });
}

/** What an aborted call rejects with: the signal's reason, as fetch() does. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
