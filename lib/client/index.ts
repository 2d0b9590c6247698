/**
 * client: the typed TypeScript SDK and the package's main export. It owns
 * the client side of the public gRPC API (kv.proto, admin.proto): one
 * long-lived channel per endpoint carrying one pipelined KV Session stream
 * (or unary calls, on request), round-robin with failover on connection
 * failures within each request's deadline, early checks of obvious argument
 * errors, sibling resolution via readModifyWrite, and rebuilding the typed
 * DynamoError subclasses from gRPC status and `dynamo-*` metadata (or a
 * SessionError) so callers can `instanceof` them and read `.code` (and
 * `.answered`/`.required`).
 */
export { DynamoClient, CLIENT_TIMEOUT_MS_DEFAULT, RING_REFRESH_MS_DEFAULT } from './client.ts';
export type { DynamoClientOptions, CallOptions, WriteOptions, GetResult, PutResult, SiblingResolver } from './client.ts';
export { text, texts } from './bytes.ts';
export {
  DynamoError,
  InvalidArgumentError,
  UnavailableError,
  TimeoutError,
  LimitExceededError,
  ClosedError,
} from '../runtime/index.ts';
export type { DynamoErrorCode } from '../runtime/index.ts';
export { CONSISTENCY_LEVELS, LIMITS } from '../protocol/index.ts';
export type { Consistency, NodeStatus, MemberStatus } from '../protocol/index.ts';
