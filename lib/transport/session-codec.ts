/**
 * The envelope layer of KV/Session (kv.proto: SessionRequests,
 * SessionResponses, SessionError), encoded and decoded by hand like the peer
 * codec: entries are written straight into the frame being built with their
 * lengths computed up front. The op bodies inside (GetRequest, PutResponse,
 * ...) are NOT handled here: both ends pass them through as bytes encoded and
 * decoded by the very same protobufjs codecs as the unary methods, so a
 * Session request means exactly what its unary twin means.
 *
 * Decoding never trusts its input: a frame that does not parse is an
 * InvalidArgumentError, and nothing of it is delivered. Bytes decode as views
 * of the received frame (no copy).
 */
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { InvalidArgumentError } from '../runtime/index.ts';
import { FrameBatcher } from './batch-writer.ts';
import type { ErrorStatus } from './grpc-status.ts';
import {
  boolFieldLength,
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
  wireUint32,
  writeBoolField,
  writeStringField,
  writeUint32Field,
} from './wire.ts';

/** The KV operations a Session carries. */
export type SessionOp = 'get' | 'put' | 'delete';

/** Full path of the Session method (kv.proto). */
export const SESSION_PATH = '/dynamo.v1.KV/Session';

// SessionRequests.requests = 1 and SessionResponses.responses = 1: the entries of a frame.
const TAG_ENTRY = tag(1, LEN);
// Fields of SessionRequest / SessionResponse.
const F_ID = 1;
const T_ID = tag(F_ID, VARINT);
const T_TIMEOUT = tag(2, VARINT);
const F_TIMEOUT = 2;
/** SessionRequest.op members. */
const REQUEST_FIELD: Readonly<Record<SessionOp, number>> = { get: 3, put: 4, delete: 5 };
/** SessionResponse.result members (error = 5). */
const RESPONSE_FIELD: Readonly<Record<SessionOp, number>> = { get: 2, put: 3, delete: 4 };
const F_RESPONSE_ERROR = 5;
const REQUEST_OP: readonly (SessionOp | undefined)[] = [undefined, undefined, undefined, 'get', 'put', 'delete'];
const RESPONSE_OP: readonly (SessionOp | undefined)[] = [undefined, undefined, 'get', 'put', 'delete'];

/** One decoded SessionRequest. */
export interface SessionRequestEntry {
  readonly id: number;
  /** 0 = the node's default. */
  readonly timeoutMs: number;
  /** Undefined when the request carries no op this build knows. */
  readonly op: SessionOp | undefined;
  /** The op's encoded GetRequest / PutRequest / DeleteRequest. */
  readonly body: Uint8Array;
}

/** One decoded SessionResponse: a result body or an error (neither when the result is of a kind this build does not know). */
export interface SessionResponseEntry {
  readonly id: number;
  readonly op: SessionOp | undefined;
  /** The encoded GetResponse / PutResponse / DeleteResponse. */
  readonly body: Uint8Array;
  readonly error: ErrorStatus | undefined;
}

/** Entries of SessionRequests/SessionResponses frames: id, timeout and one length-delimited member. */
abstract class SessionFrameWriter extends FrameBatcher {
  /**
   * Start an entry whose member `field` holds `memberBytes` bytes: sends the
   * pending frame first if needed, then writes everything up to the member's
   * tag. The caller writes the member's length and payload.
   */
  protected beginEntry(id: number, timeout: number, field: number, memberBytes: number): void {
    const len = uint32FieldLength(F_ID, id) + uint32FieldLength(F_TIMEOUT, timeout) + lenFieldLength(field, memberBytes);
    this.makeRoom(lenFieldLength(1, len));
    const w = this.writer;
    w.uint32(TAG_ENTRY).uint32(len);
    writeUint32Field(w, F_ID, id);
    writeUint32Field(w, F_TIMEOUT, timeout);
    w.uint32(tag(field, LEN));
  }
}

/** The client's side: builds SessionRequests frames. */
export class SessionRequestWriter extends SessionFrameWriter {
  /** Append a request whose op body (`body`, an encoded GetRequest/...) is already encoded. */
  add(id: number, timeoutMs: number, op: SessionOp, body: Uint8Array): void {
    this.beginEntry(id, wireUint32(timeoutMs), REQUEST_FIELD[op], bytesLength(body));
    this.writer.bytes(body);
    this.added();
  }
}

/** The server's side: builds SessionResponses frames. */
export class SessionResponseWriter extends SessionFrameWriter {
  /** Append the encoded unary response of request `id`. */
  result(id: number, op: SessionOp, body: Uint8Array): void {
    this.beginEntry(id, 0, RESPONSE_FIELD[op], bytesLength(body));
    this.writer.bytes(body);
    this.added();
  }

