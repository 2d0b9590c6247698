/**
 * Scripted scenarios for "no acknowledged write is lost": each reproduces, in
 * the seeded simulator, one way the promise broke before (and fails on that
 * code), so the fix stays fixed. Violations the swarm finds are added here.
 */
import { expect } from 'chai';
import { InvalidArgumentError, UnavailableError } from '../../../lib/runtime/index.ts';
import { decodeContext, encodeContext } from '../../../lib/vclock/index.ts';
import { makeRing, partitionOf, preferenceList, type Ring } from '../../../lib/ring/index.ts';
import type { SimCluster } from '../../../lib/sim/index.ts';
import { onCluster, rejectionOf, texts } from '../helpers.ts';

const base = { nodes: 3, replicas: 3, partitionCount: 16 } as const;
const utf8 = new TextEncoder();

/** Every live value of `key`, read at ALL through `via`. */
async function all(c: SimCluster, via: string, key: string): Promise<string[]> {
  return texts((await c.get(via, key, { consistency: 'ALL' })).values);
}

describe('sim/scenarios: a version number is issued once', () => {
  it(
    "a local write that fails after the version was fanned out: the node's next write gets a new version, both survive",
    onCluster(base, async (c) => {
      c.disk('n1').failWrites({ kind: 'EIO', rate: 1 });
      await c.put('n1', 'k', 'a', { consistency: 'QUORUM' }); // n2 and n3 acknowledge; n1's own copy failed
      c.disk('n1').failWrites(undefined);
      expect(await c.storedValues('n1', 'k')).to.deep.equal([]);
      await c.put('n1', 'k', 'b', { consistency: 'ALL' });
      expect(await all(c, 'n2', 'k')).to.deep.equal(['a', 'b']);
      const safety = (await c.node('n1').admin.status()).safety!;
      expect(safety).to.include({ localWriteFailures: 1, actorsRetired: 1, dotConflicts: 0 });
    }),
  );

  it(
    'power loss drops the unsynced tail holding a write: after restart the node cannot reissue its version',
    onCluster({ ...base, disk: { writebackMs: 60_000 } }, async (c) => {
      await c.put('n1', 'k', 'a', { consistency: 'ALL' });
      await c.crash('n1', { powerLoss: 'all' });
      await c.restart('n1');
      expect(await c.storedValues('n1', 'k'), 'the tail with "a" is gone from n1').to.deep.equal([]);
      await c.put('n1', 'k', 'b', { consistency: 'ALL' });
      expect(await all(c, 'n3', 'k')).to.deep.equal(['a', 'b']);
    }),
  );

  it(
    'a data directory restored from an old backup cannot reissue versions minted after the backup',
    onCluster(base, async (c) => {
      const backup = c.snapshotDisk('n1');
      await c.put('n1', 'k', 'a', { consistency: 'ALL' });
      await c.crash('n1');
      await c.restoreDisk('n1', backup);
      await c.restart('n1');
      await c.put('n1', 'k', 'b', { consistency: 'ALL' });
      expect(await all(c, 'n2', 'k')).to.deep.equal(['a', 'b']);
    }),
  );

  it(
    'a crash after the fan-out but before the local write landed: the restarted node mints under a new actor',
    onCluster(base, async (c) => {
      c.disk('n1').configure({ writeLatencyMsMin: 40, writeLatencyMsMax: 40 });
      await c.put('n1', 'k', 'a', { consistency: 'QUORUM' }); // acknowledged by n2 and n3 well before n1's own write lands
      await c.crash('n1', { pendingWrites: 'drop' });
      c.disk('n1').configure({ writeLatencyMsMin: 0, writeLatencyMsMax: 1 });
      await c.restart('n1');
      expect(await c.storedValues('n1', 'k')).to.deep.equal([]);
      await c.put('n1', 'k', 'b', { consistency: 'ALL' });
      expect(await all(c, 'n2', 'k')).to.deep.equal(['a', 'b']);
    }),
  );
});

