import { expect } from 'chai';
import { ExchangeScheduler, type ExchangeResult, type PartitionReplicas } from '../../../lib/antientropy/index.ts';

const HOLDINGS: PartitionReplicas[] = [
  { partition: 2, replicas: ['n1', 'n2', 'n3'] },
  { partition: 0, replicas: ['n3', 'n1', 'n2'] },
  { partition: 1, replicas: ['n1', 'n3'] },
];
const always = (): boolean => true;
const done = (over: Partial<ExchangeResult>): ExchangeResult =>
  ({ status: 'repaired', complete: true, examinedSegments: [], ...over }) as ExchangeResult;

describe('ExchangeScheduler', () => {
  it('takes partitions in turn, one start per interval, rotating peers per partition', () => {
    const s = new ExchangeScheduler({ self: 'n1', intervalMs: 100, concurrentMax: 1 }, 0);
    const starts: string[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      const d = s.next(now, HOLDINGS, always);
      expect(d.type).to.equal('start');
      if (d.type !== 'start') return;
      starts.push(`${d.partition}:${d.peer}`);
      expect(s.next(now, HOLDINGS, always)).to.deep.equal({ type: 'busy' });
      s.finished(d.partition, done({}));
      expect(s.next(now + 50, HOLDINGS, always)).to.deep.equal({ type: 'wait', wakeAtMs: now + 100 });
      now += 100;
    }
    expect(starts).to.deep.equal(['0:n2', '1:n3', '2:n2', '0:n3', '1:n3', '2:n3']);
    expect(s.stats()).to.deep.include({ started: 6, finished: 6, cycles: 1, lastCycleMs: 300 });
  });

  it('skips peers and partitions it cannot exchange now', () => {
    const s = new ExchangeScheduler({ self: 'n1', intervalMs: 10, concurrentMax: 1 }, 0);
    const d = s.next(0, HOLDINGS, (p, peer) => p === 2 && peer === 'n3');
    expect(d).to.deep.equal({ type: 'start', partition: 2, peer: 'n3', startSegment: 0 });
    s.finished(2, undefined);
    expect(s.next(10, HOLDINGS, () => false)).to.deep.equal({ type: 'wait', wakeAtMs: 20 });
    expect(s.next(10, [], always)).to.deep.equal({ type: 'wait', wakeAtMs: 20 });
  });

  it('takes a partition whose exchange stopped short again first, after its last examined segment', () => {
    const s = new ExchangeScheduler({ self: 'n1', intervalMs: 1, concurrentMax: 2 }, 0);
    const first = s.next(0, HOLDINGS, always);
    expect(first.type === 'start' && first.partition).to.equal(0);
    s.finished(0, done({ complete: false, examinedSegments: [3, 9] }));
    expect(s.next(1, HOLDINGS, always)).to.deep.include({ type: 'start', partition: 0, startSegment: 10 });
    // The resumed turn did not move the round robin: partition 1 is next.
    expect(s.next(2, HOLDINGS, always)).to.deep.include({ type: 'start', partition: 1, startSegment: 0 });
    s.finished(0, done({ status: 'aborted', complete: false, examinedSegments: [3] }));
    expect(s.next(3, HOLDINGS, always)).to.deep.include({ type: 'start', partition: 2 });
  });

  it('waits the busy interval after a start while requests come at the busy rate, and the idle one once they stop', () => {
    const s = new ExchangeScheduler({ self: 'n1', intervalMs: 100, busyIntervalMs: 1000, busyRequestsPerSecond: 50, concurrentMax: 1 }, 0);
    const gaps: number[] = [];
    let now = 0;
    // Requests handled by each start: none, then 10 per 100 ms (100/s), then 60 in 1 s (60/s), then 40 in 1 s (40/s: idle).
    const counts = [0, 0, 10, 70, 110, 110];
    for (const requests of counts) {
      const d = s.next(now, HOLDINGS, always, requests);
      expect(d.type, `start at ${now} ms`).to.equal('start');
      if (d.type !== 'start') return;
      s.finished(d.partition, done({}));
      const wait = s.next(now, HOLDINGS, always, requests);
      expect(wait.type).to.equal('wait');
      if (wait.type !== 'wait') return;
      gaps.push(wait.wakeAtMs - now);
      now = wait.wakeAtMs;
    }
    expect(gaps).to.deep.equal([100, 100, 1000, 1000, 100, 100]);
    expect(s.stats().loadedStarts).to.equal(2);
  });

  it('does not slow down after an exchange that found differing segments', () => {
    const s = new ExchangeScheduler({ self: 'n1', intervalMs: 100, busyIntervalMs: 1000, busyRequestsPerSecond: 50, concurrentMax: 1 }, 0);
    const first = s.next(0, HOLDINGS, always, 0);
    if (first.type === 'start') s.finished(first.partition, done({}));
    const second = s.next(100, HOLDINGS, always, 100);
    expect(second.type).to.equal('start');
    if (second.type !== 'start') return;
    s.finished(second.partition, done({ differingSegments: [4], examinedSegments: [4] }));
    expect(s.next(150, HOLDINGS, always, 105)).to.deep.equal({ type: 'wait', wakeAtMs: 200 });
    const third = s.next(200, HOLDINGS, always, 110);
    expect(third.type).to.equal('start');
    if (third.type !== 'start') return;
    s.finished(third.partition, done({ differingSegments: [] }));
    expect(s.next(250, HOLDINGS, always, 115)).to.deep.equal({ type: 'wait', wakeAtMs: 1200 });
  });

  it('never slows down without a busy interval, and a count that went back (a new coordinator) is not load', () => {
    const s = new ExchangeScheduler({ self: 'n1', intervalMs: 100, concurrentMax: 1 }, 0);
    const first = s.next(0, HOLDINGS, always, 0);
    if (first.type === 'start') s.finished(first.partition, done({}));
    const second = s.next(100, HOLDINGS, always, 1_000_000);
    if (second.type === 'start') s.finished(second.partition, done({}));
    expect(s.next(100, HOLDINGS, always, 1_000_000)).to.deep.equal({ type: 'wait', wakeAtMs: 200 });
    const slowed = new ExchangeScheduler({ self: 'n1', intervalMs: 100, busyIntervalMs: 500, concurrentMax: 1 }, 0);
    for (const [at, requests] of [[0, 500], [100, 3]] as const) {
      const d = slowed.next(at, HOLDINGS, always, requests);
      if (d.type === 'start') slowed.finished(d.partition, done({}));
    }
    expect(slowed.next(100, HOLDINGS, always, 3)).to.deep.equal({ type: 'wait', wakeAtMs: 200 });
  });

  it('validates its options', () => {
    expect(() => new ExchangeScheduler({ self: 'n1', intervalMs: 0, concurrentMax: 1 }, 0)).to.throw(/intervalMs/);
    expect(() => new ExchangeScheduler({ self: 'n1', intervalMs: 100, busyIntervalMs: 50, concurrentMax: 1 }, 0)).to.throw(/busyIntervalMs/);
    expect(() => new ExchangeScheduler({ self: 'n1', intervalMs: 100, busyRequestsPerSecond: 0, concurrentMax: 1 }, 0)).to.throw(/busyRequestsPerSecond/);
    expect(() => new ExchangeScheduler({ self: 'n1', intervalMs: 1, concurrentMax: 0 }, 0)).to.throw(/concurrentMax/);
    const s = new ExchangeScheduler({ self: 'n1', intervalMs: 1, concurrentMax: 1 }, 0);
    expect(() => s.finished(4, undefined)).to.throw(/not running/);
  });
});
