/**
 * What the metrics hooks cost per request, in one process, without a
 * cluster: the calls a QUORUM get makes on its coordinator (one request,
 * one siblings observation, one replica RPC) through PrometheusMetrics,
 * against the same calls on noopMetrics, in alternating rounds; prints the
 * median ns per request of each and their difference. A complement to
 * `npm run bench -- --systems dynamo,dynamo-metrics,...`, whose
 * end-to-end numbers on a shared machine vary more than this cost.
 *
 *   node --import=tsx bench/metrics-cost.ts [--requests 1000000] [--rounds 7]
 */
import { PrometheusMetrics } from '../lib/metrics/index.ts';
import { noopMetrics, type Metrics } from '../lib/runtime/index.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const requests = arg('requests', 1_000_000);
const rounds = arg('rounds', 7);
const peers = ['10.0.0.2:7001', '10.0.0.3:7001'];
const levels = ['ONE', 'QUORUM', 'ALL'];

function run(m: Metrics): number {
  const t0 = performance.now();
  for (let i = 0; i < requests; i++) {
    const level = levels[i % 3]!;
    m.request('get', level, i % 100 === 0 ? 'UNAVAILABLE' : 'OK', 0.001 + (i % 50) * 0.0002);
    m.siblingsReturned(1);
    m.replicaRpc(peers[i & 1]!, 'read', 0.0005 + (i % 30) * 0.0001);
  }
  return ((performance.now() - t0) * 1e6) / requests;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const prom = new PrometheusMetrics({ defaultMetrics: false });
const on: number[] = [];
const off: number[] = [];
run(prom);
run(noopMetrics);
for (let r = 0; r < rounds; r++) {
  on.push(run(prom));
  off.push(run(noopMetrics));
}
console.log(`metrics hooks per get (request + siblings + 1 replica RPC): prometheus ${median(on).toFixed(0)} ns, noop ${median(off).toFixed(0)} ns, cost ${(median(on) - median(off)).toFixed(0)} ns (median of ${rounds} rounds of ${requests})`);
