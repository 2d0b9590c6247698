/**
 * The node-to-node wire format: protos/dynamo/v1/peer.proto, encoded and
 * decoded by hand with protobufjs's Writer/Reader. Hand-written because this
 * is the hottest path in the system: requests are written straight into the
 * batch being built (no intermediate message objects, no fork/ldelim — lengths
 * are computed up front) and replies decode straight into PeerRequest /
 * PeerReply values. test/compliance/transport-wire.test.ts checks both
 * directions against the .proto through protobufjs's reflection codec.
 *
 * Decoding never trusts its input: every malformed byte string becomes an
 * InvalidArgumentError, never a crash. Bytes fields decode as views of the
 * input buffer (no copy).
 */
import protobuf from 'protobufjs';
import { DynamoError, InvalidArgumentError } from '../runtime/index.ts';
import type { Consistency, PeerReply, PeerRequest } from '../protocol/index.ts';
import { countsOf, errorFromCode } from './error-codes.ts';
import {
  bytesFieldLength,
  bytesLength,
  checkEnd,
  EMPTY,
  LEN,
  lenFieldLength,
  skipField,
  stringFieldLength,
  tag,
  uint32FieldLength,
  VARINT,
  varintLength,
  wireUint32,
  writeBytesField,
  writeStringField,
  writeUint32Field,
  type Writer,
} from './wire.ts';

export type { Writer } from './wire.ts';

/** The envelope carries a PeerRequest. */
export const KIND_REQUEST = 0;
/** The envelope carries a PeerReply. */
export const KIND_REPLY = 1;
/** The envelope carries the DynamoError a handler rejected with. */
export const KIND_ERROR = 2;
/** The envelope's body did not decode; the body is an InvalidArgumentError saying why. */
export const KIND_MALFORMED = 3;
/** What an envelope's body is. */
export type EnvelopeKind = typeof KIND_REQUEST | typeof KIND_REPLY | typeof KIND_ERROR | typeof KIND_MALFORMED;

/** An envelope body of any kind. */
export type EnvelopeBody = PeerRequest | PeerReply | DynamoError;

/** Receives each decoded envelope of a batch (no wrapper object is built). */
export type EnvelopeVisitor = (id: number, timeoutMs: number, kind: EnvelopeKind, body: EnvelopeBody) => void;

// PeerBatch.envelopes = 1 (LEN).
const TAG_BATCH_ENVELOPE = (1 << 3) | LEN;
// PeerEnvelope fields.
const F_ID = 1;
const F_TIMEOUT = 2;
const F_IDENTIFY_REQUEST = 3;
const F_IDENTIFY_REPLY = 4;
const F_READ_REQUEST = 5;
const F_READ_REPLY = 6;
const F_WRITE_REQUEST = 7;
const F_WRITE_REPLY = 8;
const F_COORDINATE_REQUEST = 9;
const F_COORDINATE_REPLY = 10;
const F_ERROR = 11;

/** dynamo.v1.Consistency numbers (kv.proto); 0 = UNSPECIFIED = undefined. Checked against kv.proto by a test. */
export const CONSISTENCY_NUMBERS: Readonly<Record<Consistency, number>> = { ONE: 1, TWO: 2, THREE: 3, QUORUM: 4, ALL: 5, ANY: 6 };
const CONSISTENCY_BY_NUMBER: readonly (Consistency | undefined)[] = [undefined, 'ONE', 'TWO', 'THREE', 'QUORUM', 'ALL', 'ANY'];

const optionalBytesFieldLength = (b: Uint8Array | undefined): number => (b === undefined ? 0 : lenFieldLength(bytesLength(b)));

function consistencyNumber(c: Consistency | undefined): number {
  if (c === undefined) return 0;
  const n = CONSISTENCY_NUMBERS[c];
  if (n === undefined) throw new TypeError(`peer codec: unknown consistency ${String(c)}`);
  return n;
}

function unknownType(body: unknown): never {
  throw new TypeError(`peer codec: unknown message type ${String((body as { type?: unknown }).type)}`);
}

