/**
 * transport: how nodes talk to each other and how the world talks to a node.
 * Owns the node-to-node wire format (protos/dynamo/v1/peer.proto, a
 * table-driven protobuf codec the simulator also uses), the gRPC Transport
 * (one long-lived, batching, flow-controlled bidi stream per peer), the node's gRPC server
 * (KV with its batching Session streams, Admin, Peer, health, reflection) with
 * its edge validation, and what the SDK shares with it: the DynamoError <->
 * gRPC status mapping, the Session envelope codec and the Admin message codec.
 */
export type { Transport } from './transport.ts';
export { encodeRequest, decodeRequest, encodeReply, decodeReply, encodeError, decodeError } from './peer-codec.ts';
export { GrpcTransport, type GrpcTransportOptions } from './grpc-transport.ts';
export { MeteredTransport } from './metered-transport.ts';
export { checkTlsMaterial, serverCredentials, peerChannelCredentials, type TlsMaterial } from './tls.ts';
export { authInterceptor, validToken, type AuthPolicy } from './auth.ts';
export type { TransportStats } from './peer-connection.ts';
export { startGrpcServer, LIVENESS_SERVICE, SESSION_INFLIGHT_MAX_DEFAULT, type GrpcServer, type GrpcServerOptions } from './grpc-server.ts';
export {
  toGrpcStatus,
  statusCodeName,
  fromGrpcError,
  errorStatusOf,
  fromErrorStatus,
  METADATA_CODE,
  METADATA_ANSWERED,
  METADATA_REQUIRED,
  type ErrorStatus,
} from './grpc-status.ts';
export type { SessionStats } from './session-service.ts';
export type { PeerStreamStats } from './peer-service.ts';
export {
  SESSION_PATH,
  SessionRequestWriter,
  decodeSessionResponses,
  type SessionOp,
  type SessionResponseEntry,
} from './session-codec.ts';
export { AdminCodec, type StatusResponseMsg, type RingResponseMsg, type MemberStatusMsg, type TransferStatusMsg, type RepairStatusMsg, type AntiEntropyStatusMsg } from './admin-codec.ts';
export { passThrough, MESSAGE_BYTES_MAX, CHANNELZ_OFF, FLOW_CONTROL_WINDOW_BYTES } from './grpc-options.ts';
export { CorrelationIds } from './correlation-ids.ts';
export { encodeMembershipPacket, decodeMembershipPacket, encodeRingState, decodeRingState } from './membership-codec.ts';
