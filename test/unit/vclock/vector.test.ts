import { expect } from 'chai';
import { actorFor, Dvv, type VersionVector } from '../../../lib/vclock/index.ts';

const vv = (...pairs: [string, number][]): VersionVector => pairs.map(([actor, counter]) => ({ actor, counter }));

describe('vclock version vectors', () => {
  describe('compare / descends', () => {
    it('equal vectors are equal and descend each other', () => {
      expect(Dvv.compare(vv(['a', 1], ['b', 2]), vv(['a', 1], ['b', 2]))).to.equal('equal');
      expect(Dvv.compare([], [])).to.equal('equal');
      expect(Dvv.descends(vv(['a', 1]), vv(['a', 1]))).to.equal(true);
    });

    it('a larger counter or an extra actor is after; the reverse is before', () => {
      expect(Dvv.compare(vv(['a', 2]), vv(['a', 1]))).to.equal('after');
      expect(Dvv.compare(vv(['a', 1], ['b', 1]), vv(['a', 1]))).to.equal('after');
      expect(Dvv.compare(vv(['a', 1]), vv(['a', 1], ['b', 1]))).to.equal('before');
      expect(Dvv.compare([], vv(['z', 1]))).to.equal('before');
      expect(Dvv.descends(vv(['a', 2], ['b', 1]), vv(['b', 1]))).to.equal(true);
      expect(Dvv.descends(vv(['b', 1]), vv(['a', 2], ['b', 1]))).to.equal(false);
    });

    it('each side ahead somewhere is concurrent', () => {
      expect(Dvv.compare(vv(['a', 2], ['b', 1]), vv(['a', 1], ['b', 2]))).to.equal('concurrent');
      expect(Dvv.compare(vv(['a', 1]), vv(['b', 1]))).to.equal('concurrent');
      expect(Dvv.compare(vv(['a', 1], ['c', 1]), vv(['b', 1], ['c', 1]))).to.equal('concurrent');
      expect(Dvv.descends(vv(['a', 1]), vv(['b', 1]))).to.equal(false);
    });

    it('asserts on unsorted or duplicate actors', () => {
      expect(() => Dvv.compare(vv(['b', 1], ['a', 1]), [])).to.throw(/assertion failed/);
      expect(() => Dvv.descends([], vv(['a', 1], ['a', 2]))).to.throw(/assertion failed/);
    });
  });

  describe('mergeVectors', () => {
    it('takes the pointwise maximum and keeps actors sorted', () => {
      expect(Dvv.mergeVectors(vv(['a', 3], ['c', 1]), vv(['a', 1], ['b', 2], ['c', 4]))).to.deep.equal(vv(['a', 3], ['b', 2], ['c', 4]));
      expect(Dvv.mergeVectors([], vv(['a', 1]))).to.deep.equal(vv(['a', 1]));
      expect(Dvv.mergeVectors([], [])).to.deep.equal([]);
    });

    it('descends both inputs', () => {
      const a = vv(['a', 3], ['c', 1]);
      const b = vv(['b', 2], ['c', 4]);
      const m = Dvv.mergeVectors(a, b);
      expect(Dvv.descends(m, a) && Dvv.descends(m, b)).to.equal(true);
    });
  });

  describe('actorFor', () => {
    it('joins node id and epoch with a dot', () => {
      expect(actorFor('node-1', '7f3a')).to.equal('node-1.7f3a');
    });

    it('asserts on empty parts', () => {
      expect(() => actorFor('', 'e')).to.throw(/assertion failed/);
      expect(() => actorFor('n', '')).to.throw(/assertion failed/);
    });
  });
});
