/**
 * The caller's end of one peer stream: a grpc-js channel to one address
 * (created once, reused), at most one live bidi stream on it, the requests
 * awaiting replies keyed by correlation id, and the reconnect backoff. A
 * broken stream fails everything pending on it with UnavailableError; the next
 * request after the backoff opens a new stream on the same channel.
 */
import * as grpc from '@grpc/grpc-js';
import {
  DynamoError,
  err,
  InvalidArgumentError,
  ok,
  TimeoutError,
  UnavailableError,
  type Logger,
  type Result,
  type Time,
  type TimerHandle,
} from '../runtime/index.ts';
import type { Address, PeerReply, PeerRequest } from '../protocol/index.ts';
import { BatchWriter } from './batch-writer.ts';
import { CorrelationIds } from './correlation-ids.ts';
import { PEER_CHANNEL_OPTIONS, PEER_STREAM_PATH, passThrough } from './grpc-options.ts';
import { decodeBatch, KIND_REPLY, KIND_REQUEST, type EnvelopeVisitor } from './peer-codec.ts';

/** Frame and stream counters of a GrpcTransport (monotonic since construction). */
export interface TransportStats {
  /** PeerBatch frames written to peer streams. */
  framesSent: number;
  /** Request envelopes inside those frames. */
  envelopesSent: number;
  /** PeerBatch frames received from peers. */
  framesReceived: number;
  /** Reply/error envelopes inside those frames. */
  envelopesReceived: number;
  /** Streams opened: first connections plus reconnects. */
  streamsOpened: number;
}

/** Settings one connection needs from its transport. */
export interface PeerConnectionOptions {
  readonly address: Address;
  readonly time: Time;
  readonly logger: Logger;
  readonly inflightMax: number;
  readonly backoffMsMin: number;
  readonly backoffMsMax: number;
  readonly stats: TransportStats;
}

interface Pending {
  readonly id: number;
  readonly type: PeerRequest['type'];
  readonly timeoutMs: number;
  readonly resolve: (r: Result<PeerReply, DynamoError>) => void;
  timer: TimerHandle | undefined;
}

type Reply = Promise<Result<PeerReply, DynamoError>>;

