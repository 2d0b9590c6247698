/** The Storage compliance suite on RocksDB with every non-empty record in the value log and tiny segments. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksStorage } from '../../lib/storage/index.ts';
import { storageSuite } from './storage-suite.ts';

storageSuite('rocksdb (value log)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dynamo-storage-rocksdb-vlog-'));
  const dataDir = join(dir, 'db');
  const options = { dataDir, valueLogMinBytes: 1, valueLogSegmentBytes: 2048, valueLogGcLiveRatio: 0.75 };
  return {
    storage: new RocksStorage(options),
    reopen: async () => new RocksStorage(options),
    cleanup: () => rm(dir, { recursive: true, force: true }),
    valueLog: options,
  };
});
