/**
 * The table-driven envelope engine with a test-only table: field numbers of
 * 16 and more (two- and three-byte tags) in the envelope and in bodies, and a
 * one-way message kind — checked against a test-only .proto through
 * protobufjs's reflection codec, so a length that assumed one-byte tags
 * would corrupt the frame and fail here.
 */
import { expect } from 'chai';
import protobuf from 'protobufjs';
import { DynamoError, InvalidArgumentError, UnavailableError } from '../../../lib/runtime/index.ts';
import {
  EnvelopeCodec,
  KIND_ERROR,
  KIND_MALFORMED,
  KIND_ONEWAY,
  KIND_REPLY,
  KIND_REQUEST,
  type EnvelopeKind,
  type ErrorRow,
  type MessageRow,
} from '../../../lib/transport/envelope-codec.ts';
import {
  bytesFieldLength,
  checkEnd,
  EMPTY,
  LEN,
  skipField,
  stringFieldLength,
  tag,
  tagLength,
  uint32FieldLength,
  VARINT,
  writeBytesField,
  writeStringField,
  writeUint32Field,
} from '../../../lib/transport/wire.ts';
import { plain } from './fixtures.ts';

const PROTO = `
syntax = "proto3";
package t;
message Batch { repeated Envelope envelopes = 1; }
message Envelope {
  uint32 id = 1;
  uint32 timeout_ms = 2;
  oneof body {
    Ping ping = 20;
    Fetch fetch = 300;
    Fetched fetched = 70000;
    Err error = 3;
  }
}
message Ping { bytes payload = 17; uint32 round = 2000; }
message Fetch { string name = 1; }
message Fetched { bytes data = 16; }
message Err { string code = 1; string message = 2; }
`;

type Ping = { readonly type: 'ping'; readonly payload: Uint8Array; readonly round: number };
type Fetch = { readonly type: 'fetch'; readonly name: string };
type Fetched = { readonly type: 'fetch'; readonly data: Uint8Array };
type TestMessage = Ping | Fetch | Fetched;

/** Reads every field with `read(t)`; returns false for a field it does not know. */
function readFields(r: protobuf.Reader, end: number, read: (t: number) => boolean): void {
  while (r.pos < end) {
    const t = r.uint32();
    if (!read(t)) skipField(r, t);
    checkEnd(r, end);
  }
}

const ping: MessageRow<Ping> = {
  field: 20,
  protoType: 'Ping',
  kind: KIND_ONEWAY,
  type: 'ping',
  length: (m) => bytesFieldLength(17, m.payload) + uint32FieldLength(2000, m.round),
  write(w, m) {
    writeBytesField(w, 17, m.payload);
    writeUint32Field(w, 2000, m.round);
  },
  read(r, end) {
    let payload = EMPTY;
    let round = 0;
    readFields(r, end, (t) => {
      if (t === tag(17, LEN)) payload = r.bytes();
      else if (t === tag(2000, VARINT)) round = r.uint32();
      else return false;
      return true;
    });
    return { type: 'ping', payload, round };
  },
};

const fetch: MessageRow<Fetch> = {
  field: 300,
  protoType: 'Fetch',
  kind: KIND_REQUEST,
  type: 'fetch',
  length: (m) => stringFieldLength(1, m.name),
  write: (w, m) => writeStringField(w, 1, m.name),
  read(r, end) {
    let name = '';
    readFields(r, end, (t) => t === tag(1, LEN) && ((name = r.string()), true));
    return { type: 'fetch', name };
  },
};

const fetched: MessageRow<Fetched> = {
  field: 70000,
  protoType: 'Fetched',
  kind: KIND_REPLY,
  type: 'fetch',
  length: (m) => bytesFieldLength(16, m.data),
  write: (w, m) => writeBytesField(w, 16, m.data),
  read(r, end) {
    let data = EMPTY;
    readFields(r, end, (t) => t === tag(16, LEN) && ((data = r.bytes()), true));
    return { type: 'fetch', data };
  },
};

const error: ErrorRow = {
  field: 3,
  protoType: 'Err',
  length: (e) => stringFieldLength(1, e.code) + stringFieldLength(2, e.message),
  write(w, e) {
    writeStringField(w, 1, e.code);
    writeStringField(w, 2, e.message);
  },
  read(r, end) {
    let message = '';
    readFields(r, end, (t) => {
      if (t === tag(1, LEN)) r.string();
      else if (t === tag(2, LEN)) message = r.string();
      else return false;
      return true;
    });
    return new UnavailableError(message, { answered: 0, required: 0 });
  },
};

const codec = new EnvelopeCodec<TestMessage>([ping, fetch, fetched] as MessageRow<TestMessage>[], error);
const root = protobuf.parse(PROTO).root;
const Batch = root.lookupType('t.Batch');

const bigPayload = new Uint8Array(300).fill(7); // a length that itself takes two bytes
const SAMPLES: [number, number, EnvelopeKind, TestMessage | DynamoError, Record<string, unknown>][] = [
  [0, 0, KIND_ONEWAY, { type: 'ping', payload: bigPayload, round: 99 }, { ping: { payload: Array.from(bigPayload), round: 99 } }],
  [7, 250, KIND_REQUEST, { type: 'fetch', name: 'partition-12' }, { fetch: { name: 'partition-12' } }],
  [7, 0, KIND_REPLY, { type: 'fetch', data: Uint8Array.from([1, 2, 3]) }, { fetched: { data: [1, 2, 3] } }],
  [8, 0, KIND_ERROR, new UnavailableError('gone', { answered: 0, required: 0 }), { error: { code: 'DYNAMO_UNAVAILABLE', message: 'gone' } }],
];

