/**
 * The value log on real LevelDB in temp dirs: what reaches the log, exact
 * live bytes across overwrites, deletes and reopen, GC (including a client
 * write racing a move and a walk holding old pointers), corruption and lost
 * segments reported rather than returned, and recovery at open.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClosedError, InvalidArgumentError, StorageCorruptionError, StorageError } from '../../../../lib/runtime/index.ts';
import { type DiskEngineOptions, decodeRecord, LevelStorage, MemoryStorage, type StoredRecord } from '../../../../lib/storage/index.ts';
import { entryBytes } from '../../../../lib/storage/value-log/segment-format.ts';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);
/** A record of `n` bytes tagged like the record codec's (0x01), its body derived from `seed`. */
function rec(n: number, seed: number): Uint8Array {
  const r = new Uint8Array(n);
  for (let i = 0; i < n; i++) r[i] = (i * 13 + seed * 101) & 0xff;
  r[0] = 0x01;
  return r;
}
/** Live bytes a record under user key `key` takes in a segment (engine key = 5-byte prefix + key). */
const live = (key: string, n: number): number => entryBytes(5 + k(key).length, n);

async function collect(it: AsyncIterable<StoredRecord>): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (e: unknown) => e);
}

/** Flips one bit 10 bytes before the end of `file` (inside the last record written). */
async function flipByteNearEnd(file: string): Promise<void> {
  const bytes = await readFile(file);
  bytes[bytes.length - 10]! ^= 0x01;
  await writeFile(file, bytes);
}

