/**
 * The caller's end of one peer stream: a grpc-js channel to one address
 * (created once, reused), at most one live bidi stream on it, the requests
 * awaiting replies keyed by correlation id, and the reconnect backoff.
 *
 * What "never reached the peer" means, provably: nothing is written on a
 * stream before the callee has accepted it (its response headers arrive; the
 * callee sends them on accept, served-stream.ts) — frames finished earlier
 * wait, bounded, and go out in order on accept. A request whose envelope was
 * never handed to an accepted stream fails with maybeApplied false; one that
 * was handed over and then lost its stream, or timed out, fails with
 * maybeApplied true (it may have been applied). Entries are numbered per
 * stream, so "was it written" is one comparison, not a flag per request.
 *
 * Flow control: bytes handed to grpc-js and not yet taken by HTTP/2, plus
 * those waiting for the accept and the frame being built, are bounded by
 * `queuedBytesMax`; beyond it new requests fail fast (UnavailableError,
 * maybeApplied false). A stream that takes none of our frames for
 * `stallMsMax` is cancelled, like a broken one, and so is one the peer has
 * not accepted within `stallMsMax` (its held requests were never written).
 * One timer per stream for the accept, none per request for any of this.
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
import { OutboundQueue } from './outbound-queue.ts';
import { decodeBatch, KIND_ERROR, KIND_REPLY, KIND_REQUEST, type EnvelopeVisitor } from './peer-codec.ts';

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
  /** Requests failed at once because too many bytes were queued for their peer. */
  requestsRefusedQueueFull: number;
  /** Streams cancelled because their peer took none of our frames for too long. */
  streamsStalled: number;
}

/** Settings one connection needs from its transport. */
export interface PeerConnectionOptions {
  readonly address: Address;
  /** Channel credentials (plaintext, or the node's certificate trusting the cluster CA: tls.ts). */
  readonly credentials?: grpc.ChannelCredentials;
  readonly time: Time;
  readonly logger: Logger;
  readonly inflightMax: number;
  /** Request bytes queued for the peer (unsent, or sent and not yet taken by HTTP/2) beyond which requests fail fast. */
  readonly queuedBytesMax: number;
  /** How long the peer may take none of our frames before the stream is cancelled. */
  readonly stallMsMax: number;
  readonly backoffMsMin: number;
  readonly backoffMsMax: number;
  readonly stats: TransportStats;
}

/** One attempt at a stream: the call, whether the callee accepted it, and what was written on it. */
interface Stream {
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly out: OutboundQueue;
  /** The callee sent its headers: frames may be written. */
  accepted: boolean;
  /** Frames finished before the accept, with their entry counts, written in order on accept. */
  readonly held: Buffer[];
  readonly heldEntries: number[];
  heldBytes: number;
  /** Envelopes added to the writer for this stream; a request's `seq` is its index among them. */
  entriesAdded: number;
  /** Envelopes handed to the accepted stream (always a prefix of those added). */
  entriesWritten: number;
  /** Its end has been handled. */
  over: boolean;
  /** Cancels the stream if the peer has not accepted it in time. */
  acceptTimer: TimerHandle | undefined;
}

interface Pending {
  readonly id: number;
  readonly type: PeerRequest['type'];
  readonly timeoutMs: number;
  readonly resolve: (r: Result<PeerReply, DynamoError>) => void;
  readonly stream: Stream;
  /** Index of its envelope among the stream's entries: written iff seq < stream.entriesWritten. */
  readonly seq: number;
  timer: TimerHandle | undefined;
}

type Reply = Promise<Result<PeerReply, DynamoError>>;

const COUNTS = { answered: 0, required: 1 };

