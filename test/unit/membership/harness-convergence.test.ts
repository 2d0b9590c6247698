/**
 * Convergence from a cold start (issue 7, "Convergence is logarithmic in
 * cluster size"): n nodes start within one gossip interval, each knowing the
 * same 3 seeds; the lowest id founds the ring once it knows all n
 * (bootstrapExpectCount = n). Rounds = gossip intervals until every node
 * holds the same member table and the same ring checksum. Seeded; failures
 * print the seed.
 */
import { expect } from 'chai';
import { testMembershipConfig } from '../../../lib/membership/index.ts';
import { coldStart, Harness } from './harness.ts';

const SEEDS = [11, 12];
const SIZES = [10, 16, 50, 100, 128];
const GOSSIP_MS = testMembershipConfig().gossipIntervalMs;

interface Row {
  n: number;
  rounds: number[];
  /** Packets per node per second once converged (idle cost). */
  idlePacketsPerNodeSec: number;
}

function measure(n: number, seed: number): { rounds: number; idle: number } {
  const h = new Harness({ seed, config: { ...testMembershipConfig(), bootstrapExpectCount: n }, delayMsMin: 1, delayMsMax: 20, lossRate: 0.005 });
  coldStart(h, n);
  const at = h.runUntilTrue(() => h.agreed(), 120_000, GOSSIP_MS / 10);
  expect(at, `n=${n} did not converge; reproduce with seed ${seed}`).to.not.equal(undefined);
  expect(h.view('n000').members()).to.have.length(n);
  const before = h.packetsDelivered;
  h.runFor(10_000);
  return { rounds: (at ?? 0) / GOSSIP_MS, idle: (h.packetsDelivered - before) / n / 10 };
}

describe('membership convergence (simulation)', function () {
  this.timeout(60_000);
  const rows: Row[] = [];

  before(() => {
    for (const n of SIZES) {
      const runs = SEEDS.map((seed) => measure(n, seed));
      rows.push({ n, rounds: runs.map((r) => r.rounds), idlePacketsPerNodeSec: Math.max(...runs.map((r) => r.idle)) });
    }
    const lines = rows.map(
      (r) => `  ${String(r.n).padStart(4)} nodes: ${r.rounds.map((x) => x.toFixed(1).padStart(5)).join(' ')} rounds   idle ${r.idlePacketsPerNodeSec.toFixed(1)} packets/node/s`,
    );
    console.log(`    cold start to full agreement (seeds ${SEEDS.join(', ')}; 1 round = ${GOSSIP_MS} ms):\n${lines.join('\n')}`);
  });

  it('converges at every size', () => {
    expect(rows.map((r) => r.n)).to.deep.equal(SIZES);
  });

  it('needs rounds growing like log n: rounds(128) <= 3 x rounds(16), and <= 2 log2(n) + 2 at every size', () => {
    const worst = (n: number): number => Math.max(...(rows.find((r) => r.n === n)?.rounds ?? [Infinity]));
    expect(worst(128)).to.be.at.most(3 * worst(16));
    for (const r of rows) expect(Math.max(...r.rounds), `n=${r.n}`).to.be.at.most(2 * Math.log2(r.n) + 2);
  });

  it('costs a constant number of packets per node per second at idle', () => {
    // per node and second: a probe (ping + ack), one gossip round (syn + ack, sometimes ack2), and the answers to others' rounds
    for (const r of rows) expect(r.idlePacketsPerNodeSec, `n=${r.n}`).to.be.within(3, 8);
  });
});
