/**
 * A TicTac hash tree over one partition's (key, version digest) pairs, after
 * Riak's TicTac AAE (leveled `leveled_tictac.erl`, riak_kv
 * `riak_kv_tictacaae`): every key falls into one of fanOut^depth segments by
 * its pinned SEGMENT_HASH; a segment's hash is the XOR of the ENTRY_HASH of
 * its (key, digest) pairs; every inner node's hash is the XOR of its
 * children's, so the root is the XOR of every entry hash.
 *
 * Why XOR (and not a hash of the children, as in Dynamo §4.7 and Riak's
 * first hashtree.erl): a change of one key is one XOR of a delta into each of
 * the depth + 1 nodes on its path — O(depth), no rebuild, no re-hash of
 * siblings — and the result does not depend on the order of updates, so an
 * incrementally kept tree equals one rebuilt from a scan, bit for bit. An
 * absent key has digest 0 and contributes nothing. Detection is as good as a
 * hash of children for honest data: two different contents collide in a
 * node only if their entry hashes' XOR difference is 0, probability 2^-64.
 *
 * Shape (TreeShape; default 64 × 64 = 4096 segments, depth 2 below the root):
 *  - memory: 8 bytes per node, (fanOut^depth + … + 1) nodes = 33,288 bytes per
 *    partition by default (8.5 MB for the 256 partitions of a 3-node ring);
 *  - bytes per exchange: an idle partition costs the root (14 bytes with
 *    the request); each differing key costs at most one group of fanOut
 *    sibling hashes per level, asked by index (depth × 64 × (4 + 8) = 1.5 KiB),
 *    plus the (key, digest) list of its segment — 24 keys at the 100k keys
 *    per partition this shape is sized for, one at the 4k per partition of
 *    1M keys on 256 partitions;
 *  - false positives: none from the tree (a different segment hash means
 *    different contents, up to 2^-64); a differing key drags its segment's
 *    other keys into the listing, which is what keys per segment bounds.
 * A 32 × 32 tree would list four times as many keys per differing key at
 * 100k keys; a 128 × 128 tree would cost 4× the memory (129 KiB a partition)
 * and twice the descent bytes, to list 6 keys per segment instead of 24
 * (docs/antientropy.md has the table).
 *
 * Levels are numbered from the root: level 0 holds 1 node, level i holds
 * fanOut^i, level `depth` holds the segments. Node j of level i has children
 * j·fanOut … j·fanOut + fanOut − 1 at level i + 1; segment s lies under node
 * s >> (log2 fanOut · (depth − i)) of level i.
 *
 * Pure and synchronous; the tree is a mutable value owned by one driver.
 */
import { InvalidArgumentError, assert } from '../runtime/index.ts';
import { entryHashInto, segmentHash } from './hash.ts';
import { ABSENT_DIGEST, assertDigest, type KeyDigest, type VersionDigest } from './version-digest.ts';

/** Fan-out and depth of a tree. Trees compare only with trees of the same shape. */
export interface TreeShape {
  /** Children per inner node; a power of two in 2..1024. */
  readonly fanOut: number;
  /** Levels below the root (the last holds the segments); 1..4. */
  readonly depth: number;
}

/** 64 × 64 = 4096 segments (see the module header for the sizing). */
export const TREE_SHAPE_DEFAULT: TreeShape = Object.freeze({ fanOut: 64, depth: 2 });

/** Most segments a shape may have (8 MiB of leaves). */
export const SEGMENT_COUNT_MAX = 1 << 20;

/** Throws InvalidArgumentError unless `shape` is a supported tree shape. */
export function validateTreeShape(shape: TreeShape): void {
  const { fanOut, depth } = shape;
  if (!Number.isInteger(fanOut) || fanOut < 2 || fanOut > 1024 || (fanOut & (fanOut - 1)) !== 0) {
    throw new InvalidArgumentError(`tree fanOut must be a power of two in 2..1024, got ${String(fanOut)}`);
  }
  if (!Number.isInteger(depth) || depth < 1 || depth > 4) {
    throw new InvalidArgumentError(`tree depth must be an integer in 1..4, got ${String(depth)}`);
  }
  if (fanOut ** depth > SEGMENT_COUNT_MAX) {
    throw new InvalidArgumentError(`tree fanOut^depth must be at most ${SEGMENT_COUNT_MAX}, got ${fanOut}^${depth}`);
  }
}

/** True when both shapes are the same. */
export function sameShape(a: TreeShape, b: TreeShape): boolean {
  return a.fanOut === b.fanOut && a.depth === b.depth;
}

/** Number of nodes at `level` (level `depth`: the segments). */
export function nodesAt(shape: TreeShape, level: number): number {
  return shape.fanOut ** level;
}

