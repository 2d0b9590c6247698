/**
 * The node's end of KV/Session streams (kv.proto): decodes each
 * SessionRequests frame, runs every request through the same KvOperation as
 * its unary twin (decode, validation, handler, error mapping) concurrently,
 * and sends the responses back coalesced into SessionResponses frames
 * (flushed per microtask or at the size bound). A failed request becomes an
 * error entry for that id only; a frame that does not parse ends its stream
 * with INVALID_ARGUMENT. Requests in flight per stream are bounded, and so
 * are the response bytes a client leaves unread (served-stream.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { ClosedError, InvalidArgumentError, type TimerHandle } from '../runtime/index.ts';
import { frameMethod } from './grpc-options.ts';
import { errorStatusOf, type ErrorStatus } from './grpc-status.ts';
import type { KvOperation } from './kv-operation.ts';
import { decodeSessionRequests, SESSION_PATH, SessionResponseWriter, type SessionOp, type SessionRequestEntry } from './session-codec.ts';
import { ServedStream, ServedStreams, type FrameStream, type ServedStreamOptions } from './served-stream.ts';

/** Frame counters over every Session stream of a server (monotonic). */
export interface SessionStats {
  /** Session streams accepted. */
  streamsOpened: number;
  /** SessionRequests frames received. */
  framesReceived: number;
  /** Requests inside those frames. */
  requestsReceived: number;
  /** SessionResponses frames sent. */
  framesSent: number;
  /** Responses (results and errors) inside those frames. */
  responsesSent: number;
  /** Requests refused because their stream already had the maximum in flight. */
  requestsRefused: number;
  /** Responses dropped for a RESOURCE_EXHAUSTED error because their stream held too many unread response bytes. */
  responsesDropped: number;
  /** Streams reset because their client read nothing for too long while responses piled up. */
  streamsCutOff: number;
}

/** What the streams need from the server (ServedStreamOptions: logger, time, and the unread-bytes bound). */
export interface SessionServerOptions extends ServedStreamOptions {
  /** The operations a Session entry may name, shared with the unary methods. */
  readonly ops: Readonly<Record<SessionOp, KvOperation>>;
  /** Cap on a request's timeout, and the timeout of a request that gives none (timeout_ms = 0). */
  readonly requestTimeoutMsDefault: number;
  /**
   * Requests in flight per stream — from arrival until their response has
   * been taken by HTTP/2; beyond it requests are answered RESOURCE_EXHAUSTED at once.
   */
  readonly inflightMax: number;
  /** On shutdown, how long a stream waits for its client to half-close after the notice before it is ended anyway. */
  readonly lingerMs: number;
}

const SHUTTING_DOWN = errorStatusOf(new ClosedError('node is shutting down; send the request to another node'));

/** One accepted Session stream. */
class ServedSession extends ServedStream<SessionResponseWriter, SessionRequestEntry> {
  readonly #opts: SessionServerOptions;
  readonly #stats: SessionStats;
  /** The server is shutting down: new requests are refused. */
  #draining = false;
  #linger: TimerHandle | undefined;

  constructor(call: FrameStream, opts: SessionServerOptions, stats: SessionStats, onGone: (s: object) => void) {
    super(call, opts, (send) => new SessionResponseWriter(send), onGone);
    this.#opts = opts;
    this.#stats = stats;
  }

