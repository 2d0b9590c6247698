/**
 * Compliance suite for the Storage port: every engine must pass it unchanged.
 * Engine-specific behaviour is gated on `storage.supports`, never on the engine name.
 */
import { expect } from 'chai';
import { ClosedError, InvalidArgumentError } from '../../lib/runtime/index.ts';
import type { RecordHead, RecordWrite, Storage, StorageStats } from '../../lib/storage/index.ts';
import { type ValueLogConfig, valueLogConfig } from '../../lib/storage/value-log/config.ts';
import type { ValueLogSettings } from '../../lib/storage/value-log/index.ts';

/** What a factory hands the suite: a new, NOT yet opened storage over fresh, empty data. */
export interface StorageFixture {
  readonly storage: Storage;
  /** A new, not yet opened storage over the same data (called after `storage` is closed). Required when persistent. */
  readonly reopen?: () => Promise<Storage>;
  /** Removes everything the fixture created (temp dirs). */
  readonly cleanup: () => Promise<void>;
  /**
   * The value-log settings the storage was built with (defaults for what is
   * left out), so the suite knows which records go out of line. Whether the
   * storage has a value log at all is asked of it (estimateSize).
   */
  readonly valueLog?: ValueLogSettings;
}

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const rec = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** A record of `n` bytes tagged like the record codec's (0x01), its body derived from `seed`. */
function large(n: number, seed: number): Uint8Array {
  const r = new Uint8Array(n);
  for (let i = 0; i < n; i++) r[i] = (i * 13 + seed * 101) & 0xff;
  if (n > 0) r[0] = 0x01;
  return r;
}

/** A summary function (returning `result`, or what it returns) that counts its calls. */
function counted(result: Uint8Array | (() => Uint8Array)): { readonly fn: () => Uint8Array; calls(): number } {
  let calls = 0;
  return {
    fn: () => {
      calls++;
      return typeof result === 'function' ? result() : result;
    },
    calls: () => calls,
  };
}

/** Bytewise comparison, the order engines must iterate in. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of it) out.push(r);
  return out;
}

function statsOf(s: Storage): StorageStats {
  const candidate = s as Storage & { stats?: () => StorageStats };
  expect(candidate.stats, 'storage exposes stats()').to.be.a('function');
  return candidate.stats!();
}

/** An array with its own ArrayBuffer, of plain Uint8Array type (not a pooled or engine-owned view). */
function expectOwned(b: Uint8Array | undefined): void {
  expect(b).to.be.instanceOf(Uint8Array);
  expect(Object.getPrototypeOf(b)).to.equal(Uint8Array.prototype);
  expect(b!.byteOffset).to.equal(0);
  expect(b!.buffer.byteLength).to.equal(b!.byteLength);
}

async function expectRejects(p: Promise<unknown>, type: new (...args: never[]) => Error): Promise<Error> {
  let resolved = false;
  let error: unknown;
  try {
    await p;
    resolved = true;
  } catch (e) {
    error = e;
  }
  expect(resolved, `expected a ${type.name}, but it resolved`).to.equal(false);
  expect(error).to.be.instanceOf(type);
  return error as Error;
}

