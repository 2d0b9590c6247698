/**
 * Failure detection and healing in simulation (issue 7 §2-3): a stopped node
 * is marked down everywhere within the documented bounds, a restarted one
 * (higher generation) up again; a lossy network or one broken link does not
 * cause false suspicions (indirect probes); a split heals; and none of it
 * changes the ring. Bounds (docs/membership.md, defaults):
 *   suspected by every member  <= SUSPECT_BOUND_MS after the stop,
 *   declared dead everywhere   <= DEAD_BOUND_MS,
 *   restarted node up everywhere <= UP_BOUND_MS.
 */
import { expect } from 'chai';
import { testMembershipConfig } from '../../../lib/membership/index.ts';
import { coldStart, Harness } from './harness.ts';

const SUSPECT_BOUND_MS = 10_000;
const DEAD_BOUND_MS = 20_000;
const UP_BOUND_MS = 5_000;

function converged(n: number, seed: number, lossRate = 0.01): { h: Harness; ids: string[] } {
  const h = new Harness({ seed, config: { ...testMembershipConfig(), bootstrapExpectCount: n }, delayMsMin: 1, delayMsMax: 50, lossRate });
  const ids = coldStart(h, n);
  expect(h.runUntilTrue(() => h.agreed(), 60_000), `cold start; reproduce with seed ${seed}`).to.not.equal(undefined);
  h.runFor(3000);
  return { h, ids };
}

describe('membership failure detection (simulation)', function () {
  this.timeout(30_000);

  for (const [n, seed] of [
    [16, 21],
    [64, 22],
  ] as const) {
    it(`${n} nodes: a stopped node is suspected and declared dead everywhere within the bounds, and comes back up after a restart`, () => {
      const { h, ids } = converged(n, seed);
      const ring = h.view('n000').ringChecksum;
      const victim = ids[n / 2] ?? '';
      const others = ids.filter((id) => id !== victim);
      const t0 = h.nowMs;
      h.stop(victim);
      const suspected = h.runUntilTrue(() => others.every((id) => !h.view(id).isUp(victim)), 60_000, 50);
      const dead = h.runUntilTrue(() => others.every((id) => h.view(id).liveness(victim) === 'down'), 60_000, 50);
      console.log(`      n=${n}: suspected everywhere after ${(suspected ?? NaN) - t0} ms, dead everywhere after ${(dead ?? NaN) - t0} ms`);
      expect((suspected ?? Infinity) - t0, `seed ${seed}`).to.be.at.most(SUSPECT_BOUND_MS);
      expect((dead ?? Infinity) - t0, `seed ${seed}`).to.be.at.most(DEAD_BOUND_MS);
      // A temporary failure never changes the ring.
      for (const id of others) expect(h.view(id).ringChecksum).to.equal(ring);
      expect(h.events('ring-changed').filter((e) => e.event.version > 1)).to.deep.equal([]);
      // Nobody else was ever suspected.
      expect(h.events('member-suspect').filter((e) => e.event.id !== victim)).to.deep.equal([]);

      const t1 = h.nowMs;
      h.restart(victim);
      const up = h.runUntilTrue(() => others.every((id) => h.view(id).isUp(victim)), 30_000, 50);
      expect((up ?? Infinity) - t1, `seed ${seed}`).to.be.at.most(UP_BOUND_MS);
      for (const id of others) expect(h.view(id).members().find((m) => m.id === victim)).to.include({ generation: 2, liveness: 'up', lifecycle: 'member' });
      expect(h.runUntilTrue(() => h.agreed(), 30_000)).to.not.equal(undefined);
      expect(h.view(victim).ringChecksum).to.equal(ring);
    });
  }

  it('a node restarted while another ring node is dead learns of the dead one (ring nodes are never forgotten)', () => {
    const { h, ids } = converged(8, 26, 0);
    h.stop('n005');
    expect(h.runUntilTrue(() => ids.filter((id) => id !== 'n005').every((id) => h.view(id).liveness('n005') === 'down'), 30_000)).to.not.equal(undefined);
    h.stop('n002');
    h.restart('n002');
    const live = ids.filter((id) => id !== 'n005');
    expect(h.runUntilTrue(() => h.agreed(live), 30_000)).to.not.equal(undefined);
    expect(h.node('n002').records().find((r) => r.id === 'n005')?.status).to.equal('dead');
    expect(h.view('n002').members().find((m) => m.id === 'n005')).to.include({ liveness: 'down', lifecycle: 'member', address: 'sim://n005' });
  });

  it('a graceful shutdown is seen at once, without waiting for the detector', () => {
    const { h, ids } = converged(8, 23, 0);
    const t0 = h.nowMs;
    h.command('n003', (nowMs) => ({ type: 'shutdown', nowMs }));
    const down = h.runUntilTrue(() => ids.filter((id) => id !== 'n003').every((id) => h.view(id).liveness('n003') === 'down'), 30_000, 50);
    expect((down ?? Infinity) - t0).to.be.at.most(3000);
    expect(h.events('member-suspect')).to.deep.equal([]);
  });

  it('indirect probes keep a node whose link to one peer is cut from being suspected', () => {
    const { h } = converged(12, 24, 0.02);
    h.cut('n001', 'n002');
    h.runFor(60_000);
    expect(h.events('member-suspect').map((e) => `${e.node} suspects ${e.event.id}`)).to.deep.equal([]);
    expect(h.view('n001').isUp('n002')).to.equal(true);
    expect(h.node('n001').stats().indirectProbes + h.node('n002').stats().indirectProbes).to.be.greaterThan(0);
  });

  it('a split into two halves heals after the partition ends, without a ring change', () => {
    const { h, ids } = converged(20, 25);
    const ring = h.view('n000').ringChecksum;
    const left = ids.slice(0, 10);
    const right = ids.slice(10);
    h.partition(left, right);
    h.runFor(60_000);
    for (const [mine, theirs] of [
      [left, right],
      [right, left],
    ] as const) {
      for (const id of mine) {
        const v = h.view(id);
        expect(theirs.every((o) => v.liveness(o) === 'down'), `${id} sees the other half down`).to.equal(true);
        expect(mine.every((o) => v.isUp(o)), `${id} sees its half up`).to.equal(true);
      }
    }
    const t0 = h.nowMs;
    h.heal();
    const healed = h.runUntilTrue(() => h.agreed() && ids.every((a) => ids.every((b) => h.view(a).isUp(b))), 30_000, 100);
    console.log(`      split of 20 healed ${(healed ?? NaN) - t0} ms after the partition ended`);
    expect((healed ?? Infinity) - t0).to.be.at.most(15_000);
    for (const id of ids) expect(h.view(id).ringChecksum).to.equal(ring);
    expect(h.events('ring-changed').filter((e) => e.event.version > 1)).to.deep.equal([]);
  });
});
