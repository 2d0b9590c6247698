/**
 * The engine of the node-to-node codec: PeerEnvelope and PeerBatch
 * (peer.proto) driven by a table of message rows. A row is one member of
 * `PeerEnvelope.body` — its field number, its message type in the .proto, what
 * it carries (request, reply, one-way message or error) and the three
 * functions that size, write and read its body. The engine owns everything
 * around the body: the envelope fields (id, timeout), the batch framing, the
 * length prefixes (computed up front, so nothing is written twice), and the
 * distrust of input. peer-messages.ts holds the rows of peer.proto;
 * peer-codec.ts binds the two.
 *
 * Decoding never trusts its input: every malformed byte string becomes an
 * InvalidArgumentError, never a crash. Bytes fields decode as views of the
 * input buffer (no copy).
 */
import protobuf from 'protobufjs';
import { InvalidArgumentError, type DynamoError } from '../runtime/index.ts';
import {
  FIELD_NUMBER_MAX,
  LEN,
  checkEnd,
  lenFieldLength,
  skipField,
  tag,
  uint32FieldLength,
  VARINT,
  wireUint32,
  writeUint32Field,
  type Reader,
  type Writer,
} from './wire.ts';

/** The envelope carries a request (a reply is expected under its id). */
export const KIND_REQUEST = 0;
/** The envelope carries a reply to the request with its id. */
export const KIND_REPLY = 1;
/** The envelope carries the DynamoError a handler rejected with. */
export const KIND_ERROR = 2;
/** The envelope's body did not decode; the body is an InvalidArgumentError saying why. */
export const KIND_MALFORMED = 3;
/** The envelope carries a one-way message: no reply is expected, its id is 0. */
export const KIND_ONEWAY = 4;
/** What an envelope's body is. */
export type EnvelopeKind = typeof KIND_REQUEST | typeof KIND_REPLY | typeof KIND_ERROR | typeof KIND_MALFORMED | typeof KIND_ONEWAY;
/** The kinds a message row can have (errors have their own row). */
export type MessageKind = typeof KIND_REQUEST | typeof KIND_REPLY | typeof KIND_ONEWAY;

/** A protocol message: a plain object discriminated by `type`. */
export interface TypedMessage {
  readonly type: string;
}

/** An envelope body of any kind. */
export type Body = TypedMessage | DynamoError;

/** How one message type's body is sized, written and read. */
export interface BodyCodec<B> {
  /**
   * Bytes `write` will append. Must throw (a TypeError) on a value of the
   * wrong shape before anything is written, so a bad body never leaves half
   * an envelope in the batch.
   */
  length(body: B): number;
  /** Append the body's fields (not its own tag or length). */
  write(w: Writer, body: B): void;
  /** Read the body's fields spanning [r.pos, end); skip unknown fields; throw on malformed ones. */
  read(r: Reader, end: number): B;
}

/** One member of PeerEnvelope.body: a row of the codec table. */
export interface MessageRow<B extends TypedMessage = TypedMessage> extends BodyCodec<B> {
  /** Its field number in PeerEnvelope.body (peer.proto). */
  readonly field: number;
  /** Its message type in peer.proto, e.g. "ReadRequest" (checked by a test). */
  readonly protoType: string;
  readonly kind: MessageKind;
  /** The protocol `type` it carries; a request and its reply share it. */
  readonly type: B['type'];
}

/** The member carrying errors (PeerError). */
export interface ErrorRow extends BodyCodec<DynamoError> {
  readonly field: number;
  readonly protoType: string;
}

/** Receives each decoded envelope of a batch (no wrapper object is built). */
export type EnvelopeVisitor<B = Body> = (id: number, timeoutMs: number, kind: EnvelopeKind, body: B) => void;

// PeerBatch.envelopes = 1 (LEN).
const TAG_BATCH_ENVELOPE = tag(1, LEN);
// PeerEnvelope's own fields; every other number belongs to the body oneof.
const F_ID = 1;
const F_TIMEOUT = 2;
const T_ID = tag(F_ID, VARINT);
const T_TIMEOUT = tag(F_TIMEOUT, VARINT);

