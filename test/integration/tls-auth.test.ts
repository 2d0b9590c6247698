/**
 * TLS and bearer tokens on real node processes (built CLI, LevelDB in a temp
 * dir, 127.0.0.1): certificates are made for the test with openssl, exactly
 * as README "TLS and authentication" tells operators to. A cluster with the
 * cluster CA serves the SDK and the CLI that trust that CA and hold a token;
 * a client without a token or with a wrong one is refused UNAUTHENTICATED;
 * a node whose certificate comes from another CA can neither join nor open
 * a Peer stream, and the refusal is logged on both sides.
 */
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';
import { DynamoClient, UnauthenticatedError, UnavailableError } from '../../lib/client/index.ts';
import { freePorts, SERVING_LINE_PREFIX } from '../../lib/node/index.ts';
import { builtCli } from '../support/build.ts';
import { dynamo, killStragglers } from '../support/cli.ts';
import { EXIT } from '../../cmd/cli/exit-codes.ts';
import { eventually, text } from './harness.ts';

const TOKEN = 'it-token-7f3a9c';

/** `openssl ...` in `dir`; throws with openssl's own message on failure. */
function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA (`<name>-ca.crt/.key`) and one certificate it signs (`<name>.crt/.key`) for 127.0.0.1 and localhost. */
function makeCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name} CA`, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`]);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name} node`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n');
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.crt`, '-CAkey', `${name}-ca.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
}

interface Proc {
  readonly id: string;
  readonly address: string;
  readonly child: ChildProcess;
  stderr: string;
}

describe('integration: TLS, node-to-node mutual TLS and bearer tokens', function () {
  this.timeout(120_000);
  let dir: string;
  const procs: Proc[] = [];
  let ports: number[];
  const clients: DynamoClient[] = [];
  let ca: string;

  /** Start `dynamo node` with `env` and resolve once it prints `until` on stdout. */
  async function startNode(id: string, port: number, seeds: string, env: Record<string, string>, until = SERVING_LINE_PREFIX): Promise<Proc> {
    const args = [builtCli(), 'node', '--id', id, '--listen', `127.0.0.1:${port}`, '--data-dir', path.join(dir, id), '--seeds', seeds];
    args.push('--bootstrap-expect', '3', '--partitions', '16', '--log-level', 'info');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } });
    const p: Proc = { id, address: `127.0.0.1:${port}`, child, stderr: '' };
    procs.push(p);
    child.stderr!.on('data', (c: Buffer) => (p.stderr += c.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes(until)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`${id} exited with ${code}: ${p.stderr}`)));
    });
    return p;
  }

  const client = (opts: Partial<ConstructorParameters<typeof DynamoClient>[0]> = {}): DynamoClient => {
    const c = new DynamoClient({ endpoints: [procs[0]!.address], timeoutMs: 5000, discovery: false, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-tls-'));
    makeCa(dir, 'cluster');
    makeCa(dir, 'foreign');
    writeFileSync(path.join(dir, 'tokens'), `# clients\n${TOKEN}\n`);
    ca = readFileSync(path.join(dir, 'cluster-ca.crt'), 'utf8');
    ports = await freePorts(4);
    const seeds = ports.slice(0, 3).map((p, i) => `n${i + 1}@127.0.0.1:${p}`).join(',');
    const env = {
      DYNAMO_TLS_CERT: path.join(dir, 'cluster.crt'),
      DYNAMO_TLS_KEY: path.join(dir, 'cluster.key'),
      DYNAMO_TLS_CA: path.join(dir, 'cluster-ca.crt'),
      DYNAMO_AUTH_TOKEN_FILE: path.join(dir, 'tokens'),
    };
    await Promise.all([0, 1, 2].map((i) => startNode(`n${i + 1}`, ports[i]!, seeds, env)));
  });

  after(async () => {
    killStragglers();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    for (const p of procs) if (p.child.exitCode === null) process.kill(p.child.pid!, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the SDK over TLS with the CA and the token, at QUORUM and ALL', async () => {
    const db = client({ tls: { ca }, token: TOKEN });
    await db.put('tls-key', 'over tls', { consistency: 'ALL' });
    const got = await db.get('tls-key', { consistency: 'QUORUM' });
    expect(text(got.values)).to.deep.equal(['over tls']);
    const unary = client({ tls: { ca }, token: TOKEN, protocol: 'unary' });
    expect(text((await unary.get('tls-key', { consistency: 'ALL' })).values)).to.deep.equal(['over tls']);
    const status = await db.status();
    expect(status.members.map((m) => m.id).sort()).to.deep.equal(['n1', 'n2', 'n3']);
  });

  it('serves the CLI with --tls-ca and --token-file, and with the node environment of a pod', async () => {
    const flags = ['--endpoint', procs[1]!.address, '--tls-ca', path.join(dir, 'cluster-ca.crt'), '--token-file', path.join(dir, 'tokens')];
    const put = await dynamo(['put', 'cli-tls', 'hello', ...flags]);
    expect(put.code, put.stderr).to.equal(EXIT.ok);
    // Inside a pod: DYNAMO_TLS_* and DYNAMO_AUTH_TOKEN_FILE are the node's own settings (its certificate doubles as a client one).
    const podEnv = {
      DYNAMO_ENDPOINT: procs[2]!.address,
      DYNAMO_TLS_CA: path.join(dir, 'cluster-ca.crt'),
      DYNAMO_TLS_CERT: path.join(dir, 'cluster.crt'),
      DYNAMO_TLS_KEY: path.join(dir, 'cluster.key'),
      DYNAMO_AUTH_TOKEN_FILE: path.join(dir, 'tokens'),
    };
    const get = await dynamo(['get', 'cli-tls'], podEnv);
    expect(get.code, get.stderr).to.equal(EXIT.ok);
    expect(get.stdout).to.equal('hello\n');
  });

  it('refuses a client without a token or with a wrong one: UNAUTHENTICATED, never retried elsewhere; CLI exit 6', async () => {
    for (const protocol of ['session', 'unary'] as const) {
      const none = client({ tls: { ca }, protocol, endpoints: procs.map((p) => p.address) });
      const e1 = await none.get('tls-key').then(() => undefined, (e: unknown) => e);
      expect(e1, protocol).to.be.instanceOf(UnauthenticatedError);
      expect((e1 as UnauthenticatedError).code).to.equal('DYNAMO_UNAUTHENTICATED');
      expect((e1 as Error).message).to.match(/requires a bearer token/);
      const wrong = client({ tls: { ca }, protocol, token: 'not-the-token' });
      const e2 = await wrong.put('tls-key', 'x').then(() => undefined, (e: unknown) => e);
      expect(e2, protocol).to.be.instanceOf(UnauthenticatedError);
      expect((e2 as UnauthenticatedError).maybeApplied).to.equal(false);
      expect((e2 as Error).message).to.match(/not accepted/);
    }
    const admin = await client({ tls: { ca } }).status().then(() => undefined, (e: unknown) => e);
    expect(admin).to.be.instanceOf(UnauthenticatedError);
    const run = await dynamo(['get', 'tls-key', '--endpoint', procs[0]!.address, '--tls-ca', path.join(dir, 'cluster-ca.crt'), '--token', 'nope', '--json']);
    expect(run.code).to.equal(EXIT.unauthenticated);
    expect(JSON.parse(run.stdout).error.code).to.equal('DYNAMO_UNAUTHENTICATED');
    // The value is untouched by the refused writes.
    expect(text((await client({ tls: { ca }, token: TOKEN }).get('tls-key', { consistency: 'ALL' })).values)).to.deep.equal(['over tls']);
    expect(procs[0]!.stderr).to.match(/"msg":"refused a client call: no token"/);
  });

  it('keeps health open for probes (no token), and refuses plaintext clients', async () => {
    const def = grpc.loadPackageDefinition(protoLoader.loadSync(HEALTH_PROTO, { enums: String })) as unknown as {
      grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { check: Function } } } };
    };
    const health = new def.grpc.health.v1.Health(procs[0]!.address, grpc.credentials.createSsl(Buffer.from(ca)));
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: '' }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
    );
    health.close();
    expect(res.status).to.equal('SERVING');
    const plain = client({ token: TOKEN, timeoutMs: 2000 });
    const e = await plain.get('tls-key').then(() => undefined, (x: unknown) => x);
    expect(e).to.be.instanceOf(UnavailableError);
  });

  it('does not let a node with a certificate from another CA join', async () => {
    const seeds = `127.0.0.1:${ports[0]}`;
    writeFileSync(path.join(dir, 'both-ca.crt'), readFileSync(path.join(dir, 'foreign-ca.crt'), 'utf8') + readFileSync(path.join(dir, 'cluster-ca.crt'), 'utf8'));
    const intruder = await startNode(
      'intruder',
      ports[3]!,
      seeds,
      {
        DYNAMO_TLS_CERT: path.join(dir, 'foreign.crt'),
        DYNAMO_TLS_KEY: path.join(dir, 'foreign.key'),
        // It even trusts the cluster CA (a bundle of both): what it lacks is a certificate the cluster trusts.
        DYNAMO_TLS_CA: path.join(dir, 'both-ca.crt'),
      },
      'dynamo node ready',
    );
    await eventually(async () => {
      if (!/a peer refused this node/.test(intruder.stderr)) throw new Error('the intruder has not been refused yet');
    }, 15_000);
    // Membership probes run every second: by now it would have joined, were it let in.
    await new Promise((r) => setTimeout(r, 3000));
    const status = await client({ tls: { ca }, token: TOKEN }).status();
    expect(status.members.map((m) => m.id).sort()).to.deep.equal(['n1', 'n2', 'n3']);
    expect(intruder.stderr).to.not.include(SERVING_LINE_PREFIX);
    // Its seed logged the refusal (once per remote address a minute: its retries do not flood the log).
    const refusals = procs[0]!.stderr.split('\n').filter((l) => l.includes('refused a node-to-node call'));
    expect(refusals.length).to.be.within(1, 2);
    expect(JSON.parse(refusals[0]!)).to.include({ level: 'warn', node: 'n1', module: 'auth', remote: '127.0.0.1', method: '/dynamo.v1.Peer/Stream', reason: 'no certificate' });
    const db = client({ tls: { ca }, token: TOKEN });
    expect(text((await db.get('tls-key', { consistency: 'ALL' })).values)).to.deep.equal(['over tls']);
  });
  /** Open a raw Peer stream with `creds`; resolves with the status it ends with, or 'accepted' once the node sends headers. */
  function peerStream(creds: grpc.ChannelCredentials): Promise<string> {
    const c = new grpc.Client(procs[0]!.address, creds);
    const call = c.makeBidiStreamRequest('/dynamo.v1.Peer/Stream', (b: Buffer) => b, (b: Buffer) => b);
    return new Promise<string>((resolve) => {
      call.on('metadata', () => {
        resolve('accepted');
        call.cancel();
      });
      call.on('error', () => {});
      call.on('status', (s: grpc.StatusObject) => resolve(grpc.status[s.code]!));
    }).finally(() => c.close());
  }

  it('accepts Peer streams only from certificates of the cluster CA', async () => {
    const file = (f: string): Buffer => readFileSync(path.join(dir, f));
    const noName = { checkServerIdentity: () => undefined };
    expect(await peerStream(grpc.credentials.createSsl(file('cluster-ca.crt'), file('cluster.key'), file('cluster.crt'), noName))).to.equal('accepted');
    expect(await peerStream(grpc.credentials.createSsl(file('cluster-ca.crt'), null, null, noName))).to.equal('UNAUTHENTICATED');
    expect(await peerStream(grpc.credentials.createSsl(file('cluster-ca.crt'), file('foreign.key'), file('foreign.crt'), noName))).to.equal('UNAUTHENTICATED');
  });

});
