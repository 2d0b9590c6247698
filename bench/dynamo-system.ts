/** Our store as a system under test: a local 3-node cluster of real processes, driven through the SDK. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DynamoClient, type Consistency, type DynamoClientOptions, type NodeStatus } from '../lib/client/index.ts';
import { LocalCluster, type LocalMember } from '../lib/node/index.ts';
import { freshCli } from '../scripts/build.ts';
import type { SystemUnderTest } from './loadgen.ts';
import { probeLines, readProbes } from './probe-report.ts';

/** The preload that counts a node's GCs over a measured window (bench/node-probe.mjs). */
const PROBE_URL = new URL('./node-probe.mjs', import.meta.url).href;

export interface DynamoBenchOptions {
  nodes: number;
  consistency: Consistency;
  engine: 'leveldb' | 'rocksdb' | 'memory';
  /** How the SDK sends requests (default: the SDK's default, 'session'). */
  protocol?: DynamoClientOptions['protocol'];
  /** Ring partitions (default 256). */
  partitions?: number;
  /** Runs before the nodes start (bulk loading their data dirs). */
  prepare?: (members: readonly LocalMember[]) => Promise<void>;
  /**
   * Serve /metrics on every node and scrape each every `scrapeIntervalMs`
   * (as Prometheus would, default 5 s) while the benchmark runs: the
   * `dynamo-metrics` system, to measure what metrics cost.
   */
  metrics?: { scrapeIntervalMs?: number };
  /** Name in the results (default 'dynamo'). */
  name?: string;
  /**
   * The context of a key this process has not read or written yet, when the
   * data dirs were prepared with known versions (bulk-load.ts's loadedContext):
   * the first write of a loaded key replaces it rather than adding a sibling.
   */
  preparedContext?: (key: string) => Uint8Array;
  /** Extra DYNAMO_* settings for every node (e.g. DYNAMO_ANTI_ENTROPY=false). */
  env?: Record<string, string>;
  /**
   * Load bench/node-probe.mjs into every node and report its GCs over each
   * measured window; with `allocSitesMinBytes`, also the call sites of Buffer
   * allocations at least that large (slow: for finding sites, not figures).
   */
  probe?: { allocSitesMinBytes?: number };
}

export interface DynamoUnderTest extends SystemUnderTest {
  pids(): number[];
  /** Each node's Admin status (undefined for a node that did not answer). */
  statuses(): Promise<(NodeStatus | undefined)[]>;
}

