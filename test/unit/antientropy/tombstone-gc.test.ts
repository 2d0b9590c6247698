import { expect } from 'chai';
import {
  ABSENT_DIGEST,
  TREE_SHAPE_DEFAULT,
  TombstoneLedger,
  segmentOfKey,
  tombstoneDecision,
  tombstoneFacts,
  versionDigest,
  type ExchangeResult,
  type Holding,
  type TombstoneRule,
} from '../../../lib/antientropy/index.ts';
import type { StoredObject } from '../../../lib/storage/index.ts';
import { object, tombstone, utf8, value } from './helpers.ts';

const RULE: TombstoneRule = { graceMs: 1000, settleMs: 100, holdingMaxAgeMs: 500 };
const DELETED: StoredObject = object(['n1.e1', 2, [tombstone(5000)]], ['n2.e1', 1, [tombstone(4000)]]);
const D = versionDigest(DELETED);
const REPLICAS = ['n1', 'n2', 'n3'];
const held = (digest: bigint, sinceMs: number, lastSeenMs: number): Holding => ({ digest, sinceMs, lastSeenMs });
const everyone = (since = 0, last = 950): Map<string, Holding> => new Map(REPLICAS.map((r) => [r, held(D, since, last)]));
/** Wall 6100 = newest tombstone (5000) + grace + 100; monotonic 1000 (so monotonic 900 is wall 6000, the end of the grace period). */
const READY = { wallMs: 6100, monotonicMs: 1000 };

describe('tombstone GC decision', () => {
  it('tells tombstone-only objects and their newest delete time', () => {
    expect(tombstoneFacts(DELETED)).to.deep.equal({ tombstoneOnly: true, newestTombstoneMs: 5000 });
    expect(tombstoneFacts(object(['a', 2, [tombstone(1), value('v')]])).tombstoneOnly).to.equal(false);
    expect(tombstoneFacts(object(['a', 2, []])).tombstoneOnly).to.equal(false);
    expect(tombstoneFacts({ entries: [], anonymous: [tombstone(7)] })).to.deep.equal({ tombstoneOnly: true, newestTombstoneMs: 7 });
  });

  it('purges when all N hold the same tombstone long enough, recently, and the grace period has passed', () => {
    expect(tombstoneDecision({ object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: everyone() }, RULE, READY)).to.deep.equal({ purge: true });
  });

  const keeps: Array<[string, Parameters<typeof tombstoneDecision>[0], typeof READY, string, string | undefined]> = [
    ['a live sibling', { object: object(['a', 2, [tombstone(1), value('v')]]), digest: 5n, self: 'n1', replicas: REPLICAS, holders: everyone() }, READY, 'not-a-tombstone', undefined],
    ['one replica never seen', { object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: new Map([...everyone()].filter(([r]) => r !== 'n3')) }, READY, 'holder-unknown', 'n3'],
    ['one replica holding another version', { object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: new Map([...everyone(), ['n2', held(D + 1n, 0, 950)]]) }, READY, 'holder-differs', 'n2'],
    ['one replica holding nothing', { object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: new Map([...everyone(), ['n2', held(ABSENT_DIGEST, 0, 950)]]) }, READY, 'holder-differs', 'n2'],
    ['a holding last seen too long ago', { object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: new Map([...everyone(), ['n2', held(D, 0, 499)]]) }, READY, 'holder-stale', 'n2'],
    ['its own holding of another digest', { object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: new Map([...everyone(), ['n1', held(D - 1n, 0, 0)]]) }, READY, 'holder-differs', 'n1'],
    ['a holding seen too briefly', { object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: new Map([...everyone(), ['n3', held(D, 901, 950)]]) }, READY, 'settle', 'n3'],
    ['the grace period not over', { object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: everyone() }, { wallMs: 5999, monotonicMs: 1000 }, 'grace', undefined],
    ['a replica last seen before the grace period ended', { object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: new Map([...everyone(), ['n3', held(D, 0, 899)]]) }, READY, 'seen-before-grace', 'n3'],
    ['a replica set larger than the holders', { object: DELETED, digest: D, self: 'n1', replicas: [...REPLICAS, 'n4'], holders: everyone() }, READY, 'holder-unknown', 'n4'],
  ];
  for (const [what, check, clock, reason, replica] of keeps) {
    it(`keeps it with ${what} (${reason})`, () => {
      const d = tombstoneDecision(check, RULE, clock);
      expect(d.purge).to.equal(false);
      if (!d.purge) {
        expect(d.reason).to.equal(reason);
        expect(d.replica).to.equal(replica);
      }
    });
  }

  it('purges exactly at the boundaries (settle, freshness and grace are inclusive)', () => {
    const holders = new Map(REPLICAS.map((r) => [r, held(D, 900, 500)]));
    expect(tombstoneDecision({ object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders }, RULE, { wallMs: 6500, monotonicMs: 1000 }).purge).to.equal(true);
    // Seen at monotonic 900 = wall 6000, the very end of the grace period.
    const atGrace = new Map(REPLICAS.map((r) => [r, held(D, 0, 900)]));
    expect(tombstoneDecision({ object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders: atGrace }, RULE, READY).purge).to.equal(true);
  });

  it('never finds its own copy stale: the object checked is what it holds now', () => {
    const holders = new Map([...everyone(), ['n1', held(D, 0, 0)]]);
    expect(tombstoneDecision({ object: DELETED, digest: D, self: 'n1', replicas: REPLICAS, holders }, RULE, READY).purge).to.equal(true);
  });
});

