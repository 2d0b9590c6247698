import { expect } from 'chai';
import { AntiEntropy, META_AAE_CLEAN, metaAaeTree } from '../../../lib/node/anti-entropy.ts';
import { BackgroundAdmission, TictacTree, admissionConfigOf, encodeTree, testAntiEntropyConfig, treeShapeOf } from '../../../lib/antientropy/index.ts';
import { MemoryStorage, encodeRecord, type StoredObject } from '../../../lib/storage/index.ts';
import { RealRandom, silentLogger, type Runtime, type Time, type TimerHandle } from '../../../lib/runtime/index.ts';

/** A clock that moves 1 ms per reading and whose timers fire only when told. */
class StepTime implements Time {
  #now = 0;
  readonly pending: { delayMs: number; fn: () => void; cancelled: boolean }[] = [];
  nowMs(): number {
    return 1_700_000_000_000 + this.#now;
  }
  monotonicMs(): number {
    return ++this.#now;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const t = { delayMs, fn, cancelled: false };
    this.pending.push(t);
    return t as unknown as TimerHandle;
  }
  cancelTimer(handle: TimerHandle): void {
    (handle as unknown as { cancelled: boolean }).cancelled = true;
  }
}

const KEYS = 3_000;
const utf8 = new TextEncoder();

/** A node's storage as a clean stop left it: partition 0's tree saved and named by the marker, and KEYS records. */
async function storageAfterCleanStop(): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  await storage.open();
  const config = testAntiEntropyConfig();
  const records = [];
  for (let i = 0; i < KEYS; i++) {
    const object: StoredObject = { entries: [{ actor: 'a.1', counter: 1, values: [{ data: utf8.encode(`v${i}`), tombstone: false, writtenAtMs: 1 }] }], anonymous: [] };
    records.push({ partition: 0, key: utf8.encode(`k${String(i).padStart(5, '0')}`), record: encodeRecord(object) });
  }
  await storage.write(records);
  await storage.putMeta(metaAaeTree(0), encodeTree(TictacTree.empty(treeShapeOf(config))));
  await storage.putMeta(META_AAE_CLEAN, new Uint8Array([0, 0, 0, 0]));
  return storage;
}

describe('AntiEntropy driver: partition scans yield to requests', () => {
  it('a busy node\'s scan pauses between slices, and stop() ends a pause at once so the trees are still saved', async () => {
    const storage = await storageAfterCleanStop();
    const time = new StepTime();
    const runtime: Runtime = { time, random: new RealRandom(), logger: silentLogger };
    const config = testAntiEntropyConfig();
    let requests = 0;
    const ae = new AntiEntropy({
      runtime,
      self: 'n1',
      storage,
      admission: new BackgroundAdmission(admissionConfigOf(config), 0),
      config,
      enabled: true,
      cluster: () => undefined,
      generations: () => new Map(),
      request: () => Promise.reject(new Error('no peers here')),
      merge: () => Promise.reject(new Error('no merges here')),
      purge: () => Promise.resolve(false),
      hintCensus: () => Promise.resolve('unanswered'),
      // Every look at the count sees 1,000 more requests: always busy.
      requests: () => (requests += 1_000),
    });
    // Loading the saved tree queues the walk that finds its tombstones again.
    await ae.open();
    for (let i = 0; i < 200 && time.pending.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(time.pending.length, 'the scan paused after its first slice').to.equal(1);
    expect(time.pending[0]!.delayMs).to.be.above(0);
    // The pause's timer never fires here (a real timer would not keep the process alive either).
    const stopped = await Promise.race([ae.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('stop waited for the pause'), 2_000))]);
    expect(stopped).to.equal('stopped');
    expect(time.pending[0]!.cancelled).to.equal(true);
    await ae.persist();
    const marker = await storage.getMeta(META_AAE_CLEAN);
    expect(Array.from(marker ?? []), 'the loaded tree is saved for the next start').to.deep.equal([0, 0, 0, 0]);
    await storage.close();
  });
});
