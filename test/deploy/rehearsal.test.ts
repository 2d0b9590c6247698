/**
 * Rehearsal of the Kubernetes deployment on real node processes: each pod
 * of the rendered StatefulSet (deploy/k8s through kustomize-lite) runs as the
 * built CLI with exactly the arguments and environment the kubelet would
 * give it (ConfigMap, env, downward API for the pod name and a zone label,
 * $(POD_NAME) expansion, the image's own ENV). The one change is where the
 * pods are: peer DNS names (dynamo-N.dynamo-peers:7001) become
 * 127.0.0.1:<port of pod N>, the 0.0.0.0 listen addresses become that port
 * (and a metrics port), and /var/lib/dynamo becomes a temp dir per pod; the
 * test asserts that nothing else differs.
 *
 * Then it does what an operator does, following the README: start the
 * initial pods together (one late: nobody may found a ring without it, and
 * the waiting pods must stay live), check they form one cluster that places
 * every key's replicas in three zones and serves, restart one pod as
 * Kubernetes does (SIGTERM, exit, same id, same volume), scale out by one
 * pod (it joins by itself and takes its share), scale in (`dynamo
 * decommission`, wait until it has left, then stop the pod), with a client
 * writing throughout; every acknowledged write reads back at QUORUM.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { DynamoClient, type NodeStatus } from '../../lib/client/index.ts';
import { freePorts } from '../../lib/node/index.ts';
import { BUILT_CLI, ROOT } from '../../scripts/build.ts';
import { builtCli } from '../support/build.ts';
import { eventually, text, Writer } from '../integration/harness.ts';
import type { Doc } from './kustomize-lite.ts';
import { imageFacts, nodeContainer, only, podEnvironment, renderBase } from './pod.ts';

const ZONE_LABEL = 'topology.kubernetes.io/zone';
const ZONES = ['zone-a', 'zone-b', 'zone-c'];

async function health(address: string, service: string): Promise<string> {
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Health(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) =>
      (client['Check'] as Function).call(client, { service }, { deadline: Date.now() + 2000 }, (e: Error | null, r: { status: string | number }) =>
        e ? reject(e) : resolve(String(r.status === 1 ? 'SERVING' : r.status === 2 ? 'NOT_SERVING' : r.status)),
      ),
    );
  } finally {
    client.close();
  }
}

describe('deploy rehearsal: the StatefulSet on real processes', function () {
  this.timeout(240_000);
  const docs = renderBase();
  const sts = only(docs, 'StatefulSet');
  const container = nodeContainer(docs);
  const image = imageFacts();
  const setName: string = sts['metadata'].name;
  const peersName: string = sts['spec'].serviceName;
  const grpcPort: number = (container['ports'] as Doc[]).find((p) => p.name === 'grpc')!.containerPort;
  const metricsPort: number = (container['ports'] as Doc[]).find((p) => p.name === 'metrics')!.containerPort;
  const liveness: string = container['livenessProbe'].grpc.service;
  const readiness: string = container['readinessProbe'].grpc.service;
  const dataMount: string = (container['volumeMounts'] as Doc[]).find((m) => m.name === 'data')!.mountPath;

  let dir = '';
  let ports: number[] = [];
  let metrics: number[] = [];
  const running = new Map<string, ChildProcess>();
  const clients: DynamoClient[] = [];

  const podName = (ordinal: number): string => `${setName}-${ordinal}`;
  const logOf = (ordinal: number): string => path.join(dir, `${podName(ordinal)}.log`);
  const address = (ordinal: number): string => `127.0.0.1:${ports[ordinal]}`;
  const client = (...ordinals: number[]): DynamoClient => {
    const c = new DynamoClient({ endpoints: ordinals.map(address), timeoutMs: 5000, discovery: false });
    clients.push(c);
    return c;
  };

  /**
   * The pod's environment with the pods placed on loopback: the only
   * rewrite. Returns it with the names of the variables it changed.
   */
  function loopbackEnv(ordinal: number): { env: Record<string, string>; changed: string[] } {
    const pod = podEnvironment(docs, { name: podName(ordinal), labels: { [ZONE_LABEL]: ZONES[ordinal % ZONES.length]! } });
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(pod)) {
      let v = value.replace(new RegExp(`\\b${setName}-(\\d+)\\.${peersName}:${grpcPort}\\b`, 'g'), (_m, n: string) => address(Number(n)));
      if (v === `0.0.0.0:${grpcPort}`) v = address(ordinal);
      if (v === `0.0.0.0:${metricsPort}`) v = `127.0.0.1:${metrics[ordinal]}`;
      if (v === dataMount) v = path.join(dir, `data-${podName(ordinal)}`);
      env[name] = v;
    }
    const changed = Object.keys(env).filter((name) => env[name] !== pod[name]).sort();
    return { env, changed };
  }

  /** Start pod `ordinal` as the kubelet would (image ENV, then the container's); resolves once the process runs. */
  function startPod(ordinal: number): ChildProcess {
    const { env } = loopbackEnv(ordinal);
    mkdirSync(env['DYNAMO_DATA_DIR']!, { recursive: true });
    // Each pod's log (all its lives) is kept in the temp dir and shown if the rehearsal fails.
    const log = openSync(logOf(ordinal), 'a');
    // As the image does: node with the entry point's flags, the built CLI, the container's args.
    const child = spawn(process.execPath, [...image.entrypoint.slice(1, -1), builtCli(), ...(container['args'] as string[])], {
      env: { PATH: process.env['PATH'] ?? '', ...image.env, ...env },
      stdio: ['ignore', 'ignore', process.env['DYNAMO_IT_LOGS'] ? 'inherit' : log],
    });
    closeSync(log);
    running.set(podName(ordinal), child);
    child.once('exit', () => {
      if (running.get(podName(ordinal)) === child) running.delete(podName(ordinal));
    });
    return child;
  }

  /** SIGTERM, as the kubelet sends after preStop; resolves with the exit code. */
  async function stopPod(ordinal: number): Promise<number | null> {
    const child = running.get(podName(ordinal));
    if (child === undefined) return null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  }

  const ready = (ordinal: number, timeoutMs = 60_000): Promise<void> =>
    eventually(async () => {
      const s = await health(address(ordinal), readiness);
      if (s !== 'SERVING') throw new Error(`${podName(ordinal)} readiness ${s}`);
    }, timeoutMs);

  /** Until `via` reports exactly `ordinals` as members, all up, nothing moving, each owning partitions. */
  async function settled(via: number, ordinals: number[], timeoutMs = 90_000): Promise<NodeStatus> {
    const admin = client(via);
    return eventually(async () => {
      const status = await admin.status(address(via));
      const ring = await admin.ring(address(via));
      const ids = status.members.map((m) => m.id).sort();
      const want = ordinals.map(podName).sort();
      if (JSON.stringify(ids) !== JSON.stringify(want)) throw new Error(`members ${ids.join(',')}`);
      if (!status.members.every((m) => m.state === 'up')) throw new Error(`states ${status.members.map((m) => `${m.id}:${m.state}`).join(',')}`);
      if (ring.moving.length > 0) throw new Error(`${ring.moving.length} partitions moving`);
      if (new Set(ring.owners).size !== ordinals.length) throw new Error('owners do not match the members yet');
      return status;
    }, timeoutMs);
  }

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-rehearsal-'));
    [ports, metrics] = [await freePorts(4), await freePorts(4)];
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (let i = 0; i < 4; i++) {
      if (!existsSync(logOf(i))) continue;
      const lines = readFileSync(logOf(i), 'utf8').trimEnd().split('\n');
      process.stdout.write(`      --- last lines of ${podName(i)}'s log\n${lines.slice(-25).join('\n')}\n`);
    }
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    for (const child of running.values()) child.kill('SIGKILL');
    running.clear();
    rmSync(dir, { recursive: true, force: true });
  });

  it('places the pods on loopback by rewriting only peer addresses, listen addresses and the data dir', () => {
    expect(path.relative(ROOT, BUILT_CLI)).to.equal(image.entrypoint.at(-1));
    for (let i = 0; i < 4; i++) {
      const { env, changed } = loopbackEnv(i);
      expect(changed).to.deep.equal(['DYNAMO_ADVERTISE', 'DYNAMO_DATA_DIR', 'DYNAMO_LISTEN', 'DYNAMO_METRICS_LISTEN', 'DYNAMO_SEEDS']);
      expect(env['DYNAMO_ID']).to.equal(podName(i));
      expect(env['DYNAMO_SEEDS']).to.equal([0, 1, 2].map((n) => `${podName(n)}@${address(n)}`).join(','));
      expect(env['DYNAMO_ZONE']).to.equal(ZONES[i % 3]);
    }
  });

  it('rehearses bootstrap, a restart, scale-out and scale-in with no acknowledged write lost', async () => {
    const t0 = Date.now();
    const phase = (name: string): void => {
      process.stdout.write(`      (${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    };

    // Bootstrap. dynamo-0 is late (Pending, say): the others wait for it, live but not ready.
    startPod(1);
    startPod(2);
    await eventually(async () => {
      for (const i of [1, 2]) if ((await health(address(i), liveness)) !== 'SERVING') throw new Error('not live');
    }, 30_000);
    await new Promise((r) => setTimeout(r, 6000));
    for (const i of [1, 2]) {
      expect(await health(address(i), liveness), `${podName(i)} liveness while waiting`).to.equal('SERVING');
      expect(await health(address(i), readiness), `${podName(i)} readiness while waiting`).to.equal('NOT_SERVING');
    }
    startPod(0);
    await Promise.all([0, 1, 2].map((i) => ready(i)));
    const founded = await settled(0, [0, 1, 2]);
    expect(founded.ringVersion, 'the first ring has all three pods (no later join)').to.equal(1);
    expect(Object.fromEntries(founded.members.map((m) => [m.id, m.zone]))).to.deep.equal({ 'dynamo-0': 'zone-a', 'dynamo-1': 'zone-b', 'dynamo-2': 'zone-c' });
    phase('three pods serve');

    const app = new DynamoClient({ endpoints: [0, 1, 2].map(address), timeoutMs: 5000 }); // discovers every member, as an application does
    clients.push(app);
    const writer = new Writer(app, 'rehearsal', { pauseMs: 20, timeoutMs: 3000 });
    await eventually(async () => {
      if (writer.acked.size < 20) throw new Error('writer not going yet');
    }, 20_000);

    // A restart as Kubernetes does it: SIGTERM, the process drains and exits 0, same id and volume.
    const before = new Map(writer.acked);
    expect(await stopPod(1), 'exit code after SIGTERM').to.equal(0);
    startPod(1);
    await ready(1);
    const local = client(1);
    const sample = [...before.entries()].slice(0, 20);
    for (const [k, v] of sample) {
      const got = await eventually(() => local.get(k, { consistency: 'ONE' }), 10_000);
      expect(text(got.values), `${k} read at ONE through the restarted pod`).to.deep.equal([v]);
    }
    phase('dynamo-1 restarted');

    // Scale out: kubectl scale statefulset dynamo --replicas=4 starts dynamo-3 with the same template.
    startPod(3);
    await ready(3, 90_000);
    const grown = await settled(0, [0, 1, 2, 3]);
    expect(grown.members.find((m) => m.id === 'dynamo-3')!.partitionsOwned).to.be.greaterThan(0);
    const ring = await client(0).ring(address(0));
    const zoneOf = new Map(grown.members.map((m) => [m.id, m.zone]));
    ring.replicaSets.forEach((set, p) => expect(new Set(set.map((id) => zoneOf.get(id))).size, `partition ${p}: ${set.join(',')}`).to.equal(3));
    phase('dynamo-3 joined');

    // Scale in: decommission first (the README's command, run from another pod), wait until it has left, then scale down.
    const cli = spawnSync(process.execPath, [builtCli(), 'decommission', '--endpoint', address(3), '--json', '--interval-ms', '200'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(cli.status, cli.stderr).to.equal(0);
    expect(JSON.parse(cli.stdout.trim().split('\n').pop()!)).to.include({ ok: true, nodeId: 'dynamo-3', left: true });
    // The CLI returns once another member no longer lists dynamo-3; dynamo-3 itself hears of it a moment later.
    await eventually(async () => {
      const s = await health(address(3), readiness);
      if (s !== 'NOT_SERVING') throw new Error(`readiness of a node that left: ${s}`);
    }, 10_000);
    expect(await health(address(3), liveness), 'a node that left is alive: no restart').to.equal('SERVING');
    expect(await stopPod(3)).to.equal(0);
    await settled(0, [0, 1, 2]);
    phase('dynamo-3 decommissioned and stopped');

    await writer.stop();
    expect(writer.acked.size).to.be.greaterThan(100);
    const reader = client(0, 1, 2);
    const missing: string[] = [];
    for (const [k, v] of writer.acked) {
      const got = await eventually(() => reader.get(k, { consistency: 'QUORUM' }), 10_000);
      if (JSON.stringify(text(got.values)) !== JSON.stringify([v])) missing.push(`${k}: ${text(got.values).join('|') || '(none)'} != ${v}`);
    }
    expect(missing.slice(0, 5), `${missing.length} of ${writer.acked.size} acknowledged writes not read back`).to.deep.equal([]);
    phase(`${writer.acked.size} acknowledged writes read back (${writer.errors} refused)`);
  });
});
