/**
 * `npm run bench`: YCSB-style closed-loop benchmark of a local cluster
 * through the SDK. Prints a table (ops/s, p50/p99/p999 per operation) and
 * writes bench/out/results.json.
 *
 *   npm run bench -- --workloads A,B,C,W --clients 64 --duration 20 --keys 100000
 *
 * By default both client paths run beside the anchors: `dynamo-session`
 * (the SDK's pipelined Session stream) and `dynamo-unary` (one gRPC call per
 * request, what a stock client generated from kv.proto does), so every run
 * shows what a non-SDK client gets. `dynamo` is the SDK with `--protocol`.
 *
 * Anti-entropy's cost, measured in one run: `--anti-entropy both --rounds 5`
 * starts a fresh cluster with it on (`dynamo`) and one with it off
 * (`dynamo-aae-off`) per round, alternating which goes first, and prints the
 * median throughput of each and their ratio per workload.
 *
 * Where a node's CPU goes besides requests: `--gc` loads bench/node-probe.mjs
 * into every node and prints each dynamo run's major and minor GCs per second
 * and per 1,000 operations over the measured window (at 64 KiB values V8's
 * collector, started by external Buffer memory, takes about half a node's
 * CPU); `--gc --alloc-sites 32768` adds the call sites that allocate the most
 * large-Buffer bytes per operation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { isConsistency, type Consistency } from '../lib/protocol/index.ts';
import { preload, runWorkload, type RunResult, type SystemUnderTest } from './loadgen.ts';
import { WORKLOAD_TITLE, type Distribution, type WorkloadName } from './workload.ts';
import { startDynamo } from './dynamo-system.ts';
import { startEtcd } from './etcd-system.ts';
import { startEcho } from './echo-system.ts';
import { renderChart } from './chart.ts';
import { VALUE_KINDS, type ValueKind } from './values.ts';

const OUT_DIR = fileURLToPath(new URL('./out', import.meta.url));

const program = new Command()
  .name('bench')
  .option(
    '--systems <list>',
    'systems to measure: dynamo-session, dynamo-unary (the SDK over each path), dynamo (the SDK with --protocol), dynamo-metrics (dynamo with /metrics on, scraped every 5 s), etcd, echo; a name may repeat (alternate dynamo,dynamo-metrics,... to measure metrics)',
    'dynamo-session,dynamo-unary,etcd,echo',
  )
  .option('--workloads <list>', 'YCSB workloads: A (50/50), B (95/5), C (read-only), W (write-only)', 'A')
  .option('--distribution <d>', 'uniform | zipfian', 'uniform')
  .option('--clients <n>', 'concurrent closed-loop clients', '64')
  .option('--duration <s>', 'measured seconds per workload', '10')
  .option('--warmup <s>', 'warm-up seconds per workload', '2')
  .option('--keys <n>', 'key count (preloaded)', '100000')
  .option('--value-size <bytes>', 'value size', '1024')
  .option('--value-kind <kind>', 'compressible (half redundant, like db_bench; default) | repeated (one letter pattern, the values of runs before 2026-12-01)', 'compressible')
  .option('--consistency <level>', 'read and write consistency', 'QUORUM')
  .option('--engine <engine>', 'leveldb | rocksdb | memory', 'leveldb')
  .option('--protocol <p>', 'how the SDK sends requests: session (pipelined stream) | unary (one gRPC call each)', 'session')
  .option('--anti-entropy <mode>', 'dynamo nodes with anti-entropy on | off | both (both: each round runs one cluster of each, compared by median)', 'on')
  .option('--rounds <n>', 'times each dynamo variant runs (fresh cluster each time, alternating order with --anti-entropy both)', '1')
  .option('--gc', "count each dynamo node's GCs over the measured window (bench/node-probe.mjs) and print them per second and per 1,000 ops")
  .option('--alloc-sites <bytes>', 'with --gc: also list the call sites of Buffer allocations of at least this size (slows the nodes: for finding sites, not for figures)')
  .option('--out <file>', 'JSON results file (the SVG chart goes beside it)', path.join(OUT_DIR, 'results.json'))
  .option('--seed <n>', 'workload seed', '1');

program.parse(process.argv);
const o = program.opts<Record<string, string>>();

const systems = o['systems']!.split(',').map((x) => x.trim());
for (const x of systems) if (!['dynamo', 'dynamo-session', 'dynamo-unary', 'dynamo-metrics', 'etcd', 'echo'].includes(x)) throw new Error(`unknown system ${x}`);
const workloads = o['workloads']!.split(',').map((w) => w.trim().toUpperCase()) as WorkloadName[];
for (const w of workloads) if (!(w in WORKLOAD_TITLE)) throw new Error(`unknown workload ${w}`);
const distribution = o['distribution'] as Distribution;
if (distribution !== 'uniform' && distribution !== 'zipfian') throw new Error('--distribution must be uniform or zipfian');
const protocol = o['protocol'];
if (protocol !== 'session' && protocol !== 'unary') throw new Error('--protocol must be session or unary');
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
const valueKind = o['valueKind'] as ValueKind;
if (!VALUE_KINDS.includes(valueKind)) throw new Error(`--value-kind must be one of ${VALUE_KINDS.join(', ')}`);
const aaeMode = o['antiEntropy'];
if (aaeMode !== 'on' && aaeMode !== 'off' && aaeMode !== 'both') throw new Error('--anti-entropy must be on, off or both');
const rounds = num('rounds');

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

function printTable(results: RunResult[]): void {
  const rows = [['system', 'workload', 'op', 'ops/s', 'p50 ms', 'p99 ms', 'p999 ms', 'errors', 'server µs/op', 'client µs/op']];
  for (const r of results) {
    rows.push([
      r.system,
      `${r.workload}/${r.distribution}`,
      'all',
      fmt(r.opsPerSec, 0),
      fmt(r.all.p50Ms),
      fmt(r.all.p99Ms),
      fmt(r.all.p999Ms),
      String(r.errors),
      fmt(r.serverCpuUsPerOp, 0),
      fmt(r.clientCpuUsPerOp, 0),
    ]);
    for (const [op, s] of Object.entries(r.ops)) {
      rows.push(['', '', op, fmt((s.count / durationMs) * 1000, 0), fmt(s.p50Ms), fmt(s.p99Ms), fmt(s.p999Ms), String(s.errors), '', '']);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

async function benchSystem(sut: SystemUnderTest): Promise<RunResult[]> {
  if (sut.name !== 'echo') {
    const t0 = performance.now();
    await preload(sut, keys, valueBytes, clients, valueKind);
    console.error(`${sut.name}: preloaded ${keys} keys in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  }
  const results: RunResult[] = [];
  for (const workload of workloads) {
    const r = await runWorkload(sut, { workload, distribution, clients, durationMs, warmupMs, keys, valueBytes, valueKind, seed });
    console.error(`${sut.name} ${WORKLOAD_TITLE[workload]}: ${fmt(r.opsPerSec, 0)} ops/s, p99 ${fmt(r.all.p99Ms)} ms${r.errors ? `, ${r.errors} errors (first: ${r.firstError})` : ''}`);
    results.push(r);
  }
  return results;
}

const allocSites = o['allocSites'] === undefined ? undefined : Number(o['allocSites']);
if (allocSites !== undefined && !(Number.isInteger(allocSites) && allocSites > 0)) throw new Error('--alloc-sites must be a positive whole number of bytes');
const probe = o['gc'] !== undefined || allocSites !== undefined ? { probe: allocSites === undefined ? {} : { allocSitesMinBytes: allocSites } } : {};
const dynamoOf = (aae: boolean, path: 'session' | 'unary' = protocol, name?: string) => (): Promise<SystemUnderTest> =>
  startDynamo({
    nodes: 3,
    consistency: consistency as Consistency,
    engine: o['engine'] as 'leveldb',
    protocol: path,
    ...probe,
    ...(name !== undefined ? { name } : {}),
    ...(aae ? {} : { name: 'dynamo-aae-off', env: { DYNAMO_ANTI_ENTROPY: 'false' } }),
  });
const starters: Record<string, () => Promise<SystemUnderTest>> = {
  dynamo: dynamoOf(true),
  'dynamo-aae-off': dynamoOf(false),
  'dynamo-session': dynamoOf(true, 'session', 'dynamo-session'),
  'dynamo-unary': dynamoOf(true, 'unary', 'dynamo-unary'),
  // The same with /metrics on every node, scraped every 5 s: list both (repeated, alternating) to measure what metrics cost.
  'dynamo-metrics': () => startDynamo({ nodes: 3, consistency: consistency as Consistency, engine: o['engine'] as 'leveldb', protocol, metrics: {}, ...probe }),
  etcd: () => startEtcd(3),
  echo: () => startEcho(),
};

/** What runs, in order: each dynamo variant `rounds` times (on/off alternating which goes first), the anchors once. */
function plan(): string[] {
  const out: string[] = [];
  for (const name of systems) {
    if (name !== 'dynamo') {
      out.push(name);
      continue;
    }
    const variants = aaeMode === 'both' ? ['dynamo', 'dynamo-aae-off'] : aaeMode === 'on' ? ['dynamo'] : ['dynamo-aae-off'];
    for (let r = 0; r < rounds; r++) out.push(...(r % 2 === 0 ? variants : [...variants].reverse()));
  }
  return out;
}

