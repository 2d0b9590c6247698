/**
 * The server's end of a long-lived batching bidi stream (peer streams and
 * client Sessions share it): headers sent on accept, a FrameBatcher for the
 * replies, counting of requests in flight, the end of the stream once they
 * are answered (caller half-close or server drain), and ending it with a
 * status when a frame cannot be trusted. Subclasses decode frames and serve
 * what is in them.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../runtime/index.ts';
import type { FrameBatcher } from './batch-writer.ts';

/** A server-side bidi stream of frames (pass-through serializers). */
export type FrameStream = grpc.ServerDuplexStream<Buffer, Buffer>;

/** One accepted stream; see the module comment. */
export abstract class ServedStream<W extends FrameBatcher> {
  protected readonly call: FrameStream;
  protected readonly logger: Logger;
  /** Replies are added here; frames are dropped once the stream has ended. */
  protected readonly writer: W;
  readonly #onGone: (s: object) => void;
  #inflight = 0;
  /** No more replies can be sent (cancelled, failed, or we ended it). */
  #ended = false;
  /** End our side once nothing is in flight (caller half-closed, or server draining). */
  #finishing = false;

  /** `makeWriter` gets the function that sends a finished frame with its entry count. */
  constructor(call: FrameStream, logger: Logger, makeWriter: (send: (frame: Buffer, entries: number) => void) => W, onGone: (s: object) => void) {
    this.call = call;
    this.logger = logger;
    this.#onGone = onGone;
    this.writer = makeWriter((frame, entries) => {
      if (this.#ended) return;
      this.call.write(frame);
      this.sent(entries);
    });
    // Headers now, so the caller learns the stream is up before any reply.
    call.sendMetadata(new grpc.Metadata());
    call.on('data', (frame: Buffer) => {
      if (!this.#ended) this.onFrame(frame);
    });
    call.on('end', () => this.finish());
    call.on('cancelled', () => this.#gone());
    call.on('error', (e: Error) => {
      this.logger.trace('stream error', { path: call.getPath(), error: e });
      this.#gone();
    });
  }

  /** Requests being served. */
  protected get inflight(): number {
    return this.#inflight;
  }

  /** True once no more replies can be sent. */
  protected get ended(): boolean {
    return this.#ended;
  }

  /** Reply to what is in flight, then end the stream with OK. */
  finish(): void {
    this.#finishing = true;
    if (this.#inflight === 0 && !this.#ended) {
      this.writer.flush();
      this.#ended = true;
      this.call.end();
      this.#over();
    }
  }

  /** Decode one received frame and serve what is in it. */
  protected abstract onFrame(frame: Buffer): void;

  /** The stream is over (ended, aborted, cancelled or failed): release what it holds. */
  protected over(): void {}

  /** A frame of `entries` replies was written (for counters). */
  protected sent(_entries: number): void {}

  /** A request started being served. */
  protected started(): void {
    this.#inflight++;
  }

  /** A request was answered (its reply is already added): ends the stream if it was the last one awaited. */
  protected settled(): void {
    this.#inflight--;
    if (this.#finishing) this.finish();
  }

  /** The stream can no longer be trusted (a malformed frame): end it with INVALID_ARGUMENT. */
  protected abort(e: unknown): void {
    this.logger.error('malformed frame; ending the stream', { path: this.call.getPath(), error: e });
    this.writer.flush();
    this.#ended = true;
    this.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
    this.#over();
  }

  #gone(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.writer.discard();
    this.#over();
  }

  #over(): void {
    this.#onGone(this);
    this.over();
  }
}

/** The open streams of one method, so shutdown can drain them. */
export class ServedStreams<S extends { drain(): void }> {
  readonly #streams = new Set<S>();
  #draining = false;

  /** Track a new stream (drained at once if shutdown has begun). */
  add(stream: S): void {
    this.#streams.add(stream);
    if (this.#draining) stream.drain();
  }

  /** Forget a stream that is gone. */
  delete(stream: object): void {
    this.#streams.delete(stream as S);
  }

  /** Drain every stream, and every stream accepted from now on. */
  drain(): void {
    this.#draining = true;
    for (const s of [...this.#streams]) s.drain();
  }
}
