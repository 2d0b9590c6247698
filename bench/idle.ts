/**
 * `npm run bench:idle`: what an idle node costs — gossip, failure detection,
 * hint and anti-entropy scans with no client traffic. Starts a local cluster
 * of real node processes, lets it settle, then reads each process's CPU time
 * (/proc/<pid>/stat utime + stime) over the measured window and reports it as
 * a percentage of one core, per node and as the median.
 *
 *   npm run bench:idle -- --nodes 5 --seconds 60
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { LocalCluster } from '../lib/node/index.ts';

const o = new Command()
  .name('bench-idle')
  .option('--nodes <n>', 'cluster size', '3')
  .option('--seconds <s>', 'measured window', '60')
  .option('--settle <s>', 'seconds to wait after start before measuring', '10')
  .parse(process.argv)
  .opts<Record<string, string>>();

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-bench-idle-'));
const cluster = await LocalCluster.start({ nodes: Number(o['nodes']), dataDir: dir, basePort: 0, logLevel: 'error', stderr: 'ignore' });
try {
  await new Promise((r) => setTimeout(r, Number(o['settle']) * 1000));
  const pids = cluster.members.map((m) => cluster.pid(m.id)!);
  const before = pids.map(cpuSeconds);
  const started = performance.now();
  await new Promise((r) => setTimeout(r, Number(o['seconds']) * 1000));
  const wall = (performance.now() - started) / 1000;
  const pct = pids.map((pid, i) => ((cpuSeconds(pid) - before[i]!) / wall) * 100);
  cluster.members.forEach((m, i) => process.stdout.write(`${m.id}: ${pct[i]!.toFixed(2)}% of one core idle\n`));
  const sorted = [...pct].sort((a, b) => a - b);
  process.stdout.write(`median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}% of one core per idle node (${pids.length} nodes, ${wall.toFixed(0)} s)\n`);
} finally {
  await cluster.stop('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
