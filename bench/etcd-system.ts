/**
 * The etcd anchor: a 3-member etcd cluster (Debian's etcd-server, installed
 * with apt-get when missing) on loopback ports, data in a temp dir removed
 * afterwards, driven through the `etcd3` client by the same load generator.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePorts } from '../lib/node/index.ts';
import type { SystemUnderTest } from './loadgen.ts';

const ETCD_CANDIDATES = ['/usr/bin/etcd', '/usr/local/bin/etcd'];

/** Path of the etcd binary, installing Debian's etcd-server if none is found. */
export function ensureEtcd(): string {
  const found = ETCD_CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  console.error('etcd not found: installing Debian package etcd-server (apt-get)');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'etcd-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const installed = ETCD_CANDIDATES.find((p) => existsSync(p));
  if (!installed) throw new Error('etcd-server installed but no etcd binary found');
  return installed;
}

async function waitHealthy(client: Etcd3, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.put('bench-health').value('ok');
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`etcd cluster not healthy after ${timeoutMs} ms: ${String(e)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function startEtcd(members = 3): Promise<SystemUnderTest & { pids(): number[] }> {
  const bin = ensureEtcd();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-bench-'));
  const ports = await freePorts(members * 2);
  const names = Array.from({ length: members }, (_, i) => `e${i + 1}`);
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[members + i]}`;
  const clientUrl = (i: number): string => `http://127.0.0.1:${ports[i]}`;
  const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  const children: ChildProcess[] = names.map((name, i) =>
    spawn(
      bin,
      [
        '--name', name,
        '--data-dir', path.join(dir, name),
        '--listen-client-urls', clientUrl(i),
        '--advertise-client-urls', clientUrl(i),
        '--listen-peer-urls', peerUrl(i),
        '--initial-advertise-peer-urls', peerUrl(i),
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', 'dynamo-bench',
        '--log-level', 'error',
        '--logger', 'zap',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    ),
  );
  const kill = (): void => children.forEach((c) => c.kill('SIGKILL'));
  process.on('exit', kill);
  const client = new Etcd3({ hosts: names.map((_, i) => clientUrl(i)) });
  try {
    await waitHealthy(client, 30_000);
  } catch (e) {
    kill();
    throw e;
  }
  return {
    name: 'etcd',
    async read(key) {
      await client.get(key).buffer();
    },
    async update(key, value) {
      await client.put(key).value(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    },
    pids: () => children.map((c) => c.pid).filter((p): p is number => p !== undefined),
    async close() {
      client.close();
      await Promise.all(children.map((c) => new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : (c.once('exit', () => resolve()), c.kill('SIGTERM'))))));
      process.off('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
