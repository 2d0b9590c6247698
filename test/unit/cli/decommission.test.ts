/**
 * cmd/cli/decommission.ts: HandOff reads a decommission's phase and
 * progress from polled statuses (pure), and watch() drives it — asking the
 * node, then the other members once it is silent — until it has left, is
 * called off, or the deadline passes.
 */
import { expect } from 'chai';
import type { MemberStatus, NodeStatus, TransferStatus } from '../../../lib/protocol/index.ts';
import { TimeoutError, UnavailableError } from '../../../lib/runtime/index.ts';
import { HandOff, watch } from '../../../cmd/cli/decommission.ts';
import { STATUS } from '../transport/harness.ts';

const member = (id: string, state?: MemberStatus['state']): MemberStatus => ({
  id,
  address: `${id}:7001`,
  reachable: true,
  partitionsOwned: 1,
  self: false,
  ...(state === undefined ? {} : { state }),
});
const status = (members: MemberStatus[], transfers: TransferStatus[] = []): NodeStatus => ({ ...STATUS, members, transfers });
const t = (partition: number, direction: 'in' | 'out', peer: string, state: TransferStatus['state'], keys = 0, bytes = 0): TransferStatus => ({
  partition,
  direction,
  peer,
  state,
  keys,
  bytes,
});

describe('cli/decommission: HandOff', () => {
  it('waits for the plan, then counts outgoing transfers done or no longer reported as handed over', () => {
    const h = new HandOff('n3');
    expect(h.fromNode(status([member('n1', 'up'), member('n3', 'up')]))).to.deep.equal({ kind: 'planning' });
    expect(h.describe()).to.equal('n3: waiting for the cluster to plan the hand-over');
    h.fromNode(status([member('n3', 'leaving')], [t(1, 'out', 'n1', 'streaming', 4, 400), t(2, 'out', 'n2', 'waiting'), t(9, 'in', 'n1', 'streaming', 99, 99)]));
    expect(h.phase).to.deep.equal({ kind: 'leaving' });
    expect(h.progress()).to.deep.equal({ done: 0, total: 2, keys: 4, bytes: 400 });
    // Partition 1 is released (no longer reported), 2 is done, and a new one appears.
    h.fromNode(status([member('n3', 'leaving')], [t(2, 'out', 'n2', 'done', 6, 2048), t(3, 'out', 'n1', 'streaming', 1, 10)]));
    expect(h.progress()).to.deep.equal({ done: 2, total: 3, keys: 11, bytes: 2458 });
    expect(h.describe()).to.equal('n3: leaving, 2/3 partitions handed over (11 keys, 2.4 KiB)');
  });

  it('has left when the node no longer lists itself', () => {
    const h = new HandOff('n3');
    h.fromNode(status([member('n3', 'leaving')], [t(1, 'out', 'n1', 'done', 2, 20)]));
    expect(h.fromNode(status([member('n1', 'up')]))).to.deep.equal({ kind: 'left', by: 'n3' });
    expect(h.summary()).to.equal('n3 has left the ring (1 partition handed over: 2 keys, 20 B)');
  });

  it('is called off when the node is up again after leaving (up before leaving is only waiting)', () => {
    const h = new HandOff('n3');
    expect(h.fromNode(status([member('n3', 'up')])).kind).to.equal('planning');
    h.fromNode(status([member('n3', 'leaving')]));
    expect(h.fromNode(status([member('n3', 'up')])).kind).to.equal('cancelled');
  });

  it('reads a silent node from another member: still listed, not listed (left), or nobody answers', () => {
    const h = new HandOff('n3');
    expect(h.fromPeer('n1', status([member('n1', 'up'), member('n3', 'down')]))).to.deep.equal({ kind: 'silent', peer: 'n1', peerState: 'down' });
    expect(h.describe()).to.equal('n3: not answering; n1 sees it as down');
    expect(h.fromPeer(undefined, undefined)).to.deep.equal({ kind: 'silent' });
    expect(h.fromPeer('n2', status([member('n1'), member('n2')]))).to.deep.equal({ kind: 'left', by: 'n2' });
    expect(h.summary()).to.equal('n3 has left the ring');
  });
});

describe('cli/decommission: watch', () => {
  /** A clock that only moves when the watcher sleeps. */
  function clock(): { nowMs: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
    let now = 0;
    const slept: number[] = [];
    return { nowMs: () => now, sleep: async (ms) => void (slept.push(ms), (now += ms)), slept };
  }

  it('asks the node, then its other members once it is silent, until one no longer lists it', async () => {
    const c = clock();
    const asked: string[] = [];
    const answers: Record<string, (NodeStatus | Error)[]> = {
      'n3:7001': [status([member('n1'), member('n2'), member('n3', 'leaving')]), new UnavailableError('gone', { answered: 0, required: 0 })],
      'n1:7001': [new UnavailableError('down too', { answered: 0, required: 0 })],
      'n2:7001': [status([member('n2'), member('n3', 'leaving')]), status([member('n2')])],
    };
    const polls: string[] = [];
    await watch({
      handOff: new HandOff('n3'),
      endpoint: 'n3:7001',
      peers: new Map(),
      time: c,
      sleep: c.sleep,
      intervalMs: 100,
      deadlineMs: 10_000,
      requestTimeoutMs: 50,
      status: async (endpoint) => {
        asked.push(endpoint);
        const list = answers[endpoint]!;
        const a = list.length > 1 ? list.shift()! : list[0]!;
        if (a instanceof Error) throw a;
        return a;
      },
      onPoll: (h) => polls.push(h.describe()),
    });
    expect(polls).to.deep.equal(['n3: leaving', 'n3: not answering; n2 sees it as leaving', 'n3: has left the ring']);
    expect(asked).to.deep.equal(['n3:7001', 'n3:7001', 'n1:7001', 'n2:7001', 'n3:7001', 'n1:7001', 'n2:7001']);
    expect(c.slept).to.deep.equal([100, 100]);
  });

  it('rejects with TimeoutError once the deadline passes, and with an Error when called off', async () => {
    const base = { endpoint: 'n3:7001', peers: new Map<string, string>(), intervalMs: 100, requestTimeoutMs: 50, onPoll: () => {} };
    const c = clock();
    const stuck = watch({ ...base, handOff: new HandOff('n3'), time: c, sleep: c.sleep, deadlineMs: 250, status: async () => status([member('n3', 'leaving')]) });
    const e = await stuck.then(() => undefined, (x: unknown) => x);
    expect(e).to.be.instanceOf(TimeoutError);
    expect((e as Error).message).to.equal('n3: leaving; it has not left within --timeout-s (the decommission goes on: watch dynamo status)');
    expect(c.slept).to.deep.equal([100, 100, 50]);
    const states = [status([member('n3', 'leaving')]), status([member('n3', 'up')])];
    const d = clock();
    const off = watch({ ...base, handOff: new HandOff('n3'), time: d, sleep: d.sleep, deadlineMs: 10_000, status: async () => states.shift() ?? status([]) });
    const f = await off.then(() => undefined, (x: unknown) => x);
    expect(f).to.be.instanceOf(Error);
    expect((f as Error).message).to.equal('decommission of n3 was called off: it is up again and no longer leaving');
  });
});
