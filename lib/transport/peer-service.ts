/**
 * The callee's end of peer streams: decodes each PeerBatch, runs the
 * PeerHandler for every request concurrently and sends the replies back
 * batched (BatchWriter). A handler failure becomes an error envelope for that
 * request only — it never ends the stream or escapes as an exception. A
 * caller that stops reading its replies is bounded like any served stream
 * (served-stream.ts).
 */
import type * as grpc from '@grpc/grpc-js';
import { DynamoError, InvalidArgumentError, UnavailableError } from '../runtime/index.ts';
import type { PeerHandler, PeerReply, PeerRequest } from '../protocol/index.ts';
import { BatchWriter } from './batch-writer.ts';
import { frameMethod, PEER_STREAM_PATH } from './grpc-options.ts';
import {
  decodeBatch,
  KIND_ERROR,
  KIND_MALFORMED,
  KIND_REPLY,
  KIND_REQUEST,
  type EnvelopeBody,
  type EnvelopeKind,
  type EnvelopeVisitor,
} from './peer-codec.ts';
import { ServedStream, ServedStreams, type FrameStream, type ServedStreamOptions } from './served-stream.ts';

/** grpc-js definition of dynamo.v1.Peer with pass-through frames. */
export const PEER_SERVICE: grpc.ServiceDefinition = { Stream: frameMethod(PEER_STREAM_PATH, 'Stream') };

/** Counters over every peer stream a server accepted (monotonic). */
export interface PeerStreamStats {
  /** Peer streams accepted. */
  streamsOpened: number;
  /** Replies dropped for a small error because their stream held too many unread reply bytes. */
  repliesDropped: number;
  /** Streams reset because their caller took no reply for too long while replies waited. */
  streamsCutOff: number;
}

/** A request kept until its stream has room to serve it. */
interface DeferredRequest {
  readonly id: number;
  readonly req: PeerRequest;
  readonly timeoutMs: number;
}

/** One accepted peer stream. */
class ServedPeerStream extends ServedStream<BatchWriter, DeferredRequest> {
  readonly #handler: PeerHandler;
  readonly #stats: PeerStreamStats;
  readonly #onEnvelope: EnvelopeVisitor = (id, timeoutMs, kind, body) => {
    if (kind === KIND_REQUEST) {
      if (this.admit()) this.#serve(id, body as PeerRequest, timeoutMs);
      else this.defer({ id, req: body as PeerRequest, timeoutMs });
    }
    else if (kind === KIND_MALFORMED) this.#send(id, KIND_ERROR, body);
    else this.#send(id, KIND_ERROR, new InvalidArgumentError('malformed peer message (expected a request envelope)'));
  };

  constructor(call: FrameStream, handler: PeerHandler, opts: ServedStreamOptions, stats: PeerStreamStats, onGone: (s: object) => void) {
    super(call, opts, (send) => new BatchWriter(send), onGone);
    this.#handler = handler;
    this.#stats = stats;
  }

  protected override cutOff(): void {
    this.#stats.streamsCutOff++;
  }

  /** Server shutdown: a peer's requests are all answered, then the stream ends. */
  drain(): void {
    this.finish();
  }

  protected onFrame(frame: Buffer): void {
    try {
      decodeBatch(frame, this.#onEnvelope);
    } catch (e) {
      this.abort(e);
    }
  }

  protected serveDeferred(d: DeferredRequest): void {
    this.#serve(d.id, d.req, d.timeoutMs);
  }

  #serve(id: number, req: PeerRequest, timeoutMs: number): void {
    let reply: Promise<PeerReply>;
    try {
      reply = this.#handler(req, timeoutMs);
    } catch (e) {
      reply = Promise.reject(e);
    }
    reply.then(
      (rep) => this.#done(id, KIND_REPLY, rep),
      (e: unknown) => this.#done(id, KIND_ERROR, this.#asDynamoError(e)),
    );
  }

  #asDynamoError(e: unknown): DynamoError {
    if (e instanceof DynamoError) return e;
    this.logger.error('unexpected error in peer handler', { error: e, stack: (e as Error)?.stack });
    // A bug: nobody knows what the handler did before it failed.
    return new DynamoError('DYNAMO_INTERNAL', `internal error: ${e instanceof Error ? e.message : String(e)}`, { maybeApplied: true });
  }

  #done(id: number, kind: EnvelopeKind, body: EnvelopeBody): void {
    this.settled();
    if (kind === KIND_REPLY && this.full) {
      // The caller has left too many reply bytes unread (its process is stuck): keep the bound, answer small.
      this.#stats.repliesDropped++;
      const e = new UnavailableError(
        `reply dropped: this peer stream holds ${this.queuedBytes} bytes of replies its caller has not read`,
        { answered: 0, required: 1 },
        { maybeApplied: true },
      );
      this.#send(id, KIND_ERROR, e);
    } else this.#send(id, kind, body);
  }

  #send(id: number, kind: EnvelopeKind, body: EnvelopeBody): void {
    if (this.ended) return;
    try {
      this.writer.add(id, 0, kind, body);
    } catch (e) {
      // Only a handler returning something that is not a PeerReply gets here.
      this.writer.add(id, 0, KIND_ERROR, this.#asDynamoError(e));
    }
  }
}

/** Serves dynamo.v1.Peer/Stream and tracks open streams so shutdown can drain them. */
export class PeerStreamServer {
  readonly #handler: PeerHandler;
  readonly #opts: ServedStreamOptions;
  readonly #streams = new ServedStreams<ServedPeerStream>();
  readonly #stats: PeerStreamStats = { streamsOpened: 0, repliesDropped: 0, streamsCutOff: 0 };

  constructor(handler: PeerHandler, opts: ServedStreamOptions) {
    this.#handler = handler;
    this.#opts = opts;
  }

  /** The grpc-js implementation object for PEER_SERVICE. */
  implementation(): grpc.UntypedServiceImplementation {
    return {
      Stream: (call: FrameStream) => {
        this.#stats.streamsOpened++;
        this.#streams.add(new ServedPeerStream(call, this.#handler, this.#opts, this.#stats, (s) => this.#streams.delete(s)));
      },
    };
  }

  /** A snapshot of the counters. */
  stats(): PeerStreamStats {
    return { ...this.#stats };
  }

  /** End every stream as soon as its in-flight requests are answered. */
  drain(): void {
    this.#streams.drain();
  }
}
