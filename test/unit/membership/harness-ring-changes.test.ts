/**
 * Ring changes in simulation (issue 7 §4): join, manual join, decommission,
 * remove, and two would-be claimants during a partition. The harness plays
 * the streaming driver: it reports transfer-complete when told to (or after
 * `transferDelayMs`).
 */
import { expect } from 'chai';
import { testMembershipConfig } from '../../../lib/membership/index.ts';
import { gainersOf, holdersOf, lifecycleOf, partitionsWritten } from '../../../lib/membership/internal.ts';
import type { NodeId, RingStateRecord } from '../../../lib/protocol/index.ts';
import { coldStart, Harness, type HarnessOptions } from './harness.ts';

const P = testMembershipConfig().partitionCount;

function cluster(n: number, seed: number, extra: Partial<HarnessOptions> = {}): { h: Harness; ids: NodeId[] } {
  const h = new Harness({ seed, config: { ...testMembershipConfig(), bootstrapExpectCount: n }, delayMsMin: 1, delayMsMax: 20, ...extra });
  const ids = coldStart(h, n);
  expect(h.runUntilTrue(() => h.agreed(), 60_000), `cold start; reproduce with seed ${seed}`).to.not.equal(undefined);
  return { h, ids };
}

/** Run until every up node holds ring version >= `version`. */
function untilVersion(h: Harness, version: number, maxMs = 30_000): void {
  const at = h.runUntilTrue(() => h.upIds().every((id) => h.view(id).ringVersion >= version), maxMs);
  expect(at, `ring version ${version} everywhere`).to.not.equal(undefined);
}

/** The ring state of `version` that nodes adopted (the one of the winning history when there were two). */
function ringAt(h: Harness, version: number): RingStateRecord {
  const states = [...h.rings.values()].filter((s) => s.version === version);
  expect(states, `one ring of version ${version}`).to.have.length(1);
  return states[0]!;
}

/** Releases happen only once every ring node has adopted the releasing node's ring (or a later one). */
function expectReleasesAfterAgreement(h: Harness): void {
  for (const release of h.events('partitions-released')) {
    const adopted = h.events('ring-changed', release.node).filter((e) => e.atMs <= release.atMs).at(-1);
    expect(adopted, `${release.node} held a ring`).to.not.equal(undefined);
    const ring = adopted!.event.state;
    for (const id of new Set([...ring.members, ...ring.moving.flatMap((m) => m.holders)])) {
      const seen = h.events('ring-changed', id).some((e) => e.atMs <= release.atMs && e.event.version >= ring.version);
      expect(seen, `${id} held v${ring.version} before ${release.node} released at ${release.atMs}`).to.equal(true);
    }
    for (const p of release.event.partitions) expect(partitionsWritten(ring, release.node).has(p)).to.equal(false);
  }
}

