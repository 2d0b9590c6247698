/**
 * `npm run bench:scale`: how cost grows with data. Workload A (QUORUM,
 * uniform) on a local 3-node cluster whose data dirs were bulk-loaded first
 * (bulk-load.ts), as the key count grows and as values grow, with each
 * node's resident memory (RSS) after the run.
 *
 * Each point is measured once the cluster has settled (`--settle-max`, 0 to
 * measure at once): every node has built its anti-entropy trees from the
 * loaded data and the nodes' CPU has fallen quiet (LevelDB's compactions of
 * the load are done). The table says how long that took and what CPU it
 * cost, since a node restarted after a crash pays it again (its trees are
 * rebuilt from a scan). Writes carry the context of the loaded version
 * (bulk-load.ts's loadedContext), so they replace it as an application's
 * read-modify-write would instead of adding a sibling beside it.
 *
 * `--windows N` measures N consecutive windows of `--duration` seconds per
 * point: with data sets of millions of keys the engine's compactions come in
 * bursts of tens of seconds, so one short window says little about the
 * steady state. The table shows the mean over the windows and the slowest
 * and fastest window; p50 is the median window's, p99 the worst window's.
 *
 *   npm run bench:scale -- --keys 100000,1000000,10000000 --values 100,1024,16384,65536
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { processCpuUs, runWorkload } from './loadgen.ts';
import { startDynamo, type DynamoUnderTest } from './dynamo-system.ts';
import { bulkLoad, loadedContext } from './bulk-load.ts';
import { VALUE_KINDS, type ValueKind } from './values.ts';
import { summarizeWindows } from './windows.ts';

const OUT_DIR = fileURLToPath(new URL('./out', import.meta.url));

const o = new Command()
  .name('bench-scale')
  .option('--keys <list>', 'key counts for the key-count table', '100000,1000000,10000000')
  .option('--key-value-size <bytes>', 'value size for the key-count table', '100')
  .option('--values <list>', 'value sizes for the value-size table', '100,1024,16384,65536')
  .option('--value-keys <n>', 'key count for the value-size table', '100000')
  .option('--value-kind <kind>', 'compressible (half redundant, like db_bench; default) | repeated (one letter pattern, the values of runs before 2026-12-01)', 'compressible')
  .option('--clients <n>', 'concurrent closed-loop clients', '64')
  .option('--duration <s>', 'measured seconds per window', '10')
  .option('--windows <n>', 'consecutive measured windows per point (the table shows their mean, min and max: compactions come in bursts)', '1')
  .option('--warmup <s>', 'warm-up seconds per point', '2')
  .option('--settle-max <s>', 'longest wait, after start, for trees built and CPU quiet before measuring (0: measure at once)', '1800')
  .option('--partitions <n>', 'ring partitions', '256')
  .option('--engine <engine>', 'leveldb | rocksdb (the nodes\' engine, and what the bulk loader writes)', 'leveldb')
  .option('--out <file>', 'JSON results', path.join(OUT_DIR, 'scale.json'))
  .parse(process.argv)
  .opts<Record<string, string>>();

const list = (s: string): number[] => s.split(',').map((x) => Number(x.trim())).filter((x) => x > 0);
const partitions = Number(o['partitions']);
if (o['engine'] !== 'leveldb' && o['engine'] !== 'rocksdb') throw new Error('--engine must be leveldb or rocksdb');
const engine: 'leveldb' | 'rocksdb' = o['engine'];
const valueKind = o['valueKind'] as ValueKind;
const windows = Number(o['windows']);
if (!Number.isInteger(windows) || windows < 1) throw new Error('--windows must be a whole number of at least 1');
if (!VALUE_KINDS.includes(valueKind)) throw new Error(`--value-kind must be one of ${VALUE_KINDS.join(', ')}`);

/**
 * Resident memory of a process in MiB (Linux /proc): all of it, and the
 * anonymous part. The rest is file pages mapped in, mostly LevelDB's table
 * files, which it reads through mmap: page cache the kernel can take back,
 * not memory the node holds (10M keys: ~1 GB of a node's RSS, ~120 MiB anonymous).
 */
function rssOf(pid: number): { rssMiB: number; anonMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, anonMiB: kib('RssAnon') / 1024 };
}

interface Point {
  keys: number;
  valueBytes: number;
  loadSeconds: number;
  /** From start to settled (trees built, CPU quiet), and the nodes' CPU seconds meanwhile. */
  settleSeconds: number;
  settleCpuSeconds: number;
  /** False when --settle-max ran out first. */
  settled: boolean;
  /** Over every window (their mean: they are of equal length). */
  opsPerSec: number;
  /** Each window's ops/s, in order, and the slowest and fastest. */
  windowOpsPerSec: number[];
  windowMinOpsPerSec: number;
  windowMaxOpsPerSec: number;
  /** The median window's p50, and the worst window's p99. */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  rssMiB: number[];
  /** The anonymous part of rssMiB (rssOf). */
  rssAnonMiB: number[];
}

