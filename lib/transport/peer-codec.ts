/**
 * The node-to-node wire format: protos/dynamo/v1/peer.proto, encoded and
 * decoded by the table-driven EnvelopeCodec (envelope-codec.ts) over the rows
 * of peer-messages.ts. Hot path: requests are written straight into the batch
 * being built (no intermediate message objects, lengths computed up front)
 * and replies decode straight into PeerRequest / PeerReply values.
 * test/compliance/transport-wire.test.ts checks every row against the .proto
 * through protobufjs's reflection codec, both directions.
 *
 * Adding a message kind (e.g. a gossip message or a partition-transfer chunk):
 *  1. peer.proto: one message, and one member of `PeerEnvelope.body` with the
 *     next free field number (numbers are never reused; 16 and above are
 *     fine: tags are varints). Document both (a test checks).
 *  2. lib/protocol/types.ts: its protocol type, `type`-discriminated, added
 *     to PeerRequest / PeerReply (or a one-way union).
 *  3. peer-messages.ts: one row — field number, proto type name, kind
 *     (KIND_REQUEST, KIND_REPLY or KIND_ONEWAY), protocol type, and its
 *     length/write/read. Add a sample of it to test/unit/transport/fixtures.ts
 *     (the compliance test fails for a row without one).
 * Nothing else: the envelope, batching, error and malformed-input handling
 * are the engine's. A one-way row (KIND_ONEWAY) is encoded and decoded like
 * any other, with id 0 and no reply; sending one (a `send` beside `request`
 * on PeerConnection / Transport) and handing it to a handler on the
 * receiving side (ServedPeerStream) come with the first such message.
 *
 * Why a table rather than protobufjs or a second hand-written path for the
 * hot messages: bench/peer-codec.ts, encode + decode of 64-envelope batches
 * of read/write requests and replies, same run, paired turns (2-core shared
 * machine): this codec 420-500 ns per envelope at best; the
 * hand-written codec it replaced 0.96-1.00x of that (median paired ratio over
 * six runs, 16 B and 1 KiB records, about 10 ns per envelope, within the
 * spread between runs); protobufjs reflection plus the conversion to protocol
 * values 1.46-1.66x. Before compileDispatch the table cost 3-7% more, hence
 * that step. At ~10 ns per envelope against hundreds of µs of CPU per
 * operation, a second path for the hot messages is not worth its upkeep.
 */
import type { DynamoError } from '../runtime/index.ts';
import type { PeerReply, PeerRequest } from '../protocol/index.ts';
import { EnvelopeCodec, KIND_ERROR, KIND_REPLY, KIND_REQUEST, type EnvelopeKind, type EnvelopeVisitor as AnyEnvelopeVisitor } from './envelope-codec.ts';
import { PEER_ERROR, PEER_MESSAGES } from './peer-messages.ts';
import type { Writer } from './wire.ts';

export type { Writer } from './wire.ts';
export { KIND_ERROR, KIND_MALFORMED, KIND_ONEWAY, KIND_REPLY, KIND_REQUEST, type EnvelopeKind } from './envelope-codec.ts';
export { CONSISTENCY_NUMBERS } from './peer-messages.ts';

/** An envelope body of any kind. */
export type EnvelopeBody = PeerRequest | PeerReply | DynamoError;

/** Receives each decoded envelope of a batch (no wrapper object is built). */
export type EnvelopeVisitor = AnyEnvelopeVisitor<EnvelopeBody>;

/** The codec of peer.proto. */
export const PEER_CODEC = new EnvelopeCodec<PeerRequest | PeerReply>(PEER_MESSAGES, PEER_ERROR);

/**
 * Append one PeerEnvelope to `w`. With `inBatch` it is written as a
 * PeerBatch.envelopes field, so consecutive calls build a PeerBatch; without,
 * `w` holds a bare PeerEnvelope. Returns the bytes appended. Throws a
 * TypeError (appending nothing) if `body` is not a peer message of its kind.
 */
export function writeEnvelope(w: Writer, id: number, timeoutMs: number, kind: EnvelopeKind, body: EnvelopeBody, inBatch: boolean): number {
  return PEER_CODEC.write(w, id, timeoutMs, kind, body, inBatch);
}

/**
 * Decode a PeerBatch, calling `visit` once per envelope in order. Returns the
 * number of envelopes. Throws InvalidArgumentError if the frame itself is
 * malformed (envelopes before the damage have already been visited).
 */
export function decodeBatch(bytes: Uint8Array, visit: EnvelopeVisitor): number {
  return PEER_CODEC.decodeBatch(bytes, visit);
}

// Single-message codec (the simulator sends these bytes; each is one bare PeerEnvelope).

/** A peer request as a bare PeerEnvelope (peer.proto). */
export function encodeRequest(req: PeerRequest): Uint8Array {
  return PEER_CODEC.encodeOne(KIND_REQUEST, req);
}
/** Inverse of encodeRequest; throws InvalidArgumentError on malformed bytes or a non-request envelope. */
export function decodeRequest(bytes: Uint8Array): PeerRequest {
  return PEER_CODEC.decodeOne(bytes, KIND_REQUEST) as PeerRequest;
}
/** A peer reply as a bare PeerEnvelope (peer.proto). */
export function encodeReply(rep: PeerReply): Uint8Array {
  return PEER_CODEC.encodeOne(KIND_REPLY, rep);
}
/** Inverse of encodeReply; throws InvalidArgumentError on malformed bytes or a non-reply envelope. */
export function decodeReply(bytes: Uint8Array): PeerReply {
  return PEER_CODEC.decodeOne(bytes, KIND_REPLY) as PeerReply;
}
/** A DynamoError as a bare PeerEnvelope with a PeerError body (code, message, counts, maybeApplied). */
export function encodeError(e: DynamoError): Uint8Array {
  return PEER_CODEC.encodeOne(KIND_ERROR, e);
}
/** Inverse of encodeError: the same subclass, message, counts and maybeApplied. Throws InvalidArgumentError on malformed bytes. */
export function decodeError(bytes: Uint8Array): DynamoError {
  return PEER_CODEC.decodeOne(bytes, KIND_ERROR) as DynamoError;
}
