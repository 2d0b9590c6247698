/**
 * `npm run bench:aae` (node --import=tsx bench/aae.ts): what a full
 * anti-entropy exchange between two replicas costs, in time and in payload
 * bytes, as the divergence between them grows — issue 9's "bytes ∝
 * divergence, not partition size".
 *
 * Two in-memory replicas of `--keys` keys each, spread over `--partitions`
 * partitions by the ring's hash (one TicTac tree per partition, default
 * shape 64 × 64), differ in `--divergent` keys: half held by both in
 * different versions, a quarter only here, a quarter only there. A full
 * exchange runs lib/antientropy's exchange (the same state machine and
 * driver the node uses) over every partition, again while it reports
 * `complete: false`, until all trees agree. Records are synthetic
 * (`--record-bytes`, the first 8 bytes a digest; merge keeps the larger), so
 * the figures measure the algorithm and its wire bytes, not storage scans or
 * DVV merges.
 *
 *   node --import=tsx bench/aae.ts [--keys 1000000] [--divergent 0,100,10000] [--partitions 256]
 */
import { Command } from 'commander';
import {
  ABSENT_DIGEST,
  TREE_SHAPE_DEFAULT,
  TictacTree,
  exchange,
  exchangeLimitsOf,
  defaultAntiEntropyConfig,
  segmentCount,
  segmentOfKey,
  type ExchangeResult,
  type KeyDigest,
  type TreePort,
  type TreeRoot,
  type TreeShape,
} from '../lib/antientropy/index.ts';
import { partitionOf } from '../lib/ring/index.ts';
import { SeededRandom } from '../lib/runtime/index.ts';
import type { StoredRecord } from '../lib/storage/index.ts';

const o = new Command()
  .name('bench-aae')
  .option('--keys <n>', 'keys per replica', '1000000')
  .option('--divergent <list>', 'keys that differ between the two replicas, one run each', '0,100,10000')
  .option('--partitions <n>', 'ring partitions the keys are spread over (one tree each)', '256')
  .option('--record-bytes <n>', 'bytes of each synthetic record', '100')
  .option('--seed <n>', 'seed of the divergent key choice', '1')
  .parse(process.argv)
  .opts<Record<string, string>>();

const KEYS = Number(o['keys']);
const PARTITIONS = Number(o['partitions']);
const RECORD_BYTES = Math.max(8, Number(o['recordBytes']));
const SHAPE: TreeShape = TREE_SHAPE_DEFAULT;
const PREFIX = 'user:';
const utf8 = new TextEncoder();
const keyOf = (i: number): Uint8Array => utf8.encode(PREFIX + i);
const indexOf = (key: Uint8Array): number => Number(new TextDecoder().decode(key.subarray(PREFIX.length)));

/**
 * Where every key index lives: its partition and segment, and the indices of
 * each (partition, segment) bucket (CSR), so a replica lists a segment
 * without scanning its partition. Shared by both replicas.
 */
class Layout {
  readonly total: number;
  readonly partition: Uint32Array;
  readonly offsets: Int32Array;
  readonly members: Int32Array;
  constructor(total: number) {
    this.total = total;
    const segments = segmentCount(SHAPE);
    this.partition = new Uint32Array(total);
    const bucket = new Int32Array(total);
    const counts = new Int32Array(PARTITIONS * segments + 1);
    for (let i = 0; i < total; i++) {
      const key = keyOf(i);
      const p = partitionOf(key, PARTITIONS);
      this.partition[i] = p;
      bucket[i] = p * segments + segmentOfKey(SHAPE, key);
      counts[bucket[i]! + 1]!++;
    }
    for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
    this.offsets = counts.slice();
    this.members = new Int32Array(total);
    const fill = counts.slice();
    for (let i = 0; i < total; i++) this.members[fill[bucket[i]!]!++] = i;
  }
  /** Key indices of one (partition, segment) bucket. */
  bucket(partition: number, segment: number): Int32Array {
    const b = partition * segmentCount(SHAPE) + segment;
    return this.members.subarray(this.offsets[b]!, this.offsets[b + 1]!);
  }
  /** Key indices of a whole partition (its buckets are contiguous). */
  all(partition: number): Int32Array {
    const segments = segmentCount(SHAPE);
    return this.members.subarray(this.offsets[partition * segments]!, this.offsets[(partition + 1) * segments]!);
  }
}

