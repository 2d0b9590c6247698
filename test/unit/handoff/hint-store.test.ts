import { expect } from 'chai';
import { HintStore } from '../../../lib/handoff/index.ts';
import { LimitExceededError, silentLogger } from '../../../lib/runtime/index.ts';
import { createStorage, decodeRecord, encodeRecord, type Storage, type StoredObject, type StoredValue } from '../../../lib/storage/index.ts';
import { Dvv } from '../../../lib/vclock/index.ts';

const utf8 = new TextEncoder();
const key = utf8.encode('k');
const value = (s: string): StoredValue => ({ data: utf8.encode(s), tombstone: false, writtenAtMs: 1 });
const text = (o: StoredObject): string[] => Dvv.values(o).map((v) => new TextDecoder().decode(v.data)).sort();

async function pendingFor(store: HintStore, target: string) {
  const out = [];
  for await (const h of store.pending(target)) out.push(h);
  return out;
}

describe('HintStore', () => {
  let storage: Storage;
  beforeEach(async () => {
    storage = createStorage({ engine: 'memory' });
    await storage.open();
  });
  afterEach(() => storage.close());

  it('merges a second hint for the key by causal metadata and keeps the age of the first', async () => {
    const store = new HintStore(storage, { bytesMax: 1 << 20 }, silentLogger);
    const a = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n1.e', value('a'));
    const b = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n2.e', value('b'));
    await store.store('n3', 7, key, encodeRecord(a), 1_000);
    await store.store('n3', 7, key, encodeRecord(b), 5_000);
    const [h, ...rest] = await pendingFor(store, 'n3');
    expect(rest).to.have.length(0);
    // Both concurrent versions are in the one hint; its age is the oldest version's (tombstone GC relies on it).
    expect(text(decodeRecord(h!.hint.record))).to.deep.equal(['a', 'b']);
    expect(h!.hint.storedAtMs).to.equal(1_000);
    expect(store.counters.stored).to.equal(2);
    expect(store.pendingCounts()).to.deep.equal([{ target: 'n3', keys: 1, bytes: h!.key.length + h!.value.length }]);
  });

  it('deletes a delivered hint only if it was not merged into meanwhile', async () => {
    const store = new HintStore(storage, { bytesMax: 1 << 20 }, silentLogger);
    const a = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n1.e', value('a'));
    await store.store('n3', 7, key, encodeRecord(a), 1_000);
    const [sent] = await pendingFor(store, 'n3');
    await store.store('n3', 7, key, encodeRecord(Dvv.update(Dvv.fresh<StoredValue>(), [], 'n2.e', value('b'))), 2_000);
    expect(await store.delivered(sent!)).to.equal(false);
    const [again] = await pendingFor(store, 'n3');
    expect(text(decodeRecord(again!.hint.record))).to.deep.equal(['a', 'b']);
    expect(await store.delivered(again!)).to.equal(true);
    expect(await pendingFor(store, 'n3')).to.have.length(0);
    expect(store.counters).to.deep.equal({ stored: 2, delivered: 1, dropped: 0 });
    expect(store.bytes).to.equal(0);
  });

  it('refuses a hint that would overflow the byte bound, stores nothing and counts it dropped', async () => {
    const store = new HintStore(storage, { bytesMax: 200 }, silentLogger);
    const small = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n1.e', value('x'));
    await store.store('n3', 1, key, encodeRecord(small), 1_000);
    const big = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n1.e', value('y'.repeat(500)));
    let error: unknown;
    await store.store('n4', 1, key, encodeRecord(big), 1_000).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(LimitExceededError);
    expect(await pendingFor(store, 'n4')).to.have.length(0);
    expect(store.counters.dropped).to.equal(1);
    expect(store.targets()).to.deep.equal(['n3']);
  });

  it('counts what a previous life left when reopened', async () => {
    const first = new HintStore(storage, { bytesMax: 1 << 20 }, silentLogger);
    await first.store('n3', 1, key, encodeRecord(Dvv.update(Dvv.fresh<StoredValue>(), [], 'n1.e', value('a'))), 1_000);
    await first.store('n2', 2, utf8.encode('other'), encodeRecord(Dvv.update(Dvv.fresh<StoredValue>(), [], 'n1.e', value('b'))), 1_000);
    const second = new HintStore(storage, { bytesMax: 1 << 20 }, silentLogger);
    await second.open();
    expect(second.pendingCounts().map((p) => [p.target, p.keys])).to.deep.equal([['n2', 1], ['n3', 1]]);
    expect(second.bytes).to.equal(first.bytes);
  });
});