export async function startDynamo(opts: DynamoBenchOptions): Promise<DynamoUnderTest> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-bench-'));
  // DYNAMO_BENCH_CPU_PROF=<dir> profiles every node (node --cpu-prof), for finding where the time goes.
  const profDir = process.env['DYNAMO_BENCH_CPU_PROF'];
  const execArgv = profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profDir)}`] : [];
  // DYNAMO_BENCH_NODE_ARGS="--flag ..." passes extra Node.js flags to every node (tuning experiments).
  execArgv.push(...(process.env['DYNAMO_BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean));
  const probeDir = opts.probe === undefined ? undefined : path.join(dir, 'probes');
  const probeEnv: Record<string, string> = {};
  if (probeDir !== undefined) {
    mkdirSync(probeDir);
    execArgv.push(`--import=${PROBE_URL}`);
    probeEnv['DYNAMO_PROBE_DIR'] = probeDir;
    if (opts.probe?.allocSitesMinBytes !== undefined) probeEnv['DYNAMO_PROBE_ALLOC_MIN'] = String(opts.probe.allocSitesMinBytes);
  }
  // The nodes run from dist/ as a deployment does (the Docker image, the
  // package's `dynamo`), rebuilt first when a source changed; profiles of
  // built JS carry real line numbers. DYNAMO_BENCH_BUILT=0 runs them from
  // source under tsx instead, whose per-closure name helpers cost the hot
  // path real time: it measures the loader too.
  const cli = process.env['DYNAMO_BENCH_BUILT'] === '0' ? undefined : freshCli();
  const cluster = await LocalCluster.start({
    ...(cli !== undefined ? { cli } : {}),
    nodes: opts.nodes,
    dataDir: dir,
    basePort: 0,
    engine: opts.engine,
    partitions: opts.partitions ?? 256,
    logLevel: 'error',
    stderr: 'inherit',
    execArgv,
    ...(opts.prepare ? { prepare: opts.prepare } : {}),
    ...(opts.metrics ? { metrics: true } : {}),
    ...(opts.env || probeDir !== undefined ? { env: { ...opts.env, ...probeEnv } } : {}),
  });
  const kill = (): void => cluster.killAllSync();
  const pids = (): number[] => cluster.members.map((m) => cluster.pid(m.id)).filter((p): p is number => p !== undefined);
  const signalAll = (signal: NodeJS.Signals): void => {
    for (const pid of pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // a node that exited reports nothing
      }
    }
  };
  let scrapes = 0;
  let scrapeBytes = 0;
  const scraper =
    opts.metrics === undefined
      ? undefined
      : setInterval(() => {
          for (const m of cluster.members) {
            void fetch(`http://${m.metricsAddress}/metrics`)
              .then((r) => r.text())
              .then((t) => {
                scrapes++;
                scrapeBytes += t.length;
              }, () => {});
          }
        }, opts.metrics.scrapeIntervalMs ?? 5_000);
  process.on('exit', kill);
  const client = new DynamoClient({ endpoints: cluster.endpoints, timeoutMs: 10_000, ...(opts.protocol ? { protocol: opts.protocol } : {}) });
  const consistency = opts.consistency;
  // YCSB's update overwrites. Here, as in an application, a write carries the
  // newest context this process has seen for the key (from its reads and
  // writes), so it replaces what was seen instead of piling up siblings.
  const contexts = new Map<string, Uint8Array>();
  // Reads that came back with siblings (concurrent writers of one key; hot keys make them).
  const siblings = { reads: 0, values: 0, max: 0 };
  const statusesNow = (): Promise<(NodeStatus | undefined)[]> => Promise.all(cluster.endpoints.map((e) => client.status(e).then((st) => st, () => undefined)));
  return {
    name: opts.name ?? (opts.metrics ? 'dynamo-metrics' : 'dynamo'),
    async read(key) {
      const res = await client.get(key, { consistency });
      contexts.set(key, res.context);
      if (res.values.length > 1) {
        siblings.reads++;
        siblings.values += res.values.length;
        siblings.max = Math.max(siblings.max, res.values.length);
      }
    },
    async update(key, value) {
      const context = contexts.get(key) ?? opts.preparedContext?.(key);
      const res = await client.put(key, value, context ? { consistency, context } : { consistency });
      contexts.set(key, res.context);
    },
    pids,
    statuses: statusesNow,
    ...(probeDir === undefined
      ? {}
      : {
          windowStarted: () => signalAll('SIGUSR1'),
          windowEnded: () => signalAll('SIGUSR2'),
          async reportWindow(ops: number) {
            // Each node writes its file when it handles the signal: wait for all of them (briefly).
            const expected = pids().length;
            for (let i = 0; i < 40 && readProbes(probeDir).length < expected; i++) await new Promise((r) => setTimeout(r, 50));
            for (const line of probeLines(opts.name ?? 'dynamo', readProbes(probeDir), ops)) console.error(line);
            for (const f of readdirSync(probeDir)) rmSync(path.join(probeDir, f));
          },
        }),
    async close() {
      if (scraper !== undefined) {
        clearInterval(scraper);
        console.error(`dynamo-metrics: ${scrapes} scrapes, ${Math.round(scrapeBytes / Math.max(1, scrapes))} bytes each`);
      }
      const statuses = await statusesNow();
      // What anti-entropy did beside the load (it shares the CPU the table charges per op).
      const aae = statuses.map((st) => st?.antiEntropy);
      const sum = (f: (a: NonNullable<(typeof aae)[number]>) => number): number => aae.reduce((n, a) => n + (a === undefined ? 0 : f(a)), 0);
      if (aae.some((a) => a?.enabled === true)) {
        console.error(`${opts.name ?? 'dynamo'}: anti-entropy ran ${sum((a) => a.exchanges)} exchanges, pulled ${sum((a) => a.keysPulled)} and pushed ${sum((a) => a.keysPushed)} keys, ${sum((a) => a.bytesSent)} bytes sent and ${sum((a) => a.bytesReceived)} received`);
      }
      // A failed probe suspects a member: under load that means acks arrived too late (see docs/membership.md).
      const probeSum = (f: (s: NonNullable<(typeof statuses)[number]>) => number | undefined): number => statuses.reduce((n, s) => n + (s === undefined ? 0 : (f(s) ?? 0)), 0);
      console.error(`${opts.name ?? 'dynamo'}: ${siblings.reads} reads returned siblings (${siblings.reads === 0 ? 0 : (siblings.values / siblings.reads).toFixed(1)} values each on average, at most ${siblings.max})`);
      console.error(`${opts.name ?? 'dynamo'}: membership sent ${probeSum((s) => s.probes)} probes, ${probeSum((s) => s.probesFailed)} failed (members suspected)`);
      client.close();
      await cluster.stop('SIGTERM');
      process.off('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