describe('sim/scenarios: contexts cannot harm other keys or later writes', () => {
  it(
    "a context read for key A and passed to key B is refused, and B's later writes all survive",
    onCluster(base, async (c) => {
      // Give A a history of n2's versions, so its context claims n2 counters B never issued.
      let ctxA: Uint8Array = new Uint8Array(0);
      for (let i = 0; i < 5; i++) ctxA = (await c.put('n2', 'A', `a${i}`, { consistency: 'ALL', context: ctxA })).context;
      await c.put('n1', 'B', 'b0', { consistency: 'ALL' });
      await c.crash('n2');
      const misrouted = await rejectionOf(c.put('n1', 'B', 'b-with-A-context', { consistency: 'QUORUM', context: ctxA }));
      expect(misrouted).to.be.instanceOf(InvalidArgumentError);
      expect((misrouted as InvalidArgumentError).message).to.match(/context was read for a different key/);

      // The same entries re-bound to B (what a hostile client could forge) cannot be vouched for while n2 is down...
      const forged = encodeContext(decodeContext(ctxA, utf8.encode('A')), utf8.encode('B'));
      const refused = await rejectionOf(c.put('n1', 'B', 'forged', { consistency: 'QUORUM', context: forged }));
      expect(refused).to.be.instanceOf(UnavailableError);
      expect((refused as UnavailableError).maybeApplied).to.equal(false);
      // ...and once every replica answers, the unissued counters are clamped away.
      await c.restart('n2');
      await c.put('n1', 'B', 'forged', { consistency: 'ALL', context: forged });
      await c.put('n2', 'B', 'blind-via-n2', { consistency: 'ALL' });
      expect(await all(c, 'n3', 'B')).to.deep.equal(['b0', 'blind-via-n2', 'forged']);
    }),
  );

  it(
    'a context claiming the largest counter for a node cannot lock the key or cover its later versions',
    onCluster(base, async (c) => {
      const actor = c.node('n1').actor!;
      const huge: Uint8Array = encodeContext([{ actor, counter: Number.MAX_SAFE_INTEGER }], utf8.encode('k'));
      await c.put('n1', 'k', 'before', { consistency: 'ALL' });
      // Refused: n1's own actor never issued that counter, so the context was not read from this store
      // (clamped instead, it would cover "before" and any write n1 minted meanwhile: swarm seed 3325).
      const refused = await c.put('n1', 'k', 'forged', { consistency: 'ALL', context: huge }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).to.be.instanceOf(InvalidArgumentError);
      expect((refused as Error).message).to.match(/claims version 9007199254740991 of n1\.\w+, which has issued only 1 for this key/);
      for (const v of ['x', 'y', 'z']) await c.put('n1', 'k', v, { consistency: 'ALL' });
      expect(await all(c, 'n2', 'k')).to.deep.equal(['before', 'x', 'y', 'z']);
      expect((await c.node('n1').admin.status()).safety!.contextClamps).to.equal(0);
    }),
  );

  it(
    "a put's reply context does not replace concurrent siblings its writer never saw",
    onCluster(base, async (c) => {
      await c.put('n1', 'k', 'theirs', { consistency: 'ALL' }); // another client, no context
      const mine = await c.put('n1', 'k', 'mine', { consistency: 'ALL' }); // same coordinator: n1 now holds two siblings of its own
      await c.put('n1', 'k', 'mine-2', { consistency: 'ALL', context: mine.context });
      // "theirs" was never seen by this writer and survives; "mine" cannot be named without naming
      // "theirs" (same replica's actor), so it stays as a sibling too rather than costing "theirs".
      expect(await all(c, 'n2', 'k')).to.deep.equal(['mine', 'mine-2', 'theirs']);
      // When the writer's value is its replica's only live one, its reply context does name it.
      const solo = await c.put('n2', 'solo', 'v1', { consistency: 'ALL' });
      await c.put('n2', 'solo', 'v2', { consistency: 'ALL', context: solo.context });
      expect(await all(c, 'n3', 'solo')).to.deep.equal(['v2']);
    }),
  );
});

