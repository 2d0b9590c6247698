import { expect } from 'chai';
import { TimeoutError, UnavailableError, type Time, type TimerHandle } from '../../../lib/runtime/index.ts';
import { Round, SLOT_FAILED, SLOT_OK, SLOT_PENDING } from '../../../lib/replication/round.ts';

/** Timers fire only when the test advances the clock. */
class ManualTime implements Time {
  #now = 0;
  #next = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  nowMs(): number {
    return this.#now;
  }
  monotonicMs(): number {
    return this.#now;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = this.#next++;
    this.timers.set(id, { at: this.#now + delayMs, fn });
    return { id };
  }
  cancelTimer(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }
  advance(ms: number): void {
    this.#now += ms;
    for (const [id, t] of [...this.timers]) {
      if (t.at <= this.#now) {
        this.timers.delete(id);
        t.fn();
      }
    }
  }
}

const unreachable = new UnavailableError('peer unreachable', { answered: 0, required: 1 });
const tooSlow = new TimeoutError('no reply');

function round(time: ManualTime, required: number, n = 3) {
  return new Round<string>({ nodes: ['a', 'b', 'c'].slice(0, n), required, level: required === n ? 'ALL' : 'QUORUM', op: 'write', timeoutMs: 100, time });
}

async function decision(r: Round<string>): Promise<string | undefined> {
  await Promise.resolve();
  return r.decision;
}

describe('replication/round', () => {
  it('wins at the quorum and cancels its deadline; late replies are recorded but change nothing', async () => {
    const time = new ManualTime();
    const r = round(time, 2);
    r.succeed(0, 'x');
    expect(r.decision).to.equal(undefined);
    r.succeed(2, 'z');
    expect(await r.decided).to.equal('won');
    expect(time.timers.size).to.equal(0);
    r.fail(1, unreachable);
    expect(r.decision).to.equal('won');
    expect([...r.states]).to.deep.equal([SLOT_OK, SLOT_FAILED, SLOT_OK]);
    expect(r.values).to.deep.equal(['x', undefined, 'z']);
  });

  it('a lost round is decided once every replica answered, with the final counts', async () => {
    const time = new ManualTime();
    const r = round(time, 3);
    r.succeed(0, undefined);
    r.fail(2, unreachable); // quorum impossible now
    expect(await decision(r)).to.equal(undefined);
    r.succeed(1, undefined);
    expect(await r.decided).to.equal('lost');
    const e = r.error('lost');
    expect(e).to.be.instanceOf(UnavailableError);
    expect(e).to.include({ answered: 2, required: 3 });
    expect(e.message).to.equal('ALL write failed: 2 of 3 replicas answered, 3 needed (first error: c: peer unreachable)');
  });

  it('a lost round still pending at the deadline is decided lost then', async () => {
    const time = new ManualTime();
    const r = round(time, 3);
    r.fail(0, unreachable);
    time.advance(99);
    expect(await decision(r)).to.equal(undefined);
    time.advance(1);
    expect(await r.decided).to.equal('lost');
  });

  it('counts replica timeouts as the deadline passing, not as unavailability', async () => {
    const time = new ManualTime();
    const r = round(time, 2);
    r.succeed(0, undefined);
    r.fail(1, tooSlow);
    r.fail(2, tooSlow);
    expect(await r.decided).to.equal('timeout');
    const e = r.error('timeout');
    expect(e).to.be.instanceOf(TimeoutError);
    expect(e).to.include({ answered: 1, required: 2 });
    expect(e.message).to.match(/^QUORUM write timed out after 100 ms: 1 of 3 replicas answered, 2 needed/);
  });

  it('is unavailable when unreachable replicas alone make the quorum impossible, even if others timed out', async () => {
    const time = new ManualTime();
    const r = round(time, 3);
    r.succeed(0, undefined);
    r.fail(1, tooSlow);
    r.fail(2, unreachable);
    expect(await r.decided).to.equal('lost');
  });

  it('times out at the deadline with replies missing', async () => {
    const time = new ManualTime();
    const r = round(time, 2);
    r.succeed(0, undefined);
    time.advance(100);
    expect(await r.decided).to.equal('timeout');
    expect([...r.states]).to.deep.equal([SLOT_OK, SLOT_PENDING, SLOT_PENDING]);
  });

  it('starts lost when the list is shorter than the requirement, without a timer', async () => {
    const time = new ManualTime();
    const r = round(time, 3, 2);
    expect(await r.decided).to.equal('lost');
    expect(time.timers.size).to.equal(0);
    expect(r.error('lost')).to.include({ answered: 0, required: 3 });
  });

  it('runs onSettled once, after the last reply', () => {
    const time = new ManualTime();
    const r = round(time, 1);
    let settled = 0;
    r.onSettled = () => settled++;
    r.succeed(0, 'x');
    r.fail(1, unreachable);
    expect(settled).to.equal(0);
    r.succeed(2, 'z');
    r.succeed(2, 'again');
    expect(settled).to.equal(1);
    expect(r.values[2]).to.equal('z');
  });
});
