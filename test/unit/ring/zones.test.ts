import { expect } from 'chai';
import { claim, makeRing, preferenceList } from '../../../lib/ring/index.ts';
import { distinctZoneCount, zoneIndices } from '../../../lib/ring/zones.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

describe('ring zones', () => {
  // a1 and a2 share zone a; b1 in b; c1 in c; u names no zone.
  const members = ['a1', 'a2', 'b1', 'c1', 'u'];
  const zones = ['a', 'a', 'b', 'c', ''];

  it('skips owners of a zone already listed, then completes with the next distinct nodes', () => {
    const ring = makeRing(6, members, ['a1', 'a2', 'b1', 'a2', 'c1', 'u'], zones);
    expect(preferenceList(ring, 0, 3)).to.deep.equal(['a1', 'b1', 'c1']);
    expect(preferenceList(ring, 1, 4)).to.deep.equal(['a2', 'b1', 'c1', 'u']);
    // Only four failure domains exist (a, b, c, u): the fifth replica repeats zone a.
    expect(preferenceList(ring, 0, 5)).to.deep.equal(['a1', 'b1', 'c1', 'u', 'a2']);
  });

  it('counts an unzoned member as a zone of its own', () => {
    expect(distinctZoneCount(zones)).to.equal(4);
    expect([...zoneIndices(zones)]).to.deep.equal([0, 0, 1, 2, 3]);
    expect([...zoneIndices(['', 'b', '', 'a'])]).to.deep.equal([2, 1, 3, 0]);
    const ring = makeRing(4, ['a1', 'a2', 'u'], ['a1', 'a2', 'u', 'a2'], ['a', 'a', '']);
    expect(preferenceList(ring, 0, 2)).to.deep.equal(['a1', 'u']);
  });

  it('places like a zone-less ring when no member names a zone', () => {
    const owners = ['a1', 'a2', 'a1', 'b1', 'c1', 'u'];
    const plain = makeRing(6, members, owners);
    const blank = makeRing(6, members, owners, members.map(() => ''));
    expect(blank.checksum).to.equal(plain.checksum);
    for (let p = 0; p < 6; p++) expect(preferenceList(blank, p, 3)).to.deep.equal(preferenceList(plain, p, 3));
    expect(preferenceList(plain, 0, 3)).to.deep.equal(['a1', 'a2', 'b1']);
  });

  it('refuses zones that do not match the members', () => {
    expect(() => makeRing(2, ['a', 'b'], ['a', 'b'], ['z'])).to.throw(InvalidArgumentError, /zones/);
    expect(() => makeRing(2, ['a', 'b'], ['a', 'b'], ['z', 'x'.repeat(300)])).to.throw(InvalidArgumentError, /zone/);
  });

  it('claims a 3-zone ring whose every window of 3 spans the 3 zones when the pattern fits', () => {
    const ids = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
    const zoneOf = (id: string): string => ['a', 'a', 'b', 'b', 'c', 'c'][Number(id.slice(1))] ?? '';
    const ring = claim(ids, 24, { zoneOf });
    expect(ring.zones).to.deep.equal(['a', 'a', 'b', 'b', 'c', 'c']);
    for (let p = 0; p < 24; p++) {
      const window = [0, 1, 2].map((i) => zoneOf(ring.owners[(p + i) % 24] ?? ''));
      expect(new Set(window).size, `window at ${p}: ${window.join('')}`).to.equal(3);
    }
  });
});