const results: RunResult[] = [];
for (const name of plan()) {
  const sut = await starters[name]!();
  try {
    results.push(...(await benchSystem(sut)));
  } finally {
    await sut.close();
  }
}

printTable(results);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** Anti-entropy on against off: medians per workload over the rounds, and their ratio. */
const aaeCost: { workload: string; onOpsPerSec: number[]; offOpsPerSec: number[]; medianOn: number; medianOff: number; ratio: number }[] = [];
if (aaeMode === 'both') {
  console.log('');
  for (const w of workloads) {
    const on = results.filter((r) => r.system === 'dynamo' && r.workload === w).map((r) => r.opsPerSec);
    const off = results.filter((r) => r.system === 'dynamo-aae-off' && r.workload === w).map((r) => r.opsPerSec);
    if (on.length === 0 || off.length === 0) continue;
    const row = { workload: `${w}/${distribution}`, onOpsPerSec: on, offOpsPerSec: off, medianOn: median(on), medianOff: median(off), ratio: median(on) / median(off) };
    aaeCost.push(row);
    console.log(
      `anti-entropy on / off ${row.workload}: median ops/s ${fmt(row.medianOn, 0)} / ${fmt(row.medianOff, 0)} = ${fmt(row.ratio, 3)}x ` +
        `(on: ${on.map((x) => fmt(x, 0)).join(', ')}; off: ${off.map((x) => fmt(x, 0)).join(', ')})`,
    );
  }
}

