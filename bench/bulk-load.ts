/**
 * Offline bulk load for the scale benchmark (Cassandra's sstableloader idea):
 * before the nodes start, write every key straight into the LevelDB of each
 * of its replicas, as the ring the nodes will claim places it. Loading 10M
 * keys through the SDK would take hours on this machine; this takes minutes
 * and leaves exactly what a write at ALL would have stored (one value, one
 * dot of a loader actor).
 *
 * Keys are written in each engine's key order (partition, then key bytes),
 * as sstableloader streams sorted tables: LevelDB then files each memtable
 * flush beside the others without rewriting anything, so the nodes start on
 * a settled tree. Loaded in key-name order instead, 10M keys left every
 * level overlapping the next, and the measured minutes went to compaction
 * (snappy and crc32c were the top of a node's profile).
 */
import { mkdirSync } from 'node:fs';
import { claim, partitionOf, preferenceList } from '../lib/ring/index.ts';
import { createStorage, encodeRecord, type Storage, type StoredObject } from '../lib/storage/index.ts';
import { encodeContext } from '../lib/vclock/index.ts';
import { ValueSource, type ValueKind } from './values.ts';
import { keyName } from './workload.ts';

export interface BulkLoadOptions {
  members: readonly { id: string; dataDir: string }[];
  partitions: number;
  replicas: number;
  keys: number;
  valueBytes: number;
  /** What the values look like (values.ts); default 'compressible'. */
  valueKind?: ValueKind;
  /** The engine the nodes will run (default leveldb). */
  engine?: 'leveldb' | 'rocksdb';
}

/** The value-log threshold the nodes will use, when the environment sets one. */
function valueLogFromEnv(): { valueLogMinBytes?: number } {
  const raw = process.env['DYNAMO_VALUE_LOG_MIN_BYTES'];
  return raw === undefined ? {} : { valueLogMinBytes: Number(raw) };
}

/** The actor of every loaded version (each key holds version 1 of it). */
const LOADER_ACTOR = 'bulkload.0';

const contextEncoder = new TextEncoder();

/**
 * The context of a loaded key as a read would return it: a write made with it
 * replaces the loaded value, as an application's read-modify-write would,
 * instead of standing beside it as a sibling (a blind write's fate).
 */
export function loadedContext(key: string): Uint8Array {
  return encodeContext([{ actor: LOADER_ACTOR, counter: 1 }], contextEncoder.encode(key));
}

/**
 * The key indexes 0..n-1 in engine order: by partition, and within one by
 * the bytes of keyName(i) ("user" and i in decimal, so "user10" sorts before
 * "user2"), with each one's partition.
 */
export function engineOrder(n: number, partitionCount: number): { order: Uint32Array; partitions: Uint32Array } {
  // The decimal strings of 0..n-1 in byte order: a preorder walk of the digit tree.
  const byName = new Uint32Array(n);
  let k = 0;
  if (n > 0) byName[k++] = 0;
  for (let cur = 1; k < n; ) {
    byName[k++] = cur;
    if (cur * 10 < n) {
      cur *= 10;
    } else {
      while (cur + 1 >= n || cur % 10 === 9) cur = Math.floor(cur / 10);
      cur++;
    }
  }
  // A stable counting sort by partition keeps each partition's keys in byte order.
  const encoder = new TextEncoder();
  const partitionOfIndex = new Uint32Array(n);
  const starts = new Uint32Array(partitionCount + 1);
  for (let j = 0; j < n; j++) {
    const p = partitionOf(encoder.encode(keyName(byName[j]!)), partitionCount);
    partitionOfIndex[j] = p;
    starts[p + 1]!++;
  }
  for (let p = 0; p < partitionCount; p++) starts[p + 1]! += starts[p]!;
  const order = new Uint32Array(n);
  const partitions = new Uint32Array(n);
  for (let j = 0; j < n; j++) {
    const p = partitionOfIndex[j]!;
    const at = starts[p]!++;
    order[at] = byName[j]!;
    partitions[at] = p;
  }
  return { order, partitions };
}

/** Entries per engine batch while loading. */
const LOAD_BATCH = 2000;

export async function bulkLoad(opts: BulkLoadOptions): Promise<void> {
  const ring = claim(opts.members.map((m) => m.id), opts.partitions, { replicas: opts.replicas });
  const stores = new Map<string, Storage>();
  for (const m of opts.members) {
    mkdirSync(m.dataDir, { recursive: true });
    // As the nodes will run: DYNAMO_VALUE_LOG_MIN_BYTES (which they read too) decides what goes to the value log.
    const s = createStorage({ engine: opts.engine ?? 'leveldb', dataDir: m.dataDir, ...valueLogFromEnv() });
    await s.open();
    stores.set(m.id, s);
  }
  const values = new ValueSource(opts.valueKind ?? 'compressible', opts.valueBytes, 0xb01c);
  const writtenAtMs = Date.now();
  const recordOf = (data: Uint8Array): Uint8Array => {
    const object: StoredObject = { entries: [{ actor: LOADER_ACTOR, counter: 1, values: [{ data, tombstone: false, writtenAtMs }] }], anonymous: [] };
    return encodeRecord(object);
  };
  const encoder = new TextEncoder();
  try {
    const pending = new Map<string, { partition: number; key: Uint8Array; record: Uint8Array }[]>();
    for (const m of opts.members) pending.set(m.id, []);
    const flush = async (id: string): Promise<void> => {
      const batch = pending.get(id)!;
      if (batch.length === 0) return;
      pending.set(id, []);
      await stores.get(id)!.write(batch);
    };
    const { order, partitions } = engineOrder(opts.keys, opts.partitions);
    for (let j = 0; j < order.length; j++) {
      const key = encoder.encode(keyName(order[j]!));
      const partition = partitions[j]!;
      // One value per key, the same on every replica (as a write at ALL stores).
      const record = recordOf(values.next());
      for (const id of preferenceList(ring, partition, opts.replicas)) {
        const batch = pending.get(id)!;
        batch.push({ partition, key, record });
        if (batch.length >= LOAD_BATCH) await flush(id);
      }
    }
    for (const m of opts.members) await flush(m.id);
  } finally {
    for (const s of stores.values()) await s.close();
  }
}
