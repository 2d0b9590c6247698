import { expect } from 'chai';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import {
  decodeSessionRequests,
  decodeSessionResponses,
  SessionRequestWriter,
  SessionResponseWriter,
  type SessionOp,
} from '../../../lib/transport/session-codec.ts';
import { frame, SessionRequests, SessionResponses } from './raw-session.ts';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

/** Collects the frames a writer sends (flushed by hand, so no microtask is involved). */
function collect(): { frames: [Buffer, number][]; send: (frame: Buffer, n: number) => void } {
  const frames: [Buffer, number][] = [];
  return { frames, send: (f, n) => frames.push([f, n]) };
}

describe('transport session codec (kv.proto Session envelopes)', () => {
  it('writes SessionRequests that protobufjs decodes per kv.proto (ids, timeouts rounded up, op bodies as given)', () => {
    const out = collect();
    const w = new SessionRequestWriter(out.send);
    w.add(1, 250, 'get', bytes(0x0a, 0x01, 0x6b));
    w.add(0xffffffff, 1.2, 'put', bytes(0x0a, 0x01, 0x6b, 0x12, 0x00));
    w.add(7, 0, 'delete', bytes());
    w.flush();
    expect(out.frames).to.have.length(1);
    expect(out.frames[0]![1]).to.equal(3);
    const decoded = SessionRequests.toObject(SessionRequests.decode(out.frames[0]![0]), { oneofs: true, longs: Number, defaults: true, bytes: Array });
    expect(decoded['requests']).to.deep.equal([
      { id: 1, timeoutMs: 250, get: { key: [0x6b], consistency: 0, strict: false }, op: 'get' },
      { id: 0xffffffff, timeoutMs: 2, put: { key: [0x6b], value: [], context: [], consistency: 0, strict: false }, op: 'put' },
      // An empty op body still says which op it is (oneof presence).
      { id: 7, timeoutMs: 0, delete: { key: [], context: [], consistency: 0, strict: false }, op: 'delete' },
    ]);
  });

  it('reads SessionRequests that protobufjs wrote, op bodies as views of the frame', () => {
    const f = frame([
      { id: 3, timeoutMs: 99, put: { key: bytes(1), value: bytes(2, 3) } },
      { id: 4 },
      { id: 5, delete: { key: bytes(9) } },
    ]);
    const entries = decodeSessionRequests(f);
    expect(entries.map((e) => [e.id, e.timeoutMs, e.op])).to.deep.equal([
      [3, 99, 'put'],
      [4, 0, undefined],
      [5, 0, 'delete'],
    ]);
    const Put = SessionRequests.lookupType('PutRequest');
    expect(Put.toObject(Put.decode(entries[0]!.body), { bytes: Array })).to.deep.equal({ key: [1], value: [2, 3] });
    expect(entries[0]!.body.buffer).to.equal(f.buffer);
    expect(entries[1]!.body).to.have.length(0);
  });

  it('writes results and errors that protobufjs decodes per kv.proto, and reads them back', () => {
    const out = collect();
    const w = new SessionResponseWriter(out.send);
    const ops: SessionOp[] = ['get', 'put', 'delete'];
    // GetResponse { context = [42] }, PutResponse { context = [42] }, DeleteResponse {}.
    const bodies = { get: bytes(0x12, 0x01, 0x2a), put: bytes(0x0a, 0x01, 0x2a), delete: bytes() };
    ops.forEach((op, i) => w.result(i + 1, op, bodies[op]));
    w.error(9, { code: grpc.status.UNAVAILABLE, details: 'QUORUM write failed: 1 of 3 — ü', dynamoCode: 'DYNAMO_UNAVAILABLE', answered: 1, required: 2 });
    w.error(0, { code: grpc.status.INTERNAL, details: '', dynamoCode: undefined, answered: 0, required: 0 });
    w.error(10, { code: grpc.status.UNAVAILABLE, details: 'broke', dynamoCode: 'DYNAMO_UNAVAILABLE', answered: 0, required: 2, maybeApplied: true });
    w.flush();
    const f = out.frames[0]![0];
    const decoded = SessionResponses.toObject(SessionResponses.decode(f), { oneofs: true, longs: Number, bytes: Array });
    expect(decoded['responses']).to.deep.equal([
      { id: 1, get: { context: [0x2a] }, result: 'get' },
      { id: 2, put: { context: [0x2a] }, result: 'put' },
      { id: 3, delete: {}, result: 'delete' },
      { id: 9, error: { grpcCode: 14, message: 'QUORUM write failed: 1 of 3 — ü', dynamoCode: 'DYNAMO_UNAVAILABLE', answered: 1, required: 2 }, result: 'error' },
      { error: { grpcCode: 13 }, result: 'error' },
      // maybe_applied = 6 is written only when true.
      { id: 10, error: { grpcCode: 14, message: 'broke', dynamoCode: 'DYNAMO_UNAVAILABLE', required: 2, maybeApplied: true }, result: 'error' },
    ]);
    const entries = decodeSessionResponses(f);
    expect(entries.map((e) => [e.id, e.op, [...e.body]])).to.deep.equal([
      [1, 'get', [0x12, 0x01, 0x2a]],
      [2, 'put', [0x0a, 0x01, 0x2a]],
      [3, 'delete', []],
      [9, undefined, []],
      [0, undefined, []],
      [10, undefined, []],
    ]);
    expect(entries[3]!.error).to.deep.equal({ code: 14, details: 'QUORUM write failed: 1 of 3 — ü', dynamoCode: 'DYNAMO_UNAVAILABLE', answered: 1, required: 2, maybeApplied: false });
    expect(entries[4]!.error).to.deep.equal({ code: 13, details: '', dynamoCode: undefined, answered: 0, required: 0, maybeApplied: false });
    expect(entries[5]!.error).to.deep.equal({ code: 14, details: 'broke', dynamoCode: 'DYNAMO_UNAVAILABLE', answered: 0, required: 2, maybeApplied: true });
    expect(entries[0]!.error).to.equal(undefined);
  });

  it('skips fields it does not know (a newer peer may add some) and reports unknown ops as undefined', () => {
    // SessionRequest { id = 2, field 9 (varint) = 1, field 12 (bytes) = [1] }
    const entry = bytes(0x08, 0x02, 0x48, 0x01, 0x62, 0x01, 0x01);
    const f = Buffer.concat([bytes(0x0a, entry.length), entry, bytes(0x10, 0x05)]); // plus SessionRequests field 2 = 5
    expect(decodeSessionRequests(f).map((e) => [e.id, e.op])).to.deep.equal([[2, undefined]]);
    // SessionResponse { id = 3, result field 9 (bytes) }
    const resp = bytes(0x08, 0x03, 0x4a, 0x00);
    expect(decodeSessionResponses(Buffer.concat([bytes(0x0a, resp.length), resp])).map((e) => [e.id, e.op, e.error])).to.deep.equal([[3, undefined, undefined]]);
  });

  it('rejects a malformed frame as a whole with InvalidArgumentError', () => {
    const good = frame([{ id: 1, get: { key: bytes(1) } }]);
    const cases = [
      Buffer.concat([good, bytes(0x0a, 0x05, 0x08)]), // entry overruns the frame
      bytes(0x0a, 0x04, 0x1a, 0x09, 0x0a, 0x01), // op body overruns its entry
      bytes(0x00, 0x01), // field number 0
      bytes(0x0a, 0x02, 0x08), // truncated inside an entry
    ];
    for (const c of cases) {
      expect(() => decodeSessionRequests(c)).to.throw(InvalidArgumentError, /^malformed SessionRequests: /);
      expect(() => decodeSessionResponses(c)).to.throw(InvalidArgumentError, /^malformed SessionResponses: /);
    }
    // A SessionError that overruns its response.
    expect(() => decodeSessionResponses(bytes(0x0a, 0x04, 0x2a, 0x09, 0x08, 0x01))).to.throw(InvalidArgumentError);
  });

  it('property: random bytes never crash a decoder (entries or InvalidArgumentError)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        for (const decode of [decodeSessionRequests, decodeSessionResponses]) {
          try {
            decode(input);
          } catch (e) {
            expect(e).to.be.instanceOf(InvalidArgumentError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('property: whatever the writer sends decodes to what was added, in order', () => {
    const request = fc.record({
      id: fc.integer({ min: 1, max: 0xffffffff }),
      timeoutMs: fc.integer({ min: 0, max: 0xffffffff }),
      op: fc.constantFrom<SessionOp>('get', 'put', 'delete'),
      body: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(fc.array(request, { maxLength: 40 }), (requests) => {
        const out = collect();
        const w = new SessionRequestWriter(out.send, { envelopesMax: 7, bytesMax: 1000 });
        for (const r of requests) w.add(r.id, r.timeoutMs, r.op, r.body);
        w.flush();
        const decoded = out.frames.flatMap(([f]) => decodeSessionRequests(f));
        expect(decoded.map((e) => ({ id: e.id, timeoutMs: e.timeoutMs, op: e.op, body: new Uint8Array(e.body) }))).to.deep.equal(
          requests.map((r) => ({ ...r, body: new Uint8Array(r.body) })),
        );
        expect(out.frames.reduce((n, [, c]) => n + c, 0)).to.equal(requests.length);
      }),
      { numRuns: 200 },
    );
  });

  it('sends a frame before an entry would take it past the byte bound (only a lone entry may exceed it)', () => {
    const out = collect();
    const w = new SessionResponseWriter(out.send, { envelopesMax: 100, bytesMax: 1000 });
    for (let i = 1; i <= 5; i++) w.result(i, 'get', Buffer.alloc(300, i)); // each entry ~307 bytes
    w.result(6, 'get', Buffer.alloc(2500, 6)); // alone over the bound
    w.result(7, 'get', Buffer.alloc(10, 7));
    w.flush();
    expect(out.frames.map(([, n]) => n)).to.deep.equal([3, 2, 1, 1]);
    expect(out.frames.map(([f]) => f.length <= 1000)).to.deep.equal([true, true, false, true]);
    expect(out.frames.flatMap(([f]) => decodeSessionResponses(f).map((e) => e.id))).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
  });

  it('flushes what was added in one turn as one frame (at the end of the turn)', async () => {
    const out = collect();
    const w = new SessionRequestWriter(out.send);
    for (let i = 1; i <= 5; i++) w.add(i, 100, 'get', bytes(0x0a, 0x01, i));
    await Promise.resolve();
    for (let i = 6; i <= 10; i++) w.add(i, 100, 'get', bytes(0x0a, 0x01, i));
    expect(out.frames).to.have.length(0);
    expect(w.size).to.equal(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.frames.map(([, n]) => n)).to.deep.equal([10]);
    expect(decodeSessionRequests(out.frames[0]![0]).map((e) => e.id)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('does not touch the frame when an entry is not bytes (a bug upstream)', () => {
    const out = collect();
    const w = new SessionResponseWriter(out.send);
    w.result(1, 'put', bytes(0x0a, 0x00));
    expect(() => w.result(2, 'get', 'not bytes' as unknown as Uint8Array)).to.throw(TypeError);
    w.flush();
    expect(decodeSessionResponses(out.frames[0]![0]).map((e) => e.id)).to.deep.equal([1]);
    expect(protobuf.Reader.create(out.frames[0]![0]).len).to.equal(out.frames[0]![0].length);
  });
});
