import { expect } from 'chai';
import { MemoryLevel } from 'memory-level';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClosedError, InvalidArgumentError, StorageError } from '../../../lib/runtime/index.ts';
import {
  AbstractStorage, type EngineOptions, createStorage, LevelStorage, MemoryStorage, RocksStorage,
} from '../../../lib/storage/index.ts';
import type { LevelBatchOp, LevelDatabase, LevelIterator } from '../../../lib/storage/abstract-storage.ts';

const key = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A memory database with switches to make each engine call fail, and a log of batch options. */
class FaultyDb implements LevelDatabase {
  readonly inner = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
  fail = { open: undefined as Error | undefined, get: undefined as unknown, batch: undefined as Error | undefined, nextv: undefined as Error | undefined };
  readonly batchOptions: Array<{ sync?: boolean }> = [];
  open(): Promise<void> {
    return this.fail.open ? Promise.reject(this.fail.open) : this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  get(k: Uint8Array): Promise<Uint8Array | undefined> {
    return this.fail.get !== undefined ? Promise.reject(this.fail.get) : this.inner.get(k);
  }
  getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return this.fail.get !== undefined ? Promise.reject(this.fail.get) : this.inner.getMany(keys);
  }
  batch(ops: LevelBatchOp[], options: { sync?: boolean }): Promise<void> {
    this.batchOptions.push(options);
    return this.fail.batch ? Promise.reject(this.fail.batch) : this.inner.batch(ops);
  }
  iterator(options: { gte: Uint8Array; lt: Uint8Array }): LevelIterator {
    const it = this.inner.iterator(options);
    return {
      nextv: (size) => (this.fail.nextv ? Promise.reject(this.fail.nextv) : it.nextv(size)),
      close: () => it.close(),
    };
  }
}

class FaultyStorage extends AbstractStorage {
  readonly db = new FaultyDb();
  openGate: Promise<void> = Promise.resolve();
  constructor(options: EngineOptions = {}) {
    super({ engine: 'memory', persistent: false, retainsInput: true, description: 'faulty' }, options);
  }
  protected override async createDatabase(): Promise<LevelDatabase> {
    await this.openGate;
    return this.db;
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (e: unknown) => e);
}