/** ours / anchor per workload: throughput ratio, p99 ratio and server CPU per op ratio. */
const OURS = ['dynamo', 'dynamo-session', 'dynamo-unary'];
const ratios: { system: string; workload: string; anchor: string; opsRatio: number; p99Ratio: number; serverCpuRatio: number }[] = [];
for (const r of results.filter((x) => OURS.includes(x.system))) {
  for (const anchor of results.filter((x) => !x.system.startsWith('dynamo') && x.workload === r.workload && x.distribution === r.distribution)) {
    ratios.push({
      system: r.system,
      workload: `${r.workload}/${r.distribution}`,
      anchor: anchor.system,
      opsRatio: r.opsPerSec / anchor.opsPerSec,
      p99Ratio: r.all.p99Ms / anchor.all.p99Ms,
      serverCpuRatio: r.serverCpuUsPerOp / anchor.serverCpuUsPerOp,
    });
  }
}
if (ratios.length) {
  console.log('');
  for (const x of ratios) {
    const cpu = x.anchor === 'echo' ? '' : `, server CPU/op ${fmt(x.serverCpuRatio)}x`;
    console.log(`${x.system} / ${x.anchor} ${x.workload}: ops/s ${fmt(x.opsRatio)}x, p99 ${fmt(x.p99Ratio)}x${cpu}`);
  }
}