  /**
   * Server shutdown: tell the client (the id-0 notice), refuse new requests,
   * answer what is in flight, and end the stream once the client has
   * half-closed it — so nothing it sent is left unanswered — or the linger is over.
   */
  drain(): void {
    if (this.#draining || this.ended) return;
    this.#draining = true;
    this.writer.error(0, SHUTTING_DOWN);
    this.writer.flush();
    this.#linger = this.#opts.time.setTimer(this.#opts.lingerMs, () => this.finish());
  }

  protected override over(): void {
    if (this.#linger !== undefined) this.#opts.time.cancelTimer(this.#linger);
  }

  protected override sent(responses: number): void {
    this.#stats.framesSent++;
    this.#stats.responsesSent += responses;
  }

  protected override cutOff(): void {
    this.#stats.streamsCutOff++;
  }

  protected onFrame(frame: Buffer): void {
    let requests: SessionRequestEntry[];
    try {
      requests = decodeSessionRequests(frame);
    } catch (e) {
      // Nothing of a broken frame is served, and the stream cannot be trusted any more.
      return this.abort(e);
    }
    this.#stats.framesReceived++;
    this.#stats.requestsReceived += requests.length;
    for (const r of requests) this.#serve(r);
  }

  #serve(r: SessionRequestEntry): void {
    const op = r.op === undefined ? undefined : this.#opts.ops[r.op];
    if (this.#draining) return this.#answerError(r.id, SHUTTING_DOWN);
    if (op === undefined) {
      return this.#answerError(r.id, errorStatusOf(new InvalidArgumentError(`session request ${r.id} has no operation (expected get, put or delete)`)));
    }
    if (this.inflight >= this.#opts.inflightMax) {
      this.#stats.requestsRefused++;
      return this.#answerError(r.id, {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `too many requests in flight on this session (limit ${this.#opts.inflightMax}); wait for responses before sending more`,
        dynamoCode: 'DYNAMO_LIMIT_EXCEEDED',
        answered: 0,
        required: 0,
      });
    }
    if (this.admit()) this.#run(r, op);
    else this.defer(r);
  }

  protected serveDeferred(r: SessionRequestEntry): void {
    this.#run(r, this.#opts.ops[r.op!]);
  }

  #run(r: SessionRequestEntry, op: KvOperation): void {
    const limitMs = this.#opts.requestTimeoutMsDefault;
    op.run(op.decode(r.body as Buffer), r.timeoutMs === 0 ? limitMs : Math.min(r.timeoutMs, limitMs)).then(
      (value) => this.#done(r, op, value),
      (e: unknown) => this.#failed(r.id, op, e),
    );
  }

  #answerError(id: number, status: ErrorStatus): void {
    if (!this.ended) this.writer.error(id, status);
  }

  #done(r: SessionRequestEntry, op: KvOperation, value: unknown): void {
    if (this.full) return this.#dropped(r);
    let body: Buffer;
    try {
      body = op.encode(value);
    } catch (e) {
      // Only a handler returning something that is not its response message gets here.
      return this.#failed(r.id, op, e);
    }
    this.settled();
    if (!this.ended) this.writer.result(r.id, r.op as SessionOp, body);
  }

  #failed(id: number, op: KvOperation, e: unknown): void {
    op.report(e);
    this.settled();
    this.#answerError(id, errorStatusOf(e));
  }

  /** The client has left too many response bytes unread: this one is replaced by a small error. */
  #dropped(r: SessionRequestEntry): void {
    this.#stats.responsesDropped++;
    this.settled();
    this.#answerError(r.id, {
      code: grpc.status.RESOURCE_EXHAUSTED,
      details:
        `response dropped: this session holds ${this.queuedBytes} bytes of responses its client has not read ` +
        `(limit ${this.#opts.queuedBytesMax}); read responses before sending more`,
      dynamoCode: 'DYNAMO_LIMIT_EXCEEDED',
      answered: 0,
      required: 0,
      // The request was served: a put or delete was applied even though its response is lost.
      maybeApplied: r.op !== 'get',
    });
  }
}

/** Serves dynamo.v1.KV/Session and tracks open streams so shutdown can drain them. */
export class SessionServer {
  readonly #opts: SessionServerOptions;
  readonly #streams = new ServedStreams<ServedSession>();
  readonly #stats: SessionStats = {
    streamsOpened: 0,
    framesReceived: 0,
    requestsReceived: 0,
    framesSent: 0,
    responsesSent: 0,
    requestsRefused: 0,
    responsesDropped: 0,
    streamsCutOff: 0,
  };
  /** The grpc-js definition of the method (frames pass through; session-codec.ts decodes them). */
  readonly definition = frameMethod(SESSION_PATH, 'Session');

  constructor(opts: SessionServerOptions) {
    this.#opts = opts;
  }

  /** The grpc-js handler of the method. */
  readonly handler: grpc.handleBidiStreamingCall<Buffer, Buffer> = (call) => {
    this.#stats.streamsOpened++;
    this.#streams.add(new ServedSession(call, this.#opts, this.#stats, (s) => this.#streams.delete(s)));
  };

  /** A snapshot of the counters. */
  stats(): SessionStats {
    return { ...this.#stats };
  }

  /** Refuse new requests and end every stream once its in-flight requests are answered. */
  drain(): void {
    this.#streams.drain();
  }
}
