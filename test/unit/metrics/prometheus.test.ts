import { expect } from 'chai';
import { PrometheusMetrics, startMetricsServer, type MetricsServer, type StorageSize } from '../../../lib/metrics/index.ts';
import { MeteredTransport } from '../../../lib/transport/index.ts';
import { ok, silentLogger, type Metrics } from '../../../lib/runtime/index.ts';
import type { NodeStatus } from '../../../lib/protocol/index.ts';
import { STATUS } from '../transport/harness.ts';

/** The value of one sample line (`name{labels} value`) in a text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const status = (over: Partial<NodeStatus> = {}): NodeStatus => ({
  ...STATUS,
  members: [
    { id: 'n1', address: 'a:1', reachable: true, partitionsOwned: 1, self: true, state: 'up' },
    { id: 'n2', address: 'a:2', reachable: true, partitionsOwned: 1, self: false, state: 'up' },
    { id: 'n3', address: 'a:3', reachable: false, partitionsOwned: 1, self: false, state: 'down' },
    { id: 'n4', address: 'a:4', reachable: true, partitionsOwned: 0, self: false, state: 'joining' },
  ],
  ready: true,
  readRepairs: 7,
  digestMismatches: 4,
  probes: 90,
  probesFailed: 2,
  ringVersion: 12,
  safety: {
    actor: 'n1.x',
    actorsRetired: 1,
    recordsSetAside: 2,
    dotConflicts: 0,
    localWriteFailures: 3,
    contextClamps: 4,
    contextCatchUps: 5,
    siblingCapRefusals: 6,
    contextsRefused: 7,
  },
  ...over,
});

describe('metrics: PrometheusMetrics', () => {
  it('counts requests by op, consistency and code, and times them per op and consistency', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    m.request('get', 'QUORUM', 'OK', 0.002);
    m.request('get', 'QUORUM', 'OK', 0.004);
    m.request('get', 'QUORUM', 'UNAVAILABLE', 0.3);
    m.request('put', 'ALL', 'DEADLINE_EXCEEDED', 6);
    const text = await m.render();
    expect(sample(text, 'dynamo_requests_total{op="get",consistency="QUORUM",code="OK"}')).to.equal(2);
    expect(sample(text, 'dynamo_requests_total{op="get",consistency="QUORUM",code="UNAVAILABLE"}')).to.equal(1);
    expect(sample(text, 'dynamo_requests_total{op="put",consistency="ALL",code="DEADLINE_EXCEEDED"}')).to.equal(1);
    expect(sample(text, 'dynamo_request_duration_seconds_count{op="get",consistency="QUORUM"}')).to.equal(3);
    expect(sample(text, 'dynamo_request_duration_seconds_bucket{le="0.0025",op="get",consistency="QUORUM"}')).to.equal(1);
    expect(sample(text, 'dynamo_request_duration_seconds_bucket{le="0.005",op="get",consistency="QUORUM"}')).to.equal(2);
    expect(sample(text, 'dynamo_request_duration_seconds_bucket{le="5",op="put",consistency="ALL"}')).to.equal(0);
    expect(sample(text, 'dynamo_request_duration_seconds_bucket{le="10",op="put",consistency="ALL"}')).to.equal(1);
    expect(sample(text, 'dynamo_request_duration_seconds_sum{op="get",consistency="QUORUM"}')).to.be.closeTo(0.306, 1e-9);
    expect(text).to.contain('# TYPE dynamo_requests_total counter');
    expect(text).to.contain('# TYPE dynamo_request_duration_seconds histogram');
  });

  it('shows hint and anti-entropy series at 0 before anything happens, then counts them', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    let text = await m.render();
    for (const s of ['dynamo_hints_stored_total', 'dynamo_hints_delivered_total', 'dynamo_hints_dropped_total', 'dynamo_antientropy_keys_repaired_total']) expect(sample(text, s), s).to.equal(0);
    m.hintStored();
    m.hintStored();
    m.hintDelivered();
    m.hintDropped();
    m.antiEntropyRepaired(40);
    m.antiEntropyRepaired(0);
    text = await m.render();
    expect(sample(text, 'dynamo_hints_stored_total')).to.equal(2);
    expect(sample(text, 'dynamo_hints_delivered_total')).to.equal(1);
    expect(sample(text, 'dynamo_hints_dropped_total')).to.equal(1);
    expect(sample(text, 'dynamo_antientropy_keys_repaired_total')).to.equal(40);
  });

  it('reads members by state, readiness, ring version, read repairs, the safety counters and storage size when scraped', async () => {
    let s = status();
    const m = new PrometheusMetrics({ defaultMetrics: false, status: async () => s, storage: async () => ({ keys: 1000, bytes: 123456 }) });
    let text = await m.render();
    expect(sample(text, 'dynamo_members{state="up"}')).to.equal(2);
    expect(sample(text, 'dynamo_members{state="down"}')).to.equal(1);
    expect(sample(text, 'dynamo_members{state="joining"}')).to.equal(1);
    expect(sample(text, 'dynamo_members{state="leaving"}')).to.equal(0);
    expect(sample(text, 'dynamo_ready')).to.equal(1);
    expect(sample(text, 'dynamo_ring_version')).to.equal(12);
    expect(sample(text, 'dynamo_read_repairs_total')).to.equal(7);
    expect(sample(text, 'dynamo_read_digest_mismatches_total')).to.equal(4);
    expect(sample(text, 'dynamo_member_probes_total')).to.equal(90);
    expect(sample(text, 'dynamo_member_probes_failed_total')).to.equal(2);
    expect(sample(text, 'dynamo_sibling_cap_refusals_total')).to.equal(6);
    expect(sample(text, 'dynamo_contexts_refused_total')).to.equal(7);
    expect(sample(text, 'dynamo_context_catch_ups_total')).to.equal(5);
    expect(sample(text, 'dynamo_local_write_failures_total')).to.equal(3);
    expect(sample(text, 'dynamo_dot_conflicts_total')).to.equal(0);
    expect(sample(text, 'dynamo_storage_keys')).to.equal(1000);
    expect(sample(text, 'dynamo_storage_bytes')).to.equal(123456);
    s = status({ readRepairs: 9, ready: false });
    text = await m.render();
    expect(sample(text, 'dynamo_read_repairs_total')).to.equal(9);
    expect(sample(text, 'dynamo_ready')).to.equal(0);
  });

  it("reports the value log's bytes on disk and still pointed at, when the storage has one", async () => {
    let size: StorageSize = { bytes: 10 };
    const m = new PrometheusMetrics({ defaultMetrics: false, storage: async () => size });
    let text = await m.render();
    expect(text).to.not.match(/^dynamo_value_log_bytes\{/m);
    size = { bytes: 300, valueLog: { diskBytes: 200, liveBytes: 120 } };
    text = await m.render();
    expect(sample(text, 'dynamo_value_log_bytes{kind="disk"}')).to.equal(200);
    expect(sample(text, 'dynamo_value_log_bytes{kind="live"}')).to.equal(120);
  });

  it('still renders when its sources fail (a node that is starting)', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false, status: () => Promise.reject(new Error('starting')), storage: () => Promise.reject(new Error('closed')) });
    const text = await m.render();
    expect(sample(text, 'dynamo_read_repairs_total')).to.equal(0);
  });

  it('histograms siblings per get and replica RPC time per peer and request type', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    m.siblingsReturned(1);
    m.siblingsReturned(3);
    m.replicaRpc('10.0.0.2:7001', 'read', 0.0008);
    m.replicaRpc('10.0.0.2:7001', 'write', 0.02);
    m.replicaRpc('10.0.0.3:7001', 'read', 0.0012);
    const text = await m.render();
    expect(sample(text, 'dynamo_siblings_returned_bucket{le="1"}')).to.equal(1);
    expect(sample(text, 'dynamo_siblings_returned_bucket{le="3"}')).to.equal(2);
    expect(sample(text, 'dynamo_siblings_returned_sum')).to.equal(4);
    expect(sample(text, 'dynamo_replica_rpc_duration_seconds_count{peer="10.0.0.2:7001",op="read"}')).to.equal(1);
    expect(sample(text, 'dynamo_replica_rpc_duration_seconds_bucket{le="0.001",peer="10.0.0.2:7001",op="read"}')).to.equal(1);
    expect(sample(text, 'dynamo_replica_rpc_duration_seconds_bucket{le="0.001",peer="10.0.0.3:7001",op="read"}')).to.equal(0);
    expect(sample(text, 'dynamo_replica_rpc_duration_seconds_count{peer="10.0.0.2:7001",op="write"}')).to.equal(1);
  });

  it('includes the process and Node.js metrics (event-loop lag) by default', async () => {
    const text = await new PrometheusMetrics().render();
    expect(text).to.match(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).to.match(/^process_cpu_seconds_total \d/m);
  });
});

describe('metrics: the /metrics endpoint', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves GET /metrics in the text format, 404 elsewhere, 405 for other methods', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    m.request('delete', 'ONE', 'OK', 0.001);
    server = await startMetricsServer('127.0.0.1:0', m, silentLogger);
    const res = await fetch(`http://${server.address}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    expect(sample(await res.text(), 'dynamo_requests_total{op="delete",consistency="ONE",code="OK"}')).to.equal(1);
    expect((await fetch(`http://${server.address}/`)).status).to.equal(404);
    expect((await fetch(`http://${server.address}/metrics`, { method: 'POST' })).status).to.equal(405);
  });

  it('rejects an address it cannot bind', async () => {
    const m = new PrometheusMetrics({ defaultMetrics: false });
    server = await startMetricsServer('127.0.0.1:0', m, silentLogger);
    const port = server.address.split(':')[1];
    const e = await startMetricsServer(`127.0.0.1:${port}`, m, silentLogger).then(() => undefined, (x: unknown) => x);
    expect((e as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
  });
});

describe('metrics: MeteredTransport', () => {
  it('times every peer request by address and type, failures included, and passes results through', async () => {
    const seen: [string, string, number][] = [];
    const metrics = { replicaRpc: (peer: string, op: string, s: number) => void seen.push([peer, op, s]) } as unknown as Metrics;
    let t = 0;
    const time = { monotonicMs: () => (t += 5) } as never;
    const inner = {
      request: async (to: string, req: { type: string }) => (req.type === 'read' ? ok({ type: 'read', record: undefined }) : { ok: false, error: new Error(to) }),
      reachable: () => true,
      close: async () => {},
    };
    const metered = new MeteredTransport(inner as never, metrics, time);
    const r1 = await metered.request('h:1', { type: 'read', key: new Uint8Array(1) }, 100);
    const r2 = await metered.request('h:2', { type: 'write', key: new Uint8Array(1), record: new Uint8Array(1) }, 100);
    await Promise.resolve();
    expect(r1).to.deep.equal({ ok: true, value: { type: 'read', record: undefined } });
    expect(r2.ok).to.equal(false);
    expect(seen).to.deep.equal([
      ['h:1', 'read', 0.005],
      ['h:2', 'write', 0.005],
    ]);
  });
});
