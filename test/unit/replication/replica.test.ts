import { expect } from 'chai';
import { InvalidArgumentError, LimitExceededError, SeededRandom, StorageCorruptionError, StorageError, silentLogger, type Logger } from '../../../lib/runtime/index.ts';
import { LIMITS } from '../../../lib/protocol/index.ts';
import { Dvv } from '../../../lib/vclock/index.ts';
import { decodeRecord, encodeRecord, type StoredObject, type StoredValue } from '../../../lib/storage/index.ts';
import { ActorEpochs, LocalReplica, type ReplicaWrite } from '../../../lib/replication/index.ts';
import type { VersionVector } from '../../../lib/vclock/index.ts';
import { epochNamer } from './cluster-fixture.ts';
import { bytes, CapturingLogger, CountingStorage, text } from './helpers.ts';

const P = 3;
const KEY = bytes('key');

function live(obj: StoredObject | undefined): string[] {
  return obj === undefined ? [] : Dvv.values(obj).filter((v) => !v.tombstone).map((v) => text(v.data)).sort();
}

/** A replica of node n1 whose epochs are named e1, e2, ... */
function replicaOver(storage: CountingStorage, logger: Logger = silentLogger): LocalReplica {
  return new LocalReplica({ storage, actors: new ActorEpochs('n1', new SeededRandom(1), logger, epochNamer()), logger });
}

/** Resolves once `done()` holds, checking after each turn of the event loop. */
async function until(done: () => boolean): Promise<void> {
  for (let turns = 0; !done(); turns++) {
    if (turns > 1000) throw new Error('condition not reached');
    await new Promise((r) => setImmediate(r));
  }
}

/** update() with clamping, which always writes. */
async function put(r: LocalReplica, value: Uint8Array | undefined, context: VersionVector, nowMs: number, key = KEY): Promise<ReplicaWrite> {
  const w = await r.update(P, key, value, context, nowMs, { unverified: 'clamp' });
  expect(w, 'a clamped update writes').to.not.equal(undefined);
  return w!;
}

