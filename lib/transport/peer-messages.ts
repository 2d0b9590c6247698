/**
 * The rows of the node-to-node codec: one per member of PeerEnvelope.body in
 * protos/dynamo/v1/peer.proto, each sizing, writing and reading its body
 * straight between the protocol value (lib/protocol) and the wire, with no
 * intermediate message object. test/compliance/transport-wire.test.ts walks
 * the .proto and checks every member has a row with the same number and type,
 * and that every row agrees with protobufjs's reflection codec both ways.
 * How to add a message kind: see peer-codec.ts.
 */
import { DynamoError, InvalidArgumentError } from '../runtime/index.ts';
import type {
  Consistency,
  CoordinateReply,
  CoordinateRequest,
  IdentifyReply,
  IdentifyRequest,
  MembershipReply,
  MembershipRequest,
  PeerReply,
  PeerRequest,
  ReadReply,
  ReadRequest,
  TransferReply,
  TransferRequest,
  TreeReply,
  TreeRequest,
  WriteReply,
  WriteRequest,
} from '../protocol/index.ts';
import { decodeMembershipPacket, encodeMembershipPacket } from './membership-codec.ts';
import { decodeTreeAnswer, decodeTreeCall, encodeTreeAnswer, encodeTreeCall } from './exchange-codec.ts';
import { countsOf, errorFromCode } from './error-codes.ts';
import { KIND_REPLY, KIND_REQUEST, type ErrorRow, type MessageRow } from './envelope-codec.ts';
import {
  boolFieldLength,
  bytesFieldLength,
  checkEnd,
  EMPTY,
  I64,
  LEN,
  lenFieldLength,
  optionalBytesFieldLength,
  optionalFixed64FieldLength,
  readFixed64,
  skipField,
  stringFieldLength,
  tag,
  uint32FieldLength,
  VARINT,
  wireUint32,
  writeBoolField,
  writeBytesField,
  writeOptionalBytesField,
  writeOptionalFixed64Field,
  writeStringField,
  writeUint32Field,
  type Reader,
  type Writer,
} from './wire.ts';

/** dynamo.v1.Consistency numbers (kv.proto); 0 = UNSPECIFIED = undefined. Checked against kv.proto by a test. */
export const CONSISTENCY_NUMBERS: Readonly<Record<Consistency, number>> = { ONE: 1, TWO: 2, THREE: 3, QUORUM: 4, ALL: 5, ANY: 6 };
const CONSISTENCY_BY_NUMBER: readonly (Consistency | undefined)[] = [undefined, 'ONE', 'TWO', 'THREE', 'QUORUM', 'ALL', 'ANY'];

function consistencyNumber(c: Consistency | undefined): number {
  if (c === undefined) return 0;
  const n = CONSISTENCY_NUMBERS[c];
  if (n === undefined) throw new TypeError(`peer codec: unknown consistency ${String(c)}`);
  return n;
}

const T_VARINT = (field: number): number => tag(field, VARINT);

/** The ring version a routed request carries (0 when none). */
const ringVersionOf = (m: { readonly ringVersion?: number }): number => wireUint32(m.ringVersion ?? 0);
const T_LEN = (field: number): number => tag(field, LEN);

/** Skip every field of an empty message (tolerating fields a newer peer added). */
function readEmpty(r: Reader, end: number): void {
  while (r.pos < end) {
    skipField(r, r.uint32());
    checkEnd(r, end);
  }
}

/** A message whose one known field is bytes field 1; undefined when absent (distinct from empty). */
function readSingleBytes(r: Reader, end: number): Uint8Array | undefined {
  let value: Uint8Array | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === T_LEN(1)) value = r.bytes();
    else skipField(r, t);
    checkEnd(r, end);
  }
  return value;
}

/** A row whose message has no fields (the other fields a newer peer may add are skipped). */
function emptyMessage<M extends { readonly type: string }>(field: number, protoType: string, kind: typeof KIND_REQUEST | typeof KIND_REPLY, type: M['type']): MessageRow<M> {
  return {
    field,
    protoType,
    kind,
    type,
    length: () => 0,
    write: () => {},
    read: (r, end) => {
      readEmpty(r, end);
      return { type } as M;
    },
  };
}