/** One peer address: its channel, its current stream and the requests in flight on it. */
export class PeerConnection {
  readonly #opts: PeerConnectionOptions;
  #client: grpc.Client | undefined;
  #call: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  readonly #pending = new Map<number, Pending>();
  readonly #writer: BatchWriter;
  readonly #ids = new CorrelationIds();
  #reachable = true;
  #failures = 0;
  #retryAtMs = 0;
  #lastReason = '';
  #closed = false;
  readonly #onEnvelope: EnvelopeVisitor = (id, _timeoutMs, kind, body) => {
    const p = this.#pending.get(id);
    if (p === undefined) return; // timed out already; the late reply is dropped
    this.#settle(p);
    if (kind === KIND_REPLY) {
      const rep = body as PeerReply;
      p.resolve(
        rep.type === p.type
          ? ok(rep)
          : err(new DynamoError('DYNAMO_INTERNAL', `peer ${this.#opts.address} answered a ${p.type} request with a ${rep.type} reply`)),
      );
    } else if (kind === KIND_REQUEST) {
      p.resolve(err(new DynamoError('DYNAMO_INTERNAL', `peer ${this.#opts.address} sent a request where a reply was expected`)));
    } else p.resolve(err(body as DynamoError));
  };

  constructor(opts: PeerConnectionOptions) {
    this.#opts = opts;
    this.#writer = new BatchWriter((frame, envelopes) => {
      // The writer is discarded whenever the stream goes, so #call is set here.
      this.#call?.write(frame);
      opts.stats.framesSent++;
      opts.stats.envelopesSent += envelopes;
    });
  }

  /** See Transport.reachable. */
  get reachable(): boolean {
    return this.#reachable;
  }

  /** Requests awaiting a reply. */
  get inflight(): number {
    return this.#pending.size;
  }

  request(req: PeerRequest, timeoutMs: number): Reply {
    const address = this.#opts.address;
    if (this.#closed) return Promise.resolve(err(new UnavailableError(`peer ${address} unreachable: transport closed`, { answered: 0, required: 1 })));
    if (this.#call === undefined && !this.#open()) return Promise.resolve(err(this.#unreachable()));
    if (this.#pending.size >= this.#opts.inflightMax) {
      return Promise.resolve(
        err(new UnavailableError(`too many in-flight requests to ${address} (limit ${this.#opts.inflightMax})`, { answered: 0, required: 1 })),
      );
    }
    if (!(timeoutMs > 0)) return Promise.resolve(err(this.#timeoutError(timeoutMs)));
    const id = this.#ids.next(this.#pending);
    try {
      this.#writer.add(id, timeoutMs, KIND_REQUEST, req);
    } catch (e) {
      // Only a request that is not a PeerRequest gets here; the batch is left intact (see peer-codec).
      return Promise.resolve(err(new InvalidArgumentError(`cannot encode peer request: ${(e as Error).message}`)));
    }
    return new Promise((resolve) => {
      const p: Pending = { id, type: req.type, timeoutMs, resolve, timer: undefined };
      p.timer = this.#opts.time.setTimer(timeoutMs, () => this.#expire(p));
      this.#pending.set(id, p);
    });
  }

  /** Cancel the stream and close the channel; pending requests resolve UnavailableError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const call = this.#call;
    this.#call = undefined;
    this.#writer.discard();
    this.#failAll(`peer ${this.#opts.address} unreachable: transport closed`);
    call?.cancel();
    this.#client?.close();
  }

  /** Open a stream unless we are backing off after a failure. */
  #open(): boolean {
    if (this.#opts.time.monotonicMs() < this.#retryAtMs) return false;
    this.#client ??= new grpc.Client(this.#opts.address, grpc.credentials.createInsecure(), PEER_CHANNEL_OPTIONS);
    const call = this.#client.makeBidiStreamRequest<Buffer, Buffer>(PEER_STREAM_PATH, passThrough, passThrough);
    this.#call = call;
    this.#opts.stats.streamsOpened++;
    // The callee sends headers as soon as it accepts the stream: that is "connected".
    call.on('metadata', () => {
      if (this.#call === call) this.#connected();
    });
    call.on('data', (frame: Buffer) => this.#onFrame(call, frame));
    // Every outcome ends in exactly one 'status'; 'error' only needs a listener so it is not thrown.
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => this.#ended(call, status));
    return true;
  }

  #connected(): void {
    this.#reachable = true;
    this.#failures = 0;
  }

  #onFrame(call: grpc.ClientDuplexStream<Buffer, Buffer>, frame: Buffer): void {
    if (this.#call !== call) return;
    this.#connected();
    this.#opts.stats.framesReceived++;
    try {
      this.#opts.stats.envelopesReceived += decodeBatch(frame, this.#onEnvelope);
    } catch (e) {
      this.#opts.logger.error('malformed frame from peer; resetting the stream', { peer: this.#opts.address, error: e });
      this.#ended(call, { code: grpc.status.INTERNAL, details: `malformed frame: ${(e as Error).message}`, metadata: new grpc.Metadata() });
      call.cancel();
    }
  }

  /** The stream is over: fail what it carried; after an error, back off before the next one. */
  #ended(call: grpc.ClientDuplexStream<Buffer, Buffer>, status: grpc.StatusObject): void {
    if (this.#call !== call) return;
    this.#call = undefined;
    this.#writer.discard();
    if (status.code === grpc.status.OK) {
      this.#lastReason = 'peer closed the stream';
    } else {
      this.#reachable = false;
      this.#failures++;
      this.#lastReason = (status.details || grpc.status[status.code] || String(status.code)).replace(/\s*Resolution note:\s*$/, '');
      const backoffMs = Math.min(this.#opts.backoffMsMin * 2 ** (this.#failures - 1), this.#opts.backoffMsMax);
      this.#retryAtMs = this.#opts.time.monotonicMs() + backoffMs;
      this.#opts.logger.trace('peer stream failed', { peer: this.#opts.address, reason: this.#lastReason, backoffMs });
    }
    this.#failAll(`peer ${this.#opts.address} unreachable: ${this.#lastReason}`);
  }

  #unreachable(): UnavailableError {
    return new UnavailableError(`peer ${this.#opts.address} unreachable: ${this.#lastReason}`, { answered: 0, required: 1 });
  }

  #timeoutError(timeoutMs: number): TimeoutError {
    return new TimeoutError(`no reply from peer ${this.#opts.address} within ${timeoutMs} ms`, { answered: 0, required: 1 });
  }

  #expire(p: Pending): void {
    if (this.#pending.get(p.id) !== p) return;
    this.#pending.delete(p.id);
    p.resolve(err(this.#timeoutError(p.timeoutMs)));
  }

  #settle(p: Pending): void {
    this.#pending.delete(p.id);
    if (p.timer !== undefined) this.#opts.time.cancelTimer(p.timer);
  }

  #failAll(message: string): void {
    if (this.#pending.size === 0) return;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      if (p.timer !== undefined) this.#opts.time.cancelTimer(p.timer);
      p.resolve(err(new UnavailableError(message, { answered: 0, required: 1 })));
    }
  }
}
