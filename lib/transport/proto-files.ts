/** Where the .proto files live, resolved from this file so any working directory works. */
import { fileURLToPath } from 'node:url';

/** Root of the proto tree (imports are relative to it, e.g. "dynamo/v1/kv.proto"). */
export const PROTO_ROOT = fileURLToPath(new URL('../../protos', import.meta.url));
/** The public KV API. */
export const KV_PROTO = fileURLToPath(new URL('../../protos/dynamo/v1/kv.proto', import.meta.url));
/** The operator API. */
export const ADMIN_PROTO = fileURLToPath(new URL('../../protos/dynamo/v1/admin.proto', import.meta.url));
/** The node-to-node protocol (documentation and compliance tests; the codec is table-driven, peer-codec.ts). */
export const PEER_PROTO = fileURLToPath(new URL('../../protos/dynamo/v1/peer.proto', import.meta.url));
