/**
 * `npm run bench:scale`: how cost grows with data. Workload A (QUORUM,
 * uniform) on a local 3-node cluster whose data dirs were bulk-loaded first
 * (bulk-load.ts), as the key count grows and as values grow, with each
 * node's resident memory (RSS) after the run.
 *
 *   npm run bench:scale -- --keys 100000,1000000,10000000 --values 100,1024,16384,65536
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { runWorkload } from './loadgen.ts';
import { startDynamo } from './dynamo-system.ts';
import { bulkLoad } from './bulk-load.ts';
import { VALUE_KINDS, type ValueKind } from './values.ts';

const OUT_DIR = fileURLToPath(new URL('./out', import.meta.url));

const o = new Command()
  .name('bench-scale')
  .option('--keys <list>', 'key counts for the key-count table', '100000,1000000,10000000')
  .option('--key-value-size <bytes>', 'value size for the key-count table', '100')
  .option('--values <list>', 'value sizes for the value-size table', '100,1024,16384,65536')
  .option('--value-keys <n>', 'key count for the value-size table', '100000')
  .option('--value-kind <kind>', 'compressible (half redundant, like db_bench; default) | repeated (one letter pattern, the values of runs before 2026-12-01)', 'compressible')
  .option('--clients <n>', 'concurrent closed-loop clients', '64')
  .option('--duration <s>', 'measured seconds per point', '10')
  .option('--warmup <s>', 'warm-up seconds per point', '2')
  .option('--partitions <n>', 'ring partitions', '256')
  .option('--out <file>', 'JSON results', path.join(OUT_DIR, 'scale.json'))
  .parse(process.argv)
  .opts<Record<string, string>>();

const list = (s: string): number[] => s.split(',').map((x) => Number(x.trim())).filter((x) => x > 0);
const partitions = Number(o['partitions']);
const valueKind = o['valueKind'] as ValueKind;
if (!VALUE_KINDS.includes(valueKind)) throw new Error(`--value-kind must be one of ${VALUE_KINDS.join(', ')}`);

/** Resident set size of a process in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

interface Point {
  keys: number;
  valueBytes: number;
  loadSeconds: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  rssMiB: number[];
}

async function measure(keys: number, valueBytes: number): Promise<Point> {
  const t0 = performance.now();
  const sut = await startDynamo({
    nodes: 3,
    consistency: 'QUORUM',
    engine: 'leveldb',
    partitions,
    prepare: (members) => bulkLoad({ members, partitions, replicas: 3, keys, valueBytes, valueKind }),
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const r = await runWorkload(sut, {
      workload: 'A',
      distribution: 'uniform',
      clients: Number(o['clients']),
      durationMs: Number(o['duration']) * 1000,
      warmupMs: Number(o['warmup']) * 1000,
      keys,
      valueBytes,
      valueKind,
      seed: 1,
    });
    const point = { keys, valueBytes, loadSeconds, opsPerSec: r.opsPerSec, p50Ms: r.all.p50Ms, p99Ms: r.all.p99Ms, errors: r.errors, rssMiB: sut.pids().map(rssMiB) };
    console.error(`${keys} keys x ${valueBytes} B: loaded in ${loadSeconds.toFixed(0)} s, ${r.opsPerSec.toFixed(0)} ops/s, p99 ${r.all.p99Ms.toFixed(1)} ms, RSS ${point.rssMiB.map((x) => x.toFixed(0)).join('/')} MiB${r.errors > 0 ? `; first error: ${r.firstError}` : ''}`);
    return point;
  } finally {
    await sut.close();
  }
}

function table(title: string, points: Point[]): void {
  console.log(`\n${title}`);
  console.log('keys        value B   ops/s   p50 ms   p99 ms  errors  RSS per node (MiB)');
  for (const p of points) {
    console.log(
      `${String(p.keys).padEnd(10)}  ${String(p.valueBytes).padStart(7)}  ${p.opsPerSec.toFixed(0).padStart(6)}  ${p.p50Ms.toFixed(2).padStart(7)}  ${p.p99Ms.toFixed(2).padStart(7)}  ${String(p.errors).padStart(6)}  ${p.rssMiB.map((x) => x.toFixed(0)).join(' / ')}`,
    );
  }
}

const byKeys: Point[] = [];
for (const keys of list(o['keys']!)) byKeys.push(await measure(keys, Number(o['keyValueSize'])));
const byValues: Point[] = [];
for (const valueBytes of list(o['values']!)) byValues.push(await measure(Number(o['valueKeys']), valueBytes));

table(`Workload A (QUORUM, uniform) as keys grow (${o['keyValueSize']} B values)`, byKeys);
table(`Workload A (QUORUM, uniform) as values grow (${o['valueKeys']} keys)`, byValues);
mkdirSync(path.dirname(o['out']!), { recursive: true });
writeFileSync(o['out']!, JSON.stringify({ at: new Date().toISOString(), byKeys, byValues }, null, 2));
console.log(`results: ${o['out']}`);
