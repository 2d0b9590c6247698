/**
 * Closed-loop load generator: `clients` concurrent loops, each issuing its
 * next operation as soon as the previous one finished, for a fixed duration
 * after a warm-up. Latencies go into HDR histograms (microseconds).
 */
import { readFileSync } from 'node:fs';
import * as hdr from 'hdr-histogram-js';
import { ValueSource, type ValueKind } from './values.ts';
import { KeyChooser, READ_FRACTION, keyName, type Distribution, type Op, type WorkloadName } from './workload.ts';

/** What a system under test must offer the load generator. */
export interface SystemUnderTest {
  readonly name: string;
  read(key: string): Promise<void>;
  update(key: string, value: Uint8Array): Promise<void>;
  /** Pids of the server processes, so their CPU time can be charged to the run. */
  pids(): number[];
  /** Called as the measured window starts and ends (with --gc: the nodes' probes count GCs between the two). */
  windowStarted?(): void;
  windowEnded?(): void;
  /** After a run: report what the system observed over the window, which completed `ops` operations. */
  reportWindow?(ops: number): Promise<void>;
  close(): Promise<void>;
}

/** utime + stime of a process in microseconds (Linux /proc; 0 when unavailable). */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime, in clock ticks (USER_HZ = 100 on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return 0;
  }
}

/** CPU time of the servers and of this load generator, sampled together. */
function cpuSnapshot(sut: SystemUnderTest): { serverUs: number; clientUs: number } {
  const own = process.cpuUsage();
  return { serverUs: sut.pids().reduce((sum, pid) => sum + processCpuUs(pid), 0), clientUs: own.user + own.system };
}

export interface RunOptions {
  workload: WorkloadName;
  distribution: Distribution;
  clients: number;
  durationMs: number;
  warmupMs: number;
  keys: number;
  valueBytes: number;
  /** What the values look like (values.ts); default 'compressible'. */
  valueKind?: ValueKind;
  seed: number;
}

export interface OpStats {
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface RunResult {
  system: string;
  workload: WorkloadName;
  distribution: Distribution;
  clients: number;
  opsPerSec: number;
  errors: number;
  firstError?: string;
  ops: Partial<Record<Op, OpStats>>;
  all: OpStats;
  /** Server CPU (all processes of the system) per operation, in microseconds: steadier than ops/s on a noisy machine. */
  serverCpuUsPerOp: number;
  /** Load generator (client library) CPU per operation, in microseconds. */
  clientCpuUsPerOp: number;
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

function statsOf(h: hdr.Histogram, errors: number): OpStats {
  return {
    count: h.totalCount,
    errors,
    p50Ms: h.getValueAtPercentile(50) / 1000,
    p99Ms: h.getValueAtPercentile(99) / 1000,
    p999Ms: h.getValueAtPercentile(99.9) / 1000,
    maxMs: h.maxValue / 1000,
  };
}

/** Write every key once so reads find data (chunks of `clients` concurrent writes). */
export async function preload(sut: SystemUnderTest, keys: number, valueBytes: number, clients: number, valueKind: ValueKind = 'compressible'): Promise<void> {
  const values = new ValueSource(valueKind, valueBytes, 0x5eed);
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const i = next++;
        if (i >= keys) return;
        await sut.update(keyName(i), values.next());
      }
    }),
  );
}

export async function runWorkload(sut: SystemUnderTest, opts: RunOptions): Promise<RunResult> {
  const readFraction = READ_FRACTION[opts.workload];
  const hist: Record<Op, hdr.Histogram> = { read: newHistogram(), update: newHistogram() };
  const errors: Record<Op, number> = { read: 0, update: 0 };
  let firstError: string | undefined;
  const start = performance.now();
  const measureFrom = start + opts.warmupMs;
  const end = measureFrom + opts.durationMs;
  let measuredOps = 0;
  let cpuStart: { serverUs: number; clientUs: number } | undefined;
  let cpuEnd: { serverUs: number; clientUs: number } | undefined;
  const startTimer = setTimeout(() => {
    cpuStart = cpuSnapshot(sut);
    sut.windowStarted?.();
  }, opts.warmupMs);
  const endTimer = setTimeout(() => {
    cpuEnd = cpuSnapshot(sut);
    sut.windowEnded?.();
  }, opts.warmupMs + opts.durationMs);
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, c) => {
      const chooser = new KeyChooser(opts.keys, opts.distribution, opts.seed * 1000 + c);
      const values = new ValueSource(opts.valueKind ?? 'compressible', opts.valueBytes, opts.seed * 1000 + c);
      for (;;) {
        const t0 = performance.now();
        if (t0 >= end) return;
        const op = chooser.op(readFraction);
        const key = keyName(chooser.next());
        let failed = false;
        try {
          if (op === 'read') await sut.read(key);
          else await sut.update(key, values.next());
        } catch (e) {
          failed = true;
          firstError ??= e instanceof Error ? e.message : String(e);
        }
        const t1 = performance.now();
        if (t0 >= measureFrom && t1 <= end) {
          measuredOps++;
          if (failed) errors[op]++;
          else hist[op].recordValue(Math.max(1, Math.round((t1 - t0) * 1000)));
        }
      }
    }),
  );
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  if (cpuEnd === undefined) {
    cpuEnd = cpuSnapshot(sut);
    sut.windowEnded?.();
  }
  cpuStart ??= cpuEnd;
  const all = newHistogram();
  const ops: Partial<Record<Op, OpStats>> = {};
  for (const op of ['read', 'update'] as Op[]) {
    if (hist[op].totalCount + errors[op] > 0) ops[op] = statsOf(hist[op], errors[op]);
    all.add(hist[op]);
  }
  const result: RunResult = {
    system: sut.name,
    workload: opts.workload,
    distribution: opts.distribution,
    clients: opts.clients,
    opsPerSec: (measuredOps / opts.durationMs) * 1000,
    errors: errors.read + errors.update,
    ops,
    all: statsOf(all, errors.read + errors.update),
    serverCpuUsPerOp: measuredOps ? (cpuEnd.serverUs - cpuStart.serverUs) / measuredOps : 0,
    clientCpuUsPerOp: measuredOps ? (cpuEnd.clientUs - cpuStart.clientUs) / measuredOps : 0,
  };
  if (firstError !== undefined) result.firstError = firstError;
  await sut.reportWindow?.(measuredOps);
  return result;
}
