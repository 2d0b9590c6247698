/**
 * Bootstrap from anonymous seeds (`--seeds host:port` without ids): a node
 * that cannot identify every seed stays joining — health NOT_SERVING, KV
 * UNAVAILABLE saying why — and becomes ready as soon as the seed answers.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { DynamoClient, UnavailableError } from '../../lib/client/index.ts';
import { freePorts, READY_LINE_PREFIX } from '../../lib/node/index.ts';
import { eventually } from './harness.ts';

const CLI = fileURLToPath(new URL('../../cmd/dynamo.ts', import.meta.url));
const HEALTH = fileURLToPath(new URL('../../node_modules/grpc-health-check/proto/health/v1/health.proto', import.meta.url));

function startNode(id: string, port: number, seeds: string, dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import=tsx', CLI, 'node', '--id', id, '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--seeds', seeds, '--replicas', '2', '--partitions', '32', '--log-level', 'error'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes(READY_LINE_PREFIX)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${id} exited with ${code}`)));
  });
}

async function healthOf(address: string, service: string): Promise<string> {
  const def = protoLoader.loadSync(HEALTH, { enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  const client = new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) =>
      (client['Check'] as Function).call(client, { service }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r.status))),
    );
  } finally {
    client.close();
  }
}

describe('integration: joining through anonymous seeds', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-join-'));
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays NOT_SERVING and UNAVAILABLE until its seed answers, then serves', async () => {
    const [p1, p2] = await freePorts(2);
    const a = `127.0.0.1:${p1}`;
    const b = `127.0.0.1:${p2}`;
    children.push(await startNode('alpha', p1!, `${a},${b}`, path.join(dir, 'alpha')));
    expect(await healthOf(a, 'dynamo.v1.KV')).to.equal('NOT_SERVING');
    const client = new DynamoClient({ endpoints: [a], timeoutMs: 2000 });
    try {
      const err = await client.get('k').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(UnavailableError);
      expect((err as Error).message).to.match(/joining/);

      children.push(await startNode('beta', p2!, `${a},${b}`, path.join(dir, 'beta')));
      await eventually(async () => {
        if ((await healthOf(a, 'dynamo.v1.KV')) !== 'SERVING') throw new Error('not serving yet');
      });
      await client.put('k', 'v', { consistency: 'ALL' });
      const status = await client.status(a);
      expect(status.ready).to.equal(true);
      expect(status.members.map((m) => m.id)).to.deep.equal(['alpha', 'beta']);
      const viaBeta = new DynamoClient({ endpoints: [b] });
      const got = await viaBeta.get('k', { consistency: 'ALL' }).finally(() => viaBeta.close());
      expect(got.values.map((v) => Buffer.from(v).toString())).to.deep.equal(['v']);
    } finally {
      client.close();
    }
  });
});
