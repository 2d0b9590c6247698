/**
 * The client's end of KV/Session (kv.proto) to one node: at most one live
 * stream on the endpoint's channel, opened on first use and reopened after a
 * failure with a backoff; requests get ids, are coalesced per microtask into
 * SessionRequests frames and resolve from the SessionResponses matching
 * their id. Cassandra's drivers multiplex stream ids on one connection the
 * same way.
 *
 * Nothing is written before the node has sent the stream's headers (it does
 * so on accept), so a request that never left this process is known to have
 * never reached the node: those fail over freely. A request written to a
 * stream that then breaks may have been applied; the caller decides whether
 * it is safe to repeat. Each request carries its own deadline timer and may
 * carry an AbortSignal; outcomes that end a request early say whether it had
 * been written (`sent`), i.e. whether the node may have acted on it.
 *
 * `drain()` is the graceful end: nothing new is taken, requests not yet
 * written end 'closed' (unsent), the stream is half-closed so the node
 * answers what it has and ends it, and the promise resolves once every
 * request in flight has settled.
 */
import * as grpc from '@grpc/grpc-js';
import type { Time, TimerHandle } from '../runtime/index.ts';
import {
  CorrelationIds,
  decodeSessionResponses,
  passThrough,
  SESSION_PATH,
  SessionRequestWriter,
  type ErrorStatus,
  type SessionOp,
  type SessionResponseEntry,
} from '../transport/index.ts';

/** How one Session request ended (never a rejection). */
export type SessionOutcome =
  /** The node answered: the encoded unary response. */
  | { readonly kind: 'ok'; readonly body: Uint8Array }
  /** The node answered with an error entry. */
  | { readonly kind: 'error'; readonly status: ErrorStatus }
  /** Never written to any stream: the node cannot have seen it. */
  | { readonly kind: 'unsent'; readonly reason: string }
  /** Written, then the stream failed before the answer: it may have been applied. */
  | { readonly kind: 'broken'; readonly reason: string }
  /** The node does not serve Session (an older node): nothing was applied; use unary calls. */
  | { readonly kind: 'unsupported' }
  /** The deadline passed first; `sent`: it had been written (the node may have acted on it). */
  | { readonly kind: 'timeout'; readonly sent: boolean }
  /** The caller's AbortSignal fired first. */
  | { readonly kind: 'aborted'; readonly sent: boolean }
  /** The session was closed (or is draining) before an answer came. */
  | { readonly kind: 'closed'; readonly sent: boolean };

/** Settings of a Session. */
export interface SessionOptions {
  readonly address: string;
  readonly time: Time;
  /** Requests awaiting an answer; beyond it requests are not sent (outcome 'unsent'). */
  readonly inflightMax: number;
  /** Wait after a stream failure before the next attempt, doubled per consecutive failure. */
  readonly backoffMsMin: number;
  /** Cap of that wait. */
  readonly backoffMsMax: number;
}

/** One live stream and whether the node has accepted it yet. */
interface Stream {
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  connected: boolean;
  /** Its end has been handled (a reset we caused is reported again by grpc-js). */
  over: boolean;
}

interface Pending {
  readonly id: number;
  readonly op: SessionOp;
  readonly body: Uint8Array;
  readonly deadlineMs: number;
  readonly resolve: (o: SessionOutcome) => void;
  timer: TimerHandle | undefined;
  /** The caller's signal and our listener on it (removed when the request settles). */
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The stream it was written to; undefined while it waits for one to connect. */
  sentOn: Stream | undefined;
}

/** The pipelined request stream to one node. */
export class Session {
  readonly #opts: SessionOptions;
  readonly #client: grpc.Client;
  #stream: Stream | undefined;
  /** Half-closed streams (their node is shutting down) still owing answers. */
  readonly #retired = new Set<Stream>();
  readonly #pending = new Map<number, Pending>();
  /** Requests waiting for #stream to connect, in arrival order. */
  #waiting: Pending[] = [];
  readonly #writer: SessionRequestWriter;
  readonly #ids = new CorrelationIds();
  #failures = 0;
  #retryAtMs = 0;
  #lastReason = 'not connected yet';
  #closed = false;
  /** drain() was called: no new requests; resolves #drained when #pending empties. */
  #draining = false;
  #drained: (() => void) | undefined;
  #unsupported = false;

  /** `client` is the endpoint's channel; the Session never closes it. */
  constructor(client: grpc.Client, opts: SessionOptions) {
    this.#client = client;
    this.#opts = opts;
    // Entries are only added while #stream is connected, and discarded whenever it goes.
    this.#writer = new SessionRequestWriter((frame) => this.#stream?.call.write(frame));
  }

