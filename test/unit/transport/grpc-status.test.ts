import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
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
import { errorStatusOf, fromErrorStatus, fromGrpcError, toGrpcStatus } from '../../../lib/transport/index.ts';

/** What a client receives for a status the server sent. */
function asServiceError(s: { code: grpc.status; details: string; metadata: grpc.Metadata }): grpc.ServiceError {
  return Object.assign(new Error(`${s.code} ${grpc.status[s.code]}: ${s.details}`), s);
}

function bare(code: grpc.status, details: string): grpc.ServiceError {
  return asServiceError({ code, details, metadata: new grpc.Metadata() });
}

describe('transport status mapping', () => {
  const cases: [DynamoError, grpc.status][] = [
    [new InvalidArgumentError('key must not be empty'), grpc.status.INVALID_ARGUMENT],
    [new UnavailableError('QUORUM write failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 }), grpc.status.UNAVAILABLE],
    [new TimeoutError('QUORUM read timed out: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 }), grpc.status.DEADLINE_EXCEEDED],
    [new LimitExceededError('101 siblings; the limit is 100'), grpc.status.FAILED_PRECONDITION],
    [new ClosedError('node is stopping'), grpc.status.UNAVAILABLE],
    [new StorageError('disk full'), grpc.status.INTERNAL],
    [new StorageCorruptionError('bad record'), grpc.status.INTERNAL],
    [new DynamoError('DYNAMO_INTERNAL', 'internal error: x'), grpc.status.INTERNAL],
  ];
  for (const [e, code] of cases) {
    it(`${e.name} (${e.code}) <-> ${grpc.status[code]} and back`, () => {
      const s = toGrpcStatus(e);
      expect(s.code).to.equal(code);
      expect(s.details).to.equal(e.message);
      expect(s.metadata.get('dynamo-code')).to.deep.equal([e.code]);
      const back = fromGrpcError(asServiceError(s));
      expect(back.constructor).to.equal(e.constructor);
      expect(back.code).to.equal(e.code);
      expect(back.message).to.equal(e.message);
      if (e instanceof UnavailableError || e instanceof TimeoutError) {
        expect(s.metadata.get('dynamo-answered')).to.deep.equal([String(e.answered)]);
        expect(s.metadata.get('dynamo-required')).to.deep.equal([String(e.required)]);
        expect((back as UnavailableError).answered).to.equal(e.answered);
        expect((back as UnavailableError).required).to.equal(e.required);
      }
    });
  }

  it('maybeApplied travels as dynamo-maybe-applied: 1 when true, and is absent when false', () => {
    const maybe = new UnavailableError('QUORUM write failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 }, { maybeApplied: true });
    const s = toGrpcStatus(maybe);
    expect(s.metadata.get('dynamo-maybe-applied')).to.deep.equal(['1']);
    const back = fromGrpcError(asServiceError(s));
    expect(back).to.be.instanceOf(UnavailableError);
    expect(back.maybeApplied).to.equal(true);
    const not = toGrpcStatus(new UnavailableError('refused', { answered: 0, required: 2 }));
    expect(not.metadata.get('dynamo-maybe-applied')).to.deep.equal([]);
    expect(fromGrpcError(asServiceError(not)).maybeApplied).to.equal(false);
    // The same through an ErrorStatus (a SessionError).
    expect(errorStatusOf(maybe).maybeApplied).to.equal(true);
    expect(fromErrorStatus(errorStatusOf(maybe)).maybeApplied).to.equal(true);
    expect(fromErrorStatus({ ...errorStatusOf(maybe), maybeApplied: undefined }).maybeApplied).to.equal(false);
  });

  it('a status gRPC produced (no dynamo code) may have been applied: nobody knows whether the node got it', () => {
    for (const code of [grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.INTERNAL]) {
      expect(fromGrpcError(bare(code, 'x')).maybeApplied, grpc.status[code]).to.equal(true);
    }
  });

  it('anything that is not a DynamoError is INTERNAL with its message (and may have been applied)', () => {
    expect(toGrpcStatus(new TypeError('x')).metadata.get('dynamo-maybe-applied')).to.deep.equal(['1']);
    const s = toGrpcStatus(new TypeError('x is undefined'));
    expect(s.code).to.equal(grpc.status.INTERNAL);
    expect(s.details).to.equal('internal error: x is undefined');
    expect(s.metadata.get('dynamo-code')).to.deep.equal(['DYNAMO_INTERNAL']);
    expect(toGrpcStatus('a string').details).to.equal('internal error: a string');
  });

  it('a status without dynamo-code is classified by its code alone', () => {
    const refused = fromGrpcError(bare(grpc.status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED'));
    expect(refused).to.be.instanceOf(UnavailableError);
    expect(refused.message).to.match(/ECONNREFUSED/);
    expect((refused as UnavailableError).answered).to.equal(0);
    expect(fromGrpcError(bare(grpc.status.CANCELLED, 'Cancelled'))).to.be.instanceOf(UnavailableError);
    const deadline = fromGrpcError(bare(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'));
    expect(deadline).to.be.instanceOf(TimeoutError);
    expect(fromGrpcError(bare(grpc.status.RESOURCE_EXHAUSTED, 'message larger than max'))).to.be.instanceOf(LimitExceededError);
    expect(fromGrpcError(bare(grpc.status.INVALID_ARGUMENT, 'bad'))).to.be.instanceOf(InvalidArgumentError);
    const other = fromGrpcError(bare(grpc.status.UNIMPLEMENTED, 'no such method'));
    expect(other.code).to.equal('DYNAMO_INTERNAL');
    expect(other.message).to.equal('UNIMPLEMENTED: no such method');
  });

  it('garbage counts in metadata read as zero', () => {
    const md = new grpc.Metadata();
    md.set('dynamo-code', 'DYNAMO_UNAVAILABLE');
    md.set('dynamo-answered', 'lots');
    const e = fromGrpcError(asServiceError({ code: grpc.status.UNAVAILABLE, details: 'x', metadata: md }));
    expect(e).to.be.instanceOf(UnavailableError);
    expect((e as UnavailableError).answered).to.equal(0);
    expect((e as UnavailableError).required).to.equal(0);
  });
});
