/**
 * The Metrics port (lib/runtime/metrics.ts) over prom-client, plus what a
 * node reports only when scraped: the counters it already keeps (read
 * repairs, the safety counters of Admin Status), members by state, ring
 * version, readiness and storage size. Names follow the Prometheus
 * conventions: `dynamo_` prefix, base units (`_seconds`, `_bytes`),
 * `_total` on counters; node identity comes from the scrape target's labels
 * (pod, instance), not from a label here.
 *
 * Hot path cost: a request costs two Map lookups to reach its label
 * children (cached per label combination; label values are bounded: three
 * operations, six levels, ~17 status codes, the cluster's peers) plus
 * prom-client's counter increment and histogram observation — no per-request
 * string building or label hashing. Everything else is read once per scrape.
 */
import * as client from 'prom-client';
import type { Metrics, KvOperationName } from '../runtime/index.ts';
import type { MemberState, NodeStatus } from '../protocol/index.ts';

/** Request and replica RPC latency buckets, in seconds: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Siblings returned per get. */
export const SIBLING_BUCKETS: readonly number[] = [0, 1, 2, 3, 5, 10, 25, 50, 100];

const MEMBER_STATES: readonly MemberState[] = ['up', 'down', 'joining', 'leaving'];

/** What the node's storage engine estimates of its size; fields it cannot estimate are absent. */
export interface StorageSize {
  readonly keys?: number;
  readonly bytes?: number;
  /** The value log's segment files: on disk, and still pointed at (disk / live is its space amplification). */
  readonly valueLog?: { readonly diskBytes: number; readonly liveBytes: number };
}

/** Where scrape-time values come from. */
export interface PrometheusMetricsOptions {
  /** The node's Admin status (members, counters, safety counters); absent: those series stay at their last values (0). */
  readonly status?: () => Promise<NodeStatus>;
  /** The storage engine's size estimate. */
  readonly storage?: () => Promise<StorageSize>;
  /** prom-client's process and Node.js metrics (event-loop lag, heap, GC, CPU, fds); default true. */
  readonly defaultMetrics?: boolean;
}

/** A counter mirroring a monotonic count the node keeps (set at each scrape). */
interface Mirrored {
  readonly counter: client.Counter;
  readonly read: (s: NodeStatus) => number | undefined;
}

/** The label children of one (operation, consistency) pair. */
interface RequestSeries {
  readonly duration: client.Histogram.Internal<'op' | 'consistency'>;
  /** Status code name -> its dynamo_requests_total child. */
  readonly codes: Map<string, client.Counter.Internal>;
}

/** Get or make the entry at (a, b) of a two-level cache. */
function cached<T>(map: Map<string, Map<string, T>>, a: string, b: string, make: () => T): T {
  let inner = map.get(a);
  if (inner === undefined) map.set(a, (inner = new Map<string, T>()));
  let entry = inner.get(b);
  if (entry === undefined) inner.set(b, (entry = make()));
  return entry;
}

/** The Prometheus side of a node: implements Metrics, renders the text exposition format. */
export class PrometheusMetrics implements Metrics {
  readonly registry: client.Registry;
  readonly #opts: PrometheusMetricsOptions;
  readonly #requests: client.Counter<'op' | 'consistency' | 'code'>;
  readonly #requestDuration: client.Histogram<'op' | 'consistency'>;
  readonly #replicaRpc: client.Histogram<'peer' | 'op'>;
  readonly #siblings: client.Histogram;
  readonly #hintsStored: client.Counter;
  readonly #hintsDelivered: client.Counter;
  readonly #hintsDropped: client.Counter;
  readonly #antiEntropyRepaired: client.Counter;
  readonly #members: client.Gauge<'state'>;
  readonly #ready: client.Gauge;
  readonly #ringVersion: client.Gauge;
  readonly #storageKeys: client.Gauge;
  readonly #storageBytes: client.Gauge;
  readonly #valueLogBytes: client.Gauge;
  readonly #mirrored: Mirrored[] = [];
  /** op -> consistency -> its series; peer -> op -> histogram child. */
  readonly #requestSeries = new Map<string, Map<string, RequestSeries>>();
  readonly #rpcChildren = new Map<string, Map<string, client.Histogram.Internal<'peer' | 'op'>>>();