// IdentifyRequest = 3, IdentifyReply = 4.
const identifyRequest = emptyMessage<IdentifyRequest>(3, 'IdentifyRequest', KIND_REQUEST, 'identify');

const identifyReply: MessageRow<IdentifyReply> = {
  field: 4,
  protoType: 'IdentifyReply',
  kind: KIND_REPLY,
  type: 'identify',
  length: (m) => stringFieldLength(1, m.nodeId) + uint32FieldLength(2, wireUint32(m.partitionCount)) + uint32FieldLength(3, wireUint32(m.replicas)),
  write(w, m) {
    writeStringField(w, 1, m.nodeId);
    writeUint32Field(w, 2, wireUint32(m.partitionCount));
    writeUint32Field(w, 3, wireUint32(m.replicas));
  },
  read(r, end) {
    let nodeId = '';
    let partitionCount = 0;
    let replicas = 0;
    while (r.pos < end) {
      const t = r.uint32();
      if (t === T_LEN(1)) nodeId = r.string();
      else if (t === T_VARINT(2)) partitionCount = r.uint32();
      else if (t === T_VARINT(3)) replicas = r.uint32();
      else skipField(r, t);
      checkEnd(r, end);
    }
    return { type: 'identify', nodeId, partitionCount, replicas };
  },
};

/** What every row declares about itself besides its body codec. */
type RowHead<M extends { readonly type: string }> = Pick<MessageRow<M>, 'field' | 'protoType' | 'kind' | 'type'>;

/**
 * A row whose message has one bytes field, number 1: `get` takes it from the
 * protocol value, `make` builds the value from it (undefined when absent).
 * `optional`: a proto3 `optional bytes` (present even when empty) rather than
 * plain bytes (absent when empty).
 */
function singleBytesMessage<M extends { readonly type: string }>(
  head: RowHead<M>,
  optional: boolean,
  get: (m: M) => Uint8Array | undefined,
  make: (b: Uint8Array | undefined) => M,
): MessageRow<M> {
  return {
    ...head,
    length: optional ? (m) => optionalBytesFieldLength(1, get(m)) : (m) => bytesFieldLength(1, get(m)!),
    write: optional ? (w, m) => writeOptionalBytesField(w, 1, get(m)) : (w, m) => writeBytesField(w, 1, get(m)!),
    read: (r, end) => make(readSingleBytes(r, end)),
  };
}

// ReadRequest = 5, ReadReply = 6.
const readRequest: MessageRow<ReadRequest> = {
  field: 5,
  protoType: 'ReadRequest',
  kind: KIND_REQUEST,
  type: 'read',
  length: (m) =>
    bytesFieldLength(1, m.key) + uint32FieldLength(2, ringVersionOf(m)) + boolFieldLength(3, m.hinted === true) + boolFieldLength(4, m.digestOnly === true),
  write(w, m) {
    writeBytesField(w, 1, m.key);
    writeUint32Field(w, 2, ringVersionOf(m));
    writeBoolField(w, 3, m.hinted === true);
    writeBoolField(w, 4, m.digestOnly === true);
  },
  read(r, end) {
    let key = EMPTY;
    let ringVersion = 0;
    let hinted = false;
    let digestOnly = false;
    while (r.pos < end) {
      const t = r.uint32();
      if (t === T_LEN(1)) key = r.bytes();
      else if (t === T_VARINT(2)) ringVersion = r.uint32();
      else if (t === T_VARINT(3)) hinted = r.bool();
      else if (t === T_VARINT(4)) digestOnly = r.bool();
      else skipField(r, t);
      checkEnd(r, end);
    }
    let req: ReadRequest = ringVersion === 0 ? { type: 'read', key } : { type: 'read', key, ringVersion };
    if (hinted) req = { ...req, hinted };
    return digestOnly ? { ...req, digestOnly } : req;
  },
};

