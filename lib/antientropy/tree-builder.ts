/**
 * Rebuilding a partition's tree from a storage scan while requests go on
 * (after a restart without a trusted persisted tree, or to clear drift). The
 * scan walks the partition in ascending key order (Storage.iteratePartition);
 * writes keep landing meanwhile, and the builder keeps the result exact
 * without locking the partition or remembering every scanned key:
 *
 *  - a write of a key the scan has not reached yet is remembered (dirty
 *    map: key -> newest digest) and the scan skips that key when it gets
 *    there; the dirty digest enters the tree at finish();
 *  - a write of a key the scan has already passed, and not written since the
 *    build began, is applied to the tree as an ordinary update: the scan saw
 *    exactly that write's old digest (argument below);
 *  - a write of a dirty key just replaces its dirty digest.
 *
 * Why the scan saw `old` in the second case: the driver reports every write
 * to the builder *before* issuing it to storage (under the key's lock, with
 * the old and new digests it computed). If the key is not dirty, no write of
 * it was reported while it lay ahead of the cursor, so no write of it was
 * issued between the start of the build and the scan reading it; any
 * earlier write had completed (the driver reports writes already in flight
 * when it creates the builder) and is what the scan read — with or without
 * an iterator snapshot — and what this write's old digest is.
 *
 * Memory is bounded by the dirty map (`dirtyKeysMax`); past it the build is
 * marked `overflowed` and the driver starts it again (a partition under that
 * much write load rebuilds when the load drops).
 */
import { InvalidArgumentError, assert } from '../runtime/index.ts';
import { TictacTree, type TreeShape } from './tictac-tree.ts';
import { ABSENT_DIGEST, assertDigest, compareBytes, type VersionDigest } from './version-digest.ts';
import { keyId } from './key-id.ts';

interface Dirty {
  readonly key: Uint8Array;
  digest: VersionDigest;
}

/** Builds one partition's tree from a scan plus the writes made during it. */
export class TreeBuilder {
  readonly #tree: TictacTree;
  readonly #dirty = new Map<string, Dirty>();
  readonly #dirtyKeysMax: number;
  #cursor: Uint8Array | undefined;
  #overflowed = false;
  #finished = false;
  #scanned = 0;

  constructor(shape: TreeShape, dirtyKeysMax: number) {
    if (!Number.isSafeInteger(dirtyKeysMax) || dirtyKeysMax < 1) {
      throw new InvalidArgumentError(`dirtyKeysMax must be a positive integer, got ${String(dirtyKeysMax)}`);
    }
    this.#tree = TictacTree.empty(shape);
    this.#dirtyKeysMax = dirtyKeysMax;
  }

  /** True once more keys were written during the build than dirtyKeysMax: start again. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Keys the scan has delivered. */
  get scannedCount(): number {
    return this.#scanned;
  }

  /** The next record of the scan: keys strictly ascending (bytewise), digest of the stored object. */
  scanned(key: Uint8Array, digest: VersionDigest): void {
    assert(!this.#finished, 'TreeBuilder: scanned after finish');
    assertDigest(digest, 'TreeBuilder.scanned');
    assert(this.#cursor === undefined || compareBytes(this.#cursor, key) < 0, 'TreeBuilder: scan keys must ascend');
    this.#cursor = key;
    this.#scanned++;
    if (this.#dirty.has(keyId(key))) return;
    this.#tree.update(key, ABSENT_DIGEST, digest);
  }

  /**
   * A local write (or merge, or purge: newDigest ABSENT_DIGEST) of a key of
   * this partition, reported before it is issued to storage. Also call it for
   * writes already in flight when the builder is created.
   */
  written(key: Uint8Array, oldDigest: VersionDigest, newDigest: VersionDigest): void {
    assert(!this.#finished, 'TreeBuilder: written after finish');
    const id = keyId(key);
    const dirty = this.#dirty.get(id);
    if (dirty !== undefined) {
      assertDigest(newDigest, 'TreeBuilder.written');
      dirty.digest = newDigest;
    } else if (this.#cursor !== undefined && compareBytes(key, this.#cursor) <= 0) {
      this.#tree.update(key, oldDigest, newDigest);
    } else if (this.#dirty.size >= this.#dirtyKeysMax) {
      this.#overflowed = true;
    } else {
      assertDigest(newDigest, 'TreeBuilder.written');
      this.#dirty.set(id, { key, digest: newDigest });
    }
  }

  /** The finished tree, once the scan has delivered every key. Not valid if overflowed. */
  finish(): TictacTree {
    assert(!this.#overflowed, 'TreeBuilder: the build overflowed; start it again');
    assert(!this.#finished, 'TreeBuilder: finished twice');
    this.#finished = true;
    for (const { key, digest } of this.#dirty.values()) this.#tree.update(key, ABSENT_DIGEST, digest);
    return this.#tree;
  }
}
