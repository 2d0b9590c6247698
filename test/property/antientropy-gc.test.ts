/**
 * (d) Tombstone GC never purges unless every one of the N replicas is
 * recorded holding the same tombstone digest — for at least the settle time,
 * seen recently, and since the grace period ended — and the grace period since the delete has passed. Random
 * histories of local changes, exchanges (with every kind of outcome, some
 * racing a local change), peer restarts and the passing of time drive a
 * TombstoneLedger; after every step the keys it offers for purging and the
 * pure decision are checked against a model written from the rule's text.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  ABSENT_DIGEST,
  TREE_SHAPE_DEFAULT,
  TombstoneLedger,
  segmentOfKey,
  tombstoneDecision,
  type ExchangeResult,
  type TombstoneRule,
} from '../../lib/antientropy/index.ts';
import type { StoredObject } from '../../lib/storage/index.ts';

const P = 1;
const KEY = new TextEncoder().encode('deleted-key');
const SEGMENT = segmentOfKey(TREE_SHAPE_DEFAULT, KEY);
const SELF = 'n1';
const REPLICAS = ['n1', 'n2', 'n3'];
const RULE: TombstoneRule = { graceMs: 500, settleMs: 50, holdingMaxAgeMs: 300 };
const DIGESTS = [11n, 12n, 13n];
const WALL_OFFSET = 1_000_000;

type Event =
  | { type: 'local'; tombstone: boolean; digest: bigint; deletedAgoMs: number }
  | { type: 'exchange'; peer: string; outcome: 'equal' | 'agreed' | 'diff' | 'unlisted' | 'aborted'; remote: bigint; durationMs: number; changeDuring: boolean }
  | { type: 'forget'; peer: string }
  | { type: 'wait'; ms: number };

// Weighted so that many histories reach a purge: local changes are rarer
// than exchanges and mostly rewrite the same tombstone.
const localEvent = fc.record({
  type: fc.constant('local' as const),
  tombstone: fc.integer({ min: 0, max: 4 }).map((n) => n !== 0),
  digest: fc.constantFrom(DIGESTS[0]!, DIGESTS[0]!, DIGESTS[0]!, DIGESTS[1]!, DIGESTS[2]!),
  deletedAgoMs: fc.integer({ min: 0, max: 800 }),
});
const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 1, arbitrary: localEvent },
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('exchange' as const),
      peer: fc.constantFrom('n2', 'n3', 'n2', 'n3', 'n4'),
      outcome: fc.constantFrom('equal' as const, 'equal' as const, 'agreed' as const, 'diff' as const, 'unlisted' as const, 'aborted' as const),
      remote: fc.constantFrom(ABSENT_DIGEST, ...DIGESTS),
      durationMs: fc.integer({ min: 0, max: 40 }),
      changeDuring: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('forget' as const), peer: fc.constantFrom('n2', 'n3') }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 200 }) }) },
);

const tombstoneObject = (writtenAtMs: number): StoredObject => ({
  entries: [{ actor: 'n1.e1', counter: 1, values: [{ data: new Uint8Array(0), tombstone: true, writtenAtMs }] }],
  anonymous: [],
});
const liveObject: StoredObject = { entries: [{ actor: 'n1.e1', counter: 1, values: [{ data: new Uint8Array([1]), tombstone: false, writtenAtMs: 0 }] }], anonymous: [] };

function result(outcome: string, local: bigint, remote: bigint): ExchangeResult {
  const base: ExchangeResult = {
    partition: P, status: 'repaired', complete: true, differingSegments: [SEGMENT], examinedSegments: [SEGMENT], diffs: [], agreed: [],
    phantomSegments: [], skipped: 0, pulled: 0, pushed: 0, bytesToRemote: 0, bytesFromRemote: 0, roundTrips: 1, remoteCalls: 1,
  };
  switch (outcome) {
    case 'equal':
      return { ...base, status: 'in-sync', differingSegments: [], examinedSegments: [] };
    case 'agreed':
      return { ...base, agreed: [{ key: KEY, digest: local }] };
    case 'diff':
      return remote === local ? { ...base, agreed: [{ key: KEY, digest: local }] } : { ...base, diffs: [{ key: KEY, local, remote }] };
    case 'unlisted':
      return { ...base, examinedSegments: [] };
    default:
      return { ...base, status: 'aborted', differingSegments: undefined, examinedSegments: [] };
  }
}

/** The rule, as the module header states it, over what the history showed. */
class Model {
  local: { tombstone: boolean; digest: bigint; deletedAtWallMs: number; sinceMs: number } | undefined;
  peers = new Map<string, { digest: bigint; sinceMs: number; lastSeenMs: number }>();

  change(tombstone: boolean, digest: bigint, deletedAtWallMs: number, nowMs: number): void {
    if (!tombstone) {
      this.local = undefined;
      this.peers.clear();
    } else if (this.local === undefined || this.local.digest !== digest) {
      this.local = { tombstone, digest, deletedAtWallMs, sinceMs: nowMs };
      this.peers.clear();
    }
  }

