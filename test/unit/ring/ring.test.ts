import { expect } from 'chai';
import { claim, keyHash, ownershipMoves, partitionsOwned, preferenceList, type Ring } from '../../../lib/ring/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

/** A hand-built ring; claim is not under test here. */
function ringOf(owners: string[]): Ring {
  const members = [...new Set(owners)].sort();
  const base = claim(members, owners.length);
  return { ...base, owners };
}

describe('ring queries', () => {
  const striped = claim(['a', 'b', 'c', 'd'], 8);

  it('stripes a fresh 4-node ring (fixture for the examples below)', () => {
    expect(striped.owners).to.deep.equal(['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd']);
    expect(striped.members).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('lists the owner then the next distinct owners clockwise', () => {
    expect(preferenceList(striped, 0, 3)).to.deep.equal(['a', 'b', 'c']);
    expect(preferenceList(striped, 2, 3)).to.deep.equal(['c', 'd', 'a']);
    expect(preferenceList(striped, 7, 3)).to.deep.equal(['d', 'a', 'b']);
    expect(preferenceList(striped, 5, 1)).to.deep.equal(['b']);
  });

  it('skips owners already listed', () => {
    const ring = ringOf(['a', 'a', 'b', 'a', 'c', 'b']);
    expect(preferenceList(ring, 0, 3)).to.deep.equal(['a', 'b', 'c']);
    expect(preferenceList(ring, 5, 2)).to.deep.equal(['b', 'a']);
    expect(preferenceList(ring, 3, 3)).to.deep.equal(['a', 'c', 'b']);
  });

  it('returns every member when n exceeds the member count', () => {
    expect(preferenceList(striped, 1, 10)).to.deep.equal(['b', 'c', 'd', 'a']);
    const solo = claim(['only'], 16);
    expect(preferenceList(solo, 9, 3)).to.deep.equal(['only']);
  });

  it('returns only owners when members outnumber partitions', () => {
    const ring = claim(['a', 'b', 'c', 'd', 'e'], 3);
    expect(ring.owners).to.deep.equal(['a', 'b', 'c']);
    expect(preferenceList(ring, 2, 5)).to.deep.equal(['c', 'a', 'b']);
    expect(partitionsOwned(ring, 'e')).to.equal(0);
  });

  it('rejects a partition out of range or a non-positive n', () => {
    for (const p of [-1, 8, 1.5, Number.NaN]) {
      expect(() => preferenceList(striped, p, 3), String(p)).to.throw(InvalidArgumentError, /partition/);
    }
    for (const n of [0, -2, 2.5]) {
      expect(() => preferenceList(striped, 0, n), String(n)).to.throw(InvalidArgumentError, /length/);
    }
  });

  it('counts partitions owned', () => {
    const ring = ringOf(['a', 'a', 'b', 'a', 'c', 'b']);
    expect(partitionsOwned(ring, 'a')).to.equal(3);
    expect(partitionsOwned(ring, 'b')).to.equal(2);
    expect(partitionsOwned(ring, 'c')).to.equal(1);
    expect(partitionsOwned(ring, 'zz')).to.equal(0);
  });

  it('counts ownership moves between rings of one size and refuses different sizes', () => {
    const a = ringOf(['a', 'b', 'c', 'a']);
    const b = ringOf(['a', 'c', 'c', 'b']);
    expect(ownershipMoves(a, a)).to.equal(0);
    expect(ownershipMoves(a, b)).to.equal(2);
    expect(ownershipMoves(b, a)).to.equal(2);
    expect(() => ownershipMoves(a, claim(['a'], 5))).to.throw(InvalidArgumentError, /partitions/);
  });

  it('has equal checksums for equal rings and different ones otherwise', () => {
    const again = claim(['d', 'c', 'b', 'a'], 8);
    expect(again.checksum).to.equal(striped.checksum);
    expect(striped.checksum).to.be.a('number').within(0, 2 ** 32 - 1);
    expect(Number.isInteger(striped.checksum)).to.equal(true);
    const variants = [
      claim(['a', 'b', 'c', 'd'], 16), // partition count
      claim(['a', 'b', 'c', 'e'], 8), // a member renamed
      claim(['a', 'b', 'c', 'd', 'e'], 8), // another member
      claim(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], 8), // a member owning nothing
      claim(['ab', 'c', 'd'], 8), // member boundaries in the encoding
    ];
    const checksums = new Set([striped.checksum, ...variants.map((r) => r.checksum)]);
    expect(checksums.size).to.equal(variants.length + 1);
  });

  it('pins the checksum encoding', () => {
    // uint32 LE: partitionCount, memberCount, (length, UTF-8) per member, owner index per partition.
    const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    const bytes = [...u32(8), ...u32(4)];
    for (const m of ['a', 'b', 'c', 'd']) bytes.push(...u32(1), m.charCodeAt(0));
    for (const owner of [0, 1, 2, 3, 0, 1, 2, 3]) bytes.push(...u32(owner));
    expect(striped.checksum).to.equal(keyHash(new Uint8Array(bytes)));
    // Changing the encoding or the hash changes this; nodes of two versions would then disagree.
    expect(striped.checksum).to.equal(0x6d054789);
  });

  it('is immutable', () => {
    expect(Object.isFrozen(striped)).to.equal(true);
    expect(Object.isFrozen(striped.owners)).to.equal(true);
    expect(Object.isFrozen(striped.members)).to.equal(true);
  });
});
