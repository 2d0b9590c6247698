/**
 * `npm run bench:aae-cluster`: anti-entropy on a real local cluster with the
 * default settings (3 nodes, 256 partitions, LevelDB, an exchange every
 * 100 ms per node) — issue 9's "an idle 3-node local cluster completes a
 * full exchange of every partition within 60 s".
 *
 *  1. idle: from the moment every node serves, how long until each node has
 *     had a complete exchange of every partition it replicates
 *     (status antiEntropy.lastFullExchangeAtMs);
 *  2. catch-up: n3 is killed, `--keys` keys are written at QUORUM and
 *     `--deletes` of the keys it held are deleted, n3 restarts (its trees
 *     rebuilt after the kill) and nothing is read: how long until n3 has
 *     compared every partition after its restart, and then — read from n3
 *     alone, the others stopped — how many keys it holds and how many deleted
 *     ones it still shows.
 *
 *   node --import=tsx bench/aae-cluster.ts [--keys 3000] [--deletes 300] [--interval-ms 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { DynamoClient, type NodeStatus } from '../lib/client/index.ts';
import { LocalCluster } from '../lib/node/index.ts';

const o = new Command()
  .name('bench-aae-cluster')
  .option('--keys <n>', 'keys written while n3 is down', '3000')
  .option('--deletes <n>', 'keys n3 held that are deleted while it is down', '300')
  .option('--partitions <n>', 'ring partitions', '256')
  .option('--interval-ms <ms>', '--anti-entropy-interval-ms of every node (default: the node default, 100)', '')
  .parse(process.argv)
  .opts<Record<string, string>>();

const KEYS = Number(o['keys']);
const DELETES = Number(o['deletes']);
const PARTITIONS = Number(o['partitions']);
const env: Record<string, string> = o['intervalMs'] ? { DYNAMO_ANTI_ENTROPY_INTERVAL_MS: o['intervalMs'] } : {};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-aae-bench-'));
const cluster = await LocalCluster.start({ nodes: 3, dataDir: dir, basePort: 0, partitions: PARTITIONS, logLevel: 'error', stderr: 'inherit', env });
process.on('exit', () => cluster.killAllSync());
const clients: DynamoClient[] = [];
const client = (...ids: string[]): DynamoClient => {
  const c = new DynamoClient({ endpoints: ids.map((id) => cluster.member(id).address), discovery: false, timeoutMs: 5000 });
  clients.push(c);
  return c;
};
const statusOf = (id: string): Promise<NodeStatus> => client(id).status(cluster.member(id).address);

/** Poll until every one of `ids` reports every partition fully compared after `afterMs`; ms from `fromMs`. */
async function fullyCompared(ids: readonly string[], afterMs: number, fromMs: number, limitMs = 300_000): Promise<Record<string, number>> {
  const at: Record<string, number> = {};
  while (Object.keys(at).length < ids.length) {
    if (Date.now() - fromMs > limitMs) throw new Error(`not every partition compared within ${limitMs} ms`);
    for (const id of ids) {
      if (at[id] !== undefined) continue;
      try {
        const ae = (await statusOf(id)).antiEntropy!;
        if (ae.partitions === PARTITIONS && ae.lastFullExchangeAtMs > afterMs) at[id] = Date.now() - fromMs;
      } catch {
        // restarting: ask again
      }
    }
    await sleep(100);
  }
  return at;
}

try {
  // 1. Idle.
  const servingAt = Date.now();
  const idle = await fullyCompared(['n1', 'n2', 'n3'], 0, servingAt);
  const cycles = await Promise.all(['n1', 'n2', 'n3'].map(async (id) => (await statusOf(id)).antiEntropy!));
  console.log(`idle 3-node cluster, ${PARTITIONS} partitions: every partition fully compared after ${['n1', 'n2', 'n3'].map((id) => `${id} ${(idle[id]! / 1000).toFixed(1)} s`).join(', ')}`);
  console.log(`  (last full pass: ${cycles.map((a, i) => `n${i + 1} ${(a.lastCycleMs / 1000).toFixed(1)} s`).join(', ')}; bytes sent so far ${cycles.map((a) => a.bytesSent).join(' / ')})`);

  // 2. Catch-up after missing writes and deletes.
  const all = client('n1', 'n2', 'n3');
  for (let i = 0; i < DELETES; i++) await all.put(`old-${i}`, `o${i}`, { consistency: 'ALL' });
  await cluster.stopMember('n3', 'SIGKILL');
  const via = client('n1', 'n2');
  const t0 = Date.now();
  for (let i = 0; i < KEYS; i++) await via.put(`key-${i}`, `value-${i}`, { consistency: 'QUORUM' });
  for (let i = 0; i < DELETES; i++) {
    const { context } = await via.get(`old-${i}`, { consistency: 'QUORUM' });
    await via.delete(`old-${i}`, { consistency: 'QUORUM', context });
  }
  console.log(`n3 down: ${KEYS} keys written, ${DELETES} deleted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const restartAt = Date.now();
  await cluster.startMember('n3');
  const caughtUp = await fullyCompared(['n3'], restartAt, restartAt);
  const s3 = (await statusOf('n3')).antiEntropy!;
  const pushed = (await statusOf('n1')).antiEntropy!.keysPushed + (await statusOf('n2')).antiEntropy!.keysPushed;
  console.log(
    `n3 restarted (trees rebuilt after kill -9): every partition compared ${(caughtUp['n3']! / 1000).toFixed(1)} s after the restart began; ` +
      `n3 pulled ${s3.keysPulled} keys, n1+n2 pushed ${pushed}`,
  );
  await cluster.stopMember('n1', 'SIGTERM');
  await cluster.stopMember('n2', 'SIGTERM');
  const alone = client('n3');
  let held = 0;
  let shown = 0;
  for (let i = 0; i < KEYS; i++) if ((await alone.get(`key-${i}`, { consistency: 'ONE' })).found) held++;
  for (let i = 0; i < DELETES; i++) if ((await alone.get(`old-${i}`, { consistency: 'ONE' })).found) shown++;
  console.log(`read from n3 alone: ${held}/${KEYS} keys held, ${shown}/${DELETES} deleted keys still shown`);
} finally {
  await Promise.all(clients.map((c) => c.close()));
  await cluster.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