const P = 5;
const K = utf8('gone');
const SEG = segmentOfKey(TREE_SHAPE_DEFAULT, K);
const result = (over: Partial<ExchangeResult>): ExchangeResult => ({
  partition: P,
  status: 'repaired',
  complete: true,
  differingSegments: [],
  examinedSegments: [],
  diffs: [],
  agreed: [],
  phantomSegments: [],
  skipped: 0,
  pulled: 0,
  pushed: 0,
  bytesToRemote: 0,
  bytesFromRemote: 0,
  roundTrips: 1,
  remoteCalls: 1,
  ...over,
});
const ledger = (over: Partial<ConstructorParameters<typeof TombstoneLedger>[0]> = {}): TombstoneLedger =>
  new TombstoneLedger({ self: 'n1', shape: TREE_SHAPE_DEFAULT, keysMax: 100, purgedMax: 100, purgedMemoMs: 10_000, ...over });

describe('TombstoneLedger', () => {
  it('tracks only tombstone-only keys, with this node as the first holder', () => {
    const l = ledger();
    l.noteLocal(P, utf8('live'), object(['a', 1, [value('v')]]), 9n, 10);
    l.noteLocal(P, K, DELETED, D, 10);
    expect(l.stats()).to.deep.include({ tracked: 1 });
    expect([...l.holders(P, K)]).to.deep.equal([['n1', held(D, 10, 10)]]);
    l.noteLocal(P, K, object(['a', 3, [value('back')]]), 11n, 20);
    expect(l.stats().tracked).to.equal(0);
    expect(l.holders(P, K).size).to.equal(0);
  });

  it('lists the keys it tracks per partition, and counts per partition the tombstones it had no room for', () => {
    const l = ledger({ keysMax: 2 });
    l.noteLocal(P, K, DELETED, D, 10);
    l.noteLocal(P, utf8('live'), object(['a', 1, [value('v')]]), 9n, 10);
    l.noteLocal(P + 1, utf8('other'), DELETED, D, 10);
    expect(l.trackedKeys(P).map((k) => Array.from(k))).to.deep.equal([Array.from(K)]);
    expect([l.untrackedIn(P), l.untrackedIn(P + 1)]).to.deep.equal([0, 0]);
    l.noteLocal(P, utf8('third'), DELETED, D, 10);
    expect([l.untrackedIn(P), l.untrackedIn(P + 1)]).to.deep.equal([1, 0]);
    // Forgetting a key does not make the partition's list complete again: only a new walk does.
    l.noteLocal(P, K, undefined, ABSENT_DIGEST, 20);
    expect(l.trackedKeys(P)).to.deep.equal([]);
    expect(l.untrackedIn(P)).to.equal(1);
    l.dropPartition(P);
    expect(l.untrackedIn(P)).to.equal(0);
  });

  it('learns a holder from an exchange whose descent saw the segment equal, or whose listing agreed', () => {
    const l = ledger();
    l.noteLocal(P, K, DELETED, D, 10);
    l.recordExchange(P, 'n2', result({ differingSegments: [SEG + 1] }), 20, 30);
    l.recordExchange(P, 'n3', result({ differingSegments: [SEG], agreed: [{ key: K, digest: D }] }), 40, 50);
    expect(l.holders(P, K).get('n2')).to.deep.equal(held(D, 30, 20));
    expect(l.holders(P, K).get('n3')).to.deep.equal(held(D, 50, 40));
    l.recordExchange(P, 'n2', result({ differingSegments: [] }), 60, 70);
    expect(l.holders(P, K).get('n2')).to.deep.equal(held(D, 30, 60));
  });

  it('records what a peer holds instead when the listing differs, and learns nothing from a segment that differed unlisted', () => {
    const l = ledger();
    l.noteLocal(P, K, DELETED, D, 10);
    l.recordExchange(P, 'n2', result({ differingSegments: [SEG], diffs: [{ key: K, local: D, remote: ABSENT_DIGEST }] }), 20, 30);
    expect(l.holders(P, K).get('n2')).to.deep.equal(held(ABSENT_DIGEST, 30, 20));
    l.recordExchange(P, 'n3', result({ differingSegments: [SEG] }), 20, 30);
    expect(l.holders(P, K).has('n3')).to.equal(false);
    l.recordExchange(P, 'n3', result({ status: 'aborted', differingSegments: undefined }), 20, 30);
    expect(l.holders(P, K).has('n3')).to.equal(false);
  });

  it('learns nothing about a key that changed here during the exchange', () => {
    const l = ledger();
    l.noteLocal(P, K, DELETED, D, 25);
    l.recordExchange(P, 'n2', result({ differingSegments: [] }), 25, 30);
    expect(l.holders(P, K).has('n2')).to.equal(false);
  });

  it('lists purgeable keys only once every replica qualifies', () => {
    const l = ledger();
    l.noteLocal(P, K, DELETED, D, 0);
    // The grace period ended at wall 6000, monotonic 600 on this clock.
    const clock = { wallMs: 6400, monotonicMs: 1000 };
    l.recordExchange(P, 'n2', result({}), 100, 150);
    l.recordExchange(P, 'n3', result({}), 800, 900);
    // n2 was last seen at 100: stale at 1000 (more than 500 ago).
    expect(l.purgeable(P, REPLICAS, RULE, clock, 10)).to.deep.equal([]);
    l.recordExchange(P, 'n2', result({}), 600, 650);
    expect(l.holders(P, K).get('n2')).to.deep.equal(held(D, 150, 600));
    l.forgetPeer('n3');
    expect(l.purgeable(P, REPLICAS, RULE, clock, 10)).to.deep.equal([]);
    l.recordExchange(P, 'n3', result({}), 800, 900);
    expect(l.purgeable(P, REPLICAS, RULE, clock, 10)).to.deep.equal([K]);
    expect(l.purgeable(P, REPLICAS, RULE, clock, 0)).to.deep.equal([]);
    expect(l.purgeable(P, REPLICAS, RULE, { wallMs: 6000, monotonicMs: 999 }, 10)).to.deep.equal([]);
  });

  it('remembers a purge for purgedMemoMs and lists it as held, so peers neither refill it nor lose sight of it', () => {
    const l = ledger();
    l.noteLocal(P, K, DELETED, D, 0);
    l.notePurged(P, K, D, 1000);
    expect(l.stats()).to.deep.include({ tracked: 0, purgedRemembered: 1 });
    expect(l.purgedIn(P, [SEG], 1000)).to.deep.equal([{ key: K, digest: D }]);
    expect(l.purgedIn(P, [SEG + 1], 1000)).to.deep.equal([]);
    expect(l.purgedIn(P + 1, [SEG], 1000)).to.deep.equal([]);
    expect(l.purgedIn(P, [SEG], 10_999)).to.have.length(1);
    expect(l.purgedIn(P, [SEG], 11_000)).to.deep.equal([]);
    expect(l.stats().purgedRemembered).to.equal(0);
  });

  it('forgets a remembered purge once the key is stored again', () => {
    const l = ledger();
    l.notePurged(P, K, D, 0);
    l.noteLocal(P, K, object(['a', 1, [value('new')]]), 7n, 5);
    expect(l.purgedIn(P, [SEG], 5)).to.deep.equal([]);
  });

  it('bounds tracked keys and remembered purges', () => {
    const l = ledger({ keysMax: 2, purgedMax: 2 });
    for (let i = 0; i < 4; i++) l.noteLocal(P, utf8(`k${i}`), DELETED, D, 0);
    expect(l.stats()).to.deep.include({ tracked: 2, untracked: 2 });
    for (let i = 0; i < 3; i++) l.notePurged(P, utf8(`p${i}`), D, i);
    expect(l.stats().purgedRemembered).to.equal(2);
    const all = Array.from({ length: 4096 }, (_, s) => s);
    expect(l.purgedIn(P, all, 3).map((e) => new TextDecoder().decode(e.key)).sort()).to.deep.equal(['p1', 'p2']);
  });

  it('forgets a restarted peer and a released partition', () => {
    const l = ledger();
    l.noteLocal(P, K, DELETED, D, 0);
    l.recordExchange(P, 'n2', result({}), 10, 20);
    l.forgetPeer('n2');
    expect(l.holders(P, K).has('n2')).to.equal(false);
    expect(l.holders(P, K).has('n1')).to.equal(true);
    l.notePurged(P, utf8('other'), D, 0);
    l.dropPartition(P);
    expect(l.stats()).to.deep.equal({ tracked: 0, untracked: 0, purgedRemembered: 0 });
  });
});
