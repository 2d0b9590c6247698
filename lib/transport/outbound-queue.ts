/**
 * Frames handed to one grpc-js stream whose write has not completed yet, and
 * a watchdog that notices a reader making no progress.
 *
 * grpc-js's `write(frame, cb)` never refuses a frame: it buffers without limit
 * and calls `cb` once HTTP/2 has taken the bytes — once the receiver's
 * flow-control window had room for them. What lies between the two is what a
 * slow reader makes us hold, so each end of a stream counts it here and
 * applies its own bound (ServedStream stops reading and drops replies,
 * PeerConnection fails new requests fast). Completions come in write order
 * (a Writable runs one write at a time), so a FIFO of frame sizes is all the
 * bookkeeping: no closure and no timer per frame.
 *
 * Watchdog: while any frame is held, one timer checks every `stallMsMax`
 * whether any frame completed since its last look; if none did, `onStall` is
 * called and the owner cuts the stream off. A reader that takes nothing for
 * that long while we have something for it is stalled, however little it is.
 * (At most one timer per stallMsMax per stream, and none on an idle one.)
 */
import type { Time, TimerHandle } from '../runtime/index.ts';

/** Default bound on the bytes one stream may hold for a reader that does not keep up (both ends of peer streams, Sessions): 16 MiB. */
export const QUEUED_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
/** Default stall limit: long enough for any reader that is alive, short next to keepalive's ~40 s to detect a dead one. */
export const STALL_MS_MAX_DEFAULT = 20_000;

/** The part of a grpc-js stream the queue writes to. */
export interface FrameSink {
  write(frame: Buffer, cb: (error?: unknown) => void): boolean;
}

/** What an OutboundQueue needs from its owner. */
export interface OutboundQueueOptions {
  readonly time: Time;
  /** How long frames may be held without any of them completing before onStall (detected within twice that). */
  readonly stallMsMax: number;
  /** A frame completed; `tag` is the number its writer attached to it (e.g. the replies whose slots it frees). */
  readonly onFlushed: (tag: number) => void;
  /** No frame completed for stallMsMax while frames were held. */
  readonly onStall: (heldBytes: number, stalledMs: number) => void;
}

/** Compact the FIFO once this many completed frames sit at its head. */
const COMPACT_AT = 1024;

/** The frames in flight on one stream; see the module comment. One per stream (callbacks of a dead stream must not land in a new one). */
export class OutboundQueue {
  readonly #sink: FrameSink;
  readonly #opts: OutboundQueueOptions;
  #bytes = 0;
  readonly #sizes: number[] = [];
  readonly #tags: number[] = [];
  /** Index of the oldest frame not yet completed. */
  #head = 0;
  /** Frames completed so far (the watchdog's measure of progress). */
  #completed = 0;
  #watch: TimerHandle | undefined;
  #completedAtWatch = 0;
  #closed = false;
  readonly #onWritten = (): void => {
    if (this.#closed || this.#head >= this.#sizes.length) return;
    const size = this.#sizes[this.#head]!;
    const tag = this.#tags[this.#head]!;
    this.#head++;
    if (this.#head >= COMPACT_AT) {
      this.#sizes.splice(0, this.#head);
      this.#tags.splice(0, this.#head);
      this.#head = 0;
    }
    this.#bytes -= size;
    this.#completed++;
    this.#opts.onFlushed(tag);
  };
  readonly #check = (): void => {
    this.#watch = undefined;
    if (this.#closed || this.frames === 0) return;
    if (this.#completed === this.#completedAtWatch) this.#opts.onStall(this.#bytes, this.#opts.stallMsMax);
    else this.#arm();
  };

  constructor(sink: FrameSink, opts: OutboundQueueOptions) {
    this.#sink = sink;
    this.#opts = opts;
  }

  /** Bytes written and not yet taken by HTTP/2. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Frames written and not yet taken by HTTP/2. */
  get frames(): number {
    return this.#sizes.length - this.#head;
  }

  /** Write `frame` to the stream; `tag` comes back through onFlushed when it completes. */
  write(frame: Buffer, tag: number): void {
    if (this.#closed) return;
    this.#sizes.push(frame.length);
    this.#tags.push(tag);
    this.#bytes += frame.length;
    this.#sink.write(frame, this.#onWritten);
    if (this.#watch === undefined) this.#arm();
  }

  /** The stream is gone: forget its frames, stop the watchdog; later completions are ignored. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#watch !== undefined) this.#opts.time.cancelTimer(this.#watch);
    this.#watch = undefined;
    this.#bytes = 0;
    this.#sizes.length = 0;
    this.#tags.length = 0;
    this.#head = 0;
  }

  #arm(): void {
    this.#completedAtWatch = this.#completed;
    this.#watch = this.#opts.time.setTimer(this.#opts.stallMsMax, this.#check);
  }
}
