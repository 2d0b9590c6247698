import { expect } from 'chai';
import fc from 'fast-check';
import {
  ClosedError,
  DynamoError,
  InvalidArgumentError,
  LimitExceededError,
  StorageCorruptionError,
  StorageError,
  TimeoutError,
  UnavailableError,
} from '../../../lib/runtime/index.ts';
import type { PeerRequest } from '../../../lib/protocol/index.ts';
import {
  decodeError,
  decodeReply,
  decodeRequest,
  encodeError,
  encodeReply,
  encodeRequest,
} from '../../../lib/transport/index.ts';
import {
  decodeBatch,
  KIND_ERROR,
  KIND_MALFORMED,
  KIND_REPLY,
  KIND_REQUEST,
  writeEnvelope,
  type EnvelopeBody,
  type EnvelopeKind,
} from '../../../lib/transport/peer-codec.ts';
import { BatchWriter } from '../../../lib/transport/batch-writer.ts';
import protobuf from 'protobufjs';
import { ALL_REPLIES, ALL_REQUESTS, bytes, plain } from './fixtures.ts';

/** Asserts `f` throws an InvalidArgumentError whose message matches `pattern`. */
function expectMalformed(f: () => unknown, pattern: RegExp = /malformed peer message/): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected an InvalidArgumentError').to.be.instanceOf(InvalidArgumentError);
  expect((thrown as Error).message).to.match(pattern);
}

