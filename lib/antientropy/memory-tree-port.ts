/**
 * A replica held in memory behind the TreePort: records by partition and
 * key, one TictacTree per partition kept up to date on every write and merge.
 * For tests, the benchmark and the simulator's stand-ins; the node's own port
 * reads the Storage port and merges through LocalReplica instead. Like that
 * one, `keysIn` walks the partition and keeps the keys of the asked segments.
 *
 * Records are opaque bytes; what they mean comes from RecordOps (for real
 * records: versionDigest(decodeRecord(r)) and the encoded Dvv.sync of both).
 */
import { InvalidArgumentError } from '../runtime/index.ts';
import type { StoredRecord } from '../storage/index.ts';
import { keyId } from './key-id.ts';
import { TictacTree, type TreeShape } from './tictac-tree.ts';
import type { TreePort, TreeRoot } from './tree-port.ts';
import { ABSENT_DIGEST, compareBytes, type KeyDigest, type VersionDigest } from './version-digest.ts';

/** What records mean to a MemoryTreePort. */
export interface RecordOps {
  /** The version digest of a record (never ABSENT_DIGEST). */
  digestOf(record: Uint8Array): VersionDigest;
  /**
   * The record held after merging `incoming` into `local` (undefined: the key
   * was absent). Must be a join — commutative, associative, idempotent — as
   * Dvv.sync is, or replicas cannot converge.
   */
  merge(local: Uint8Array | undefined, incoming: Uint8Array): Uint8Array;
}

interface Held {
  readonly key: Uint8Array;
  readonly record: Uint8Array;
  readonly digest: VersionDigest;
}

interface Partition {
  readonly tree: TictacTree;
  readonly records: Map<string, Held>;
}

/** An in-memory replica serving the TreePort. */
export class MemoryTreePort implements TreePort {
  readonly shape: TreeShape;
  readonly #ops: RecordOps;
  readonly #partitions = new Map<number, Partition>();

  constructor(shape: TreeShape, ops: RecordOps) {
    this.shape = shape;
    this.#ops = ops;
  }

  /** Store `record` under `key` as a local write would (undefined: remove it, as a purge). Returns the digests before and after. */
  write(partition: number, key: Uint8Array, record: Uint8Array | undefined): { old: VersionDigest; new: VersionDigest } {
    const p = this.#partition(partition);
    const id = keyId(key);
    const old = p.records.get(id)?.digest ?? ABSENT_DIGEST;
    let digest = ABSENT_DIGEST;
    if (record === undefined) {
      p.records.delete(id);
    } else {
      digest = this.#ops.digestOf(record);
      p.records.set(id, { key: key.slice(), record: record.slice(), digest });
    }
    p.tree.update(key, old, digest);
    return { old, new: digest };
  }

  /** The record held for `key`, if any. */
  read(partition: number, key: Uint8Array): Uint8Array | undefined {
    return this.#partitions.get(partition)?.records.get(keyId(key))?.record;
  }

  /** The partition's tree (empty for a partition never written). */
  tree(partition: number): TictacTree {
    return this.#partition(partition).tree;
  }

  /** Every (key, digest) held in the partition, ascending by key. */
  entries(partition: number): KeyDigest[] {
    const held = [...(this.#partitions.get(partition)?.records.values() ?? [])];
    return held.map((h) => ({ key: h.key, digest: h.digest })).sort((a, b) => compareBytes(a.key, b.key));
  }

  async root(partition: number): Promise<TreeRoot> {
    return { shape: this.shape, hash: this.tree(partition).root() };
  }

  async segments(partition: number, level: number, indices: readonly number[]): Promise<readonly bigint[]> {
    return this.tree(partition).hashes(level, indices);
  }

  async keysIn(partition: number, segments: readonly number[]): Promise<readonly KeyDigest[]> {
    const p = this.#partition(partition);
    const wanted = new Set(segments);
    const out: KeyDigest[] = [];
    for (const h of p.records.values()) {
      if (wanted.has(p.tree.segmentOf(h.key))) out.push({ key: h.key, digest: h.digest });
    }
    return out;
  }

  async fetch(partition: number, keys: readonly Uint8Array[]): Promise<readonly StoredRecord[]> {
    const p = this.#partition(partition);
    const out: StoredRecord[] = [];
    for (const key of keys) {
      const h = p.records.get(keyId(key));
      if (h !== undefined) out.push({ key: h.key, record: h.record });
    }
    return out;
  }

  async push(partition: number, records: readonly StoredRecord[]): Promise<void> {
    for (const { key, record } of records) {
      const merged = this.#ops.merge(this.read(partition, key), record);
      this.write(partition, key, merged);
    }
  }

  #partition(partition: number): Partition {
    if (!Number.isInteger(partition) || partition < 0) throw new InvalidArgumentError(`bad partition ${String(partition)}`);
    let p = this.#partitions.get(partition);
    if (p === undefined) {
      p = { tree: TictacTree.empty(this.shape), records: new Map() };
      this.#partitions.set(partition, p);
    }
    return p;
  }
}
