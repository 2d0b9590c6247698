/**
 * The Storage compliance suite on LevelDB with every non-empty record in the
 * value log (threshold 1 byte) and tiny segments, so records, overwrites and
 * deletes all go through pointers, rotation and GC.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DiskEngineOptions, LevelStorage } from '../../lib/storage/index.ts';
import { storageSuite } from './storage-suite.ts';

function vlogSuite(name: string, options: Omit<DiskEngineOptions, 'dataDir'>): void {
  storageSuite(name, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dynamo-storage-leveldb-vlog-'));
    const dataDir = join(dir, 'db');
    return {
      storage: new LevelStorage({ ...options, dataDir }),
      reopen: async () => new LevelStorage({ ...options, dataDir }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
      valueLog: options,
    };
  });
}

vlogSuite('leveldb (value log)', { valueLogMinBytes: 1, valueLogSegmentBytes: 4096 });
vlogSuite('leveldb (value log, syncWrites, batched reads, eager GC)', {
  valueLogMinBytes: 1, valueLogSegmentBytes: 512, valueLogGcLiveRatio: 0.9, syncWrites: true, readMode: 'batched',
});
