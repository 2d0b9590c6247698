/**
 * Coalesces envelopes into PeerBatch frames: everything added in one
 * event-loop turn leaves as one gRPC message. The flush runs in a microtask
 * (never a timer, so it adds no latency and stays deterministic), or at once
 * when the batch reaches its size bound. Used by both ends of a peer stream.
 */
import protobuf from 'protobufjs';
import { writeEnvelope, type EnvelopeBody, type EnvelopeKind } from './peer-codec.ts';

/** When a batch is sent before its turn ends. */
export interface BatchLimits {
  readonly envelopesMax: number;
  readonly bytesMax: number;
}

/** 256 envelopes or 1 MiB, whichever comes first (a single envelope may exceed the byte bound). */
export const DEFAULT_BATCH_LIMITS: BatchLimits = { envelopesMax: 256, bytesMax: 1024 * 1024 };

/** Builds PeerBatch frames envelope by envelope and sends each when its turn ends or it is full. */
export class BatchWriter {
  #writer = protobuf.Writer.create();
  #count = 0;
  #queued = false;
  readonly #limits: BatchLimits;
  readonly #send: (frame: Buffer, envelopes: number) => void;
  readonly #flushTask = (): void => {
    this.#queued = false;
    this.flush();
  };

  /** `send` receives each finished PeerBatch frame and its envelope count. */
  constructor(send: (frame: Buffer, envelopes: number) => void, limits: BatchLimits = DEFAULT_BATCH_LIMITS) {
    this.#send = send;
    this.#limits = limits;
  }

  /** Envelopes waiting for the next flush. */
  get size(): number {
    return this.#count;
  }

  /** Append one envelope; it is sent by the end of the current turn. */
  add(id: number, timeoutMs: number, kind: EnvelopeKind, body: EnvelopeBody): void {
    writeEnvelope(this.#writer, id, timeoutMs, kind, body, true);
    this.#count++;
    if (this.#count >= this.#limits.envelopesMax || this.#writer.len >= this.#limits.bytesMax) this.flush();
    else if (!this.#queued) {
      this.#queued = true;
      queueMicrotask(this.#flushTask);
    }
  }

  /** Send what is pending now (no-op when empty). */
  flush(): void {
    if (this.#count === 0) return;
    const frame = this.#writer.finish() as Buffer;
    const count = this.#count;
    this.#writer.reset();
    this.#count = 0;
    this.#send(frame, count);
  }

  /** Drop what is pending (the stream it was meant for is gone). */
  discard(): void {
    this.#writer.reset();
    this.#count = 0;
  }
}
