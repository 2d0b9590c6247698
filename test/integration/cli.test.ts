/** The `dynamo` CLI (through its bin shim) against a live cluster, as a user would type it. */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestCluster, type TestCluster } from './harness.ts';

const BIN = fileURLToPath(new URL('../../cmd/dynamo.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function dynamo(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** One readable line, no stack trace. */
function expectOneLineError(run: Run, pattern: RegExp): void {
  expect(run.code).to.not.equal(0);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^dynamo: /);
  expect(lines[0]).to.match(pattern);
  expect(run.stderr).to.not.match(/\n\s+at /);
}

describe('integration: dynamo CLI', function () {
  this.timeout(90_000);
  let t: TestCluster;
  let endpoint: string;

  before(async () => {
    t = await startTestCluster();
    endpoint = t.cluster.endpoints.join(',');
  });
  after(async () => {
    await t?.teardown();
  });

  it('put then get prints the value; a second put replaces it', async () => {
    expect((await dynamo(['put', 'greeting', 'hello', '--endpoint', endpoint])).stdout).to.equal('OK\n');
    expect((await dynamo(['get', 'greeting', '--endpoint', endpoint])).stdout).to.equal('hello\n');
    await dynamo(['put', 'greeting', 'bonjour', '--endpoint', endpoint, '--consistency', 'all']);
    const got = await dynamo(['get', 'greeting', '--endpoint', endpoint, '--consistency', 'ALL']);
    expect(got.code).to.equal(0);
    expect(got.stdout).to.equal('bonjour\n');
  });

  it('put --blind makes a sibling, and get shows both', async () => {
    await dynamo(['put', 'twins', 'one', '--endpoint', endpoint, '--consistency', 'ALL']);
    await dynamo(['put', 'twins', 'two', '--blind', '--endpoint', endpoint, '--consistency', 'ALL']);
    const got = await dynamo(['get', 'twins', '--endpoint', endpoint, '--consistency', 'ALL', '--json']);
    const parsed = JSON.parse(got.stdout) as { values: string[]; found: boolean };
    expect(parsed.found).to.equal(true);
    expect(parsed.values.sort()).to.deep.equal(['one', 'two']);
  });

  it('del removes the key; get of a missing key exits 1 with one line', async () => {
    await dynamo(['put', 'temp', 'x', '--endpoint', endpoint]);
    expect((await dynamo(['del', 'temp', '--endpoint', endpoint])).code).to.equal(0);
    const got = await dynamo(['get', 'temp', '--endpoint', endpoint]);
    expect(got.stdout).to.equal('');
    expectOneLineError(got, /not found/);
  });

  it('takes the endpoint from DYNAMO_ENDPOINT', async () => {
    await dynamo(['put', 'env-key', 'env-value'], { DYNAMO_ENDPOINT: endpoint });
    expect((await dynamo(['get', 'env-key'], { DYNAMO_ENDPOINT: endpoint })).stdout).to.equal('env-value\n');
  });

  it('status shows every member and that it is reachable', async () => {
    const run = await dynamo(['status', '--endpoint', t.cluster.endpoints[0]!]);
    expect(run.code).to.equal(0);
    for (const m of t.cluster.members) expect(run.stdout).to.match(new RegExp(`${m.id}\\*?\\s+${m.address.replace(/\./g, '\\.')}\\s+yes`));
  });

  it('reports bad input and unreachable nodes as one line with a non-zero exit', async () => {
    expectOneLineError(await dynamo(['get', 'k', '--endpoint', endpoint, '--consistency', 'MOST']), /consistency/);
    expectOneLineError(await dynamo(['get', 'k', '--endpoint', '127.0.0.1:1', '--timeout-ms', '2000']), /unavailable|connect|UNAVAILABLE/i);
    expectOneLineError(await dynamo(['put', 'k', 'x'.repeat(10), '--endpoint', endpoint, '--consistency', 'ANY']), /ANY/);
    expectOneLineError(await dynamo(['node', '--id', 'x', '--partitions', 'lots']), /partitions/);
    expectOneLineError(await dynamo(['frobnicate']), /unknown command/);
  });

  it('`dynamo cluster` starts a local cluster, serves, and stops cleanly on SIGINT', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-cli-cluster-'));
    const child = spawn(process.execPath, [BIN, 'cluster', '--nodes', '2', '--replicas', '2', '--base-port', '0', '--data-dir', dir, '--log-level', 'error'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const endpoints = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /endpoints: (\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`cluster exited early with ${code}: ${out}`)));
      });
      expect(endpoints.split(',')).to.have.length(2);
      await dynamo(['put', 'local', 'cluster', '--endpoint', endpoints]);
      expect((await dynamo(['get', 'local', '--endpoint', endpoints])).stdout).to.equal('cluster\n');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      expect(await exited).to.equal(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