  saw(peer: string, digest: bigint, fromMs: number, toMs: number): void {
    const p = this.peers.get(peer);
    if (p !== undefined && p.digest === digest) p.lastSeenMs = Math.max(p.lastSeenMs, fromMs);
    else this.peers.set(peer, { digest, sinceMs: toMs, lastSeenMs: fromMs });
  }

  mayPurge(nowMs: number): boolean {
    const l = this.local;
    if (l === undefined) return false;
    if (nowMs - l.sinceMs < RULE.settleMs) return false;
    if (nowMs + WALL_OFFSET - l.deletedAtWallMs < RULE.graceMs) return false;
    return REPLICAS.filter((r) => r !== SELF).every((r) => {
      const p = this.peers.get(r);
      return (
        p !== undefined &&
        p.digest === l.digest &&
        nowMs - p.lastSeenMs <= RULE.holdingMaxAgeMs &&
        nowMs - p.sinceMs >= RULE.settleMs &&
        // Seen after the grace period ended (a restored backup younger than it cannot fool the rule).
        p.lastSeenMs + WALL_OFFSET - l.deletedAtWallMs >= RULE.graceMs
      );
    });
  }
}

describe('antientropy tombstone GC (property)', () => {
  it('(d) offers a tombstone for purging exactly when all N replicas held it long enough, recently, after the grace period', () => {
    fc.assert(
      // Every history starts with a local write of the key (usually its delete).
      fc.property(localEvent, fc.array(event, { minLength: 10, maxLength: 60 }), (first, rest) => {
        const events: Event[] = [first, ...rest];
        const ledger = new TombstoneLedger({ self: SELF, shape: TREE_SHAPE_DEFAULT, keysMax: 10, purgedMax: 10, purgedMemoMs: 1000 });
        const model = new Model();
        let now = 0;
        let object: StoredObject | undefined;
        const setLocal = (tombstone: boolean, digest: bigint, deletedAgoMs: number): void => {
          // One digest names one object: rewriting the same tombstone keeps its delete time.
          const same = tombstone && model.local?.digest === digest;
          const deletedAt = same ? model.local!.deletedAtWallMs : now + WALL_OFFSET - deletedAgoMs;
          object = tombstone ? tombstoneObject(deletedAt) : liveObject;
          ledger.noteLocal(P, KEY, object, digest, now);
          model.change(tombstone, digest, deletedAt, now);
        };
        for (const e of events) {
          if (e.type === 'local') setLocal(e.tombstone, e.digest, e.deletedAgoMs);
          else if (e.type === 'wait') now += e.ms;
          else if (e.type === 'forget') {
            ledger.forgetPeer(e.peer);
            model.peers.delete(e.peer);
          } else {
            const start = now;
            const local = model.local?.digest ?? ABSENT_DIGEST;
            // What the exchange saw of this replica was its state at the start.
            const r = result(e.outcome, local, e.remote);
            if (e.changeDuring) {
              now += 1;
              setLocal(true, DIGESTS[(DIGESTS.indexOf(local) + 1) % DIGESTS.length]!, 0);
            }
            now += e.durationMs;
            ledger.recordExchange(P, e.peer, r, start, now);
            const unchanged = model.local !== undefined && model.local.sinceMs < start && !e.changeDuring;
            if (unchanged && model.local !== undefined) {
              if (e.outcome === 'equal' || e.outcome === 'agreed') model.saw(e.peer, model.local.digest, start, now);
              if (e.outcome === 'diff') model.saw(e.peer, e.remote, start, now);
            }
          }
          const clock = { wallMs: now + WALL_OFFSET, monotonicMs: now };
          const offered = ledger.purgeable(P, REPLICAS, RULE, clock, 10).length > 0;
          expect(offered, `at ${now}`).to.equal(model.mayPurge(now));
          if (offered) {
            // The safety statement itself: every replica recorded holding this very tombstone, grace passed.
            const holders = ledger.holders(P, KEY);
            for (const r of REPLICAS) expect(holders.get(r)?.digest).to.equal(model.local!.digest);
            expect(now + WALL_OFFSET - model.local!.deletedAtWallMs).to.be.at.least(RULE.graceMs);
            for (const r of REPLICAS.filter((x) => x !== SELF)) expect(holders.get(r)!.lastSeenMs + WALL_OFFSET - model.local!.deletedAtWallMs).to.be.at.least(RULE.graceMs);
          }
          if (object !== undefined) {
            const digest = model.local?.digest ?? 99n;
            const decided = tombstoneDecision({ object, digest, self: SELF, replicas: REPLICAS, holders: ledger.holders(P, KEY) }, RULE, clock);
            expect(decided.purge).to.equal(model.mayPurge(now));
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
