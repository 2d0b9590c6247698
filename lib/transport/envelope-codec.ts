/**
 * The engine of the node-to-node codec: PeerEnvelope and PeerBatch
 * (peer.proto) driven by a table of message rows. A row is one member of
 * `PeerEnvelope.body` — its field number, its message type in the .proto, what
 * it carries (request, reply, one-way message or error) and the three
 * functions that size, write and read its body. The engine owns everything
 * around the body: the envelope fields (id, timeout), the batch framing, the
 * length prefixes (computed up front, so nothing is written twice), and the
 * distrust of input. peer-messages.ts holds the rows of peer.proto;
 * peer-codec.ts binds the two. The dispatch from a message to its row is
 * compiled from the table once (compileDispatch), which keeps the table
 * codec as fast as the hand-written one it replaced (bench/peer-codec.ts).
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
  skipField,
  tag,
  tagLength,
  uint32FieldLength,
  varintLength,
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

/** How one message type's body is sized, written and read. The functions are called detached (no `this`). */
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

/**
 * A row as the engine keeps it: one object shape for every row, whatever
 * literal or helper built it, with its tag and the tag's size computed once.
 */
interface Entry {
  readonly field: number;
  readonly tag: number;
  readonly tagBytes: number;
  readonly kind: EnvelopeKind;
  readonly type: string;
  readonly protoType: string;
  readonly length: (body: never) => number;
  readonly write: (w: Writer, body: never) => void;
  readonly read: (r: Reader, end: number) => unknown;
}

function entryOf(row: MessageRow | ErrorRow, kind: EnvelopeKind, type: string): Entry {
  return {
    field: row.field,
    tag: tag(row.field, LEN),
    tagBytes: tagLength(row.field),
    kind,
    type,
    protoType: row.protoType,
    length: row.length as Entry['length'],
    write: row.write as Entry['write'],
    read: row.read,
  };
}

/** Writes the envelope of `body` (header then body); false if no row carries it. */
type WriteBody = (w: Writer, id: number, timeout: number, kind: EnvelopeKind, body: unknown, inBatch: boolean) => boolean;
/** Reads the body of member `field`. */
type ReadBody = (field: number, r: Reader, end: number) => unknown;

/** Everything of an envelope before its body's fields. */
function writeHead(w: Writer, id: number, timeout: number, e: Entry, bodyLen: number, inBatch: boolean): void {
  if (inBatch) {
    w.uint32(TAG_BATCH_ENVELOPE).uint32(uint32FieldLength(F_ID, id) + uint32FieldLength(F_TIMEOUT, timeout) + e.tagBytes + varintLength(bodyLen) + bodyLen);
  }
  writeUint32Field(w, F_ID, id);
  writeUint32Field(w, F_TIMEOUT, timeout);
  w.uint32(e.tag).uint32(bodyLen);
}

/**
 * The dispatch from (kind, type) to a row when writing and from field number
 * to a row when reading, compiled from the table once (protobufjs builds its
 * codecs the same way): each row gets its own call sites, which V8 can
 * inline, where one shared `row.write(...)` would be megamorphic. The source
 * holds only our rows' field numbers and `type` strings (JSON-quoted).
 */
