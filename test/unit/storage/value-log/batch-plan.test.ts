import { expect } from 'chai';
import type { CommitOp, LevelBatchOp } from '../../../../lib/storage/commit-ops.ts';
import { keyString, needsTracking, planBatch, type PlanContext } from '../../../../lib/storage/value-log/batch-plan.ts';
import { decodeLiveBytes, decodePointer, encodePointer, entryBytes, type Pointer, pointerSummary } from '../../../../lib/storage/value-log/segment-format.ts';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);
const rec = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

/** An engine of plain maps and a log that appends to segment 9 (client writes) or 7 (GC) at increasing offsets. */
function fixture(min: number, engine: Record<string, Uint8Array> = {}, live: Record<number, number> = {}) {
  const reads: string[] = [];
  const streams: string[] = [];
  let offset = 0;
  const ctx: PlanContext = {
    minBytes: min,
    current: (key) => {
      reads.push(keyString(key));
      return engine[keyString(key)];
    },
    append: (_key, record, stream): Pointer => {
      streams.push(stream);
      const p = { segment: stream === 'gc' ? 7 : 9, offset, length: record.length, crc: 0 };
      offset += 100 + record.length;
      return p;
    },
    liveBytes: (s) => live[s] ?? 0,
    counterKey: (s) => k(`counter${s}`),
  };
  return { ctx, reads, streams };
}

const pointer = (segment: number, offset: number, length: number): Uint8Array => encodePointer({ segment, offset, length, crc: 0 });
const counterOps = (ops: LevelBatchOp[]): Record<string, number> =>
  Object.fromEntries(ops.filter((o) => keyString(o.key).startsWith('counter')).map((o) => [keyString(o.key), o.type === 'put' ? decodeLiveBytes(o.value)! : 0]));

