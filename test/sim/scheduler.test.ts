import { expect } from 'chai';
import { SimScheduler, SimTime, SIM_EPOCH_MS, seedFromEnv, reproduceHint } from '../../lib/sim/index.ts';
import { sleep } from '../../lib/runtime/index.ts';

describe('sim/SimScheduler', () => {
  it('fires events in (time, scheduling order) and advances virtual time only', async () => {
    const s = new SimScheduler();
    const fired: string[] = [];
    s.schedule(10, () => fired.push(`a@${s.nowMs}`));
    s.schedule(5, () => fired.push(`b@${s.nowMs}`));
    s.schedule(10, () => fired.push(`c@${s.nowMs}`));
    s.schedule(0, () => fired.push(`d@${s.nowMs}`));
    await s.settle();
    expect(fired).to.deep.equal(['d@0', 'b@5', 'a@10', 'c@10']);
    expect(s.nowMs).to.equal(10);
    expect(s.steps).to.equal(4);
  });

  it('skips cancelled events', async () => {
    const s = new SimScheduler();
    const fired: number[] = [];
    const h = s.schedule(1, () => fired.push(1));
    s.schedule(2, () => fired.push(2));
    s.cancel(h);
    s.cancel(h);
    await s.settle();
    expect(fired).to.deep.equal([2]);
  });

  it('runs a promise chain that mixes microtasks and timers to its value', async () => {
    const s = new SimScheduler();
    const time = new SimTime(s);
    const work = (async () => {
      await sleep(time, 1000);
      await Promise.resolve();
      await sleep(time, 500);
      return time.monotonicMs();
    })();
    expect(await s.run(work)).to.equal(1500);
  });

  it('passes a rejection through', async () => {
    const s = new SimScheduler();
    const time = new SimTime(s);
    const failing = sleep(time, 3).then(() => {
      throw new RangeError('boom');
    });
    let caught: unknown;
    try {
      await s.run(failing);
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(RangeError);
  });

  it('reports a deadlock instead of hanging', async () => {
    const s = new SimScheduler();
    const never = new Promise<void>(() => {});
    let caught: unknown;
    try {
      await s.run(never);
    } catch (e) {
      caught = e;
    }
    expect(String(caught)).to.match(/deadlocked/);
  });

  it('bounds the number of steps', async () => {
    const s = new SimScheduler({ stepsMax: 50 });
    const tick = (): void => {
      s.schedule(1, tick);
    };
    tick();
    let caught: unknown;
    try {
      await s.runUntil(() => false);
    } catch (e) {
      caught = e;
    }
    expect(String(caught)).to.match(/exceeded 50 steps/);
    expect(s.steps).to.equal(50);
  });

  it('refuses to be re-entered', async () => {
    const s = new SimScheduler();
    const time = new SimTime(s);
    const outer = s.run(sleep(time, 10));
    let caught: unknown;
    try {
      await s.run(Promise.resolve());
    } catch (e) {
      caught = e;
    }
    await outer;
    expect(String(caught)).to.match(/not reentrant/);
  });

  it('runFor advances exactly the requested virtual time', async () => {
    const s = new SimScheduler();
    const fired: number[] = [];
    s.schedule(30, () => fired.push(30));
    s.schedule(70, () => fired.push(70));
    await s.runFor(50);
    expect(s.nowMs).to.equal(50);
    expect(fired).to.deep.equal([30]);
  });
});

describe('sim/SimTime', () => {
  it('wall clock is the fixed epoch plus virtual time plus skew; monotonic is shared', async () => {
    const s = new SimScheduler();
    const a = new SimTime(s);
    const b = new SimTime(s, { skewMs: -250 });
    await s.runFor(1234);
    expect(a.nowMs()).to.equal(SIM_EPOCH_MS + 1234);
    expect(b.nowMs()).to.equal(SIM_EPOCH_MS + 1234 - 250);
    expect(a.monotonicMs()).to.equal(b.monotonicMs());
  });

  it('timers never fire synchronously and can be cancelled', async () => {
    const s = new SimScheduler();
    const t = new SimTime(s);
    let fired = 0;
    t.setTimer(0, () => fired++);
    const h = t.setTimer(5, () => fired++);
    expect(fired).to.equal(0);
    t.cancelTimer(h);
    await s.settle();
    expect(fired).to.equal(1);
  });
});

describe('sim/seed', () => {
  it('takes DYNAMO_SEED when set and the fallback otherwise', () => {
    expect(seedFromEnv(7, {})).to.equal(7);
    expect(seedFromEnv(7, { DYNAMO_SEED: '42' })).to.equal(42);
    expect(() => seedFromEnv(7, { DYNAMO_SEED: 'x1' })).to.throw(/DYNAMO_SEED/);
    expect(reproduceHint(42)).to.equal('reproduce with DYNAMO_SEED=42');
  });
});
