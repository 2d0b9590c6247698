/**
 * Summarise .cpuprofile files (node --cpu-prof): self time by function and by
 * source file, so "where does the time go" has a plain-text answer.
 *
 *   node --import=tsx bench/profile-summary.ts DIR_OR_FILES... [--top 30] [--last S]
 *
 * `--last S` keeps only the samples of each profile's final S seconds: a
 * node's profile spans its whole life, and a bench run's preload (and the
 * warm-up) would otherwise weigh in; the measured phase ends just before the
 * nodes stop, so `--last` a little above the measured seconds isolates it.
 *
 * Besides self time it prints inclusive time per function (a sample counts
 * once for every distinct function on its stack), which answers "what does
 * this whole step cost" when the self time is spread over helpers. Profiles
 * of built JS (dist/) carry real line numbers; under tsx every line is 1.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root directory (with its trailing slash), cut from script paths. */
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  /** Microseconds, as the deltas. */
  endTime: number;
  startTime: number;
}

const args = process.argv.slice(2);
/** The value after `--flag`, and its position (-1 when absent). */
const option = (flag: string): { at: number; value: string | undefined } => {
  const at = args.indexOf(flag);
  return { at, value: at >= 0 ? args[at + 1] : undefined };
};
const topOpt = option('--top');
const lastOpt = option('--last');
const top = topOpt.value === undefined ? 30 : Number(topOpt.value);
const lastUs = lastOpt.value === undefined ? Number.POSITIVE_INFINITY : Number(lastOpt.value) * 1e6;
const isValue = (i: number): boolean => [topOpt, lastOpt].some((o) => o.at >= 0 && i === o.at + 1);
const inputs = args.filter((a, i) => !a.startsWith('--') && !isValue(i));
const files = inputs.flatMap((p) =>
  statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(p, f)) : [p],
);

/** A script URL without file://, node_modules/ as nm:, and paths relative to the project. */
const shortUrl = (url: string): string => url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'nm:').replace(PROJECT_ROOT, '');

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let busy = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n: ProfileNode): string => {
    const { functionName, url, lineNumber } = n.callFrame;
    return `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
  };
  const fromUs = profile.endTime - lastUs;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (at < fromUs) return;
    const node = nodes.get(id)!;
    const { functionName, url } = node.callFrame;
    const short = shortUrl(url);
    const fnKey = keyOf(node);
    byFunction.set(fnKey, (byFunction.get(fnKey) ?? 0) + dt);
    if (functionName !== '(idle)') {
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        seen.add(keyOf(nodes.get(at)!));
      }
      for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
      busy += dt;
    }
    const fileKey = short === '' ? `(${functionName})` : short.startsWith('nm:') ? short.split('/').slice(0, short.startsWith('nm:@') ? 2 : 1).join('/') : short;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + dt);
    total += dt;
  });
}

const print = (title: string, m: Map<string, number>): void => {
  console.log(`\n${title} (${files.length} profiles, ${(total / 1e6).toFixed(1)} s sampled)`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
};
print('self time by file/package', byFile);
print('self time by function', byFunction);
console.log(`\ninclusive time by function, share of busy (non-idle) time (${(busy / 1e6).toFixed(1)} s busy)`);
for (const [k, v] of [...inclusive].filter(([k]) => !k.startsWith('(root)')).sort((a, b) => b[1] - a[1]).slice(0, top * 2)) {
  console.log(`${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
}
