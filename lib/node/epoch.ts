/**
 * Node identity that must survive restarts but never outlive the data: the
 * actor epoch (minted when a data directory is created, so a node that lost
 * its data writes under a fresh actor and can never reissue an old dot —
 * Riak kv679) and the partition count the data was laid out with.
 */
import { InvalidArgumentError, StorageCorruptionError, type Random } from '../runtime/index.ts';
import type { Storage } from '../storage/index.ts';

/** Storage meta name of the actor epoch (raw random bytes). */
export const META_ACTOR_EPOCH = 'actor-epoch';
/** Storage meta name of the partition count (uint32 big-endian). */
export const META_PARTITION_COUNT = 'partition-count';
/** Random bytes in a fresh epoch: 64 bits make a collision between two lives of one node negligible. */
export const EPOCH_BYTES = 8;
const EPOCH_BYTES_MAX = 64;

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * The data directory's actor epoch (hex). A directory without one gets a
 * fresh epoch, persisted before this returns so the node never serves under
 * an epoch it could forget.
 */
export async function loadOrMintEpoch(storage: Storage, random: Random): Promise<{ epoch: string; minted: boolean }> {
  const stored = await storage.getMeta(META_ACTOR_EPOCH);
  if (stored !== undefined) {
    if (stored.length === 0 || stored.length > EPOCH_BYTES_MAX) {
      throw new StorageCorruptionError(`stored actor epoch has ${stored.length} bytes (expected 1..${EPOCH_BYTES_MAX})`);
    }
    return { epoch: hex(stored), minted: false };
  }
  const fresh = random.bytes(EPOCH_BYTES);
  await storage.putMeta(META_ACTOR_EPOCH, fresh);
  return { epoch: hex(fresh), minted: true };
}

/**
 * Refuse a data directory laid out for another partition count: its keys sit
 * under the wrong partitions, and silently re-partitioning would lose them.
 * A directory without the record gets `partitionCount` written.
 */
export async function checkPartitionCount(storage: Storage, partitionCount: number): Promise<void> {
  const stored = await storage.getMeta(META_PARTITION_COUNT);
  if (stored === undefined) {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, partitionCount);
    await storage.putMeta(META_PARTITION_COUNT, bytes);
    return;
  }
  if (stored.length !== 4) throw new StorageCorruptionError(`stored partition count has ${stored.length} bytes (expected 4)`);
  const was = new DataView(stored.buffer, stored.byteOffset, 4).getUint32(0);
  if (was !== partitionCount) {
    throw new InvalidArgumentError(
      `the data directory was created with ${was} partitions but this node is configured with ${partitionCount}; ` +
        `start it with --partitions ${was} (the partition count is fixed when a cluster is created)`,
    );
  }
}
