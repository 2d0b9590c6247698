/**
 * A Transport that times every request it passes on (Metrics.replicaRpc,
 * by peer address and request type): replica reads and writes, forwarded
 * writes, read repair, membership packets and partition transfers alike,
 * failures included (a timed-out request counts its full wait). Wraps any
 * Transport, so the node gets it only when metrics are on and pays nothing
 * otherwise; one timestamp and one promise continuation per request.
 */
import type { DynamoError, Metrics, Result, Time } from '../runtime/index.ts';
import type { Address, PeerRequest, ReplyFor } from '../protocol/index.ts';
import type { Transport } from './transport.ts';

export class MeteredTransport implements Transport {
  readonly #inner: Transport;
  readonly #metrics: Metrics;
  readonly #time: Time;

  constructor(inner: Transport, metrics: Metrics, time: Time) {
    this.#inner = inner;
    this.#metrics = metrics;
    this.#time = time;
  }

  request<R extends PeerRequest>(to: Address, req: R, timeoutMs: number): Promise<Result<ReplyFor<R['type']>, DynamoError>> {
    const startMs = this.#time.monotonicMs();
    const reply = this.#inner.request(to, req, timeoutMs);
    // request() never rejects (Transport contract); a rejection would still reach the caller through `reply`.
    reply.then(
      () => this.#metrics.replicaRpc(to, req.type, (this.#time.monotonicMs() - startMs) / 1000),
      () => {},
    );
    return reply;
  }

  reachable(to: Address): boolean {
    return this.#inner.reachable(to);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
