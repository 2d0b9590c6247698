import { expect } from 'chai';
import {
  claim,
  fallbackNodes,
  preferenceListWithFallbacks,
  replicaSetTransfers,
  transfersBetween,
} from '../../../lib/ring/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

const upExcept =
  (...down: string[]) =>
  (id: string): boolean =>
    !down.includes(id);

describe('preferenceListWithFallbacks', () => {
  // owners: a b c d e f a b c d e f (6 nodes, 12 partitions)
  const ring = claim(['a', 'b', 'c', 'd', 'e', 'f'], 12);

  it('fixture: a striped 6-node ring', () => {
    expect(ring.owners.join('')).to.equal('abcdefabcdef');
  });

  it('has no fallbacks when every primary is up', () => {
    expect(preferenceListWithFallbacks(ring, 0, 3, () => true)).to.deep.equal({ primaries: ['a', 'b', 'c'], fallbacks: [] });
    expect(preferenceListWithFallbacks(ring, 0, 3, upExcept('d', 'e'))).to.deep.equal({ primaries: ['a', 'b', 'c'], fallbacks: [] });
  });

  it('puts the next up node past the primaries in for a down primary', () => {
    const p = preferenceListWithFallbacks(ring, 0, 3, upExcept('b'));
    expect(p.primaries).to.deep.equal(['a', 'b', 'c']);
    expect(p.fallbacks).to.deep.equal([{ node: 'd', standsInFor: 'b' }]);
  });

  it('pairs fallbacks with down primaries in preference order and skips down candidates', () => {
    const p = preferenceListWithFallbacks(ring, 4, 3, upExcept('e', 'a', 'b'));
    // primaries e f a; e and a down; candidates clockwise past them: b (down), c, d
    expect(p.primaries).to.deep.equal(['e', 'f', 'a']);
    expect(p.fallbacks).to.deep.equal([
      { node: 'c', standsInFor: 'e' },
      { node: 'd', standsInFor: 'a' },
    ]);
  });

  it('returns fewer fallbacks when the ring runs out of up nodes', () => {
    const small = claim(['a', 'b', 'c', 'd'], 8);
    const p = preferenceListWithFallbacks(small, 0, 3, upExcept('a', 'b', 'd'));
    expect(p.primaries).to.deep.equal(['a', 'b', 'c']);
    expect(p.fallbacks).to.deep.equal([]);
    const q = preferenceListWithFallbacks(small, 0, 3, upExcept('a', 'b'));
    expect(q.fallbacks).to.deep.equal([{ node: 'd', standsInFor: 'a' }]);
  });

  it('fallbackNodes validates the partition and honours count 0', () => {
    expect(() => fallbackNodes(ring, 12, [], 1, () => true)).to.throw(InvalidArgumentError, /partition/);
    expect(fallbackNodes(ring, 3, [], 0, () => true)).to.deep.equal([]);
    expect(fallbackNodes(ring, 3, ['d', 'e'], 2, () => true)).to.deep.equal(['f', 'a']);
  });
});

describe('transfersBetween', () => {
  it('is empty between equal rings', () => {
    const ring = claim(['a', 'b', 'c', 'd'], 16);
    expect(transfersBetween(ring, ring, 3)).to.deep.equal([]);
  });

  it('lists the joining node as the only gainer, streaming from the old replicas', () => {
    const before = claim(['a', 'b', 'c', 'd'], 16);
    const after = claim(['a', 'b', 'c', 'd', 'e'], 16, { previous: before });
    const plan = transfersBetween(before, after, 3);
    expect(plan.length).to.be.greaterThan(0);
    for (const t of plan) {
      expect(t.gaining, `partition ${t.partition}`).to.deep.equal(['e']);
      expect(t.sources).to.have.length(3);
      expect(t.losing).to.have.length(1);
      expect(t.sources).to.include(t.losing[0]);
    }
  });

  it('ignores a change of order within the same replica set', () => {
    const plan = replicaSetTransfers(
      2,
      (p) => (p === 0 ? ['a', 'b'] : ['c', 'd']),
      (p) => (p === 0 ? ['b', 'a'] : ['c', 'e']),
    );
    expect(plan).to.deep.equal([{ partition: 1, gaining: ['e'], sources: ['c', 'd'], losing: ['d'] }]);
  });

  it('rejects rings of different sizes', () => {
    expect(() => transfersBetween(claim(['a'], 8), claim(['a'], 16), 3)).to.throw(InvalidArgumentError, /8 and 16/);
  });
});