function bodyField(kind: EnvelopeKind, body: EnvelopeBody): number {
  if (kind === KIND_ERROR || kind === KIND_MALFORMED) return F_ERROR;
  switch ((body as PeerRequest | PeerReply).type) {
    case 'identify':
      return kind === KIND_REQUEST ? F_IDENTIFY_REQUEST : F_IDENTIFY_REPLY;
    case 'read':
      return kind === KIND_REQUEST ? F_READ_REQUEST : F_READ_REPLY;
    case 'write':
      return kind === KIND_REQUEST ? F_WRITE_REQUEST : F_WRITE_REPLY;
    case 'coordinate':
      return kind === KIND_REQUEST ? F_COORDINATE_REQUEST : F_COORDINATE_REPLY;
    default:
      return unknownType(body);
  }
}

function errorCounts(e: DynamoError): { answered: number; required: number } {
  const c = countsOf(e);
  return { answered: wireUint32(c.answered), required: wireUint32(c.required) };
}

function bodyLength(kind: EnvelopeKind, body: EnvelopeBody): number {
  if (kind === KIND_ERROR || kind === KIND_MALFORMED) {
    const e = body as DynamoError;
    const c = errorCounts(e);
    // maybe_applied (field 5, bool): tag + 1 byte when true, absent when false.
    return stringFieldLength(e.code) + stringFieldLength(e.message) + uint32FieldLength(c.answered) + uint32FieldLength(c.required) + (e.maybeApplied ? 2 : 0);
  }
  if (kind === KIND_REQUEST) {
    const req = body as PeerRequest;
    switch (req.type) {
      case 'identify':
        return 0;
      case 'read':
        return bytesFieldLength(req.key);
      case 'write':
        return bytesFieldLength(req.key) + bytesFieldLength(req.record);
      case 'coordinate':
        return (
          bytesFieldLength(req.key) +
          optionalBytesFieldLength(req.value) +
          bytesFieldLength(req.context) +
          uint32FieldLength(consistencyNumber(req.consistency))
        );
      default:
        return unknownType(req);
    }
  }
  const rep = body as PeerReply;
  switch (rep.type) {
    case 'identify':
      return stringFieldLength(rep.nodeId) + uint32FieldLength(wireUint32(rep.partitionCount)) + uint32FieldLength(wireUint32(rep.replicas));
    case 'read':
      return optionalBytesFieldLength(rep.record);
    case 'write':
      return 0;
    case 'coordinate':
      return bytesFieldLength(rep.context);
    default:
      return unknownType(rep);
  }
}

function writeBody(w: Writer, kind: EnvelopeKind, body: EnvelopeBody): void {
  if (kind === KIND_ERROR || kind === KIND_MALFORMED) {
    const e = body as DynamoError;
    const c = errorCounts(e);
    writeStringField(w, 1, e.code);
    writeStringField(w, 2, e.message);
    writeUint32Field(w, 3, c.answered);
    writeUint32Field(w, 4, c.required);
    if (e.maybeApplied) w.uint32(T_VARINT(5)).bool(true);
    return;
  }
  if (kind === KIND_REQUEST) {
    const req = body as PeerRequest;
    switch (req.type) {
      case 'identify':
        return;
      case 'read':
        writeBytesField(w, 1, req.key);
        return;
      case 'write':
        writeBytesField(w, 1, req.key);
        writeBytesField(w, 2, req.record);
        return;
      case 'coordinate':
        writeBytesField(w, 1, req.key);
        if (req.value !== undefined) w.uint32(tag(2, LEN)).bytes(req.value);
        writeBytesField(w, 3, req.context);
        writeUint32Field(w, 4, consistencyNumber(req.consistency));
        return;
    }
  }
  const rep = body as PeerReply;
  switch (rep.type) {
    case 'identify':
      writeStringField(w, 1, rep.nodeId);
      writeUint32Field(w, 2, wireUint32(rep.partitionCount));
      writeUint32Field(w, 3, wireUint32(rep.replicas));
      return;
    case 'read':
      if (rep.record !== undefined) w.uint32(tag(1, LEN)).bytes(rep.record);
      return;
    case 'write':
      return;
    case 'coordinate':
      writeBytesField(w, 1, rep.context);
      return;
  }
}

/**
 * Append one PeerEnvelope to `w`. With `inBatch` it is written as a
 * PeerBatch.envelopes field, so consecutive calls build a PeerBatch; without,
 * `w` holds a bare PeerEnvelope. Returns the bytes appended.
 */
