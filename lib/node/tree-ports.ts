/**
 * The two TreePorts an anti-entropy exchange talks to (lib/antientropy
 * tree-port.ts), as a node implements them:
 *
 *  - ReplicaTreePort: this node's replica of a partition — its TicTac tree,
 *    listings and records read from storage, pushed records merged through
 *    the local replica (LocalReplica.merge: causal, siblings kept). It is
 *    the `local` side of the exchanges this node runs, and what answers the
 *    tree requests of peers running theirs.
 *  - RemoteTreePort: a peer's replica, reached with one TreeRequest per call
 *    over the node-to-node transport (gRPC between processes, SimNetwork in
 *    the simulator).
 *
 * One exchange function runs over both, wherever it runs.
 */
import {
  ABSENT_DIGEST,
  TictacTree,
  keyId,
  nodesAt,
  segmentCount,
  segmentOfKey,
  versionDigest,
  type KeyDigest,
  type TreePort,
  type TreeReply as PortReply,
  type TreeRoot,
  type TreeShape,
} from '../antientropy/index.ts';
import { InvalidArgumentError, StorageCorruptionError, type Logger } from '../runtime/index.ts';
import type { NodeId, TreeAnswer, TreeCall, TreeRequest } from '../protocol/index.ts';
import { decodeRecord, type Storage, type StoredRecord } from '../storage/index.ts';

/** The version digest of what a record holds; undefined for bytes that do not decode. */
export function recordDigest(record: Uint8Array): bigint | undefined {
  try {
    return versionDigest(decodeRecord(record));
  } catch (e) {
    if (e instanceof StorageCorruptionError) return undefined;
    throw e;
  }
}

/** What a ReplicaTreePort reads and writes through. */
export interface ReplicaTreeDeps {
  readonly shape: TreeShape;
  readonly storage: Storage;
  readonly logger: Logger;
  /** The ready tree of `partition`; throws UnavailableError when there is none (not replicated here, or being built). */
  tree(partition: number): TictacTree;
  /** Tombstones purged here that are still listed as held (TombstoneLedger.purgedIn). */
  purgedIn(partition: number, segments: readonly number[]): KeyDigest[];
  /** Merge one record into the local replica (LocalReplica.merge through the coordinator). */
  merge(partition: number, key: Uint8Array, record: Uint8Array): Promise<void>;
}

/**
 * Most keys one fetch may ask for, and most records one push may carry
 * (the exchange asks keysPerCallMax, 256 by default; a peer asking far more
 * is refused rather than served from memory without bound).
 */
const KEYS_PER_CALL_MAX = 65_536;

/** This node's replica of its partitions behind the TreePort (see the module header). */
export class ReplicaTreePort implements TreePort {
  readonly #deps: ReplicaTreeDeps;

  constructor(deps: ReplicaTreeDeps) {
    this.#deps = deps;
  }

