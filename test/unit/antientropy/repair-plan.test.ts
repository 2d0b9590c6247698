import { expect } from 'chai';
import { ExchangeLog, RepairPlan, exchangeComplete, type ExchangeResult, type PairReadiness } from '../../../lib/antientropy/index.ts';

const result = (over: Partial<ExchangeResult>): ExchangeResult => ({
  partition: 0,
  status: 'repaired',
  complete: true,
  differingSegments: [],
  examinedSegments: [],
  diffs: [],
  agreed: [],
  phantomSegments: [],
  skipped: 0,
  pulled: 0,
  pushed: 0,
  bytesToRemote: 0,
  bytesFromRemote: 0,
  roundTrips: 1,
  remoteCalls: 1,
  ...over,
});

const plan = (targets = [
  { partition: 3, replicas: ['n1', 'n2', 'n3'] },
  { partition: 1, replicas: ['n3', 'n1'] },
]): RepairPlan =>
  new RepairPlan({ id: 7, self: 'n1', targets, startedAtMs: 1_000_000, startedAtMonotonicMs: 100, attemptsMax: 2, waitMsMax: 500, roundsMax: 3 });

const ready = (): PairReadiness => 'ready';

describe('antientropy RepairPlan', () => {
  it('exchanges every (partition, peer) pair in partition then peer order, each until complete', () => {
    const p = plan();
    const seen: string[] = [];
    for (;;) {
      const step = p.next(200, ready);
      if (step.type !== 'start') break;
      seen.push(`${step.partition}:${step.peer}@${step.startSegment}`);
      // The first exchange of partition 3 with n2 stops short after segment 40: the next continues from 41.
      const short = seen.length === 2;
      p.finished(result({ partition: step.partition, complete: !short, examinedSegments: short ? [12, 40] : [], pulled: 2, pushed: 1, bytesToRemote: 10, bytesFromRemote: 20 }));
    }
    expect(seen).to.deep.equal(['1:n3@0', '3:n2@0', '3:n2@41', '3:n3@0']);
    expect(p.status(300)).to.deep.equal({
      id: 7,
      state: 'done',
      partitionsTotal: 2,
      partitionsDone: 2,
      exchanges: 4,
      skipped: 0,
      keysPulled: 8,
      keysPushed: 4,
      bytesSent: 40,
      bytesReceived: 80,
      startedAtMs: 1_000_000,
      elapsedMs: 100,
    });
    expect(p.next(400, ready)).to.deep.equal({ type: 'done' });
  });

  it('skips a pair whose peer is down, that keeps failing, that stays incomplete, or whose trees never get ready', () => {
    const down = plan([{ partition: 0, replicas: ['n1', 'n2'] }]);
    expect(down.next(0, () => 'skip')).to.deep.equal({ type: 'done' });
    expect(down.status(0)).to.include({ state: 'done', skipped: 1, partitionsDone: 1 });

    const failing = plan([{ partition: 0, replicas: ['n1', 'n2'] }]);
    for (let i = 0; i < 2; i++) {
      expect(failing.next(0, ready).type).to.equal('start');
      failing.finished(result({ status: 'aborted', complete: false, abortReason: 'remote-failed' }));
    }
    expect(failing.next(0, ready)).to.deep.equal({ type: 'done' });
    expect(failing.status(0)).to.include({ skipped: 1, exchanges: 2 });

    const endless = plan([{ partition: 0, replicas: ['n1', 'n2'] }]);
    for (let i = 0; i < 3; i++) {
      expect(endless.next(0, ready).type).to.equal('start');
      endless.finished(result({ complete: false, examinedSegments: [i] }));
    }
    expect(endless.next(0, ready)).to.deep.equal({ type: 'done' });
    expect(endless.status(0).skipped).to.equal(1);

    const waiting = plan([{ partition: 0, replicas: ['n1', 'n2'] }]);
    expect(waiting.next(1000, () => 'wait')).to.deep.equal({ type: 'wait' });
    expect(waiting.next(1499, () => 'wait')).to.deep.equal({ type: 'wait' });
    expect(waiting.next(1500, () => 'wait')).to.deep.equal({ type: 'done' });
    expect(waiting.status(1500)).to.include({ skipped: 1 });
  });

  it('an exchange not admitted is simply asked again, one that could not run counts as a failed attempt; a stop fails the repair with its reason', () => {
    const p = plan([{ partition: 0, replicas: ['n1', 'n2'] }]);
    expect(p.next(0, ready)).to.deep.equal({ type: 'start', partition: 0, peer: 'n2', startSegment: 0 });
    p.finished('not-run');
    expect(p.status(0).exchanges).to.equal(0);
    expect(p.next(0, ready).type).to.equal('start');
    p.finished('failed');
    expect(p.status(0)).to.include({ exchanges: 0, skipped: 0 });
    expect(p.next(0, ready).type).to.equal('start');
    p.fail('the node stopped', 250);
    expect(p.status(900)).to.include({ state: 'failed', error: 'the node stopped', elapsedMs: 150 });
    expect(p.next(900, ready)).to.deep.equal({ type: 'done' });
  });

  it('reports the one partition it was asked for', () => {
    const p = new RepairPlan({ id: 1, self: 'n1', partition: 0, targets: [{ partition: 0, replicas: ['n1'] }], startedAtMs: 0, startedAtMonotonicMs: 0, attemptsMax: 1, waitMsMax: 1, roundsMax: 1 });
    expect(p.status(0)).to.include({ partition: 0, partitionsTotal: 1 });
    expect(p.next(0, ready)).to.deep.equal({ type: 'done' });
    expect(p.status(0)).to.include({ state: 'done', partitionsDone: 1, skipped: 0 });
    expect(() => new RepairPlan({ id: 1, self: 'n1', targets: [], startedAtMs: 0, startedAtMonotonicMs: 0, attemptsMax: 0, waitMsMax: 1, roundsMax: 1 })).to.throw(/attemptsMax/);
  });
});

describe('antientropy ExchangeLog', () => {
  it('counts per peer and in total, and knows by when every partition was fully compared', () => {
    const log = new ExchangeLog();
    log.record('n2', result({ partition: 0, pulled: 3, bytesToRemote: 14, bytesFromRemote: 10 }), 1000);
    log.record('n3', result({ partition: 1, complete: false, pushed: 2 }), 2000);
    log.record('n2', result({ partition: 1, status: 'aborted', complete: false }), 3000);
    expect(log.totals()).to.deep.equal({ exchanges: 3, keysPulled: 3, keysPushed: 2, bytesSent: 14, bytesReceived: 10 });
    expect(log.peers()).to.deep.equal([
      { peer: 'n2', exchanges: 2, lastExchangeAtMs: 3000, lastCompleteAtMs: 1000, keysPulled: 3, keysPushed: 0 },
      { peer: 'n3', exchanges: 1, lastExchangeAtMs: 2000, lastCompleteAtMs: 0, keysPulled: 0, keysPushed: 2 },
    ]);
    expect(log.fullExchangeAtMs([0, 1]), 'partition 1 never complete').to.equal(0);
    log.record('n3', result({ partition: 1 }), 4000);
    expect(log.fullExchangeAtMs([0, 1])).to.equal(1000);
    expect(log.fullExchangeAtMs([])).to.equal(0);
    log.dropPartition(0);
    expect(log.completeAtMs(0)).to.equal(0);
    expect(exchangeComplete(result({ status: 'in-sync' }))).to.equal(true);
    expect(exchangeComplete(result({ status: 'aborted', complete: true }))).to.equal(false);
  });
});
