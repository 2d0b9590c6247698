import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStorage } from '../../lib/storage/index.ts';
import { storageSuite } from './storage-suite.ts';

storageSuite('leveldb', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dynamo-storage-leveldb-'));
  const dataDir = join(dir, 'db');
  return {
    storage: new LevelStorage({ dataDir }),
    reopen: async () => new LevelStorage({ dataDir }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

storageSuite('leveldb (batched reads)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dynamo-storage-leveldb-batched-'));
  const dataDir = join(dir, 'db');
  return {
    storage: new LevelStorage({ dataDir, readMode: 'batched' }),
    reopen: async () => new LevelStorage({ dataDir, readMode: 'batched' }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

storageSuite('leveldb (syncWrites)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dynamo-storage-leveldb-sync-'));
  const dataDir = join(dir, 'db');
  return {
    storage: new LevelStorage({ dataDir, syncWrites: true }),
    reopen: async () => new LevelStorage({ dataDir, syncWrites: true }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
