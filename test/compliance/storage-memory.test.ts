import { MemoryStorage } from '../../lib/storage/index.ts';
import { storageSuite } from './storage-suite.ts';

storageSuite('memory', async () => ({
  storage: new MemoryStorage(),
  cleanup: async () => undefined,
}));
