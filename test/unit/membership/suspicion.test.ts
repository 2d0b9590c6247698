import { expect } from 'chai';
import { Awareness, Suspicion, suspicionTimeoutAfter } from '../../../lib/membership/internal.ts';

describe('Lifeguard suspicion timeout', () => {
  // c, k, min, max -> timeout (max - (max - min) * ln(c + 1) / ln(k + 1), floored at min)
  const rows: Array<[number, number, number, number, number]> = [
    [0, 3, 2000, 30000, 30000],
    [1, 3, 2000, 30000, 16000],
    [2, 3, 2000, 30000, 7810],
    [3, 3, 2000, 30000, 2000],
    [5, 3, 2000, 30000, 2000],
    [0, 0, 2000, 30000, 2000],
  ];
  for (const [c, k, min, max, want] of rows) {
    it(`c=${c} k=${k} -> ${want} ms`, () => {
      expect(suspicionTimeoutAfter(c, k, min, max)).to.equal(want);
    });
  }

  it('counts distinct confirmers other than the origin, up to k', () => {
    const s = new Suspicion('a', 2, 1000, 6000, 100);
    expect(s.deadlineMs()).to.equal(6100);
    expect(s.confirm('a')).to.equal(false);
    expect(s.confirm('b')).to.equal(true);
    expect(s.confirm('b')).to.equal(false);
    expect(s.confirmations).to.equal(1);
    expect(s.deadlineMs()).to.equal(100 + suspicionTimeoutAfter(1, 2, 1000, 6000));
    expect(s.confirm('c')).to.equal(true);
    expect(s.deadlineMs()).to.equal(1100);
    expect(s.confirm('d')).to.equal(false);
  });

  it('uses the lower bound at once when no confirmations are expected', () => {
    expect(new Suspicion('a', 0, 1000, 6000, 0).deadlineMs()).to.equal(1000);
  });
});

describe('Awareness (local health)', () => {
  it('scales timeouts by score + 1 and stays within 0..max-1', () => {
    const a = new Awareness(3);
    expect(a.scale(500)).to.equal(500);
    a.apply(1);
    expect(a.scale(500)).to.equal(1000);
    a.apply(5);
    expect(a.score).to.equal(2);
    a.apply(-10);
    expect(a.score).to.equal(0);
  });
});
