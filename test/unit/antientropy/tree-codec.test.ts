import { expect } from 'chai';
import { TREE_SHAPE_DEFAULT, TictacTree, decodeTree, encodeTree } from '../../../lib/antientropy/index.ts';
import { StorageCorruptionError } from '../../../lib/runtime/index.ts';
import { utf8 } from './helpers.ts';

const tree = (): TictacTree =>
  TictacTree.build(TREE_SHAPE_DEFAULT, Array.from({ length: 500 }, (_, i) => ({ key: utf8(`k${i}`), digest: BigInt(i * 7919 + 1) })));

describe('tree codec', () => {
  it('round-trips a tree: same hashes at every level, same key count', () => {
    const t = tree();
    const bytes = encodeTree(t);
    expect(bytes.length).to.equal(16 + 8 * 4096);
    const back = decodeTree(bytes, TREE_SHAPE_DEFAULT);
    expect(back.ok).to.equal(true);
    if (!back.ok) return;
    expect(back.value.equals(t)).to.equal(true);
    expect(back.value.root()).to.equal(t.root());
    expect(back.value.level(1)).to.deep.equal(t.level(1));
    expect(back.value.keyCount).to.equal(500);
  });

  it('starts with the magic and format, big-endian', () => {
    const bytes = encodeTree(TictacTree.empty({ fanOut: 4, depth: 2 }));
    expect([...bytes.subarray(0, 12)]).to.deep.equal([0x41, 0x41, 0x45, 0x54, 1, 2, 2, 0, 0, 0, 0, 0]);
  });

  const failures: Array<[string, (b: Uint8Array) => Uint8Array, RegExp]> = [
    ['truncated', (b) => b.subarray(0, 10), /truncated/],
    ['a flipped hash bit', (b) => flip(b, 100), /checksum/],
    ['a flipped checksum bit', (b) => flip(b, b.length - 1), /checksum/],
    ['a bad magic', (b) => flip(b, 0), /magic/],
    ['an unknown format', (b) => flip(b, 4), /format/],
    ['a cut tail', (b) => b.subarray(0, b.length - 8), /checksum/],
  ];
  for (const [what, damage, message] of failures) {
    it(`refuses ${what} with StorageCorruptionError`, () => {
      const r = decodeTree(damage(encodeTree(tree())), TREE_SHAPE_DEFAULT);
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.error).to.be.instanceOf(StorageCorruptionError);
      expect(r.error.message).to.match(message);
    });
  }

  it('refuses a tree of another shape than configured (rebuild instead)', () => {
    const r = decodeTree(encodeTree(TictacTree.empty({ fanOut: 32, depth: 2 })), TREE_SHAPE_DEFAULT);
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error.message).to.match(/32\^2, configured 64\^2/);
  });
});

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] = out[at]! ^ 1;
  return out;
}
