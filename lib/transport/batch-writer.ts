/**
 * Coalesces entries into frames: everything added in one event-loop turn
 * leaves as one gRPC message (a PeerBatch on peer streams, SessionRequests /
 * SessionResponses on client sessions — each a message whose field 1 repeats
 * the entries). The flush runs at the end of the turn (after the turn's I/O
 * callbacks, never on a timer, so it adds no wait of its own), or at once
 * when the frame reaches its size bound.
 *
 * Why the end of the turn and not a microtask: a microtask runs as soon as
 * the callback that queued it returns, so each socket read or storage
 * completion sent its own frame, 1.3-1.4 envelopes each under the bench's
 * load. Gathered over the whole turn, frames carry more, and every frame
 * saved is a grpc-js write, an HTTP/2 DATA frame and a read on the other
 * side: `npm run bench` A/B, 4 pairs, ops/s 1.19x on both paths, server CPU
 * per op 0.87x (Session) and 0.82x (unary).
 */
import protobuf from 'protobufjs';
import { atTurnEnd } from '../runtime/index.ts';
import { writeEnvelope, type EnvelopeBody, type EnvelopeKind } from './peer-codec.ts';
import type { Writer } from './wire.ts';

/** When a batch is sent before its turn ends. */
export interface BatchLimits {
  readonly envelopesMax: number;
  readonly bytesMax: number;
}

/** 256 entries or 1 MiB, whichever comes first (a single entry may exceed the byte bound). */
export const DEFAULT_BATCH_LIMITS: BatchLimits = { envelopesMax: 256, bytesMax: 1024 * 1024 };

/**
 * The frame being built and its flush policy. Subclasses write each entry
 * straight into `writer` (no intermediate objects) and then call `added()`.
 */
export abstract class FrameBatcher {
  /** The frame under construction; entries are appended as field-1 records. */
  protected readonly writer: Writer = protobuf.Writer.create();
  #count = 0;
  #queued = false;
  readonly #limits: BatchLimits;
  readonly #send: (frame: Buffer, entries: number) => void;
  readonly #flushTask = (): void => {
    this.#queued = false;
    this.flush();
  };

  readonly #defer: (fn: () => void) => void;

  /**
   * `send` receives each finished frame and its entry count. `defer` runs the
   * flush later in the turn (default: at its end; tests may pass their own).
   */
  constructor(send: (frame: Buffer, entries: number) => void, limits: BatchLimits = DEFAULT_BATCH_LIMITS, defer: (fn: () => void) => void = atTurnEnd) {
    this.#send = send;
    this.#limits = limits;
    this.#defer = defer;
  }

  /** Entries waiting for the next flush. */
  get size(): number {
    return this.#count;
  }

  /** Bytes of the frame under construction (not yet handed to `send`). */
  get pendingBytes(): number {
    return this.writer.len;
  }

  /** Send what is pending now (no-op when empty). */
  flush(): void {
    if (this.#count === 0) return;
    const frame = this.writer.finish() as Buffer;
    const count = this.#count;
    this.writer.reset();
    this.#count = 0;
    this.#send(frame, count);
  }

  /** Drop what is pending (the stream it was meant for is gone). */
  discard(): void {
    this.writer.reset();
    this.#count = 0;
  }

  /**
   * Call before writing an entry of `entryBytes`: sends the pending frame
   * first if the entry would take it past the byte bound, so a frame
   * outgrows `bytesMax` only when one entry alone does.
   */
  protected makeRoom(entryBytes: number): void {
    if (this.#count > 0 && this.writer.len + entryBytes > this.#limits.bytesMax) this.flush();
  }

  /** Call after writing one entry: it is sent by the end of the current turn. */
  protected added(): void {
    this.#count++;
    if (this.#count >= this.#limits.envelopesMax || this.writer.len >= this.#limits.bytesMax) this.flush();
    else if (!this.#queued) {
      this.#queued = true;
      this.#defer(this.#flushTask);
    }
  }
}

/** Builds PeerBatch frames envelope by envelope. Used by both ends of a peer stream. */
export class BatchWriter extends FrameBatcher {
  /** Append one envelope; it is sent by the end of the current turn. Throws (batch intact) on a body that is not a peer message. */
  add(id: number, timeoutMs: number, kind: EnvelopeKind, body: EnvelopeBody): void {
    writeEnvelope(this.writer, id, timeoutMs, kind, body, true);
    this.added();
  }
}