/** Number of segments of a shape. */
export function segmentCount(shape: TreeShape): number {
  return nodesAt(shape, shape.depth);
}

/** The segment `key` falls into. */
export function segmentOfKey(shape: TreeShape, key: Uint8Array): number {
  return segmentHash(key) & (segmentCount(shape) - 1);
}

/** The ancestor at `level` of segment `segment`. */
export function ancestorAt(shape: TreeShape, segment: number, level: number): number {
  return segment >>> (Math.log2(shape.fanOut) * (shape.depth - level));
}

/** The children (one level down, ascending per parent) of the given nodes of one level. */
export function childIndices(shape: TreeShape, parents: readonly number[]): number[] {
  const out: number[] = [];
  for (const p of parents) {
    for (let c = 0; c < shape.fanOut; c++) out.push(p * shape.fanOut + c);
  }
  return out;
}

/** The indices[i] whose hashes a[i] and b[i] differ, in the order given. */
export function differingIndices(indices: readonly number[], a: readonly bigint[], b: readonly bigint[]): number[] {
  assert(a.length === indices.length && b.length === indices.length, 'differingIndices: one hash per index');
  const out: number[] = [];
  for (let i = 0; i < indices.length; i++) if (a[i] !== b[i]) out.push(indices[i]!);
  return out;
}

/** A TicTac tree for one partition. See the module header. */
export class TictacTree {
  readonly shape: TreeShape;
  /** levels[i]: 2 words (high, low) per node of level i. */
  readonly #levels: Uint32Array[];
  #keyCount: number;
  // Scratch for entry hashes (no allocation per update).
  readonly #old = new Uint32Array(2);
  readonly #new = new Uint32Array(2);

  private constructor(shape: TreeShape, levels: Uint32Array[], keyCount: number) {
    this.shape = shape;
    this.#levels = levels;
    this.#keyCount = keyCount;
  }

  /** The tree of an empty partition. */
  static empty(shape: TreeShape = TREE_SHAPE_DEFAULT): TictacTree {
    validateTreeShape(shape);
    const levels: Uint32Array[] = [];
    for (let i = 0; i <= shape.depth; i++) levels.push(new Uint32Array(2 * nodesAt(shape, i)));
    return new TictacTree(Object.freeze({ fanOut: shape.fanOut, depth: shape.depth }), levels, 0);
  }

  /**
   * The tree of a partition holding exactly `entries` (each key once, digest
   * not ABSENT_DIGEST): leaves first, then each level once, so a rebuild costs
   * one entry hash per key plus one pass over the nodes.
   */
  static build(shape: TreeShape, entries: Iterable<KeyDigest>): TictacTree {
    const tree = TictacTree.empty(shape);
    const leaves = tree.#levels[shape.depth]!;
    const h = tree.#new;
    let count = 0;
    for (const { key, digest } of entries) {
      assertDigest(digest, 'TictacTree.build');
      assert(digest !== ABSENT_DIGEST, 'TictacTree.build: an entry with the absent digest');
      const seg = segmentHash(key);
      entryHashInto(key, seg, digest, h);
      const at = 2 * (seg & (leaves.length / 2 - 1));
      leaves[at] = leaves[at]! ^ h[0]!;
      leaves[at + 1] = leaves[at + 1]! ^ h[1]!;
      count++;
    }
    tree.#keyCount = count;
    tree.#recomputeInner();
    return tree;
  }

  /**
   * A tree from its segment hashes (2 words per segment) and key count, for
   * the codec; inner levels are recomputed rather than trusted.
   */
  static fromLeaves(shape: TreeShape, leaves: Uint32Array, keyCount: number): TictacTree {
    const tree = TictacTree.empty(shape);
    assert(leaves.length === 2 * segmentCount(shape), 'TictacTree.fromLeaves: one hash per segment');
    assert(Number.isSafeInteger(keyCount) && keyCount >= 0, 'TictacTree.fromLeaves: bad key count');
    tree.#levels[shape.depth]!.set(leaves);
    tree.#keyCount = keyCount;
    tree.#recomputeInner();
    return tree;
  }

  /** Keys with a non-absent digest (as reported by updates; a count, not part of the hashes). */
  get keyCount(): number {
    return this.#keyCount;
  }

  /** The segment `key` falls into. */
  segmentOf(key: Uint8Array): number {
    return segmentOfKey(this.shape, key);
  }