describe('sim/scenarios: failures that may have applied a write are not retried as if not', () => {
  it(
    'a forward whose coordinating replica dies with the request in flight is reported maybeApplied, and the write exists once',
    onCluster({ nodes: 4, replicas: 3, partitionCount: 16 }, async (c) => {
      const ring = (await c.node('n1').admin.status()).partitionOwners;
      expect(ring.length).to.equal(16);
      // A key that n4 does not replicate: n4 forwards its writes.
      let key = '';
      for (let i = 0; key === ''; i++) {
        const candidate = `key-${i}`;
        const nodes = preferenceList(claimFromOwners(ring), partitionOf(utf8.encode(candidate), 16), 3);
        if (!nodes.includes('n4')) key = candidate;
      }
      const first = preferenceList(claimFromOwners(ring), partitionOf(utf8.encode(key), 16), 3)[0]!;
      c.disk(first).configure({ writeLatencyMsMin: 40, writeLatencyMsMax: 40 });
      const put = c.node('n4').kv.put({ key: utf8.encode(key), value: utf8.encode('once'), context: new Uint8Array(0), consistency: 'QUORUM', timeoutMs: 1000 });
      const settled = put.then(
        () => undefined,
        (e: unknown) => e,
      );
      // Run until the coordinating replica has fanned the new version out, then kill it before it answers.
      await c.run(waitFor(c, () => c.transcript.some((l) => new RegExp(`net send ${first}\\.sim:7000->n\\d\\.sim:7000 #\\d+ write`).test(l))));
      await c.crash(first);
      const e = await c.run(settled);
      expect(e, 'the stream to the coordinating replica was reset').to.be.instanceOf(UnavailableError);
      expect((e as UnavailableError).maybeApplied).to.equal(true);
      c.disk(first).configure({ writeLatencyMsMin: 0, writeLatencyMsMax: 1 });
      await c.restart(first);
      expect(await all(c, 'n4', key)).to.deep.equal(['once']);
      expect(c.transcript.filter((l) => / coordinate /.test(l) && l.includes('net send n4')).length, 'one coordinate request').to.equal(1);
    }),
  );

  it(
    'a write that times out while queued behind a slow read of its key is never applied later',
    onCluster({ ...base, requestTimeoutMsDefault: 1000 }, async (c) => {
      // The key's lock covers the read of the local copy, so a slow read queues the next writer.
      c.disk('n1').configure({ readLatencyMs: 300 });
      const put = (value: string, timeoutMs: number) =>
        c.node('n1').kv.put({ key: utf8.encode('k'), value: utf8.encode(value), context: new Uint8Array(0), consistency: 'ALL', timeoutMs });
      const [slow, late] = await c.run(Promise.allSettled([put('slow', 1000), put('late', 100)]));
      expect(slow.status).to.equal('fulfilled');
      expect(late.status, 'the queued write gives up at its deadline').to.equal('rejected');
      expect(((late as PromiseRejectedResult).reason as UnavailableError).maybeApplied).to.equal(false);
      await c.settle();
      c.disk('n1').configure({ readLatencyMs: 0 });
      expect(await all(c, 'n2', 'k')).to.deep.equal(['slow']);
    }),
  );

  it(
    'a write of a key whose previous write is still landing is not queued behind it: it may apply, and says so at its deadline',
    onCluster({ ...base, requestTimeoutMsDefault: 1000 }, async (c) => {
      c.disk('n1').configure({ writeLatencyMsMin: 300, writeLatencyMsMax: 300 });
      const put = (value: string, timeoutMs: number) =>
        c.node('n1').kv.put({ key: utf8.encode('k'), value: utf8.encode(value), context: new Uint8Array(0), consistency: 'ALL', timeoutMs });
      const [slow, late] = await c.run(Promise.allSettled([put('slow', 1000), put('late', 100)]));
      expect(slow.status).to.equal('fulfilled');
      expect(late.status, "n1's own copy of the late write lands after its deadline").to.equal('rejected');
      expect(((late as PromiseRejectedResult).reason as UnavailableError).maybeApplied, 'its version was minted and sent').to.equal(true);
      await c.settle();
      c.disk('n1').configure({ writeLatencyMsMin: 0, writeLatencyMsMax: 1 });
      expect(await all(c, 'n2', 'k'), 'both landed: written with the same (empty) context, they are siblings').to.deep.equal(['late', 'slow']);
      expect(c.disk('n1').stats.writesOverPending, 'the late write was issued while the slow one was landing').to.be.greaterThan(0);
    }),
  );
});

describe('sim/scenarios: reads merge what different replicas hold', () => {
  it(
    'replicas holding different siblings: ALL returns the union, QUORUM the union of the two asked',
    // Anti-entropy off: exchanges would bring the replicas together before the read does.
    onCluster({ ...base, antiEntropy: false }, async (c) => {
      c.partition(['n1'], ['n2', 'n3']);
      await c.put('n1', 'k', 'only-on-n1', { consistency: 'ONE' });
      c.heal();
      c.partition(['n2'], ['n1', 'n3']);
      await c.put('n2', 'k', 'only-on-n2', { consistency: 'ONE' });
      c.heal();
      await c.settle();
      expect(texts((await c.storedValues('n1', 'k')).map((v) => v.data))).to.deep.equal(['only-on-n1']);
      expect(texts((await c.storedValues('n2', 'k')).map((v) => v.data))).to.deep.equal(['only-on-n2']);
      expect(await c.storedValues('n3', 'k')).to.deep.equal([]);
      expect(await all(c, 'n3', 'k')).to.deep.equal(['only-on-n1', 'only-on-n2']);
    }),
  );
});

/** The ring a node reports (its partition owners), for computing preference lists in tests. */
function claimFromOwners(owners: readonly string[]): Ring {
  return makeRing(owners.length, [...new Set(owners)].sort(), owners);
}

/** Resolves once `done()` holds, checked every virtual millisecond. */
function waitFor(c: SimCluster, done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (done()) resolve();
      else c.scheduler.schedule(1, check);
    };
    check();
  });
}

describe('sim/scenarios: rot', () => {
  it(
    "a key whose only copy rots (N=1) fails one read, is set aside, and is readable and writable again",
    onCluster({ nodes: 3, replicas: 1, partitionCount: 16 }, async (c) => {
      await c.put('n1', 'k', 'v', { consistency: 'ALL' });
      let rotted = false;
      for (const id of c.ids) if (!rotted && (await c.storedValues(id, 'k')).length > 0) rotted = await c.disk(id).corruptRandomRecord();
      expect(rotted, 'the one replica holding k rots').to.equal(true);
      const first = await rejectionOf(c.get('n2', 'k', { consistency: 'ALL' }));
      expect((first as Error).message).to.match(/does not decode|corrupt|format tag/i);
      await c.settle();
      expect((await c.get('n2', 'k', { consistency: 'ALL' })).values).to.deep.equal([]);
      await c.put('n3', 'k', 'again', { consistency: 'ALL' });
      expect(await all(c, 'n1', 'k')).to.deep.equal(['again']);
    }),
  );
});
