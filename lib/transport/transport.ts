/**
 * The node-to-node transport port. One implementation speaks gRPC over a
 * long-lived bidirectional stream per peer (batching many requests per
 * message); the simulator's speaks through a seeded in-process network.
 * Both encode every message with the same protobuf codec.
 *
 * Contract:
 * - `request` never rejects: it resolves to a Result. Failures are
 *   UnavailableError (peer unreachable, stream broke before the reply),
 *   TimeoutError (no reply within timeoutMs; the reply may still be applied
 *   remotely — writes are idempotent merges) or the DynamoError the remote
 *   handler rejected with, carried back with its code.
 * - Requests to one peer may be answered in any order; there is no ordering
 *   guarantee between requests.
 * - Connections are set up once per peer and reused; a broken one is
 *   re-established on the next request (with backoff), never per request.
 * - Buffers in a request must not be mutated by the caller after the call.
 */
import type { DynamoError, Result } from '../runtime/index.ts';
import type { Address, PeerRequest, ReplyFor } from '../protocol/index.ts';

export interface Transport {
  request<R extends PeerRequest>(to: Address, req: R, timeoutMs: number): Promise<Result<ReplyFor<R['type']>, DynamoError>>;
  /** True unless the last attempt to reach `to` failed and has not since succeeded. */
  reachable(to: Address): boolean;
  /** Close every peer connection; pending requests resolve with UnavailableError. */
  close(): Promise<void>;
}
