/**
 * The table-driven peer codec (lib/transport/peer-codec.ts) speaks exactly
 * protos/dynamo/v1/peer.proto: every member of PeerEnvelope.body has a row
 * (same number, same message type) and every row a member; every row is
 * checked in both directions against protobufjs's reflection codec loaded
 * from the .proto, through a conversion built from the .proto alone (so a new
 * row needs no edit here, only a sample in the fixtures); plus the schema's
 * own rules (append-only header, every message and field documented, enum
 * numbers shared with kv.proto).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { DynamoError, StorageError, TimeoutError, UnavailableError } from '../../lib/runtime/index.ts';
import type { ErrorRow, MessageRow } from '../../lib/transport/envelope-codec.ts';
import { PEER_ERROR, PEER_MESSAGES } from '../../lib/transport/peer-messages.ts';
import type { MembershipPacket, MembershipRequest, PeerReply, PeerRequest, TreeReply, TreeRequest } from '../../lib/protocol/index.ts';
import { encodeMembershipPacket } from '../../lib/transport/membership-codec.ts';
import { encodeTreeAnswer, encodeTreeCall } from '../../lib/transport/exchange-codec.ts';
import { encodeError, encodeReply, encodeRequest, decodeError, decodeReply, decodeRequest } from '../../lib/transport/index.ts';
import {
  CONSISTENCY_NUMBERS,
  decodeBatch,
  KIND_ERROR,
  KIND_REPLY,
  KIND_REQUEST,
  PEER_CODEC,
  writeEnvelope,
  type EnvelopeKind,
} from '../../lib/transport/peer-codec.ts';
import { KV_PROTO, PEER_PROTO, PROTO_ROOT } from '../../lib/transport/proto-files.ts';
import { ALL_REPLIES, ALL_REQUESTS, plain } from '../unit/transport/fixtures.ts';

function loadPeerProto(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_ROOT, target));
  root.loadSync(PEER_PROTO);
  return root;
}

const TO_OBJECT: protobuf.IConversionOptions = { defaults: true, bytes: Array, oneofs: true, enums: Number, longs: String };

/**
 * A membership packet in protobufjs's object form. Its conversion is
 * membership-codec.ts's own (protobufjs reflection over this same .proto);
 * its round trip and validation are tested in membership-codec.test.ts, so
 * here it only has to land in the right envelope member.
 */
const PROTO_OBJECT = Symbol('already in protobufjs object form');
function packetObject(root: protobuf.Root, packet: MembershipPacket): Record<string | symbol, unknown> {
  const type = root.lookupType('dynamo.v1.MembershipPacket');
  return { ...(type.toObject(type.decode(encodeMembershipPacket(packet)), TO_OBJECT) as Record<string, unknown>), [PROTO_OBJECT]: true };
}

/** An anti-entropy call or answer in protobufjs's object form: exchange-codec.ts's own conversion (tested in exchange-codec.test.ts). */
function treeObject(root: protobuf.Root, typeName: 'TreeCall' | 'TreeAnswer', bytes: Uint8Array): Record<string | symbol, unknown> {
  const type = root.lookupType(`dynamo.v1.${typeName}`);
  return { ...(type.toObject(type.decode(bytes), TO_OBJECT) as Record<string, unknown>), [PROTO_OBJECT]: true };
}

/** The value an envelope body stands for, field by field (an error's PeerError fields; a message minus its `type`). */
function fieldsOf(kind: EnvelopeKind, body: PeerRequest | PeerReply | DynamoError): Record<string, unknown> {
  if (kind === KIND_REQUEST && (body as PeerRequest).type === 'membership') return { packet: packetObject(loadPeerProto(), (body as MembershipRequest).packet) };
  if (kind === KIND_REQUEST && (body as PeerRequest).type === 'tree') return { call: treeObject(loadPeerProto(), 'TreeCall', encodeTreeCall(body as TreeRequest)) };
  if (kind === KIND_REPLY && (body as PeerReply).type === 'tree') return { answer: treeObject(loadPeerProto(), 'TreeAnswer', encodeTreeAnswer((body as TreeReply).answer)) };
  if (kind !== KIND_ERROR) return Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'type'));
  const e = body as DynamoError;
  const counts = e instanceof UnavailableError || e instanceof TimeoutError ? { answered: e.answered, required: e.required } : { answered: 0, required: 0 };
  return { code: e.code, message: e.message, ...counts, maybeApplied: e.maybeApplied };
}

