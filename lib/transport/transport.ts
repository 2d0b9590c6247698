/**
 * The node-to-node transport port. One implementation speaks gRPC over a
 * long-lived bidirectional stream per peer (batching many requests per
 * message); the simulator's speaks through a seeded in-process network.
 * Both encode every message with the same protobuf codec.
 *
 * Contract:
 * - `request` never rejects: it resolves to a Result. Failures are:
 *   - UnavailableError with maybeApplied false: the request provably never
 *     reached the peer — it was never written to a stream the peer had
 *     accepted (peer unreachable, backing off after a failure, in-flight or
 *     queued-bytes limit reached, transport closed, or the stream failed
 *     before the peer accepted it). Safe to send elsewhere.
 *   - UnavailableError with maybeApplied true: the request was written and
 *     the stream then broke (or was cut off as stalled) before the reply.
 *   - TimeoutError with maybeApplied true: no reply within timeoutMs; the
 *     request may still be applied remotely (writes are idempotent merges).
 *   - the DynamoError the remote handler rejected with, carried back with
 *     its code, counts and the remote's own maybeApplied; a reply the caller
 *     cannot use (undecodable, or of the wrong type) is DYNAMO_INTERNAL with
 *     maybeApplied true.
 * - Requests to one peer may be answered in any order; there is no ordering
 *   guarantee between requests.
 * - Connections are set up once per peer and reused; a broken one is
 *   re-established on the next request (with backoff), never per request.
 * - Memory per peer is bounded: requests in flight (inflightMax) and request
 *   bytes queued for a peer that reads slower than we write (queuedBytesMax),
 *   beyond which requests fail fast as above; the callee bounds the reply
 *   bytes it holds for us the same way.
 * - Buffers in a request must not be mutated by the caller after the call.
 */
import type { DynamoError, Result } from '../runtime/index.ts';
import type { Address, PeerRequest, ReplyFor } from '../protocol/index.ts';

export interface Transport {
  request<R extends PeerRequest>(to: Address, req: R, timeoutMs: number): Promise<Result<ReplyFor<R['type']>, DynamoError>>;
  /** True unless the last attempt to reach `to` failed and has not since succeeded. */
  reachable(to: Address): boolean;
  /** Close every peer connection; pending requests resolve with UnavailableError (maybeApplied as above). */
  close(): Promise<void>;
}