function malformed(what: string, cause?: unknown): InvalidArgumentError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new InvalidArgumentError(`malformed peer message (${what})${detail}`, cause === undefined ? undefined : { cause });
}

function unknownType(kind: EnvelopeKind, body: unknown): never {
  const what = kind === KIND_REQUEST ? 'request' : kind === KIND_REPLY ? 'reply' : 'one-way message';
  throw new TypeError(`peer codec: unknown ${what} type ${String((body as { type?: unknown } | undefined)?.type)}`);
}

const KIND_NAMES: Readonly<Record<EnvelopeKind, string>> = {
  [KIND_REQUEST]: 'a request',
  [KIND_REPLY]: 'a reply',
  [KIND_ERROR]: 'an error',
  [KIND_MALFORMED]: 'a malformed message',
  [KIND_ONEWAY]: 'a one-way message',
};

/** PeerEnvelope / PeerBatch over a table of body rows; see the module comment. */
export class EnvelopeCodec<B extends TypedMessage = TypedMessage> {
  /** Rows for encoding, per kind, by protocol type. */
  readonly #byType: readonly Map<string, MessageRow<B>>[];
  /** Rows for decoding, by field number (the error row included). */
  readonly #byField: (MessageRow<B> | ErrorRow | undefined)[] = [];
  readonly #error: ErrorRow;

  /** Throws if two rows share a field number or a (kind, type), or a number is taken by the envelope itself. */
  constructor(rows: readonly MessageRow<B>[], error: ErrorRow) {
    const byType = [new Map<string, MessageRow<B>>(), new Map<string, MessageRow<B>>(), new Map(), new Map(), new Map<string, MessageRow<B>>()];
    for (const row of [...rows, error]) {
      if (!Number.isInteger(row.field) || row.field <= F_TIMEOUT || row.field > FIELD_NUMBER_MAX) {
        throw new Error(`peer codec: ${row.protoType} has field number ${row.field} (3..${FIELD_NUMBER_MAX}; 1 and 2 are the envelope's)`);
      }
      if (this.#byField[row.field] !== undefined) throw new Error(`peer codec: field ${row.field} is used twice`);
      this.#byField[row.field] = row;
    }
    for (const row of rows) {
      const map = byType[row.kind]!;
      if (map.has(row.type)) throw new Error(`peer codec: two rows carry ${KIND_NAMES[row.kind]} of type ${row.type}`);
      map.set(row.type, row);
    }
    this.#byType = byType;
    this.#error = error;
  }

  /** The rows, in field order (for tests and tools). */
  rows(): (MessageRow<B> | ErrorRow)[] {
    return this.#byField.filter((r) => r !== undefined);
  }

  #rowFor(kind: EnvelopeKind, body: B | DynamoError): BodyCodec<B | DynamoError> & { readonly field: number } {
    if (kind === KIND_ERROR || kind === KIND_MALFORMED) return this.#error as ErrorRow & BodyCodec<B | DynamoError>;
    const row = this.#byType[kind]?.get((body as B).type);
    return (row ?? unknownType(kind, body)) as MessageRow<B> & BodyCodec<B | DynamoError>;
  }

  /**
   * Append one PeerEnvelope to `w`. With `inBatch` it is written as a
   * PeerBatch.envelopes field, so consecutive calls build a PeerBatch;
   * without, `w` holds a bare PeerEnvelope. Returns the bytes appended.
   * Throws a TypeError (appending nothing) if `body` is not a message of its kind.
   */
  write(w: Writer, id: number, timeoutMs: number, kind: EnvelopeKind, body: B | DynamoError, inBatch: boolean): number {
    const row = this.#rowFor(kind, body);
    const timeout = wireUint32(timeoutMs);
    const bodyLen = row.length(body);
    const envLen = uint32FieldLength(F_ID, id) + uint32FieldLength(F_TIMEOUT, timeout) + lenFieldLength(row.field, bodyLen);
    const start = w.len;
    if (inBatch) w.uint32(TAG_BATCH_ENVELOPE).uint32(envLen);
    writeUint32Field(w, F_ID, id);
    writeUint32Field(w, F_TIMEOUT, timeout);
    w.uint32(tag(row.field, LEN)).uint32(bodyLen);
    row.write(w, body);
    return w.len - start;
  }

