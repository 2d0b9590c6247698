import { expect } from 'chai';
import { seedFromEnv, SimCluster, withSimCluster, type SimClusterOptions } from '../../lib/sim/index.ts';
import { rejectionOf } from './helpers.ts';

/** A scenario touching every nondeterminism source: latency, skew, loss, crash, partition, timeouts, repair. */
async function scenario(seed: number): Promise<{ lines: readonly string[]; digest: { lines: number; digest: string }; nowMs: number }> {
  const opts: SimClusterOptions = { seed, nodes: 4, replicas: 3, partitionCount: 32, clockSkewMsMax: 50, latencyMsMax: 20, anonymousSeeds: true };
  let cluster: SimCluster | undefined;
  await withSimCluster(opts, async (c) => {
    cluster = c;
    for (let i = 0; i < 12; i++) await c.put(c.ids[i % 4]!, `k${i % 5}`, `v${i}`, { consistency: i % 2 ? 'ONE' : 'QUORUM' });
    await c.crash('n2');
    await c.put('n1', 'k1', 'x');
    c.partition(['n4'], ['n1', 'n3']);
    await rejectionOf(c.put('n3', 'k2', 'y', { consistency: 'ALL', timeoutMs: 200 }));
    c.heal();
    await c.restart('n2');
    c.network.setLoss(0.2);
    for (let i = 0; i < 5; i++) await c.get(c.ids[i % 4]!, `k${i}`, { consistency: 'ONE' }).catch(() => undefined);
    c.network.setLoss(0);
    await c.settle();
  });
  return { lines: [...cluster!.transcript], digest: cluster!.transcriptDigest, nowMs: cluster!.scheduler.nowMs };
}

describe('sim/determinism', () => {
  it('the same seed gives the same transcript byte for byte', async () => {
    const seed = seedFromEnv(1234);
    const a = await scenario(seed);
    const b = await scenario(seed);
    expect(a.lines.length).to.be.greaterThan(100);
    expect(a.lines.some((l) => l.includes('"msg":"ring changed"'))).to.equal(true);
    expect(a.lines.some((l) => l.includes('net drop'))).to.equal(true);
    expect(a.lines.join('\n')).to.equal(b.lines.join('\n'));
    expect(a.digest).to.deep.equal(b.digest);
    expect(a.nowMs).to.equal(b.nowMs);
  });

  it('a different seed gives a different transcript', async () => {
    const seed = seedFromEnv(1234);
    const a = await scenario(seed);
    const b = await scenario(seed + 1);
    expect(a.digest.digest).to.not.equal(b.digest.digest);
  });
});
