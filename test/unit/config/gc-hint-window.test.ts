import { expect } from 'chai';
import { resolveNodeConfig } from '../../../lib/config/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

const base = { DYNAMO_ID: 'n1' };

describe('config: tombstone grace against the hint window', () => {
  it('refuses a tombstone grace that does not exceed twice the hint window (how long a hint may live), naming both flags', () => {
    let error: unknown;
    try {
      resolveNodeConfig({ tombstoneGraceMs: '7200000', hintWindowMs: '3600000' }, base);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(InvalidArgumentError);
    expect((error as Error).message).to.match(/--tombstone-grace-ms \(DYNAMO_TOMBSTONE_GRACE_MS\): 7200000 must be longer than twice --hint-window-ms \(3600000\)/);
  });

  it('accepts the defaults, a longer grace, and any grace when hints or anti-entropy are off', () => {
    const d = resolveNodeConfig({}, base);
    expect(d.tombstoneGraceMs).to.be.greaterThan(2 * d.hintWindowMs);
    expect(resolveNodeConfig({ tombstoneGraceMs: '7200001', hintWindowMs: '3600000' }, base).tombstoneGraceMs).to.equal(7200001);
    expect(resolveNodeConfig({ tombstoneGraceMs: '1000', hintedHandoff: 'false' }, base).tombstoneGraceMs).to.equal(1000);
    expect(resolveNodeConfig({ tombstoneGraceMs: '1000', antiEntropy: 'false' }, base).tombstoneGraceMs).to.equal(1000);
  });
});