/** The unary path against the Session path, per workload (stock gRPC clients against the SDK's stream). */
const paths: { workload: string; opsRatio: number; p99Ratio: number; serverCpuRatio: number }[] = [];
for (const u of results.filter((x) => x.system === 'dynamo-unary')) {
  const sessionRuns = results.filter((x) => x.system === 'dynamo-session' && x.workload === u.workload && x.distribution === u.distribution);
  for (const s of sessionRuns.slice(0, 1)) {
    const x = { workload: `${u.workload}/${u.distribution}`, opsRatio: u.opsPerSec / s.opsPerSec, p99Ratio: u.all.p99Ms / s.all.p99Ms, serverCpuRatio: u.serverCpuUsPerOp / s.serverCpuUsPerOp };
    paths.push(x);
    console.log(`unary / session ${x.workload}: ops/s ${fmt(x.opsRatio)}x, p99 ${fmt(x.p99Ratio)}x, server CPU/op ${fmt(x.serverCpuRatio)}x (${fmt(u.serverCpuUsPerOp, 0)} vs ${fmt(s.serverCpuUsPerOp, 0)} µs)`);
  }
}

// Metrics on vs off (systems dynamo and dynamo-metrics, each possibly run several times): medians and their ratios.
const metricsCost: { workload: string; runs: number; opsRatio: number; p99Ratio: number; serverCpuRatio: number }[] = [];
for (const workload of workloads) {
  const off = results.filter((r) => r.system === 'dynamo' && r.workload === workload);
  const on = results.filter((r) => r.system === 'dynamo-metrics' && r.workload === workload);
  if (off.length === 0 || on.length === 0) continue;
  const m = (rs: RunResult[], f: (r: RunResult) => number): number => median(rs.map(f));
  const x = {
    workload: `${workload}/${distribution}`,
    runs: Math.min(off.length, on.length),
    opsRatio: m(on, (r) => r.opsPerSec) / m(off, (r) => r.opsPerSec),
    p99Ratio: m(on, (r) => r.all.p99Ms) / m(off, (r) => r.all.p99Ms),
    serverCpuRatio: m(on, (r) => r.serverCpuUsPerOp) / m(off, (r) => r.serverCpuUsPerOp),
  };
  metricsCost.push(x);
  console.log(
    `metrics on / off ${x.workload} (medians of ${off.length} and ${on.length} runs: ops/s ${fmt(m(on, (r) => r.opsPerSec), 0)} vs ${fmt(m(off, (r) => r.opsPerSec), 0)}, ` +
      `server µs/op ${fmt(m(on, (r) => r.serverCpuUsPerOp), 0)} vs ${fmt(m(off, (r) => r.serverCpuUsPerOp), 0)}): ` +
      `ops/s ${fmt(x.opsRatio)}x, p99 ${fmt(x.p99Ratio)}x, server CPU/op ${fmt(x.serverCpuRatio)}x`,
  );
}

const settings = { systems, workloads, distribution, clients, durationMs, warmupMs, keys, valueBytes, valueKind, consistency, protocol, antiEntropy: aaeMode, rounds };
mkdirSync(path.dirname(o['out']!), { recursive: true });
writeFileSync(
  o['out']!,
  JSON.stringify({ at: new Date().toISOString(), settings, results, ratios, unaryVsSession: paths, metricsCost, ...(aaeCost.length > 0 ? { antiEntropyCost: aaeCost } : {}) }, null, 2),
);
const svg = o['out']!.replace(/\.json$/, '') + '.svg';
writeFileSync(svg, renderChart(results, `${clients} clients, ${keys} keys, ${valueBytes} B values, ${consistency}, ${distribution}, ${durationMs / 1000}s per workload`));
console.log(`results: ${o['out']}`);
console.log(`chart: ${svg}`);
