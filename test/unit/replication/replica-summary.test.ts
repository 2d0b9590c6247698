/**
 * LocalReplica over a disk engine whose value log keeps record summaries
 * (valueLogMinBytes 1: every record is out of line): which writes are
 * computed from the summary alone, which read the whole object, and that
 * both give exactly what a replica reading whole records gives.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom, silentLogger, StorageCorruptionError, type Logger } from '../../../lib/runtime/index.ts';
import { Dvv, type VersionVector } from '../../../lib/vclock/index.ts';
import {
  createStorage, decodeRecord, encodeRecord, isWhole, type HeldObject, type RecordHead, type RecordWrite, type Storage, type StoredObject, type StoredValue,
} from '../../../lib/storage/index.ts';
import { valueHash, versionDigest } from '../../../lib/antientropy/index.ts';
import { ActorEpochs, LocalReplica, type ReplicaObserver } from '../../../lib/replication/index.ts';
import { epochNamer } from './cluster-fixture.ts';
import { bytes, CapturingLogger, text } from './helpers.ts';

const P = 5;
const KEY = bytes('key');

/** A storage that counts whole reads and summary reads (and can hand out a damaged summary). */
function counting(inner: Storage): Storage & { gets: number; summaries: number; summaryAnswers: number; damageSummaries: boolean; rotRecords: boolean } {
  const s = {
    gets: 0,
    summaries: 0,
    summaryAnswers: 0,
    damageSummaries: false,
    /** Whole reads fail their checksum while summaries stay readable, as when value-log bytes rot. */
    rotRecords: false,
    engine: inner.engine,
    supports: inner.supports,
    open: () => inner.open(),
    close: () => inner.close(),
    get: (p: number, k: Uint8Array) => {
      s.gets++;
      if (s.rotRecords) return Promise.reject(new StorageCorruptionError('value log: the record fails its checksum'));
      return inner.get(p, k);
    },
    getSummary: async (p: number, k: Uint8Array): Promise<RecordHead | undefined> => {
      s.summaries++;
      const head = await inner.getSummary!(p, k);
      if (head?.summary !== undefined) s.summaryAnswers++;
      return head?.summary !== undefined && s.damageSummaries ? { summary: Uint8Array.from([0x01, 0xff, 0xff]) } : head;
    },
    write: (b: readonly RecordWrite[]) => inner.write(b),
    iteratePartition: (p: number, o?: { readonly after?: Uint8Array }) => inner.iteratePartition(p, o),
    setAside: (p: number, k: Uint8Array) => inner.setAside(p, k),
    getSetAside: (p: number, k: Uint8Array) => inner.getSetAside(p, k),
    writeHints: (b: Parameters<Storage['writeHints']>[0]) => inner.writeHints(b),
    getHint: (t: string, p: number, k: Uint8Array) => inner.getHint(t, p, k),
    iterateHints: (o?: { readonly target?: string }) => inner.iterateHints(o),
    getMeta: (n: string) => inner.getMeta(n),
    putMeta: (n: string, v: Uint8Array) => inner.putMeta(n, v),
  };
  return s;
}

function live(obj: StoredObject | undefined): string[] {
  return obj === undefined ? [] : Dvv.values(obj).filter((v) => !v.tombstone).map((v) => text(v.data)).sort();
}

/** Records what the observer was told: the digest of each `before`, and whether it was whole. */
class DigestObserver implements ReplicaObserver {
  readonly befores: { digest: bigint; whole: boolean }[] = [];
  changing(_p: number, _k: Uint8Array, before: HeldObject | undefined): undefined {
    if (before !== undefined) this.befores.push({ digest: versionDigest(before), whole: isWhole(before) });
    return undefined;
  }
  setAside(): void {}
}