/**
 * protobufjs's object form (toObject with TO_OBJECT) of `value` as message
 * `type`, built from the .proto alone: bytes as arrays, enums by the number
 * of the value named `<PREFIX>_<value>`, a proto3 optional present (even
 * empty) when defined. Fails if `value` has a field the message lacks.
 */
function protoObject(type: protobuf.Type, value: Record<string | symbol, unknown>): Record<string, unknown> {
  if (value[PROTO_OBJECT] === true) return Object.fromEntries(Object.entries(value));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) expect(type.fields[key], `${type.name} has no field for ${key}`).to.not.equal(undefined);
  for (const f of type.fieldsArray) {
    const v = value[f.name];
    if (v === undefined) {
      if (f.partOf === null) out[f.name] = f.resolvedType instanceof protobuf.Enum ? 0 : f.type === 'bytes' ? [] : f.defaultValue;
      continue;
    }
    if (f.resolvedType instanceof protobuf.Enum) {
      const named = Object.entries(f.resolvedType.values).find(([name]) => name.endsWith(`_${String(v)}`));
      expect(named, `${type.name}.${f.name} = ${String(v)}`).to.not.equal(undefined);
      out[f.name] = named![1];
    } else if (f.resolvedType instanceof protobuf.Type) {
      const nested = f.resolvedType;
      out[f.name] = Array.isArray(v) ? v.map((x) => protoObject(nested, x as Record<string, unknown>)) : protoObject(nested, v as Record<string, unknown>);
    } else out[f.name] = v instanceof Uint8Array ? Array.from(v) : typeof v === 'bigint' ? String(v) : v;
    if (f.partOf !== null) out[f.partOf.name] = f.name; // a proto3 optional is a synthetic oneof
  }
  return out;
}

/** The oneof member name of `row` in PeerEnvelope.body. */
function memberName(envelope: protobuf.Type, row: { field: number }): string {
  const member = envelope.oneofs['body']!.fieldsArray.find((f) => f.id === row.field);
  expect(member, `PeerEnvelope.body has no member ${row.field}`).to.not.equal(undefined);
  return member!.name;
}

/** The codec row that carries `body` of `kind`. */
function rowOf(kind: EnvelopeKind, body: PeerRequest | PeerReply | DynamoError): MessageRow | ErrorRow {
  if (kind === KIND_ERROR) return PEER_ERROR;
  const row = PEER_MESSAGES.find((r) => r.kind === kind && r.type === (body as PeerRequest).type);
  expect(row, `no ${kind} row for ${(body as PeerRequest).type}`).to.not.equal(undefined);
  return row!;
}