const readReply: MessageRow<ReadReply> = {
  field: 6,
  protoType: 'ReadReply',
  kind: KIND_REPLY,
  type: 'read',
  length: (m) => optionalBytesFieldLength(1, m.record) + optionalFixed64FieldLength(2, m.digest),
  write(w, m) {
    writeOptionalBytesField(w, 1, m.record);
    writeOptionalFixed64Field(w, 2, m.digest);
  },
  read(r, end) {
    let record: Uint8Array | undefined;
    let digest: bigint | undefined;
    while (r.pos < end) {
      const t = r.uint32();
      if (t === T_LEN(1)) record = r.bytes();
      else if (t === tag(2, I64)) digest = readFixed64(r);
      else skipField(r, t);
      checkEnd(r, end);
    }
    return digest === undefined ? { type: 'read', record } : { type: 'read', record, digest };
  },
};

// WriteRequest = 7, WriteReply = 8.
const writeRequest: MessageRow<WriteRequest> = {
  field: 7,
  protoType: 'WriteRequest',
  kind: KIND_REQUEST,
  type: 'write',
  length: (m) =>
    bytesFieldLength(1, m.key) + bytesFieldLength(2, m.record) + uint32FieldLength(3, ringVersionOf(m)) + stringFieldLength(4, m.hintFor ?? ''),
  write(w, m) {
    writeBytesField(w, 1, m.key);
    writeBytesField(w, 2, m.record);
    writeUint32Field(w, 3, ringVersionOf(m));
    writeStringField(w, 4, m.hintFor ?? '');
  },
  read(r, end) {
    let key = EMPTY;
    let record = EMPTY;
    let ringVersion = 0;
    let hintFor = '';
    while (r.pos < end) {
      const t = r.uint32();
      if (t === T_LEN(1)) key = r.bytes();
      else if (t === T_LEN(2)) record = r.bytes();
      else if (t === T_VARINT(3)) ringVersion = r.uint32();
      else if (t === T_LEN(4)) hintFor = r.string();
      else skipField(r, t);
      checkEnd(r, end);
    }
    const req: WriteRequest = ringVersion === 0 ? { type: 'write', key, record } : { type: 'write', key, record, ringVersion };
    return hintFor === '' ? req : { ...req, hintFor };
  },
};

const writeReply = emptyMessage<WriteReply>(8, 'WriteReply', KIND_REPLY, 'write');

// CoordinateRequest = 9, CoordinateReply = 10.
const coordinateRequest: MessageRow<CoordinateRequest> = {
  field: 9,
  protoType: 'CoordinateRequest',
  kind: KIND_REQUEST,
  type: 'coordinate',
  length: (m) =>
    bytesFieldLength(1, m.key) +
    optionalBytesFieldLength(2, m.value) +
    bytesFieldLength(3, m.context) +
    uint32FieldLength(4, consistencyNumber(m.consistency)) +
    uint32FieldLength(5, ringVersionOf(m)) +
    boolFieldLength(6, m.strict === true),
  write(w, m) {
    writeBytesField(w, 1, m.key);
    writeOptionalBytesField(w, 2, m.value);
    writeBytesField(w, 3, m.context);
    writeUint32Field(w, 4, consistencyNumber(m.consistency));
    writeUint32Field(w, 5, ringVersionOf(m));
    writeBoolField(w, 6, m.strict === true);
  },
  read(r, end) {
    let key = EMPTY;
    let value: Uint8Array | undefined;
    let context = EMPTY;
    let code = 0;
    let ringVersion = 0;
    let strict = false;
    while (r.pos < end) {
      const t = r.uint32();
      if (t === T_LEN(1)) key = r.bytes();
      else if (t === T_LEN(2)) value = r.bytes();
      else if (t === T_LEN(3)) context = r.bytes();
      else if (t === T_VARINT(4)) code = r.uint32();
      else if (t === T_VARINT(5)) ringVersion = r.uint32();
      else if (t === T_VARINT(6)) strict = r.bool();
      else skipField(r, t);
      checkEnd(r, end);
    }
    if (code >= CONSISTENCY_BY_NUMBER.length) throw new InvalidArgumentError(`malformed peer message (unknown consistency ${code})`);
    const req: CoordinateRequest = { type: 'coordinate', key, value, context, consistency: CONSISTENCY_BY_NUMBER[code] };
    const routed = ringVersion === 0 ? req : { ...req, ringVersion };
    return strict ? { ...routed, strict } : routed;
  },
};

