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

  it('runs workloads A and C over both client paths and the echo anchor and reports them', async () => {
    const out = path.join(dir, 'results.json');
    const args = ['--import=tsx', RUN, '--systems', 'dynamo-session,dynamo-unary,echo', '--workloads', 'A,C', '--duration', '2', '--warmup', '0.5', '--keys', '300', '--clients', '8', '--gc', '--out', out];
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, args, { timeout: 110_000 }, (err, so, se) => (err ? reject(new Error(`${err.message}\n${se}`)) : resolve({ stdout: so, stderr: se })));
    });
    console.log(stdout.split('\n').map((l) => `      ${l}`).join('\n'));
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      results: Result[];
      ratios: { system: string; anchor: string; opsRatio: number }[];
      unaryVsSession: { workload: string; serverCpuRatio: number }[];
    };
    const systems = report.results.map((r) => `${r.system}/${r.workload}`).sort();
    expect(systems).to.deep.equal(['dynamo-session/A', 'dynamo-session/C', 'dynamo-unary/A', 'dynamo-unary/C', 'echo/A', 'echo/C']);
    for (const r of report.results) {
      expect(r.errors, `${r.system} ${r.workload} errors`).to.equal(0);
      expect(r.all.count).to.be.greaterThan(0);
      expect(r.opsPerSec).to.be.greaterThan(0);
    }
    expect(report.ratios.map((x) => `${x.system}/${x.anchor}`)).to.deep.equal(['dynamo-session/echo', 'dynamo-session/echo', 'dynamo-unary/echo', 'dynamo-unary/echo']);
    expect(report.unaryVsSession.map((x) => x.workload)).to.deep.equal(['A/uniform', 'C/uniform']);
    for (const x of report.unaryVsSession) expect(x.serverCpuRatio).to.be.greaterThan(0);
    expect(existsSync(out.replace(/\.json$/, '.svg'))).to.equal(true);
    expect(stdout).to.match(/dynamo-session \/ echo A\/uniform: ops\/s [\d.]+x/);
    expect(stdout).to.match(/unary \/ session A\/uniform: ops\/s [\d.]+x, p99 [\d.]+x, server CPU\/op [\d.]+x/);
    // --gc: every node of each dynamo run wrote its probe over the measured window (one line per run and workload).
    const gcLines = stderr.split('\n').filter((l) => / GC per node over \d+ s: /.test(l));
    expect(gcLines.map((l) => l.split(':')[0])).to.deep.equal(['dynamo-session', 'dynamo-session', 'dynamo-unary', 'dynamo-unary']);
    for (const l of gcLines) expect(l).to.match(/: (none|(major|minor|incremental|weakcb) [\d.]+\/s .*); main-thread GC pauses [\d.]+% of the window$/);
    expect(stderr).to.not.match(/no GC probe output/);
  });
});
