import { expect } from 'chai';
import type { MemberRecord, MembershipPacket, PingPacket } from '../../../lib/protocol/index.ts';
import { InvalidArgumentError, SeededRandom } from '../../../lib/runtime/index.ts';
import {
  Membership,
  testMembershipConfig,
  type MembershipEffects,
  type MembershipOptions,
} from '../../../lib/membership/index.ts';
import { genesisRing } from '../../../lib/membership/internal.ts';
import { memberRecord } from './records.ts';

const config = { ...testMembershipConfig(), partitionCount: 16, bootstrapWaitMs: 1000 };

function make(over: Partial<MembershipOptions> = {}): Membership {
  return new Membership({
    self: { id: 'a', address: 'sim://a' },
    generation: 1,
    seeds: [],
    config,
    random: new SeededRandom(3),
    nowMs: 0,
    ...over,
  });
}

function packet(over: Partial<MembershipPacket> & Pick<MembershipPacket, 'type'>): MembershipPacket {
  return { from: 'b', fromAddress: 'sim://b', piggyback: [], ...over } as MembershipPacket;
}

const ofType = <T extends MembershipEffects['events'][number]['type']>(e: MembershipEffects, type: T) =>
  e.events.filter((x) => x.type === type) as Array<Extract<MembershipEffects['events'][number], { type: T }>>;

