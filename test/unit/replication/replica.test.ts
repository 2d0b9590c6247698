import { expect } from 'chai';
import { LimitExceededError, silentLogger } from '../../../lib/runtime/index.ts';
import { LIMITS } from '../../../lib/protocol/index.ts';
import { Dvv } from '../../../lib/vclock/index.ts';
import { encodeRecord, type StoredObject, type StoredValue } from '../../../lib/storage/index.ts';
import { LocalReplica } from '../../../lib/replication/index.ts';
import { bytes, CapturingLogger, CountingStorage, text } from './helpers.ts';

const P = 3;
const KEY = bytes('key');

function live(obj: StoredObject | undefined): string[] {
  return obj === undefined ? [] : Dvv.values(obj).filter((v) => !v.tombstone).map((v) => text(v.data)).sort();
}

describe('replication/replica (LocalReplica over MemoryStorage)', () => {
  let storage: CountingStorage;
  let replica: LocalReplica;

  beforeEach(async () => {
    storage = new CountingStorage();
    await storage.open();
    replica = new LocalReplica({ storage, actor: 'n1.e1', logger: silentLogger });
  });
  afterEach(async () => {
    await storage.close();
  });

  it('reads undefined for a key it never stored', async () => {
    expect(await replica.read(P, KEY)).to.equal(undefined);
    expect(await replica.readRecord(P, KEY)).to.equal(undefined);
  });

  it('update stores a value under a new dot of its actor and returns the stored record', async () => {
    const w = await replica.update(P, KEY, bytes('v1'), [], 1000);
    expect(Dvv.join(w.object)).to.deep.equal([{ actor: 'n1.e1', counter: 1 }]);
    expect(await replica.readRecord(P, KEY)).to.deep.equal(w.record);
    const stored = await replica.read(P, KEY);
    expect(live(stored)).to.deep.equal(['v1']);
    expect(Dvv.values(stored!)[0]!.writtenAtMs).to.equal(1000);
  });

  it('a write with the previous context replaces the value; without it becomes a sibling', async () => {
    const w1 = await replica.update(P, KEY, bytes('v1'), [], 1);
    const w2 = await replica.update(P, KEY, bytes('v2'), Dvv.join(w1.object), 2);
    expect(live(w2.object)).to.deep.equal(['v2']);
    const w3 = await replica.update(P, KEY, bytes('v3'), [], 3);
    expect(live(w3.object)).to.deep.equal(['v2', 'v3']);
    expect(live(await replica.read(P, KEY))).to.deep.equal(['v2', 'v3']);
  });

  it('a delete writes a tombstone with empty data', async () => {
    const w1 = await replica.update(P, KEY, bytes('v1'), [], 1);
    const w2 = await replica.update(P, KEY, undefined, Dvv.join(w1.object), 2);
    const values = Dvv.values(w2.object);
    expect(values).to.have.length(1);
    expect(values[0]!.tombstone).to.equal(true);
    expect(values[0]!.data).to.have.length(0);
    expect(Dvv.join(w2.object)).to.deep.equal([{ actor: 'n1.e1', counter: 2 }]);
  });

  it('concurrent blind updates of one key all survive as siblings', async () => {
    const n = 20;
    await Promise.all(Array.from({ length: n }, (_, i) => replica.update(P, KEY, bytes(`v${i}`), [], i)));
    const stored = await replica.read(P, KEY);
    expect(Dvv.size(stored!)).to.equal(n);
    expect(Dvv.join(stored!)).to.deep.equal([{ actor: 'n1.e1', counter: n }]);
    expect(replica.lockedKeys).to.equal(0);
  });

  it('concurrent updates with one context supersede exactly what it saw', async () => {
    const base = await replica.update(P, KEY, bytes('base'), [], 0);
    const ctx = Dvv.join(base.object);
    await Promise.all(Array.from({ length: 10 }, (_, i) => replica.update(P, KEY, bytes(`c${i}`), ctx, i)));
    const stored = await replica.read(P, KEY);
    expect(live(stored)).to.deep.equal(Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
  });

  it('concurrent updates of different keys do not interfere', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => replica.update(P, bytes(`k${i}`), bytes(`v${i}`), [], i)));
    for (let i = 0; i < 10; i++) expect(live(await replica.read(P, bytes(`k${i}`)))).to.deep.equal([`v${i}`]);
  });

  describe('merge', () => {
    it('stores an object for a new key as the given record bytes', async () => {
      const obj = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n2.e1', { data: bytes('x'), tombstone: false, writtenAtMs: 5 });
      const record = encodeRecord(obj);
      await replica.merge(P, KEY, obj, record);
      expect(await replica.readRecord(P, KEY)).to.deep.equal(record);
      expect(storage.writes).to.equal(1);
    });

    it('does not write when the incoming object adds nothing', async () => {
      const w1 = await replica.update(P, KEY, bytes('v1'), [], 1);
      const w2 = await replica.update(P, KEY, bytes('v2'), Dvv.join(w1.object), 2);
      const writes = storage.writes;
      const result = await replica.merge(P, KEY, w1.object);
      expect(storage.writes).to.equal(writes);
      expect(live(result)).to.deep.equal(['v2']);
      await replica.merge(P, KEY, w2.object);
      expect(storage.writes).to.equal(writes);
    });

    it('keeps concurrent values of another actor as siblings and adopts newer ones', async () => {
      await replica.update(P, KEY, bytes('mine'), [], 1);
      const theirs = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n2.e1', { data: bytes('theirs'), tombstone: false, writtenAtMs: 1 });
      const merged = await replica.merge(P, KEY, theirs);
      expect(live(merged)).to.deep.equal(['mine', 'theirs']);
      // n2 later resolves both.
      const resolved = Dvv.update(merged, Dvv.join(merged), 'n2.e1', { data: bytes('resolved'), tombstone: false, writtenAtMs: 2 });
      await replica.merge(P, KEY, resolved);
      expect(live(await replica.read(P, KEY))).to.deep.equal(['resolved']);
    });
  });

  describe('limits', () => {
    it(`refuses the update that would make more than ${LIMITS.siblingsMax} siblings, writing nothing`, async () => {
      for (let i = 0; i < LIMITS.siblingsMax; i++) await replica.update(P, KEY, bytes(`s${i}`), [], i);
      const before = await replica.readRecord(P, KEY);
      const writes = storage.writes;
      const e = await replica.update(P, KEY, bytes('one too many'), [], 999).catch((x: unknown) => x);
      expect(e).to.be.instanceOf(LimitExceededError);
      expect((e as Error).message).to.equal(
        'key has 100 siblings, the limit; read it and write back a resolved value with its context',
      );
      expect(storage.writes).to.equal(writes);
      expect(await replica.readRecord(P, KEY)).to.deep.equal(before);
      // Resolving with the full context is always allowed.
      const stored = await replica.read(P, KEY);
      const w = await replica.update(P, KEY, bytes('resolved'), Dvv.join(stored!), 1000);
      expect(live(w.object)).to.deep.equal(['resolved']);
      expect(replica.lockedKeys).to.equal(0);
    });

    it(`warns once the sibling count reaches ${LIMITS.siblingsWarn}`, async () => {
      const logger = new CapturingLogger();
      const r = new LocalReplica({ storage, actor: 'n1.e1', logger });
      for (let i = 0; i < LIMITS.siblingsWarn - 1; i++) await r.update(P, KEY, bytes(`s${i}`), [], i);
      expect(logger.lines.filter((l) => l.level === 'warn')).to.have.length(0);
      await r.update(P, KEY, bytes('last'), [], 99);
      const warns = logger.lines.filter((l) => l.level === 'warn');
      expect(warns).to.have.length(1);
      expect(warns[0]!.fields).to.include({ siblings: LIMITS.siblingsWarn });
    });

    it('refuses an update whose object would exceed objectBytesMax, writing nothing', async () => {
      const big = new Uint8Array(LIMITS.valueBytesMax);
      await replica.update(P, KEY, big, [], 1);
      await replica.update(P, KEY, big, [], 2);
      const writes = storage.writes;
      const e = await replica.update(P, KEY, big, [], 3).catch((x: unknown) => x);
      expect(e).to.be.instanceOf(LimitExceededError);
      expect((e as Error).message).to.match(/over the 3145728-byte limit/);
      expect(storage.writes).to.equal(writes);
      expect(Dvv.size((await replica.read(P, KEY))!)).to.equal(2);
    });
  });
});
