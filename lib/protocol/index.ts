/**
 * protocol: the plain types every layer speaks — node identities and
 * addresses, consistency levels, the client-facing KV operations and the
 * node-to-node request/reply union — with no logic. Like raftpb, it is the
 * lowest domain layer: transport encodes these to protobuf, replication and
 * node produce and consume them.
 */
export * from './types.ts';
export * from './consistency.ts';
export * from './limits.ts';
export * from './membership.ts';