  /** False while backing off after a failed stream (requests are refused as 'unsent' meanwhile). */
  get usable(): boolean {
    return !this.#closed && this.#opts.time.monotonicMs() >= this.#retryAtMs;
  }

  /** The node answered UNIMPLEMENTED: it predates Session. */
  get unsupported(): boolean {
    return this.#unsupported;
  }

  /** Requests awaiting an answer. */
  get inflight(): number {
    return this.#pending.size;
  }

  /**
   * Send `body` (an encoded GetRequest/PutRequest/DeleteRequest) as `op`;
   * resolves by `deadlineMs` (wall clock) at the latest, or as soon as
   * `signal` aborts.
   */
  request(op: SessionOp, body: Uint8Array, deadlineMs: number, signal?: AbortSignal): Promise<SessionOutcome> {
    if (this.#closed || this.#draining) return Promise.resolve(CLOSED_UNSENT);
    if (signal?.aborted) return Promise.resolve(ABORTED_UNSENT);
    if (this.#unsupported) return Promise.resolve(UNSUPPORTED);
    if (this.#pending.size >= this.#opts.inflightMax) {
      return Promise.resolve({ kind: 'unsent', reason: `too many requests in flight to ${this.#opts.address} (limit ${this.#opts.inflightMax})` });
    }
    const remainingMs = deadlineMs - this.#opts.time.nowMs();
    if (!(remainingMs > 0)) return Promise.resolve(TIMEOUT_UNSENT);
    const stream = this.#stream ?? this.#open();
    if (stream === undefined) return Promise.resolve({ kind: 'unsent', reason: this.#lastReason });
    return new Promise((resolve) => {
      const p: Pending = {
        id: this.#ids.next(this.#pending),
        op,
        body,
        deadlineMs,
        resolve,
        timer: undefined,
        signal,
        onAbort: undefined,
        sentOn: undefined,
      };
      p.timer = this.#opts.time.setTimer(remainingMs, () => this.#settle(p, { kind: 'timeout', sent: p.sentOn !== undefined }));
      if (signal !== undefined) {
        p.onAbort = () => this.#settle(p, { kind: 'aborted', sent: p.sentOn !== undefined });
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.#pending.set(p.id, p);
      if (stream.connected) this.#send(p, stream);
      else this.#waiting.push(p);
    });
  }

  /**
   * Take no new requests, let the ones in flight finish (answered, failed
   * or timed out), then close. Requests still waiting for the stream to
   * connect were never written: they end 'closed' at once.
   */
  drain(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#draining = true;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const p of waiting) this.#settle(p, CLOSED_UNSENT);
    const stream = this.#stream;
    if (stream !== undefined && stream.connected) this.#retire(stream);
    else if (stream !== undefined) {
      // Still connecting: nothing was written on it.
      this.#stream = undefined;
      stream.over = true;
      stream.call.cancel();
    }
    if (this.#pending.size === 0) {
      this.close();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#drained = () => {
        this.close();
        resolve();
      };
    });
  }

  /** Cancel the streams now; pending requests resolve 'closed'. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const streams = [...this.#retired, ...(this.#stream ? [this.#stream] : [])];
    this.#stream = undefined;
    this.#retired.clear();
    this.#writer.discard();
    this.#waiting = [];
    for (const p of [...this.#pending.values()]) this.#settle(p, { kind: 'closed', sent: p.sentOn !== undefined });
    for (const s of streams) s.call.cancel();
  }

  /** Open a stream unless backing off after a failure. */
  #open(): Stream | undefined {
    if (!this.usable) return undefined;
    const call = this.#client.makeBidiStreamRequest<Buffer, Buffer>(SESSION_PATH, passThrough, passThrough);
    const stream: Stream = { call, connected: false, over: false };
    this.#stream = stream;
    // The node sends headers as soon as it accepts the stream: only then is anything written.
    call.on('metadata', () => this.#connected(stream));
    call.on('data', (frame: Buffer) => this.#onFrame(stream, frame));
    // Every outcome ends in exactly one 'status'; 'error' only needs a listener so it is not thrown.
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => this.#ended(stream, status));
    return stream;
  }

  #connected(stream: Stream): void {
    if (this.#stream !== stream || stream.connected) return;
    stream.connected = true;
    this.#failures = 0;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const p of waiting) if (this.#pending.get(p.id) === p) this.#send(p, stream);
  }

  #send(p: Pending, stream: Stream): void {
    p.sentOn = stream;
    // Whole milliseconds left, rounded up; the node caps them with its own default.
    this.#writer.add(p.id, Math.max(1, p.deadlineMs - this.#opts.time.nowMs()), p.op, p.body);
  }

  #onFrame(stream: Stream, frame: Buffer): void {
    let entries: SessionResponseEntry[];
    try {
      entries = decodeSessionResponses(frame);
    } catch (e) {
      this.#ended(stream, { code: grpc.status.INTERNAL, details: `node sent ${(e as Error).message}`, metadata: new grpc.Metadata() });
      stream.call.cancel();
      return;
    }
    for (const entry of entries) this.#answer(stream, entry);
  }

  #answer(stream: Stream, entry: SessionResponseEntry): void {
    // The node is shutting down (its id-0 notice, or a refused request): move new requests to a new stream.
    if (entry.error?.dynamoCode === 'DYNAMO_CLOSED') this.#retire(stream);
    const p = this.#pending.get(entry.id);
    if (p === undefined || p.sentOn !== stream) return; // the notice, or timed out already
    if (entry.error !== undefined) this.#settle(p, { kind: 'error', status: entry.error });
    else if (entry.op === p.op) this.#settle(p, { kind: 'ok', body: entry.body });
    else {
      const details = `node ${this.#opts.address} answered a ${p.op} request with ${entry.op ?? 'an unknown'} result`;
      this.#settle(p, { kind: 'error', status: { code: grpc.status.INTERNAL, details, dynamoCode: 'DYNAMO_INTERNAL', answered: 0, required: 0 } });
    }
  }

  /** Stop sending on `stream` (half-close it); its requests in flight still get their answers. */
  #retire(stream: Stream): void {
    if (this.#stream !== stream) return;
    this.#writer.flush();
    this.#stream = undefined;
    this.#retired.add(stream);
    stream.call.end();
  }

  /** `stream` is over: fail what it carried; after an error, back off before the next one. */
  #ended(stream: Stream, status: grpc.StatusObject): void {
    if (stream.over) return;
    stream.over = true;
    this.#retired.delete(stream);
    let waiting: Pending[] = [];
    if (this.#stream === stream) {
      this.#stream = undefined;
      this.#writer.discard();
      waiting = this.#waiting;
      this.#waiting = [];
    }
    let reason = 'the node ended the session';
    if (status.code === grpc.status.UNIMPLEMENTED) this.#unsupported = true;
    else if (status.code !== grpc.status.OK) {
      reason = (status.details || grpc.status[status.code] || String(status.code)).replace(/\s*Resolution note:\s*$/, '');
      // Unreachable or broken: requests fail over elsewhere for a while rather than hammer it.
      this.#failures++;
      const backoffMs = Math.min(this.#opts.backoffMsMin * 2 ** (this.#failures - 1), this.#opts.backoffMsMax);
      this.#retryAtMs = this.#opts.time.monotonicMs() + backoffMs;
    }
    this.#lastReason = reason;
    // The node refused our credentials before accepting the stream: nothing was applied, and no other node will differ.
    const refused: SessionOutcome | undefined =
      status.code === grpc.status.UNAUTHENTICATED || status.code === grpc.status.PERMISSION_DENIED
        ? { kind: 'error', status: { code: status.code, details: reason, dynamoCode: 'DYNAMO_UNAUTHENTICATED', answered: 0, required: 0, maybeApplied: false } }
        : undefined;
    for (const p of waiting) this.#settle(p, this.#unsupported ? UNSUPPORTED : (refused ?? { kind: 'unsent', reason }));
    for (const p of [...this.#pending.values()]) {
      if (p.sentOn !== stream) continue;
      this.#settle(p, this.#unsupported ? UNSUPPORTED : { kind: 'broken', reason });
    }
  }

  #settle(p: Pending, outcome: SessionOutcome): void {
    if (this.#pending.get(p.id) !== p) return;
    this.#pending.delete(p.id);
    if (p.timer !== undefined) this.#opts.time.cancelTimer(p.timer);
    if (p.onAbort !== undefined) p.signal?.removeEventListener('abort', p.onAbort);
    p.resolve(outcome);
    if (this.#pending.size === 0 && this.#drained !== undefined) {
      const drained = this.#drained;
      this.#drained = undefined;
      drained();
    }
  }
}

const CLOSED_UNSENT: SessionOutcome = { kind: 'closed', sent: false };
const ABORTED_UNSENT: SessionOutcome = { kind: 'aborted', sent: false };
const TIMEOUT_UNSENT: SessionOutcome = { kind: 'timeout', sent: false };
const UNSUPPORTED: SessionOutcome = { kind: 'unsupported' };
