import { expect } from 'chai';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import type { Consistency } from '../../../lib/protocol/index.ts';
import { QuorumTracker, requiredReplies } from '../../../lib/replication/index.ts';

describe('replication/quorum', () => {
  describe('requiredReplies', () => {
    const table: [Consistency, number, number][] = [
      ['ONE', 1, 1],
      ['ONE', 3, 1],
      ['TWO', 2, 2],
      ['TWO', 5, 2],
      ['THREE', 3, 3],
      ['THREE', 5, 3],
      ['QUORUM', 1, 1],
      ['QUORUM', 2, 2],
      ['QUORUM', 3, 2],
      ['QUORUM', 4, 3],
      ['QUORUM', 5, 3],
      ['ALL', 1, 1],
      ['ALL', 3, 3],
      ['ALL', 5, 5],
    ];
    for (const [level, n, want] of table) {
      it(`${level} with N=${n} needs ${want} (reads and writes)`, () => {
        expect(requiredReplies(level, n, 'read')).to.equal(want);
        expect(requiredReplies(level, n, 'write')).to.equal(want);
      });
    }

    const tooMany: [Consistency, number, number][] = [
      ['TWO', 1, 2],
      ['THREE', 2, 3],
      ['THREE', 1, 3],
    ];
    for (const [level, n, need] of tooMany) {
      it(`${level} with N=${n} is refused`, () => {
        expect(() => requiredReplies(level, n, 'write'))
          .to.throw(InvalidArgumentError)
          .with.property('message', `consistency ${level} needs ${need} replicas but the replication factor is ${n}`);
      });
    }

    it('ANY needs one node for a write (a hint holder counts) and is refused for reads', () => {
      expect(requiredReplies('ANY', 3, 'write')).to.equal(1);
      expect(requiredReplies('ANY', 1, 'write')).to.equal(1);
      expect(() => requiredReplies('ANY', 3, 'read'))
        .to.throw(InvalidArgumentError)
        .with.property('message', 'consistency ANY is only valid for writes');
    });

    it('rejects an unknown level', () => {
      expect(() => requiredReplies('MOST' as Consistency, 3, 'read')).to.throw(InvalidArgumentError);
    });
  });

  describe('QuorumTracker', () => {
    it('wins at the required number of successes and stays won', () => {
      const t = new QuorumTracker(2, 3);
      expect(t.outcome).to.equal('pending');
      expect(t.success()).to.equal('pending');
      expect(t.failure()).to.equal('pending');
      expect(t.success()).to.equal('won');
      expect(t.outcome).to.equal('won');
      expect([t.successes, t.failures]).to.deep.equal([2, 1]);
    });

    it('is lost as soon as the required successes became impossible', () => {
      const t = new QuorumTracker(2, 3);
      expect(t.failure()).to.equal('pending');
      expect(t.failure()).to.equal('lost');
      // A late success does not revive it.
      expect(t.success()).to.equal('lost');
      expect([t.successes, t.failures]).to.deep.equal([1, 2]);
    });

    it('ALL is lost on the first failure', () => {
      const t = new QuorumTracker(3, 3);
      expect(t.success()).to.equal('pending');
      expect(t.failure()).to.equal('lost');
    });

    it('ONE wins on the first success after failures', () => {
      const t = new QuorumTracker(1, 3);
      expect(t.failure()).to.equal('pending');
      expect(t.failure()).to.equal('pending');
      expect(t.success()).to.equal('won');
    });

    it('starts lost when fewer replicas exist than are required', () => {
      const t = new QuorumTracker(3, 2);
      expect(t.outcome).to.equal('lost');
    });

    it('refuses more replies than replicas (programmer error)', () => {
      const t = new QuorumTracker(1, 1);
      t.success();
      expect(() => t.failure()).to.throw(/assertion failed/);
    });

    it('exhaustively agrees with counting for N up to 5', () => {
      for (let n = 1; n <= 5; n++) {
        for (let required = 1; required <= n; required++) {
          for (let mask = 0; mask < 1 << n; mask++) {
            const t = new QuorumTracker(required, n);
            let s = 0;
            let f = 0;
            let decidedAt = -1;
            for (let i = 0; i < n; i++) {
              const success = ((mask >> i) & 1) === 1;
              const before = t.outcome;
              const out = success ? t.success() : t.failure();
              if (success) s++;
              else f++;
              const want = s >= required ? 'won' : n - f < required ? 'lost' : 'pending';
              if (before === 'pending') {
                expect(out).to.equal(want);
                if (out !== 'pending' && decidedAt < 0) decidedAt = i;
              } else {
                expect(out).to.equal(before);
              }
            }
            expect(decidedAt).to.be.at.least(0);
          }
        }
      }
    });
  });
});
