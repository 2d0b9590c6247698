import { expect } from 'chai';
import { memberRecord as record } from './records.ts';
import type { MemberRecord } from '../../../lib/protocol/index.ts';
import { SeededRandom } from '../../../lib/runtime/index.ts';
import { testMembershipConfig, type MembershipConfig } from '../../../lib/membership/index.ts';
import { FailureDetector, type DetectorHost, type ProbeBody } from '../../../lib/membership/internal.ts';


/** A host over a fixed table that records what the detector does. */
class FakeHost implements DetectorHost {
  readonly self = 'me';
  readonly table = new Map<string, MemberRecord>();
  readonly sent: Array<{ to: string; body: ProbeBody }> = [];
  readonly suspected: string[] = [];
  readonly dead: string[] = [];
  constructor(ids: string[]) {
    for (const id of ['me', ...ids]) this.table.set(id, record(id));
  }
  probeCandidates(): MemberRecord[] {
    return [...this.table.values()].filter((r) => r.id !== 'me' && r.status !== 'dead').sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  record(id: string): MemberRecord | undefined {
    return this.table.get(id);
  }
  aliveCount(): number {
    return [...this.table.values()].filter((r) => r.status === 'alive').length;
  }
  send(to: string, body: ProbeBody): void {
    this.sent.push({ to, body });
  }
  suspect(r: MemberRecord): void {
    this.suspected.push(r.id);
    this.table.set(r.id, { ...r, status: 'suspect' });
  }
  declareDead(r: MemberRecord): void {
    this.dead.push(r.id);
    this.table.set(r.id, { ...r, status: 'dead' });
  }
  take(): Array<{ to: string; body: ProbeBody }> {
    return this.sent.splice(0);
  }
}

const config: MembershipConfig = { ...testMembershipConfig(), probeIntervalMs: 1000, probeTimeoutMs: 400, indirectChecks: 2 };

/** Detector whose first probe starts at time `t0` (its random offset, read from nextWakeMs). */
function setup(ids: string[]): { host: FakeHost; fd: FailureDetector; t0: number } {
  const host = new FakeHost(ids);
  const fd = new FailureDetector(config, new SeededRandom(7), host, 0);
  const t0 = fd.nextWakeMs();
  expect(t0).to.be.within(0, 999);
  return { host, fd, t0 };
}

describe('SWIM failure detector', () => {
  it('pings one member per interval and is content with an ack', () => {
    const { host, fd, t0 } = setup(['a', 'b', 'c']);
    fd.tick(t0);
    const [ping] = host.take();
    expect(ping?.body.type).to.equal('ping');
    const target = (ping?.body as { target: string }).target;
    expect(ping?.to).to.equal(`sim://${target}`);
    fd.onAck(ping?.body.seq ?? -1);
    fd.tick(t0 + 1000);
    expect(host.suspected).to.deep.equal([]);
    expect(host.take().map((s) => s.body.type)).to.deep.equal(['ping']);
    expect(fd.stats.probes).to.equal(2);
  });

  it('probes every member once per round (shuffled round robin)', () => {
    const { host, fd, t0 } = setup(['a', 'b', 'c', 'd']);
    const targets: string[] = [];
    for (let i = 0; i < 4; i++) {
      fd.tick(t0 + i * 1000);
      const ping = host.take().find((s) => s.body.type === 'ping');
      targets.push((ping?.body as { target: string }).target);
      fd.onAck(ping?.body.seq ?? -1);
    }
    expect([...targets].sort()).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('asks indirectChecks helpers after the ping timeout, then suspects at the end of the interval', () => {
    const { host, fd, t0 } = setup(['a', 'b', 'c']);
    fd.tick(t0);
    const ping = host.take()[0]!;
    const target = (ping.body as { target: string }).target;
    expect(fd.nextWakeMs()).to.equal(t0 + 400);
    fd.tick(t0 + 400);
    const reqs = host.take();
    expect(reqs.map((s) => s.body.type)).to.deep.equal(['ping-req', 'ping-req']);
    for (const r of reqs) {
      expect(r.to).to.not.equal(`sim://${target}`);
      expect(r.body).to.include({ seq: ping.body.seq, target, targetAddress: `sim://${target}` });
    }
    fd.onNack(ping.body.seq);
    fd.tick(t0 + 999);
    expect(host.suspected).to.deep.equal([]);
    fd.tick(t0 + 1000);
    expect(host.suspected).to.deep.equal([target]);
    // one of two helpers did not even nack: our own health score goes up by one
    expect(fd.awareness.score).to.equal(1);
    expect(fd.stats.probesFailed).to.equal(1);
  });

  it('an indirect ack saves the target', () => {
    const { host, fd, t0 } = setup(['a', 'b', 'c']);
    fd.tick(t0);
    const seq = host.take()[0]!.body.seq;
    fd.tick(t0 + 400);
    host.take();
    fd.onAck(seq); // relayed by a helper with our seq
    fd.tick(t0 + 1000);
    expect(host.suspected).to.deep.equal([]);
  });

  it('a reply from the target to one of our requests counts as its ack; a reply from another node does not', () => {
    const { host, fd, t0 } = setup(['a', 'b', 'c']);
    fd.tick(t0);
    const target = (host.take()[0]!.body as { target: string }).target;
    expect(fd.probing).to.equal(target);
    const other = ['a', 'b', 'c'].find((id) => id !== target)!;
    fd.heardFrom(other);
    fd.tick(t0 + 400);
    expect(host.take().map((s) => s.body.type)).to.deep.equal(['ping-req', 'ping-req']);
    fd.heardFrom(target);
    fd.tick(t0 + 1000);
    expect(host.suspected).to.deep.equal([]);
    expect(fd.stats.probesFailed).to.equal(0);
    // The next probe, of another member, gets no reply of any kind: suspected as before.
    const next = (host.take().find((s) => s.body.type === 'ping')!.body as { target: string }).target;
    fd.heardFrom(target);
    fd.tick(t0 + 2000);
    expect(host.suspected).to.deep.equal([next]);
  });

  it('relays a ping-req: pings the target, forwards its ack, or nacks after the timeout', () => {
    const { host, fd } = setup(['a', 'b']);
    fd.onPingReq('sim://asker', 41, 'b', 'sim://b', 5000);
    const [ping] = host.take();
    expect(ping?.to).to.equal('sim://b');
    expect(ping?.body).to.include({ type: 'ping', target: 'b' });
    fd.onAck(ping?.body.seq ?? -1);
    expect(host.take()).to.deep.equal([{ to: 'sim://asker', body: { type: 'ack', seq: 41 } }]);

    fd.onPingReq('sim://asker', 42, 'b', 'sim://b', 6000);
    host.take();
    fd.tick(6000 + 400);
    expect(host.take().filter((s) => s.to === 'sim://asker')).to.deep.equal([{ to: 'sim://asker', body: { type: 'nack', seq: 42 } }]);
  });

  it('bounds the relays it serves', () => {
    const host = new FakeHost(['a']);
    const fd = new FailureDetector({ ...config, indirectRelaysMax: 1 }, new SeededRandom(1), host, 0);
    fd.onPingReq('sim://x', 1, 'a', 'sim://a', 0);
    fd.onPingReq('sim://x', 2, 'a', 'sim://a', 0);
    expect(host.take()).to.have.length(1);
    expect(fd.stats.relaysDropped).to.equal(1);
  });

  it('declares a suspect dead when its suspicion times out, unless the record moved on', () => {
    const { host, fd } = setup(['a', 'b', 'c', 'd', 'e', 'f']);
    const a = { ...host.table.get('a')!, status: 'suspect' as const };
    host.table.set('a', a);
    expect(fd.suspect(a, 'x', 10_000)).to.equal(true);
    // 6 alive (me, b..f): k = suspicionMult - 2 = 2; min = 4 x log10(6)->1 x 1000 = 4000; max = 24000
    expect(fd.suspicionOf('a')?.deadlineMs()).to.equal(34_000);
    expect(fd.suspect(a, 'y', 11_000)).to.equal(true);
    expect(fd.suspect(a, 'z', 11_000)).to.equal(true);
    expect(fd.suspicionOf('a')?.deadlineMs()).to.equal(14_000);
    fd.tick(13_999);
    expect(host.dead).to.deep.equal([]);
    fd.tick(14_000);
    expect(host.dead).to.deep.equal(['a']);

    const b = { ...host.table.get('b')!, status: 'suspect' as const };
    host.table.set('b', b);
    fd.suspect(b, 'x', 20_000);
    host.table.set('b', { ...b, incarnation: 1, status: 'alive' }); // refuted
    fd.tick(60_000);
    expect(host.dead).to.deep.equal(['a']);
  });
});
