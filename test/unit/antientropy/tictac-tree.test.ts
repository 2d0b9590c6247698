import { expect } from 'chai';
import {
  ABSENT_DIGEST,
  SEGMENT_COUNT_MAX,
  TREE_SHAPE_DEFAULT,
  TictacTree,
  segmentCount,
  validateTreeShape,
  type KeyDigest,
} from '../../../lib/antientropy/index.ts';
import { ancestorAt, childIndices, differingIndices, segmentHash } from '../../../lib/antientropy/internal.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { utf8 } from './helpers.ts';

const SMALL = { fanOut: 4, depth: 2 } as const;
const entries = (n: number, digestOf: (i: number) => bigint = (i) => BigInt(i + 1)): KeyDigest[] =>
  Array.from({ length: n }, (_, i) => ({ key: utf8(`key-${i}`), digest: digestOf(i) }));

describe('TictacTree', () => {
  it('defaults to 64 x 64 = 4096 segments', () => {
    expect(TREE_SHAPE_DEFAULT).to.deep.equal({ fanOut: 64, depth: 2 });
    expect(segmentCount(TREE_SHAPE_DEFAULT)).to.equal(4096);
    expect(TictacTree.empty().level(1)).to.have.length(64);
    expect(TictacTree.empty().level(2)).to.have.length(4096);
  });

  it('has root 0 when empty and after every key is removed again', () => {
    const tree = TictacTree.empty();
    expect(tree.root()).to.equal(0n);
    for (const e of entries(50)) tree.update(e.key, ABSENT_DIGEST, e.digest);
    expect(tree.root()).not.to.equal(0n);
    expect(tree.keyCount).to.equal(50);
    for (const e of entries(50)) tree.update(e.key, e.digest, ABSENT_DIGEST);
    expect(tree.root()).to.equal(0n);
    expect(tree.keyCount).to.equal(0);
    expect(tree.equals(TictacTree.empty())).to.equal(true);
  });

  it('pins the root of a fixed content (golden: segment mapping and entry hash)', () => {
    const tree = TictacTree.build(TREE_SHAPE_DEFAULT, ['a', 'b', 'c'].map((k, i) => ({ key: utf8(k), digest: BigInt(i + 1) })));
    expect(tree.root()).to.equal(0x41daf0452d49bfabn);
    expect([tree.segmentOf(utf8('a')), tree.segmentOf(utf8('b')), tree.segmentOf(utf8('c'))]).to.deep.equal([1864, 3334, 3409]);
  });

  it('puts a key in the segment given by the low bits of its segment hash', () => {
    const tree = TictacTree.empty(SMALL);
    for (const e of entries(40)) expect(tree.segmentOf(e.key)).to.equal(segmentHash(e.key) & 15);
  });

  it('updates only the path of the changed key: its segment and ancestors', () => {
    const tree = TictacTree.build(SMALL, entries(30));
    const before = [tree.level(0), tree.level(1), tree.level(2)];
    const key = utf8('key-7');
    tree.update(key, 8n, 99n);
    const seg = tree.segmentOf(key);
    for (let level = 0; level <= 2; level++) {
      const changed = tree.level(level).flatMap((h, i) => (h === before[level]![i] ? [] : [i]));
      expect(changed, `level ${level}`).to.deep.equal([ancestorAt(SMALL, seg, level)]);
    }
    expect(tree.keyCount).to.equal(30);
  });

  it('keeps every inner hash the XOR of its children', () => {
    const tree = TictacTree.build(SMALL, entries(100));
    for (let level = 0; level < 2; level++) {
      tree.level(level).forEach((h, i) => {
        const children = childIndices(SMALL, [i]);
        expect(tree.hashes(level + 1, children).reduce((a, b) => a ^ b, 0n)).to.equal(h);
      });
    }
  });

  it('ignores an update that changes nothing', () => {
    const tree = TictacTree.build(SMALL, entries(5));
    const root = tree.root();
    tree.update(utf8('key-1'), 2n, 2n);
    expect(tree.root()).to.equal(root);
    expect(tree.keyCount).to.equal(5);
  });

  it('diffs to exactly the segments whose contents differ, and clones independently', () => {
    const a = TictacTree.build(SMALL, entries(60));
    const b = a.clone();
    expect(a.diff(b)).to.deep.equal([]);
    b.update(utf8('key-3'), 4n, 5n);
    b.update(utf8('new'), ABSENT_DIGEST, 1n);
    const expected = [...new Set([b.segmentOf(utf8('key-3')), b.segmentOf(utf8('new'))])].sort((x, y) => x - y);
    expect(a.diff(b)).to.deep.equal(expected);
    expect(b.diff(a)).to.deep.equal(expected);
    expect(a.equals(b)).to.equal(false);
    expect(a.equals(TictacTree.build(SMALL, entries(60)))).to.equal(true);
  });

  it('helps the descent: children of parents and the indices whose hashes differ', () => {
    expect(childIndices(SMALL, [0, 2])).to.deep.equal([0, 1, 2, 3, 8, 9, 10, 11]);
    expect(differingIndices([4, 5, 6], [1n, 2n, 3n], [1n, 0n, 3n])).to.deep.equal([5]);
    expect(ancestorAt(SMALL, 13, 1)).to.equal(3);
    expect(ancestorAt(SMALL, 13, 0)).to.equal(0);
  });

  it("answers bad node requests (a peer's mistake) with InvalidArgumentError", () => {
    const tree = TictacTree.empty(SMALL);
    expect(() => tree.hash(3, 0)).to.throw(InvalidArgumentError, /level/);
    expect(() => tree.hashes(2, [16])).to.throw(InvalidArgumentError, /index/);
    expect(() => tree.hashes(1, [1.5])).to.throw(InvalidArgumentError, /index/);
    expect(() => tree.hash(-1, 0)).to.throw(InvalidArgumentError, /level/);
  });

  it('validates shapes', () => {
    for (const bad of [{ fanOut: 3, depth: 2 }, { fanOut: 1, depth: 2 }, { fanOut: 2048, depth: 1 }, { fanOut: 64, depth: 0 }, { fanOut: 64, depth: 5 }, { fanOut: 1024, depth: 3 }]) {
      expect(() => validateTreeShape(bad), JSON.stringify(bad)).to.throw(InvalidArgumentError);
    }
    expect(() => validateTreeShape({ fanOut: 1024, depth: 2 })).not.to.throw();
    expect(1024 ** 2).to.equal(SEGMENT_COUNT_MAX);
  });

  it('refuses the absent digest as a built entry and non-uint64 digests', () => {
    expect(() => TictacTree.build(SMALL, [{ key: utf8('k'), digest: 0n }])).to.throw(/absent/);
    expect(() => TictacTree.empty(SMALL).update(utf8('k'), 0n, 1n << 64n)).to.throw(/uint64/);
    expect(() => TictacTree.empty(SMALL).update(utf8('k'), -1n, 1n)).to.throw(/uint64/);
  });
});