/** One peer address: its channel, its current stream and the requests in flight on it. */
export class PeerConnection {
  readonly #opts: PeerConnectionOptions;
  #client: grpc.Client | undefined;
  #stream: Stream | undefined;
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
    if (kind === KIND_ERROR) return p.resolve(err(body as DynamoError)); // the remote's own maybeApplied
    const address = this.#opts.address;
    let problem: string;
    if (kind === KIND_REPLY) {
      const rep = body as PeerReply;
      if (rep.type === p.type) return p.resolve(ok(rep));
      problem = `answered a ${p.type} request with a ${rep.type} reply`;
    } else if (kind === KIND_REQUEST) problem = 'sent a request where a reply was expected';
    else problem = `sent an undecodable reply (${(body as Error).message})`;
    // The peer got the request and did something with it: it may have been applied.
    p.resolve(err(new DynamoError('DYNAMO_INTERNAL', `peer ${address} ${problem}`, { maybeApplied: true })));
  };

  constructor(opts: PeerConnectionOptions) {
    this.#opts = opts;
    // The writer is discarded whenever the stream goes, so #stream is set when it sends.
    this.#writer = new BatchWriter((frame, entries) => {
      const s = this.#stream!;
      if (s.accepted) this.#write(s, frame, entries);
      else {
        s.held.push(frame);
        s.heldEntries.push(entries);
        s.heldBytes += frame.length;
      }
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

  /** Request bytes queued for the peer: waiting for the accept, being batched, or written and not yet taken by HTTP/2. */
  get queuedBytes(): number {
    const s = this.#stream;
    return s === undefined ? 0 : s.heldBytes + s.out.bytes + this.#writer.pendingBytes;
  }

  request(req: PeerRequest, timeoutMs: number): Reply {
    const address = this.#opts.address;
    if (this.#closed) return refused(`peer ${address} unreachable: transport closed`);
    const s = this.#stream ?? this.#open();
    if (s === undefined) return refused(`peer ${address} unreachable: ${this.#lastReason}`);
    if (this.#pending.size >= this.#opts.inflightMax) return refused(`too many in-flight requests to ${address} (limit ${this.#opts.inflightMax})`);
    if (this.queuedBytes >= this.#opts.queuedBytesMax) {
      this.#opts.stats.requestsRefusedQueueFull++;
      return refused(`peer ${address} is not taking requests fast enough: ${this.queuedBytes} bytes queued (limit ${this.#opts.queuedBytesMax})`);
    }
    if (!(timeoutMs > 0)) return Promise.resolve(err(this.#timeoutError(timeoutMs, false)));
    const id = this.#ids.next(this.#pending);
    const seq = s.entriesAdded;
    try {
      this.#writer.add(id, timeoutMs, KIND_REQUEST, req);
    } catch (e) {
      // Only a request that is not a PeerRequest gets here; the batch is left intact (see peer-codec).
      return Promise.resolve(err(new InvalidArgumentError(`cannot encode peer request: ${(e as Error).message}`)));
    }
    s.entriesAdded++;
    return new Promise((resolve) => {
      const p: Pending = { id, type: req.type, timeoutMs, resolve, stream: s, seq, timer: undefined };
      p.timer = this.#opts.time.setTimer(timeoutMs, () => this.#expire(p));
      this.#pending.set(id, p);
    });
  }

  /** Cancel the stream and close the channel; pending requests resolve UnavailableError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#stream;
    if (s !== undefined) this.#end(s, `transport closed`);
    s?.call.cancel();
    this.#client?.close();
  }

  /** Open a stream unless we are backing off after a failure. */
  #open(): Stream | undefined {
    if (this.#opts.time.monotonicMs() < this.#retryAtMs) return undefined;
    this.#client ??= new grpc.Client(this.#opts.address, this.#opts.credentials ?? grpc.credentials.createInsecure(), PEER_CHANNEL_OPTIONS);
    const call = this.#client.makeBidiStreamRequest<Buffer, Buffer>(PEER_STREAM_PATH, passThrough, passThrough);
    const s: Stream = {
      call,
      out: new OutboundQueue(call, {
        time: this.#opts.time,
        stallMsMax: this.#opts.stallMsMax,
        onFlushed: () => {},
        onStall: (heldBytes, stalledMs) => this.#stalled(s, heldBytes, stalledMs),
      }),
      accepted: false,
      held: [],
      heldEntries: [],
      heldBytes: 0,
      entriesAdded: 0,
      entriesWritten: 0,
      over: false,
      acceptTimer: undefined,
    };
    s.acceptTimer = this.#opts.time.setTimer(this.#opts.stallMsMax, () => this.#notAccepted(s));
    this.#stream = s;
    this.#opts.stats.streamsOpened++;
    // The callee sends headers as soon as it accepts the stream: only then is anything written.
    call.on('metadata', () => this.#accepted(s));
    call.on('data', (frame: Buffer) => this.#onFrame(s, frame));
    // Every outcome ends in exactly one 'status'; 'error' only needs a listener so it is not thrown.
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => this.#ended(s, status));
    return s;
  }

  #accepted(s: Stream): void {
    if (this.#stream !== s || s.accepted) return;
    s.accepted = true;
    this.#cancelAcceptTimer(s);
    this.#connected();
    for (let i = 0; i < s.held.length; i++) this.#write(s, s.held[i]!, s.heldEntries[i]!);
    s.held.length = 0;
    s.heldEntries.length = 0;
    s.heldBytes = 0;
  }

  #write(s: Stream, frame: Buffer, entries: number): void {
    s.entriesWritten += entries;
    s.out.write(frame, entries);
    this.#opts.stats.framesSent++;
    this.#opts.stats.envelopesSent += entries;
  }

  #connected(): void {
    this.#reachable = true;
    this.#failures = 0;
  }

  #onFrame(s: Stream, frame: Buffer): void {
    if (this.#stream !== s) return;
    this.#connected();
    this.#opts.stats.framesReceived++;
    try {
      this.#opts.stats.envelopesReceived += decodeBatch(frame, this.#onEnvelope);
    } catch (e) {
      this.#opts.logger.error('malformed frame from peer; resetting the stream', { peer: this.#opts.address, error: e });
      this.#ended(s, { code: grpc.status.INTERNAL, details: `malformed frame: ${(e as Error).message}`, metadata: new grpc.Metadata() });
      s.call.cancel();
    }
  }

  #cancelAcceptTimer(s: Stream): void {
    if (s.acceptTimer !== undefined) this.#opts.time.cancelTimer(s.acceptTimer);
    s.acceptTimer = undefined;
  }

  /** The peer has not accepted the stream in time: give up on it (nothing was written on it). */
  #notAccepted(s: Stream): void {
    s.acceptTimer = undefined;
    if (s.accepted || s.over) return;
    const details = `peer did not accept the stream within ${this.#opts.stallMsMax} ms`;
    this.#ended(s, { code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() });
    s.call.cancel();
  }

  /** The peer took none of our frames for stallMsMax: treat the stream as broken. */
  #stalled(s: Stream, heldBytes: number, stalledMs: number): void {
    this.#opts.logger.warn('cancelling a peer stream that takes no requests', { peer: this.#opts.address, heldBytes, stalledMs });
    this.#opts.stats.streamsStalled++;
    this.#ended(s, { code: grpc.status.UNAVAILABLE, details: `peer took no request for ${stalledMs} ms`, metadata: new grpc.Metadata() });
    s.call.cancel();
  }

  /** The stream is over: fail what it carried; after an error, back off before the next one. */
  #ended(s: Stream, status: grpc.StatusObject): void {
    if (s.over) return;
    if (status.code === grpc.status.OK) {
      this.#lastReason = 'peer closed the stream';
    } else {
      this.#reachable = false;
      this.#failures++;
      this.#lastReason = (status.details || grpc.status[status.code] || String(status.code)).replace(/\s*Resolution note:\s*$/, '');
      const backoffMs = Math.min(this.#opts.backoffMsMin * 2 ** (this.#failures - 1), this.#opts.backoffMsMax);
      this.#retryAtMs = this.#opts.time.monotonicMs() + backoffMs;
      this.#opts.logger.trace('peer stream failed', { peer: this.#opts.address, reason: this.#lastReason, backoffMs });
      // Refused credentials do not heal by retrying: say so once per streak of failures.
      if (this.#failures === 1 && status.code === grpc.status.UNAUTHENTICATED) {
        this.#opts.logger.warn('a peer refused this node: its certificate is not from the cluster CA', { peer: this.#opts.address, reason: this.#lastReason });
      }
    }
    this.#end(s, this.#lastReason);
  }

  /** Forget `s` and fail every request it carried: maybeApplied exactly when its envelope was written. */
  #end(s: Stream, reason: string): void {
    s.over = true;
    s.out.close();
    this.#cancelAcceptTimer(s);
    if (this.#stream === s) {
      this.#stream = undefined;
      this.#writer.discard();
    }
    const unreachable = `peer ${this.#opts.address} unreachable: ${reason}`;
    for (const p of [...this.#pending.values()]) {
      if (p.stream !== s) continue;
      this.#settle(p);
      const written = p.seq < s.entriesWritten;
      const message = written ? `${unreachable} (the request was sent and may have been applied)` : unreachable;
      p.resolve(err(new UnavailableError(message, COUNTS, { maybeApplied: written })));
    }
  }

  #timeoutError(timeoutMs: number, maybeApplied: boolean): TimeoutError {
    return new TimeoutError(`no reply from peer ${this.#opts.address} within ${timeoutMs} ms`, COUNTS, { maybeApplied });
  }

  /** No reply in time. Even a request still waiting for the accept will be written later: it may be applied. */
  #expire(p: Pending): void {
    if (this.#pending.get(p.id) !== p) return;
    this.#pending.delete(p.id);
    p.resolve(err(this.#timeoutError(p.timeoutMs, true)));
  }

  #settle(p: Pending): void {
    this.#pending.delete(p.id);
    if (p.timer !== undefined) this.#opts.time.cancelTimer(p.timer);
  }
}

/** A request refused before anything was written: provably not applied. */
function refused(message: string): Reply {
  return Promise.resolve(err(new UnavailableError(message, COUNTS, { maybeApplied: false })));
}
