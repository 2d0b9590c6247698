import { expect } from 'chai';
import {
  defaultMembershipConfig,
  localMembershipConfig,
  retransmitLimit,
  suspicionTimeoutMs,
  testMembershipConfig,
  validateMembershipConfig,
} from '../../../lib/membership/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

describe('membership config', () => {
  it('accepts the defaults and every profile unchanged', () => {
    for (const profile of [defaultMembershipConfig(), localMembershipConfig(), testMembershipConfig()]) {
      expect(validateMembershipConfig(profile)).to.deep.equal(profile);
    }
  });

  it('fills missing fields from the defaults', () => {
    const config = validateMembershipConfig({ gossipIntervalMs: 250 });
    expect(config.gossipIntervalMs).to.equal(250);
    expect(config.probeIntervalMs).to.equal(defaultMembershipConfig().probeIntervalMs);
  });

  it('names the offending field', () => {
    expect(() => validateMembershipConfig({ probeIntervalMs: 0 })).to.throw(InvalidArgumentError, /probeIntervalMs/);
    expect(() => validateMembershipConfig({ indirectChecks: 1.5 })).to.throw(InvalidArgumentError, /indirectChecks/);
    expect(() => validateMembershipConfig({ membersMax: Number.NaN })).to.throw(InvalidArgumentError, /membersMax/);
    expect(() => validateMembershipConfig({ autoJoin: 'yes' as unknown as boolean })).to.throw(InvalidArgumentError, /autoJoin/);
    expect(() => validateMembershipConfig({ probeIntervalMs: 500, probeTimeoutMs: 500 })).to.throw(InvalidArgumentError, /probeTimeoutMs/);
  });

  it('sizes suspicion timeouts with log10 of the cluster (memberlist formula)', () => {
    const config = defaultMembershipConfig();
    expect(suspicionTimeoutMs(config, 1)).to.deep.equal({ min: 4000, max: 24000 });
    expect(suspicionTimeoutMs(config, 10)).to.deep.equal({ min: 4000, max: 24000 });
    expect(suspicionTimeoutMs(config, 100)).to.deep.equal({ min: 8000, max: 48000 });
    expect(suspicionTimeoutMs(config, 1000)).to.deep.equal({ min: 12000, max: 72000 });
  });

  it('limits retransmits to retransmitMult x ceil(log10(n + 1))', () => {
    const config = defaultMembershipConfig();
    expect([1, 9, 10, 99, 100, 128].map((n) => retransmitLimit(config, n))).to.deep.equal([4, 4, 8, 8, 12, 12]);
  });
});
