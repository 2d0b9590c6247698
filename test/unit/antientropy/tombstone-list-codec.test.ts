import { expect } from 'chai';
import fc from 'fast-check';
import { decodeTombstoneKeys, encodeTombstoneKeys } from '../../../lib/antientropy/index.ts';

const keys = fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 30 });

describe('antientropy/tombstone-list-codec', () => {
  it('round-trips any list of keys, empty keys and the empty list included', () => {
    fc.assert(
      fc.property(keys, (list) => {
        const decoded = decodeTombstoneKeys(encodeTombstoneKeys(list));
        expect(decoded.ok).to.equal(true);
        if (decoded.ok) expect(decoded.value.map((k) => Array.from(k))).to.deep.equal(list.map((k) => Array.from(k)));
      }),
    );
  });

  it('refuses every truncation and every single flipped byte, never throwing', () => {
    fc.assert(
      fc.property(keys, fc.nat(), fc.integer({ min: 1, max: 255 }), (list, at, flip) => {
        const bytes = encodeTombstoneKeys(list);
        const cut = at % bytes.length;
        expect(decodeTombstoneKeys(bytes.subarray(0, cut)).ok, `cut at ${cut}`).to.equal(false);
        const rotten = bytes.slice();
        rotten[cut] = rotten[cut]! ^ flip;
        expect(decodeTombstoneKeys(rotten).ok, `byte ${cut} ^ ${flip}`).to.equal(false);
      }),
    );
  });

  it('names what is wrong', () => {
    const bytes = encodeTombstoneKeys([new Uint8Array([1, 2, 3])]);
    const bad = decodeTombstoneKeys(bytes.subarray(0, 5));
    expect(bad.ok).to.equal(false);
    if (!bad.ok) expect(bad.error.message).to.equal('persisted tombstone list is truncated');
    const magic = bytes.slice();
    magic[0] = 0;
    const r = decodeTombstoneKeys(magic);
    if (!r.ok) expect(r.error.message).to.equal('persisted tombstone list has a bad magic');
    expect(r.ok).to.equal(false);
  });
});
