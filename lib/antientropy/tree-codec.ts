/**
 * Persisted form of a TictacTree, so a node restarted after a clean stop
 * need not rescan its partitions (issue 9: "persisted or rebuilt in the
 * background after a restart"). Only the segment hashes and the key count are
 * stored; inner levels are recomputed on load, so a loaded tree is
 * internally consistent by construction.
 *
 * Format 1 (integers big-endian), 16 + 8 × segments bytes (32,784 by default):
 *
 *   0  'A' 'A' 'E' 'T'        magic
 *   4  u8  format (1)
 *   5  u8  log2(fanOut)
 *   6  u8  depth
 *   7  u8  0 (reserved)
 *   8  u32 keyCount
 *   12 segments × (u32 high, u32 low)
 *   …  u32 TREE_CHECKSUM_HASH of every byte before it
 *
 * The bytes say nothing about whether the tree still matches storage: the
 * driver may trust a loaded tree only if nothing was written to the partition
 * since it was saved (docs/antientropy.md, "After a restart").
 */
import { StorageCorruptionError, err, ok, type Result } from '../runtime/index.ts';
import { treeChecksum } from './hash.ts';
import { TictacTree, sameShape, segmentCount, validateTreeShape, type TreeShape } from './tictac-tree.ts';

const MAGIC = [0x41, 0x41, 0x45, 0x54];
const FORMAT = 1;
const HEADER_BYTES = 12;
const CHECKSUM_BYTES = 4;

/** The persisted bytes of `tree`. */
export function encodeTree(tree: TictacTree): Uint8Array {
  const leaves = tree.leaves();
  const out = new Uint8Array(HEADER_BYTES + 4 * leaves.length + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint8(4, FORMAT);
  view.setUint8(5, Math.log2(tree.shape.fanOut));
  view.setUint8(6, tree.shape.depth);
  view.setUint32(8, tree.keyCount);
  for (let i = 0; i < leaves.length; i++) view.setUint32(HEADER_BYTES + 4 * i, leaves[i]!);
  const end = out.length - CHECKSUM_BYTES;
  view.setUint32(end, treeChecksum(out.subarray(0, end)));
  return out;
}

/**
 * The tree persisted in `bytes`. Fails with StorageCorruptionError (and never
 * throws) on bytes encodeTree could not have produced, or on a tree of
 * another shape than `expected` (the configuration changed): either way the
 * driver rebuilds the tree from storage.
 */
export function decodeTree(bytes: Uint8Array, expected: TreeShape): Result<TictacTree, StorageCorruptionError> {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES + CHECKSUM_BYTES) {
    return err(new StorageCorruptionError('persisted tree is truncated'));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (MAGIC.some((b, i) => bytes[i] !== b)) return err(new StorageCorruptionError('persisted tree has a bad magic'));
  if (bytes[4] !== FORMAT) return err(new StorageCorruptionError(`persisted tree has unknown format ${bytes[4]}`));
  const end = bytes.length - CHECKSUM_BYTES;
  if (view.getUint32(end) !== treeChecksum(bytes.subarray(0, end))) {
    return err(new StorageCorruptionError('persisted tree fails its checksum'));
  }
  const shape: TreeShape = { fanOut: 2 ** view.getUint8(5), depth: view.getUint8(6) };
  try {
    validateTreeShape(shape);
  } catch {
    return err(new StorageCorruptionError(`persisted tree has an unsupported shape ${shape.fanOut}^${shape.depth}`));
  }
  if (!sameShape(shape, expected)) {
    return err(
      new StorageCorruptionError(
        `persisted tree is ${shape.fanOut}^${shape.depth}, configured ${expected.fanOut}^${expected.depth}; rebuild it`,
      ),
    );
  }
  const words = 2 * segmentCount(shape);
  if (end - HEADER_BYTES !== 4 * words) return err(new StorageCorruptionError('persisted tree has the wrong length for its shape'));
  const leaves = new Uint32Array(words);
  for (let i = 0; i < words; i++) leaves[i] = view.getUint32(HEADER_BYTES + 4 * i);
  return ok(TictacTree.fromLeaves(shape, leaves, view.getUint32(8)));
}