  async root(partition: number): Promise<TreeRoot> {
    return { shape: this.#deps.shape, hash: this.#deps.tree(partition).root() };
  }

  async segments(partition: number, level: number, indices: readonly number[]): Promise<readonly bigint[]> {
    const tree = this.#deps.tree(partition);
    if (indices.length > nodesAt(this.#deps.shape, Math.min(Math.max(level, 0), this.#deps.shape.depth))) {
      throw new InvalidArgumentError(`asked for ${indices.length} hashes of tree level ${level}, more than it has`);
    }
    return tree.hashes(level, indices);
  }

  /**
   * Walks the partition and lists the keys of the asked segments with the
   * digest of what is stored, plus the purged tombstones still remembered.
   * A record that does not decode is not listed: the peer's copy of its key
   * is then pulled, and merging it sets the rotten record aside.
   */
  async keysIn(partition: number, segments: readonly number[]): Promise<readonly KeyDigest[]> {
    this.#deps.tree(partition);
    const count = segmentCount(this.#deps.shape);
    for (const s of segments) {
      if (!Number.isInteger(s) || s < 0 || s >= count) throw new InvalidArgumentError(`segment must be an integer in 0..${count - 1}, got ${String(s)}`);
    }
    const wanted = new Set(segments);
    const out: KeyDigest[] = [];
    const listed = new Set<string>();
    for await (const r of this.#deps.storage.iteratePartition(partition)) {
      if (!wanted.has(segmentOfKey(this.#deps.shape, r.key))) continue;
      const digest = recordDigest(r.record);
      if (digest === undefined || digest === ABSENT_DIGEST) continue;
      out.push({ key: r.key, digest });
      listed.add(keyId(r.key));
    }
    for (const p of this.#deps.purgedIn(partition, segments)) if (!listed.has(keyId(p.key))) out.push(p);
    return out;
  }

  async fetch(partition: number, keys: readonly Uint8Array[]): Promise<readonly StoredRecord[]> {
    this.#deps.tree(partition);
    if (keys.length > KEYS_PER_CALL_MAX) throw new InvalidArgumentError(`asked for ${keys.length} records at once; at most ${KEYS_PER_CALL_MAX}`);
    const out: StoredRecord[] = [];
    const seen = new Set<string>();
    for (const key of keys) {
      const id = keyId(key);
      if (seen.has(id)) continue;
      seen.add(id);
      let record: Uint8Array | undefined;
      try {
        record = await this.#deps.storage.get(partition, key);
      } catch (e) {
        // Rotten here (a value-log record failing its checksum): nothing to send. The key lists as
        // absent on this side, so the exchange pulls the peer's copy, whose merge sets this one aside.
        if (!(e instanceof StorageCorruptionError)) throw e;
        this.#deps.logger.warn('a record anti-entropy would send is damaged; skipped', { partition, error: e.message });
        continue;
      }
      if (record !== undefined) out.push({ key, record });
    }
    return out;
  }

  async push(partition: number, records: readonly StoredRecord[]): Promise<void> {
    this.#deps.tree(partition);
    if (records.length > KEYS_PER_CALL_MAX) throw new InvalidArgumentError(`pushed ${records.length} records at once; at most ${KEYS_PER_CALL_MAX}`);
    for (const r of records) {
      try {
        await this.#deps.merge(partition, r.key, r.record);
      } catch (e) {
        // Rotten on the sender: that copy is lost; the other replicas keep theirs.
        if (!(e instanceof StorageCorruptionError)) throw e;
        this.#deps.logger.warn('a record pushed by anti-entropy does not decode; skipped', { partition, error: e.message });
      }
    }
  }
}

/** A port's reply as the answer a TreeReply carries. */
export function answerOf(reply: PortReply): TreeAnswer {
  switch (reply.op) {
    case 'root':
      return { op: 'root', fanOut: reply.root.shape.fanOut, depth: reply.root.shape.depth, hash: reply.root.hash };
    case 'segments':
      return { op: 'segments', hashes: reply.hashes };
    case 'keys-in':
      return { op: 'keys-in', entries: reply.entries };
    case 'fetch':
      return { op: 'fetch', records: reply.records };
    case 'push':
      return { op: 'push' };
  }
}

/** Sends one TreeRequest and resolves its answer; rejects with the DynamoError the peer or the transport gave. */
export type TreeCaller = (req: TreeRequest) => Promise<TreeAnswer>;

/** A peer's replica behind the TreePort: one TreeRequest per call (see the module header). */
export class RemoteTreePort implements TreePort {
  readonly #call: TreeCaller;
  readonly #from: NodeId;
  readonly #ringVersion: number;

  /** `from`: this node; `ringVersion`: the ring the exchange runs under (the peer refuses another). */
  constructor(call: TreeCaller, from: NodeId, ringVersion: number) {
    this.#call = call;
    this.#from = from;
    this.#ringVersion = ringVersion;
  }

  async root(partition: number): Promise<TreeRoot> {
    const a = await this.#ask(partition, { op: 'root' }, 'root');
    return { shape: { fanOut: a.fanOut, depth: a.depth }, hash: a.hash };
  }

  async segments(partition: number, level: number, indices: readonly number[]): Promise<readonly bigint[]> {
    return (await this.#ask(partition, { op: 'segments', level, indices }, 'segments')).hashes;
  }

  async keysIn(partition: number, segments: readonly number[]): Promise<readonly KeyDigest[]> {
    return (await this.#ask(partition, { op: 'keys-in', segments }, 'keys-in')).entries;
  }

  async fetch(partition: number, keys: readonly Uint8Array[]): Promise<readonly StoredRecord[]> {
    return (await this.#ask(partition, { op: 'fetch', keys }, 'fetch')).records;
  }

  async push(partition: number, records: readonly StoredRecord[]): Promise<void> {
    await this.#ask(partition, { op: 'push', records }, 'push');
  }

  async #ask<Op extends TreeAnswer['op']>(partition: number, call: TreeCall, op: Op): Promise<Extract<TreeAnswer, { op: Op }>> {
    const answer = await this.#call({ type: 'tree', from: this.#from, partition, ringVersion: this.#ringVersion, call });
    if (answer.op !== op) throw new InvalidArgumentError(`the peer answered a ${call.op} call with ${answer.op}`);
    return answer as Extract<TreeAnswer, { op: Op }>;
  }
}

/** The segment hashes of `segments` as a tree over exactly `entries` would have them (drift checks). */
export function segmentHashesOf(shape: TreeShape, entries: readonly KeyDigest[], segments: readonly number[]): bigint[] {
  return TictacTree.build(shape, entries).hashes(shape.depth, segments);
}
