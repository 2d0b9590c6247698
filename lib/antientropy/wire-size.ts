/**
 * How many payload bytes each exchange message carries, so an exchange can
 * report what it moved the same way locally, in the simulator and over gRPC,
 * and tests can bound it. The model is the protobuf-like encoding a peer
 * message would use, with fixed-width integers: a partition (4 bytes), node
 * indices (4), hashes and digests (8), a length before every key and record
 * (4). Transport framing (HTTP/2, gRPC headers, batching) is not counted.
 *
 *   root      request 4                       reply 8 + 2 (hash, shape)
 *   segments  request 4 + 1 + 4·n             reply 8·n
 *   keys-in   request 4 + 4·segments          reply Σ (4 + key + 8)
 *   fetch     request 4 + Σ (4 + key)         reply Σ (4 + key + 4 + record)
 *   push      request 4 + Σ (4 + key + 4 + record)   reply 0
 */
import type { StoredRecord } from '../storage/index.ts';
import type { TreeCall, TreeReply } from './tree-port.ts';

const PARTITION_BYTES = 4;
const LEVEL_BYTES = 1;
const INDEX_BYTES = 4;
const HASH_BYTES = 8;
const SHAPE_BYTES = 2;
const LENGTH_BYTES = 4;

function recordsBytes(records: readonly StoredRecord[]): number {
  let n = 0;
  for (const r of records) n += recordBytes(r);
  return n;
}

/** Payload bytes of a request. */
export function requestBytes(call: TreeCall): number {
  switch (call.op) {
    case 'root':
      return PARTITION_BYTES;
    case 'segments':
      return PARTITION_BYTES + LEVEL_BYTES + INDEX_BYTES * call.indices.length;
    case 'keys-in':
      return PARTITION_BYTES + INDEX_BYTES * call.segments.length;
    case 'fetch': {
      let n = PARTITION_BYTES;
      for (const k of call.keys) n += LENGTH_BYTES + k.length;
      return n;
    }
    case 'push':
      return PARTITION_BYTES + recordsBytes(call.records);
  }
}

/** Payload bytes of a reply. */
export function replyBytes(reply: TreeReply): number {
  switch (reply.op) {
    case 'root':
      return HASH_BYTES + SHAPE_BYTES;
    case 'segments':
      return HASH_BYTES * reply.hashes.length;
    case 'keys-in': {
      let n = 0;
      for (const e of reply.entries) n += LENGTH_BYTES + e.key.length + HASH_BYTES;
      return n;
    }
    case 'fetch':
      return recordsBytes(reply.records);
    case 'push':
      return 0;
  }
}

/** Payload bytes of one record in a push (also what a fetch reply carries per record). */
export function recordBytes(record: StoredRecord): number {
  return LENGTH_BYTES + record.key.length + LENGTH_BYTES + record.record.length;
}
