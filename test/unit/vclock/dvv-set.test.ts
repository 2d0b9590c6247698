import { expect } from 'chai';
import { Dvv, type DvvEntry, type DvvSet, type VersionVector } from '../../../lib/vclock/index.ts';

/** Builders mirroring dvvset.erl's {Entries, Anonymous} notation, so its eunit tests read the same. */
const e = <V>(actor: string, counter: number, values: V[] = []): DvvEntry<V> => ({ actor, counter, values });
const set = <V>(entries: DvvEntry<V>[], anonymous: V[] = []): DvvSet<V> => ({ entries, anonymous });
const vv = (...pairs: [string, number][]): VersionVector => pairs.map(([actor, counter]) => ({ actor, counter }));
const NONE: VersionVector = [];

describe('vclock Dvv (DVV sets)', () => {
  describe('fresh / join / size / values', () => {
    it('fresh is empty with an empty join', () => {
      const s = Dvv.fresh<string>();
      expect(s).to.deep.equal({ entries: [], anonymous: [] });
      expect(Dvv.join(s)).to.deep.equal([]);
      expect(Dvv.size(s)).to.equal(0);
      expect(Dvv.values(s)).to.deep.equal([]);
    });

    it('join keeps actor and counter of every entry, values dropped (dvvset join_test)', () => {
      const a1 = Dvv.update(Dvv.fresh<string>(), NONE, 'a', 'v1');
      const b1 = Dvv.update(a1, Dvv.join(a1), 'b', 'v2');
      expect(Dvv.join(a1)).to.deep.equal(vv(['a', 1]));
      expect(Dvv.join(b1)).to.deep.equal(vv(['a', 1], ['b', 1]));
      expect(Dvv.join(set([e('a', 4, ['x', 'y']), e('b', 2)]))).to.deep.equal(vv(['a', 4], ['b', 2]));
    });

    it('values lists entries by actor, newest first, then anonymous values; size counts them all', () => {
      const s = set([e('a', 4, ['a4', 'a3']), e('b', 1), e('c', 2, ['c2'])], ['anon']);
      expect(Dvv.values(s)).to.deep.equal(['a4', 'a3', 'c2', 'anon']);
      expect(Dvv.size(s)).to.equal(4);
    });
  });

  describe('update', () => {
    it('ports dvvset update_test', () => {
      const a0 = Dvv.update(Dvv.fresh<string>(), NONE, 'a', 'v1');
      const a1 = Dvv.update(a0, Dvv.join(a0), 'a', 'v2');
      const a2 = Dvv.update(a1, Dvv.join(a1), 'b', 'v3');
      const a3 = Dvv.update(a1, Dvv.join(a0), 'b', 'v4');
      const a4 = Dvv.update(a1, Dvv.join(a0), 'a', 'v5');
      expect(a0).to.deep.equal(set([e('a', 1, ['v1'])]));
      expect(a1).to.deep.equal(set([e('a', 2, ['v2'])]));
      expect(a2).to.deep.equal(set([e('a', 2), e('b', 1, ['v3'])]));
      expect(a3).to.deep.equal(set([e('a', 2, ['v2']), e('b', 1, ['v4'])]));
      expect(a4).to.deep.equal(set([e('a', 3, ['v5', 'v2'])]));
    });

    it('ports dvvset sync_update_test: a stale context only drops what it saw', () => {
      const a0 = Dvv.update(Dvv.fresh<string>(), NONE, 'a', 'v1'); // Mary writes v1 without context
      const vv1 = Dvv.join(a0); // Peter reads v1
      const a1 = Dvv.update(a0, NONE, 'a', 'v2'); // Mary writes v2 without context
      const a2 = Dvv.update(a1, vv1, 'a', 'v3'); // Peter writes v3 with the context of v1
      expect(vv1).to.deep.equal(vv(['a', 1]));
      expect(a1).to.deep.equal(set([e('a', 2, ['v2', 'v1'])]));
      expect(a2).to.deep.equal(set([e('a', 3, ['v3', 'v2'])]));
    });

    it('worked example: two writes without context leave two siblings', () => {
      const s1 = Dvv.update(Dvv.fresh<string>(), NONE, 'n1.e1', 'x');
      const s2 = Dvv.update(s1, NONE, 'n1.e1', 'y');
      expect(Dvv.size(s2)).to.equal(2);
      expect(Dvv.values(s2)).to.deep.equal(['y', 'x']);
    });

    it('worked example: a put with the merged context of the siblings resolves them to one value', () => {
      const s1 = Dvv.update(Dvv.fresh<string>(), NONE, 'n1.e1', 'x');
      const s2 = Dvv.update(Dvv.fresh<string>(), NONE, 'n2.e1', 'y');
      const merged = Dvv.sync(s1, s2);
      expect(Dvv.values(merged)).to.deep.equal(['x', 'y']);
      const ctx = Dvv.mergeVectors(Dvv.join(s1), Dvv.join(s2));
      const resolved = Dvv.update(merged, ctx, 'n2.e1', 'xy');
      expect(Dvv.values(resolved)).to.deep.equal(['xy']);
      expect(resolved).to.deep.equal(set([e('n1.e1', 1), e('n2.e1', 2, ['xy'])]));
    });

    it('worked example: a delete is a tombstone value, and a concurrent write survives it', () => {
      type Stored = { data: string; tombstone: boolean };
      const put = (data: string): Stored => ({ data, tombstone: false });
      const tomb: Stored = { data: '', tombstone: true };
      const s1 = Dvv.update(Dvv.fresh<Stored>(), NONE, 'a', put('v1'));
      const seen = Dvv.join(s1);
      const deleted = Dvv.update(s1, seen, 'a', tomb);
      expect(Dvv.values(deleted)).to.deep.equal([tomb]);
      // A writer that also read v1 writes concurrently with the delete: both survive.
      const concurrent = Dvv.update(deleted, seen, 'a', put('v2'));
      expect(Dvv.values(concurrent)).to.deep.equal([put('v2'), tomb]);
      // A later write that saw the tombstone supersedes it.
      const after = Dvv.update(concurrent, Dvv.join(concurrent), 'a', put('v3'));
      expect(Dvv.values(after)).to.deep.equal([put('v3')]);
    });

    it('takes the dot after the larger of the stored and the context counter of the actor', () => {
      const s = set([e('a', 2, ['a2'])]);
      const r = Dvv.update(s, vv(['a', 5], ['b', 3]), 'a', 'new');
      expect(r).to.deep.equal(set([e('a', 6, ['new']), e('b', 3)]));
    });

    it('inserts a new actor in sorted position', () => {
      const s = set([e('a', 1, ['a1']), e('c', 1, ['c1'])]);
      const r = Dvv.update(s, NONE, 'b', 'b1');
      expect(r.entries.map((x) => x.actor)).to.deep.equal(['a', 'b', 'c']);
      expect(Dvv.values(r)).to.deep.equal(['a1', 'b1', 'c1']);
    });

    it('drops anonymous values only when the context is strictly newer than the set (as dvvset)', () => {
      const s = set([e('a', 1)], ['legacy']);
      expect(Dvv.values(Dvv.update(s, vv(['a', 1]), 'a', 'v'))).to.deep.equal(['v', 'legacy']);
      expect(Dvv.values(Dvv.update(s, vv(['a', 2]), 'a', 'v'))).to.deep.equal(['v']);
      expect(Dvv.values(Dvv.update(s, NONE, 'b', 'v'))).to.deep.equal(['v', 'legacy']);
    });

    it('does not modify its inputs', () => {
      const s = set([e('a', 2, ['a2', 'a1'])]);
      const ctx = vv(['a', 1]);
      const before = structuredClone({ s, ctx });
      Dvv.update(s, ctx, 'a', 'z');
      Dvv.update(s, ctx, 'b', 'z');
      expect({ s, ctx }).to.deep.equal(before);
    });

    it('refuses to overflow the counter with InvalidArgumentError', () => {
      const s = Dvv.fresh<string>();
      expect(() => Dvv.update(s, vv(['a', Number.MAX_SAFE_INTEGER]), 'a', 'v')).to.throw(/maximum/).with.property('code', 'DYNAMO_INVALID_ARGUMENT');
      expect(Dvv.update(s, vv(['a', Number.MAX_SAFE_INTEGER - 1]), 'a', 'v').entries[0]?.counter).to.equal(Number.MAX_SAFE_INTEGER);
    });

    it('asserts on an unsorted context (a programmer error)', () => {
      expect(() => Dvv.update(Dvv.fresh<string>(), vv(['b', 1], ['a', 1]), 'a', 'v')).to.throw(/assertion failed/);
      expect(() => Dvv.update(Dvv.fresh<string>(), vv(['a', 0]), 'a', 'v')).to.throw(/assertion failed/);
    });
  });

  describe('sync', () => {
    it('ports dvvset sync_test', () => {
      const x = set<string>([e('x', 1)]);
      const a = Dvv.update(Dvv.fresh<string>(), NONE, 'a', 'v1');
      const y = Dvv.update(Dvv.fresh<string>(), NONE, 'b', 'v2');
      const a1 = Dvv.update(Dvv.fresh<string>(), Dvv.join(a), 'a', 'v2');
      const a3 = Dvv.update(Dvv.fresh<string>(), Dvv.join(a1), 'b', 'v3');
      const a4 = Dvv.update(Dvv.fresh<string>(), Dvv.join(a1), 'c', 'v3');
      const w = set<string>([e('a', 1)]);
      const z = set([e('a', 2, ['v2', 'v1'])]);
      expect(Dvv.sync(w, z)).to.deep.equal(set([e('a', 2, ['v2'])]));
      expect(Dvv.sync(w, z)).to.deep.equal(Dvv.sync(z, w));
      expect(Dvv.sync(a, a1)).to.deep.equal(Dvv.sync(a1, a));
      expect(Dvv.sync(a4, a3)).to.deep.equal(Dvv.sync(a3, a4));
      expect(Dvv.sync(a4, a3)).to.deep.equal(set([e('a', 2), e('b', 1, ['v3']), e('c', 1, ['v3'])]));
      expect(Dvv.sync(x, a)).to.deep.equal(set([e('a', 1, ['v1']), e('x', 1)]));
      expect(Dvv.sync(x, a)).to.deep.equal(Dvv.sync(a, x));
      expect(Dvv.sync(a, y)).to.deep.equal(set([e('a', 1, ['v1']), e('b', 1, ['v2'])]));
      expect(Dvv.sync(y, a)).to.deep.equal(Dvv.sync(a, y));
    });

    it('keeps a value the other side never saw, drops one it saw and no longer holds', () => {
      // left saw a1..a3 and still holds a3, a2; right saw a1..a4 and holds only a4.
      const left = set([e('a', 3, ['a3', 'a2'])]);
      const right = set([e('a', 4, ['a4'])]);
      expect(Dvv.sync(left, right)).to.deep.equal(set([e('a', 4, ['a4'])]));
      // right saw only up to a1 and holds it: a3, a2 are new to it and survive; a1 was dropped by left.
      const older = set([e('a', 1, ['a1'])]);
      expect(Dvv.sync(left, older)).to.deep.equal(left);
      // right holds a4, a3 (never saw a3 dropped): the newest dots survive on both sides.
      const both = set([e('a', 4, ['a4', 'a3'])]);
      expect(Dvv.sync(left, both)).to.deep.equal(set([e('a', 4, ['a4', 'a3'])]));
    });

    it('is idempotent on a concrete set and does not modify its inputs', () => {
      const s = set([e('a', 3, ['a3', 'a2']), e('b', 1, ['b1'])]);
      const before = structuredClone(s);
      expect(Dvv.sync(s, s)).to.deep.equal(s);
      expect(s).to.deep.equal(before);
    });

    it('anonymous values: dropped by a strictly newer clock, united (by identity) otherwise', () => {
      const old = set([e('a', 1)], ['legacy']);
      const newer = set([e('a', 2, ['a2'])]);
      expect(Dvv.sync(old, newer)).to.deep.equal(set([e('a', 2, ['a2'])]));
      expect(Dvv.sync(newer, old)).to.deep.equal(set([e('a', 2, ['a2'])]));
      const other = set([e('b', 1, ['b1'])], ['legacy', 'other']);
      expect(Dvv.sync(old, other).anonymous).to.deep.equal(['legacy', 'other']);
      expect(Dvv.sync(old, old).anonymous).to.deep.equal(['legacy']);
    });
  });

  describe('map', () => {
    it('keeps the clock and maps every value including anonymous ones', () => {
      const s = set([e('a', 2, [1, 2]), e('b', 1)], [3]);
      expect(Dvv.map(s, (v) => `#${v}`)).to.deep.equal(set([e('a', 2, ['#1', '#2']), e('b', 1)], ['#3']));
      expect(s).to.deep.equal(set([e('a', 2, [1, 2]), e('b', 1)], [3]));
    });
  });
});
