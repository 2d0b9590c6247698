/**
 * transport: how nodes talk to each other and how the world talks to a node.
 * Owns the node-to-node wire format (protos/dynamo/v1/peer.proto, a
 * hand-written protobuf codec the simulator also uses), the gRPC Transport
 * (one long-lived, batching bidi stream per peer), and the node's gRPC server
 * (KV, Admin, Peer, health, reflection) with its edge validation and the
 * DynamoError <-> gRPC status mapping the SDK shares.
 */
export type { Transport } from './transport.ts';
export { encodeRequest, decodeRequest, encodeReply, decodeReply, encodeError, decodeError } from './peer-codec.ts';
export { GrpcTransport, type GrpcTransportOptions } from './grpc-transport.ts';
export type { TransportStats } from './peer-connection.ts';
export { startGrpcServer, type GrpcServer, type GrpcServerOptions } from './grpc-server.ts';
export { toGrpcStatus, fromGrpcError, METADATA_CODE, METADATA_ANSWERED, METADATA_REQUIRED } from './grpc-status.ts';