  constructor(opts: PrometheusMetricsOptions = {}) {
    this.#opts = opts;
    const registers = [(this.registry = new client.Registry())];
    if (opts.defaultMetrics !== false) client.collectDefaultMetrics({ register: this.registry });
    this.#requests = new client.Counter({
      name: 'dynamo_requests_total',
      help: 'Client KV requests finished, by operation, consistency level and gRPC status code (OK or the error).',
      labelNames: ['op', 'consistency', 'code'],
      registers,
    });
    this.#requestDuration = new client.Histogram({
      name: 'dynamo_request_duration_seconds',
      help: 'Time the node took to answer a client KV request (unary or Session), by operation and consistency level.',
      labelNames: ['op', 'consistency'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.#replicaRpc = new client.Histogram({
      name: 'dynamo_replica_rpc_duration_seconds',
      help: 'Round trip of requests to other nodes (replica reads and writes, forwarded writes, membership, transfers), by peer address and request type.',
      labelNames: ['peer', 'op'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.#siblings = new client.Histogram({
      name: 'dynamo_siblings_returned',
      help: 'Live siblings returned per successful get (more than 1: concurrent writes the application should merge).',
      buckets: [...SIBLING_BUCKETS],
      registers,
    });
    const counter = (name: string, help: string): client.Counter => new client.Counter({ name, help, registers });
    this.#hintsStored = counter('dynamo_hints_stored_total', 'Hints stored for replicas that could not take a write (hinted handoff).');
    this.#hintsDelivered = counter('dynamo_hints_delivered_total', 'Stored hints delivered to their replica.');
    this.#hintsDropped = counter('dynamo_hints_dropped_total', 'Hints dropped (bounds reached, or the replica left the ring).');
    this.#antiEntropyRepaired = counter('dynamo_antientropy_keys_repaired_total', 'Keys repaired by the anti-entropy exchanges this node ran (pulled here and pushed to the peer).');
    const mirror = (name: string, help: string, read: (s: NodeStatus) => number | undefined): void => {
      this.#mirrored.push({ counter: counter(name, help), read });
    };
    mirror('dynamo_read_repairs_total', 'Replicas brought up to date by read repair (each successful repair write).', (s) => s.readRepairs);
    mirror('dynamo_member_probes_total', 'Failure-detector probes this node sent to other members.', (s) => s.probes);
    mirror('dynamo_member_probes_failed_total', 'Probes no answer came for in time, direct or indirect, so this node suspected the member.', (s) => s.probesFailed);
    mirror('dynamo_summary_reads_total', 'Reads for a write answered from a record summary kept beside a large value, so the value was not read.', (s) => s.summaryReads);
    mirror('dynamo_summary_fallbacks_total', 'Writes that began from a record summary and then read the whole object (they keep a sibling).', (s) => s.summaryFallbacks);
    mirror('dynamo_read_digest_mismatches_total', 'Replicas whose digest differed from the coordinating copy in a digest read, so their copy was read whole.', (s) => s.digestMismatches);
    mirror('dynamo_sibling_cap_refusals_total', 'Writes refused because the key would exceed the sibling limit.', (s) => s.safety?.siblingCapRefusals);
    mirror('dynamo_dot_conflicts_total', 'Merges that met one version number naming two different values (must stay 0).', (s) => s.safety?.dotConflicts);
    mirror('dynamo_records_set_aside_total', 'Stored records that did not decode and were set aside to be rebuilt from other replicas.', (s) => s.safety?.recordsSetAside);
    mirror('dynamo_local_write_failures_total', 'Local storage writes of minted versions that failed.', (s) => s.safety?.localWriteFailures);
    mirror('dynamo_actors_retired_total', 'Minting actors retired this process life (after a failed local write or corruption).', (s) => s.safety?.actorsRetired);
    mirror('dynamo_context_clamps_total', 'Write contexts naming versions no replica holds, clamped.', (s) => s.safety?.contextClamps);
    mirror('dynamo_context_catch_ups_total', 'Writes whose context was ahead of this replica, which first caught up from the others.', (s) => s.safety?.contextCatchUps);
    mirror('dynamo_contexts_refused_total', 'Writes refused for their context: damaged, read for another key, or not signed by this cluster.', (s) => s.safety?.contextsRefused);
    this.#members = new client.Gauge({
      name: 'dynamo_members',
      help: 'Cluster members by state, as this node sees them.',
      labelNames: ['state'],
      registers,
    });
    for (const state of MEMBER_STATES) this.#members.labels(state).set(0);
    this.#ready = new client.Gauge({ name: 'dynamo_ready', help: '1 while this node serves (knows a ring and is a member), 0 otherwise.', registers });
    this.#ringVersion = new client.Gauge({ name: 'dynamo_ring_version', help: 'Version of the ring this node routes by.', registers });
    this.#storageKeys = new client.Gauge({ name: 'dynamo_storage_keys', help: "Keys in this node's storage (the engine's estimate; tombstones included).", registers });
    this.#storageBytes = new client.Gauge({ name: 'dynamo_storage_bytes', help: "Bytes of this node's data on disk (the engine's estimate).", registers });
    this.#valueLogBytes = new client.Gauge({
      name: 'dynamo_value_log_bytes',
      help: "The value log's segment files: bytes on disk (kind=disk) and bytes some key still points at (kind=live); GC keeps disk under about twice live.",
      labelNames: ['kind'],
      registers,
    });
    // Series that only change with features wired later still appear, at 0.
    for (const c of [this.#hintsStored, this.#hintsDelivered, this.#hintsDropped, this.#antiEntropyRepaired]) c.inc(0);
    for (const m of this.#mirrored) m.counter.inc(0);
  }

  request(op: KvOperationName, consistency: string, code: string, seconds: number): void {
    const series = cached(this.#requestSeries, op, consistency, () => ({ duration: this.#requestDuration.labels(op, consistency), codes: new Map() }));
    let count = series.codes.get(code);
    if (count === undefined) series.codes.set(code, (count = this.#requests.labels(op, consistency, code)));
    count.inc();
    series.duration.observe(seconds);
  }

  siblingsReturned(count: number): void {
    this.#siblings.observe(count);
  }

  replicaRpc(peer: string, op: string, seconds: number): void {
    cached(this.#rpcChildren, peer, op, () => this.#replicaRpc.labels(peer, op)).observe(seconds);
  }

  hintStored(): void {
    this.#hintsStored.inc();
  }

  hintDelivered(): void {
    this.#hintsDelivered.inc();
  }

  hintDropped(): void {
    this.#hintsDropped.inc();
  }

  antiEntropyRepaired(keys: number): void {
    if (keys > 0) this.#antiEntropyRepaired.inc(keys);
  }

  /** The content type of `render()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Read the scrape-time values, then render every series in the text
   * exposition format. A source that fails leaves its series at their last
   * values (a scrape never fails because the node is starting).
   */
  async render(): Promise<string> {
    const [status, size] = await Promise.all([
      this.#opts.status?.().catch(() => undefined),
      this.#opts.storage?.().catch(() => undefined),
    ]);
    if (status !== undefined) this.#fromStatus(status);
    if (size?.keys !== undefined) this.#storageKeys.set(size.keys);
    if (size?.bytes !== undefined) this.#storageBytes.set(size.bytes);
    if (size?.valueLog !== undefined) {
      this.#valueLogBytes.labels('disk').set(size.valueLog.diskBytes);
      this.#valueLogBytes.labels('live').set(size.valueLog.liveBytes);
    }
    return this.registry.metrics();
  }

  #fromStatus(s: NodeStatus): void {
    for (const m of this.#mirrored) {
      const v = m.read(s);
      if (v === undefined) continue;
      // The node's count is the truth; a restart starts it again at 0, which Prometheus reads as a counter reset.
      m.counter.reset();
      m.counter.inc(v);
    }
    const byState = new Map<string, number>(MEMBER_STATES.map((st) => [st, 0]));
    for (const member of s.members) {
      const state = member.state ?? (member.reachable ? 'up' : 'down');
      byState.set(state, (byState.get(state) ?? 0) + 1);
    }
    for (const [state, n] of byState) this.#members.labels(state).set(n);
    this.#ready.set(s.ready ? 1 : 0);
    this.#ringVersion.set(s.ringVersion ?? 0);
  }
}
