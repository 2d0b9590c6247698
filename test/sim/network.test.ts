import { expect } from 'chai';
import { SimNetwork, SimScheduler } from '../../lib/sim/index.ts';
import { InvalidArgumentError, LimitExceededError, SeededRandom, TimeoutError, UnavailableError } from '../../lib/runtime/index.ts';
import type { PeerHandler, PeerRequest } from '../../lib/protocol/index.ts';

function setup(opts: { lossRate?: number } = {}) {
  const scheduler = new SimScheduler();
  const trace: string[] = [];
  const net = new SimNetwork({ scheduler, random: new SeededRandom(99), latencyMsMin: 2, latencyMsMax: 6, trace: (l) => trace.push(l), ...opts });
  const seen: Array<{ req: PeerRequest; timeoutMs: number }> = [];
  const echo: PeerHandler = async (req, timeoutMs) => {
    seen.push({ req, timeoutMs });
    if (req.type === 'read') return { type: 'read', record: req.key.length === 0 ? undefined : req.key };
    if (req.type === 'write') throw new LimitExceededError('too many siblings');
    if (req.type === 'coordinate') throw new UnavailableError('not enough replicas', { answered: 1, required: 2 });
    return { type: 'identify', nodeId: 'b', partitionCount: 8, replicas: 3 };
  };
  net.register('a:1', echo);
  net.register('b:1', echo);
  return { scheduler, net, seen, trace, a: net.transportFor('a:1'), b: net.transportFor('b:1') };
}

describe('sim/SimNetwork', () => {
  it('delivers through the real codec: the handler gets equal bytes, never the caller’s buffer', async () => {
    const { scheduler, a, seen, net } = setup();
    const key = new Uint8Array([1, 2, 3]);
    const r = await scheduler.run(a.request('b:1', { type: 'read', key }, 1000));
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect([...r.value.record!]).to.deep.equal([1, 2, 3]);
    expect(r.value.record).to.not.equal(key);
    expect(seen[0]!.req.type).to.equal('read');
    expect((seen[0]!.req as { key: Uint8Array }).key).to.not.equal(key);
    // Two hops of 2..6 ms each; the handler saw the remaining time.
    expect(scheduler.nowMs).to.be.within(4, 12);
    expect(seen[0]!.timeoutMs).to.be.within(994, 998);
    expect(net.stats).to.include({ sent: 2, delivered: 2, dropped: 0 });
  });

  it('carries remote errors back with their class and counts', async () => {
    const { scheduler, a } = setup();
    const w = await scheduler.run(a.request('b:1', { type: 'write', key: new Uint8Array([1]), record: new Uint8Array([9]) }, 1000));
    expect(!w.ok && w.error).to.be.instanceOf(LimitExceededError);
    const c = await scheduler.run(
      a.request('b:1', { type: 'coordinate', key: new Uint8Array([1]), value: undefined, context: new Uint8Array(0), consistency: 'ALL' }, 1000),
    );
    expect(!c.ok && c.error).to.be.instanceOf(UnavailableError);
    expect(!c.ok && c.error).to.include({ answered: 1, required: 2 });
  });

  it('refuses requests to a down node with UnavailableError after one worst-case round trip', async () => {
    const { scheduler, a, net } = setup();
    net.setDown('b:1', true);
    expect(a.reachable('b:1')).to.equal(false);
    const r = await scheduler.run(a.request('b:1', { type: 'identify' }, 1000));
    expect(!r.ok && r.error).to.be.instanceOf(UnavailableError);
    expect(scheduler.nowMs).to.equal(13);
    const unknown = await scheduler.run(a.request('nowhere:1', { type: 'identify' }, 1000));
    expect(!unknown.ok && unknown.error).to.be.instanceOf(UnavailableError);
    net.setDown('b:1', false);
    expect(a.reachable('b:1')).to.equal(true);
  });

  it('drops messages across a partition (the sender times out) until heal', async () => {
    const { scheduler, a, b, net, trace } = setup();
    net.partition(['a:1'], ['b:1']);
    expect(a.reachable('b:1')).to.equal(false);
    expect(b.reachable('a:1')).to.equal(false);
    const r = await scheduler.run(a.request('b:1', { type: 'identify' }, 250));
    expect(!r.ok && r.error).to.be.instanceOf(TimeoutError);
    expect(scheduler.nowMs).to.equal(250);
    expect(trace.some((l) => l.includes('net drop a:1->b:1'))).to.equal(true);
    net.heal();
    const healed = await scheduler.run(b.request('a:1', { type: 'identify' }, 250));
    expect(healed.ok).to.equal(true);
  });

  it('loses every message at loss rate 1', async () => {
    const { scheduler, a, net } = setup({ lossRate: 1 });
    const r = await scheduler.run(a.request('b:1', { type: 'identify' }, 100));
    expect(!r.ok && r.error).to.be.instanceOf(TimeoutError);
    expect(net.stats.dropped).to.equal(1);
    expect(() => net.setLoss(1.5)).to.throw(/loss rate/);
  });

  it('a node crashing while it handles a request breaks the stream (UnavailableError)', async () => {
    const scheduler = new SimScheduler();
    const net = new SimNetwork({ scheduler, random: new SeededRandom(1) });
    let crash: () => void = () => {};
    net.register('b:1', () => new Promise((resolve) => (crash = () => resolve({ type: 'write' }))));
    const a = net.transportFor('a:1');
    const p = a.request('b:1', { type: 'write', key: new Uint8Array([1]), record: new Uint8Array([1]) }, 1000);
    await scheduler.runFor(50);
    net.setDown('b:1', true);
    crash();
    const r = await scheduler.run(p);
    expect(!r.ok && r.error).to.be.instanceOf(UnavailableError);
    expect(!r.ok && r.error.message).to.match(/connection reset/);
  });

  it('a request in flight when its target restarts is reset, never delivered to the new life', async () => {
    const { scheduler, a, net, seen } = setup();
    const p = a.request('b:1', { type: 'identify' }, 1000);
    net.setDown('b:1', true);
    net.setDown('b:1', false);
    const r = await scheduler.run(p);
    expect(!r.ok && r.error).to.be.instanceOf(UnavailableError);
    expect(!r.ok && r.error.message).to.match(/connection reset/);
    expect(seen).to.deep.equal([]);
  });

  it('close() fails pending and later requests with UnavailableError', async () => {
    const { scheduler, a, net } = setup();
    net.partition(['a:1'], ['b:1']);
    const pending = a.request('b:1', { type: 'identify' }, 1000);
    await a.close();
    const r = await scheduler.run(pending);
    expect(!r.ok && r.error).to.be.instanceOf(UnavailableError);
    const later = await scheduler.run(a.request('b:1', { type: 'identify' }, 1000));
    expect(!later.ok && later.error).to.be.instanceOf(UnavailableError);
    expect(scheduler.nowMs).to.equal(0);
  });

  it('a malformed remote error still comes back as a DynamoError (InvalidArgument from the handler)', async () => {
    const scheduler = new SimScheduler();
    const net = new SimNetwork({ scheduler, random: new SeededRandom(1) });
    net.register('b:1', async () => {
      throw new InvalidArgumentError('bad key');
    });
    const r = await scheduler.run(net.transportFor('a:1').request('b:1', { type: 'read', key: new Uint8Array(0) }, 100));
    expect(!r.ok && r.error).to.be.instanceOf(InvalidArgumentError);
    expect(!r.ok && r.error.message).to.match(/bad key/);
  });
});
