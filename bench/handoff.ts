/**
 * `npm run bench:handoff`: how fast hinted handoff brings a replica back.
 * A local cluster of real node processes (LevelDB); one node is killed with
 * -9, keys are written at QUORUM until `--hinted` of them are hinted for it
 * (1 KiB values by default), then it is restarted and the hint stores are
 * polled until empty. Reports the time from restart to caught up (serving
 * included, and from serving alone) and the handoff rate in keys/s and MiB/s,
 * per round and as medians.
 *
 *   npm run bench:handoff -- --hinted 10000 --value-bytes 1024 --rounds 3
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { LocalCluster } from '../lib/node/index.ts';
import { DynamoClient } from '../lib/client/index.ts';
import { partitionOf } from '../lib/ring/index.ts';

const o = new Command()
  .name('bench-handoff')
  .option('--nodes <n>', 'cluster size (N=3)', '4')
  .option('--hinted <n>', 'keys hinted for the killed node', '10000')
  .option('--value-bytes <n>', 'value size', '1024')
  .option('--partitions <n>', 'ring partitions', '64')
  .option('--concurrency <n>', 'writes in flight while loading', '64')
  .option('--rounds <n>', 'repetitions (fresh cluster each)', '3')
  .parse(process.argv)
  .opts<Record<string, string>>();

const nodes = Number(o['nodes']);
const hinted = Number(o['hinted']);
const valueBytes = Number(o['valueBytes']);
const partitions = Number(o['partitions']);
const concurrency = Number(o['concurrency']);
const utf8 = new TextEncoder();

interface Round {
  restartToServingMs: number;
  restartToDrainedMs: number;
  servingToDrainedMs: number;
  keysPerSec: number;
  mibPerSec: number;
}

async function heldHints(cluster: LocalCluster, client: DynamoClient): Promise<number> {
  let held = 0;
  for (const m of cluster.members.filter((x) => cluster.pid(x.id) !== undefined)) held += (await client.status(m.address)).hints?.pending.reduce((n, p) => n + p.keys, 0) ?? 0;
  return held;
}

async function round(): Promise<Round> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-bench-handoff-'));
  const cluster = await LocalCluster.start({ nodes, dataDir: dir, basePort: 0, partitions, logLevel: 'error', stderr: 'ignore' });
  const victim = cluster.members.at(-1)!.id;
  const others = cluster.members.filter((m) => m.id !== victim);
  const client = new DynamoClient({ endpoints: others.map((m) => m.address), discovery: false, timeoutMs: 10_000 });
  try {
    const ring = await client.ring(others[0]!.address);
    await cluster.stopMember(victim, 'SIGKILL');
    // Wait until the others believe it down, so every write takes a fallback at once.
    for (;;) {
      const s = await client.status(others[0]!.address);
      if (s.members.find((m) => m.id === victim)?.state === 'down') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const value = new Uint8Array(valueBytes).fill(0x61);
    let next = 0;
    let count = 0;
    const writer = async (): Promise<void> => {
      while (count < hinted) {
        const key = `h${next++}`;
        if (!ring.replicaSets[partitionOf(utf8.encode(key), partitions)]!.includes(victim)) continue;
        count++;
        await client.put(key, value, { consistency: 'QUORUM' });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, writer));
    // A write is acknowledged at W; its hinted copy may land a moment later.
    let held = 0;
    for (let i = 0; i < 100 && (held = await heldHints(cluster, client)) < hinted; i++) await new Promise((r) => setTimeout(r, 100));
    if (held !== hinted) throw new Error(`expected ${hinted} hints held, found ${held}`);
    const started = performance.now();
    await cluster.startMember(victim);
    const serving = performance.now();
    while ((await heldHints(cluster, client)) > 0) await new Promise((r) => setTimeout(r, 50));
    const drained = performance.now();
    return {
      restartToServingMs: serving - started,
      restartToDrainedMs: drained - started,
      servingToDrainedMs: drained - serving,
      keysPerSec: hinted / ((drained - serving) / 1000),
      mibPerSec: (hinted * valueBytes) / (1 << 20) / ((drained - serving) / 1000),
    };
  } finally {
    await client.close();
    await cluster.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const rounds: Round[] = [];
for (let i = 0; i < Number(o['rounds']); i++) {
  const r = await round();
  rounds.push(r);
  process.stdout.write(
    `round ${i + 1}: restart→serving ${r.restartToServingMs.toFixed(0)} ms, serving→drained ${r.servingToDrainedMs.toFixed(0)} ms, ` +
      `restart→caught up ${r.restartToDrainedMs.toFixed(0)} ms; ${r.keysPerSec.toFixed(0)} keys/s, ${r.mibPerSec.toFixed(1)} MiB/s\n`,
  );
}
process.stdout.write(
  `median of ${rounds.length} (${hinted} hinted keys of ${valueBytes} B, ${nodes} nodes, N=3): ` +
    `restart→caught up ${median(rounds.map((r) => r.restartToDrainedMs)).toFixed(0)} ms, ` +
    `handoff ${median(rounds.map((r) => r.keysPerSec)).toFixed(0)} keys/s, ${median(rounds.map((r) => r.mibPerSec)).toFixed(1)} MiB/s\n`,
);
