/**
 * A preload for benchmark nodes (`node --import=bench/node-probe.mjs`, added
 * by `npm run bench -- --gc`): counts garbage collections, and optionally
 * large Buffer allocations by call site, over the bench's measured window
 * only. Plain JavaScript because the nodes run built code from dist/ under
 * plain node. Nothing here touches the store; it observes the process.
 *
 * Why: at 64 KiB values a node spends about half its CPU in V8's collector,
 * because every Buffer above the pool size is external memory and V8 starts
 * a major GC for each 64 MB of it. The count of major GCs per second, and
 * which call sites allocate the bytes, are what a change to the large-value
 * path should move.
 *
 * Protocol: SIGUSR1 starts a window (clears counts), SIGUSR2 ends it and
 * writes `${DYNAMO_PROBE_DIR}/probe-<pid>.json`. DYNAMO_PROBE_ALLOC_MIN=<bytes>
 * also records Buffer.allocUnsafe / allocUnsafeSlow / alloc / concat calls of
 * at least that size (with a stack: slow, for finding sites, not for figures).
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';

const dir = process.env.DYNAMO_PROBE_DIR;
const allocMin = Number(process.env.DYNAMO_PROBE_ALLOC_MIN ?? '0');
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

let measuring = false;
let startedAt = 0;
/** kind → { count, ms } of GC pauses on the main thread. */
let gc = {};
/** call site → { count, bytes } of large allocations. */
let allocs = new Map();

new PerformanceObserver((list) => {
  if (!measuring) return;
  for (const e of list.getEntries()) {
    const kind = KINDS[e.detail?.kind] ?? String(e.detail?.kind);
    const k = (gc[kind] ??= { count: 0, ms: 0 });
    k.count++;
    k.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

function noteAlloc(kind, bytes) {
  if (!measuring || bytes < allocMin) return;
  // Seven frames: enough to reach the replica or service method behind a storage read.
  const frames = (new Error().stack ?? '')
    .split('\n')
    .slice(3, 10)
    .map((f) => f.trim().replace(/^at /, '').replace(/\(?(file:\/\/)?\/[^()]*?\/(dist|node_modules)\/([^)]*)\)?$/, '$2/$3'));
  const site = `${kind} < ${frames.join(' < ')}`;
  const a = allocs.get(site) ?? { count: 0, bytes: 0 };
  a.count++;
  a.bytes += bytes;
  allocs.set(site, a);
}

if (allocMin > 0) {
  for (const name of ['allocUnsafe', 'allocUnsafeSlow', 'alloc']) {
    const original = Buffer[name];
    Buffer[name] = function (size, ...rest) {
      noteAlloc(`Buffer.${name}`, size);
      return original.call(this, size, ...rest);
    };
  }
  const concat = Buffer.concat;
  Buffer.concat = function (list, length) {
    const wasMeasuring = measuring;
    measuring = false; // concat's own allocUnsafe is this call, not a second site
    let out;
    try {
      out = concat.call(this, list, length);
    } finally {
      measuring = wasMeasuring;
    }
    noteAlloc('Buffer.concat', out.length);
    return out;
  };
}

process.on('SIGUSR1', () => {
  gc = {};
  allocs = new Map();
  startedAt = performance.now();
  measuring = true;
});

process.on('SIGUSR2', () => {
  if (!measuring || dir === undefined) return;
  measuring = false;
  const seconds = (performance.now() - startedAt) / 1000;
  const sites = [...allocs].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 20).map(([site, a]) => ({ site, ...a }));
  // Written aside and renamed, so the bench never reads half a file.
  const file = path.join(dir, `probe-${process.pid}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, seconds, gc, allocSites: sites }));
  renameSync(`${file}.tmp`, file);
});