describe('AbstractStorage', function () {
  describe('engine failures', function () {
    it('wraps a failed batch as StorageError with the engine error as cause, for every coalesced caller', async function () {
      const s = new FaultyStorage();
      await s.open();
      const cause = new Error('EIO');
      s.db.fail.batch = cause;
      const errors = await Promise.all([1, 2, 3].map((i) => rejection(s.write([{ partition: 0, key: key(`k${i}`), record: key('v') }]))));
      for (const e of errors) {
        expect(e).to.be.instanceOf(StorageError);
        expect((e as Error).cause).to.equal(cause);
        expect((e as Error).message).to.match(/faulty: write failed: EIO/);
      }
      s.db.fail.batch = undefined;
      await s.write([{ partition: 0, key: key('k1'), record: key('v') }]);
      expect(await s.get(0, key('k1'))).to.deep.equal(key('v'));
      expect(await s.get(0, key('k2'))).to.equal(undefined);
      await s.close();
    });

    it('wraps failed reads and iteration as StorageError with cause', async function () {
      const s = new FaultyStorage();
      await s.open();
      await s.write([{ partition: 1, key: key('a'), record: key('v') }]);
      const cause = new Error('bad block');
      s.db.fail.get = cause;
      for (const p of [s.get(1, key('a')), s.getMeta('m')]) {
        const e = await rejection(p);
        expect(e).to.be.instanceOf(StorageError);
        expect((e as Error).cause).to.equal(cause);
      }
      s.db.fail.get = undefined;
      s.db.fail.nextv = cause;
      const e = await rejection((async () => { for await (const _ of s.iteratePartition(1)) { /* drain */ } })());
      expect(e).to.be.instanceOf(StorageError);
      expect((e as Error).cause).to.equal(cause);
      await s.close();
    });

    it('treats a LEVEL_NOT_FOUND rejection of get (abstract-level v1) as a missing key', async function () {
      const s = new FaultyStorage();
      await s.open();
      s.db.fail.get = Object.assign(new Error('not found'), { code: 'LEVEL_NOT_FOUND' });
      expect(await s.getMeta('x')).to.equal(undefined);
      await s.close();
    });

    it('wraps a failed open as StorageError and allows opening again', async function () {
      const s = new FaultyStorage();
      const cause = new Error('LOCK held');
      s.db.fail.open = cause;
      const e = await rejection(s.open());
      expect(e).to.be.instanceOf(StorageError);
      expect((e as Error).cause).to.equal(cause);
      expect(await rejection(s.get(0, key('a')))).to.be.instanceOf(ClosedError);
      s.db.fail.open = undefined;
      await s.open();
      expect(await s.get(0, key('a'))).to.equal(undefined);
      await s.close();
    });
  });

  describe('lifecycle', function () {
    it('close() during open: open rejects ClosedError, the engine ends up closed', async function () {
      const s = new FaultyStorage();
      let release!: () => void;
      s.openGate = new Promise<void>((r) => { release = r; });
      const opening = rejection(s.open());
      const closing = s.close();
      release();
      expect(await opening).to.be.instanceOf(ClosedError);
      await closing;
      expect(s.db.inner.status).to.equal('closed');
      expect(await rejection(s.get(0, key('a')))).to.be.instanceOf(ClosedError);
    });

    it('passes sync: true to engine batches only with syncWrites', async function () {
      const plain = new FaultyStorage();
      const synced = new FaultyStorage({ syncWrites: true });
      for (const s of [plain, synced]) {
        await s.open();
        await s.write([{ partition: 0, key: key('a'), record: key('v') }]);
        await s.putMeta('m', key('v'));
        await s.close();
      }
      expect(plain.db.batchOptions).to.deep.equal([{}, {}]);
      expect(synced.db.batchOptions).to.deep.equal([{ sync: true }, { sync: true }]);
    });
  });

  describe('write queue bound', function () {
    it('refuses writes beyond the pending-group bound with StorageError; accepted ones all land', async function () {
      const s = new MemoryStorage({ writeQueue: { entriesMax: 10, bytesMax: 1 << 20 } });
      await s.open();
      const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, i) =>
        s.write([{ partition: 0, key: key(`k${String(i).padStart(2, '0')}`), record: key(`v${i}`) }])));
      const accepted = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(accepted).to.deep.equal(Array.from({ length: 11 }, (_, i) => i)); // 1 running + 10 pending
      for (const r of refused) expect(r.reason).to.be.instanceOf(StorageError);
      const rows: string[] = [];
      for await (const r of s.iteratePartition(0)) rows.push(new TextDecoder().decode(r.key));
      expect(rows).to.deep.equal(accepted.map((i) => `k${String(i).padStart(2, '0')}`));
      expect(s.stats().queueFullRejections).to.equal(39);
      await s.close();
    });

    it('rejects nonsensical limits', function () {
      expect(() => new MemoryStorage({ writeQueue: { entriesMax: 0 } })).to.throw(InvalidArgumentError);
    });
  });

  describe('createStorage', function () {
    it('builds the requested engine, unopened, without touching the disk', async function () {
      const dir = await mkdtemp(join(tmpdir(), 'dynamo-create-storage-'));
      try {
        const level = createStorage({ engine: 'leveldb', dataDir: join(dir, 'l') });
        const rocks = createStorage({ engine: 'rocksdb', dataDir: join(dir, 'r'), syncWrites: true });
        const memory = createStorage({ engine: 'memory' });
        expect(level).to.be.instanceOf(LevelStorage);
        expect(rocks).to.be.instanceOf(RocksStorage);
        expect(memory).to.be.instanceOf(MemoryStorage);
        expect([level.engine, rocks.engine, memory.engine]).to.deep.equal(['leveldb', 'rocksdb', 'memory']);
        expect([level.supports.persistent, rocks.supports.persistent, memory.supports.persistent]).to.deep.equal([true, true, false]);
        expect(await rejection(stat(join(dir, 'l')))).to.have.property('code', 'ENOENT');
        expect(await rejection(level.get(0, key('a')))).to.be.instanceOf(ClosedError);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('rejects a missing dataDir for disk engines and unknown engines', function () {
      expect(() => createStorage({ engine: 'leveldb' })).to.throw(InvalidArgumentError, /dataDir/);
      expect(() => createStorage({ engine: 'rocksdb', dataDir: '' })).to.throw(InvalidArgumentError, /dataDir/);
      expect(() => createStorage({ engine: 'sqlite' as 'memory' })).to.throw(InvalidArgumentError, /unknown storage engine/);
    });

    it('reports a second open of the same directory as StorageError', async function () {
      const dir = await mkdtemp(join(tmpdir(), 'dynamo-lock-'));
      const a = new LevelStorage({ dataDir: join(dir, 'db') });
      const b = new LevelStorage({ dataDir: join(dir, 'db') });
      try {
        await a.open();
        const e = await rejection(b.open());
        expect(e).to.be.instanceOf(StorageError);
        expect((e as Error).cause).to.be.instanceOf(Error);
      } finally {
        await a.close();
        await b.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