const coordinateReply = singleBytesMessage<CoordinateReply>(
  { field: 10, protoType: 'CoordinateReply', kind: KIND_REPLY, type: 'coordinate' },
  false,
  (m) => m.context,
  (context) => ({ type: 'coordinate', context: context ?? EMPTY }),
);

/**
 * A row whose message has one field, number 1, holding a nested message
 * that `encode` / `decode` convert (a reflection codec, validated): for the
 * cold paths, where a hand-written body is not worth its upkeep. The nested
 * bytes are computed once per message for length() and write(), which the
 * engine calls back to back. `missing` names what a message without it lacks.
 */
function nestedMessage<M extends { readonly type: string }>(
  head: RowHead<M>,
  encode: (m: M) => Uint8Array,
  decode: (bytes: Uint8Array) => M,
  missing: string,
): MessageRow<M> {
  const encoded = new WeakMap<M, Uint8Array>();
  const bytesOf = (m: M): Uint8Array => {
    let bytes = encoded.get(m);
    if (bytes === undefined) encoded.set(m, (bytes = encode(m)));
    return bytes;
  };
  return {
    ...head,
    length: (m) => bytesFieldLength(1, bytesOf(m)),
    write: (w, m) => writeBytesField(w, 1, bytesOf(m)),
    read(r, end) {
      const bytes = readSingleBytes(r, end);
      if (bytes === undefined) throw new InvalidArgumentError(`malformed peer message (${missing})`);
      return decode(bytes);
    },
  };
}

// MembershipRequest = 12, MembershipReply = 13. A cold path (a few packets per
// node per second): the packet goes through membership-codec.ts.
const membershipRequest = nestedMessage<MembershipRequest>(
  { field: 12, protoType: 'MembershipRequest', kind: KIND_REQUEST, type: 'membership' },
  (m) => encodeMembershipPacket(m.packet),
  (bytes) => ({ type: 'membership', packet: decodeMembershipPacket(bytes) }),
  'membership request without a packet',
);

const membershipReply = emptyMessage<MembershipReply>(13, 'MembershipReply', KIND_REPLY, 'membership');

// TransferRequest = 14, TransferReply = 15.
const transferRequest: MessageRow<TransferRequest> = {
  field: 14,
  protoType: 'TransferRequest',
  kind: KIND_REQUEST,
  type: 'transfer',
  length: (m) =>
    uint32FieldLength(1, wireUint32(m.partition)) +
    uint32FieldLength(2, wireUint32(m.planId)) +
    optionalBytesFieldLength(3, m.afterKey) +
    uint32FieldLength(4, wireUint32(m.bytesMax)),
  write(w, m) {
    writeUint32Field(w, 1, wireUint32(m.partition));
    writeUint32Field(w, 2, wireUint32(m.planId));
    writeOptionalBytesField(w, 3, m.afterKey);
    writeUint32Field(w, 4, wireUint32(m.bytesMax));
  },
  read(r, end) {
    let partition = 0;
    let planId = 0;
    let afterKey: Uint8Array | undefined;
    let bytesMax = 0;
    while (r.pos < end) {
      const t = r.uint32();
      if (t === T_VARINT(1)) partition = r.uint32();
      else if (t === T_VARINT(2)) planId = r.uint32();
      else if (t === T_LEN(3)) afterKey = r.bytes();
      else if (t === T_VARINT(4)) bytesMax = r.uint32();
      else skipField(r, t);
      checkEnd(r, end);
    }
    return { type: 'transfer', partition, planId, afterKey, bytesMax };
  },
};

/** One TransferRecord's bytes: key (1) and record (2). */
const transferRecordLength = (rec: { readonly key: Uint8Array; readonly record: Uint8Array }): number =>
  bytesFieldLength(1, rec.key) + bytesFieldLength(2, rec.record);

