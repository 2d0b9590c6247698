/**
 * The server's end of a long-lived batching bidi stream (peer streams and
 * client Sessions share it): headers sent on accept, a FrameBatcher for the
 * replies, counting of requests in flight, the end of the stream once they
 * are answered (caller half-close or server drain), and ending it with a
 * status when a frame cannot be trusted. Subclasses decode frames and serve
 * what is in them.
 *
 * Flow control — a caller that stops reading must not make the node buffer
 * its replies without bound (grpc-js queues whatever is written), and one
 * that reads slower than the node answers must be slowed down, not failed:
 * - A request holds its in-flight slot from arrival until the frame carrying
 *   its reply has been taken by HTTP/2 (the write callback), so the
 *   subclass's in-flight bound also bounds the replies waiting to be sent.
 * - Requests start only while the reply bytes held (written to grpc-js and
 *   not yet taken, plus the frame being built) and those expected from the
 *   requests running fit in half of `queuedBytesMax` (reply-admission.ts);
 *   the others wait in arrival order, and while any wait the stream reads
 *   nothing more, so HTTP/2 flow control holds the caller back too.
 * - Should replies still reach `queuedBytesMax` (larger than estimated), a
 *   reply that becomes ready is replaced by a small error (the subclass
 *   decides which): what a stream holds stays within the bound plus one reply.
 * - A stream with replies waiting while none is taken for `stallMsMax`
 *   (detected within twice that) is reset with ENHANCE_YOUR_CALM — grpc-js
 *   callers see RESOURCE_EXHAUSTED — and a warning names it.
 * No timer or closure is made per request or per frame for any of this.
 */
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { Logger, Time } from '../runtime/index.ts';
import type { FrameBatcher } from './batch-writer.ts';
import { OutboundQueue } from './outbound-queue.ts';
import { ReplyAdmission } from './reply-admission.ts';

/** A server-side bidi stream of frames (pass-through serializers). */
export type FrameStream = grpc.ServerDuplexStream<Buffer, Buffer>;

/** What every served stream needs from its server. */
export interface ServedStreamOptions {
  readonly logger: Logger;
  readonly time: Time;
  /** Reply bytes a stream may hold unsent; see the module comment. */
  readonly queuedBytesMax: number;
  /** How long a stream with replies waiting may go without any taken before it is cut off. */
  readonly stallMsMax: number;
}

/**
 * Reset a server stream at once with RST_STREAM ENHANCE_YOUR_CALM (grpc-js
 * callers report RESOURCE_EXHAUSTED). grpc-js has no public way to do it:
 * ending the call waits until the buffered replies are sent, which a stalled
 * reader never allows. So this reaches the http2 stream under the call
 * (grpc-js 1.14: ServerDuplexStreamImpl.call, through any interceptors'
 * `nextCall`, to `.stream`). Should a future grpc-js move it, the call object
 * is destroyed instead, which still frees the frames it buffers; the
 * flow-control tests would notice the missing status.
 */
