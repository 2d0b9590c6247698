/**
 * Laws of the TicTac tree (lib/antientropy): (a) the diff of two trees is
 * exactly the set of segments where their contents differ — the set
 * difference of the two (key, digest) maps, mapped to segments; (b) a tree
 * kept by incremental updates, in any order, equals the tree rebuilt from
 * the final contents (and survives the codec).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ABSENT_DIGEST, TictacTree, decodeTree, encodeTree, type TreeShape } from '../../lib/antientropy/index.ts';

const SHAPES: TreeShape[] = [
  { fanOut: 2, depth: 1 },
  { fanOut: 4, depth: 2 },
  { fanOut: 8, depth: 3 },
  { fanOut: 64, depth: 2 },
];
const keyOf = (i: number): Uint8Array => new TextEncoder().encode(`key:${i}`);
/** Small digests so that equal digests on both sides are common. */
const digest = fc.bigInt({ min: 1n, max: 6n });
/** A partition's contents: key index -> digest. */
const contents = fc.array(fc.tuple(fc.integer({ min: 0, max: 150 }), digest), { maxLength: 120 }).map((pairs) => new Map(pairs));
const build = (shape: TreeShape, m: ReadonlyMap<number, bigint>): TictacTree =>
  TictacTree.build(shape, [...m].map(([k, d]) => ({ key: keyOf(k), digest: d })));

describe('antientropy tree laws (property)', () => {
  it('(a) diff of two trees = segments of the set difference of their contents', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SHAPES), contents, contents, (shape, a, b) => {
        const ta = build(shape, a);
        const tb = build(shape, b);
        const differingKeys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
        const expected = [...new Set(differingKeys.map((k) => ta.segmentOf(keyOf(k))))].sort((x, y) => x - y);
        expect(ta.diff(tb)).to.deep.equal(expected);
        expect(tb.diff(ta)).to.deep.equal(expected);
        expect(ta.equals(tb)).to.equal(differingKeys.length === 0);
        expect(ta.root() === tb.root()).to.equal(differingKeys.length === 0);
      }),
      { numRuns: 300 },
    );
  });

  it('(b) incremental updates in any order equal a rebuild of the final contents', () => {
    const op = fc.tuple(fc.integer({ min: 0, max: 60 }), fc.option(digest, { nil: undefined }));
    fc.assert(
      fc.property(fc.constantFrom(...SHAPES), fc.array(op, { maxLength: 200 }), fc.integer(), (shape, ops, seed) => {
        const tree = TictacTree.empty(shape);
        const state = new Map<number, bigint>();
        for (const [k, d] of ops) {
          tree.update(keyOf(k), state.get(k) ?? ABSENT_DIGEST, d ?? ABSENT_DIGEST);
          if (d === undefined) state.delete(k);
          else state.set(k, d);
        }
        const rebuilt = build(shape, state);
        expect(tree.equals(rebuilt)).to.equal(true);
        expect(tree.root()).to.equal(rebuilt.root());
        expect(tree.keyCount).to.equal(state.size);
        // The same final contents inserted in another order.
        const shuffled = [...state].sort((x, y) => ((x[0] * 2654435761) ^ seed) - ((y[0] * 2654435761) ^ seed));
        const other = TictacTree.empty(shape);
        for (const [k, d] of shuffled) other.update(keyOf(k), ABSENT_DIGEST, d);
        expect(other.equals(rebuilt)).to.equal(true);
        for (let level = 0; level <= shape.depth; level++) expect(other.level(level)).to.deep.equal(rebuilt.level(level));
        const loaded = decodeTree(encodeTree(tree), shape);
        expect(loaded.ok && loaded.value.equals(rebuilt) && loaded.value.keyCount === state.size).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });
});