async function measure(keys: number, valueBytes: number): Promise<Point> {
  const t0 = performance.now();
  const sut = await startDynamo({
    nodes: 3,
    consistency: 'QUORUM',
    engine,
    partitions,
    prepare: (members) => bulkLoad({ members, partitions, replicas: 3, keys, valueBytes, valueKind, engine }),
    preparedContext: loadedContext,
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const settle = await settleOf(sut, Number(o['settleMax']) * 1000);
    const runs = [];
    for (let w = 0; w < windows; w++) {
      runs.push(
        await runWorkload(sut, {
          workload: 'A',
          distribution: 'uniform',
          clients: Number(o['clients']),
          durationMs: Number(o['duration']) * 1000,
          warmupMs: w === 0 ? Number(o['warmup']) * 1000 : 0,
          keys,
          valueBytes,
          valueKind,
          seed: w + 1,
        }),
      );
    }
    const rates = summarizeWindows(runs.map((r) => r.opsPerSec));
    const p50s = runs.map((r) => r.all.p50Ms).sort((a, b) => a - b);
    const errors = runs.reduce((sum, r) => sum + r.errors, 0);
    const firstError = runs.find((r) => r.firstError !== undefined)?.firstError;
    const rss = sut.pids().map(rssOf);
    const point: Point = {
      keys,
      valueBytes,
      loadSeconds,
      ...settle,
      opsPerSec: rates.mean,
      windowOpsPerSec: runs.map((r) => r.opsPerSec),
      windowMinOpsPerSec: rates.min,
      windowMaxOpsPerSec: rates.max,
      p50Ms: p50s[(p50s.length - 1) >> 1]!,
      p99Ms: Math.max(...runs.map((r) => r.all.p99Ms)),
      errors,
      rssMiB: rss.map((m) => m.rssMiB),
      rssAnonMiB: rss.map((m) => m.anonMiB),
    };
    const swing = windows > 1 ? ` (${windows} windows: ${rates.min.toFixed(0)}-${rates.max.toFixed(0)})` : '';
    console.error(`${keys} keys x ${valueBytes} B: loaded in ${loadSeconds.toFixed(0)} s, settled ${settle.settled ? 'after' : 'NOT, gave up after'} ${settle.settleSeconds.toFixed(0)} s (${settle.settleCpuSeconds.toFixed(0)} CPU s), ${point.opsPerSec.toFixed(0)} ops/s${swing}, p99 ${point.p99Ms.toFixed(1)} ms, RSS ${point.rssMiB.map((x) => x.toFixed(0)).join('/')} MiB (anonymous ${point.rssAnonMiB.map((x) => x.toFixed(0)).join('/')})${errors > 0 ? `; first error: ${firstError}` : ''}`);
    return point;
  } finally {
    await sut.close();
  }
}

/** A window of the nodes' summed CPU at or under this share of one core counts as quiet: an idle 3-node cluster spends about 0.17 (anti-entropy exchanges every 100 ms, gossip), a compaction or a partition scan a whole core. */
const QUIET_CPU_SHARE = 0.3;
const SETTLE_WINDOW_MS = 5_000;

/**
 * Wait until every node reports all its partition trees ready and the nodes'
 * CPU over one window is quiet, or `maxMs` passed.
 */
async function settleOf(sut: DynamoUnderTest, maxMs: number): Promise<{ settled: boolean; settleSeconds: number; settleCpuSeconds: number }> {
  const t0 = performance.now();
  const cpu = (): number => sut.pids().reduce((sum, pid) => sum + processCpuUs(pid), 0);
  const cpu0 = cpu();
  const result = (settled: boolean) => ({ settled, settleSeconds: (performance.now() - t0) / 1000, settleCpuSeconds: (cpu() - cpu0) / 1e6 });
  if (maxMs <= 0) return result(true);
  while (performance.now() - t0 < maxMs) {
    const before = cpu();
    await new Promise((r) => setTimeout(r, SETTLE_WINDOW_MS));
    const share = (cpu() - before) / 1000 / SETTLE_WINDOW_MS;
    const statuses = await sut.statuses();
    const treesReady = statuses.every((s) => s !== undefined && (s.antiEntropy === undefined || !s.antiEntropy.enabled || s.antiEntropy.treesReady >= s.antiEntropy.partitions));
    if (treesReady && share <= QUIET_CPU_SHARE) return result(true);
  }
  return result(false);
}

function table(title: string, points: Point[]): void {
  console.log(`\n${title}`);
  console.log('keys        value B  settle s  ops/s   windows min-max  p50 ms   p99 ms  errors  RSS per node, MiB (anonymous)');
  for (const p of points) {
    console.log(
      `${String(p.keys).padEnd(10)}  ${String(p.valueBytes).padStart(7)}  ${((p.settled ? '' : '>') + p.settleSeconds.toFixed(0)).padStart(8)}  ${p.opsPerSec.toFixed(0).padStart(6)}  ${`${p.windowMinOpsPerSec.toFixed(0)}-${p.windowMaxOpsPerSec.toFixed(0)}`.padStart(15)}  ${p.p50Ms.toFixed(2).padStart(7)}  ${p.p99Ms.toFixed(2).padStart(7)}  ${String(p.errors).padStart(6)}  ${p.rssMiB.map((x, i) => `${x.toFixed(0)} (${p.rssAnonMiB[i]!.toFixed(0)})`).join(' / ')}`,
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
writeFileSync(o['out']!, JSON.stringify({ at: new Date().toISOString(), engine, windows, windowSeconds: Number(o['duration']), byKeys, byValues }, null, 2));
console.log(`results: ${o['out']}`);
