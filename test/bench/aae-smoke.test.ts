/**
 * A guard, not a timed test: bench/aae.ts still runs end to end on a small
 * input — trees built, a full exchange of every partition, convergence
 * checked inside the bench (it throws otherwise) — and prints its table. The
 * byte figures are deterministic (seeded), so their shape is checked too;
 * times are printed only.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('../../bench/aae.ts', import.meta.url));

describe('bench:aae smoke', function () {
  this.timeout(60_000);

  it('runs a full exchange at 0, 20 and 400 divergent keys and reports bytes that grow with divergence', async () => {
    const args = ['--import=tsx', BENCH, '--keys', '5000', '--partitions', '8', '--divergent', '0,20,400'];
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, args, { timeout: 55_000 }, (err, so, se) => (err ? reject(new Error(`${err.message}\n${se}`)) : resolve(so)));
    });
    console.log(stdout.split('\n').map((l) => `      ${l}`).join('\n'));
    const rows = stdout
      .split('\n')
      .filter((l) => /^\s*[\d,]+\s+\d+/.test(l))
      .map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => r[0])).to.deep.equal(['0', '20', '400']);
    const bytes = rows.map((r) => Number(r[5]!.replace(/,/g, '')) + Number(r[6]!.replace(/,/g, '')));
    // Idle: one root request (4 bytes) and reply (10) per partition.
    expect(bytes[0]).to.equal(8 * 14);
    expect(bytes[1]).to.be.greaterThan(bytes[0]!);
    expect(bytes[2]).to.be.greaterThan(bytes[1]!);
    // Records moved: both versions of half the keys, one copy of the rest.
    expect(rows.map((r) => Number(r[8]))).to.deep.equal([0, 30, 600]);
  });
});
