/**
 * A guard, not a timed test: `npm run bench` still works end to end (local
 * cluster, SDK, load generator, echo anchor, table, JSON and chart) on a
 * few-second run. It prints the figures; targets live only in bench output.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));

interface Result {
  system: string;
  workload: string;
  opsPerSec: number;
  errors: number;
  all: { p99Ms: number; count: number };
}

describe('bench smoke', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-bench-smoke-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs workloads A and C against dynamo and the echo anchor and reports them', async () => {
    const out = path.join(dir, 'results.json');
    const args = ['--import=tsx', RUN, '--systems', 'dynamo,echo', '--workloads', 'A,C', '--duration', '2', '--warmup', '0.5', '--keys', '300', '--clients', '8', '--out', out];
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, args, { timeout: 110_000 }, (err, so, se) => (err ? reject(new Error(`${err.message}\n${se}`)) : resolve(so)));
    });
    console.log(stdout.split('\n').map((l) => `      ${l}`).join('\n'));
    const report = JSON.parse(readFileSync(out, 'utf8')) as { results: Result[]; ratios: { anchor: string; opsRatio: number }[] };
    const systems = report.results.map((r) => `${r.system}/${r.workload}`).sort();
    expect(systems).to.deep.equal(['dynamo/A', 'dynamo/C', 'echo/A', 'echo/C']);
    for (const r of report.results) {
      expect(r.errors, `${r.system} ${r.workload} errors`).to.equal(0);
      expect(r.all.count).to.be.greaterThan(0);
      expect(r.opsPerSec).to.be.greaterThan(0);
    }
    expect(report.ratios.map((x) => x.anchor)).to.deep.equal(['echo', 'echo']);
    expect(existsSync(out.replace(/\.json$/, '.svg'))).to.equal(true);
    expect(stdout).to.match(/dynamo \/ echo A\/uniform: ops\/s [\d.]+x/);
  });
});