describe('Membership state machine', () => {
  it('validates its options', () => {
    expect(() => make({ generation: 0 })).to.throw(InvalidArgumentError, /generation/);
    expect(() => make({ self: { id: '', address: 'x' } })).to.throw(InvalidArgumentError, /self.id/);
    expect(() => make({ config: { gossipIntervalMs: -1 } })).to.throw(InvalidArgumentError, /gossipIntervalMs/);
    const ring = genesisRing(['a'], 'a', 8, 3);
    expect(() => make({ ringState: ring })).to.throw(InvalidArgumentError, /restored ring has 8 partitions/);
  });

  it('a node without seeds founds a one-node ring at its first gossip round', () => {
    const m = make();
    expect(m.view().ringVersion).to.equal(0);
    const effects = m.step({ type: 'tick', nowMs: 1000 });
    expect(ofType(effects, 'ring-changed').map((e) => e.version)).to.deep.equal([1]);
  });

  it('a node whose seeds do not answer founds a ring of its own after bootstrapWaitMs', () => {
    const m = make({ seeds: ['sim://b'] });
    expect(m.view().ringVersion).to.equal(0);
    let effects = m.step({ type: 'tick', nowMs: 999 });
    expect(ofType(effects, 'ring-changed')).to.deep.equal([]);
    expect(effects.wakeAtMs).to.be.greaterThan(999);
    effects = m.step({ type: 'tick', nowMs: 2000 });
    const [changed] = ofType(effects, 'ring-changed');
    expect(changed).to.include({ version: 1, previousVersion: 0, claimant: 'a', planId: 1 });
    const v = m.view();
    expect(v.ring?.members).to.deep.equal(['a']);
    expect(v.members().map((x) => [x.id, x.lifecycle, x.liveness, x.ownershipPct])).to.deep.equal([['a', 'member', 'up', 100]]);
    expect(v.replicas(3)).to.deep.equal({ reads: ['a'], writes: ['a'] });
    expect(m.selfRecord()).to.include({ ringVersion: 1, ringChecksum: v.ringChecksum });
  });

  it('bootstrapExpectCount joiners found a ring only if a seed is among them: later joiners that know each other but no seed do not (swarm seed 30572)', () => {
    const expect3 = { ...config, bootstrapExpectCount: 3, bootstrapWaitMs: 0 };
    // 'a' joins a running cluster through seeds s1 and s2, which it has not reached yet;
    // it has heard of two other joiners ('b', 'c'), which have no ring either.
    const joiner = make({ seeds: ['sim://s1', 'sim://s2'], config: expect3 });
    const others = ['b', 'c'].map((id) => ({ record: memberRecord(id, { intent: 'join' }), origin: id }));
    joiner.step({ type: 'packet', packet: packet({ type: 'ack', seq: 1, piggyback: others }), nowMs: 10 });
    expect(joiner.view().members().map((x) => x.id).sort()).to.deep.equal(['a', 'b', 'c']);
    const effects = joiner.step({ type: 'tick', nowMs: 5000 });
    expect(ofType(effects, 'ring-changed'), 'three joiners, but none of them a seed').to.deep.equal([]);
    expect(joiner.view().ringVersion).to.equal(0);
    // The cluster's first members: the same three nodes, one of the others named in the seeds, by address or by id.
    for (const seeding of [{ seeds: ['sim://b'] }, { seeds: ['sim://elsewhere:7001'], seedIds: ['c'] }]) {
      const founder = make({ ...seeding, config: expect3 });
      founder.step({ type: 'packet', packet: packet({ type: 'ack', seq: 1, piggyback: others }), nowMs: 10 });
      const founded = founder.step({ type: 'tick', nowMs: 5000 });
      expect(ofType(founded, 'ring-changed').map((e) => [e.version, e.claimant]), JSON.stringify(seeding)).to.deep.equal([[1, 'a']]);
      expect(founder.view().ring?.members).to.deep.equal(['a', 'b', 'c']);
    }
  });

  it('answers a ping meant for it (with its news piggybacked) and ignores one meant for another id', () => {
    const m = make();
    const reply = m.step({ type: 'packet', packet: packet({ type: 'ping', seq: 9, target: 'a' }), nowMs: 10 });
    const ack = reply.packets.find((p) => p.packet.type === 'ack');
    expect(ack?.to).to.equal('sim://b');
    expect(ack?.packet).to.include({ type: 'ack', seq: 9, from: 'a', fromAddress: 'sim://a' });
    expect(ack?.packet.piggyback.map((b) => b.record.id)).to.include('a');
    const none = m.step({ type: 'packet', packet: packet({ type: 'ping', seq: 10, target: 'zz' }), nowMs: 11 });
    expect(none.packets.filter((p) => p.packet.type === 'ack')).to.deep.equal([]);
  });

  it('refutes a suspicion of itself with a higher incarnation', () => {
    const m = make();
    const me = m.selfRecord();
    const suspicion: MemberRecord = { ...me, status: 'suspect' };
    m.step({ type: 'packet', packet: packet({ type: 'ack', seq: 1, piggyback: [{ record: suspicion, origin: 'b' }] }), nowMs: 5 });
    expect(m.selfRecord()).to.include({ status: 'alive', incarnation: me.incarnation + 1 });
    expect(m.stats().awareness).to.equal(1);
  });

  it('reports being superseded by a newer generation of its own id', () => {
    const m = make();
    const newer = { ...m.selfRecord(), generation: 2 };
    const effects = m.step({ type: 'packet', packet: packet({ type: 'ack', seq: 1, piggyback: [{ record: newer, origin: 'a' }] }), nowMs: 5 });
    expect(ofType(effects, 'superseded')).to.deep.equal([{ type: 'superseded', generation: 2 }]);
  });

  it('learns members from piggybacked records and reports their liveness changes', () => {
    const m = make();
    const b = memberRecord('b');
    let effects = m.step({ type: 'packet', packet: packet({ type: 'ack', seq: 1, piggyback: [{ record: b, origin: 'b' }] }), nowMs: 5 });
    expect(ofType(effects, 'member-up')).to.deep.equal([{ type: 'member-up', id: 'b', generation: 1 }]);
    expect(m.view().isUp('b')).to.equal(true);
    effects = m.step({ type: 'packet', packet: packet({ type: 'ack', seq: 2, from: 'c', piggyback: [{ record: { ...b, status: 'suspect' }, origin: 'c' }] }), nowMs: 6 });
    expect(ofType(effects, 'member-suspect')).to.deep.equal([{ type: 'member-suspect', id: 'b' }]);
    expect(m.view().isUp('b')).to.equal(false);
    expect(m.view().liveness('b')).to.equal('suspect');
    effects = m.step({ type: 'packet', packet: packet({ type: 'ack', seq: 3, piggyback: [{ record: { ...b, incarnation: 1 }, origin: 'b' }] }), nowMs: 7 });
    expect(ofType(effects, 'member-up')).to.have.length(1);
    expect(m.view().isUp('b')).to.equal(true);
    expect(m.view().isUp('nobody')).to.equal(false);
  });

  it("a reply from the probed member's address acks the probe; one from another address does not", () => {
    for (const replied of [true, false]) {
      const m = make();
      m.step({ type: 'packet', packet: packet({ type: 'ack', seq: 1, piggyback: [{ record: memberRecord('b'), origin: 'b' }] }), nowMs: 5 });
      let now = 5;
      let pinged = false;
      while (!pinged && now < 5000) {
        now += 10;
        pinged = m.step({ type: 'tick', nowMs: now }).packets.some((p) => p.packet.type === 'ping' && p.to === 'sim://b');
      }
      expect(pinged).to.equal(true);
      m.heardFrom('sim://zz');
      if (replied) m.heardFrom('sim://b');
      let suspected = false;
      for (let t = now + 10; t <= now + config.probeIntervalMs + 10; t += 10) suspected ||= ofType(m.step({ type: 'tick', nowMs: t }), 'member-suspect').length > 0;
      expect(suspected, replied ? 'suspected although it replied' : 'not suspected without any reply').to.equal(!replied);
    }
  });

  it('refuses gossip from a node with another ring configuration', () => {
    const m = make();
    const syn = packet({ type: 'gossip-syn', partitionCount: 32, replicas: 3, tableChecksum: 0, digest: [], ring: undefined });
    const effects = m.step({ type: 'packet', packet: syn, nowMs: 5 });
    expect(effects.packets).to.deep.equal([]);
    expect(ofType(effects, 'config-mismatch')).to.deep.equal([{ type: 'config-mismatch', peer: 'b', partitionCount: 32, replicas: 3 }]);
  });

  it('rejects commands that make no sense in its state', () => {
    const m = make({ seeds: ['sim://b'] });
    const reasons = (e: MembershipEffects): string[] => ofType(e, 'command-rejected').map((x) => `${x.command}: ${x.reason}`);
    expect(reasons(m.step({ type: 'leave', nowMs: 1 }))).to.deep.equal(['leave: not a ring member']);
    expect(reasons(m.step({ type: 'remove', node: 'b', nowMs: 2 }))).to.deep.equal(['remove: no ring yet']);
    expect(reasons(m.step({ type: 'join', nowMs: 3 }))).to.deep.equal(['join: join already requested']);
    m.step({ type: 'tick', nowMs: 2000 }); // genesis
    expect(reasons(m.step({ type: 'join', nowMs: 2001 }))).to.deep.equal(['join: already part of the ring']);
    expect(reasons(m.step({ type: 'leave', nowMs: 2002 }))).to.deep.equal(['leave: the last member cannot leave']);
    expect(reasons(m.step({ type: 'remove', node: 'a', nowMs: 2003 }))).to.deep.equal(['remove: a node cannot remove itself; use leave']);
    expect(reasons(m.step({ type: 'remove', node: 'q', nowMs: 2004 }))).to.deep.equal(['remove: q is not part of the ring']);
    expect(reasons(m.step({ type: 'transfer-complete', partition: 0, planId: 7, nowMs: 2005 }))).to.deep.equal([
      'transfer-complete: plan 7 is not current',
    ]);
    expect(reasons(m.step({ type: 'transfer-complete', partition: 0, planId: 1, nowMs: 2006 }))).to.deep.equal([
      'transfer-complete: partition 0 is not moving to this node',
    ]);
  });

  it('waits for the join command when autoJoin is off', () => {
    const m = make({ config: { ...config, autoJoin: false }, seeds: ['sim://b'] });
    m.step({ type: 'tick', nowMs: 5000 });
    expect(m.view().ringVersion).to.equal(0);
    expect(m.view().members()[0]?.lifecycle).to.equal('idle');
    m.step({ type: 'join', nowMs: 5001 });
    expect(m.selfRecord().intent).to.equal('join');
    m.step({ type: 'tick', nowMs: 10_000 });
    expect(m.view().ringVersion).to.equal(1);
  });

  it('announces a restored ring on its first step and adopts only winning rings', () => {
    const ring = genesisRing(['a', 'b'], 'a', 16, 3);
    const m = make({ ringState: ring });
    const first = m.step({ type: 'tick', nowMs: 0 });
    expect(ofType(first, 'ring-changed').map((e) => e.version)).to.deep.equal([1]);
    const loser = genesisRing(['a', 'b', 'c'], 'b', 16, 3); // same version, higher claimant id: loses
    const ack = packet({ type: 'gossip-ack', records: [], requests: [], ring: loser, wantRing: false });
    const effects = m.step({ type: 'packet', packet: ack, nowMs: 1 });
    expect(ofType(effects, 'ring-changed')).to.deep.equal([]);
    expect(m.view().ringChecksum).to.equal(ring.checksum);
  });

  it('says goodbye on shutdown and then does nothing', () => {
    const m = make();
    m.step({ type: 'packet', packet: packet({ type: 'ack', seq: 1, piggyback: [{ record: memberRecord('b'), origin: 'b' }] }), nowMs: 1 });
    const bye = m.step({ type: 'shutdown', nowMs: 2 });
    expect(bye.packets.map((p) => p.to)).to.deep.equal(['sim://b']);
    const mine = bye.packets[0]?.packet.piggyback.find((b) => b.record.id === 'a');
    expect(mine?.record.status).to.equal('dead');
    expect(bye.wakeAtMs).to.equal(Number.POSITIVE_INFINITY);
    expect(m.stopped).to.equal(true);
    const after = m.step({ type: 'packet', packet: packet({ type: 'ping', seq: 1, target: 'a' } as Partial<PingPacket> & { type: 'ping' }), nowMs: 3 });
    expect(after).to.deep.equal({ packets: [], events: [], wakeAtMs: Number.POSITIVE_INFINITY });
  });
});
