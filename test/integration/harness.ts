/**
 * Integration harness: a real cluster of node processes on 127.0.0.1 with
 * classic-level data in a temp dir, torn down (every pid killed, dir removed)
 * even when a test fails. The nodes run the built CLI (dist/cmd/dynamo.js)
 * on plain `node`, as they do in production.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster, type LocalClusterOptions } from '../../lib/node/index.ts';
import { DynamoClient } from '../../lib/client/index.ts';
import { builtCli } from '../support/build.ts';

export interface TestCluster {
  cluster: LocalCluster;
  dir: string;
  /** A client of every member, or only through the named members (no discovery then: they coordinate). */
  client(...ids: string[]): DynamoClient;
  /** After restarts: wait until every member reaches every replica again (an ALL read through each). */
  settle(): Promise<void>;
  teardown(): Promise<void>;
}

const live = new Set<LocalCluster>();
process.on('exit', () => {
  for (const c of live) c.killAllSync();
});

export async function startTestCluster(opts: Partial<LocalClusterOptions> = {}): Promise<TestCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-it-'));
  const cluster = await LocalCluster.start({
    nodes: 3,
    dataDir: dir,
    basePort: 0,
    partitions: 64,
    logLevel: 'error',
    stderr: process.env['DYNAMO_IT_LOGS'] ? 'inherit' : 'ignore',
    cli: builtCli(),
    ...opts,
  });
  live.add(cluster);
  const clients: DynamoClient[] = [];
  return {
    cluster,
    dir,
    client(...ids: string[]): DynamoClient {
      const members = ids.length ? ids.map((id) => cluster.member(id)) : cluster.members;
      // Named nodes mean "through these coordinators": no discovery of the others.
      const c = new DynamoClient({ endpoints: members.map((m) => m.address), timeoutMs: 5000, discovery: ids.length === 0 });
      clients.push(c);
      return c;
    },
    async settle(): Promise<void> {
      // Running members only: a stopped, decommissioned or removed one answers nothing.
      for (const m of cluster.members.filter((x) => cluster.pid(x.id) !== undefined)) {
        const c = new DynamoClient({ endpoints: [m.address], timeoutMs: 2000, discovery: false });
        clients.push(c);
        await eventually(() => c.get('settle-probe', { consistency: 'ALL' }), 30_000);
      }
    },
    async teardown(): Promise<void> {
      await Promise.all(clients.map((c) => c.close()));
      await cluster.stop('SIGKILL');
      live.delete(cluster);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const text = (values: Uint8Array[]): string[] => values.map((v) => Buffer.from(v).toString('utf8')).sort();

/**
 * Retry `fn` until it succeeds or `timeoutMs` passes: for the first request
 * after a node restarts, while peers reconnect to it.
 */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() - start > timeoutMs) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Writes keys `${prefix}-0`, `${prefix}-1`, ... at QUORUM until stopped and
 * remembers the ones acknowledged (each key is written once, so its
 * acknowledged value is the one it must read back).
 */
export class Writer {
  readonly acked = new Map<string, string>();
  errors = 0;
  #stopped = false;
  readonly #done: Promise<void>;
  /** `pauseMs`: between writes; `timeoutMs`: per write (the client's default when absent). */
  constructor(client: DynamoClient, prefix: string, opts: { pauseMs?: number; timeoutMs?: number } = {}) {
    this.#done = (async () => {
      for (let i = 0; !this.#stopped; i++) {
        const key = `${prefix}-${i}`;
        try {
          await client.put(key, `v${i}`, { consistency: 'QUORUM', ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }) });
          this.acked.set(key, `v${i}`);
        } catch {
          this.errors++;
          await new Promise((r) => setTimeout(r, 50));
        }
        if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
    })();
  }
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}
