/**
 * Offline bulk load for the scale benchmark (Cassandra's sstableloader idea):
 * before the nodes start, write every key straight into the LevelDB of each
 * of its replicas, as the ring the nodes will claim places it. Loading 10M
 * keys through the SDK would take hours on this machine; this takes minutes
 * and leaves exactly what a write at ALL would have stored (one value, one
 * dot of a loader actor).
 */
import { mkdirSync } from 'node:fs';
import { claim, partitionOf, preferenceList } from '../lib/ring/index.ts';
import { encodeRecord, LevelStorage, type StoredObject } from '../lib/storage/index.ts';
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
}

/** The value-log threshold the nodes will use, when the environment sets one. */
function valueLogFromEnv(): { valueLogMinBytes?: number } {
  const raw = process.env['DYNAMO_VALUE_LOG_MIN_BYTES'];
  return raw === undefined ? {} : { valueLogMinBytes: Number(raw) };
}

/** Entries per engine batch while loading. */
const LOAD_BATCH = 2000;

export async function bulkLoad(opts: BulkLoadOptions): Promise<void> {
  const ring = claim(opts.members.map((m) => m.id), opts.partitions, { replicas: opts.replicas });
  const stores = new Map<string, LevelStorage>();
  for (const m of opts.members) {
    mkdirSync(m.dataDir, { recursive: true });
    // As the nodes will run: DYNAMO_VALUE_LOG_MIN_BYTES (which they read too) decides what goes to the value log.
    const s = new LevelStorage({ dataDir: m.dataDir, ...valueLogFromEnv() });
    await s.open();
    stores.set(m.id, s);
  }
  const values = new ValueSource(opts.valueKind ?? 'compressible', opts.valueBytes, 0xb01c);
  const writtenAtMs = Date.now();
  const recordOf = (data: Uint8Array): Uint8Array => {
    const object: StoredObject = { entries: [{ actor: 'bulkload.0', counter: 1, values: [{ data, tombstone: false, writtenAtMs }] }], anonymous: [] };
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
    for (let i = 0; i < opts.keys; i++) {
      const key = encoder.encode(keyName(i));
      const partition = partitionOf(key, opts.partitions);
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