describe('value log (LevelDB)', function () {
  let dir: string;
  let dataDir: string;
  let vlogDir: string;
  const open: LevelStorage[] = [];

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'dynamo-vlog-'));
    dataDir = join(dir, 'db');
    vlogDir = join(dataDir, 'vlog');
  });

  afterEach(async function () {
    for (const s of open.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(options: Omit<DiskEngineOptions, 'dataDir'> = {}, make = (o: DiskEngineOptions) => new LevelStorage(o)): Promise<LevelStorage> {
    const s = make({ valueLogMinBytes: 1000, valueLogSegmentBytes: 16 * 1024, ...options, dataDir });
    open.push(s);
    await s.open();
    return s;
  }

  async function restart(s: LevelStorage, options: Omit<DiskEngineOptions, 'dataDir'> = {}): Promise<LevelStorage> {
    await s.close();
    return start(options);
  }

  const segmentFiles = async (): Promise<string[]> => (await readdir(vlogDir)).filter((n) => n.endsWith('.vlog')).sort();

  it('keeps large records in the log and small ones inline; both read back through get and walks after reopen', async function () {
    let s = await start();
    await s.write([
      { partition: 1, key: k('big'), record: rec(5000, 1) },
      { partition: 1, key: k('edge'), record: rec(1000, 2) },
      { partition: 1, key: k('small'), record: rec(999, 3) },
      { partition: 2, key: k('big'), record: rec(40_000, 4) },
    ]);
    const inLog = live('big', 5000) + live('edge', 1000) + live('big', 40_000);
    expect(s.stats().valueLog.liveBytes).to.equal(inLog);
    expect(s.stats().valueLog.diskBytes).to.equal(inLog);
    s = await restart(s);
    expect(await s.get(1, k('big'))).to.deep.equal(rec(5000, 1));
    expect(await s.get(1, k('edge'))).to.deep.equal(rec(1000, 2));
    expect(await s.get(1, k('small'))).to.deep.equal(rec(999, 3));
    expect(await s.get(2, k('big'))).to.deep.equal(rec(40_000, 4));
    const rows = await collect(s.iteratePartition(1));
    expect(rows.map((r) => new TextDecoder().decode(r.key))).to.deep.equal(['big', 'edge', 'small']);
    expect(rows.map((r) => r.record)).to.deep.equal([rec(5000, 1), rec(1000, 2), rec(999, 3)]);
    expect(s.stats().valueLog.liveBytes, 'counters persisted').to.equal(inLog);
    // Metrics see the same figures, and the segments count toward the bytes on disk.
    const estimate = await s.estimateSize();
    expect(estimate.valueLog).to.deep.equal({ diskBytes: inLog, liveBytes: inLog });
    expect(estimate.bytes).to.be.at.least(inLog);
  });

  it('takes overwrites and deletes off the live bytes exactly, and persists them', async function () {
    let s = await start({ valueLogGcLiveRatio: 0 });
    await s.write([
      { partition: 0, key: k('a'), record: rec(3000, 1) },
      { partition: 0, key: k('b'), record: rec(4000, 2) },
      { partition: 0, key: k('c'), record: rec(5000, 3) },
    ]);
    const all = live('a', 3000) + live('b', 4000) + live('c', 5000);
    expect(s.stats().valueLog.liveBytes).to.equal(all);
    await s.write([{ partition: 0, key: k('a'), record: rec(2000, 4) }]);
    expect(s.stats().valueLog.liveBytes).to.equal(all - live('a', 3000) + live('a', 2000));
    await s.write([{ partition: 0, key: k('b'), record: undefined }, { partition: 0, key: k('c'), record: rec(10, 5) }]);
    const left = live('a', 2000);
    expect(s.stats().valueLog.liveBytes).to.equal(left);
    await s.setAside(0, k('a'));
    expect(s.stats().valueLog.liveBytes, 'set-aside bytes are inline').to.equal(0);
    expect(await s.getSetAside(0, k('a'))).to.deep.equal(rec(2000, 4));
    await s.write([{ partition: 0, key: k('d'), record: rec(1500, 6) }]);
    s = await restart(s, { valueLogGcLiveRatio: 0 });
    expect(s.stats().valueLog.liveBytes).to.equal(live('d', 1500));
    expect(await s.get(0, k('c'))).to.deep.equal(rec(10, 5));
  });

  it('GC reclaims a segment: the file goes, every key reads its latest value, before and after reopen', async function () {
    let s = await start({ valueLogSegmentBytes: 8000, valueLogGcLiveRatio: 0 }); // ratio 0: no background GC
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    // 12 x ~2 KiB, four to a segment: 1 and 2 sealed, 3 active.
    for (const key of keys) await s.write([{ partition: 3, key: k(key), record: rec(2000, 1) }]);
    const before = await segmentFiles();
    expect(before[0]).to.equal('000001.vlog');
    // Overwrite 3 of the 4 keys in segment 1 with small records: 25% of it is live.
    await s.write(keys.slice(0, 3).map((key) => ({ partition: 3, key: k(key), record: rec(10, 2) })));
    await s.close();
    s = await start({ valueLogSegmentBytes: 8000, valueLogGcLiveRatio: 0.5 });
    await s.compactValueLog();
    const stats = s.stats().valueLog;
    expect(await segmentFiles()).to.not.include('000001.vlog');
    expect(stats.gcEntriesRelocated).to.equal(1);
    expect(stats.gcBytesRelocated).to.equal(live('k3', 2000));
    expect(stats.gcSegmentsDeleted).to.equal(1);
    expect(stats.liveBytes).to.equal(7 * live('k3', 2000) + 2 * live('k10', 2000));
    expect(stats.diskBytes, 'segments 2, 3 and the one k3 moved to').to.equal(stats.liveBytes);
    const check = async (t: LevelStorage): Promise<void> => {
      for (const [i, key] of keys.entries()) expect(await t.get(3, k(key)), key).to.deep.equal(i < 3 ? rec(10, 2) : rec(2000, 1));
      expect((await collect(t.iteratePartition(3))).length).to.equal(12);
    };
    await check(s);
    s = await restart(s);
    await check(s);
  });

  it('GC starts by itself after a write leaves a sealed segment under the ratio', async function () {
    const s = await start({ valueLogSegmentBytes: 8000 });
    for (let i = 0; i < 8; i++) await s.write([{ partition: 0, key: k(`k${i}`), record: rec(2000, i) }]); // segment 1: k0..k3
    // Segment 2 (k4..k7) is sealed by the next append; deleting k4..k7 empties it, deleting k0..k2 leaves segment 1 at 25%.
    await s.write([{ partition: 0, key: k('k8'), record: rec(2000, 8) }]);
    await s.write([0, 1, 2, 4, 5, 6, 7].map((i) => ({ partition: 0, key: k(`k${i}`), record: undefined })));
    // Background GC syncs its batches (fsync): give it real time, no compactValueLog() call.
    for (const deadline = Date.now() + 10_000; s.stats().valueLog.gcSegmentsDeleted < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 5));
    // Client writes go on in segment 3; GC's moves have a segment of their own, so its fsyncs flush only what it moved.
    expect(await segmentFiles(), 'k8 in segment 3, k3 moved to GC segment 4').to.deep.equal(['000003.vlog', '000004.vlog']);
    expect(s.stats().valueLog.gcEntriesRelocated, 'k3 moved, nothing of the empty segment').to.equal(1);
    expect(await s.get(0, k('k3'))).to.deep.equal(rec(2000, 3));
    expect(s.stats().valueLog.liveBytes).to.equal(2 * live('k3', 2000));
  });

  it('a client write racing a GC move wins: the move does not resurrect the old value', async function () {
    let racing: LevelStorage | undefined;
    const writes: Array<{ key: string; record: Uint8Array | undefined }> = [
      { key: 'k1', record: rec(3000, 9) },
      { key: 'k2', record: undefined },
    ];
    class Racing extends LevelStorage {
      protected override async beforeValueLogMove(): Promise<void> {
        // GC has found k1 and k2 live; before its moves are submitted, a client overwrites one and deletes the other.
        const w = writes.splice(0);
        if (w.length > 0) await racing!.write(w.map((x) => ({ partition: 0, key: k(x.key), record: x.record })));
      }
    }
    let s = await start({ valueLogSegmentBytes: 8000, valueLogGcLiveRatio: 0 });
    for (let i = 0; i < 8; i++) await s.write([{ partition: 0, key: k(`k${i}`), record: rec(2000, i) }]);
    await s.write([{ partition: 0, key: k('k0'), record: rec(5, 0) }]); // segment 1 = k0 (dead), k1, k2, k3
    await s.close();
    racing = await start({ valueLogSegmentBytes: 8000, valueLogGcLiveRatio: 0.8 }, (o) => new Racing(o));
    await racing.compactValueLog();
    const stats = racing.stats().valueLog;
    expect(writes, 'the race ran').to.deep.equal([]);
    expect(stats.gcRelocationsSkipped, 'both moves dropped at apply time').to.equal(2);
    expect(stats.gcEntriesRelocated, 'k3 moved').to.equal(1);
    expect(await racing.get(0, k('k1'))).to.deep.equal(rec(3000, 9));
    expect(await racing.get(0, k('k2'))).to.equal(undefined);
    expect(await racing.get(0, k('k3'))).to.deep.equal(rec(2000, 3));
    expect(await segmentFiles()).to.not.include('000001.vlog');
    s = await restart(racing);
    expect(await s.get(0, k('k1'))).to.deep.equal(rec(3000, 9));
    expect(await s.get(0, k('k2'))).to.equal(undefined);
  });

  it('holds client writes back while garbage outruns a slow GC, keeping the log within its bound', async function () {
    const segmentBytes = 8000;
    const recordBytes = 2000;
    let slowGc = true;
    class SlowGc extends LevelStorage {
      protected override async beforeValueLogMove(): Promise<void> {
        // A GC that moves slower than clients write (a busy disk).
        if (slowGc) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const s = await start({ valueLogSegmentBytes: segmentBytes, valueLogGcLiveRatio: 0.5 }, (o) => new SlowGc(o));
    const keys = 12;
    const writers = 6;
    let worst = 0;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < 60; i++) {
          const n = (w * 7 + i * 5) % keys;
          await s.write([{ partition: 0, key: k(`k${n}`), record: rec(recordBytes, w * 1000 + i) }]);
          const v = s.stats().valueLog;
          worst = Math.max(worst, v.diskBytes - 2 * v.liveBytes);
        }
      }),
    );
    const v = s.stats().valueLog;
    expect(v.writesStalled, 'writes waited for GC').to.be.greaterThan(0);
    expect(v.gcRuns).to.be.greaterThan(0);
    // disk <= 2 x live + 4 segments, plus what the writers admitted before the bound was seen, and the active segment.
    const bound = 4 * segmentBytes + writers * live('k10', recordBytes) + segmentBytes;
    expect(worst, `disk - 2 x live peaked at ${worst}`).to.be.at.most(bound);
    slowGc = false;
    await s.compactValueLog();
    for (let n = 0; n < keys; n++) expect((await s.get(0, k(`k${n}`)))?.length).to.equal(recordBytes);
  });

  it('a partition walk that began before GC retired a segment still reads its old pointers', async function () {
    let s = await start({ valueLogSegmentBytes: 8000, valueLogGcLiveRatio: 0 });
    for (let i = 0; i < 8; i++) await s.write([{ partition: 5, key: k(`k${i}`), record: rec(2000, i) }]); // segment 1: k0..k3
    await s.write([{ partition: 5, key: k('k0'), record: rec(10, 50) }]);
    s = await restart(s, { valueLogSegmentBytes: 8000, valueLogGcLiveRatio: 0.9 });
    const walk = s.iteratePartition(5)[Symbol.asyncIterator]();
    expect((await walk.next()).value!.record).to.deep.equal(rec(10, 50));
    // GC moves k1..k3 and deletes segment 1 while the walk holds their old pointers.
    await s.compactValueLog();
    expect(await segmentFiles()).to.not.include('000001.vlog');
    expect(s.stats().valueLog.gcEntriesRelocated).to.equal(3);
    const rest: Uint8Array[] = [];
    for (let r = await walk.next(); r.done !== true; r = await walk.next()) rest.push(r.value.record);
    expect(rest).to.deep.equal([1, 2, 3, 4, 5, 6, 7].map((i) => rec(2000, i)));
    for (let i = 1; i < 8; i++) expect(await s.get(5, k(`k${i}`))).to.deep.equal(rec(2000, i));
  });

  it('works with syncWrites: records, overwrites and GC survive reopen', async function () {
    let s = await start({ syncWrites: true, valueLogSegmentBytes: 4 * 1024, valueLogGcLiveRatio: 0.6 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.write([{ partition: 0, key: k(`k${i}`), record: rec(1500, i) }])));
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.write([{ partition: 0, key: k(`k${i}`), record: i % 2 === 0 ? rec(1200, 100 + i) : undefined }])));
    await s.compactValueLog();
    s = await restart(s, { syncWrites: true });
    for (let i = 0; i < 10; i++) expect(await s.get(0, k(`k${i}`))).to.deep.equal(i % 2 === 0 ? rec(1200, 100 + i) : undefined);
    expect(s.stats().valueLog.liveBytes).to.equal(5 * live('k0', 1200));
  });

  it('a corrupted segment byte makes get reject with StorageCorruptionError; walks yield an undecodable pointer; setAside frees the key', async function () {
    let s = await start();
    await s.write([{ partition: 0, key: k('x'), record: rec(4000, 1) }, { partition: 0, key: k('y'), record: rec(4000, 2) }]);
    await s.close();
    await flipByteNearEnd(join(vlogDir, '000001.vlog')); // inside y's record
    s = await start();
    expect(await s.get(0, k('x'))).to.deep.equal(rec(4000, 1));
    const e = await rejection(s.get(0, k('y')));
    expect(e).to.be.instanceOf(StorageCorruptionError);
    expect((e as Error).message).to.match(/000001\.vlog.*fails its checksum/);
    const rows = await collect(s.iteratePartition(0));
    expect(rows[0]!.record).to.deep.equal(rec(4000, 1));
    expect(rows[1]!.record.length).to.equal(21);
    expect(rows[1]!.record[0]).to.equal(0xfe);
    expect(() => decodeRecord(rows[1]!.record)).to.throw(StorageCorruptionError);
    await s.setAside(0, k('y'));
    expect(await s.get(0, k('y'))).to.equal(undefined);
    expect((await s.getSetAside(0, k('y')))![0], 'the pointer is kept for an operator').to.equal(0xfe);
    expect(s.stats().valueLog.liveBytes).to.equal(live('x', 4000));
    await s.write([{ partition: 0, key: k('y'), record: rec(4000, 3) }]);
    expect(await s.get(0, k('y'))).to.deep.equal(rec(4000, 3));
  });

  it('a summary row: live bytes count the log entry only, exactly, across overwrite, delete, GC and reopen', async function () {
    const summary = new Uint8Array(3000).fill(0x5a);
    summary[0] = 0x01;
    let s = await start({ valueLogSegmentBytes: 8000, valueLogGcLiveRatio: 0 });
    await s.write([{ partition: 0, key: k('a'), record: rec(2000, 1), summary: () => summary }]);
    expect(s.stats().valueLog.liveBytes, 'the summary is in the engine row, not the log').to.equal(live('a', 2000));
    expect(s.stats().valueLog.diskBytes).to.equal(live('a', 2000));
    await s.write([{ partition: 0, key: k('a'), record: rec(2500, 2), summary: () => summary }]);
    expect(s.stats().valueLog.liveBytes).to.equal(live('a', 2500));
    // Fill segment 1 (a's entries) past its size with b, c, then drop them: only a's second entry is live in it.
    for (const key of ['b', 'c', 'd']) await s.write([{ partition: 0, key: k(key), record: rec(2000, 3) }]);
    await s.write(['b', 'c', 'd'].map((key) => ({ partition: 0, key: k(key), record: undefined })));
    expect(s.stats().valueLog.liveBytes).to.equal(live('a', 2500));
    s = await restart(s, { valueLogSegmentBytes: 8000, valueLogGcLiveRatio: 0.5 });
    await s.compactValueLog();
    const stats = s.stats().valueLog;
    expect(stats.gcEntriesRelocated).to.equal(1);
    expect(stats.gcBytesRelocated).to.equal(live('a', 2500));
    expect(stats.liveBytes).to.equal(live('a', 2500));
    expect(await s.getSummary(0, k('a'))).to.deep.equal({ summary });
    expect(await s.get(0, k('a'))).to.deep.equal(rec(2500, 2));
    await s.write([{ partition: 0, key: k('a'), record: undefined }]);
    expect(s.stats().valueLog.liveBytes).to.equal(0);
    expect(s.stats().valueLog.counterUnderflows).to.equal(0);
  });

  it('a summary row over rotten or missing log bytes: getSummary answers the summary, get rejects, walks and setAside keep the row', async function () {
    let s = await start();
    const summary = Uint8Array.of(0x01, 0x22, 0x33);
    await s.write([
      { partition: 0, key: k('x'), record: rec(4000, 1), summary: () => Uint8Array.of(0x01, 0x11) },
      { partition: 0, key: k('y'), record: rec(4000, 2), summary: () => summary },
    ]);
    await s.close();
    await flipByteNearEnd(join(vlogDir, '000001.vlog')); // inside y's record
    s = await start();
    expect(await s.getSummary(0, k('x'))).to.deep.equal({ summary: Uint8Array.of(0x01, 0x11) });
    expect(await s.getSummary(0, k('y')), 'answered from the row, without the log (storage.ts)').to.deep.equal({ summary });
    expect(await rejection(s.get(0, k('y')))).to.be.instanceOf(StorageCorruptionError);
    const rows = await collect(s.iteratePartition(0));
    expect(rows[0]!.record).to.deep.equal(rec(4000, 1));
    expect(rows[1]!.record.length).to.equal(21 + summary.length);
    expect(rows[1]!.record[0]).to.equal(0xfd);
    expect(() => decodeRecord(rows[1]!.record)).to.throw(StorageCorruptionError);
    await s.setAside(0, k('y'));
    expect(await s.getSummary(0, k('y'))).to.equal(undefined);
    expect((await s.getSetAside(0, k('y')))![0], 'the row is kept for an operator').to.equal(0xfd);
    expect(s.stats().valueLog.liveBytes).to.equal(live('x', 4000));
    // A lost segment: the summary still answers, the record does not.
    await s.close();
    await unlink(join(vlogDir, '000001.vlog'));
    s = await start();
    expect(await s.getSummary(0, k('x'))).to.deep.equal({ summary: Uint8Array.of(0x01, 0x11) });
    expect(await rejection(s.get(0, k('x')))).to.be.instanceOf(StorageCorruptionError);
  });

  it('a pointer whose segment file is missing makes get reject with StorageCorruptionError', async function () {
    let s = await start();
    await s.write([{ partition: 0, key: k('x'), record: rec(4000, 1) }]);
    await s.close();
    await unlink(join(vlogDir, '000001.vlog'));
    s = await start();
    const e = await rejection(s.get(0, k('x')));
    expect(e).to.be.instanceOf(StorageCorruptionError);
    expect((e as Error).message).to.match(/000001\.vlog is missing/);
    expect(s.stats().valueLog.missingSegments).to.equal(1);
  });

  it('refuses a record beginning with 0xFE and writes nothing of its batch', async function () {
    const s = await start();
    const e = await rejection(s.write([{ partition: 0, key: k('a'), record: rec(2000, 1) }, { partition: 0, key: k('b'), record: Uint8Array.of(0xfe, 1) }]));
    expect(e).to.be.instanceOf(InvalidArgumentError);
    expect(await s.get(0, k('a'))).to.equal(undefined);
    expect(s.stats().valueLog.diskBytes).to.equal(0);
  });

  it('at open deletes segments nothing points into, keeps unknown files, and never appends to an old segment', async function () {
    let s = await start({ valueLogGcLiveRatio: 0 });
    await s.write([{ partition: 0, key: k('a'), record: rec(2000, 1) }]);
    await s.write([{ partition: 0, key: k('a'), record: rec(10, 2) }]); // segment 1 now has no live bytes
    await s.close();
    await writeFile(join(vlogDir, '000002.vlog'), new Uint8Array(100)); // as if created just before a crash
    await writeFile(join(vlogDir, 'NOTES.txt'), 'operator notes');
    s = await start({ valueLogGcLiveRatio: 0 });
    expect(await readdir(vlogDir)).to.deep.equal(['NOTES.txt']);
    await s.write([{ partition: 0, key: k('b'), record: rec(2000, 3) }]);
    expect(await segmentFiles()).to.deep.equal(['000003.vlog']);
    expect(await s.get(0, k('b'))).to.deep.equal(rec(2000, 3));
  });

  it('with the log turned off, existing pointers still read and GC moves their records back inline', async function () {
    let s = await start({ valueLogSegmentBytes: 4096 });
    for (let i = 0; i < 4; i++) await s.write([{ partition: 0, key: k(`k${i}`), record: rec(3000, i) }]); // two to a segment
    s = await restart(s, { valueLogMinBytes: 0, valueLogGcLiveRatio: 1 });
    expect(await s.get(0, k('k2'))).to.deep.equal(rec(3000, 2));
    await s.write([{ partition: 0, key: k('k0'), record: rec(3000, 10) }, { partition: 0, key: k('k2'), record: rec(3000, 12) }]);
    expect(s.stats().valueLog.liveBytes, 'new records are inline').to.equal(2 * live('k0', 3000));
    await s.compactValueLog();
    expect(s.stats().valueLog.liveBytes).to.equal(0);
    expect(await segmentFiles()).to.deep.equal([]);
    for (let i = 0; i < 4; i++) expect(await s.get(0, k(`k${i}`))).to.deep.equal(rec(3000, i % 2 === 0 ? 10 + i : i));
  });

  it('a walk cut off by close() ends with ClosedError, never with pointer bytes', async function () {
    const s = await start({ valueLogMinBytes: 1 });
    await s.write(Array.from({ length: 40 }, (_, i) => ({ partition: 1, key: k(`k${String(i).padStart(2, '0')}`), record: rec(100, i) })));
    const it = s.iteratePartition(1)[Symbol.asyncIterator]();
    expect((await it.next()).value!.record).to.deep.equal(rec(100, 0));
    await s.close();
    const e = await rejection(it.next()); // the engine handed over 32 rows at once; the second is not served
    expect(e).to.be.instanceOf(ClosedError);
  });

  it('a value log that cannot open fails open() with StorageError, closes the engine, and open() may be retried', async function () {
    await mkdir(dataDir, { recursive: true });
    await writeFile(vlogDir, 'not a directory');
    const s = new LevelStorage({ dataDir });
    open.push(s);
    const e = await rejection(s.open());
    expect(e).to.be.instanceOf(StorageError);
    expect((e as Error).message).to.match(/opening the value log failed/);
    await unlink(vlogDir);
    await s.open(); // the engine's lock was released
    await s.write([{ partition: 0, key: k('a'), record: rec(10_000, 1) }]);
    expect(await s.get(0, k('a'))).to.deep.equal(rec(10_000, 1));
    expect(s.stats().valueLog.segments, 'the default threshold is 8 KiB').to.equal(1);
  });

  it('validates its settings, and the memory engine has no value log', async function () {
    for (const bad of [{ valueLogMinBytes: -1 }, { valueLogMinBytes: 1.5 }, { valueLogSegmentBytes: 0 }, { valueLogGcLiveRatio: 1.5 }, { valueLogGcLiveRatio: Number.NaN }]) {
      expect(() => new LevelStorage({ dataDir, ...bad }), JSON.stringify(bad)).to.throw(InvalidArgumentError, /valueLog/);
    }
    const m = new MemoryStorage({ valueLogMinBytes: 1 });
    await m.open();
    await m.write([{ partition: 0, key: k('a'), record: rec(5000, 1) }]);
    expect(m.stats().valueLog.diskBytes).to.equal(0);
    expect(await m.get(0, k('a'))).to.deep.equal(rec(5000, 1));
    await m.close();
  });
});
