/**
 * The callee's end of peer streams: decodes each PeerBatch, runs the
 * PeerHandler for every request concurrently and sends the replies back
 * batched (BatchWriter). A handler failure becomes an error envelope for that
 * request only — it never ends the stream or escapes as an exception.
 */
import * as grpc from '@grpc/grpc-js';
import { DynamoError, InvalidArgumentError, type Logger } from '../runtime/index.ts';
import type { PeerHandler, PeerReply, PeerRequest } from '../protocol/index.ts';
import { BatchWriter } from './batch-writer.ts';
import { PEER_STREAM_PATH, passThrough } from './grpc-options.ts';
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

type Stream = grpc.ServerDuplexStream<Buffer, Buffer>;

/** grpc-js definition of dynamo.v1.Peer with pass-through frames. */
export const PEER_SERVICE: grpc.ServiceDefinition = {
  Stream: {
    path: PEER_STREAM_PATH,
    originalName: 'Stream',
    requestStream: true,
    responseStream: true,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
};

/** One accepted stream. */
class ServedStream {
  readonly #call: Stream;
  readonly #handler: PeerHandler;
  readonly #logger: Logger;
  readonly #writer: BatchWriter;
  readonly #onGone: (s: ServedStream) => void;
  #inflight = 0;
  /** No more replies can be sent (cancelled, failed, or we ended it). */
  #ended = false;
  /** End our side once nothing is in flight (caller half-closed, or server draining). */
  #finishing = false;
  readonly #onEnvelope: EnvelopeVisitor = (id, timeoutMs, kind, body) => {
    if (kind === KIND_REQUEST) this.#serve(id, body as PeerRequest, timeoutMs);
    else if (kind === KIND_MALFORMED) this.#send(id, KIND_ERROR, body);
    else this.#send(id, KIND_ERROR, new InvalidArgumentError('malformed peer message (expected a request envelope)'));
  };

  constructor(call: Stream, handler: PeerHandler, logger: Logger, onGone: (s: ServedStream) => void) {
    this.#call = call;
    this.#handler = handler;
    this.#logger = logger;
    this.#onGone = onGone;
    this.#writer = new BatchWriter((frame) => {
      if (!this.#ended) this.#call.write(frame);
    });
    // Headers now, so the caller learns the stream is up before any reply.
    call.sendMetadata(new grpc.Metadata());
    call.on('data', (frame: Buffer) => this.#onFrame(frame));
    call.on('end', () => this.finish());
    call.on('cancelled', () => this.#gone());
    call.on('error', (e: Error) => {
      this.#logger.trace('peer stream error', { error: e });
      this.#gone();
    });
  }

  /** Reply to what is in flight, then end the stream (server shutdown or caller half-close). */
  finish(): void {
    this.#finishing = true;
    if (this.#inflight === 0 && !this.#ended) {
      this.#writer.flush();
      this.#ended = true;
      this.#call.end();
      this.#onGone(this);
    }
  }

  #gone(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#writer.discard();
    this.#onGone(this);
  }

  #onFrame(frame: Buffer): void {
    if (this.#ended) return;
    try {
      decodeBatch(frame, this.#onEnvelope);
    } catch (e) {
      // The frame itself is broken: the stream cannot be trusted any more.
      this.#logger.error('malformed frame from peer; ending the stream', { error: e });
      this.#writer.flush();
      this.#ended = true;
      this.#call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
      this.#onGone(this);
    }
  }

  #serve(id: number, req: PeerRequest, timeoutMs: number): void {
    this.#inflight++;
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
    this.#logger.error('unexpected error in peer handler', { error: e, stack: (e as Error)?.stack });
    return new DynamoError('DYNAMO_INTERNAL', `internal error: ${e instanceof Error ? e.message : String(e)}`);
  }

  #done(id: number, kind: EnvelopeKind, body: EnvelopeBody): void {
    this.#inflight--;
    this.#send(id, kind, body);
    if (this.#finishing) this.finish();
  }

  #send(id: number, kind: EnvelopeKind, body: EnvelopeBody): void {
    if (this.#ended) return;
    try {
      this.#writer.add(id, 0, kind, body);
    } catch (e) {
      // Only a handler returning something that is not a PeerReply gets here.
      this.#writer.add(id, 0, KIND_ERROR, this.#asDynamoError(e));
    }
  }
}

/** Serves dynamo.v1.Peer/Stream and tracks open streams so shutdown can drain them. */
export class PeerStreamServer {
  readonly #handler: PeerHandler;
  readonly #logger: Logger;
  readonly #streams = new Set<ServedStream>();
  #draining = false;

  constructor(handler: PeerHandler, logger: Logger) {
    this.#handler = handler;
    this.#logger = logger;
  }

  /** The grpc-js implementation object for PEER_SERVICE. */
  implementation(): grpc.UntypedServiceImplementation {
    return {
      Stream: (call: Stream) => {
        const stream = new ServedStream(call, this.#handler, this.#logger, (s) => this.#streams.delete(s));
        this.#streams.add(stream);
        if (this.#draining) stream.finish();
      },
    };
  }

  /** End every stream as soon as its in-flight requests are answered. */
  drain(): void {
    this.#draining = true;
    for (const s of [...this.#streams]) s.finish();
  }
}
