/**
 * cmd/cli/repair.ts and the anti-entropy part of `dynamo status`:
 * RepairWatch follows one repair through polled statuses (pure), watchRepair
 * drives it until the repair ends or the deadline passes, and statusText
 * shows the node's trees, peers and last repair.
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { AntiEntropyStatus, NodeStatus, RepairStatus } from '../../../lib/protocol/index.ts';
import { TimeoutError, UnavailableError } from '../../../lib/runtime/index.ts';
import { RepairWatch, watchRepair } from '../../../cmd/cli/repair.ts';
import { ago, antiEntropyText, statusText } from '../../../cmd/cli/admin-output.ts';
import { repairProgressDisplay } from '../../../cmd/cli/progress.ts';
import { MEMBERSHIP_STATUS, REPAIR_RUNNING, STATUS } from '../transport/harness.ts';

const AE = MEMBERSHIP_STATUS.antiEntropy!;
const withRepair = (r: RepairStatus): NodeStatus => ({ ...STATUS, antiEntropy: { ...AE, repair: r } });
const progressed = (over: Partial<RepairStatus>): RepairStatus => ({ ...REPAIR_RUNNING, ...over });

describe('cli/repair: RepairWatch', () => {
  it('follows its repair to the end and summarises partitions, keys each way, bytes and time', () => {
    const w = new RepairWatch('n1', REPAIR_RUNNING);
    w.fromNode(withRepair(progressed({ partitionsDone: 10, exchanges: 20, keysPulled: 3, keysPushed: 1 })));
    expect(w.describe()).to.equal('n1: repair 3 running, 10/64 partitions compared, 20 exchanges, 4 keys repaired');
    const done = w.fromNode(
      withRepair(progressed({ state: 'done', partitionsDone: 64, exchanges: 130, keysPulled: 300, keysPushed: 2, bytesSent: 4096, bytesReceived: 2_000_000, elapsedMs: 4100 })),
    );
    expect(done.state).to.equal('done');
    expect(w.summary()).to.equal(
      'repair 3 on n1 done: 64 partitions compared in 130 exchanges; keys repaired: 300 here from peers, 2 on peers; 4.0 KiB sent, 1.9 MiB received; 4.1 s\n',
    );
  });

  it('says which replicas it skipped, which partition it was limited to, and why it failed', () => {
    const w = new RepairWatch('n2', progressed({ partition: 7, partitionsTotal: 1 }));
    w.fromNode(withRepair(progressed({ partition: 7, partitionsTotal: 1, state: 'done', partitionsDone: 1, exchanges: 1, skipped: 1, elapsedMs: 12 })));
    expect(w.summary()).to.match(/^repair 3 on n2 done: partition 7 compared in 1 exchange, 1 replica pair skipped \(peer down or unreachable\); /);
    const f = new RepairWatch('n2', REPAIR_RUNNING);
    f.fromNode(withRepair(progressed({ state: 'failed', error: 'the node stopped' })));
    expect(f.phaseText()).to.equal('failed: the node stopped');
    expect(f.summary()).to.match(/^repair 3 on n2 failed \(the node stopped\): /);
  });

  it('refuses a status that no longer reports its repair (the node restarted)', () => {
    const w = new RepairWatch('n1', REPAIR_RUNNING);
    expect(() => w.fromNode(STATUS)).to.throw(UnavailableError, /no longer reports repair 3/);
    expect(() => w.fromNode(withRepair({ ...REPAIR_RUNNING, id: 1 }))).to.throw(UnavailableError);
  });
});

describe('cli/repair: watchRepair', () => {
  it('polls until the repair ends, reporting each poll', async () => {
    const statuses = [withRepair(progressed({ partitionsDone: 1 })), withRepair(progressed({ partitionsDone: 30 })), withRepair(progressed({ state: 'done', partitionsDone: 64 }))];
    const seen: number[] = [];
    const slept: number[] = [];
    const r = await watchRepair({
      watch: new RepairWatch('n1', REPAIR_RUNNING),
      endpoint: 'n1:7001',
      time: { nowMs: () => 0 },
      sleep: async (ms) => void slept.push(ms),
      intervalMs: 250,
      deadlineMs: 10_000,
      requestTimeoutMs: 1000,
      status: async () => statuses.shift()!,
      onPoll: (w) => seen.push(w.repair.partitionsDone),
    });
    expect(r.state).to.equal('done');
    expect(seen).to.deep.equal([1, 30, 64]);
    expect(slept).to.deep.equal([250, 250]);
  });

  it('gives up at the deadline with a TimeoutError saying where it stood', async () => {
    let now = 0;
    const e = await watchRepair({
      watch: new RepairWatch('n1', REPAIR_RUNNING),
      endpoint: 'n1:7001',
      time: { nowMs: () => now },
      sleep: async (ms) => void (now += ms),
      intervalMs: 400,
      deadlineMs: 1000,
      requestTimeoutMs: 1000,
      status: async () => withRepair(progressed({ partitionsDone: 5 })),
      onPoll: () => {},
    }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).to.be.instanceOf(TimeoutError);
    expect((e as Error).message).to.match(/^n1: repair 3 running, 5\/64 partitions compared.*not finished within --timeout-s/);
  });
});

describe('cli/repair: progress display and status text', () => {
  it('writes one line per change off a terminal and leaves the end to the summary', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) }) as unknown as NodeJS.WriteStream;
    const display = await repairProgressDisplay('n1', stream, false);
    const w = new RepairWatch('n1', REPAIR_RUNNING);
    for (const r of [progressed({ partitionsDone: 1 }), progressed({ partitionsDone: 1 }), progressed({ state: 'done', partitionsDone: 64 })]) {
      w.fromNode(withRepair(r));
      display.update(w);
    }
    display.stop();
    expect(lines).to.deep.equal(['n1: repair 3 running, 1/64 partitions compared, 0 exchanges, 0 keys repaired\n']);
  });

  it('shows trees, passes, keys, purges, one row per peer and the last repair; "off" when disabled', () => {
    const now = AE.lastFullExchangeAtMs + 2500;
    const text = antiEntropyText(AE, now);
    expect(text).to.equal(
      'anti-entropy: 63/64 trees ready (1 building), 8589934592 exchanges (7 slowed: the node was busy), 5 full passes (last 25.6 s); every partition fully compared: 2.5 s ago; keys repaired 300 here, 0 on peers; 50 tombstones purged\n' +
        'PEER  EXCHANGES  LAST EXCHANGE  LAST COMPLETE  KEYS IN  KEYS OUT\n' +
        'n2    100        1.5 s ago      2.0 s ago      300      0\n' +
        'n3    0          never          never          0        0\n' +
        'repair 2 of partition 0: done, 1/1 partitions, 3 exchanges, 0 skipped, keys 7 in / 1 out, 900 B sent, 0.0 s\n',
    );
    expect(antiEntropyText({ ...AE, exchangesSlowed: 0 }, now)).to.contain(', 8589934592 exchanges, 5 full passes');
    const off: AntiEntropyStatus = { ...AE, enabled: false };
    expect(antiEntropyText(off, now)).to.equal('anti-entropy: off\n');
    expect(statusText(MEMBERSHIP_STATUS, now).endsWith(text)).to.equal(true);
    expect(statusText(STATUS, now)).to.not.contain('anti-entropy');
    // Digest reads: counted where the node reports them, absent for a node that predates them.
    expect(statusText(MEMBERSHIP_STATUS, now)).to.contain(`read repairs 5, digest mismatches ${2 ** 33 + 5}\n`);
    expect(statusText(STATUS, now)).to.contain('read repairs 5\n');
    // Probe counts: shown where the node reports them.
    expect(statusText(MEMBERSHIP_STATUS, now)).to.contain(`probes ${2 ** 33 + 7}, failed 3 (members this node suspected)\n`);
    expect(statusText(STATUS, now)).to.not.contain('probes');
    expect([ago(0, 5), ago(1000, 91_000), ago(0 + 1, 7_200_001)]).to.deep.equal(['never', '1.5 min ago', '2.0 h ago']);
  });
});
