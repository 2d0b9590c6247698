/**
 * client: the typed TypeScript SDK, published on its own as the
 * `dynamo-kv-client` package (scripts/pack-sdk.ts bundles this module's
 * surface; nothing here may reach storage or server code). It owns the
 * client side of the public gRPC API (kv.proto, admin.proto): discovery of
 * every member from one contact point, token-aware routing, one long-lived
 * channel per endpoint carrying one pipelined KV Session stream (or unary
 * calls, on request), failover and a configurable retry policy within each
 * request's deadline and AbortSignal, multi-key reads, the operator calls
 * (status, ring, join, decommission, remove, repair), early checks of
 * obvious argument errors, sibling resolution via readModifyWrite, and
 * rebuilding the typed DynamoError subclasses from gRPC status and
 * `dynamo-*` metadata (or a SessionError) so callers can `instanceof` them
 * and read `.code`, `.maybeApplied` (and `.answered`/`.required`).
 */
export { DynamoClient, CLIENT_TIMEOUT_MS_DEFAULT, RING_REFRESH_MS_DEFAULT, GET_MANY_KEYS_MAX } from './client.ts';
export type {
  DynamoClientOptions,
  RequestOptions,
  CallOptions,
  WriteOptions,
  GetResult,
  PutResult,
  SiblingResolver,
  KeyLocation,
  Protocol,
  TlsOptions,
} from './options.ts';
export { DefaultRetryPolicy, RETRY_ATTEMPTS_MAX_DEFAULT, provablyNotApplied } from './retry-policy.ts';
export type { RetryPolicy, RetryInput, RequestOp, DefaultRetryPolicyOptions } from './retry-policy.ts';
export { text, texts } from './bytes.ts';
export {
  DynamoError,
  InvalidArgumentError,
  UnavailableError,
  TimeoutError,
  LimitExceededError,
  ClosedError,
  UnauthenticatedError,
} from '../runtime/index.ts';
export type { DynamoErrorCode } from '../runtime/index.ts';
export { CONSISTENCY_LEVELS, LIMITS } from '../protocol/index.ts';
export type {
  Consistency,
  NodeStatus,
  MemberStatus,
  MemberState,
  TransferStatus,
  RingStatus,
  SafetyCounters,
  AntiEntropyStatus,
  AntiEntropyPeerStatus,
  RepairStatus,
} from '../protocol/index.ts';
