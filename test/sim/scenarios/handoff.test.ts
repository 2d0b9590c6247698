/**
 * Sloppy quorum and hinted handoff (issue 8) in the seeded simulator: writes
 * stay available while replicas are down, hints are durable, bounded in age,
 * kept apart from the holder's data, and come home — without ever replacing
 * a newer version — once their node is back.
 */
import { expect } from 'chai';
import { partitionOf } from '../../../lib/ring/index.ts';
import { UnavailableError } from '../../../lib/runtime/index.ts';
import type { SimCluster } from '../../../lib/sim/index.ts';
import { onCluster, rejectionOf, texts } from '../helpers.ts';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const base = { nodes: 5, replicas: 3, partitionCount: 32 } as const;

/** The key's primary replicas, in preference order, as `via` sees the ring. */
function primariesOf(c: SimCluster, key: string, via = 'n1'): string[] {
  return [...c.node(via).membershipView()!.replicas(partitionOf(utf8.encode(key), base.partitionCount)).reads];
}

/** A key none of whose replicas is `id` (so `id` coordinates it as a non-replica). */
function keyAvoiding(c: SimCluster, id: string): string {
  for (let i = 0; ; i++) if (!primariesOf(c, `k${i}`).includes(id)) return `k${i}`;
}

async function storedText(c: SimCluster, id: string, key: string): Promise<string[]> {
  return (await c.storedValues(id, key)).filter((v) => !v.tombstone).map((v) => text.decode(v.data)).sort();
}

/** Hints held, per node that holds any. */
async function hintsHeld(c: SimCluster): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const id of c.ids) if (c.isUp(id) && c.node(id).hintsHeld > 0) out[id] = c.node(id).hintsHeld;
  return out;
}