export function writeEnvelope(w: Writer, id: number, timeoutMs: number, kind: EnvelopeKind, body: EnvelopeBody, inBatch: boolean): number {
  const timeout = wireUint32(timeoutMs);
  const field = bodyField(kind, body);
  const bodyLen = bodyLength(kind, body);
  const envLen = uint32FieldLength(id) + uint32FieldLength(timeout) + 1 + varintLength(bodyLen) + bodyLen;
  const start = w.len;
  if (inBatch) w.uint32(TAG_BATCH_ENVELOPE).uint32(envLen);
  writeUint32Field(w, F_ID, id);
  writeUint32Field(w, F_TIMEOUT, timeout);
  w.uint32(tag(field, LEN)).uint32(bodyLen);
  writeBody(w, kind, body);
  return w.len - start;
}

// ---------------------------------------------------------------------------
// Decoding.

function malformed(what: string, cause?: unknown): InvalidArgumentError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new InvalidArgumentError(`malformed peer message (${what})${detail}`, cause === undefined ? undefined : { cause });
}

const T_VARINT = (field: number): number => tag(field, VARINT);
const T_LEN = (field: number): number => tag(field, LEN);

function readIdentifyReply(r: protobuf.Reader, end: number): PeerReply {
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
}

/** A message whose one known field is bytes field 1; undefined when absent (distinct from empty). */
function readSingleBytes(r: protobuf.Reader, end: number): Uint8Array | undefined {
  let value: Uint8Array | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === T_LEN(1)) value = r.bytes();
    else skipField(r, t);
    checkEnd(r, end);
  }
  return value;
}

function readWriteRequest(r: protobuf.Reader, end: number): PeerRequest {
  let key = EMPTY;
  let record = EMPTY;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === T_LEN(1)) key = r.bytes();
    else if (t === T_LEN(2)) record = r.bytes();
    else skipField(r, t);
    checkEnd(r, end);
  }
  return { type: 'write', key, record };
}

function readCoordinateRequest(r: protobuf.Reader, end: number): PeerRequest {
  let key = EMPTY;
  let value: Uint8Array | undefined;
  let context = EMPTY;
  let code = 0;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === T_LEN(1)) key = r.bytes();
    else if (t === T_LEN(2)) value = r.bytes();
    else if (t === T_LEN(3)) context = r.bytes();
    else if (t === T_VARINT(4)) code = r.uint32();
    else skipField(r, t);
    checkEnd(r, end);
  }
  if (code >= CONSISTENCY_BY_NUMBER.length) throw malformed(`unknown consistency ${code}`);
  return { type: 'coordinate', key, value, context, consistency: CONSISTENCY_BY_NUMBER[code] };
}

function readError(r: protobuf.Reader, end: number): DynamoError {
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
}

/** Skip every field of an empty message (tolerating fields a newer peer added). */
function readEmpty(r: protobuf.Reader, end: number): void {
  while (r.pos < end) {
    skipField(r, r.uint32());
    checkEnd(r, end);
  }
}

function readBody(r: protobuf.Reader, field: number, end: number): EnvelopeBody {
  switch (field) {
    case F_IDENTIFY_REQUEST:
      readEmpty(r, end);
      return { type: 'identify' };
    case F_IDENTIFY_REPLY:
      return readIdentifyReply(r, end);
    case F_READ_REQUEST:
      return { type: 'read', key: readSingleBytes(r, end) ?? EMPTY };
    case F_READ_REPLY:
      return { type: 'read', record: readSingleBytes(r, end) };
    case F_WRITE_REQUEST:
      return readWriteRequest(r, end);
    case F_WRITE_REPLY:
      readEmpty(r, end);
      return { type: 'write' };
    case F_COORDINATE_REQUEST:
      return readCoordinateRequest(r, end);
    case F_COORDINATE_REPLY:
      return { type: 'coordinate', context: readSingleBytes(r, end) ?? EMPTY };
    default:
      return readError(r, end);
  }
}

function kindOfField(field: number): EnvelopeKind {
  return field === F_ERROR ? KIND_ERROR : field % 2 === 1 ? KIND_REQUEST : KIND_REPLY;
}

/**
 * Read one PeerEnvelope spanning [r.pos, end) and hand it to `visit`. A body
 * that does not decode is delivered as KIND_MALFORMED with an
 * InvalidArgumentError (so its id can still be answered); a broken envelope throws.
 */
