import { expect } from 'chai';
import { resolveNodeConfig } from '../../../lib/config/index.ts';

const base = { DYNAMO_ID: 'n1' };

describe('config: tombstone grace against the hint window', () => {
  it('accepts any grace beside any hint window: GC asks every node for hints of a key before purging it (hint-census.ts)', () => {
    // Once refused (a grace had to exceed twice the window); a hint on a node down longer than that
    // still brought a deleted value back, so the purge now waits for the census instead of an age bound.
    const short = resolveNodeConfig({ tombstoneGraceMs: '7200000', hintWindowMs: '3600000' }, base);
    expect([short.tombstoneGraceMs, short.hintWindowMs]).to.deep.equal([7_200_000, 3_600_000]);
    const shorter = resolveNodeConfig({ tombstoneGraceMs: '1000', hintWindowMs: '3600000' }, base);
    expect([shorter.tombstoneGraceMs, shorter.hintWindowMs]).to.deep.equal([1000, 3_600_000]);
    const d = resolveNodeConfig({}, base);
    expect([d.tombstoneGraceMs, d.hintWindowMs]).to.deep.equal([86_400_000, 10_800_000]);
  });
});