describe('sim/scenarios: sloppy quorum and hinted handoff', () => {
  it(
    'a replica is down: a sloppy ALL write succeeds on a fallback hint, a strict one fails naming the counts; back up, the replica gets the hint and the store drains',
    onCluster(base, async (c) => {
      const key = keyAvoiding(c, 'n1');
      const [, , down] = primariesOf(c, key);
      await c.crash(down!);
      await c.runFor(20_000); // known dead everywhere
      await c.put('n1', key, 'v1', { consistency: 'ALL' });
      expect(Object.values(await hintsHeld(c)).reduce((a, b) => a + b, 0), 'one hint held for the down replica').to.equal(1);
      const holder = Object.keys(await hintsHeld(c))[0]!;
      expect(primariesOf(c, key)).to.not.include(holder);
      expect(await c.storedValues(holder, key), "a hint is not the holder's data").to.deep.equal([]);
      const pending = (await c.node(holder).admin.status()).hints!;
      expect(pending.pending).to.deep.equal([{ target: down, keys: 1, bytes: pending.pending[0]!.bytes }]);

      const strict = await rejectionOf(c.put('n1', key, 'v2', { consistency: 'ALL', strict: true, context: (await c.get('n1', key)).context }));
      expect(strict).to.be.instanceOf(UnavailableError);
      expect((strict as UnavailableError).message).to.match(/^ALL write failed: 2 of 3 replicas are up/);
      expect(strict).to.include({ answered: 0, maybeApplied: false });

      await c.restart(down!);
      await c.runFor(3000);
      expect(await storedText(c, down!, key)).to.deep.equal(['v1']);
      expect(await hintsHeld(c)).to.deep.equal({});
      const after = (await c.node(holder).admin.status()).hints!;
      expect(after).to.include({ enabled: true, stored: 1, delivered: 1, dropped: 0 });
    }),
  );

  it(
    'ANY succeeds with all three replicas down (the coordinator and fallbacks keep hints); each replica gets it back',
    onCluster({ ...base, nodes: 6 }, async (c) => {
      const key = keyAvoiding(c, 'n1');
      const primaries = primariesOf(c, key);
      for (const id of primaries) await c.crash(id);
      await c.runFor(20_000);
      const strictOne = await rejectionOf(c.put('n1', key, 'x', { consistency: 'ONE', strict: true }));
      expect((strictOne as UnavailableError).message).to.equal('ONE write failed: 0 of 3 replicas are up, 1 needed');
      await c.put('n1', key, 'any', { consistency: 'ANY' });
      expect(c.node('n1').hintsHeld, 'the coordinator keeps one hint').to.equal(1);
      // QUORUM works too: the stand-ins count.
      await c.put('n1', `${key}-q`, 'q', { consistency: 'QUORUM' });
      for (const id of primaries) await c.restart(id);
      await c.runFor(5000);
      for (const id of primaries) expect(await storedText(c, id, key), id).to.deep.equal(['any']);
      expect(await hintsHeld(c)).to.deep.equal({});
      expect(texts((await c.get('n1', key, { consistency: 'ALL', strict: true })).values)).to.deep.equal(['any']);
    }),
  );

  it(
    'versions a fallback minted stay unique after their hints were delivered: two blind ANY writes with the replicas down in turn both survive',
    onCluster({ ...base, nodes: 6 }, async (c) => {
      const key = keyAvoiding(c, 'n1');
      const primaries = primariesOf(c, key);
      for (const value of ['a', 'b']) {
        for (const id of primaries) await c.crash(id);
        await c.runFor(20_000);
        await c.put('n1', key, value, { consistency: 'ANY' });
        for (const id of primaries) await c.restart(id);
        await c.runFor(5000);
        expect(await hintsHeld(c), `hints for ${value} delivered`).to.deep.equal({});
      }
      expect(texts((await c.get('n1', key, { consistency: 'ALL', strict: true })).values)).to.deep.equal(['a', 'b']);
      for (const id of primaries) expect(await storedText(c, id, key), id).to.deep.equal(['a', 'b']);
    }),
  );

  it(
    'a hint holder restarted before delivery still delivers (hints are durable); an owner crashing during replay gets them later',
    onCluster(base, async (c) => {
      const key = keyAvoiding(c, 'n1');
      const down = primariesOf(c, key)[2]!;
      await c.crash(down);
      await c.runFor(20_000);
      const keys = Array.from({ length: 30 }, (_, i) => `${key}-${i}`).filter((k) => primariesOf(c, k).includes(down));
      for (const k of keys) await c.put('n1', k, `v-${k}`, { consistency: 'ALL' });
      for (const id of c.ids) if (c.isUp(id)) console.log(id, (await c.node(id).admin.status()).hints);
      const holders = Object.keys(await hintsHeld(c));
      expect(holders.length).to.be.greaterThan(0);
      for (const h of holders) {
        await c.crash(h);
        await c.restart(h);
      }
      expect(Object.values(await hintsHeld(c)).reduce((a, b) => a + b, 0), 'hints survived the restart').to.equal(keys.length);
      await c.restart(down);
      await c.runFor(5);
      await c.crash(down); // during replay
      await c.runFor(2000);
      await c.restart(down);
      await c.runFor(5000);
      for (const k of keys) expect(await storedText(c, down, k), k).to.deep.equal([`v-${k}`]);
      expect(await hintsHeld(c)).to.deep.equal({});
    }),
  );

  it(
    'replaying a hint older than the replica’s current version does not overwrite it',
    onCluster(base, async (c) => {
      const key = keyAvoiding(c, 'n1');
      const [first, , down] = primariesOf(c, key);
      await c.crash(down!);
      await c.runFor(20_000);
      await c.put(first!, key, 'old', { consistency: 'ALL' });
      const holder = Object.keys(await hintsHeld(c))[0]!;
      // The replica comes back where the holder cannot reach it; a newer version reaches it directly.
      c.partition([holder], c.ids.filter((id) => id !== holder));
      await c.run(c.startLife(down!)); // no wait for convergence: the holder is cut off
      await c.runFor(5000);
      await c.put(first!, key, 'new', { consistency: 'ALL', strict: true, context: (await c.get(first!, key, { consistency: 'ALL', strict: true })).context });
      expect(await storedText(c, down!, key)).to.deep.equal(['new']);
      c.heal();
      await c.runFor(20_000);
      expect(await hintsHeld(c)).to.deep.equal({});
      expect(await storedText(c, down!, key), 'the old hint merged under the newer version').to.deep.equal(['new']);
    }),
  );

  it(
    "a hint older than the hint window whose target is still down goes to the key's other replicas (the write's only copy is not dropped)",
    // Anti-entropy off: only the hint can bring the version to the replica that lacks it.
    onCluster({ ...base, handoff: { windowMs: 10_000 }, antiEntropy: false }, async (c) => {
      const key = keyAvoiding(c, 'n1');
      const [first, second, third] = primariesOf(c, key);
      await c.crash(second!);
      await c.crash(third!);
      await c.runFor(20_000);
      c.watch('handed to other replicas');
      await c.put('n1', key, 'v', { consistency: 'ALL' }); // the first primary, and hints for the other two
      // The first primary loses its disk: the hints are the version's only copies, and their targets stay down.
      await c.crash(first!);
      await c.wipe(first!);
      await c.restart(first!);
      await c.runFor(40_000);
      expect(c.watched('handed to other replicas'), 'expired hints handed to another replica').to.be.greaterThan(0);
      expect(await storedText(c, first!, key), 'the only up primary took the expired hints').to.deep.equal(['v']);
      expect(await hintsHeld(c), 'nothing held once a replica took it').to.deep.equal({});
      for (const id of c.ids) if (c.isUp(id)) expect((await c.node(id).admin.status()).hints!.dropped, id).to.equal(0);
    }),
  );

  it(
    'a hint no replica took within twice the hint window is dropped and counted; the store stays bounded',
    // Anti-entropy off: it would repair the key before the check that the hint was not handed over.
    onCluster({ ...base, handoff: { windowMs: 10_000 }, antiEntropy: false }, async (c) => {
      const key = keyAvoiding(c, 'n1');
      const primaries = primariesOf(c, key);
      for (const p of primaries) await c.crash(p);
      await c.runFor(20_000);
      await c.put('n1', key, 'v', { consistency: 'ANY' });
      const holders = Object.keys(await hintsHeld(c));
      expect(holders.length).to.be.greaterThan(0);
      await c.runFor(45_000);
      expect(await hintsHeld(c)).to.deep.equal({});
      let dropped = 0;
      for (const h of holders) dropped += (await c.node(h).admin.status()).hints!.dropped;
      expect(dropped, 'every hint dropped once past twice the window').to.be.greaterThan(0);
      for (const p of primaries) await c.restart(p);
      await c.runFor(3000);
      for (const p of primaries) expect(await c.storedValues(p, key), 'not handed over (anti-entropy, off here, repairs what other replicas hold)').to.deep.equal([]);
    }),
  );

  it(
    'a delete whose context names a version only hints hold covers it: once the hints are delivered the value stays deleted (swarm seeds 598, 1092)',
    // N=1: with no other replica to catch up from, the replica used to clamp the
    // hint-only version out of the delete's context as "never issued".
    onCluster({ nodes: 4, replicas: 1, partitionCount: base.partitionCount, antiEntropy: false }, async (c) => {
      const key = keyAvoiding(c, 'n1');
      const [owner] = primariesOf(c, key);
      await c.crash(owner!);
      await c.runFor(20_000);
      await c.put('n1', key, 'v', { consistency: 'ANY' }); // minted by n1 as a fallback; only hints hold it
      const read = await c.get('n1', key, { consistency: 'ONE' });
      expect(texts(read.values)).to.deep.equal(['v']);
      const holders = Object.keys(await hintsHeld(c));
      expect(holders.length).to.be.greaterThan(0);
      // The owner returns cut off from the hint holders: they cannot deliver, it cannot ask them.
      c.partition([owner!], c.ids.filter((id) => id !== owner));
      await c.run(c.startLife(owner!));
      await c.waitReady([owner!]);
      const first = await c.delete(owner!, key, { consistency: 'ONE', context: read.context }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Refused (it cannot tell the version apart from one only hints hold) — or, if accepted, it must hold below.
      if (first !== undefined) expect(first).to.be.instanceOf(UnavailableError);
      c.heal();
      await c.runFor(10_000); // the hints are delivered
      expect(await hintsHeld(c)).to.deep.equal({});
      if (first !== undefined) await c.delete(owner!, key, { consistency: 'ONE', context: read.context });
      expect(texts((await c.get(owner!, key, { consistency: 'ONE' })).values), 'the deleted value does not come back').to.deep.equal([]);
    }),
  );

  it(
    'reads while replicas are down use stand-ins (sloppy) or fail (strict); read repair never writes to a stand-in',
    onCluster(base, async (c) => {
      const key = keyAvoiding(c, 'n1');
      const primaries = primariesOf(c, key);
      await c.put('n1', key, 'before', { consistency: 'ALL' });
      await c.crash(primaries[1]!);
      await c.crash(primaries[2]!);
      await c.runFor(20_000);
      await c.put('n1', key, 'during', { consistency: 'QUORUM', context: (await c.get('n1', key, { consistency: 'ONE' })).context });
      const sloppy = await c.get('n1', key, { consistency: 'QUORUM' });
      expect(texts(sloppy.values)).to.deep.equal(['during']);
      const strict = await rejectionOf(c.get('n1', key, { consistency: 'QUORUM', strict: true }));
      expect((strict as UnavailableError).message).to.equal('QUORUM read failed: 1 of 3 replicas are up, 2 needed');
      await c.settle();
      for (const id of c.ids.filter((n) => !primaries.includes(n) && c.isUp(n))) {
        expect(await c.storedValues(id, key), `${id} holds no copy as its own data`).to.deep.equal([]);
      }
    }),
  );

  it(
    'a node with --hinted-handoff false neither keeps hints nor uses fallbacks: its requests are strict',
    onCluster({ ...base, handoff: { enabled: false } }, async (c) => {
      const key = keyAvoiding(c, 'n1');
      await c.crash(primariesOf(c, key)[2]!);
      await c.runFor(20_000);
      const e = await rejectionOf(c.put('n1', key, 'v', { consistency: 'ALL' }));
      expect((e as UnavailableError).message).to.equal('ALL write failed: 2 of 3 replicas are up, 3 needed');
      expect((await c.node('n1').admin.status()).hints).to.deep.equal({ enabled: false, stored: 0, delivered: 0, dropped: 0, pending: [] });
    }),
  );
});
