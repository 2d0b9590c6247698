import { expect } from 'chai';
import {
  admissionConfigOf,
  defaultAntiEntropyConfig,
  exchangeLimitsOf,
  localAntiEntropyConfig,
  testAntiEntropyConfig,
  tombstoneRuleOf,
  treeShapeOf,
  validateAdmissionConfig,
  validateAntiEntropyConfig,
} from '../../../lib/antientropy/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

describe('anti-entropy config', () => {
  it('accepts the defaults and every profile unchanged', () => {
    for (const profile of [defaultAntiEntropyConfig(), localAntiEntropyConfig(), testAntiEntropyConfig()]) {
      expect(validateAntiEntropyConfig(profile)).to.deep.equal(profile);
      expect(256 * profile.exchangeIntervalBusyMs, 'a full pass of 256 partitions under load').to.be.below(profile.tombstoneHoldingMaxAgeMs);
      expect(() => validateAdmissionConfig(admissionConfigOf(profile))).not.to.throw();
    }
  });

  it('exchanges every one of 256 partitions within 60 s by default (issue 9), and one at a time', () => {
    const c = defaultAntiEntropyConfig();
    expect(256 * c.exchangeIntervalMs).to.be.at.most(60_000);
    // Under sustained load a full pass still ends well inside the window a tombstone's holders must have been seen in.
    expect(256 * c.exchangeIntervalBusyMs).to.be.below(c.tombstoneHoldingMaxAgeMs);
    expect(c.exchangesConcurrentMax).to.equal(1);
    expect(treeShapeOf(c)).to.deep.equal({ fanOut: 64, depth: 2 });
  });

  it('fills missing fields from the defaults', () => {
    const c = validateAntiEntropyConfig({ exchangeIntervalMs: 250 });
    expect(c.exchangeIntervalMs).to.equal(250);
    expect(c.tombstoneGraceMs).to.equal(defaultAntiEntropyConfig().tombstoneGraceMs);
  });

  it('raises the busy interval to the idle one: a busy node never exchanges more often', () => {
    expect(validateAntiEntropyConfig({ exchangeIntervalMs: 5000 }).exchangeIntervalBusyMs).to.equal(5000);
    expect(validateAntiEntropyConfig({ exchangeIntervalMs: 100, exchangeIntervalBusyMs: 20 }).exchangeIntervalBusyMs).to.equal(100);
    expect(validateAntiEntropyConfig({ exchangeIntervalMs: 100 }).exchangeIntervalBusyMs).to.equal(1000);
    expect(() => validateAntiEntropyConfig({ exchangeBusyRequestsPerSecond: 0 })).to.throw(InvalidArgumentError, /exchangeBusyRequestsPerSecond/);
  });

  it('names the offending field', () => {
    expect(() => validateAntiEntropyConfig({ exchangeIntervalMs: 0 })).to.throw(InvalidArgumentError, /exchangeIntervalMs/);
    expect(() => validateAntiEntropyConfig({ keysPerCallMax: 1.5 })).to.throw(InvalidArgumentError, /keysPerCallMax/);
    expect(() => validateAntiEntropyConfig({ treeFanOut: 48 })).to.throw(InvalidArgumentError, /treeFanOut/);
    expect(() => validateAntiEntropyConfig({ treeFanOut: 1024, treeDepth: 3 })).to.throw(InvalidArgumentError, /treeDepth/);
    expect(() => validateAntiEntropyConfig({ tombstoneSettleMs: 1000 })).to.throw(InvalidArgumentError, /tombstoneSettleMs/);
    expect(() => validateAntiEntropyConfig({ purgedMemoMs: 60_000 })).to.throw(InvalidArgumentError, /purgedMemoMs/);
    expect(() => validateAntiEntropyConfig({ backgroundBytesPerSecond: Number.NaN })).to.throw(InvalidArgumentError, /backgroundBytesPerSecond/);
  });

  it('hands each mechanism its part', () => {
    const c = defaultAntiEntropyConfig();
    expect(exchangeLimitsOf(c)).to.deep.equal({ segmentsPerExchangeMax: 256, keysPerExchangeMax: 4096, keysPerCallMax: 256, callBytesMax: 1 << 20 });
    expect(tombstoneRuleOf(c)).to.deep.equal({ graceMs: 86_400_000, settleMs: 120_000, holdingMaxAgeMs: 900_000 });
    expect(admissionConfigOf(c).concurrencyMax).to.deep.equal({ 'anti-entropy': 1, 'hint-replay': 2, 'partition-stream': 2 });
  });
});