describe('transport envelope codec (table-driven, any field number)', () => {
  it('tags are varints: field numbers of 16 and more take more than one byte, and lengths count them', () => {
    expect([1, 15, 16, 2047, 2048, 70000, 0x1fffffff].map(tagLength)).to.deep.equal([1, 1, 2, 2, 3, 3, 5]);
    for (const field of [1, 15, 16, 300, 70000, 0x1fffffff]) {
      const w = protobuf.Writer.create();
      writeUint32Field(w, field, 5);
      const bytes = w.finish();
      expect(bytes.length, `field ${field}`).to.equal(uint32FieldLength(field, 5));
      const r = protobuf.Reader.create(bytes);
      const t = r.uint32();
      expect([t >>> 3, t & 7, r.uint32()]).to.deep.equal([field, VARINT, 5]);
    }
  });

  it('a batch with members and body fields numbered 16 to 70000 is a valid Batch for protobufjs, and back', () => {
    const w = protobuf.Writer.create();
    for (const [id, timeoutMs, kind, body] of SAMPLES) codec.write(w, id, timeoutMs, kind, body, true);
    const bytes = w.finish();
    const theirs = Batch.toObject(Batch.decode(bytes), { bytes: Array, defaults: false }) as { envelopes: Record<string, unknown>[] };
    expect(theirs.envelopes).to.deep.equal(
      SAMPLES.map(([id, timeoutMs, , , fields]) => ({ ...(id === 0 ? {} : { id }), ...(timeoutMs === 0 ? {} : { timeoutMs }), ...fields })),
    );

    const seen: unknown[] = [];
    const count = codec.decodeBatch(Batch.encode(Batch.fromObject(theirs)).finish(), (id, timeoutMs, kind, body) => seen.push([id, timeoutMs, kind, plain(body)]));
    expect(count).to.equal(SAMPLES.length);
    expect(seen).to.deep.equal(SAMPLES.map(([id, timeoutMs, kind, body]) => [id, timeoutMs, kind, plain(body)]));
  });

  it('a one-way message is its own kind, with id 0', () => {
    const back = codec.decodeOne(codec.encodeOne(KIND_ONEWAY, SAMPLES[0]![3]), KIND_ONEWAY);
    expect(plain(back)).to.deep.equal(plain(SAMPLES[0]![3]));
    expect(() => codec.decodeOne(codec.encodeOne(KIND_ONEWAY, SAMPLES[0]![3]), KIND_REQUEST)).to.throw(
      InvalidArgumentError,
      /expected a request, got a one-way message/,
    );
  });

  it('refuses a body of a type its kind has no row for, writing nothing', () => {
    const w = protobuf.Writer.create();
    expect(() => codec.write(w, 1, 0, KIND_ONEWAY, { type: 'fetch', name: 'x' }, true)).to.throw(TypeError, /unknown one-way message type fetch/);
    expect(() => codec.write(w, 1, 0, KIND_REQUEST, { type: 'ping' } as TestMessage, true)).to.throw(TypeError, /unknown request type ping/);
    expect(w.len).to.equal(0);
  });

  it('a body that does not decode arrives as KIND_MALFORMED naming its message type, with its id', () => {
    // Envelope { id = 9, fetch (300) = { name: LEN 5, 1 byte } }
    const body = [0x0a, 0x05, 0x41];
    const env = protobuf.Writer.create().uint32(8).uint32(9).uint32(tag(300, LEN)).uint32(body.length).finish();
    const envelope = Uint8Array.from([...env, ...body]);
    const frame = Uint8Array.from([0x0a, envelope.length, ...envelope]);
    const seen: [number, EnvelopeKind, unknown][] = [];
    codec.decodeBatch(frame, (id, _t, kind, b) => seen.push([id, kind, b]));
    expect(seen.map(([id, kind]) => [id, kind])).to.deep.equal([[9, KIND_MALFORMED]]);
    expect(seen[0]![2]).to.be.instanceOf(InvalidArgumentError);
    expect((seen[0]![2] as Error).message).to.match(/^malformed peer message \(Fetch\)/);
  });

  it('rejects a table that reuses a field number, a (kind, type), or the envelope’s own numbers', () => {
    expect(() => new EnvelopeCodec([ping, { ...fetch, field: 20 }] as MessageRow<TestMessage>[], error)).to.throw(/field 20 is used twice/);
    expect(() => new EnvelopeCodec([fetch, { ...fetch, field: 21 }] as MessageRow<TestMessage>[], error)).to.throw(/two rows carry a request of type fetch/);
    expect(() => new EnvelopeCodec([{ ...ping, field: 2 }] as MessageRow<TestMessage>[], error)).to.throw(/field number 2/);
    expect(() => new EnvelopeCodec([ping] as MessageRow<TestMessage>[], { ...error, field: 20 })).to.throw(/field 20 is used twice/);
  });
});
