/**
 * Transport over gRPC: one PeerConnection (channel + long-lived bidi stream)
 * per peer address, created on first use. Requests issued in the same turn to
 * the same peer share one PeerBatch frame.
 */
import type * as grpc from '@grpc/grpc-js';
import type { DynamoError, Logger, Result, Time } from '../runtime/index.ts';
import type { Address, PeerRequest, ReplyFor } from '../protocol/index.ts';
import { PeerConnection, type TransportStats } from './peer-connection.ts';
import { QUEUED_BYTES_MAX_DEFAULT, STALL_MS_MAX_DEFAULT } from './outbound-queue.ts';
import type { Transport } from './transport.ts';
import { peerChannelCredentials, type TlsMaterial } from './tls.ts';

/** Construction options of GrpcTransport. */
export interface GrpcTransportOptions {
  time: Time;
  logger: Logger;
  /** Requests awaiting a reply per peer; beyond it requests fail fast with UnavailableError. Default 10,000. */
  inflightMax?: number;
  /**
   * Request bytes queued per peer — waiting for the stream's accept, being
   * batched, or written and not yet taken by HTTP/2 (the peer reads slower
   * than we send); beyond it requests fail fast with UnavailableError. Default 16 MiB.
   */
  queuedBytesMax?: number;
  /** How long a peer may take none of our frames before its stream is cancelled (pending requests fail). Default 20 s. */
  stallMsMax?: number;
  /** Wait after a stream failure before the next attempt, doubled per consecutive failure. Default 100 ms. */
  backoffMsMin?: number;
  /** Cap of that wait. Default 2,000 ms. */
  backoffMsMax?: number;
  /** Present this node's certificate and trust only the cluster CA (tls.ts); default plaintext. */
  tls?: TlsMaterial;
}

/** The Transport real nodes use; see transport.ts for the contract. */
export class GrpcTransport implements Transport {
  readonly #opts: Required<Omit<GrpcTransportOptions, 'tls'>>;
  readonly #credentials: grpc.ChannelCredentials;
  readonly #peers = new Map<Address, PeerConnection>();
  readonly #stats: TransportStats = {
    framesSent: 0,
    envelopesSent: 0,
    framesReceived: 0,
    envelopesReceived: 0,
    streamsOpened: 0,
    requestsRefusedQueueFull: 0,
    streamsStalled: 0,
  };
  #closed = false;

  constructor(opts: GrpcTransportOptions) {
    this.#opts = {
      inflightMax: 10_000,
      queuedBytesMax: QUEUED_BYTES_MAX_DEFAULT,
      stallMsMax: STALL_MS_MAX_DEFAULT,
      backoffMsMin: 100,
      backoffMsMax: 2_000,
      ...opts,
    };
    this.#credentials = peerChannelCredentials(opts.tls);
  }

  request<R extends PeerRequest>(to: Address, req: R, timeoutMs: number): Promise<Result<ReplyFor<R['type']>, DynamoError>> {
    return this.#peer(to).request(req, timeoutMs) as Promise<Result<ReplyFor<R['type']>, DynamoError>>;
  }

  reachable(to: Address): boolean {
    return this.#peers.get(to)?.reachable ?? true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const peer of this.#peers.values()) peer.close();
  }

  /** A snapshot of the frame counters (how well requests are being batched). */
  stats(): TransportStats {
    return { ...this.#stats };
  }

  #peer(to: Address): PeerConnection {
    let peer = this.#peers.get(to);
    if (peer === undefined) {
      peer = new PeerConnection({
        address: to,
        credentials: this.#credentials,
        time: this.#opts.time,
        logger: this.#opts.logger,
        inflightMax: this.#opts.inflightMax,
        queuedBytesMax: this.#opts.queuedBytesMax,
        stallMsMax: this.#opts.stallMsMax,
        backoffMsMin: this.#opts.backoffMsMin,
        backoffMsMax: this.#opts.backoffMsMax,
        stats: this.#stats,
      });
      if (this.#closed) peer.close();
      this.#peers.set(to, peer);
    }
    return peer;
  }
}
