import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksStorage } from '../../lib/storage/index.ts';
import { storageSuite } from './storage-suite.ts';

storageSuite('rocksdb', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dynamo-storage-rocksdb-'));
  const dataDir = join(dir, 'db');
  return {
    storage: new RocksStorage({ dataDir }),
    reopen: async () => new RocksStorage({ dataDir }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
