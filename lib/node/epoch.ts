/**
 * What a data directory must remember about itself: the partition count its
 * data was laid out with. (The actor epoch is deliberately NOT stored: every
 * process life mints a fresh one, see replication/actor-epochs.ts.)
 */
import { InvalidArgumentError, StorageCorruptionError } from '../runtime/index.ts';
import type { Storage } from '../storage/index.ts';

/** Storage meta name of the partition count (uint32 big-endian). */
export const META_PARTITION_COUNT = 'partition-count';

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