describe('membership ring changes (simulation)', function () {
  this.timeout(30_000);

  it('join: a new node gets a new ring version with its share; partitions move only when their transfer is reported', () => {
    const { h, ids } = cluster(6, 31);
    const v1 = h.view('n000').ringState!;
    h.add('n100', ['n003']);
    untilVersion(h, 2);
    const v2 = ringAt(h, 2);
    expect(v2.claimant).to.equal('n000');
    expect(v2.members).to.include('n100');
    const share = h.view('n000').members().find((m) => m.id === 'n100')!;
    expect(share.lifecycle).to.equal('joining');
    expect(share.partitionsOwned).to.be.within(Math.floor(P / 7), Math.ceil(P / 7));
    const moving = v2.moving.map((m) => m.partition);
    expect(moving.length).to.be.greaterThan(0);
    for (const p of moving) {
      expect(gainersOf(v2, p)).to.deep.equal(['n100']);
      expect(holdersOf(v2, p)).to.deep.equal(holdersOf(v1, p));
    }
    const assigned = h.events('transfers-assigned', 'n100').flatMap((e) => e.event.transfers.map((t) => t.partition));
    expect(assigned).to.deep.equal(moving);

    // Without transfer-complete nothing switches: reads stay on the old holders, writes reach both.
    h.runFor(20_000);
    expect(h.view('n000').ringVersion).to.equal(2);
    const p0 = moving[0]!;
    for (const id of [...ids, 'n100']) {
      expect(h.view(id).replicas(p0).reads).to.deep.equal(holdersOf(v1, p0));
      expect(h.view(id).replicas(p0).writes).to.deep.equal([...holdersOf(v1, p0), 'n100']);
    }

    // Half the partitions streamed: they (and only they) switch in the next version.
    const half = moving.slice(0, Math.ceil(moving.length / 2));
    for (const partition of half) h.command('n100', (nowMs) => ({ type: 'transfer-complete', partition, planId: v2.planId, nowMs }));
    untilVersion(h, 3);
    const v3 = h.view('n000').ringState!;
    expect(v3.moving.map((m) => m.partition)).to.deep.equal(moving.filter((p) => !half.includes(p)));
    expect(h.view('n001').replicas(p0).reads).to.include('n100');

    for (const partition of moving.slice(half.length)) h.command('n100', (nowMs) => ({ type: 'transfer-complete', partition, planId: v2.planId, nowMs }));
    untilVersion(h, 4);
    expect(h.runUntilTrue(() => h.agreed(), 20_000)).to.not.equal(undefined);
    const v4 = h.view('n000').ringState!;
    expect(v4.moving).to.deep.equal([]);
    expect(h.view('n002').members().find((m) => m.id === 'n100')!.lifecycle).to.equal('member');

    // Old holders drop exactly what they no longer replicate, and only after the cluster agreed.
    h.runFor(5000);
    expectReleasesAfterAgreement(h);
    for (const id of ids) {
      const lost = [...partitionsWritten(v1, id)].filter((p) => !partitionsWritten(v4, id).has(p)).sort((a, b) => a - b);
      const released = h.events('partitions-released', id).flatMap((e) => [...e.event.partitions]).sort((a, b) => a - b);
      expect(released, id).to.deep.equal(lost);
    }
  });

  it('manual join: with autoJoin off a node waits for the join command', () => {
    const { h } = cluster(4, 32, { transferDelayMs: 200 });
    h.add('n100', ['n000'], { autoJoin: false });
    h.runFor(15_000);
    expect(h.view('n000').ringVersion).to.equal(1);
    expect(h.view('n000').members().find((m) => m.id === 'n100')!.lifecycle).to.equal('idle');
    h.command('n100', (nowMs) => ({ type: 'join', nowMs }));
    expect(h.runUntilTrue(() => h.agreed() && h.view('n000').ringState!.moving.length === 0 && h.view('n000').ring!.members.includes('n100'), 30_000)).to.not.equal(undefined);
  });

  it('decommission: the leaving node (here the claimant) hands every partition over, then has left', () => {
    const { h, ids } = cluster(6, 33, { transferDelayMs: 500 });
    const v1 = h.view('n001').ringState!;
    const held = [...partitionsWritten(v1, 'n000')];
    h.command('n000', (nowMs) => ({ type: 'leave', nowMs }));
    untilVersion(h, 2);
    const v2 = ringAt(h, 2);
    expect(v2.claimant).to.equal('n000');
    expect(v2.members).to.not.include('n000');
    expect(v2.moving.filter((m) => m.holders.includes('n000')).map((m) => m.partition)).to.deep.equal(held.sort((a, b) => a - b));
    expect(lifecycleOf(v2, 'n000', h.node('n001').records().find((r) => r.id === 'n000'))).to.equal('leaving');
    const left = h.runUntilTrue(() => h.events('departed', 'n000').length > 0, 30_000);
    expect(left).to.not.equal(undefined);
    expect(h.events('departed', 'n000').map((e) => e.event.status)).to.deep.equal(['left']);
    h.command('n000', (nowMs) => ({ type: 'shutdown', nowMs })); // what the driver does on `departed`
    const rest = ids.filter((id) => id !== 'n000');
    expect(h.runUntilTrue(() => h.agreed(rest), 20_000)).to.not.equal(undefined);
    const final = h.view('n001').ringState!;
    expect(final.moving).to.deep.equal([]);
    expect(final.claimant).to.equal('n001'); // the claimant role moved on when n000 left the target
    expect(h.view('n002').members().find((m) => m.id === 'n000')).to.include({ lifecycle: 'left', partitionsHeld: 0 });
  });

  it('remove: a dead node is removed on request from any node; its partitions are rebuilt from surviving holders', () => {
    const { h, ids } = cluster(6, 34, { transferDelayMs: 500 });
    h.command('n005', (nowMs) => ({ type: 'remove', node: 'n002', nowMs }));
    h.runFor(100);
    expect(h.events('command-rejected', 'n005').map((e) => e.event.reason)).to.deep.equal(['n002 is alive; only a dead node can be removed']);
    h.stop('n004');
    const rest = ids.filter((id) => id !== 'n004');
    expect(h.runUntilTrue(() => rest.every((id) => h.view(id).liveness('n004') === 'down'), 30_000)).to.not.equal(undefined);
    expect(h.view('n000').ringVersion).to.equal(1); // dead, but not removed: no ring change
    h.command('n005', (nowMs) => ({ type: 'remove', node: 'n004', nowMs }));
    untilVersion(h, 2);
    const v2 = ringAt(h, 2);
    expect(v2.members).to.not.include('n004');
    expect(v2.departed).to.deep.equal([{ id: 'n004', generation: 1, status: 'removed', version: 2 }]);
    expect(v2.moving.length).to.be.greaterThan(0);
    for (const m of v2.moving) {
      expect(m.holders).to.not.include('n004');
      expect(m.holders.length).to.be.greaterThan(0);
    }
    expect(h.events('remove-settled', 'n000').map((e) => e.event)).to.deep.equal([{ type: 'remove-settled', node: 'n004', outcome: 'removed' }]);
    expect(h.runUntilTrue(() => h.agreed(rest) && h.view('n000').ringState!.moving.length === 0, 30_000)).to.not.equal(undefined);
    const final = h.view('n000').ringState!;
    for (let p = 0; p < P; p++) expect(holdersOf(final, p)).to.have.length(3);
    expect(h.view('n001').members().find((m) => m.id === 'n004')!.lifecycle).to.equal('removed');
  });

  it('two claimants during a partition: both commit version 2, and after healing there is one ring history', () => {
    const { h, ids } = cluster(5, 35, { transferDelayMs: 2000 });
    h.runFor(2000);
    // n100 asks to join via n000; the partition starts before n000 notices the other side is gone.
    h.add('n100', ['n000']);
    expect(h.runUntilTrue(() => h.node('n000').records().some((r) => r.id === 'n100'), 10_000, 10)).to.not.equal(undefined);
    const small = ['n000', 'n001', 'n100'];
    const large = ['n002', 'n003', 'n004', 'n101'];
    h.partition(small, large);
    h.runFor(10_000);
    // The majority side, having declared n000 and n001 dead, has its own claimant and its own joiner.
    h.add('n101', ['n002']);
    h.runFor(30_000);
    const commits = h.events('ring-changed').filter((e) => e.event.version === 2 && e.node === e.event.claimant);
    expect(commits.map((e) => e.node)).to.deep.equal(['n000', 'n002']);
    const [a, b] = commits.map((e) => e.event.state);
    expect(a!.checksum).to.not.equal(b!.checksum);

    const healedAt = h.nowMs;
    h.heal();
    const all = [...ids, 'n100', 'n101'];
    const done = h.runUntilTrue(
      () => h.agreed(all) && h.view('n000').ringState!.moving.length === 0 && ['n100', 'n101'].every((x) => h.view('n000').ring!.members.includes(x)),
      120_000,
    );
    expect(done).to.not.equal(undefined);

    // The two branches met at equal versions; the majority side's claimant lost the tie-break to the lower id
    // and its nodes switched to n000's ring of the same version (not to a later one).
    const sides = commits.map((e) => e.node);
    const branches = [...h.rings.values()].filter((s) => s.version === 3).map((s) => `${s.claimant}`).sort();
    expect(branches).to.deep.equal(sides);
    const switched = h.events('ring-changed', 'n002').find((e) => e.atMs >= healedAt)!.event;
    expect([switched.version, switched.claimant, switched.previousVersion]).to.deep.equal([3, 'n000', 3]);

    // One history: the final ring's ancestry passes through exactly one of the two version-2 rings.
    const final = h.view('n000').ringState!;
    const chain: RingStateRecord[] = [];
    for (let s: RingStateRecord | undefined = final; s !== undefined; s = h.rings.get(s.parentChecksum)) chain.push(s);
    expect(chain.map((s) => s.version)).to.deep.equal(Array.from({ length: final.version }, (_, i) => final.version - i));
    expect(chain.filter((s) => s.checksum === a!.checksum || s.checksum === b!.checksum)).to.have.length(1);
    for (const id of all) expect(h.view(id).ringChecksum).to.equal(final.checksum);
    // Nothing was released while two histories existed.
    expect(h.events('partitions-released').filter((e) => e.atMs < healedAt)).to.deep.equal([]);
    expectReleasesAfterAgreement(h);
  });
});
