/**
 * Reads what bench/node-probe.mjs wrote for each node over a measured window
 * and turns it into the lines `npm run bench -- --gc` prints: major and minor
 * GCs per second and per 1,000 operations, main-thread GC pause time as a
 * share of the window, and (with --alloc-sites) the call sites that allocated
 * the most large-Buffer bytes per operation. Pure apart from reading files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One node's probe file. */
export interface NodeProbe {
  readonly pid: number;
  readonly seconds: number;
  readonly gc: Readonly<Record<string, { count: number; ms: number }>>;
  readonly allocSites: ReadonlyArray<{ site: string; count: number; bytes: number }>;
}

/** The probe files in `dir` (written on SIGUSR2; may land a moment after the signal). */
export function readProbes(dir: string): NodeProbe[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^probe-\d+\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as NodeProbe);
}

const KIND_ORDER = ['major', 'incremental', 'minor', 'weakcb'];

/** Report lines for `probes` (one per node) over a window that completed `ops` operations in all. */
export function probeLines(name: string, probes: readonly NodeProbe[], ops: number): string[] {
  if (probes.length === 0) return [`${name}: no GC probe output (were the nodes started with --gc?)`];
  const kinds = [...new Set(probes.flatMap((p) => Object.keys(p.gc)))].sort((a, b) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b));
  const seconds = probes.reduce((s, p) => s + p.seconds, 0) / probes.length;
  const perNode = (f: (p: NodeProbe) => number): number => probes.reduce((s, p) => s + f(p), 0) / probes.length;
  const parts = kinds.map((k) => {
    const count = perNode((p) => p.gc[k]?.count ?? 0);
    const ms = perNode((p) => p.gc[k]?.ms ?? 0);
    const perKiloOp = ops > 0 ? (count * probes.length * 1000) / ops : 0;
    return `${k} ${(count / seconds).toFixed(1)}/s (${perKiloOp.toFixed(1)} per 1,000 ops, ${count > 0 ? (ms / count).toFixed(1) : '0'} ms each)`;
  });
  const pauseShare = perNode((p) => Object.values(p.gc).reduce((s, g) => s + g.ms, 0)) / (seconds * 1000);
  const lines = [`${name}: GC per node over ${seconds.toFixed(0)} s: ${parts.length === 0 ? 'none' : parts.join(', ')}; main-thread GC pauses ${(pauseShare * 100).toFixed(1)}% of the window`];
  const sites = new Map<string, { count: number; bytes: number }>();
  for (const p of probes) {
    for (const s of p.allocSites) {
      const a = sites.get(s.site) ?? { count: 0, bytes: 0 };
      a.count += s.count;
      a.bytes += s.bytes;
      sites.set(s.site, a);
    }
  }
  const top = [...sites].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 10);
  if (top.length > 0 && ops > 0) {
    const total = [...sites.values()].reduce((s, a) => s + a.bytes, 0);
    lines.push(`${name}: large allocations, all nodes: ${(total / ops / 1024).toFixed(0)} KiB per op at the sites below (top ${top.length})`);
    for (const [site, a] of top) lines.push(`  ${(a.count / ops).toFixed(2)}/op ${(a.bytes / ops / 1024).toFixed(0).padStart(5)} KiB/op  ${site}`);
  }
  return lines;
}
