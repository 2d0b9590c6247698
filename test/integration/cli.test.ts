/**
 * The `dynamo` CLI as a user runs it — the built dist/cmd/dynamo.js on plain
 * `node`, no TypeScript loader — against a live cluster: output, `--json` on
 * every command, the documented exit codes, `where`, and writes with a node down.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRing, partitionOf, preferenceList } from '../../lib/ring/index.ts';
import { EXIT, EXIT_CODES } from '../../cmd/cli/exit-codes.ts';
import { builtCli } from '../support/build.ts';
import { columnStarts, dynamo, dynamoAll, expectOneLineError, jsonOf, killStragglers, type Run } from '../support/cli.ts';
import { eventually, startTestCluster, type TestCluster } from './harness.ts';

const BIN = builtCli();
const VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;

describe('integration: dynamo CLI', function () {
  this.timeout(120_000);
  let t: TestCluster;
  let endpoint: string;

  before(async () => {
    t = await startTestCluster();
    endpoint = t.cluster.endpoints.join(',');
  });
  after(async () => {
    killStragglers();
    await t?.teardown();
  });

  it('put then get prints the value; a second put replaces it', async () => {
    expect((await dynamo(['put', 'greeting', 'hello', '--endpoint', endpoint])).stdout).to.equal('OK\n');
    expect((await dynamo(['get', 'greeting', '--endpoint', endpoint])).stdout).to.equal('hello\n');
    await dynamo(['put', 'greeting', 'bonjour', '--endpoint', endpoint, '--consistency', 'all']);
    const got = await dynamo(['get', 'greeting', '--endpoint', endpoint, '--consistency', 'ALL']);
    expect(got.code).to.equal(EXIT.ok);
    expect(got.stdout).to.equal('bonjour\n');
  });

  it('put --blind makes a sibling, and get shows both', async () => {
    await dynamo(['put', 'twins', 'one', '--endpoint', endpoint, '--consistency', 'ALL']);
    await dynamo(['put', 'twins', 'two', '--blind', '--endpoint', endpoint, '--consistency', 'ALL']);
    const got = await dynamo(['get', 'twins', '--endpoint', endpoint, '--consistency', 'ALL', '--json']);
    const parsed = jsonOf(got) as { values: string[]; found: boolean; encoding: string };
    expect(parsed.found).to.equal(true);
    expect(parsed.encoding).to.equal('utf8');
    expect(parsed.values.sort()).to.deep.equal(['one', 'two']);
  });

  it('get of a missing or deleted key exits 1 in text and --json modes alike', async () => {
    await dynamo(['put', 'temp', 'x', '--endpoint', endpoint]);
    expect((await dynamo(['del', 'temp', '--endpoint', endpoint])).code).to.equal(EXIT.ok);
    const text = await dynamo(['get', 'temp', '--endpoint', endpoint]);
    expect(text.stdout).to.equal('');
    expectOneLineError(text, EXIT.notFound, /not found/);
    const json = await dynamo(['get', 'never-written', '--endpoint', endpoint, '--json']);
    expect(json.code).to.equal(EXIT.notFound);
    expect(jsonOf(json)).to.deep.include({ key: 'never-written', found: false, values: [] });
  });

  it('takes --json on every client command', async () => {
    const put = await dynamo(['put', 'j', 'v1', '--endpoint', endpoint, '--json']);
    expect(put.code).to.equal(EXIT.ok);
    const putJson = jsonOf(put) as { ok: boolean; context: string };
    expect(putJson.ok).to.equal(true);
    expect(Buffer.from(putJson.context, 'base64').length).to.be.greaterThan(0);
    const get = jsonOf(await dynamo(['get', 'j', '--endpoint', endpoint, '--json']));
    expect(get).to.deep.include({ key: 'j', found: true, values: ['v1'], encoding: 'utf8' });
    const status = jsonOf(await dynamo(['status', '--endpoint', endpoint, '--json']));
    expect(status.members.map((m: { id: string }) => m.id).sort()).to.deep.equal(['n1', 'n2', 'n3']);
    const where = jsonOf(await dynamo(['where', 'j', '--endpoint', endpoint, '--json']));
    expect(where.replicas).to.have.length(3);
    const del = await dynamo(['del', 'j', '--endpoint', endpoint, '--json']);
    expect(del.code).to.equal(EXIT.ok);
    expect(jsonOf(del)).to.deep.equal({ ok: true });
    // A failure in --json mode: the same exit code, the error as JSON on stdout, one line on stderr.
    const down = await dynamo(['get', 'j', '--endpoint', '127.0.0.1:1', '--timeout-ms', '2000', '--json']);
    expectOneLineError(down, EXIT.unavailable, /unreachable|no endpoint/);
    expect(jsonOf(down).error).to.deep.include({ code: 'DYNAMO_UNAVAILABLE', exitCode: EXIT.unavailable, maybeApplied: false });
  });

  it('prints binary values raw in text mode and as base64 in JSON, saying so', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x0a, 0x80]);
    const client = t.client();
    await client.put('binary', bytes, { consistency: 'ALL' });
    const json = jsonOf(await dynamo(['get', 'binary', '--endpoint', endpoint, '--json']));
    expect(json.encoding).to.equal('base64');
    expect(Buffer.from(json.values[0], 'base64').equals(bytes)).to.equal(true);
    const raw = await dynamo(['get', 'binary', '--endpoint', endpoint]);
    expect(raw.raw.equals(Buffer.concat([bytes, Buffer.from('\n')]))).to.equal(true);
  });

  it('takes the endpoint from DYNAMO_ENDPOINT', async () => {
    await dynamo(['put', 'env-key', 'env-value'], { DYNAMO_ENDPOINT: endpoint });
    expect((await dynamo(['get', 'env-key'], { DYNAMO_ENDPOINT: endpoint })).stdout).to.equal('env-value\n');
    expectOneLineError(await dynamo(['get', 'env-key'], { DYNAMO_ENDPOINT: 'not-an-endpoint' }), EXIT.usage, /DYNAMO_ENDPOINT/);
  });

  it('status shows every member in a table whose columns fit their content', async () => {
    const run = await dynamo(['status', '--endpoint', t.cluster.endpoints[0]!]);
    expect(run.code).to.equal(EXIT.ok);
    // These nodes predate membership states: each member shows as up because it is reachable.
    for (const m of t.cluster.members) expect(run.stdout).to.match(new RegExp(`${m.id}\\*?\\s+${m.address.replace(/\./g, '\\.')}\\s+up\\s+yes`));
    const lines = run.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('ID'));
    expect(lines[header]!.split(/\s+/)).to.deep.equal(['ID', 'ADDRESS', 'STATE', 'REACHABLE', 'OWNS%', 'PARTITIONS', 'HELD', 'KEYS', 'BYTES']);
    const starts = columnStarts(lines[header]!);
    for (const row of lines.slice(header + 1, header + 4)) expect(columnStarts(row)).to.deep.equal(starts);
  });

  it('where prints the key’s partition and preference list', async () => {
    const status = await t.client().status(t.cluster.endpoints[0]!);
    const ring = makeRing(status.partitionCount, status.members.map((m) => m.id).sort(), status.partitionOwners);
    for (const key of ['hello', 'user:42', 'z']) {
      const partition = partitionOf(Buffer.from(key), status.partitionCount);
      const replicas = preferenceList(ring, partition, status.replicas);
      const json = jsonOf(await dynamo(['where', key, '--endpoint', endpoint, '--json']));
      expect(json.partition).to.equal(partition);
      expect(json.partitionCount).to.equal(status.partitionCount);
      expect(json.ringChecksum).to.equal(status.ringChecksum);
      expect(json.replicas.map((r: { id: string }) => r.id)).to.deep.equal(replicas);
      const address = (id: string): string => t.cluster.member(id).address;
      expect(json.replicas.map((r: { address: string }) => r.address)).to.deep.equal(replicas.map(address));
      const text = await dynamo(['where', key, '--endpoint', endpoint]);
      expect(text.code).to.equal(EXIT.ok);
      expect(text.stdout).to.contain(`partition ${partition} of ${status.partitionCount}`);
      const rows = text.stdout.trim().split('\n').slice(2);
      expect(rows.map((r) => r.split(/\s+/)[1])).to.deep.equal(replicas);
    }
  });

  it('ring prints the ring the node holds, the same one its status reports', async () => {
    const status = await t.client().status(t.cluster.endpoints[0]!);
    const json = jsonOf(await dynamo(['ring', '--endpoint', t.cluster.endpoints[0]!, '--json']));
    expect(json).to.deep.include({ nodeId: status.nodeId, checksum: status.ringChecksum, partitionCount: status.partitionCount, replicas: status.replicas });
    expect(json.owners).to.deep.equal(status.partitionOwners);
    expect(json.replicaSets).to.have.length(status.partitionCount);
    for (const set of json.replicaSets) expect(new Set(set).size).to.equal(status.replicas);
    const text = await dynamo(['ring', '--endpoint', t.cluster.endpoints[0]!]);
    expect(text.code).to.equal(EXIT.ok);
    expect(text.stdout.split('\n')).to.have.length(status.partitionCount + 3);
  });

  it('exits 2 on every usage error, 3 when unavailable, 0 for --version and --help', async () => {
    const cases: [string[], number, RegExp][] = [
      [['get', 'k', '--endpoint', endpoint, '--consistency', 'MOST'], EXIT.usage, /consistency/],
      [['get', 'k', '--endpoint', endpoint, '--consistency', 'ANY'], EXIT.usage, /ANY/],
      [['get', 'k', '--endpoint', 'localhost'], EXIT.usage, /--endpoint/],
      [['get', 'k', '--endpoint', '127.0.0.1:99999'], EXIT.usage, /--endpoint/],
      [['status', '--endpoint', 'a b:1'], EXIT.usage, /--endpoint/],
      [['where', 'k', '--endpoint', ':7001'], EXIT.usage, /--endpoint/],
      [['get', 'k', '--endpoint', endpoint, '--timeout-ms', 'soon'], EXIT.usage, /timeout-ms/],
      [['put', 'k', 'v', '--endpoint', endpoint, '--blind', '--context', 'AA=='], EXIT.usage, /blind/],
      [['get', 'x'.repeat(1025), '--endpoint', endpoint], EXIT.usage, /key is 1025 bytes/],
      [['node', '--id', 'x', '--partitions', 'lots'], EXIT.usage, /partitions/],
      [['cluster', '--nodes', 'many'], EXIT.usage, /--nodes/],
      [['frobnicate'], EXIT.usage, /unknown command/],
      [['get', 'k', '--frobnicate'], EXIT.usage, /unknown option/],
      [['get'], EXIT.usage, /missing required argument/],
      [['get', 'k', '--endpoint', '127.0.0.1:1', '--timeout-ms', '2000'], EXIT.unavailable, /unreachable|no endpoint/],
    ];
    const runs = await dynamoAll(cases.map(([args]) => args));
    cases.forEach(([args, code, pattern], i) => {
      try {
        expectOneLineError(runs[i]!, code, pattern);
      } catch (e) {
        throw new Error(`dynamo ${args.join(' ').slice(0, 80)}: ${(e as Error).message}`);
      }
    });
    const [version, help] = (await dynamoAll([['--version'], ['--help']])) as [Run, Run];
    expect([version.code, version.stdout]).to.deep.equal([EXIT.ok, `${VERSION}\n`]);
    expect(help.code).to.equal(EXIT.ok);
    for (const e of EXIT_CODES) expect(help.stdout).to.match(new RegExp(`^  ${e.code}  `, 'm'));
  });

  it('offers only the levels a command can use in its help (ANY for writes), and --strict', async () => {
    const commands = ['get', 'put', 'del'];
    const helps = await dynamoAll(commands.map((c) => [c, '--help']));
    helps.forEach((help, i) => {
      expect(help.code).to.equal(EXIT.ok);
      expect(help.stdout).to.match(/ONE \| TWO \| THREE \| QUORUM \| ALL/);
      expect(help.stdout).to.match(/--strict/);
      if (commands[i] === 'get') expect(help.stdout, 'get --help').to.not.match(/\bANY\b/);
      else expect(help.stdout, `${commands[i]} --help`).to.match(/ALL \| ANY/);
    });
  });

  it('`dynamo cluster --json` starts a local cluster, serves, and stops cleanly on SIGINT', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-cli-cluster-'));
    const args = [BIN, 'cluster', '--nodes', '2', '--replicas', '2', '--base-port', '0', '--data-dir', dir, '--log-level', 'error', '--json'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    try {
      const started = await new Promise<{ endpoints: string[]; members: { id: string; address: string }[] }>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
        });
        child.once('exit', (code) => reject(new Error(`cluster exited early with ${code}: ${out}`)));
      });
      expect(started.endpoints).to.have.length(2);
      expect(started.members.map((m) => m.id)).to.deep.equal(['n1', 'n2']);
      const endpoints = started.endpoints.join(',');
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

  describe('with one of three nodes down', () => {
    before(async () => {
      await t.cluster.stopMember('n3', 'SIGKILL');
      // Wait until both survivors' failure detectors have marked it down (bound: 20 s), so writes
      // fail at once whichever endpoint the CLI picks. With n3 dead nobody can probe n1 or n2
      // indirectly, so a slow ack on a loaded machine is a brief suspicion of a live node too,
      // which it refutes: wait until both see each other up again (bounded).
      const admin = t.client('n1');
      await eventually(async () => {
        for (const id of ['n1', 'n2']) {
          const s = await admin.status(t.cluster.member(id).address);
          const states = ['n1', 'n2', 'n3'].map((m) => s.members.find((x) => x.id === m)?.state);
          if (states.join() !== 'up,up,down') throw new Error(`${id} sees ${states.join()}`);
        }
      }, 40_000);
    });
    after(async () => {
      await t.cluster.startMember('n3');
      await t.settle();
    });

    it('put/del --consistency ALL fail as writes (exit 3), not as their context read', async () => {
      await dynamo(['put', 'down', 'before', '--endpoint', endpoint]);
      // A transient suspicion of n1 or n2 (see before()) would make it "1 of 3": retry that case only, bounded.
      const put = await eventually(async () => {
        const run = await dynamo(['put', 'down', 'v', '--consistency', 'ALL', '--endpoint', endpoint]);
        if (/1 of 3 replicas are up/.test(run.stderr)) throw new Error(run.stderr);
        return run;
      }, 15_000);
      expectOneLineError(put, EXIT.unavailable, /put failed: ALL write failed: 2 of 3 replicas are up, 3 needed/);
      expect(put.stderr).to.not.match(/read failed/);
      expect(put.stderr, 'refused before anything was sent').to.not.match(/may have been applied/);
      const json = await dynamo(['put', 'down', 'v', '--consistency', 'ALL', '--endpoint', endpoint, '--json']);
      expect(json.code).to.equal(EXIT.unavailable);
      expect(jsonOf(json).error).to.deep.include({ code: 'DYNAMO_UNAVAILABLE', exitCode: EXIT.unavailable, maybeApplied: false });
      expectOneLineError(await dynamo(['del', 'down', '--consistency', 'ALL', '--endpoint', endpoint]), EXIT.unavailable, /del failed: ALL write failed/);
    });

    it('put at the default level and at QUORUM still succeed', async () => {
      expect((await dynamo(['put', 'down', 'quorum', '--endpoint', endpoint])).code).to.equal(EXIT.ok);
      expect((await dynamo(['put', 'down', 'two', '--consistency', 'TWO', '--endpoint', endpoint])).code).to.equal(EXIT.ok);
      const got = await dynamo(['get', 'down', '--consistency', 'QUORUM', '--endpoint', endpoint]);
      expect([got.code, got.stdout]).to.deep.equal([EXIT.ok, 'two\n']);
    });
  });
});
