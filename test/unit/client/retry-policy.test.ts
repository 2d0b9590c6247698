import { expect } from 'chai';
import {
  ClosedError,
  DefaultRetryPolicy,
  DynamoError,
  InvalidArgumentError,
  LimitExceededError,
  RETRY_ATTEMPTS_MAX_DEFAULT,
  TimeoutError,
  UnavailableError,
  provablyNotApplied,
  type RequestOp,
} from '../../../lib/client/index.ts';

const unavailable = (answered: number, maybeApplied = false): UnavailableError =>
  new UnavailableError('QUORUM failed', { answered, required: 2 }, { maybeApplied });

describe('client/retry-policy', () => {
  const policy = new DefaultRetryPolicy();

  it('retries reads after availability failures, up to attemptsMax attempts', () => {
    expect(RETRY_ATTEMPTS_MAX_DEFAULT).to.equal(2);
    for (const op of ['get', 'status', 'ring'] as RequestOp[]) {
      for (const error of [unavailable(1, true), new TimeoutError('slow', { answered: 1, required: 2 }), new ClosedError('node stopping')]) {
        expect(policy.shouldRetry({ op, error, attempts: 1 }), `${op} ${error.code}`).to.equal(true);
        expect(policy.shouldRetry({ op, error, attempts: 2 }), `${op} ${error.code} at the cap`).to.equal(false);
      }
    }
    expect(new DefaultRetryPolicy({ attemptsMax: 4 }).shouldRetry({ op: 'get', error: unavailable(0), attempts: 3 })).to.equal(true);
  });

  it('retries writes and membership commands only when provably not applied', () => {
    for (const op of ['put', 'delete', 'join', 'decommission', 'remove'] as RequestOp[]) {
      expect(policy.shouldRetry({ op, error: unavailable(0), attempts: 1 }), 'nothing applied').to.equal(true);
      expect(policy.shouldRetry({ op, error: unavailable(0, true), attempts: 1 }), 'maybeApplied').to.equal(false);
      expect(policy.shouldRetry({ op, error: unavailable(1), attempts: 1 }), 'a replica acknowledged it').to.equal(false);
      expect(policy.shouldRetry({ op, error: new TimeoutError('slow', { answered: 0, required: 2 }, { maybeApplied: true }), attempts: 1 })).to.equal(false);
    }
  });

  it('never retries what would fail the same way everywhere', () => {
    for (const error of [new InvalidArgumentError('bad key'), new LimitExceededError('too many siblings'), new DynamoError('DYNAMO_INTERNAL', 'bug')]) {
      for (const op of ['get', 'put'] as RequestOp[]) expect(policy.shouldRetry({ op, error, attempts: 1 }), `${op} ${error.code}`).to.equal(false);
    }
  });

  it('provablyNotApplied reads maybeApplied and the replica counts', () => {
    expect(provablyNotApplied(unavailable(0))).to.equal(true);
    expect(provablyNotApplied(unavailable(0, true))).to.equal(false);
    expect(provablyNotApplied(unavailable(2))).to.equal(false);
    expect(provablyNotApplied(new InvalidArgumentError('bad'))).to.equal(true);
  });

  it('validates attemptsMax', () => {
    for (const attemptsMax of [0, -1, 1.5, Number.NaN]) expect(() => new DefaultRetryPolicy({ attemptsMax })).to.throw(InvalidArgumentError);
  });
});