  /** Append the failure of request `id`. */
  error(id: number, s: ErrorStatus): void {
    const code = wireUint32(s.code);
    const dynamoCode = s.dynamoCode ?? '';
    const answered = wireUint32(s.answered);
    const required = wireUint32(s.required);
    const maybeApplied = s.maybeApplied === true;
    const len =
      uint32FieldLength(1, code) +
      stringFieldLength(2, s.details) +
      stringFieldLength(3, dynamoCode) +
      uint32FieldLength(4, answered) +
      uint32FieldLength(5, required) +
      boolFieldLength(6, maybeApplied);
    this.beginEntry(id, 0, F_RESPONSE_ERROR, len);
    const w = this.writer.uint32(len);
    writeUint32Field(w, 1, code);
    writeStringField(w, 2, s.details);
    writeStringField(w, 3, dynamoCode);
    writeUint32Field(w, 4, answered);
    writeUint32Field(w, 5, required);
    writeBoolField(w, 6, maybeApplied);
    this.added();
  }
}

function malformed(what: string, cause: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`malformed ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}

/** Walk the entries of a frame (field 1), handing each entry's extent to `read`; other fields are skipped. */
function readFrame<T>(frame: Uint8Array, what: string, read: (r: protobuf.Reader, end: number) => T): T[] {
  const out: T[] = [];
  const r = protobuf.Reader.create(frame);
  try {
    while (r.pos < r.len) {
      const t = r.uint32();
      if (t !== TAG_ENTRY) {
        skipField(r, t);
        continue;
      }
      const end = r.uint32() + r.pos;
      if (end > r.len) throw new Error('entry overruns the frame');
      out.push(read(r, end));
      r.pos = end;
    }
  } catch (e) {
    throw malformed(what, e);
  }
  return out;
}

/** Decode a SessionRequests frame; throws InvalidArgumentError (and delivers nothing) if it is malformed. */
export function decodeSessionRequests(frame: Uint8Array): SessionRequestEntry[] {
  return readFrame(frame, 'SessionRequests', (r, end) => {
    let id = 0;
    let timeoutMs = 0;
    let op: SessionOp | undefined;
    let body = EMPTY;
    while (r.pos < end) {
      const t = r.uint32();
      const member = (t & 7) === LEN ? REQUEST_OP[t >>> 3] : undefined;
      if (t === T_ID) id = r.uint32();
      else if (t === T_TIMEOUT) timeoutMs = r.uint32();
      else if (member !== undefined) {
        op = member;
        body = r.bytes();
      } else skipField(r, t);
      checkEnd(r, end);
    }
    return { id, timeoutMs, op, body };
  });
}

function readError(r: protobuf.Reader, end: number): ErrorStatus {
  let code = 0;
  let details = '';
  let dynamoCode = '';
  let answered = 0;
  let required = 0;
  let maybeApplied = false;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag(1, VARINT)) code = r.uint32();
    else if (t === tag(2, LEN)) details = r.string();
    else if (t === tag(3, LEN)) dynamoCode = r.string();
    else if (t === tag(4, VARINT)) answered = r.uint32();
    else if (t === tag(5, VARINT)) required = r.uint32();
    else if (t === tag(6, VARINT)) maybeApplied = r.bool();
    else skipField(r, t);
    checkEnd(r, end);
  }
  return { code: code as grpc.status, details, dynamoCode: dynamoCode === '' ? undefined : dynamoCode, answered, required, maybeApplied };
}

/** Decode a SessionResponses frame; throws InvalidArgumentError (and delivers nothing) if it is malformed. */
export function decodeSessionResponses(frame: Uint8Array): SessionResponseEntry[] {
  return readFrame(frame, 'SessionResponses', (r, end) => {
    let id = 0;
    let op: SessionOp | undefined;
    let body = EMPTY;
    let error: ErrorStatus | undefined;
    while (r.pos < end) {
      const t = r.uint32();
      const field = t >>> 3;
      if (t === T_ID) id = r.uint32();
      else if (t === tag(F_RESPONSE_ERROR, LEN)) {
        const errorEnd = r.uint32() + r.pos;
        if (errorEnd > end) throw new Error('error overruns its response');
        error = readError(r, errorEnd);
        op = undefined;
      } else if ((t & 7) === LEN && RESPONSE_OP[field] !== undefined) {
        op = RESPONSE_OP[field];
        body = r.bytes();
        error = undefined;
      } else skipField(r, t);
      checkEnd(r, end);
    }
    return { id, op, body, error };
  });
}
