import { expect } from 'chai';
import { AntiEntropy, META_AAE_CLEAN, metaAaeTombstones, metaAaeTree } from '../../../lib/node/anti-entropy.ts';
import {
  BackgroundAdmission,
  TictacTree,
  admissionConfigOf,
  decodeTombstoneKeys,
  encodeTombstoneKeys,
  encodeTree,
  testAntiEntropyConfig,
  treeShapeOf,
  type AntiEntropyConfig,
} from '../../../lib/antientropy/index.ts';
import { MemoryStorage, encodeRecord, type StoredObject, type StoredRecord } from '../../../lib/storage/index.ts';
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
const keyOf = (i: number): Uint8Array => utf8.encode(`k${String(i).padStart(5, '0')}`);
/** Every 600th key holds only a tombstone: 5 of them. */
const isTombstone = (i: number): boolean => i % 600 === 0;
const TOMBSTONE_KEYS = Array.from({ length: KEYS }, (_, i) => i)
  .filter(isTombstone)
  .map(keyOf);

/** A MemoryStorage that counts the partition walks begun and finished. */
class WalkCountingStorage extends MemoryStorage {
  walks = 0;
  walked = 0;
  override async *iteratePartition(partition: number, opts?: { readonly after?: Uint8Array }): AsyncGenerator<StoredRecord, void, undefined> {
    this.walks++;
    yield* super.iteratePartition(partition, opts);
    this.walked++;
  }
}

/**
 * A node's storage as a clean stop left it: partition 0's tree saved and
 * named by the marker, KEYS records (TOMBSTONE_KEYS deleted), and, if given,
 * the tombstone list saved beside the tree.
 */
async function storageAfterCleanStop(tombstoneList?: readonly Uint8Array[]): Promise<WalkCountingStorage> {
  const storage = new WalkCountingStorage();
  await storage.open();
  const config = testAntiEntropyConfig();
  const records = [];
  for (let i = 0; i < KEYS; i++) {
    const value = isTombstone(i) ? { data: new Uint8Array(0), tombstone: true, writtenAtMs: 2 } : { data: utf8.encode(`v${i}`), tombstone: false, writtenAtMs: 1 };
    const object: StoredObject = { entries: [{ actor: 'a.1', counter: 1, values: [value] }], anonymous: [] };
    records.push({ partition: 0, key: keyOf(i), record: encodeRecord(object) });
  }
  await storage.write(records);
  await storage.putMeta(metaAaeTree(0), encodeTree(TictacTree.empty(treeShapeOf(config))));
  if (tombstoneList !== undefined) await storage.putMeta(metaAaeTombstones(0), encodeTombstoneKeys(tombstoneList));
  await storage.putMeta(META_AAE_CLEAN, new Uint8Array([0, 0, 0, 0]));
  return storage;
}

/** Let the driver's background work run (no timer fires: none is needed without load). */
async function ticks(n = 50): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** The tombstone list persist() saved for partition 0: its keys as strings, or 'walk next time'. */
async function savedList(storage: MemoryStorage): Promise<string[] | 'walk next time'> {
  const bytes = await storage.getMeta(metaAaeTombstones(0));
  if (bytes === undefined || bytes.length === 0) return 'walk next time';
  const keys = decodeTombstoneKeys(bytes);
  if (!keys.ok) throw keys.error;
  return keys.value.map((k) => new TextDecoder().decode(k)).sort();
}

const TOMBSTONE_NAMES = TOMBSTONE_KEYS.map((k) => new TextDecoder().decode(k));

/** The driver over `storage`, alone (no ring, no peers). */
function driver(storage: MemoryStorage, time: Time, config: AntiEntropyConfig, requests?: () => number): AntiEntropy {
  const runtime: Runtime = { time, random: new RealRandom(), logger: silentLogger };
  return new AntiEntropy({
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
    ...(requests === undefined ? {} : { requests }),
  });
}

describe('AntiEntropy driver: partition scans yield to requests', () => {
  it('a busy node\'s scan pauses between slices, and stop() ends a pause at once so the trees are still saved', async () => {
    const storage = await storageAfterCleanStop();
    const time = new StepTime();
    const config = testAntiEntropyConfig();
    let requests = 0;
    // Every look at the count sees 1,000 more requests: always busy.
    const ae = driver(storage, time, config, () => (requests += 1_000));
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

describe('AntiEntropy driver: the tombstone list saved at a clean stop spares the walk at the next start', () => {
  /** One life on `storage`: open, let the background work run (a walk to its end, if one begins), stop cleanly; the walks begun and the list saved. */
  async function life(storage: WalkCountingStorage, config: AntiEntropyConfig = testAntiEntropyConfig()): Promise<{ walks: number; saved: string[] | 'walk next time' }> {
    const ae = driver(storage, new StepTime(), config);
    await ae.open();
    await ticks();
    for (let i = 0; i < 20 && storage.walked < storage.walks; i++) await ticks();
    expect(storage.walked, 'every walk begun finished').to.equal(storage.walks);
    await ticks(5);
    await ae.stop();
    await ae.persist();
    const saved = await savedList(storage);
    await storage.close();
    return { walks: storage.walks, saved };
  }

  it('a clean start tracks the saved list\'s tombstones without walking the partition, and the next stop saves them again', async () => {
    // The list also names a key that holds a live value: it is read back and not tracked.
    expect(await life(await storageAfterCleanStop([...TOMBSTONE_KEYS, keyOf(1)]))).to.deep.equal({ walks: 0, saved: TOMBSTONE_NAMES });
  });

  it('without a list (a data directory from an older version) the start walks the partition, and the next stop saves what it found', async () => {
    expect(await life(await storageAfterCleanStop())).to.deep.equal({ walks: 1, saved: TOMBSTONE_NAMES });
  });

  it('a list the ledger has no room for is not trusted: the partition is walked, and no list is saved for it', async () => {
    const storage = await storageAfterCleanStop(TOMBSTONE_KEYS);
    let marker: number[] = [];
    const close = storage.close.bind(storage);
    storage.close = async () => {
      marker = Array.from((await storage.getMeta(META_AAE_CLEAN)) ?? []);
      await close();
    };
    expect(await life(storage, { ...testAntiEntropyConfig(), tombstonesTrackedMax: 2 })).to.deep.equal({ walks: 1, saved: 'walk next time' });
    expect(marker, 'the tree is still saved').to.deep.equal([0, 0, 0, 0]);
  });

  it('a corrupt list is not trusted: the partition is walked', async () => {
    const storage = await storageAfterCleanStop(TOMBSTONE_KEYS);
    const bytes = (await storage.getMeta(metaAaeTombstones(0)))!;
    bytes[bytes.length - 1]! ^= 0xff;
    await storage.putMeta(metaAaeTombstones(0), bytes);
    expect(await life(storage)).to.deep.equal({ walks: 1, saved: TOMBSTONE_NAMES });
  });
});