const SAMPLES: [EnvelopeKind, PeerRequest | PeerReply | DynamoError][] = [
  ...ALL_REQUESTS.map((r): [EnvelopeKind, PeerRequest] => [KIND_REQUEST, r]),
  ...ALL_REPLIES.map((r): [EnvelopeKind, PeerReply] => [KIND_REPLY, r]),
  [KIND_ERROR, new UnavailableError('QUORUM write failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 })],
  [KIND_ERROR, new UnavailableError('QUORUM write failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 }, { maybeApplied: true })],
  [KIND_ERROR, new TimeoutError('t', { answered: 0, required: 3 }, { maybeApplied: true })],
  [KIND_ERROR, new StorageError('disk')],
  [KIND_ERROR, new DynamoError('DYNAMO_INTERNAL', 'internal error: boom')],
];

describe('compliance: transport wire format = protos/dynamo/v1/peer.proto', () => {
  const root = loadPeerProto();
  const Envelope = root.lookupType('dynamo.v1.PeerEnvelope');
  const Batch = root.lookupType('dynamo.v1.PeerBatch');

  /** protobufjs's object form of an envelope with `body`. */
  const envelopeObject = (kind: EnvelopeKind, body: PeerRequest | PeerReply | DynamoError, id = 0, timeoutMs = 0): Record<string, unknown> => {
    const row = rowOf(kind, body);
    const name = memberName(Envelope, row);
    return { id, timeoutMs, body: name, [name]: protoObject(root.lookupType(`dynamo.v1.${row.protoType}`), fieldsOf(kind, body)) };
  };

  it('every member of PeerEnvelope.body has a codec row with its number and message type, and every row a member', () => {
    const members = Envelope.oneofs['body']!.fieldsArray.map((f) => [f.id, f.type]).sort((a, b) => Number(a[0]) - Number(b[0]));
    const rows = PEER_CODEC.rows().map((r) => [r.field, r.protoType]);
    expect(rows).to.deep.equal(members);
    // The codec's own numbers (id, timeout_ms) are the envelope's fields outside the oneof.
    expect(Envelope.fieldsArray.filter((f) => f.partOf === null).map((f) => [f.id, f.name])).to.deep.equal([
      [1, 'id'],
      [2, 'timeoutMs'],
    ]);
  });

  it('every row has a sample in the fixtures (a new message kind needs one)', () => {
    const covered = new Set(SAMPLES.map(([kind, body]) => rowOf(kind, body)));
    expect(PEER_CODEC.rows().filter((r) => !covered.has(r)).map((r) => r.protoType)).to.deep.equal([]);
  });

  it('our bytes decode with the .proto into the same fields (every sample of every row)', () => {
    for (const [kind, body] of SAMPLES) {
      const bytes = kind === KIND_REQUEST ? encodeRequest(body as PeerRequest) : kind === KIND_REPLY ? encodeReply(body as PeerReply) : encodeError(body as DynamoError);
      expect(Envelope.toObject(Envelope.decode(bytes), TO_OBJECT), rowOf(kind, body).protoType).to.deep.equal(envelopeObject(kind, body));
    }
  });

  it('bytes from the .proto decode with our codec into the same values (every sample of every row)', () => {
    for (const [kind, body] of SAMPLES) {
      const bytes = Envelope.encode(Envelope.fromObject(envelopeObject(kind, body))).finish();
      const back = kind === KIND_REQUEST ? decodeRequest(bytes) : kind === KIND_REPLY ? decodeReply(bytes) : decodeError(bytes);
      if (kind === KIND_ERROR) expect(back.constructor).to.equal(body.constructor);
      expect(plain(back), rowOf(kind, body).protoType).to.deep.equal(plain(body));
    }
  });

  it('a batch we write is a PeerBatch of envelopes with ids and timeouts, and vice versa', () => {
    const w = protobuf.Writer.create();
    SAMPLES.forEach(([kind, body], i) => writeEnvelope(w, i + 1, kind === KIND_REQUEST ? 1000 + i : 0, kind, body, true));
    const decoded = Batch.toObject(Batch.decode(w.finish()), TO_OBJECT) as { envelopes: Record<string, unknown>[] };
    expect(decoded.envelopes).to.have.length(SAMPLES.length);
    SAMPLES.forEach(([kind, body], i) => {
      expect(decoded.envelopes[i]).to.deep.equal(envelopeObject(kind, body, i + 1, kind === KIND_REQUEST ? 1000 + i : 0));
    });

    const theirs = Batch.encode(Batch.fromObject(decoded)).finish();
    const seen: unknown[] = [];
    decodeBatch(theirs, (id, timeoutMs, kind, b) => seen.push([id, timeoutMs, kind, plain(b)]));
    expect(seen).to.deep.equal(SAMPLES.map(([kind, body], i) => [i + 1, kind === KIND_REQUEST ? 1000 + i : 0, kind, plain(body)]));
  });

  it('uses the dynamo.v1.Consistency numbers of kv.proto', () => {
    const kv = new protobuf.Root().loadSync(KV_PROTO);
    const values = kv.lookupEnum('dynamo.v1.Consistency').values;
    for (const [name, n] of Object.entries(CONSISTENCY_NUMBERS)) expect(values[`CONSISTENCY_${name}`], name).to.equal(n);
    expect(Object.keys(values)).to.have.length(Object.keys(CONSISTENCY_NUMBERS).length + 1);
  });

  it('peer.proto is append-only-marked, and documents every message, field and rpc', () => {
    const text = readFileSync(PEER_PROTO, 'utf8');
    expect(text.startsWith('// WARNING: append-only; never reuse field numbers\n')).to.equal(true);
    const lines = text.split('\n');
    const undocumented: string[] = [];
    let depth = 0;
    lines.forEach((line, i) => {
      const trimmed = line.trim();
      const isField = depth > 0 && /^(optional |repeated )?[\w.]+ \w+ = \d+;/.test(trimmed);
      const isDecl = /^(message|service|rpc|oneof) /.test(trimmed);
      if (isField || isDecl) {
        const prev = lines[i - 1]?.trim() ?? '';
        if (!prev.startsWith('//')) undocumented.push(trimmed);
      }
      depth += (line.match(/{/g) ?? []).length - (line.match(/}/g) ?? []).length;
    });
    expect(undocumented).to.deep.equal([]);
    // Field numbers in PeerEnvelope stay unique (the .proto loader would reject duplicates too).
    const numbers = Envelope.fieldsArray.map((f) => f.id);
    expect(new Set(numbers).size).to.equal(numbers.length);
  });
});