describe('transport peer codec', () => {
  describe('round trip', () => {
    for (const req of ALL_REQUESTS) {
      it(`request ${req.type} ${JSON.stringify(plain(req)).slice(0, 80)}`, () => {
        expect(plain(decodeRequest(encodeRequest(req)))).to.deep.equal(plain(req));
      });
    }
    for (const rep of ALL_REPLIES) {
      it(`reply ${rep.type} ${JSON.stringify(plain(rep)).slice(0, 80)}`, () => {
        expect(plain(decodeReply(encodeReply(rep)))).to.deep.equal(plain(rep));
      });
    }

    it('keeps an absent optional field distinct from an empty one', () => {
      const absent = decodeReply(encodeReply({ type: 'read', record: undefined }));
      const empty = decodeReply(encodeReply({ type: 'read', record: new Uint8Array(0) }));
      expect(absent).to.have.property('record', undefined);
      expect((empty as { record: Uint8Array }).record).to.be.instanceOf(Uint8Array).with.length(0);
      const del = decodeRequest(encodeRequest({ type: 'coordinate', key: bytes(1), value: undefined, context: bytes(), consistency: undefined }));
      const putEmpty = decodeRequest(encodeRequest({ type: 'coordinate', key: bytes(1), value: bytes(), context: bytes(), consistency: undefined }));
      expect((del as { value?: Uint8Array }).value).to.equal(undefined);
      expect((putEmpty as { value?: Uint8Array }).value).to.be.instanceOf(Uint8Array).with.length(0);
    });

    const errors: [string, DynamoError][] = [
      ['InvalidArgumentError', new InvalidArgumentError('bad key')],
      ['UnavailableError', new UnavailableError('QUORUM write failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 })],
      ['TimeoutError', new TimeoutError('QUORUM read timed out: 0 of 3 replicas answered, 2 needed', { answered: 0, required: 2 })],
      ['LimitExceededError', new LimitExceededError('101 siblings; the limit is 100')],
      ['StorageError', new StorageError('disk full')],
      ['StorageCorruptionError', new StorageCorruptionError('bad record')],
      ['ClosedError', new ClosedError('node stopping')],
      ['DynamoError', new DynamoError('DYNAMO_INTERNAL', 'internal error: boom')],
      ['UnavailableError (maybe applied)', new UnavailableError('stream broke', { answered: 0, required: 1 }, { maybeApplied: true })],
      ['TimeoutError (maybe applied)', new TimeoutError('no reply', { answered: 1, required: 2 }, { maybeApplied: true })],
      ['DynamoError (maybe applied)', new DynamoError('DYNAMO_INTERNAL', 'bug', { maybeApplied: true })],
    ];
    for (const [name, e] of errors) {
      it(`error ${name} keeps its subclass, code, message, counts and maybeApplied`, () => {
        const back = decodeError(encodeError(e));
        expect(back.constructor).to.equal(e.constructor);
        expect(back.code).to.equal(e.code);
        expect(back.message).to.equal(e.message);
        expect(back.maybeApplied).to.equal(e.maybeApplied);
        if (e instanceof UnavailableError || e instanceof TimeoutError) {
          expect((back as UnavailableError).answered).to.equal(e.answered);
          expect((back as UnavailableError).required).to.equal(e.required);
        }
      });
    }

    it('an error code this build does not know becomes DYNAMO_INTERNAL naming the code', () => {
      const w = protobuf.Writer.create();
      // PeerEnvelope.error (11) { code = "DYNAMO_FUTURE", message = "x" }
      const body = protobuf.Writer.create().uint32(10).string('DYNAMO_FUTURE').uint32(18).string('x').finish();
      w.uint32((11 << 3) | 2).bytes(body);
      const e = decodeError(w.finish());
      expect(e.code).to.equal('DYNAMO_INTERNAL');
      expect(e.message).to.equal('DYNAMO_FUTURE: x');
    });

    it('property: arbitrary write/coordinate requests round-trip', () => {
      const arbBytes = fc.uint8Array({ maxLength: 64 });
      const arbReq = fc.oneof(
        fc.record({ type: fc.constant('write' as const), key: arbBytes, record: arbBytes }),
        fc.record({
          type: fc.constant('coordinate' as const),
          key: arbBytes,
          value: fc.option(arbBytes, { nil: undefined }),
          context: arbBytes,
          consistency: fc.constantFrom(undefined, 'ONE', 'TWO', 'THREE', 'QUORUM', 'ALL', 'ANY' as const),
        }),
      );
      fc.assert(
        fc.property(arbReq, (req) => {
          expect(plain(decodeRequest(encodeRequest(req as PeerRequest)))).to.deep.equal(plain(req));
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('malformed input', () => {
    it('rejects truncated bytes of every message', () => {
      const samples = [...ALL_REQUESTS.map(encodeRequest), ...ALL_REPLIES.map(encodeReply), encodeError(new UnavailableError('u', { answered: 1, required: 2 }))];
      let checked = 0;
      for (const full of samples) {
        if (full.length < 2) continue;
        const cut = full.subarray(0, full.length - 1);
        for (const decode of [decodeRequest, decodeReply, decodeError]) expectMalformed(() => decode(cut));
        checked++;
      }
      expect(checked).to.be.greaterThan(10);
      expectMalformed(() => decodeRequest(encodeRequest({ type: 'read', key: bytes(1, 2, 3) }).subarray(0, 4)));
    });

    it('rejects an envelope without a body', () => {
      expectMalformed(() => decodeRequest(new Uint8Array(0)), /no body/);
      expectMalformed(() => decodeReply(bytes(0x08, 0x05)), /no body/); // id = 5 only
    });

    it('rejects a message of the wrong kind', () => {
      expectMalformed(() => decodeReply(encodeRequest({ type: 'read', key: bytes(1) })), /expected a reply, got a request/);
      expectMalformed(() => decodeRequest(encodeReply({ type: 'write' })), /expected a request, got a reply/);
      expectMalformed(() => decodeError(encodeReply({ type: 'write' })), /expected an error, got a reply/);
    });

    it('rejects an undefined consistency number', () => {
      // coordinate_request (9) { key = [1], consistency = 42 }
      const body = bytes(0x0a, 0x01, 0x01, 0x20, 42);
      expectMalformed(() => decodeRequest(bytes((9 << 3) | 2, body.length, ...body)), /unknown consistency 42/);
    });

    it('rejects a body overrunning its envelope and field number 0', () => {
      expectMalformed(() => decodeRequest(bytes((5 << 3) | 2, 10, 0x0a, 0x01)));
      expectMalformed(() => decodeRequest(bytes(0x00, 0x01)));
    });

    it('skips unknown fields (a newer peer may add some)', () => {
      const base = encodeRequest({ type: 'read', key: bytes(7) });
      // field 99, varint 1 — appended at envelope level
      const withUnknown = Uint8Array.from([...base, 0x98, 0x06, 0x01]);
      expect(plain(decodeRequest(withUnknown))).to.deep.equal({ type: 'read', key: [7] });
    });

    it('property: random bytes never crash a decoder (decode or InvalidArgumentError)', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 48 }), (input) => {
          for (const decode of [decodeRequest, decodeReply, decodeError]) {
            try {
              decode(input);
            } catch (e) {
              expect(e).to.be.instanceOf(InvalidArgumentError);
            }
          }
          try {
            decodeBatch(input, () => {});
          } catch (e) {
            expect(e).to.be.instanceOf(InvalidArgumentError);
          }
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('batches', () => {
    it('carries many envelopes with ids, timeouts and kinds in order', () => {
      const w = protobuf.Writer.create();
      writeEnvelope(w, 1, 250, KIND_REQUEST, { type: 'read', key: bytes(1) }, true);
      writeEnvelope(w, 2, 0, KIND_REPLY, { type: 'write' }, true);
      writeEnvelope(w, 0xffffffff, 0, KIND_ERROR, new UnavailableError('x', { answered: 1, required: 2 }), true);
      writeEnvelope(w, 4, 1.5, KIND_REQUEST, { type: 'identify' }, true);
      const seen: [number, number, EnvelopeKind, unknown][] = [];
      const n = decodeBatch(w.finish(), (id, timeoutMs, kind, body) => seen.push([id, timeoutMs, kind, plain(body)]));
      expect(n).to.equal(4);
      expect(seen.map(([id, t, k]) => [id, t, k])).to.deep.equal([
        [1, 250, KIND_REQUEST],
        [2, 0, KIND_REPLY],
        [0xffffffff, 0, KIND_ERROR],
        [4, 2, KIND_REQUEST], // fractional ms round up
      ]);
      expect(seen[0]![3]).to.deep.equal({ type: 'read', key: [1] });
    });

    it('delivers an envelope whose body is malformed as KIND_MALFORMED with its id', () => {
      // envelope { id = 9, read_request (5) = { key: LEN 5 but only 1 byte } }
      const env = bytes(0x08, 9, (5 << 3) | 2, 3, 0x0a, 0x05, 0x01);
      const frame = bytes(0x0a, env.length, ...env);
      const seen: [number, EnvelopeKind, EnvelopeBody][] = [];
      decodeBatch(frame, (id, _t, kind, body) => seen.push([id, kind, body]));
      expect(seen).to.have.length(1);
      expect(seen[0]![0]).to.equal(9);
      expect(seen[0]![1]).to.equal(KIND_MALFORMED);
      expect(seen[0]![2]).to.be.instanceOf(InvalidArgumentError);
    });

    it('rejects a frame whose envelope overruns it', () => {
      expectMalformed(() => decodeBatch(bytes(0x0a, 50, 0x08, 0x01), () => {}), /overruns the batch/);
    });
  });

  describe('BatchWriter', () => {
    it('coalesces everything added in one turn into one frame (flushed at the end of the turn)', async () => {
      const frames: [Buffer, number][] = [];
      const writer = new BatchWriter((frame, n) => frames.push([frame, n]));
      for (let i = 1; i <= 10; i++) writer.add(i, 100, KIND_REQUEST, { type: 'read', key: bytes(i) });
      expect(frames).to.have.length(0);
      expect(writer.size).to.equal(10);
      await new Promise((resolve) => setImmediate(resolve));
      expect(frames).to.have.length(1);
      expect(frames[0]![1]).to.equal(10);
      const ids: number[] = [];
      decodeBatch(frames[0]![0], (id) => ids.push(id));
      expect(ids).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(writer.size).to.equal(0);
    });

    it('gathers entries added by separate callbacks of one turn (microtasks, nextTick) into one frame', async () => {
      const frames: [Buffer, number][] = [];
      const writer = new BatchWriter((frame, n) => frames.push([frame, n]));
      writer.add(1, 100, KIND_REQUEST, { type: 'read', key: bytes(1) });
      await Promise.resolve();
      writer.add(2, 100, KIND_REQUEST, { type: 'read', key: bytes(2) });
      await new Promise<void>((resolve) => process.nextTick(resolve));
      writer.add(3, 100, KIND_REQUEST, { type: 'read', key: bytes(3) });
      await Promise.resolve();
      expect(frames).to.have.length(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(frames.map(([, n]) => n)).to.deep.equal([3]);
      const ids: number[] = [];
      decodeBatch(frames[0]![0], (id) => ids.push(id));
      expect(ids).to.deep.equal([1, 2, 3]);
      // The next turn's entries make the next frame.
      writer.add(4, 100, KIND_REQUEST, { type: 'read', key: bytes(4) });
      await new Promise((resolve) => setImmediate(resolve));
      expect(frames.map(([, n]) => n)).to.deep.equal([3, 1]);
    });

    it('flushes through the scheduler it is given', () => {
      const deferred: (() => void)[] = [];
      const counts: number[] = [];
      const writer = new BatchWriter((_f, n) => counts.push(n), undefined, (fn) => deferred.push(fn));
      writer.add(1, 0, KIND_REPLY, { type: 'write' });
      writer.add(2, 0, KIND_REPLY, { type: 'write' });
      expect(deferred).to.have.length(1);
      expect(counts).to.deep.equal([]);
      deferred[0]!();
      expect(counts).to.deep.equal([2]);
    });

    it('flushes at once when a batch reaches its envelope or byte bound', async () => {
      const counts: number[] = [];
      const writer = new BatchWriter((_f, n) => counts.push(n), { envelopesMax: 4, bytesMax: 1000 });
      for (let i = 1; i <= 9; i++) writer.add(i, 0, KIND_REPLY, { type: 'write' });
      expect(counts).to.deep.equal([4, 4]);
      writer.add(10, 0, KIND_REPLY, { type: 'read', record: new Uint8Array(2000) });
      expect(counts).to.deep.equal([4, 4, 2]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(counts).to.deep.equal([4, 4, 2]);
    });

    it('discard drops pending envelopes', async () => {
      const counts: number[] = [];
      const writer = new BatchWriter((_f, n) => counts.push(n));
      writer.add(1, 0, KIND_REPLY, { type: 'write' });
      writer.discard();
      await new Promise((resolve) => setImmediate(resolve));
      expect(counts).to.deep.equal([]);
    });
  });
});