  /**
   * Read one PeerEnvelope spanning [r.pos, end) and hand it to `visit`. A
   * body that does not decode is delivered as KIND_MALFORMED with an
   * InvalidArgumentError (so its id can still be answered); a broken envelope throws.
   */
  #readEnvelope(r: Reader, end: number, visit: EnvelopeVisitor<B | DynamoError>): void {
    let id = 0;
    let timeoutMs = 0;
    let kind: EnvelopeKind = KIND_MALFORMED;
    let body: B | DynamoError | undefined;
    while (r.pos < end) {
      const t = r.uint32();
      const row = (t & 7) === LEN ? this.#byField[t >>> 3] : undefined;
      if (t === T_ID) id = r.uint32();
      else if (t === T_TIMEOUT) timeoutMs = r.uint32();
      else if (row !== undefined) {
        const bodyEnd = r.uint32() + r.pos;
        if (bodyEnd > end) throw malformed('body overruns its envelope');
        try {
          body = row.read(r, bodyEnd);
          kind = row === this.#error ? KIND_ERROR : (row as MessageRow<B>).kind;
        } catch (e) {
          body = e instanceof InvalidArgumentError ? e : malformed(row.protoType, e);
          kind = KIND_MALFORMED;
        }
        r.pos = bodyEnd;
      } else skipField(r, t);
      checkEnd(r, end);
    }
    visit(id, timeoutMs, kind, body ?? malformed('envelope has no body'));
  }

  /**
   * Decode a PeerBatch, calling `visit` once per envelope in order. Returns
   * the number of envelopes. Throws InvalidArgumentError if the frame itself
   * is malformed (envelopes before the damage have already been visited).
   */
  decodeBatch(bytes: Uint8Array, visit: EnvelopeVisitor<B | DynamoError>): number {
    const r = protobuf.Reader.create(bytes);
    let count = 0;
    try {
      while (r.pos < r.len) {
        const t = r.uint32();
        if (t === TAG_BATCH_ENVELOPE) {
          const end = r.uint32() + r.pos;
          if (end > r.len) throw malformed('envelope overruns the batch');
          this.#readEnvelope(r, end, visit);
          r.pos = end;
          count++;
        } else skipField(r, t);
      }
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw e;
      throw malformed('batch', e);
    }
    return count;
  }

  /** One bare PeerEnvelope (id 0, no timeout), as the simulator sends them. */
  encodeOne(kind: EnvelopeKind, body: B | DynamoError): Uint8Array {
    const w = protobuf.Writer.create();
    this.write(w, 0, 0, kind, body, false);
    return w.finish();
  }

  /** Inverse of encodeOne: the body, which must be of kind `expected`; throws InvalidArgumentError otherwise. */
  decodeOne(bytes: Uint8Array, expected: EnvelopeKind): B | DynamoError {
    const r = protobuf.Reader.create(bytes);
    let kind: EnvelopeKind = KIND_MALFORMED;
    let body: B | DynamoError | undefined;
    try {
      this.#readEnvelope(r, r.len, (_id, _timeoutMs, k, b) => {
        kind = k;
        body = b;
      });
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw e;
      throw malformed(KIND_NAMES[expected], e);
    }
    if (kind === expected) return body!;
    if (kind === KIND_MALFORMED) throw body as InvalidArgumentError;
    throw malformed(`expected ${KIND_NAMES[expected]}, got ${KIND_NAMES[kind]}`);
  }
}
