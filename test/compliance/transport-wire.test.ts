/**
 * The hand-written peer codec (lib/transport/peer-codec.ts) speaks exactly
 * protos/dynamo/v1/peer.proto: checked in both directions against protobufjs's
 * reflection codec loaded from the .proto, plus the schema's own rules
 * (append-only header, every message and field documented, enum numbers shared
 * with kv.proto).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { DynamoError, StorageError, TimeoutError, UnavailableError } from '../../lib/runtime/index.ts';
import type { PeerReply, PeerRequest } from '../../lib/protocol/index.ts';
import { encodeError, encodeReply, encodeRequest, decodeError, decodeReply, decodeRequest } from '../../lib/transport/index.ts';
import {
  CONSISTENCY_NUMBERS,
  decodeBatch,
  KIND_ERROR,
  KIND_REPLY,
  KIND_REQUEST,
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

const TO_OBJECT: protobuf.IConversionOptions = { defaults: true, bytes: Array, oneofs: true, enums: Number };

/** The protobufjs object form of an envelope body, per peer.proto's field names. */
function protoBody(kind: EnvelopeKind, body: PeerRequest | PeerReply | DynamoError): [string, Record<string, unknown>] {
  const arr = (b: Uint8Array): number[] => Array.from(b);
  if (kind === KIND_ERROR) {
    const e = body as DynamoError;
    const counts = e instanceof UnavailableError || e instanceof TimeoutError ? { answered: e.answered, required: e.required } : { answered: 0, required: 0 };
    return ['error', { code: e.code, message: e.message, ...counts, maybeApplied: e.maybeApplied }];
  }
  if (kind === KIND_REQUEST) {
    const r = body as PeerRequest;
    switch (r.type) {
      case 'identify':
        return ['identifyRequest', {}];
      case 'read':
        return ['readRequest', { key: arr(r.key) }];
      case 'write':
        return ['writeRequest', { key: arr(r.key), record: arr(r.record) }];
      case 'coordinate':
        return [
          'coordinateRequest',
          {
            key: arr(r.key),
            ...(r.value === undefined ? {} : { value: arr(r.value), _value: 'value' }),
            context: arr(r.context),
            consistency: r.consistency === undefined ? 0 : CONSISTENCY_NUMBERS[r.consistency],
          },
        ];
    }
  }
  const r = body as PeerReply;
  switch (r.type) {
    case 'identify':
      return ['identifyReply', { nodeId: r.nodeId, partitionCount: r.partitionCount, replicas: r.replicas }];
    case 'read':
      return ['readReply', r.record === undefined ? {} : { record: arr(r.record), _record: 'record' }];
    case 'write':
      return ['writeReply', {}];
    case 'coordinate':
      return ['coordinateReply', { context: arr(r.context) }];
  }
}

const SAMPLES: [EnvelopeKind, PeerRequest | PeerReply | DynamoError][] = [
  ...ALL_REQUESTS.map((r): [EnvelopeKind, PeerRequest] => [KIND_REQUEST, r]),
  ...ALL_REPLIES.map((r): [EnvelopeKind, PeerReply] => [KIND_REPLY, r]),
  [KIND_ERROR, new UnavailableError('QUORUM write failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 })],
  [KIND_ERROR, new TimeoutError('t', { answered: 0, required: 3 }, { maybeApplied: true })],
  [KIND_ERROR, new StorageError('disk')],
  [KIND_ERROR, new DynamoError('DYNAMO_INTERNAL', 'internal error: boom')],
];

describe('compliance: transport wire format = protos/dynamo/v1/peer.proto', () => {
  const root = loadPeerProto();
  const Envelope = root.lookupType('dynamo.v1.PeerEnvelope');
  const Batch = root.lookupType('dynamo.v1.PeerBatch');

  it('our bytes decode with the .proto into the same fields (every variant)', () => {
    for (const [kind, body] of SAMPLES) {
      const bytes = kind === KIND_REQUEST ? encodeRequest(body as PeerRequest) : kind === KIND_REPLY ? encodeReply(body as PeerReply) : encodeError(body as DynamoError);
      const [name, fields] = protoBody(kind, body);
      expect(Envelope.toObject(Envelope.decode(bytes), TO_OBJECT), `${name}`).to.deep.equal({ id: 0, timeoutMs: 0, body: name, [name]: fields });
    }
  });

  it('bytes from the .proto decode with our codec into the same values (every variant)', () => {
    for (const [kind, body] of SAMPLES) {
      const [name, fields] = protoBody(kind, body);
      const bytes = Envelope.encode(Envelope.fromObject({ [name]: fields })).finish();
      const back = kind === KIND_REQUEST ? decodeRequest(bytes) : kind === KIND_REPLY ? decodeReply(bytes) : decodeError(bytes);
      if (kind === KIND_ERROR) {
        expect(back.constructor).to.equal(body.constructor);
        expect(plain(back)).to.deep.equal(plain(body));
      } else expect(plain(back)).to.deep.equal(plain(body));
    }
  });

  it('a batch we write is a PeerBatch of envelopes with ids and timeouts, and vice versa', () => {
    const w = protobuf.Writer.create();
    SAMPLES.forEach(([kind, body], i) => writeEnvelope(w, i + 1, kind === KIND_REQUEST ? 1000 + i : 0, kind, body, true));
    const decoded = Batch.toObject(Batch.decode(w.finish()), TO_OBJECT) as { envelopes: Record<string, unknown>[] };
    expect(decoded.envelopes).to.have.length(SAMPLES.length);
    SAMPLES.forEach(([kind, body], i) => {
      const [name, fields] = protoBody(kind, body);
      expect(decoded.envelopes[i]).to.deep.equal({ id: i + 1, timeoutMs: kind === KIND_REQUEST ? 1000 + i : 0, body: name, [name]: fields });
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