describe('replication/replica: writes computed from record summaries (LevelDB value log)', () => {
  let dir: string;
  let storage: ReturnType<typeof counting>;
  let replica: LocalReplica;
  let observer: DigestObserver;
  let logger: CapturingLogger;

  const replicaOver = (s: Storage, log: Logger = silentLogger, hash: ((d: Uint8Array) => number) | null = valueHash): LocalReplica =>
    new LocalReplica({
      storage: s,
      actors: new ActorEpochs('n1', new SeededRandom(1), log, epochNamer()),
      logger: log,
      observer,
      ...(hash === null ? {} : { valueHash: hash }),
    });
  const put = async (value: string, context: VersionVector, nowMs = 1000) => {
    const w = await replica.update(P, KEY, bytes(value), context, nowMs, { unverified: 'clamp' });
    expect(w).to.not.equal(undefined);
    return w!;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynamo-replica-summary-'));
    storage = counting(createStorage({ engine: 'leveldb', dataDir: dir, valueLogMinBytes: 1 }));
    await storage.open();
    observer = new DigestObserver();
    logger = new CapturingLogger();
    replica = replicaOver(storage, logger);
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('an overwrite whose context covers every value reads only the summary', async () => {
    const first = await put('v1', []);
    storage.gets = 0;
    const second = await put('v2', first.seen);
    expect(storage.gets, 'no whole read').to.equal(0);
    expect(storage.summaryAnswers).to.equal(1);
    expect(replica.stats()).to.include({ summaryReads: 1, summaryFallbacks: 0 });
    expect(live(second.object)).to.deep.equal(['v2']);
    expect(Dvv.join(second.object)).to.deep.equal([{ actor: 'n1.e1', counter: 2 }]);
    const stored = decodeRecord((await storage.get(P, KEY))!);
    expect(stored).to.deep.equal(second.object);
    // The tree observer was told the old version by fingerprints, and digested it as the whole object.
    const last = observer.befores.at(-1)!;
    expect(last.whole).to.equal(false);
    expect(last.digest).to.equal(versionDigest(first.object));
  });

  it('a write that keeps a sibling reads the whole object and keeps its value', async () => {
    await put('v1', []);
    storage.gets = 0;
    const second = await put('v2', []);
    expect(storage.gets, 'one whole read after the summary').to.equal(1);
    expect(replica.stats()).to.include({ summaryReads: 1, summaryFallbacks: 1 });
    expect(live(second.object)).to.deep.equal(['v1', 'v2']);
    expect(isWhole(second.object)).to.equal(true);
    expect(live(decodeRecord((await storage.get(P, KEY))!))).to.deep.equal(['v1', 'v2']);
  });

  it('gives the same objects as a replica that reads whole records', async () => {
    const memoryStorage = createStorage({ engine: 'memory' });
    await memoryStorage.open();
    try {
      const plain = replicaOver(memoryStorage, silentLogger, null);
      // Two writers that each saw only their own writes (siblings), and R, who resolves: it read everything.
      let ctxA: VersionVector = [];
      let ctxB: VersionVector = [];
      let all: VersionVector = [];
      const steps: Array<['A' | 'B' | 'R', string]> = [['A', 'a1'], ['B', 'b1'], ['R', 'r1'], ['A', 'a2'], ['R', 'r2'], ['B', 'b2'], ['A', 'a3'], ['R', 'r3']];
      for (const [who, value] of steps) {
        const ctx = who === 'A' ? ctxA : who === 'B' ? ctxB : all;
        const mine = await replica.update(P, KEY, bytes(value), ctx, 1000, { unverified: 'clamp' });
        const theirs = await plain.update(P, KEY, bytes(value), ctx, 1000, { unverified: 'clamp' });
        expect(mine!.object).to.deep.equal(theirs!.object);
        if (who === 'A') ctxA = mine!.seen;
        if (who === 'B') ctxB = mine!.seen;
        all = Dvv.join(mine!.object);
      }
      expect(live(await replica.read(P, KEY))).to.deep.equal(['r3']);
      expect(await replica.read(P, KEY)).to.deep.equal(await plain.read(P, KEY));
      const stats = replica.stats();
      expect(stats.summaryReads).to.equal(steps.length - 1);
      expect(stats.summaryFallbacks, 'some steps kept siblings, some did not').to.be.within(1, steps.length - 2);
    } finally {
      await memoryStorage.close();
    }
  });

  it('merging a version that supersedes the local copy reads only the summary and stores the incoming record', async () => {
    const first = await put('v1', []);
    const successor = Dvv.update(first.object, first.seen, 'n2.x', { data: bytes('v2'), tombstone: false, writtenAtMs: 2000 });
    const record = encodeRecord(successor);
    storage.gets = 0;
    const merged = await replica.merge(P, KEY, successor, record);
    expect(storage.gets).to.equal(0);
    expect(replica.stats()).to.include({ summaryReads: 1, summaryFallbacks: 0, dotConflicts: 0 });
    expect(merged).to.equal(successor);
    expect(await storage.get(P, KEY)).to.deep.equal(record);
  });

  it('merging a copy it already holds, or a concurrent one, reads the whole object', async () => {
    const first = await put('v1', []);
    storage.gets = 0;
    const same = await replica.merge(P, KEY, first.object, first.record);
    expect(same).to.deep.equal(first.object);
    expect(storage.gets).to.equal(1);
    const concurrent = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n2.x', { data: bytes('other'), tombstone: false, writtenAtMs: 2000 });
    const both = await replica.merge(P, KEY, concurrent, encodeRecord(concurrent));
    expect(live(both)).to.deep.equal(['other', 'v1']);
    expect(live(await replica.read(P, KEY))).to.deep.equal(['other', 'v1']);
    expect(replica.stats()).to.include({ summaryReads: 2, summaryFallbacks: 2 });
  });

  it('a merge that would change nothing on a summary without values reads the record behind it, and sets it aside if it rotted (swarm seed 47008)', async () => {
    // A clock without values: what a read repair of a key whose only copy was set aside writes.
    const clockOnly: StoredObject = { entries: [{ actor: 'n2.x', counter: 3, values: [] }], anonymous: [] };
    await replica.merge(P, KEY, clockOnly, encodeRecord(clockOnly));
    storage.rotRecords = true;
    expect(await replica.readRecord(P, KEY).catch((e: unknown) => e), 'reads of the record fail').to.be.instanceOf(StorageCorruptionError);
    storage.gets = 0;
    // The same object again (read repair): nothing would change, but the result is the local copy, so it is read.
    const merged = await replica.merge(P, KEY, clockOnly, encodeRecord(clockOnly));
    expect(storage.gets, 'the record behind the summary was read').to.equal(1);
    expect(replica.stats()).to.include({ setAside: 1 });
    expect(merged).to.deep.equal(clockOnly);
    storage.rotRecords = false;
    expect(await replica.readRecord(P, KEY), 'the repair stored the incoming copy in place of the rotten one').to.deep.equal(encodeRecord(clockOnly));
  });

  it('finds a version number naming two values by its fingerprint', async () => {
    const first = await put('v1', []); // dot (n1.e1, 1) holds v1 here
    // A copy where the same dot holds another value, and a later dot supersedes nothing of it.
    const forged: StoredObject = {
      entries: [{ actor: 'n1.e1', counter: 2, values: [
        { data: bytes('v2'), tombstone: false, writtenAtMs: 2000 },
        { data: bytes('not v1'), tombstone: false, writtenAtMs: first.object.entries[0]!.values[0]!.writtenAtMs },
      ] }],
      anonymous: [],
    };
    await replica.merge(P, KEY, forged, encodeRecord(forged));
    expect(replica.stats().dotConflicts).to.equal(1);
    expect(logger.lines.some((l) => l.level === 'error' && /two different values/.test(l.msg))).to.equal(true);
  });

  it('readSummary digests as the whole object, and a summary that does not decode is read around', async () => {
    const first = await put('v1', []);
    await put('v2', []);
    const held = await replica.readSummary(P, KEY);
    expect(isWhole(held!)).to.equal(false);
    expect(versionDigest(held!)).to.equal(versionDigest((await replica.read(P, KEY))!));
    expect(versionDigest(held!)).to.not.equal(versionDigest(first.object));
    storage.damageSummaries = true;
    const around = await replica.readSummary(P, KEY);
    expect(isWhole(around!)).to.equal(true);
    expect(live(around as StoredObject)).to.deep.equal(['v1', 'v2']);
    expect(logger.lines.some((l) => l.level === 'warn' && /summary does not decode/.test(l.msg))).to.equal(true);
    // A write after a damaged summary still builds on the whole copy.
    const third = await put('v3', Dvv.join(around!));
    expect(live(third.object)).to.deep.equal(['v3']);
  });

  it('without a value hash it writes no summary and reads whole records', async () => {
    const plain = replicaOver(storage, silentLogger, null);
    const first = await plain.update(P, bytes('other'), bytes('x'), [], 1000, { unverified: 'clamp' });
    storage.summaries = 0;
    storage.gets = 0;
    await plain.update(P, bytes('other'), bytes('y'), first!.seen, 1000, { unverified: 'clamp' });
    expect(storage.summaries).to.equal(0);
    expect(storage.gets).to.equal(1);
    const head = await storage.getSummary!(P, bytes('other'));
    expect(head?.record, 'no summary was stored').to.not.equal(undefined);
  });
});
