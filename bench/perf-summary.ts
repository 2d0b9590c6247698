/**
 * Summarise a Linux `perf record` of node processes by where their CPU went:
 * V8 builtins and runtime, garbage collection, our JavaScript (per source
 * file), dependencies, LevelDB, the allocator, the kernel. Unlike the V8
 * profiles of profile-summary.ts, which sample wall time, perf samples only
 * while a thread is on a CPU, and it sees every thread (LevelDB's, libuv's,
 * V8's GC helpers) and native code: on an oversubscribed machine the two
 * disagree. On the write-only bench a V8 profile gave classic-level's batch
 * call 11.5% of a node's time; perf gave that call 3% of the CPU, and 4.3% to
 * the write itself on a worker thread. Both put the synchronous get at 9.4%.
 * The call graph (`perf record -g`, `perf report --children`) gives such
 * inclusive figures; this script sums self time.
 *
 * Record while a bench runs (the nodes must map their JIT code for perf):
 *
 *   NODE_OPTIONS=--perf-basic-prof npm run bench -- --systems dynamo --workloads W --duration 30 &
 *   # once the measured phase has begun:
 *   perf record -F 499 -p "$(pgrep -f 'dynamo.js node' | paste -sd,)" -o /tmp/w.data -- sleep 15
 *   node --import=tsx bench/perf-summary.ts /tmp/w.data --ops 45000 [--top 40]
 *
 * `--ops N` (operations the bench completed while perf recorded, e.g. ops/s
 * × seconds) turns shares into CPU microseconds per operation, summed over
 * every recorded process, comparable to the bench's "server µs/op". Needs
 * `perf` (Debian: linux-perf) and perf_event_paranoid ≤ 2.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The project's root directory (with its trailing slash), cut from script paths. */
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** One row of `perf report`: a symbol of one object (dso) and its share of the samples. */
export interface PerfRow {
  readonly percent: number;
  readonly dso: string;
  /** '.' user space, 'k' kernel. */
  readonly space: string;
  readonly symbol: string;
}

/** Rows of `perf report --stdio --sort dso,sym` output; headers and blank lines are skipped. */
export function parseReport(text: string): PerfRow[] {
  const rows: PerfRow[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\d.]+)%\s+(\S+(?: tid \d+)?\]?)\s+\[(.)\]\s+(.*)$/.exec(line);
    if (m === null) continue;
    rows.push({ percent: Number(m[1]), dso: m[2]!, space: m[3]!, symbol: m[4]!.trim() });
  }
  return rows;
}

/** The bucket a row's CPU belongs to. */
export function categoryOf(row: PerfRow): string {
  const s = row.symbol;
  const script = /(?:file:\/\/)?(\/\S+?\.[cm]?js):\d+/.exec(s);
  if (script !== null) {
    const file = script[1]!;
    const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (dep !== null) return `js dependency ${dep[1]}`;
    return `js ${file.replace(PROJECT_ROOT, '').replace(/^\//, '')}`;
  }
  if (/\bnode:(?!:)/.test(s)) return 'js node core';
  if (s.startsWith('JS:') || s.startsWith('Eval:') || s.startsWith('Function:')) return 'js other (generated code, eval)';
  if (/leveldb|snappy|rocksdb/i.test(s) || /classic-level|rocksdb/.test(row.dso)) return 'storage engine (native)';
  if (s.startsWith('Builtins_')) return 'v8 builtins';
  if (/v8::internal::.*(Scaveng|Mark|Sweep|Heap|Evacuat|GC|Compact)/.test(s)) return 'v8 garbage collection';
  if (/^(v8|node|napi|uv_|uv__)/.test(s) || row.dso === 'node') return 'v8 / node runtime';
  if (row.space === 'k') return 'kernel';
  if (/malloc|free|_chunk|consolidate/.test(s)) return 'allocator (libc)';
  if (/^__mem|^mem/.test(s)) return 'memcpy / memset (libc)';
  return 'other native';
}

/** CPU shares by category, largest first. */
export function byCategory(rows: readonly PerfRow[]): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const r of rows) sums.set(categoryOf(r), (sums.get(categoryOf(r)) ?? 0) + r.percent);
  return [...sums].sort((a, b) => b[1] - a[1]);
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (flag: string): string | undefined => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const file = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1]!.startsWith('--')));
  if (file === undefined) {
    console.error('usage: perf-summary.ts PERF_DATA [--ops N] [--top 40]');
    process.exit(2);
  }
  const ops = option('--ops') === undefined ? undefined : Number(option('--ops'));
  const top = Number(option('--top') ?? 40);
  const report = execFileSync('perf', ['report', '-i', file, '--stdio', '--no-children', '-g', 'none', '--sort', 'dso,sym'], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  // cpu-clock counts nanoseconds: the event count is the CPU time recorded.
  const eventNs = Number(/Event count \(approx\.\): (\d+)/.exec(report)?.[1] ?? NaN);
  const rows = parseReport(report);
  const show = (share: number): string => {
    const pct = `${share.toFixed(2).padStart(6)}%`;
    if (ops === undefined || !Number.isFinite(eventNs)) return pct;
    return `${pct} ${((share / 100) * eventNs / 1000 / ops).toFixed(1).padStart(8)} µs/op`;
  };
  console.log(`\n${file}: ${(eventNs / 1e9).toFixed(1)} CPU-seconds sampled${ops === undefined ? '' : `, ${ops} operations`}`);
  console.log('\nby category');
  for (const [name, share] of byCategory(rows)) console.log(`${show(share)}  ${name}`);
  console.log(`\nby symbol (top ${top})`);
  for (const r of [...rows].sort((a, b) => b.percent - a.percent).slice(0, top)) {
    console.log(`${show(r.percent)}  ${r.symbol.replace(/file:\/\//, '').replace(PROJECT_ROOT, '').slice(0, 110)}`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