function resetStream(call: FrameStream): void {
  let c = (call as unknown as { call?: unknown }).call;
  for (let depth = 0; typeof c === 'object' && c !== null && depth < 8; depth++) {
    const stream = (c as { stream?: unknown }).stream;
    if (typeof stream === 'object' && stream !== null && typeof (stream as http2.Http2Stream).close === 'function' && 'rstCode' in stream) {
      (stream as http2.Http2Stream).close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    c = (c as { nextCall?: unknown }).nextCall;
  }
  call.destroy();
}

/** One accepted stream; see the module comment. `E` is what a deferred request is kept as. */
export abstract class ServedStream<W extends FrameBatcher, E> {
  protected readonly call: FrameStream;
  protected readonly logger: Logger;
  /** Replies are added here; frames are dropped once the stream has ended. */
  protected readonly writer: W;
  readonly #opts: ServedStreamOptions;
  readonly #out: OutboundQueue;
  readonly #admission: ReplyAdmission<E>;
  readonly #onGone: (s: object) => void;
  /** Requests received (waiting, running, or answered) whose reply has not been taken by HTTP/2 yet. */
  #inflight = 0;
  /** Replies of started requests added since the last frame went out: their slots go with the next frame. */
  #settledUnsent = 0;
  /** No more replies can be sent (cancelled, failed, cut off, or we ended it). */
  #ended = false;
  /** End our side once nothing is in flight (caller half-closed, or server draining). */
  #finishing = false;
  /** Not reading requests while some wait to start. */
  #paused = false;
  /** Inside #startWaiting (a request may settle synchronously and come back here). */
  #starting = false;

  /** `makeWriter` gets the function that sends a finished frame with its entry count. */
  constructor(call: FrameStream, opts: ServedStreamOptions, makeWriter: (send: (frame: Buffer, entries: number) => void) => W, onGone: (s: object) => void) {
    this.call = call;
    this.logger = opts.logger;
    this.#opts = opts;
    this.#onGone = onGone;
    this.#admission = new ReplyAdmission<E>(opts.queuedBytesMax / 2);
    this.#out = new OutboundQueue(call, {
      time: opts.time,
      stallMsMax: opts.stallMsMax,
      onFlushed: (slots) => this.#flushed(slots),
      onStall: (heldBytes, stalledMs) => this.#stalled(heldBytes, stalledMs),
    });
    this.writer = makeWriter((frame, entries) => {
      if (this.#ended) return;
      const slots = this.#settledUnsent;
      this.#settledUnsent = 0;
      this.#out.write(frame, slots);
      this.#admission.observe(frame.length, entries);
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

  /** Requests received whose reply has not been taken by HTTP/2 yet (waiting, running or answered). */
  protected get inflight(): number {
    return this.#inflight;
  }

  /** True once no more replies can be sent. */
  protected get ended(): boolean {
    return this.#ended;
  }

  /** Reply bytes held: written and not yet taken by HTTP/2, plus the frame being built. */
  protected get queuedBytes(): number {
    return this.#out.bytes + this.writer.pendingBytes;
  }

  /** The stream holds `queuedBytesMax` or more: a reply that becomes ready now must be dropped for a small error. */
  protected get full(): boolean {
    return this.queuedBytes >= this.#opts.queuedBytesMax;
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

  /** Serve a request `defer` kept, now that there is room (it counts as running). */
  protected abstract serveDeferred(entry: E): void;

  /** The stream is over (ended, aborted, cancelled or failed): release what it holds. */
  protected over(): void {}

  /** A frame of `entries` replies was written (for counters). */
  protected sent(_entries: number): void {}

  /** The stream was cut off for not reading (for counters). */
  protected cutOff(): void {}

  /**
   * A request arrived and will be served: it is in flight from now until its
   * reply is taken by HTTP/2. True: serve it now. False: hand it to `defer`
   * at once (the replies held and expected leave no room for it yet).
   */
  protected admit(): boolean {
    this.#inflight++;
    return this.#admission.tryStart(this.queuedBytes);
  }

  /**
   * Keep a request `admit` refused until there is room; the stream reads
   * nothing more meanwhile. (Its timeout counts from when it starts: a caller
   * that gave up meanwhile only costs the node a reply nobody reads.)
   */
  protected defer(entry: E): void {
    this.#admission.wait(entry);
    if (!this.#paused) {
      this.#paused = true;
      this.call.pause();
    }
  }

  /**
   * Call right BEFORE adding the reply (or error) of a started request to the
   * writer: its slot is freed once the frame carrying it has been taken.
   */
  protected settled(): void {
    this.#settledUnsent++;
    this.#admission.finished();
  }

  /** The stream can no longer be trusted (a malformed frame): end it with INVALID_ARGUMENT. */
  protected abort(e: unknown): void {
    this.logger.error('malformed frame; ending the stream', { path: this.call.getPath(), error: e });
    this.writer.flush();
    this.#ended = true;
    this.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
    this.#over();
  }

  #flushed(slots: number): void {
    this.#inflight -= slots;
    this.#startWaiting();
    if (this.#finishing) this.finish();
  }

  /** Start the waiting requests there is room for; read again once none waits. */
  #startWaiting(): void {
    if (this.#starting || this.#ended) return;
    this.#starting = true;
    try {
      for (let e = this.#admission.next(this.queuedBytes); e !== undefined; e = this.#admission.next(this.queuedBytes)) this.serveDeferred(e);
    } finally {
      this.#starting = false;
    }
    if (this.#paused && this.#admission.waiting === 0 && !this.#ended) {
      this.#paused = false;
      this.call.resume();
    }
  }

  #stalled(heldBytes: number, stalledMs: number): void {
    this.logger.warn('cutting off a stream whose caller stopped reading its replies', {
      path: this.call.getPath(),
      peer: this.call.getPeer(),
      heldBytes,
      stalledMs,
      inflight: this.#inflight,
    });
    this.cutOff();
    resetStream(this.call);
    this.#gone();
  }

  #gone(): void {
    this.#out.close();
    this.#admission.clear();
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