function readEnvelope(r: protobuf.Reader, end: number, visit: EnvelopeVisitor): void {
  let id = 0;
  let timeoutMs = 0;
  let kind: EnvelopeKind = KIND_MALFORMED;
  let body: EnvelopeBody | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    const field = t >>> 3;
    if (t === T_VARINT(F_ID)) id = r.uint32();
    else if (t === T_VARINT(F_TIMEOUT)) timeoutMs = r.uint32();
    else if (field >= F_IDENTIFY_REQUEST && field <= F_ERROR && (t & 7) === LEN) {
      const bodyEnd = r.uint32() + r.pos;
      if (bodyEnd > end) throw malformed('body overruns its envelope');
      try {
        body = readBody(r, field, bodyEnd);
        kind = kindOfField(field);
      } catch (e) {
        body = e instanceof InvalidArgumentError ? e : malformed('body', e);
        kind = KIND_MALFORMED;
      }
      r.pos = bodyEnd;
    } else skipField(r, t);
    checkEnd(r, end);
  }
  visit(id, timeoutMs, kind, body ?? malformed('envelope has no body'));
}

/**
 * Decode a PeerBatch, calling `visit` once per envelope in order. Returns the
 * number of envelopes. Throws InvalidArgumentError if the frame itself is
 * malformed (envelopes before the damage have already been visited).
 */
export function decodeBatch(bytes: Uint8Array, visit: EnvelopeVisitor): number {
  const r = protobuf.Reader.create(bytes);
  let count = 0;
  try {
    while (r.pos < r.len) {
      const t = r.uint32();
      if (t === TAG_BATCH_ENVELOPE) {
        const len = r.uint32();
        const end = r.pos + len;
        if (end > r.len) throw malformed('envelope overruns the batch');
        readEnvelope(r, end, visit);
        r.pos = end;
        count++;
      } else {
        if (t >>> 3 === 0) throw malformed('field number 0');
        r.skipType(t & 7);
      }
    }
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw malformed('batch', e);
  }
  return count;
}

// ---------------------------------------------------------------------------
// Single-message codec (the simulator sends these bytes; each is one bare PeerEnvelope).

function encodeOne(kind: EnvelopeKind, body: EnvelopeBody): Uint8Array {
  const w = protobuf.Writer.create();
  writeEnvelope(w, 0, 0, kind, body, false);
  return w.finish();
}

function decodeOne(bytes: Uint8Array, expected: EnvelopeKind, what: string): EnvelopeBody {
  const r = protobuf.Reader.create(bytes);
  let kind: EnvelopeKind = KIND_MALFORMED;
  let body: EnvelopeBody | undefined;
  try {
    readEnvelope(r, r.len, (_id, _timeoutMs, k, b) => {
      kind = k;
      body = b;
    });
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw malformed(what, e);
  }
  if (kind === expected) return body as EnvelopeBody;
  if (kind === KIND_MALFORMED) throw body as InvalidArgumentError;
  throw malformed(`expected ${what}, got ${kind === KIND_REQUEST ? 'a request' : kind === KIND_REPLY ? 'a reply' : 'an error'}`);
}

/** A peer request as a bare PeerEnvelope (peer.proto). */
export function encodeRequest(req: PeerRequest): Uint8Array {
  return encodeOne(KIND_REQUEST, req);
}
/** Inverse of encodeRequest; throws InvalidArgumentError on malformed bytes or a non-request envelope. */
export function decodeRequest(bytes: Uint8Array): PeerRequest {
  return decodeOne(bytes, KIND_REQUEST, 'a request') as PeerRequest;
}
/** A peer reply as a bare PeerEnvelope (peer.proto). */
export function encodeReply(rep: PeerReply): Uint8Array {
  return encodeOne(KIND_REPLY, rep);
}
/** Inverse of encodeReply; throws InvalidArgumentError on malformed bytes or a non-reply envelope. */
export function decodeReply(bytes: Uint8Array): PeerReply {
  return decodeOne(bytes, KIND_REPLY, 'a reply') as PeerReply;
}
/** A DynamoError as a bare PeerEnvelope with a PeerError body (code, message, counts). */
export function encodeError(e: DynamoError): Uint8Array {
  return encodeOne(KIND_ERROR, e);
}
/** Inverse of encodeError: the same subclass, message and counts. Throws InvalidArgumentError on malformed bytes. */
export function decodeError(bytes: Uint8Array): DynamoError {
  return decodeOne(bytes, KIND_ERROR, 'an error') as DynamoError;
}
