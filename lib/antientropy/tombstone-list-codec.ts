/**
 * Persisted form of the tombstone ledger's keys of one partition, saved
 * beside the partition's tree at a clean stop. Without it a node would walk
 * every key of every partition after each clean start only to find the
 * tombstones again for GC (about 20 µs per key: minutes at 10M keys), since
 * a tree says nothing about which keys are tombstones. Only the keys are
 * stored: the driver reads each one's record back at start, so what it
 * tracks is what storage holds, and what exchanges learnt of the peers is
 * learnt again, as after a walk.
 *
 * The driver saves a list only for a partition whose ledger it knows to be
 * complete (a walk of it finished in this life or the list was loaded, no
 * tombstone went untracked for lack of room, no write's outcome is unknown);
 * otherwise it saves nothing and the next start walks that partition. A
 * missing key only delays a purge (an untracked tombstone is kept), never
 * loses data.
 *
 * Format 1 (integers big-endian):
 *
 *   0  'A' 'A' 'E' 'D'        magic
 *   4  u8  format (1)
 *   5  u32 key count
 *   9  count × (u32 length, key bytes)
 *   …  u32 TREE_CHECKSUM_HASH of every byte before it
 */
import { StorageCorruptionError, err, ok, type Result } from '../runtime/index.ts';
import { treeChecksum } from './hash.ts';

const MAGIC = [0x41, 0x41, 0x45, 0x44];
const FORMAT = 1;
const HEADER_BYTES = 9;
const CHECKSUM_BYTES = 4;

/** The persisted bytes of a partition's tracked tombstone keys. */
export function encodeTombstoneKeys(keys: readonly Uint8Array[]): Uint8Array {
  const size = HEADER_BYTES + keys.reduce((n, k) => n + 4 + k.length, 0) + CHECKSUM_BYTES;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint8(4, FORMAT);
  view.setUint32(5, keys.length);
  let at = HEADER_BYTES;
  for (const k of keys) {
    view.setUint32(at, k.length);
    out.set(k, at + 4);
    at += 4 + k.length;
  }
  view.setUint32(at, treeChecksum(out.subarray(0, at)));
  return out;
}

/** The keys persisted in `bytes`; StorageCorruptionError (never a throw) on bytes encodeTombstoneKeys could not have produced. */
export function decodeTombstoneKeys(bytes: Uint8Array): Result<Uint8Array[], StorageCorruptionError> {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES + CHECKSUM_BYTES) {
    return err(new StorageCorruptionError('persisted tombstone list is truncated'));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (MAGIC.some((b, i) => bytes[i] !== b)) return err(new StorageCorruptionError('persisted tombstone list has a bad magic'));
  if (bytes[4] !== FORMAT) return err(new StorageCorruptionError(`persisted tombstone list has unknown format ${bytes[4]}`));
  const end = bytes.length - CHECKSUM_BYTES;
  if (view.getUint32(end) !== treeChecksum(bytes.subarray(0, end))) {
    return err(new StorageCorruptionError('persisted tombstone list fails its checksum'));
  }
  const count = view.getUint32(5);
  const keys: Uint8Array[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + 4 > end) return err(new StorageCorruptionError('persisted tombstone list ends inside a key'));
    const length = view.getUint32(at);
    if (at + 4 + length > end) return err(new StorageCorruptionError('persisted tombstone list ends inside a key'));
    keys.push(bytes.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (at !== end) return err(new StorageCorruptionError('persisted tombstone list has bytes after its last key'));
  return ok(keys);
}