const transferReply: MessageRow<TransferReply> = {
  field: 15,
  protoType: 'TransferReply',
  kind: KIND_REPLY,
  type: 'transfer',
  length(m) {
    let n = boolFieldLength(2, m.done);
    for (const rec of m.records) {
      const inner = transferRecordLength(rec);
      n += lenFieldLength(1, inner);
    }
    return n;
  },
  write(w, m) {
    for (const rec of m.records) {
      w.uint32(T_LEN(1)).uint32(transferRecordLength(rec));
      writeBytesField(w, 1, rec.key);
      writeBytesField(w, 2, rec.record);
    }
    writeBoolField(w, 2, m.done);
  },
  read(r, end) {
    const records: { key: Uint8Array; record: Uint8Array }[] = [];
    let done = false;
    while (r.pos < end) {
      const t = r.uint32();
      if (t === T_LEN(1)) {
        const recordEnd = r.uint32() + r.pos;
        checkEnd(r, end);
        if (recordEnd > end) throw new InvalidArgumentError('malformed peer message (transfer record overruns its reply)');
        let key = EMPTY;
        let record = EMPTY;
        while (r.pos < recordEnd) {
          const u = r.uint32();
          if (u === T_LEN(1)) key = r.bytes();
          else if (u === T_LEN(2)) record = r.bytes();
          else skipField(r, u);
          checkEnd(r, recordEnd);
        }
        records.push({ key, record });
      } else if (t === T_VARINT(2)) done = r.bool();
      else skipField(r, t);
      checkEnd(r, end);
    }
    return { type: 'transfer', records, done };
  },
};

// TreeRequest = 16, TreeReply = 17. Anti-entropy exchange calls, a cold path
// like membership: the call and the answer go through exchange-codec.ts.
const treeRequest = nestedMessage<TreeRequest>(
  { field: 16, protoType: 'TreeRequest', kind: KIND_REQUEST, type: 'tree' },
  encodeTreeCall,
  decodeTreeCall,
  'tree request without a call',
);

const treeReply = nestedMessage<TreeReply>(
  { field: 17, protoType: 'TreeReply', kind: KIND_REPLY, type: 'tree' },
  (m) => encodeTreeAnswer(m.answer),
  (bytes) => ({ type: 'tree', answer: decodeTreeAnswer(bytes) }),
  'tree reply without an answer',
);

/** A DynamoError's PeerError fields, clamped for the wire. */
function errorCounts(e: DynamoError): { answered: number; required: number } {
  const c = countsOf(e);
  return { answered: wireUint32(c.answered), required: wireUint32(c.required) };
}

/** PeerError = 11: code, message, counts and whether the request may have been applied. */
export const PEER_ERROR: ErrorRow = {
  field: 11,
  protoType: 'PeerError',
  length(e: DynamoError): number {
    const c = errorCounts(e);
    return (
      stringFieldLength(1, e.code) +
      stringFieldLength(2, e.message) +
      uint32FieldLength(3, c.answered) +
      uint32FieldLength(4, c.required) +
      boolFieldLength(5, e.maybeApplied === true)
    );
  },
  write(w: Writer, e: DynamoError): void {
    const c = errorCounts(e);
    writeStringField(w, 1, e.code);
    writeStringField(w, 2, e.message);
    writeUint32Field(w, 3, c.answered);
    writeUint32Field(w, 4, c.required);
    writeBoolField(w, 5, e.maybeApplied === true);
  },
  read(r: Reader, end: number): DynamoError {
    let code = '';
    let message = '';
    let answered = 0;
    let required = 0;
    let maybeApplied = false;
    while (r.pos < end) {
      const t = r.uint32();
      if (t === T_LEN(1)) code = r.string();
      else if (t === T_LEN(2)) message = r.string();
      else if (t === T_VARINT(3)) answered = r.uint32();
      else if (t === T_VARINT(4)) required = r.uint32();
      else if (t === T_VARINT(5)) maybeApplied = r.bool();
      else skipField(r, t);
      checkEnd(r, end);
    }
    return errorFromCode(code, message, answered, required, { maybeApplied });
  },
};

/** The request and reply rows of peer.proto (the error row is PEER_ERROR). */
export const PEER_MESSAGES: readonly MessageRow<PeerRequest | PeerReply>[] = [
  identifyRequest,
  identifyReply,
  readRequest,
  readReply,
  writeRequest,
  writeReply,
  coordinateRequest,
  coordinateReply,
  membershipRequest,
  membershipReply,
  transferRequest,
  transferReply,
  treeRequest,
  treeReply,
] as readonly MessageRow[] as readonly MessageRow<PeerRequest | PeerReply>[];