/** Registers the Storage compliance tests for one engine. */
export function storageSuite(name: string, factory: () => Promise<StorageFixture>): void {
  describe(`Storage compliance: ${name}`, function () {
    let fixture: StorageFixture;
    let storage: Storage;
    const extra: Storage[] = [];

    beforeEach(async function () {
      fixture = await factory();
      storage = fixture.storage;
      await storage.open();
    });

    afterEach(async function () {
      await storage.close();
      for (const s of extra.splice(0)) await s.close();
      await fixture.cleanup();
    });

    async function reopen(): Promise<Storage> {
      expect(fixture.reopen, 'persistent storage fixtures provide reopen()').to.be.a('function');
      await storage.close();
      const next = await fixture.reopen!();
      extra.push(next);
      await next.open();
      return next;
    }

    describe('get / put / delete', function () {
      it('returns undefined for a missing key and a missing meta name', async function () {
        expect(await storage.get(0, bytes('nope'))).to.equal(undefined);
        expect(await storage.getMeta('nope')).to.equal(undefined);
      });

      it('stores, overwrites and deletes a record', async function () {
        const k = bytes('k');
        await storage.write([{ partition: 3, key: k, record: rec(1, 2, 3) }]);
        expect(await storage.get(3, k)).to.deep.equal(rec(1, 2, 3));
        await storage.write([{ partition: 3, key: k, record: rec(9) }]);
        expect(await storage.get(3, k)).to.deep.equal(rec(9));
        await storage.write([{ partition: 3, key: k, record: undefined }]);
        expect(await storage.get(3, k)).to.equal(undefined);
        expect(await collect(storage.iteratePartition(3))).to.deep.equal([]);
      });

      it('keeps the same key in different partitions apart', async function () {
        const k = bytes('same');
        await storage.write([
          { partition: 1, key: k, record: rec(1) },
          { partition: 2, key: k, record: rec(2) },
        ]);
        expect(await storage.get(1, k)).to.deep.equal(rec(1));
        expect(await storage.get(2, k)).to.deep.equal(rec(2));
        await storage.write([{ partition: 1, key: k, record: undefined }]);
        expect(await storage.get(1, k)).to.equal(undefined);
        expect(await storage.get(2, k)).to.deep.equal(rec(2));
      });

      it('accepts deleting a key that does not exist, and an empty batch', async function () {
        await storage.write([{ partition: 0, key: bytes('ghost'), record: undefined }]);
        await storage.write([]);
        expect(await storage.get(0, bytes('ghost'))).to.equal(undefined);
      });

      it('stores an empty record distinctly from a missing one', async function () {
        await storage.write([{ partition: 0, key: bytes('e'), record: new Uint8Array(0) }]);
        expect(await storage.get(0, bytes('e'))).to.deep.equal(new Uint8Array(0));
      });

      it('round-trips a 1 MiB record through get and iteration', async function () {
        const big = new Uint8Array(1024 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
        await storage.write([{ partition: 42, key: bytes('big'), record: big }]);
        const got = await storage.get(42, bytes('big'));
        expect(got!.length).to.equal(big.length);
        expect(compareBytes(got!, big)).to.equal(0);
        const rows = await collect(storage.iteratePartition(42));
        expect(rows).to.have.length(1);
        expect(compareBytes(rows[0]!.record, big)).to.equal(0);
      });
    });

    describe('batches', function () {
      it('applies a mixed batch of puts and deletes across partitions', async function () {
        await storage.write([
          { partition: 0, key: bytes('a'), record: rec(1) },
          { partition: 0, key: bytes('b'), record: rec(2) },
          { partition: 7, key: bytes('c'), record: rec(3) },
        ]);
        await storage.write([
          { partition: 0, key: bytes('a'), record: undefined },
          { partition: 0, key: bytes('b'), record: rec(20) },
          { partition: 7, key: bytes('d'), record: rec(4) },
          { partition: 9, key: bytes('e'), record: rec(5) },
        ]);
        expect(await storage.get(0, bytes('a'))).to.equal(undefined);
        expect(await storage.get(0, bytes('b'))).to.deep.equal(rec(20));
        expect(await storage.get(7, bytes('c'))).to.deep.equal(rec(3));
        expect(await storage.get(7, bytes('d'))).to.deep.equal(rec(4));
        expect(await storage.get(9, bytes('e'))).to.deep.equal(rec(5));
      });

      it('applies entries in order: the last write to a key in a batch wins', async function () {
        const k = bytes('dup');
        await storage.write([
          { partition: 5, key: k, record: rec(1) },
          { partition: 5, key: k, record: undefined },
          { partition: 5, key: k, record: rec(3) },
        ]);
        expect(await storage.get(5, k)).to.deep.equal(rec(3));
        await storage.write([
          { partition: 5, key: k, record: rec(4) },
          { partition: 5, key: k, record: undefined },
        ]);
        expect(await storage.get(5, k)).to.equal(undefined);
      });

      it('writes nothing of a batch that has an invalid entry', async function () {
        const good: RecordWrite = { partition: 0, key: bytes('good'), record: rec(1) };
        const bad = [
          { partition: -1, key: bytes('x'), record: rec(1) },
          { partition: 1.5, key: bytes('x'), record: rec(1) },
          { partition: 2 ** 32, key: bytes('x'), record: rec(1) },
          { partition: 0, key: 'x' as unknown as Uint8Array, record: rec(1) },
          { partition: 0, key: bytes('x'), record: 'v' as unknown as Uint8Array },
          { partition: 0, key: bytes('x'), record: rec(0xfe, 1, 2) }, // the value-log pointer tag
        ];
        for (const b of bad) await expectRejects(storage.write([good, b]), InvalidArgumentError);
        expect(await storage.get(0, bytes('good'))).to.equal(undefined);
        expect(await collect(storage.iteratePartition(0))).to.deep.equal([]);
      });

      it('refuses only records beginning with 0xfe: 0xfe elsewhere, and hints and meta beginning with it, are stored', async function () {
        await expectRejects(storage.write([{ partition: 0, key: bytes('t'), record: rec(0xfe) }]), InvalidArgumentError);
        await storage.write([{ partition: 0, key: bytes('t'), record: rec(1, 0xfe) }]);
        await storage.writeHints([{ target: 'n2', partition: 0, key: bytes('t'), value: rec(0xfe, 0xfe) }]);
        await storage.putMeta('t', rec(0xfe));
        expect(await storage.get(0, bytes('t'))).to.deep.equal(rec(1, 0xfe));
        expect(await storage.getHint('n2', 0, bytes('t'))).to.deep.equal(rec(0xfe, 0xfe));
        expect(await storage.getMeta('t')).to.deep.equal(rec(0xfe));
        await expectRejects(storage.putMeta('valuelog/live/1', rec(1)), InvalidArgumentError);
      });

      it('never shows a concurrent reader part of a batch', async function () {
        const n = 300;
        const batch: RecordWrite[] = Array.from({ length: n }, (_, i) => ({
          partition: 11, key: bytes(`k${String(i).padStart(4, '0')}`), record: rec(i >> 8, i & 0xff),
        }));
        let done = false;
        const writing = storage.write(batch).then(() => { done = true; });
        const seen: number[] = [];
        while (!done) seen.push((await collect(storage.iteratePartition(11))).length);
        await writing;
        seen.push((await collect(storage.iteratePartition(11))).length);
        for (const count of seen) expect([0, n]).to.include(count);
        expect(seen.at(-1)).to.equal(n);
      });
    });

    describe('partition iteration', function () {
      const partitions = [0, 1, 255, 256, 65535, 2 ** 32 - 1];
      const keys: Uint8Array[] = [
        new Uint8Array(0), rec(0), rec(0, 0), rec(0, 1), rec(1), rec(1, 0), rec(0x7f), rec(0x80),
        rec(0xff), rec(0xff, 0xff), rec(0xff, 0xff, 0xff), bytes('a'), bytes('ab'), bytes('abc'), bytes('b'),
      ];
      // Distinct per (partition, key), so a row from the wrong partition is caught.
      const recordFor = (p: number, i: number): Uint8Array => rec(p & 0xff, (p >>> 8) & 0xff, (p >>> 24) & 0xff, i);

      beforeEach(async function () {
        // Written in a scrambled order, several batches, to show the order comes from the keys.
        const writes: RecordWrite[] = [];
        for (const p of partitions) keys.forEach((key, i) => writes.push({ partition: p, key, record: recordFor(p, i) }));
        writes.sort((a, b) => compareBytes(a.record!, b.record!) * -1);
        for (let i = 0; i < writes.length; i += 17) await storage.write(writes.slice(i, i + 17));
      });

      it('yields exactly one partition\'s records, in bytewise key order', async function () {
        const sortedIdx = keys.map((_, i) => i).sort((a, b) => compareBytes(keys[a]!, keys[b]!));
        for (const p of partitions) {
          const rows = await collect(storage.iteratePartition(p));
          expect(rows.map((r) => r.key), `partition ${p} keys`).to.deep.equal(sortedIdx.map((i) => keys[i]));
          expect(rows.map((r) => r.record), `partition ${p} records`).to.deep.equal(sortedIdx.map((i) => recordFor(p, i)));
        }
      });

      it('yields nothing for partitions without records, including neighbours of used ones', async function () {
        for (const p of [2, 254, 257, 65534, 65536, 2 ** 32 - 2]) {
          expect(await collect(storage.iteratePartition(p)), `partition ${p}`).to.deep.equal([]);
        }
      });

      it('reflects deletes and stops early without harm', async function () {
        await storage.write([{ partition: 256, key: bytes('ab'), record: undefined }]);
        const rows = await collect(storage.iteratePartition(256));
        expect(rows).to.have.length(keys.length - 1);
        expect(rows.some((r) => compareBytes(r.key, bytes('ab')) === 0)).to.equal(false);
        let n = 0;
        for await (const _ of storage.iteratePartition(0)) if (++n === 2) break;
        expect(n).to.equal(2);
        expect(await storage.get(0, bytes('abc'))).to.deep.equal(recordFor(0, keys.findIndex((k) => compareBytes(k, bytes('abc')) === 0)));
      });

      it('resumes after a given key: only later keys of the same partition, in order', async function () {
        await storage.write([
          { partition: 5, key: bytes('a'), record: rec(1) },
          { partition: 5, key: bytes('b'), record: rec(2) },
          { partition: 5, key: bytes('b\u0000'), record: rec(3) },
          { partition: 5, key: bytes('c'), record: rec(4) },
          { partition: 6, key: bytes('0'), record: rec(5) },
        ]);
        const keys = async (after: string) => (await collect(storage.iteratePartition(5, { after: bytes(after) }))).map((r) => new TextDecoder().decode(r.key));
        expect(await keys('a')).to.deep.equal(['b', 'b\u0000', 'c']);
        expect(await keys('b')).to.deep.equal(['b\u0000', 'c']);
        expect(await keys('bz')).to.deep.equal(['c']);
        expect(await keys('c')).to.deep.equal([]);
        expect(await keys('')).to.deep.equal(['a', 'b', 'b\u0000', 'c']);
      });

      it('rejects invalid partition numbers with InvalidArgumentError', async function () {
        for (const p of [-1, 0.5, 2 ** 32, Number.NaN]) {
          await expectRejects(collect(storage.iteratePartition(p)), InvalidArgumentError);
          await expectRejects(storage.get(p, bytes('a')), InvalidArgumentError);
        }
      });
    });

    describe('meta', function () {
      it('stores and overwrites named metadata', async function () {
        await storage.putMeta('epoch', bytes('e1'));
        expect(await storage.getMeta('epoch')).to.deep.equal(bytes('e1'));
        await storage.putMeta('epoch', bytes('e2'));
        expect(await storage.getMeta('epoch')).to.deep.equal(bytes('e2'));
        expect(await storage.getMeta('epoc')).to.equal(undefined);
      });

      it('keeps meta apart from data, even when names look like data keys', async function () {
        // utf8 of this name equals the data-key bytes of (partition 0, key "k") minus the namespace tag.
        const lookalike = '\u0001\u0000\u0000\u0000\u0000k';
        await storage.putMeta(lookalike, bytes('meta'));
        await storage.putMeta('epoch', bytes('e'));
        await storage.write([{ partition: 0, key: bytes('k'), record: bytes('data') }]);
        expect(await storage.getMeta(lookalike)).to.deep.equal(bytes('meta'));
        expect(await storage.get(0, bytes('k'))).to.deep.equal(bytes('data'));
        for (const p of [0, 1, 0x01000000, 2 ** 32 - 1]) {
          const rows = await collect(storage.iteratePartition(p));
          expect(rows.map((r) => r.record), `partition ${p}`).to.deep.equal(p === 0 ? [bytes('data')] : []);
        }
      });

      it('rejects an empty meta name', async function () {
        await expectRejects(storage.putMeta('', bytes('x')), InvalidArgumentError);
        await expectRejects(storage.getMeta(''), InvalidArgumentError);
      });
    });

    describe('set aside', function () {
      it('moves a record out of reads and partition walks, keeps its bytes, and leaves the key writable', async function () {
        const k = bytes('bad');
        await storage.write([
          { partition: 7, key: k, record: rec(0xde, 0xad) },
          { partition: 7, key: bytes('good'), record: rec(1) },
        ]);
        await storage.setAside(7, k);
        expect(await storage.get(7, k)).to.equal(undefined);
        expect(await storage.getSetAside(7, k)).to.deep.equal(rec(0xde, 0xad));
        expect((await collect(storage.iteratePartition(7))).map((r) => r.key)).to.deep.equal([bytes('good')]);
        expect(await storage.getSetAside(7, bytes('good'))).to.equal(undefined);
        await storage.write([{ partition: 7, key: k, record: rec(2) }]);
        expect(await storage.get(7, k)).to.deep.equal(rec(2));
        expect(await storage.getSetAside(7, k), 'the kept bytes survive a later write of the key').to.deep.equal(rec(0xde, 0xad));
        await storage.setAside(7, bytes('missing'));
        expect(await storage.getSetAside(7, bytes('missing'))).to.equal(undefined);
        if (!storage.supports.persistent) return;
        const again = await reopen();
        expect(await again.getSetAside(7, k)).to.deep.equal(rec(0xde, 0xad));
        expect(await again.get(7, k)).to.deep.equal(rec(2));
      });
    });

    describe('hints', function () {
      it('keeps hints apart from data, per target, ordered by target, partition and key, and across reopen', async function () {
        await storage.write([{ partition: 3, key: bytes('k'), record: rec(1) }]);
        await storage.writeHints([
          { target: 'n2', partition: 3, key: bytes('k'), value: rec(9) },
          { target: 'n10', partition: 1, key: bytes('z'), value: rec(8) },
          { target: 'n2', partition: 1, key: bytes('b'), value: rec(7) },
          { target: 'n2', partition: 1, key: bytes('a'), value: rec(6) },
          { target: 'n20', partition: 0, key: bytes('x'), value: rec(5) },
        ]);
        expect(await storage.get(3, bytes('k')), 'a hint never replaces data').to.deep.equal(rec(1));
        expect((await collect(storage.iteratePartition(1))).length, 'no partition walk sees a hint').to.equal(0);
        expect(await storage.getHint('n2', 3, bytes('k'))).to.deep.equal(rec(9));
        expect(await storage.getHint('n3', 3, bytes('k'))).to.equal(undefined);
        const forN2 = await collect(storage.iterateHints({ target: 'n2' }));
        expect(forN2.map((h) => `${h.target}/${h.partition}/${new TextDecoder().decode(h.key)}`)).to.deep.equal(['n2/1/a', 'n2/1/b', 'n2/3/k']);
        expect(forN2.map((h) => h.value[0])).to.deep.equal([6, 7, 9]);
        const all = await collect(storage.iterateHints());
        expect(all.map((h) => h.target)).to.deep.equal(['n2', 'n2', 'n2', 'n10', 'n20'], 'by target id length, then bytes');
        await storage.writeHints([{ target: 'n2', partition: 1, key: bytes('a'), value: undefined }]);
        expect(await storage.getHint('n2', 1, bytes('a'))).to.equal(undefined);
        await expectRejects(storage.writeHints([{ target: '', partition: 0, key: bytes('a'), value: rec(1) }]), InvalidArgumentError);
        if (!storage.supports.persistent) return;
        const again = await reopen();
        expect((await collect(again.iterateHints({ target: 'n2' }))).length).to.equal(2);
        expect(await again.getHint('n20', 0, bytes('x'))).to.deep.equal(rec(5));
      });
    });

    describe('persistence', function () {
      it('keeps records and meta across close and reopen', async function () {
        if (!storage.supports.persistent) this.skip();
        await storage.write([
          { partition: 0, key: bytes('a'), record: rec(1) },
          { partition: 65535, key: rec(0xff), record: rec(2) },
          { partition: 0, key: bytes('gone'), record: rec(3) },
        ]);
        await storage.write([{ partition: 0, key: bytes('gone'), record: undefined }]);
        await storage.putMeta('epoch', bytes('e7'));
        const again = await reopen();
        expect(await again.get(0, bytes('a'))).to.deep.equal(rec(1));
        expect(await again.get(65535, rec(0xff))).to.deep.equal(rec(2));
        expect(await again.get(0, bytes('gone'))).to.equal(undefined);
        expect(await again.getMeta('epoch')).to.deep.equal(bytes('e7'));
        expect((await collect(again.iteratePartition(0))).map((r) => r.key)).to.deep.equal([bytes('a')]);
      });

      it('applies writes accepted before close() before closing', async function () {
        const writes = Array.from({ length: 50 }, (_, i) =>
          storage.write([{ partition: 4, key: rec(i), record: rec(i) }]));
        const closing = storage.close();
        await Promise.all(writes);
        await closing;
        if (!storage.supports.persistent) return;
        const again = await reopen();
        expect(await collect(again.iteratePartition(4))).to.have.length(50);
      });
    });

    describe('record summaries', function () {
      // A summary rides beside a value-log pointer: only records the storage keeps
      // out of line have one. Whether it has a value log is asked of the storage
      // (estimateSize().valueLog); which records go there, of the fixture's settings.
      let getSummary: (partition: number, key: Uint8Array) => Promise<RecordHead | undefined>;
      let hasValueLog: boolean;
      let config: ValueLogConfig;
      /** Bytes of a record every configuration keeps out of line when it has a value log. */
      let largeBytes: number;

      beforeEach(async function () {
        if (typeof storage.getSummary !== 'function') this.skip();
        getSummary = storage.getSummary.bind(storage);
        hasValueLog = (await storage.estimateSize?.())?.valueLog !== undefined;
        config = valueLogConfig(fixture.valueLog ?? {});
        largeBytes = Math.max(config.minBytes, 16 * 1024);
      });

      /** Whether a record of `n` bytes goes to the value log. */
      const outOfLine = (n: number): boolean => hasValueLog && config.minBytes > 0 && n >= config.minBytes;
      /** What getSummary must answer for `record` written with `summary` (undefined: none, or a summary that fails). */
      const expectedHead = (record: Uint8Array, summary: Uint8Array | undefined): RecordHead =>
        (summary !== undefined && outOfLine(record.length) ? { summary } : { record });
      const liveBytes = (): number => statsOf(storage).valueLog.liveBytes;

      it('answers a large record\'s summary with exactly the bytes written, calling the summary once (value log), else the record', async function () {
        const record = large(largeBytes, 1);
        const summary = rec(0x01, 0xfd, 0x00, 0xfe, 0xff, 0x7f, 0x80, 0x2a);
        const s = counted(summary);
        const before = liveBytes();
        await storage.write([{ partition: 9, key: bytes('big'), record, summary: s.fn }]);
        expect(liveBytes() > before, 'the record went to the value log').to.equal(outOfLine(record.length));
        expect(s.calls(), 'summary calls').to.equal(outOfLine(record.length) ? 1 : 0);
        const head = await getSummary(9, bytes('big'));
        expect(head).to.deep.equal(expectedHead(record, summary));
        expectOwned(head!.summary ?? head!.record);
        expect(await storage.get(9, bytes('big')), 'get returns the whole record').to.deep.equal(record);
        expect(s.calls(), 'reads never call the summary').to.equal(outOfLine(record.length) ? 1 : 0);
        // The copy is the caller's: changing it, or the array the summary returned, changes nothing stored.
        head!.summary?.fill(0);
        summary.fill(0);
        expect(await getSummary(9, bytes('big'))).to.deep.equal(expectedHead(record, rec(0x01, 0xfd, 0x00, 0xfe, 0xff, 0x7f, 0x80, 0x2a)));
      });

      it('keeps summaries of many sizes apart per key and partition, across concurrent writes in one engine batch', async function () {
        const n = 24;
        const sizes = [1, 2, 100, 4096];
        const summaryOf = (i: number): Uint8Array => Uint8Array.from({ length: sizes[i % sizes.length]! }, (_, j) => (i * 31 + j) & 0xff);
        const fns = Array.from({ length: n }, (_, i) => counted(summaryOf(i)));
        await Promise.all(Array.from({ length: n }, (_, i) =>
          storage.write([{ partition: i % 3, key: bytes(`s${i}`), record: large(largeBytes + i, i), summary: fns[i]!.fn }])));
        for (let i = 0; i < n; i++) {
          expect(await getSummary(i % 3, bytes(`s${i}`)), `key s${i}`).to.deep.equal(expectedHead(large(largeBytes + i, i), summaryOf(i)));
          expect(fns[i]!.calls(), `summary calls of s${i}`).to.equal(outOfLine(largeBytes + i) ? 1 : 0);
        }
        expect(await getSummary(1, bytes('s0')), 'same key, other partition').to.equal(undefined);
      });

      it('answers a small record as the record and never asks for its summary', async function () {
        // Below the threshold: the empty record always, and its neighbour below the threshold when there is one.
        const sizes = [...new Set([0, 3, config.minBytes - 1])].filter((n) => n >= 0 && (config.minBytes === 0 || n < config.minBytes));
        for (const [i, n] of sizes.entries()) {
          const record = n === 0 ? new Uint8Array(0) : large(n, i);
          const s = counted(rec(0x01, 9, 9));
          const before = liveBytes();
          await storage.write([{ partition: 2, key: bytes(`small${i}`), record, summary: s.fn }]);
          expect(liveBytes(), `${n} bytes stay inline`).to.equal(before);
          expect(s.calls(), `summary calls for ${n} bytes`).to.equal(0);
          expect(await getSummary(2, bytes(`small${i}`)), `${n} bytes`).to.deep.equal({ record });
        }
        // At the threshold itself a record goes out of line, and its summary with it.
        if (!outOfLine(config.minBytes)) return;
        const edge = large(config.minBytes, 7);
        const s = counted(rec(0x01, 7));
        await storage.write([{ partition: 2, key: bytes('edge'), record: edge, summary: s.fn }]);
        expect(s.calls()).to.equal(1);
        expect(await getSummary(2, bytes('edge'))).to.deep.equal({ summary: rec(0x01, 7) });
      });

      it('answers a large record written without a summary as the record, also after replacing one that had a summary', async function () {
        const plain = large(largeBytes, 2);
        await storage.write([{ partition: 4, key: bytes('plain'), record: plain }]);
        expect(await getSummary(4, bytes('plain'))).to.deep.equal({ record: plain });
        // An overwrite replaces the summary with the row: none is left behind.
        const k = bytes('was-summarised');
        await storage.write([{ partition: 4, key: k, record: large(largeBytes, 3), summary: () => rec(0x01, 3) }]);
        expect(await getSummary(4, k)).to.deep.equal(expectedHead(large(largeBytes, 3), rec(0x01, 3)));
        await storage.write([{ partition: 4, key: k, record: large(largeBytes + 1, 4) }]);
        expect(await getSummary(4, k)).to.deep.equal({ record: large(largeBytes + 1, 4) });
        await storage.write([{ partition: 4, key: k, record: large(largeBytes, 5), summary: () => rec(0x01, 5) }]);
        await storage.write([{ partition: 4, key: k, record: rec(1, 5) }]);
        expect(await getSummary(4, k), 'replaced by a small record').to.deep.equal({ record: rec(1, 5) });
        await storage.write([{ partition: 4, key: k, record: large(largeBytes, 6), summary: () => rec(0x01, 6) }]);
        await storage.write([{ partition: 4, key: k, record: large(largeBytes, 7), summary: () => rec(0x01, 7, 7) }]);
        expect(await getSummary(4, k), 'replaced by another summary').to.deep.equal(expectedHead(large(largeBytes, 7), rec(0x01, 7, 7)));
      });

      it('applies a batch in order: the last write to a key decides its summary; a delete leaves nothing', async function () {
        const first = counted(rec(0x01, 1));
        const last = counted(rec(0x01, 2));
        const gone = counted(rec(0x01, 3));
        await storage.write([
          { partition: 6, key: bytes('twice'), record: large(largeBytes, 1), summary: first.fn },
          { partition: 6, key: bytes('twice'), record: large(largeBytes, 2), summary: last.fn },
          { partition: 6, key: bytes('gone'), record: large(largeBytes, 3), summary: gone.fn },
          { partition: 6, key: bytes('gone'), record: undefined },
        ]);
        expect(await getSummary(6, bytes('twice'))).to.deep.equal(expectedHead(large(largeBytes, 2), rec(0x01, 2)));
        expect(await getSummary(6, bytes('gone'))).to.equal(undefined);
        expect(last.calls()).to.equal(outOfLine(largeBytes) ? 1 : 0);
        for (const s of [first, gone]) expect(s.calls(), 'at most once').to.be.at.most(outOfLine(largeBytes) ? 1 : 0);
      });

      it('returns the whole record from get, and from a partition walk, for a key that has a summary', async function () {
        const record = large(largeBytes, 8);
        await storage.write([
          { partition: 12, key: bytes('a'), record: rec(1) },
          { partition: 12, key: bytes('b'), record, summary: () => rec(0x01, 0xb) },
          { partition: 12, key: bytes('c'), record: large(largeBytes, 9) },
        ]);
        expect(await storage.get(12, bytes('b'))).to.deep.equal(record);
        const rows = await collect(storage.iteratePartition(12));
        expect(rows.map((r) => r.key)).to.deep.equal([bytes('a'), bytes('b'), bytes('c')]);
        expect(rows[1]!.record.length).to.equal(record.length);
        expect(compareBytes(rows[1]!.record, record), 'the walk yields the record, not the pointer row').to.equal(0);
        expect(compareBytes(rows[2]!.record, large(largeBytes, 9))).to.equal(0);
        const resumed = await collect(storage.iteratePartition(12, { after: bytes('a') }));
        expect(compareBytes(resumed[0]!.record, record)).to.equal(0);
        // Set aside keeps the record itself; the key then has neither record nor summary.
        await storage.setAside(12, bytes('b'));
        expect(await storage.getSetAside(12, bytes('b'))).to.deep.equal(record);
        expect(await getSummary(12, bytes('b'))).to.equal(undefined);
      });

      it('keeps a summary across close and reopen, without asking for it again', async function () {
        if (!storage.supports.persistent) this.skip();
        const record = large(largeBytes, 10);
        const s = counted(rec(0x01, 10, 10));
        await storage.write([
          { partition: 1, key: bytes('kept'), record, summary: s.fn },
          { partition: 1, key: bytes('none'), record: large(largeBytes, 11) },
        ]);
        const again = await reopen();
        expect(await again.getSummary!(1, bytes('kept'))).to.deep.equal(expectedHead(record, rec(0x01, 10, 10)));
        expect(await again.getSummary!(1, bytes('none'))).to.deep.equal({ record: large(largeBytes, 11) });
        expect(await again.get(1, bytes('kept'))).to.deep.equal(record);
        expect(s.calls()).to.equal(outOfLine(largeBytes) ? 1 : 0);
      });

      it('keeps a summary when value-log GC moves its record, and adds none to a record that had none', async function () {
        // Several records to a segment, so deleting the others leaves the summarised one live in a sealed, mostly dead segment.
        const recordBytes = Math.floor(config.segmentBytes / 10);
        if (!hasValueLog || config.minBytes === 0 || recordBytes < config.minBytes || config.gcLiveRatio < 0.25 || config.segmentBytes > 64 * 1024) {
          this.skip(); // no value log, or segments too large (or records too few to a segment) to seal and compact cheaply here
        }
        const summarised = large(recordBytes, 20);
        const plain = large(recordBytes, 21);
        const s = counted(rec(0x01, 20, 20, 20));
        await storage.write([{ partition: 3, key: bytes('sum'), record: summarised, summary: s.fn }]);
        await storage.write([{ partition: 3, key: bytes('plain'), record: plain }]);
        expect(statsOf(storage).valueLog.segments).to.equal(1);
        const fillers: string[] = [];
        while (statsOf(storage).valueLog.segments < 2) {
          expect(fillers.length, 'segments rotate').to.be.below(100);
          const key = `f${String(fillers.length).padStart(3, '0')}`;
          fillers.push(key);
          await storage.write([{ partition: 3, key: bytes(key), record: large(recordBytes, fillers.length) }]);
        }
        expect(fillers.length, 'the first segment holds fillers too').to.be.at.least(4);
        await storage.write(fillers.map((key) => ({ partition: 3, key: bytes(key), record: undefined })));
        await (storage as Storage & { compactValueLog(): Promise<void> }).compactValueLog();
        const log = statsOf(storage).valueLog;
        expect(log.gcEntriesRelocated, 'both live records of the first segment moved').to.equal(2);
        expect(log.gcFailures).to.equal(0);
        expect(log.liveBytes).to.be.above(0);
        const check = async (t: Storage): Promise<void> => {
          expect(await t.getSummary!(3, bytes('sum'))).to.deep.equal({ summary: rec(0x01, 20, 20, 20) });
          expect(await t.getSummary!(3, bytes('plain'))).to.deep.equal({ record: plain });
          expect(await t.get(3, bytes('sum'))).to.deep.equal(summarised);
          expect((await collect(t.iteratePartition(3))).map((r) => r.record)).to.deep.equal([plain, summarised]);
        };
        await check(storage);
        expect(s.calls(), 'GC carries the bytes; it does not ask again').to.equal(1);
        if (!storage.supports.persistent) return;
        await check(await reopen());
      });

      it('treats a summary that throws or is empty as absent: the write succeeds and getSummary answers the record', async function () {
        const throwing = counted(() => {
          throw new Error('no summary today');
        });
        const empty = counted(new Uint8Array(0));
        const good = counted(rec(0x01, 0x33));
        await storage.write([
          { partition: 5, key: bytes('throws'), record: large(largeBytes, 30), summary: throwing.fn },
          { partition: 5, key: bytes('empty'), record: large(largeBytes, 31), summary: empty.fn },
          { partition: 5, key: bytes('good'), record: large(largeBytes, 32), summary: good.fn },
        ]);
        expect(await getSummary(5, bytes('throws'))).to.deep.equal({ record: large(largeBytes, 30) });
        expect(await getSummary(5, bytes('empty'))).to.deep.equal({ record: large(largeBytes, 31) });
        expect(await getSummary(5, bytes('good')), 'a failing neighbour in the batch does not matter').to.deep.equal(expectedHead(large(largeBytes, 32), rec(0x01, 0x33)));
        for (const s of [throwing, empty, good]) expect(s.calls()).to.equal(outOfLine(largeBytes) ? 1 : 0);
        expect(await storage.get(5, bytes('throws'))).to.deep.equal(large(largeBytes, 30));
      });

      it('answers undefined for a missing or deleted key, and validates like get', async function () {
        expect(await getSummary(0, bytes('nope'))).to.equal(undefined);
        await storage.write([{ partition: 0, key: bytes('del'), record: large(largeBytes, 40), summary: () => rec(0x01, 40) }]);
        await storage.write([{ partition: 0, key: bytes('del'), record: undefined }]);
        expect(await getSummary(0, bytes('del'))).to.equal(undefined);
        for (const p of [-1, 0.5, 2 ** 32]) await expectRejects(getSummary(p, bytes('a')), InvalidArgumentError);
        await storage.close();
        await expectRejects(getSummary(0, bytes('del')), ClosedError);
      });

      it('refuses a record beginning with 0xfd (the summary pointer tag) and writes nothing of its batch', async function () {
        const s = counted(rec(0x01, 0xfd));
        const bad = [rec(0xfd), rec(0xfd, 1, 2), Uint8Array.from([0xfd, ...large(largeBytes, 50).subarray(1)])];
        for (const record of bad) {
          await expectRejects(storage.write([
            { partition: 0, key: bytes('good'), record: large(largeBytes, 51), summary: s.fn },
            { partition: 0, key: bytes('bad'), record, summary: s.fn },
          ]), InvalidArgumentError);
        }
        expect(s.calls(), 'a refused batch asks for no summary').to.equal(0);
        expect(await storage.get(0, bytes('good'))).to.equal(undefined);
        expect(await getSummary(0, bytes('bad'))).to.equal(undefined);
        expect(await collect(storage.iteratePartition(0))).to.deep.equal([]);
        // 0xfd elsewhere in a record, and hints and meta beginning with it, are stored.
        await storage.write([{ partition: 0, key: bytes('t'), record: rec(1, 0xfd) }]);
        await storage.writeHints([{ target: 'n2', partition: 0, key: bytes('t'), value: rec(0xfd, 0xfd) }]);
        await storage.putMeta('t', rec(0xfd));
        expect(await storage.get(0, bytes('t'))).to.deep.equal(rec(1, 0xfd));
        expect(await storage.getHint('n2', 0, bytes('t'))).to.deep.equal(rec(0xfd, 0xfd));
        expect(await storage.getMeta('t')).to.deep.equal(rec(0xfd));
      });
    });

    describe('group commit', function () {
      it('resolves many concurrent writes, all readable, in fewer engine batches', async function () {
        const before = statsOf(storage);
        const n = 200;
        await Promise.all(Array.from({ length: n }, (_, i) =>
          storage.write([{ partition: i % 4, key: bytes(`c${i}`), record: rec(i & 0xff, i >> 8) }])));
        for (let i = 0; i < n; i++) {
          expect(await storage.get(i % 4, bytes(`c${i}`))).to.deep.equal(rec(i & 0xff, i >> 8));
        }
        const after = statsOf(storage);
        expect(after.writeCalls - before.writeCalls).to.equal(n);
        expect(after.entriesWritten - before.entriesWritten).to.equal(n);
        const batches = after.engineBatches - before.engineBatches;
        expect(batches).to.be.at.least(1);
        expect(batches).to.be.below(n);
      });

      it('serves concurrent gets, each with its own value or undefined, in at most as many engine reads', async function () {
        const n = 300;
        await storage.write(Array.from({ length: n }, (_, i) => ({ partition: i % 3, key: bytes(`r${i}`), record: rec(i >> 8, i & 0xff) })));
        const before = statsOf(storage);
        const got = await Promise.all(
          Array.from({ length: n + 10 }, (_, i) => storage.get(i % 3, bytes(`r${i}`))),
        );
        for (let i = 0; i < n; i++) expect(got[i]).to.deep.equal(rec(i >> 8, i & 0xff));
        for (let i = n; i < n + 10; i++) expect(got[i]).to.equal(undefined);
        const after = statsOf(storage);
        expect(after.reads - before.reads).to.equal(n + 10);
        expect(after.readBatches - before.readBatches).to.be.at.least(1);
        expect(after.readBatches - before.readBatches).to.be.at.most(n + 10);
      });

      it('keeps call order for concurrent writes to the same key', async function () {
        const k = bytes('race');
        await Promise.all(Array.from({ length: 20 }, (_, i) => storage.write([{ partition: 0, key: k, record: rec(i) }])));
        expect(await storage.get(0, k)).to.deep.equal(rec(19));
      });
    });

    describe('buffer ownership', function () {
      it('returns independent, plain, owned copies', async function () {
        await storage.write([{ partition: 1, key: bytes('k'), record: rec(1, 2, 3) }]);
        await storage.putMeta('m', rec(4, 5));
        const a = await storage.get(1, bytes('k'));
        const b = await storage.get(1, bytes('k'));
        const m = await storage.getMeta('m');
        const [row] = await collect(storage.iteratePartition(1));
        for (const x of [a, b, m, row!.key, row!.record]) expectOwned(x);
        a!.fill(0);
        m!.fill(0);
        row!.record.fill(0);
        row!.key.fill(0);
        expect(b).to.deep.equal(rec(1, 2, 3));
        expect(await storage.get(1, bytes('k'))).to.deep.equal(rec(1, 2, 3));
        expect(await storage.getMeta('m')).to.deep.equal(rec(4, 5));
        expect((await collect(storage.iteratePartition(1)))[0]!.key).to.deep.equal(bytes('k'));
      });

      it('is not affected by changes to arrays the caller passed in after the write resolved', async function () {
        const key = bytes('mine');
        const value = rec(7, 7, 7);
        const metaValue = rec(8);
        await storage.write([{ partition: 2, key, record: value }]);
        await storage.putMeta('mine', metaValue);
        key.fill(0);
        value.fill(0);
        metaValue.fill(0);
        expect(await storage.get(2, bytes('mine'))).to.deep.equal(rec(7, 7, 7));
        expect(await storage.getMeta('mine')).to.deep.equal(rec(8));
        expect((await collect(storage.iteratePartition(2))).map((r) => r.key)).to.deep.equal([bytes('mine')]);
      });
    });

    describe('lifecycle', function () {
      it('rejects every method with ClosedError after close(), and close() is idempotent', async function () {
        await storage.write([{ partition: 0, key: bytes('a'), record: rec(1) }]);
        await storage.close();
        await storage.close();
        await expectRejects(storage.get(0, bytes('a')), ClosedError);
        await expectRejects(storage.write([{ partition: 0, key: bytes('a'), record: rec(2) }]), ClosedError);
        await expectRejects(storage.write([]), ClosedError);
        await expectRejects(collect(storage.iteratePartition(0)), ClosedError);
        await expectRejects(storage.getMeta('x'), ClosedError);
        await expectRejects(storage.putMeta('x', rec(1)), ClosedError);
        await expectRejects(storage.setAside(0, bytes('a')), ClosedError);
        await expectRejects(storage.open(), ClosedError);
      });

      it('rejects ClosedError before open() and allows open() twice', async function () {
        const fresh = await factory();
        try {
          await expectRejects(fresh.storage.get(0, bytes('a')), ClosedError);
          await expectRejects(fresh.storage.write([{ partition: 0, key: bytes('a'), record: rec(1) }]), ClosedError);
          await Promise.all([fresh.storage.open(), fresh.storage.open()]);
          await fresh.storage.open();
          expect(await fresh.storage.get(0, bytes('a'))).to.equal(undefined);
        } finally {
          await fresh.storage.close();
          await fresh.cleanup();
        }
      });

      it('ends an iteration with ClosedError when closed underneath it', async function () {
        await storage.write(Array.from({ length: 100 }, (_, i) => ({ partition: 3, key: rec(i), record: rec(i) })));
        const it = storage.iteratePartition(3)[Symbol.asyncIterator]();
        const first = await it.next();
        expect(first.done).to.equal(false);
        await storage.close();
        const err = await (async () => {
          try {
            for (;;) if ((await it.next()).done) return undefined;
          } catch (e) {
            return e;
          }
        })();
        expect(err).to.be.instanceOf(ClosedError);
      });

      it('reports its engine kind and capabilities', function () {
        expect(['leveldb', 'rocksdb', 'memory']).to.include(storage.engine);
        expect(storage.supports.persistent).to.be.a('boolean');
      });
    });
  });
}
