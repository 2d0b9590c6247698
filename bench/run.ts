/**
 * `npm run bench`: YCSB-style closed-loop benchmark of a local cluster
 * through the SDK. Prints a table (ops/s, p50/p99/p999 per operation) and
 * writes bench/out/results.json.
 *
 *   npm run bench -- --workloads A,B,C,W --clients 64 --duration 20 --keys 100000
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { isConsistency, type Consistency } from '../lib/protocol/index.ts';
import { preload, runWorkload, type RunResult, type SystemUnderTest } from './loadgen.ts';
import { WORKLOAD_TITLE, type Distribution, type WorkloadName } from './workload.ts';
import { startDynamo } from './dynamo-system.ts';

const OUT_DIR = fileURLToPath(new URL('./out', import.meta.url));

const program = new Command()
  .name('bench')
  .option('--workloads <list>', 'YCSB workloads: A (50/50), B (95/5), C (read-only), W (write-only)', 'A')
  .option('--distribution <d>', 'uniform | zipfian', 'uniform')
  .option('--clients <n>', 'concurrent closed-loop clients', '64')
  .option('--duration <s>', 'measured seconds per workload', '10')
  .option('--warmup <s>', 'warm-up seconds per workload', '2')
  .option('--keys <n>', 'key count (preloaded)', '100000')
  .option('--value-size <bytes>', 'value size', '1024')
  .option('--consistency <level>', 'read and write consistency', 'QUORUM')
  .option('--engine <engine>', 'leveldb | rocksdb | memory', 'leveldb')
  .option('--out <file>', 'JSON results file', path.join(OUT_DIR, 'results.json'))
  .option('--seed <n>', 'workload seed', '1');

program.parse(process.argv);
const o = program.opts<Record<string, string>>();

const workloads = o['workloads']!.split(',').map((w) => w.trim().toUpperCase()) as WorkloadName[];
for (const w of workloads) if (!(w in WORKLOAD_TITLE)) throw new Error(`unknown workload ${w}`);
const distribution = o['distribution'] as Distribution;
if (distribution !== 'uniform' && distribution !== 'zipfian') throw new Error('--distribution must be uniform or zipfian');
const consistency = o['consistency']!.toUpperCase();
if (!isConsistency(consistency)) throw new Error(`unknown consistency ${consistency}`);
const num = (name: string): number => {
  const n = Number(o[name]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};
const clients = num('clients');
const durationMs = num('duration') * 1000;
const warmupMs = Number(o['warmup']) * 1000;
const keys = num('keys');
const valueBytes = num('valueSize');
const seed = num('seed');

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

function printTable(results: RunResult[]): void {
  const rows = [['system', 'workload', 'op', 'ops/s', 'p50 ms', 'p99 ms', 'p999 ms', 'errors']];
  for (const r of results) {
    rows.push([r.system, `${r.workload}/${r.distribution}`, 'all', fmt(r.opsPerSec, 0), fmt(r.all.p50Ms), fmt(r.all.p99Ms), fmt(r.all.p999Ms), String(r.errors)]);
    for (const [op, s] of Object.entries(r.ops)) {
      rows.push(['', '', op, fmt((s.count / durationMs) * 1000, 0), fmt(s.p50Ms), fmt(s.p99Ms), fmt(s.p999Ms), String(s.errors)]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

async function benchSystem(sut: SystemUnderTest): Promise<RunResult[]> {
  const t0 = performance.now();
  await preload(sut, keys, valueBytes, clients);
  console.error(`${sut.name}: preloaded ${keys} keys in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  const results: RunResult[] = [];
  for (const workload of workloads) {
    const r = await runWorkload(sut, { workload, distribution, clients, durationMs, warmupMs, keys, valueBytes, seed });
    console.error(`${sut.name} ${WORKLOAD_TITLE[workload]}: ${fmt(r.opsPerSec, 0)} ops/s, p99 ${fmt(r.all.p99Ms)} ms${r.errors ? `, ${r.errors} errors (first: ${r.firstError})` : ''}`);
    results.push(r);
  }
  return results;
}

const results: RunResult[] = [];
const dynamo = await startDynamo({ nodes: 3, consistency: consistency as Consistency, engine: o['engine'] as 'leveldb' });
try {
  results.push(...(await benchSystem(dynamo)));
} finally {
  await dynamo.close();
}

printTable(results);
mkdirSync(path.dirname(o['out']!), { recursive: true });
writeFileSync(
  o['out']!,
  JSON.stringify({ at: new Date().toISOString(), settings: { workloads, distribution, clients, durationMs, warmupMs, keys, valueBytes, consistency }, results }, null, 2),
);
console.log(`results: ${o['out']}`);