function compileDispatch(entries: readonly Entry[], error: Entry): [WriteBody, ReadBody] {
  const names = entries.map((_, i) => `e${i}`);
  const emit = (name: string): string =>
    `{ const n = ${name}.length(body); writeHead(w, id, timeout, ${name}, n, inBatch); ${name}.write(w, body); return true; }`;
  const byKind = new Map<EnvelopeKind, string[]>();
  entries.forEach((e, i) => {
    if (e === error) return;
    const cases = byKind.get(e.kind) ?? [];
    cases.push(`if (type === ${JSON.stringify(e.type)}) ${emit(names[i]!)}`);
    byKind.set(e.kind, cases);
  });
  const errorName = names[entries.indexOf(error)]!;
  const write = `return function writeBody(w, id, timeout, kind, body, inBatch) {
    if (kind === ${KIND_ERROR} || kind === ${KIND_MALFORMED}) ${emit(errorName)}
    const type = body.type;
    ${[...byKind].map(([kind, cases]) => `if (kind === ${kind}) { ${cases.join(' ')} }`).join('\n')}
    return false;
  }`;
  const read = `return function readBody(field, r, end) {
    switch (field) { ${entries.map((e, i) => `case ${e.field}: return ${names[i]}.read(r, end);`).join(' ')} }
  }`;
  const writeBody = new Function('writeHead', ...names, write)(writeHead, ...entries) as WriteBody;
  const readBody = new Function(...names, read)(...entries) as ReadBody;
  return [writeBody, readBody];
}

/** PeerEnvelope / PeerBatch over a table of body rows; see the module comment. */
export class EnvelopeCodec<B extends TypedMessage = TypedMessage> {
  readonly #rows: readonly (MessageRow<B> | ErrorRow)[];
  /** Entries by field number (the error row's included): what a member decodes as. */
  readonly #byField: (Entry | undefined)[] = [];
  readonly #writeBody: WriteBody;
  readonly #readBody: ReadBody;

  /** Throws if two rows share a field number or a (kind, type), or a number is taken by the envelope itself. */
  constructor(rows: readonly MessageRow<B>[], error: ErrorRow) {
    const errorEntry = entryOf(error, KIND_ERROR, '');
    const entries = [...rows.map((row) => entryOf(row, row.kind, row.type)), errorEntry];
    const carried = new Set<string>();
    for (const e of entries) {
      if (!Number.isInteger(e.field) || e.field <= F_TIMEOUT || e.field > FIELD_NUMBER_MAX) {
        throw new Error(`peer codec: ${e.protoType} has field number ${e.field} (3..${FIELD_NUMBER_MAX}; 1 and 2 are the envelope's)`);
      }
      if (this.#byField[e.field] !== undefined) throw new Error(`peer codec: field ${e.field} is used twice`);
      this.#byField[e.field] = e;
      if (e === errorEntry) continue;
      if (carried.has(`${e.kind}:${e.type}`)) throw new Error(`peer codec: two rows carry ${KIND_NAMES[e.kind]} of type ${e.type}`);
      carried.add(`${e.kind}:${e.type}`);
    }
    this.#rows = [...rows, error].sort((a, b) => a.field - b.field);
    [this.#writeBody, this.#readBody] = compileDispatch(entries, errorEntry);
  }

  /** The rows, in field order (for tests and tools). */
  rows(): (MessageRow<B> | ErrorRow)[] {
    return [...this.#rows];
  }

  /**
   * Append one PeerEnvelope to `w`. With `inBatch` it is written as a
   * PeerBatch.envelopes field, so consecutive calls build a PeerBatch;
   * without, `w` holds a bare PeerEnvelope. Returns the bytes appended.
   * Throws a TypeError (appending nothing) if `body` is not a message of its kind.
   */
  write(w: Writer, id: number, timeoutMs: number, kind: EnvelopeKind, body: B | DynamoError, inBatch: boolean): number {
    const start = w.len;
    if (!this.#writeBody(w, id, wireUint32(timeoutMs), kind, body, inBatch)) unknownType(kind, body);
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
      const entry = (t & 7) === LEN ? this.#byField[t >>> 3] : undefined;
      if (t === T_ID) id = r.uint32();
      else if (t === T_TIMEOUT) timeoutMs = r.uint32();
      else if (entry !== undefined) {
        const bodyEnd = r.uint32() + r.pos;
        if (bodyEnd > end) throw malformed('body overruns its envelope');
        try {
          body = this.#readBody(entry.field, r, bodyEnd) as B | DynamoError;
          kind = entry.kind;
        } catch (e) {
          body = e instanceof InvalidArgumentError ? e : malformed(entry.protoType, e);
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