/** One replica: a digest per key index (0 = absent), a tree per partition. */
class BenchReplica implements TreePort {
  readonly digests: BigUint64Array;
  readonly trees: TictacTree[] = [];
  readonly #layout: Layout;
  constructor(layout: Layout) {
    this.#layout = layout;
    this.digests = new BigUint64Array(layout.total);
  }
  buildTrees(): void {
    for (let p = 0; p < PARTITIONS; p++) {
      const entries: KeyDigest[] = [];
      for (const i of this.#layout.all(p)) if (this.digests[i] !== ABSENT_DIGEST) entries.push({ key: keyOf(i), digest: this.digests[i]! });
      this.trees[p] = TictacTree.build(SHAPE, entries);
    }
  }
  /** A local write of key index i (the tree follows incrementally). */
  write(i: number, digest: bigint): void {
    this.trees[this.#layout.partition[i]!]!.update(keyOf(i), this.digests[i]!, digest);
    this.digests[i] = digest;
  }
  async root(partition: number): Promise<TreeRoot> {
    return { shape: SHAPE, hash: this.trees[partition]!.root() };
  }
  async segments(partition: number, level: number, indices: readonly number[]): Promise<readonly bigint[]> {
    return this.trees[partition]!.hashes(level, indices);
  }
  async keysIn(partition: number, segments: readonly number[]): Promise<readonly KeyDigest[]> {
    const out: KeyDigest[] = [];
    for (const s of segments) {
      for (const i of this.#layout.bucket(partition, s)) if (this.digests[i] !== ABSENT_DIGEST) out.push({ key: keyOf(i), digest: this.digests[i]! });
    }
    return out;
  }
  async fetch(_partition: number, keys: readonly Uint8Array[]): Promise<readonly StoredRecord[]> {
    const out: StoredRecord[] = [];
    for (const key of keys) {
      const d = this.digests[indexOf(key)]!;
      if (d !== ABSENT_DIGEST) out.push({ key, record: recordOf(d) });
    }
    return out;
  }
  async push(_partition: number, records: readonly StoredRecord[]): Promise<void> {
    for (const { key, record } of records) {
      const i = indexOf(key);
      const incoming = new DataView(record.buffer, record.byteOffset, 8).getBigUint64(0);
      if (incoming > this.digests[i]!) this.write(i, incoming);
    }
  }
}

function recordOf(digest: bigint): Uint8Array {
  const r = new Uint8Array(RECORD_BYTES);
  new DataView(r.buffer).setBigUint64(0, digest);
  return r;
}

interface Row {
  divergent: number;
  buildMs: number;
  exchangeMs: number;
  exchanges: number;
  roundTrips: number;
  bytesToPeer: number;
  bytesFromPeer: number;
  pulled: number;
  pushed: number;
}

async function run(layout: Layout, divergent: number, seed: number): Promise<Row> {
  const local = new BenchReplica(layout);
  const remote = new BenchReplica(layout);
  // Both hold keys 0..KEYS-1 at the same version; indices from KEYS on are the remote's extra keys.
  for (let i = 0; i < KEYS; i++) {
    local.digests[i] = BigInt(i + 1);
    remote.digests[i] = BigInt(i + 1);
  }
  const t0 = performance.now();
  local.buildTrees();
  remote.buildTrees();
  const buildMs = performance.now() - t0;
  const random = new SeededRandom(seed);
  const chosen = new Set<number>();
  while (chosen.size < Math.min(divergent - Math.floor(divergent / 4), KEYS)) chosen.add(random.int(KEYS));
  let n = 0;
  for (const i of chosen) {
    // Half: both hold it, here at a newer version; the rest of these: only here.
    if (n++ % 3 < 2) local.write(i, BigInt(i + 1) + BigInt(layout.total));
    else remote.write(i, ABSENT_DIGEST);
  }
  for (let i = KEYS; i < KEYS + Math.floor(divergent / 4); i++) remote.write(i, BigInt(i + 1));

  const limits = exchangeLimitsOf(defaultAntiEntropyConfig());
  const row: Row = { divergent, buildMs, exchangeMs: 0, exchanges: 0, roundTrips: 0, bytesToPeer: 0, bytesFromPeer: 0, pulled: 0, pushed: 0 };
  const t1 = performance.now();
  for (let p = 0; p < PARTITIONS; p++) {
    let startSegment = 0;
    for (;;) {
      const r: ExchangeResult = await exchange({ partition: p, limits, startSegment }, { local, remote });
      row.exchanges++;
      row.roundTrips += r.roundTrips;
      row.bytesToPeer += r.bytesToRemote;
      row.bytesFromPeer += r.bytesFromRemote;
      row.pulled += r.pulled;
      row.pushed += r.pushed;
      if (r.status === 'aborted') throw new Error(`exchange of partition ${p} aborted: ${r.error}`);
      if (r.complete) break;
      startSegment = (r.examinedSegments[r.examinedSegments.length - 1] ?? -1) + 1;
    }
  }
  row.exchangeMs = performance.now() - t1;
  for (let p = 0; p < PARTITIONS; p++) {
    if (!local.trees[p]!.equals(remote.trees[p]!)) throw new Error(`partition ${p} did not converge`);
  }
  for (let i = 0; i < layout.total; i++) {
    if (local.digests[i] !== remote.digests[i]) throw new Error(`key ${i} did not converge`);
  }
  return row;
}

const divergentList = o['divergent']!.split(',').map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x >= 0);
const layout = new Layout(KEYS + Math.floor(Math.max(0, ...divergentList) / 4));
console.log(
  `AAE full exchange: ${KEYS.toLocaleString('en')} keys per replica over ${PARTITIONS} partitions ` +
    `(tree ${SHAPE.fanOut}x${SHAPE.fanOut}, ~${(KEYS / PARTITIONS / segmentCount(SHAPE)).toFixed(2)} keys per segment), ` +
    `${RECORD_BYTES}-byte records, default exchange limits`,
);
const header = ['divergent', 'build ms', 'exchange ms', 'exchanges', 'round trips', 'bytes ->peer', 'bytes <-peer', 'bytes/divergent key', 'records moved'];
const rows: string[][] = [];
for (const divergent of divergentList) {
  const r = await run(layout, divergent, Number(o['seed']));
  const total = r.bytesToPeer + r.bytesFromPeer;
  rows.push([
    r.divergent.toLocaleString('en'),
    r.buildMs.toFixed(0),
    r.exchangeMs.toFixed(0),
    String(r.exchanges),
    String(r.roundTrips),
    r.bytesToPeer.toLocaleString('en'),
    r.bytesFromPeer.toLocaleString('en'),
    r.divergent === 0 ? '-' : Math.round(total / r.divergent).toLocaleString('en'),
    String(r.pulled + r.pushed),
  ]);
}
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
const line = (cells: string[]): string => cells.map((x, c) => x.padStart(widths[c]!)).join('  ');
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log('build ms: both replicas\' trees from scratch; bytes: payload per lib/antientropy/wire-size.ts (no transport framing)');