describe('value-log batch plan', function () {
  it('sends records at the threshold or above to the log, keeps smaller ones and other ops inline', function () {
    const { ctx } = fixture(10);
    const batch: CommitOp[] = [
      { type: 'record', key: k('big'), record: rec(10) },
      { type: 'record', key: k('small'), record: rec(9) },
      { type: 'put', key: k('hint'), value: rec(50) },
      { type: 'record', key: k('gone'), record: undefined },
    ];
    const plan = planBatch(batch, ctx, true);
    expect(decodePointer((plan.ops[0] as { value: Uint8Array }).value)).to.deep.equal({ segment: 9, offset: 0, length: 10, crc: 0 });
    expect(plan.ops.slice(1, 4)).to.deep.equal([
      { type: 'put', key: k('small'), value: rec(9) },
      { type: 'put', key: k('hint'), value: rec(50) },
      { type: 'del', key: k('gone') },
    ]);
    expect([...plan.liveAfter]).to.deep.equal([[9, entryBytes(3, 10)]]);
    expect(counterOps(plan.ops)).to.deep.equal({ counter9: entryBytes(3, 10) });
    expect([...plan.appendedByGc], 'client records are not GC moves').to.deep.equal([]);
    expect(plan.mustSync).to.equal(false);
  });

  it('reads nothing when the log holds no live bytes and the batch makes no pointer', function () {
    const batch: CommitOp[] = [{ type: 'record', key: k('a'), record: rec(5) }, { type: 'record', key: k('b'), record: undefined }];
    expect(needsTracking(batch, 10, 0)).to.equal(false);
    expect(needsTracking(batch, 10, 1)).to.equal(true);
    expect(needsTracking([...batch, { type: 'record', key: k('c'), record: rec(10) }], 10, 0)).to.equal(true);
    expect(needsTracking([{ type: 'retire', segment: 1 }], 10, 0)).to.equal(true);
    const { ctx, reads } = fixture(10);
    const plan = planBatch(batch, ctx, false);
    expect(reads).to.deep.equal([]);
    expect(plan.liveAfter.size).to.equal(0);
  });

  it('takes what overwrites and deletes replace off the old segments, exactly, within one batch too', function () {
    const engine = { a: pointer(3, 0, 1000), b: pointer(4, 0, 500), c: rec(5) };
    const live = { 3: entryBytes(1, 1000) + 777, 4: entryBytes(1, 500) };
    const { ctx } = fixture(100, engine, live);
    const plan = planBatch([
      { type: 'record', key: k('a'), record: rec(200) }, // a: 3 -> 9
      { type: 'record', key: k('a'), record: rec(300) }, // a: 9 -> 9 (the first new pointer is replaced)
      { type: 'record', key: k('b'), record: undefined }, // b: 4 -> gone
      { type: 'record', key: k('c'), record: rec(150) }, // c: inline -> 9
    ], ctx, true);
    expect(Object.fromEntries(plan.liveAfter)).to.deep.equal({ 3: 777, 4: 0, 9: entryBytes(1, 300) + entryBytes(1, 150) });
    expect(counterOps(plan.ops)).to.deep.equal({ counter3: 777, counter4: 0, counter9: entryBytes(1, 300) + entryBytes(1, 150) });
    expect(plan.ops.find((o) => keyString(o.key) === 'counter4')!.type, 'a counter reaching 0 is deleted').to.equal('del');
    expect(plan.underflows).to.equal(0);
  });

  it('moves a relocated record only while the key still points where GC found it', function () {
    const engine = { a: pointer(3, 16, 1000), b: pointer(3, 2000, 1000) };
    const { ctx, streams } = fixture(100, engine, { 3: 2 * entryBytes(1, 1000) });
    const plan = planBatch([
      { type: 'record', key: k('b'), record: rec(10) }, // a client write to b lands first
      { type: 'relocate', key: k('a'), from: { segment: 3, offset: 16 }, record: rec(1000, 7) },
      { type: 'relocate', key: k('b'), from: { segment: 3, offset: 2000 }, record: rec(1000, 7) },
      { type: 'relocate', key: k('a'), from: { segment: 3, offset: 99 }, record: rec(1000, 7) }, // wrong offset
    ], ctx, true);
    expect(plan.ops.filter((o) => keyString(o.key) === 'b')).to.deep.equal([{ type: 'put', key: k('b'), value: rec(10) }], 'the write wins');
    // The move goes to GC's own segment, which the batch syncs before its pointers.
    expect(decodePointer((plan.ops.find((o) => keyString(o.key) === 'a') as { value: Uint8Array }).value)!.segment).to.equal(7);
    expect(streams).to.deep.equal(['gc']);
    expect([...plan.appendedByGc]).to.deep.equal([7]);
    expect([plan.relocatedEntries, plan.relocationsSkipped, plan.relocatedBytes]).to.deep.equal([1, 2, entryBytes(1, 1000)]);
    expect(Object.fromEntries(plan.liveAfter)).to.deep.equal({ 3: 0, 7: entryBytes(1, 1000) });
    expect(plan.mustSync).to.equal(true);
  });

  it('a relocation after a client write in the same batch sees the write (nothing resurrected)', function () {
    const { ctx } = fixture(100, { a: pointer(3, 16, 1000) }, { 3: entryBytes(1, 1000) });
    const plan = planBatch([
      { type: 'record', key: k('a'), record: undefined },
      { type: 'relocate', key: k('a'), from: { segment: 3, offset: 16 }, record: rec(1000) },
    ], ctx, true);
    expect(plan.ops.filter((o) => keyString(o.key) === 'a')).to.deep.equal([{ type: 'del', key: k('a') }]);
    expect(plan.relocationsSkipped).to.equal(1);
  });

  it('retires a segment only when its live bytes are 0 after the batch', function () {
    const { ctx } = fixture(100, { a: pointer(5, 0, 1000) }, { 4: 0, 5: entryBytes(1, 1000), 6: 10 });
    const plan = planBatch([
      { type: 'record', key: k('a'), record: undefined },
      { type: 'retire', segment: 4 },
      { type: 'retire', segment: 5 },
      { type: 'retire', segment: 6 },
    ], ctx, true);
    expect(plan.retired).to.deep.equal([4, 5]);
    expect(plan.retireRefused).to.deep.equal([6]);
    expect(counterOps(plan.ops)).to.deep.equal({ counter4: 0, counter5: 0 });
    expect(plan.mustSync).to.equal(true);
  });

  it('clamps and counts a decrement below zero instead of failing writes', function () {
    const { ctx } = fixture(100, { a: pointer(3, 0, 1000) }, { 3: 10 });
    const plan = planBatch([{ type: 'record', key: k('a'), record: undefined }], ctx, true);
    expect(plan.liveAfter.get(3)).to.equal(0);
    expect(plan.underflows).to.equal(1);
  });

  describe('summaries', function () {
    const valueOf = (ops: LevelBatchOp[], key: string): Uint8Array | undefined => {
      const op = ops.filter((o) => keyString(o.key) === key).at(-1);
      return op?.type === 'put' ? op.value : undefined;
    };
    /** A summary function returning `bytes` (or throwing) that counts its calls. */
    const counted = (bytes: Uint8Array | Error) => {
      const calls = { n: 0 };
      const fn = (): Uint8Array => {
        calls.n++;
        if (bytes instanceof Error) throw bytes;
        return bytes;
      };
      return { fn, calls };
    };

    it('puts a written summary after the pointer of a record that goes to the log, asking for it once', function () {
      const { ctx } = fixture(10);
      const big = counted(Uint8Array.of(0x01, 2, 3));
      const small = counted(Uint8Array.of(0x01, 9));
      const plan = planBatch([
        { type: 'record', key: k('big'), record: rec(10), summary: big.fn },
        { type: 'record', key: k('small'), record: rec(9), summary: small.fn },
        { type: 'record', key: k('plain'), record: rec(20) },
      ], ctx, true);
      const row = valueOf(plan.ops, 'big')!;
      expect(row[0]).to.equal(0xfd);
      expect(decodePointer(row)).to.deep.equal({ segment: 9, offset: 0, length: 10, crc: 0 });
      expect(pointerSummary(row)).to.deep.equal(Uint8Array.of(0x01, 2, 3));
      expect(big.calls.n).to.equal(1);
      expect(valueOf(plan.ops, 'small'), 'inline: the record itself').to.deep.equal(rec(9));
      expect(small.calls.n, 'an inline record\'s summary is never asked for').to.equal(0);
      expect(valueOf(plan.ops, 'plain')![0]).to.equal(0xfe);
      expect(pointerSummary(valueOf(plan.ops, 'plain')!)).to.equal(undefined);
      // Live bytes count the log entry only: the summary lives in the engine row.
      expect(plan.liveAfter.get(9)).to.equal(entryBytes(3, 10) + entryBytes(5, 20));
    });

    it('leaves out a summary that throws or is empty: a plain pointer, the batch goes on', function () {
      const { ctx } = fixture(10);
      const throws = counted(new Error('boom'));
      const empty = counted(new Uint8Array(0));
      const plan = planBatch([
        { type: 'record', key: k('a'), record: rec(10), summary: throws.fn },
        { type: 'record', key: k('b'), record: rec(10), summary: empty.fn },
      ], ctx, true);
      for (const key of ['a', 'b']) {
        const row = valueOf(plan.ops, key)!;
        expect(row.length, key).to.equal(21);
        expect(row[0], key).to.equal(0xfe);
        expect(decodePointer(row), key).to.not.equal(undefined);
      }
      expect([throws.calls.n, empty.calls.n]).to.deep.equal([1, 1]);
    });

    it('relocation keeps the summary of the current row, and adds none to a row that had none', function () {
      const summary = Uint8Array.of(0x01, 0xaa, 0xbb);
      const engine = {
        s: encodePointer({ segment: 3, offset: 16, length: 1000, crc: 0 }, summary),
        p: pointer(3, 2000, 1000),
      };
      const { ctx, streams } = fixture(100, engine, { 3: 2 * entryBytes(1, 1000) });
      const plan = planBatch([
        { type: 'relocate', key: k('s'), from: { segment: 3, offset: 16 }, record: rec(1000, 7) },
        { type: 'relocate', key: k('p'), from: { segment: 3, offset: 2000 }, record: rec(1000, 8) },
      ], ctx, true);
      const moved = valueOf(plan.ops, 's')!;
      expect(moved[0]).to.equal(0xfd);
      expect(decodePointer(moved)).to.deep.include({ segment: 7, length: 1000 });
      expect(pointerSummary(moved)).to.deep.equal(summary);
      const plain = valueOf(plan.ops, 'p')!;
      expect(plain.length).to.equal(21);
      expect(pointerSummary(plain)).to.equal(undefined);
      expect(decodePointer(plain)).to.deep.include({ segment: 7, length: 1000 });
      expect(streams).to.deep.equal(['gc', 'gc']);
      expect([plan.relocatedEntries, plan.relocationsSkipped]).to.deep.equal([2, 0]);
      expect(Object.fromEntries(plan.liveAfter)).to.deep.equal({ 3: 0, 7: 2 * entryBytes(1, 1000) });
    });

    it('a client write earlier in the batch wins over a relocation: the write\'s summary stays, not the old row\'s', function () {
      // The write moves the key elsewhere first, so the relocation is skipped and the write's summary stays.
      const { ctx } = fixture(100, { s: encodePointer({ segment: 3, offset: 16, length: 1000, crc: 0 }, Uint8Array.of(0x01, 1)) }, { 3: entryBytes(1, 1000) });
      const fresh = counted(Uint8Array.of(0x01, 2));
      const plan = planBatch([
        { type: 'record', key: k('s'), record: rec(500), summary: fresh.fn },
        { type: 'relocate', key: k('s'), from: { segment: 3, offset: 16 }, record: rec(1000) },
      ], ctx, true);
      const rows = plan.ops.filter((o) => keyString(o.key) === 's');
      expect(rows).to.have.length(1);
      expect(pointerSummary(valueOf(plan.ops, 's')!)).to.deep.equal(Uint8Array.of(0x01, 2));
      expect(plan.relocationsSkipped).to.equal(1);
      expect(fresh.calls.n).to.equal(1);
    });

    it('a relocation back inline (log turned off) drops the summary with the pointer', function () {
      const { ctx } = fixture(Number.POSITIVE_INFINITY, { s: encodePointer({ segment: 3, offset: 16, length: 1000, crc: 0 }, Uint8Array.of(0x01, 1)) }, { 3: entryBytes(1, 1000) });
      const plan = planBatch([{ type: 'relocate', key: k('s'), from: { segment: 3, offset: 16 }, record: rec(1000, 4) }], ctx, true);
      expect(valueOf(plan.ops, 's')).to.deep.equal(rec(1000, 4));
      expect(plan.relocatedEntries).to.equal(1);
    });

    it('takes a summary row off its segment\'s live bytes like a plain pointer when overwritten or deleted', function () {
      const engine = { a: encodePointer({ segment: 3, offset: 0, length: 1000, crc: 0 }, new Uint8Array(300).fill(1)) };
      const { ctx } = fixture(100, engine, { 3: entryBytes(1, 1000) + 5 });
      const plan = planBatch([{ type: 'record', key: k('a'), record: undefined }], ctx, true);
      expect(plan.liveAfter.get(3)).to.equal(5);
      expect(plan.underflows).to.equal(0);
    });
  });
});