  /**
   * Record that `key` changed from `oldDigest` to `newDigest` (ABSENT_DIGEST
   * for "was absent" / "is now absent"). O(depth).
   *
   * Contract: `oldDigest` must be the digest this tree last recorded for the
   * key (ABSENT_DIGEST if none), and updates of one key must come in the
   * order the changes happened — the driver calls this under the key's lock
   * for every local write, merge and purge. A wrong oldDigest corrupts the
   * segment silently until the next rebuild (XOR cannot check it).
   */
  update(key: Uint8Array, oldDigest: VersionDigest, newDigest: VersionDigest): void {
    assertDigest(oldDigest, 'TictacTree.update(oldDigest)');
    assertDigest(newDigest, 'TictacTree.update(newDigest)');
    if (oldDigest === newDigest) return;
    const seg = segmentHash(key);
    const o = this.#old;
    const n = this.#new;
    if (oldDigest === ABSENT_DIGEST) o.fill(0);
    else entryHashInto(key, seg, oldDigest, o);
    if (newDigest === ABSENT_DIGEST) n.fill(0);
    else entryHashInto(key, seg, newDigest, n);
    const hi = o[0]! ^ n[0]!;
    const lo = o[1]! ^ n[1]!;
    const segment = seg & (segmentCount(this.shape) - 1);
    for (let level = this.shape.depth; level >= 0; level--) {
      const at = 2 * ancestorAt(this.shape, segment, level);
      const words = this.#levels[level]!;
      words[at] = words[at]! ^ hi;
      words[at + 1] = words[at + 1]! ^ lo;
    }
    if (oldDigest === ABSENT_DIGEST) this.#keyCount++;
    else if (newDigest === ABSENT_DIGEST) this.#keyCount--;
  }

  /** The root hash (the XOR of every entry hash; 0 for an empty partition). */
  root(): bigint {
    return this.hash(0, 0);
  }

  /** The hash of node `index` of `level`. */
  hash(level: number, index: number): bigint {
    this.#checkNode(level, index);
    const words = this.#levels[level]!;
    return (BigInt(words[2 * index]!) << 32n) | BigInt(words[2 * index + 1]!);
  }

  /** The hashes of the given nodes of `level`, in the order given. */
  hashes(level: number, indices: readonly number[]): bigint[] {
    return indices.map((i) => this.hash(level, i));
  }

  /** Every hash of `level`, by index. */
  level(level: number): bigint[] {
    this.#checkNode(level, 0);
    return Array.from({ length: nodesAt(this.shape, level) }, (_, i) => this.hash(level, i));
  }

  /** A copy of the segment hashes (2 words per segment: high, low), for the codec. */
  leaves(): Uint32Array {
    return this.#levels[this.shape.depth]!.slice();
  }

  /** True when both trees have the same shape and the same hashes everywhere. */
  equals(other: TictacTree): boolean {
    if (!sameShape(this.shape, other.shape)) return false;
    const a = this.#levels[this.shape.depth]!;
    const b = other.#levels[other.shape.depth]!;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /**
   * The segments whose hashes differ from `other`'s (ascending), found by
   * descending only into differing nodes — the walk an exchange makes, done
   * on two local trees.
   */
  diff(other: TictacTree): number[] {
    assert(sameShape(this.shape, other.shape), 'TictacTree.diff: trees of different shapes');
    if (this.root() === other.root()) return [];
    let parents = [0];
    for (let level = 1; level <= this.shape.depth; level++) {
      const indices = childIndices(this.shape, parents);
      parents = differingIndices(indices, this.hashes(level, indices), other.hashes(level, indices));
    }
    return parents;
  }

  /** An independent copy. */
  clone(): TictacTree {
    return new TictacTree(this.shape, this.#levels.map((l) => l.slice()), this.#keyCount);
  }

  #recomputeInner(): void {
    const f = this.shape.fanOut;
    for (let level = this.shape.depth - 1; level >= 0; level--) {
      const parent = this.#levels[level]!;
      const child = this.#levels[level + 1]!;
      parent.fill(0);
      for (let c = 0; c < child.length / 2; c++) {
        const p = 2 * Math.floor(c / f);
        parent[p] = parent[p]! ^ child[2 * c]!;
        parent[p + 1] = parent[p + 1]! ^ child[2 * c + 1]!;
      }
    }
  }

  // Levels and indices may come from a peer's request: a bad one is its
  // error (InvalidArgumentError), not a reason to crash this node.
  #checkNode(level: number, index: number): void {
    if (!Number.isInteger(level) || level < 0 || level > this.shape.depth) {
      throw new InvalidArgumentError(`tree level must be an integer in 0..${this.shape.depth}, got ${String(level)}`);
    }
    if (!Number.isInteger(index) || index < 0 || index >= nodesAt(this.shape, level)) {
      throw new InvalidArgumentError(`tree node index at level ${level} must be an integer in 0..${nodesAt(this.shape, level) - 1}, got ${String(index)}`);
    }
  }
}
