import { expect } from 'chai';
import { UnavailableError } from '../../../lib/runtime/index.ts';
import { makeRing } from '../../../lib/ring/index.ts';
import type { ClusterView } from '../../../lib/replication/index.ts';
import { liveOrder, refuseStaleRouting } from '../../../lib/replication/placement.ts';

/** A view of node `self` at ring `version` where partition 0 is read from [n1,n2] and written to [n1,n2,n4]. */
function view(self: string, version: number): ClusterView {
  return {
    self,
    ring: makeRing(4, ['n1', 'n2', 'n3', 'n4'], ['n1', 'n2', 'n3', 'n4']),
    ringVersion: version,
    addressOf: () => undefined,
    replicas: () => ({ reads: ['n1', 'n2'], writes: ['n1', 'n2', 'n4'] }),
    isUp: (id) => id !== 'n2',
  };
}

describe('replication/placement', () => {
  describe('refuseStaleRouting', () => {
    it('refuses a request routed by an older ring when this node is not a replica of that kind under ours', () => {
      const e = (() => {
        try {
          refuseStaleRouting(view('n3', 7), 0, 'writes', 6);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e).to.be.instanceOf(UnavailableError);
      expect((e as UnavailableError).message).to.equal('n3 no longer replicates partition 0 under ring version 7 (the request was routed by version 6); retry');
      expect((e as UnavailableError).maybeApplied).to.equal(false);
      expect(() => refuseStaleRouting(view('n4', 7), 0, 'reads', 6), 'a gainer is not a read replica yet').to.throw(UnavailableError);
    });

    it('serves a stale request when this node still is such a replica', () => {
      expect(() => refuseStaleRouting(view('n4', 7), 0, 'writes', 6)).to.not.throw();
      expect(() => refuseStaleRouting(view('n1', 7), 0, 'reads', 2)).to.not.throw();
    });

    it('serves a request routed by our ring or a newer one, or carrying no version', () => {
      expect(() => refuseStaleRouting(view('n3', 7), 0, 'writes', 7)).to.not.throw();
      expect(() => refuseStaleRouting(view('n3', 7), 0, 'writes', 8)).to.not.throw();
      expect(() => refuseStaleRouting(view('n3', 7), 0, 'writes', undefined)).to.not.throw();
      expect(() => refuseStaleRouting(view('n3', 7), 0, 'writes', 0)).to.not.throw();
      expect(() => refuseStaleRouting(view('n3', 0), 0, 'writes', 3), 'an unversioned view never refuses').to.not.throw();
    });
  });

  it('liveOrder asks this node first, then the live replicas, then those believed down', () => {
    expect(liveOrder(['n2', 'n3', 'n1', 'n4'], view('n1', 1))).to.deep.equal([2, 1, 3, 0]);
    expect(liveOrder(['n2', 'n3'], view('n5', 1))).to.deep.equal([1, 0]);
  });
});
