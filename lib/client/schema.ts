/**
 * The wire schema of the public API (kv.proto, admin.proto) as unary method
 * descriptors with protobufjs serializers. We skip @grpc/proto-loader on
 * purpose: it converts every message through `fromObject`/`toObject`, while
 * protobufjs encodes our plain request objects directly and decodes bytes
 * fields as Buffer views of the received frame (no copy) — this is the bench
 * hot path.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Consistency } from '../protocol/index.ts';
import { CONSISTENCY_LEVELS } from '../protocol/index.ts';
import { AdminCodec, type RepairStatusMsg, type RingResponseMsg, type SessionOp, type StatusResponseMsg } from '../transport/index.ts';

/** One unary RPC: full gRPC path plus its codecs (the shape grpc-js `makeUnaryRequest` takes). */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly serialize: (req: Req) => Buffer;
  readonly deserialize: (bytes: Buffer) => Res;
  /** The Session op carrying the same request and response messages (KV methods only). */
  readonly sessionOp?: SessionOp;
  /** A membership command: like a write, a failure after it was sent may have been applied. */
  readonly command?: boolean;
}

// Message shapes as protobufjs reads/writes them (camelCase fields, bytes as
// Buffer on decode — but an absent bytes field decodes as a plain empty array;
// undefined fields are not written).
/** How many replicas a request waits for: the consistency number and, when set, the strict flag. */
export interface Level {
  consistency: number | undefined;
  strict?: true;
}
export interface GetRequestMsg extends Level {
  key: Uint8Array;
}
export interface GetResponseMsg {
  values: Buffer[];
  context: Buffer;
}
export interface PutRequestMsg extends Level {
  key: Uint8Array;
  value: Uint8Array;
  context: Uint8Array | undefined;
}
export interface PutResponseMsg {
  context: Buffer;
}
export interface DeleteRequestMsg extends Level {
  key: Uint8Array;
  context: Uint8Array | undefined;
}
/** RemoveRequest as protobufjs writes it. */
export interface RemoveRequestMsg {
  nodeId: string;
}

/**
 * Both public protos; resolved relative to this file so the package works
 * from any cwd. Two levels up is protos/ from lib/client/ (source), from
 * dist/lib/client/ (the build copies protos/ into dist/) and from the SDK
 * package's dist/esm/ and dist/cjs/ bundles (scripts/pack-sdk.ts).
 */
export const PROTO_FILES: readonly string[] = [
  fileURLToPath(new URL('../../protos/dynamo/v1/kv.proto', import.meta.url)),
  fileURLToPath(new URL('../../protos/dynamo/v1/admin.proto', import.meta.url)),
];

function unary<Req, Res>(
  root: protobuf.Root,
  service: string,
  rpc: string,
  requestType: string,
  responseType: string,
  read: (type: protobuf.Type, bytes: Buffer) => Res,
  sessionOp?: SessionOp,
  command = false,
): UnaryMethod<Req, Res> {
  const req = root.lookupType(`dynamo.v1.${requestType}`);
  const res = root.lookupType(`dynamo.v1.${responseType}`);
  return {
    path: `/dynamo.v1.${service}/${rpc}`,
    // In Node, protobufjs's BufferWriter finishes into a Buffer, as grpc-js requires.
    serialize: (r: Req) => req.encode(r as object).finish() as Buffer,
    deserialize: (bytes: Buffer) => read(res, bytes),
    ...(sessionOp === undefined ? {} : { sessionOp }),
    ...(command ? { command } : {}),
  };
}

const decodeAs = <T>(type: protobuf.Type, bytes: Buffer): T => type.decode(bytes) as unknown as T;

/** Admin responses as plain objects: numbers for uint64 and enums, defaults filled in, absent optional fields left out (admin-codec.ts). */
const adminObject = <T>(type: protobuf.Type, bytes: Buffer): T =>
  type.toObject(type.decode(bytes), { longs: Number, defaults: true, arrays: true }) as unknown as T;

type Empty = Record<string, never>;

/** Everything the client needs from the schema, built once per process. */
export interface Schema {
  readonly get: UnaryMethod<GetRequestMsg, GetResponseMsg>;
  readonly put: UnaryMethod<PutRequestMsg, PutResponseMsg>;
  readonly delete: UnaryMethod<DeleteRequestMsg, unknown>;
  readonly status: UnaryMethod<Empty, StatusResponseMsg>;
  readonly ring: UnaryMethod<Empty, RingResponseMsg>;
  readonly join: UnaryMethod<Empty, unknown>;
  readonly decommission: UnaryMethod<Empty, unknown>;
  readonly remove: UnaryMethod<RemoveRequestMsg, unknown>;
  readonly repair: UnaryMethod<{ partition?: number }, { repair?: RepairStatusMsg | null }>;
  /** Admin messages to and from NodeStatus / RingStatus. */
  readonly admin: AdminCodec;
  /** Proto enum number per consistency name, read from kv.proto (so it cannot drift). */
  readonly consistencyCode: Readonly<Record<Consistency, number>>;
}

let cached: Schema | undefined;

/** Load the protos on first use and reuse the result for every client. */
export function schema(): Schema {
  if (cached !== undefined) return cached;
  const root = new protobuf.Root();
  root.loadSync([...PROTO_FILES], { keepCase: false });
  const consistencyEnum = root.lookupEnum('dynamo.v1.Consistency');
  const consistencyCode = {} as Record<Consistency, number>;
  for (const name of CONSISTENCY_LEVELS) {
    const code = consistencyEnum.values[`CONSISTENCY_${name}`];
    if (code === undefined) throw new Error(`kv.proto lacks CONSISTENCY_${name}`);
    consistencyCode[name] = code;
  }
  cached = {
    get: unary(root, 'KV', 'Get', 'GetRequest', 'GetResponse', decodeAs<GetResponseMsg>, 'get'),
    put: unary(root, 'KV', 'Put', 'PutRequest', 'PutResponse', decodeAs<PutResponseMsg>, 'put'),
    delete: unary(root, 'KV', 'Delete', 'DeleteRequest', 'DeleteResponse', decodeAs<unknown>, 'delete'),
    status: unary(root, 'Admin', 'Status', 'StatusRequest', 'StatusResponse', adminObject<StatusResponseMsg>),
    ring: unary(root, 'Admin', 'Ring', 'RingRequest', 'RingResponse', adminObject<RingResponseMsg>),
    join: unary(root, 'Admin', 'Join', 'JoinRequest', 'JoinResponse', decodeAs<unknown>, undefined, true),
    decommission: unary(root, 'Admin', 'Decommission', 'DecommissionRequest', 'DecommissionResponse', decodeAs<unknown>, undefined, true),
    remove: unary(root, 'Admin', 'Remove', 'RemoveRequest', 'RemoveResponse', decodeAs<unknown>, undefined, true),
    repair: unary(root, 'Admin', 'Repair', 'RepairRequest', 'RepairResponse', adminObject<{ repair?: RepairStatusMsg | null }>, undefined, true),
    admin: new AdminCodec(root),
    consistencyCode,
  };
  return cached;
}
