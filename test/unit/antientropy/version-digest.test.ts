import { expect } from 'chai';
import { ABSENT_DIGEST, versionDigest } from '../../../lib/antientropy/index.ts';
import type { StoredObject } from '../../../lib/storage/index.ts';
import { object, tombstone, value } from './helpers.ts';

const base = (): StoredObject =>
  object(['n1.e1', 3, [value('v3', 1_700_000_000_000)]], ['n2.e7', 1, [tombstone(1_700_000_000_500)]]);

describe('version digest', () => {
  it('is pinned for a fixed object (golden)', () => {
    expect(versionDigest(base())).to.equal(0x9a1272cfdaf9e0e9n);
  });

  it('is ABSENT_DIGEST (0) exactly for the empty set', () => {
    expect(versionDigest({ entries: [], anonymous: [] })).to.equal(ABSENT_DIGEST);
    expect(versionDigest(object(['a', 1, []]))).not.to.equal(ABSENT_DIGEST);
    expect(versionDigest({ entries: [], anonymous: [tombstone(1)] })).not.to.equal(ABSENT_DIGEST);
  });

  it('is equal for equal objects built separately (no identity involved)', () => {
    expect(versionDigest(base())).to.equal(versionDigest(base()));
  });

  it('ignores the order and repetition of anonymous values (they form a set) and the sign of a zero time', () => {
    const a: StoredObject = { entries: [], anonymous: [value('x', 1), value('y', 2)] };
    const b: StoredObject = { entries: [], anonymous: [value('y', 2), value('x', 1), value('y', 2)] };
    expect(versionDigest(a)).to.equal(versionDigest(b));
    expect(versionDigest(object(['a', 1, [value('x', 0)]]))).to.equal(versionDigest(object(['a', 1, [value('x', -0)]])));
  });

  it('changes with every field of clock and values', () => {
    const d0 = versionDigest(base());
    const variants: Array<[string, StoredObject]> = [
      ['actor', object(['n1.e2', 3, [value('v3', 1_700_000_000_000)]], ['n2.e7', 1, [tombstone(1_700_000_000_500)]])],
      ['counter', object(['n1.e1', 4, [value('v3', 1_700_000_000_000)]], ['n2.e7', 1, [tombstone(1_700_000_000_500)]])],
      ['value bytes', object(['n1.e1', 3, [value('v4', 1_700_000_000_000)]], ['n2.e7', 1, [tombstone(1_700_000_000_500)]])],
      ['value length', object(['n1.e1', 3, [value('v3 ', 1_700_000_000_000)]], ['n2.e7', 1, [tombstone(1_700_000_000_500)]])],
      ['written at', object(['n1.e1', 3, [value('v3', 1_700_000_000_001)]], ['n2.e7', 1, [tombstone(1_700_000_000_500)]])],
      ['tombstone flag', object(['n1.e1', 3, [value('v3', 1_700_000_000_000)]], ['n2.e7', 1, [value('', 1_700_000_000_500)]])],
      ['live values', object(['n1.e1', 3, [value('v3', 1_700_000_000_000), value('v2', 1)]], ['n2.e7', 1, [tombstone(1_700_000_000_500)]])],
      ['entry dropped', object(['n1.e1', 3, [value('v3', 1_700_000_000_000)]])],
      ['anonymous added', { ...base(), anonymous: [value('z', 1)] }],
    ];
    const seen = new Set<bigint>([d0]);
    for (const [what, obj] of variants) {
      const d = versionDigest(obj);
      expect(seen.has(d), what).to.equal(false);
      seen.add(d);
    }
  });

  it('separates actor bytes from counters (length-prefixed, no ambiguous concatenation)', () => {
    expect(versionDigest(object(['ab', 1, []], ['c', 1, []]))).not.to.equal(versionDigest(object(['a', 1, []], ['bc', 1, []])));
  });

  it('refuses an object whose entries are not sorted (a programmer error)', () => {
    expect(() => versionDigest(object(['b', 1, []], ['a', 1, []]))).to.throw(/sorted/);
  });

  it('hashes a large value without copying it into the encoding', () => {
    const big = new Uint8Array(1 << 20).fill(7);
    const d1 = versionDigest(object(['a', 1, [{ data: big, tombstone: false, writtenAtMs: 1 }]]));
    big[12345] = 8;
    const d2 = versionDigest(object(['a', 1, [{ data: big, tombstone: false, writtenAtMs: 1 }]]));
    expect(d1).not.to.equal(d2);
  });
});
