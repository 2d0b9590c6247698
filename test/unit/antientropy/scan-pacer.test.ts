import { expect } from 'chai';
import { ScanPacer, SCAN_PACING_DEFAULT } from '../../../lib/antientropy/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

const opts = { busyRequestsPerSecond: 50, busyDutyCycle: 0.25, pauseMaxMs: 1_000 };

describe('ScanPacer', () => {
  it('runs flat out while the node is idle', () => {
    const pacer = new ScanPacer(opts, 0, 0);
    // 40 requests in 1 s: under 50/s.
    expect(pacer.sliceEnded(1_000, 40)).to.equal(0);
    expect(pacer.sliceEnded(1_100, 40)).to.equal(0);
    expect(pacer.pausedMs).to.equal(0);
  });

  it('while busy, pauses three times the slice at a duty cycle of a quarter', () => {
    const pacer = new ScanPacer(opts, 0, 0);
    // A 20 ms slice with 2 requests in it: 100/s.
    expect(pacer.sliceEnded(20, 2)).to.equal(60);
    // The next slice starts after the pause: 80 -> 90 is 10 ms of scanning; 10 requests over 70 ms.
    expect(pacer.sliceEnded(90, 12)).to.equal(30);
    expect(pacer.pausedMs).to.equal(90);
  });

  it('judges the load over the last slice and its pause only', () => {
    const pacer = new ScanPacer(opts, 0, 0);
    expect(pacer.sliceEnded(20, 1_000)).to.equal(60);
    // No request since: idle again, whatever came before.
    expect(pacer.sliceEnded(100, 1_000)).to.equal(0);
  });

  it('caps a pause at pauseMaxMs', () => {
    const pacer = new ScanPacer(opts, 0, 0);
    expect(pacer.sliceEnded(5_000, 1_000)).to.equal(1_000);
  });

  it('a duty cycle of 1 never pauses', () => {
    const pacer = new ScanPacer({ ...opts, busyDutyCycle: 1 }, 0, 0);
    expect(pacer.sliceEnded(100, 1_000)).to.equal(0);
  });

  it('the default yields three quarters of the time, at most 1 s at once', () => {
    expect(SCAN_PACING_DEFAULT).to.deep.equal({ busyDutyCycle: 0.25, pauseMaxMs: 1_000 });
  });

  it('refuses a duty cycle outside (0, 1] and negative bounds', () => {
    for (const d of [0, -0.5, 1.5, Number.NaN]) expect(() => new ScanPacer({ ...opts, busyDutyCycle: d }, 0, 0)).to.throw(InvalidArgumentError);
    expect(() => new ScanPacer({ ...opts, pauseMaxMs: -1 }, 0, 0)).to.throw(InvalidArgumentError);
  });
});