describe('replication/replica (LocalReplica over MemoryStorage)', () => {
  let storage: CountingStorage;
  let replica: LocalReplica;

  beforeEach(async () => {
    storage = new CountingStorage();
    await storage.open();
    replica = replicaOver(storage);
  });
  afterEach(async () => {
    await storage.close();
  });

  it('reads undefined for a key it never stored', async () => {
    expect(await replica.read(P, KEY)).to.equal(undefined);
    expect(await replica.readRecord(P, KEY)).to.equal(undefined);
  });

  it('update stores a value under a new dot of its actor and returns the stored record', async () => {
    const w = await put(replica, bytes('v1'), [], 1000);
    expect(Dvv.join(w.object)).to.deep.equal([{ actor: 'n1.e1', counter: 1 }]);
    expect(await replica.readRecord(P, KEY)).to.deep.equal(w.record);
    const stored = await replica.read(P, KEY);
    expect(live(stored)).to.deep.equal(['v1']);
    expect(Dvv.values(stored!)[0]!.writtenAtMs).to.equal(1000);
  });

  it('a write with the previous context replaces the value; without it becomes a sibling', async () => {
    const w1 = await put(replica, bytes('v1'), [], 1);
    const w2 = await put(replica, bytes('v2'), Dvv.join(w1.object), 2);
    expect(live(w2.object)).to.deep.equal(['v2']);
    const w3 = await put(replica, bytes('v3'), [], 3);
    expect(live(w3.object)).to.deep.equal(['v2', 'v3']);
    expect(live(await replica.read(P, KEY))).to.deep.equal(['v2', 'v3']);
  });

  it('a delete writes a tombstone with empty data', async () => {
    const w1 = await put(replica, bytes('v1'), [], 1);
    const w2 = await put(replica, undefined, Dvv.join(w1.object), 2);
    const values = Dvv.values(w2.object);
    expect(values).to.have.length(1);
    expect(values[0]!.tombstone).to.equal(true);
    expect(values[0]!.data).to.have.length(0);
    expect(Dvv.join(w2.object)).to.deep.equal([{ actor: 'n1.e1', counter: 2 }]);
  });

  it('concurrent blind updates of one key all survive as siblings', async () => {
    const n = 20;
    await Promise.all(Array.from({ length: n }, (_, i) => put(replica, bytes(`v${i}`), [], i)));
    const stored = await replica.read(P, KEY);
    expect(Dvv.size(stored!)).to.equal(n);
    expect(Dvv.join(stored!)).to.deep.equal([{ actor: 'n1.e1', counter: n }]);
    expect(replica.lockedKeys).to.equal(0);
  });

  it('concurrent updates with one context supersede exactly what it saw', async () => {
    const base = await put(replica, bytes('base'), [], 0);
    const ctx = Dvv.join(base.object);
    await Promise.all(Array.from({ length: 10 }, (_, i) => put(replica, bytes(`c${i}`), ctx, i)));
    const stored = await replica.read(P, KEY);
    expect(live(stored)).to.deep.equal(Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
  });

  it('concurrent updates of different keys do not interfere', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => put(replica, bytes(`v${i}`), [], i, bytes(`k${i}`))));
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
      const w1 = await put(replica, bytes('v1'), [], 1);
      const w2 = await put(replica, bytes('v2'), Dvv.join(w1.object), 2);
      const writes = storage.writes;
      const result = await replica.merge(P, KEY, w1.object);
      expect(storage.writes).to.equal(writes);
      expect(live(result)).to.deep.equal(['v2']);
      await replica.merge(P, KEY, w2.object);
      expect(storage.writes).to.equal(writes);
    });

    it('keeps concurrent values of another actor as siblings and adopts newer ones', async () => {
      await put(replica, bytes('mine'), [], 1);
      const theirs = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n2.e1', { data: bytes('theirs'), tombstone: false, writtenAtMs: 1 });
      const merged = await replica.merge(P, KEY, theirs);
      expect(live(merged)).to.deep.equal(['mine', 'theirs']);
      // n2 later resolves both.
      const resolved = Dvv.update(merged, Dvv.join(merged), 'n2.e1', { data: bytes('resolved'), tombstone: false, writtenAtMs: 2 });
      await replica.merge(P, KEY, resolved);
      expect(live(await replica.read(P, KEY))).to.deep.equal(['resolved']);
    });

    it('stores the incoming record as it came when the incoming object supersedes the local copy, and a new encoding when it does not', async () => {
      const w1 = await put(replica, bytes('v1'), [], 1);
      // Another replica's successor of v1: the merge holds exactly it.
      const successor = Dvv.update(w1.object, Dvv.join(w1.object), 'n2.e1', { data: bytes('v2'), tombstone: false, writtenAtMs: 2 });
      // Bytes that decode to the successor but are not encodeRecord's: an unknown field (15, varint 0) appended.
      const record = Uint8Array.from([...encodeRecord(successor), 0x78, 0x00]);
      expect(live(decodeRecord(record))).to.deep.equal(['v2']);
      const merged = await replica.merge(P, KEY, successor, record);
      expect(merged).to.equal(successor);
      expect(await replica.readRecord(P, KEY)).to.deep.equal(record);
      // A concurrent object: the merge holds both, so the record is a new encoding of both.
      const concurrent = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n3.e1', { data: bytes('v3'), tombstone: false, writtenAtMs: 3 });
      const concurrentRecord = encodeRecord(concurrent);
      const both = await replica.merge(P, KEY, concurrent, concurrentRecord);
      expect(live(both)).to.deep.equal(['v2', 'v3']);
      expect(await replica.readRecord(P, KEY)).to.deep.equal(encodeRecord(both));
      expect(live(await replica.read(P, KEY))).to.deep.equal(['v2', 'v3']);
    });

    it('re-encodes rather than store an incoming record whose dot names another value here (a dot conflict)', async () => {
      const w1 = await put(replica, bytes('mine'), [], 1);
      // The same dot (n1.e1, 1) naming another value (a version number issued twice), beside a
      // new version of n2: the merge holds exactly the incoming dots, yet not the incoming values.
      const forged = {
        entries: [
          { actor: 'n1.e1', counter: 1, values: [{ data: bytes('other'), tombstone: false, writtenAtMs: 1 }] },
          { actor: 'n2.e1', counter: 1, values: [{ data: bytes('theirs'), tombstone: false, writtenAtMs: 2 }] },
        ],
        anonymous: [],
      };
      const forgedRecord = encodeRecord(forged);
      await replica.merge(P, KEY, forged, forgedRecord);
      expect(replica.stats().dotConflicts).to.equal(1);
      // What is stored is the merge, encoded here, not the record that came.
      const merged = Dvv.sync(w1.object, forged);
      expect(await replica.readRecord(P, KEY)).to.deep.equal(encodeRecord(merged));
      expect(live(await replica.read(P, KEY))).to.deep.equal(live(merged));
    });
  });

  describe('limits', () => {
    it(`refuses the update that would make more than ${LIMITS.siblingsMax} siblings, writing nothing`, async () => {
      for (let i = 0; i < LIMITS.siblingsMax; i++) await put(replica, bytes(`s${i}`), [], i);
      const before = await replica.readRecord(P, KEY);
      const writes = storage.writes;
      const e = await put(replica, bytes('one too many'), [], 999).catch((x: unknown) => x);
      expect(e).to.be.instanceOf(LimitExceededError);
      expect((e as Error).message).to.equal(
        'key has 100 siblings, the limit; read it and write back a resolved value with its context',
      );
      expect(storage.writes).to.equal(writes);
      expect(await replica.readRecord(P, KEY)).to.deep.equal(before);
      // Resolving with the full context is always allowed.
      const stored = await replica.read(P, KEY);
      const w = await put(replica, bytes('resolved'), Dvv.join(stored!), 1000);
      expect(live(w.object)).to.deep.equal(['resolved']);
      expect(replica.lockedKeys).to.equal(0);
    });

    it(`warns once the sibling count reaches ${LIMITS.siblingsWarn}`, async () => {
      const logger = new CapturingLogger();
      const r = replicaOver(storage, logger);
      for (let i = 0; i < LIMITS.siblingsWarn - 1; i++) await put(r, bytes(`s${i}`), [], i);
      expect(logger.lines.filter((l) => l.level === 'warn')).to.have.length(0);
      await put(r, bytes('last'), [], 99);
      const warns = logger.lines.filter((l) => l.level === 'warn');
      expect(warns).to.have.length(1);
      expect(warns[0]!.fields).to.include({ siblings: LIMITS.siblingsWarn });
    });

    it('refuses an update whose object would exceed objectBytesMax, writing nothing', async () => {
      const big = new Uint8Array(LIMITS.valueBytesMax);
      await put(replica, big, [], 1);
      await put(replica, big, [], 2);
      const writes = storage.writes;
      const e = await put(replica, big, [], 3).catch((x: unknown) => x);
      expect(e).to.be.instanceOf(LimitExceededError);
      expect((e as Error).message).to.match(/over the 3145728-byte limit/);
      expect(storage.writes).to.equal(writes);
      expect(Dvv.size((await replica.read(P, KEY))!)).to.equal(2);
    });
  });

  describe('pending writes (the key is locked until its write is issued, not landed)', () => {
    it('a writer of the same key builds on the pending write without waiting for it to land', async () => {
      const w1 = await put(replica, bytes('v1'), [], 1);
      let open!: () => void;
      storage.stall = new Promise((r) => (open = r));
      const computed: ReplicaWrite[] = [];
      const first = replica.update(P, KEY, bytes('v2'), Dvv.join(w1.object), 2, { unverified: 'clamp', onComputed: (w) => computed.push(w) });
      await until(() => computed.length === 1);
      const second = replica.update(P, KEY, bytes('v3'), Dvv.join(computed[0]!.object), 3, { unverified: 'clamp', onComputed: (w) => computed.push(w) });
      await until(() => computed.length === 2);
      expect(live(computed[1]!.object), 'v3 superseded the pending v2 its context saw').to.deep.equal(['v3']);
      expect(Dvv.join(computed[1]!.object)).to.deep.equal([{ actor: 'n1.e1', counter: 3 }]);
      expect(live(await replica.read(P, KEY)), 'storage still holds v1: neither write has landed').to.deep.equal(['v1']);
      let settled = false;
      void second.then(() => (settled = true));
      await new Promise((r) => setImmediate(r));
      expect(settled, 'the caller is answered only once its write landed').to.equal(false);
      open();
      await first;
      await second;
      storage.stall = undefined;
      expect(live(await replica.read(P, KEY))).to.deep.equal(['v3']);
      expect(replica.lockedKeys).to.equal(0);
    });

    it('a merge and a purge read the pending write, and land after it in order', async () => {
      await put(replica, bytes('v1'), [], 1);
      let open!: () => void;
      storage.stall = new Promise((r) => (open = r));
      const computed: ReplicaWrite[] = [];
      const deleting = replica.update(P, KEY, undefined, Dvv.join((await replica.read(P, KEY))!), 2, { unverified: 'clamp', onComputed: (w) => computed.push(w) });
      await until(() => computed.length === 1);
      // The same tombstone arriving from another coordinator changes nothing: the merge sees the pending write
      // (and answers once that has landed).
      const merging = replica.merge(P, KEY, computed[0]!.object);
      let seen: StoredObject | undefined;
      const purging = replica.purge(P, KEY, (o) => {
        seen = o;
        return Dvv.values(o).every((v) => v.tombstone);
      });
      await until(() => seen !== undefined);
      expect(Dvv.values(seen!).map((v) => v.tombstone), 'purge decided on the pending tombstone, not the stored v1').to.deep.equal([true]);
      open();
      await deleting;
      expect(Dvv.values(await merging).map((v) => v.tombstone)).to.deep.equal([true]);
      expect(await purging).to.equal(true);
      storage.stall = undefined;
      expect(await replica.readRecord(P, KEY), 'the removal landed after the tombstone').to.equal(undefined);
      expect(replica.lockedKeys).to.equal(0);
    });
  });

  describe('a merge that stores nothing vouches only for what landed', () => {
    it('a replicated write delivered twice: the duplicate answers once the first copy landed, and fails with it (swarm seed 45704)', async () => {
      await put(replica, bytes('v1'), [], 1);
      const incoming = Dvv.update(Dvv.fresh<StoredValue>(), Dvv.join((await replica.read(P, KEY))!), 'n2.e1', { data: bytes('from-n2'), tombstone: false, writtenAtMs: 5 });
      let open!: () => void;
      storage.stall = new Promise((r) => (open = r));
      storage.failures.push(new StorageError('EIO: i/o error'));
      const first = replica.merge(P, KEY, incoming).catch((e: unknown) => e);
      const duplicate = replica.merge(P, KEY, incoming).catch((e: unknown) => e);
      let answered = false;
      void duplicate.then(() => (answered = true));
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(answered, 'the duplicate changes nothing, but its copy has not landed').to.equal(false);
      open();
      expect(await first).to.be.instanceOf(StorageError);
      expect(await duplicate, 'it vouched for nothing: the copy it matched failed').to.be.instanceOf(StorageError);
      storage.stall = undefined;
      expect(live(await replica.read(P, KEY)), 'and indeed only v1 is stored').to.deep.equal(['v1']);
      // Delivered again once the disk works, it is stored and acknowledged.
      expect(live(await replica.merge(P, KEY, incoming))).to.deep.equal(['from-n2']);
      expect(live(await replica.merge(P, KEY, incoming)), 'a duplicate of a landed copy answers at once').to.deep.equal(['from-n2']);
      expect(replica.lockedKeys).to.equal(0);
    });
  });

  describe('dot uniqueness (a version number is issued once)', () => {
    it('a local write that fails after the version was fanned out retires the actor: the next write cannot reuse the dot', async () => {
      await put(replica, bytes('v1'), [], 1);
      storage.failures.push(new StorageError('EIO: i/o error'));
      let sent: ReplicaWrite | undefined;
      const failed = await replica.update(P, KEY, bytes('v2-acked-elsewhere'), [], 2, { unverified: 'clamp', onComputed: (w) => (sent = w) }).catch((e: unknown) => e);
      expect(failed).to.be.instanceOf(StorageError);
      expect(sent, 'the record was fanned out before the local write failed').to.not.equal(undefined);
      expect(replica.actor).to.equal('n1.e2');
      expect(replica.stats()).to.include({ localWriteFailures: 1, actorsRetired: 1 });
      // Other replicas stored v2 under n1.e1:2; the next write here must not mint n1.e1:2 again.
      const next = await put(replica, bytes('v3'), [], 3);
      expect(Dvv.join(next.object).map((e) => e.actor)).to.include('n1.e2');
      const merged = Dvv.sync(sent!.object, next.object);
      expect(live(merged)).to.deep.equal(['v1', 'v2-acked-elsewhere', 'v3']);
      expect(replica.lockedKeys).to.equal(0);
    });

    it('a fan-out that throws synchronously still awaits the local write, then fails; the key is unlocked', async () => {
      const boom = new Error('encode bug');
      const e = await replica.update(P, KEY, bytes('v'), [], 1, {
        unverified: 'clamp',
        onComputed: () => {
          throw boom;
        },
      }).catch((x: unknown) => x);
      expect(e).to.equal(boom);
      expect(live(await replica.read(P, KEY)), 'the local copy landed').to.deep.equal(['v']);
      expect(replica.lockedKeys).to.equal(0);
      await put(replica, bytes('after'), [], 2);
    });

    it('a failed write another was built on retires the actor; the later one lands with both versions, none minted twice', async () => {
      await put(replica, bytes('v1'), [], 1);
      let open!: () => void;
      storage.stall = new Promise((r) => (open = r));
      storage.failures.push(new StorageError('EIO: i/o error'));
      const sent: ReplicaWrite[] = [];
      const failing = replica.update(P, KEY, bytes('v2'), [], 2, { unverified: 'clamp', onComputed: (w) => sent.push(w) }).catch((e: unknown) => e);
      const landing = replica.update(P, KEY, bytes('v3'), [], 3, { unverified: 'clamp', onComputed: (w) => sent.push(w) });
      await until(() => sent.length === 2);
      expect(Dvv.join(sent[1]!.object), 'v3 was minted on top of the pending v2').to.deep.equal([{ actor: 'n1.e1', counter: 3 }]);
      open();
      expect(await failing).to.be.instanceOf(StorageError);
      const landed = await landing;
      storage.stall = undefined;
      expect(replica.actor, 'retired once v2 failed').to.equal('n1.e2');
      expect(replica.stats()).to.include({ localWriteFailures: 1, actorsRetired: 1 });
      expect(live(await replica.read(P, KEY)), 'v3 carried v2 to storage').to.deep.equal(['v1', 'v2', 'v3']);
      expect(await replica.readRecord(P, KEY)).to.deep.equal(landed!.record);
      const next = await put(replica, bytes('v4'), [], 4);
      expect(Dvv.join(next.object)).to.deep.equal([{ actor: 'n1.e1', counter: 3 }, { actor: 'n1.e2', counter: 1 }]);
      for (const w of sent) await replica.merge(P, KEY, w.object);
      expect(replica.stats().dotConflicts, 'no version number names two values').to.equal(0);
      expect(replica.lockedKeys).to.equal(0);
    });

    it('when every pending write of a key fails, the next write reads storage again under a new actor', async () => {
      await put(replica, bytes('v1'), [], 1);
      let open!: () => void;
      storage.stall = new Promise((r) => (open = r));
      storage.failures.push(new StorageError('EIO: first'), new StorageError('EIO: second'));
      const sent: ReplicaWrite[] = [];
      const a = replica.update(P, KEY, bytes('v2'), [], 2, { unverified: 'clamp', onComputed: (w) => sent.push(w) }).catch((e: unknown) => e);
      const b = replica.update(P, KEY, bytes('v3'), [], 3, { unverified: 'clamp', onComputed: (w) => sent.push(w) }).catch((e: unknown) => e);
      await until(() => sent.length === 2);
      open();
      expect(await a).to.be.instanceOf(StorageError);
      expect(await b).to.be.instanceOf(StorageError);
      storage.stall = undefined;
      expect(replica.stats()).to.include({ localWriteFailures: 2, actorsRetired: 1 });
      expect(live(await replica.read(P, KEY)), 'neither landed').to.deep.equal(['v1']);
      const next = await put(replica, bytes('v4'), [], 4);
      expect(Dvv.join(next.object)).to.deep.equal([{ actor: 'n1.e1', counter: 1 }, { actor: 'n1.e2', counter: 1 }]);
      // The failed versions were fanned out; they come back without naming any dot twice.
      for (const w of sent) await replica.merge(P, KEY, w.object);
      expect(replica.stats().dotConflicts).to.equal(0);
      expect(live(await replica.read(P, KEY))).to.deep.equal(['v1', 'v2', 'v3', 'v4']);
    });

    it('counts, but still merges, an incoming object that names one of our dots with another value', async () => {
      const logger = new CapturingLogger();
      const r = replicaOver(storage, logger);
      const mine = await put(r, bytes('mine'), [], 1);
      const forged = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n1.e1', { data: bytes('other'), tombstone: false, writtenAtMs: 1 });
      await r.merge(P, KEY, forged);
      expect(r.stats().dotConflicts).to.equal(1);
      expect(logger.lines.some((l) => l.level === 'error' && /one version number names two different values/.test(l.msg))).to.equal(true);
      expect(live(await r.read(P, KEY))).to.deep.equal(['mine']);
      await r.merge(P, KEY, mine.object);
      expect(r.stats().dotConflicts, 'an identical copy is no conflict').to.equal(1);
    });
  });

  describe('contexts the replica cannot vouch for', () => {
    it("'report' writes nothing and resolves undefined when the context names versions this copy lacks", async () => {
      await put(replica, bytes('v1'), [], 1);
      const writes = storage.writes;
      const out = await replica.update(P, KEY, bytes('v2'), [{ actor: 'n2.e7', counter: 3 }], 2, { unverified: 'report' });
      expect(out).to.equal(undefined);
      expect(storage.writes).to.equal(writes);
      expect(replica.lockedKeys).to.equal(0);
    });

    it("'clamp' caps counters at what the copy holds, so a forged context supersedes nothing it could not have seen", async () => {
      const v1 = await put(replica, bytes('v1'), [], 1);
      const theirs = Dvv.update(Dvv.fresh<StoredValue>(), [], 'n2.e1', { data: bytes('theirs'), tombstone: false, writtenAtMs: 1 });
      await replica.merge(P, KEY, theirs);
      // Claims n2.e1:9 and n3.e1:5: neither was ever issued for this key.
      const forged = [...Dvv.join(v1.object), { actor: 'n2.e1', counter: 9 }, { actor: 'n3.e1', counter: 5 }];
      const w = await put(replica, bytes('v2'), forged, 2);
      expect(Dvv.join(w.object)).to.deep.equal([
        { actor: 'n1.e1', counter: 2 },
        { actor: 'n2.e1', counter: 1 },
      ]);
      expect(live(w.object), 'the clamped context still covers what it did see').to.deep.equal(['v2']);
      expect(replica.stats().contextClamps).to.equal(1);
      // A version n2 mints later (n2.e1:2) is not covered by the forged claim.
      const later = Dvv.update(theirs, Dvv.join(theirs), 'n2.e1', { data: bytes('later'), tombstone: false, writtenAtMs: 3 });
      expect(live(await replica.merge(P, KEY, later))).to.deep.equal(['later', 'v2']);
    });

    it('a context claiming the largest counter for our own actor is refused, and cannot lock the key', async () => {
      const huge = [{ actor: 'n1.e1', counter: Number.MAX_SAFE_INTEGER }];
      const writes = storage.writes;
      const out = await replica.update(P, KEY, bytes('v1'), huge, 1, { unverified: 'report' }).catch((e: unknown) => e);
      expect(out, "our own actor's excess was never issued").to.be.instanceOf(InvalidArgumentError);
      expect((out as Error).message).to.match(/claims version 9007199254740991 of n1\.e1, which has issued only 0 for this key/);
      expect(storage.writes, 'nothing written').to.equal(writes);
      for (let i = 1; i <= 3; i++) await put(replica, bytes(`v${i}`), [], i);
      expect(Dvv.join((await replica.read(P, KEY))!)).to.deep.equal([{ actor: 'n1.e1', counter: 3 }]);
    });

    it('a forged context ahead for our own actor cannot supersede a version minted after it was made (swarm seed 3325)', async () => {
      const v1 = await put(replica, bytes('v1'), [], 1);
      // Another client's write, acknowledged; the forged context below was never read after it.
      await put(replica, bytes('v2-other-client'), [], 2);
      const forged = [{ actor: 'n1.e1', counter: Dvv.join(v1.object)[0]!.counter + 1000 }];
      const out = await put(replica, bytes('v3'), forged, 3).catch((e: unknown) => e);
      expect(out).to.be.instanceOf(InvalidArgumentError);
      expect(live((await replica.read(P, KEY))!), 'both acknowledged values are still there').to.deep.equal(['v1', 'v2-other-client']);
    });
  });

  describe('corrupt records', () => {
    it('a record that does not decode fails the read, is set aside by the next write, and the key stays writable', async () => {
      const logger = new CapturingLogger();
      const r = replicaOver(storage, logger);
      await storage.inner.write([{ partition: P, key: KEY, record: bytes('\u0001garbage') }]);
      expect(await r.read(P, KEY).catch((e: unknown) => e)).to.be.instanceOf(StorageCorruptionError);
      const w = await put(r, bytes('fresh'), [], 1);
      expect(live(w.object)).to.deep.equal(['fresh']);
      expect(Dvv.join(w.object), 'the actor that may have lost a dot is retired first').to.deep.equal([{ actor: 'n1.e2', counter: 1 }]);
      expect(r.stats()).to.include({ setAside: 1, actorsRetired: 1 });
      expect(await storage.getSetAside(P, KEY)).to.deep.equal(bytes('\u0001garbage'));
      expect(logger.lines.some((l) => l.level === 'error' && /set aside/.test(l.msg))).to.equal(true);
      // Read repair's merge path sets aside the same way.
      await storage.inner.write([{ partition: P, key: bytes('k2'), record: bytes('\u0009') }]);
      await r.merge(P, bytes('k2'), w.object);
      expect(live(await r.read(P, bytes('k2')))).to.deep.equal(['fresh']);
      expect(r.stats().setAside).to.equal(2);
    });
  });
});
