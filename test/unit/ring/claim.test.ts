import { expect } from 'chai';
import { claim, ownershipMoves } from '../../../lib/ring/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { nodeNames, ownedCounts, spacingViolations } from './ring-checks.ts';

describe('claim', () => {
  it('rejects no members, empty ids and bad partition counts', () => {
    expect(() => claim([], 8)).to.throw(InvalidArgumentError, /at least one member/);
    expect(() => claim(['a', ''], 8)).to.throw(InvalidArgumentError, /non-empty/);
    for (const bad of [0, -4, 2.5, 65537, Number.NaN]) {
      expect(() => claim(['a'], bad), String(bad)).to.throw(InvalidArgumentError, /partitionCount/);
    }
    expect(claim(['a'], 65536).owners).to.have.length(65536);
    expect(claim(['a'], 1).owners).to.deep.equal(['a']);
  });

  it('rejects bad replicas', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => claim(['a', 'b'], 8, { replicas: bad }), String(bad)).to.throw(InvalidArgumentError, /replicas/);
    }
  });

  it('rejects a previous ring of another size', () => {
    const previous = claim(['a', 'b'], 8);
    expect(() => claim(['a', 'b'], 16, { previous })).to.throw(InvalidArgumentError, /previous ring has 8 partitions/);
  });

  it('sorts members by code unit and ignores duplicates', () => {
    const ring = claim(['b', 'a', 'B', 'a'], 6);
    expect(ring.members).to.deep.equal(['B', 'a', 'b']);
    expect(ring.owners).to.deep.equal(['B', 'a', 'b', 'B', 'a', 'b']);
    expect(claim(['B', 'a', 'b'], 6).checksum).to.equal(ring.checksum);
  });

  it('returns the previous ring unchanged when membership is unchanged', () => {
    const first = claim(nodeNames(5), 64);
    const later = claim([...nodeNames(5)].reverse(), 64, { previous: first });
    expect(later.owners).to.deep.equal(first.owners);
    expect(later.checksum).to.equal(first.checksum);
  });

  it('claims fresh when no previous owner is still a member', () => {
    const previous = claim(['a', 'b', 'c'], 32);
    const next = claim(['x', 'y', 'z', 'w'], 32, { previous });
    expect(next.owners).to.deep.equal(claim(['x', 'y', 'z', 'w'], 32).owners);
  });

  it('rebalances an uneven previous ring to floor/ceil with the fewest moves', () => {
    const skewed = { ...claim(['a', 'b'], 8), owners: ['a', 'a', 'a', 'a', 'a', 'a', 'b', 'b'] };
    const next = claim(['a', 'b'], 8, { previous: skewed });
    expect(ownedCounts(next)).to.deep.equal([4, 4]);
    expect(ownershipMoves(skewed, next)).to.equal(2);
  });

  it('gives the ceil targets to members that already own more', () => {
    // 10 partitions over 3 members: 4,3,3. c owns most, so c keeps the 4 and nothing moves.
    const previous = { ...claim(['a', 'b', 'c'], 10), owners: ['c', 'a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c'] };
    const next = claim(['a', 'b', 'c'], 10, { previous });
    expect(next.owners).to.deep.equal(previous.owners);
  });

  it('fixes the stripe tail so the wrap keeps replicas distinct', () => {
    // 16 = 3 * 5 + 1: a plain stripe would end "... e a | a b ...".
    const ring = claim(nodeNames(5), 16);
    expect(spacingViolations(ring, 3)).to.deep.equal([]);
    expect(ownedCounts(ring)).to.deep.equal([4, 3, 3, 3, 3]);
  });

  it('cannot space 3 replicas over 3 members unless 3 divides the partition count', () => {
    expect(spacingViolations(claim(['a', 'b', 'c'], 64), 3)).to.have.length(2);
    expect(spacingViolations(claim(['a', 'b', 'c'], 48), 3)).to.deep.equal([]);
  });
});
