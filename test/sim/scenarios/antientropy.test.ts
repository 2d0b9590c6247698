/**
 * Merkle-tree anti-entropy on whole simulated clusters (issue 9): replicas
 * that diverged while nobody read converge by exchanges alone (read repair
 * off), concurrent versions become siblings everywhere, trees stay equal to a
 * rebuild from storage through restarts, failed writes and rotten records,
 * tombstones are purged only once every replica holds them, and a deleted
 * key does not come back — not even from a replica that was down with the
 * old value all along.
 */
import { expect } from 'chai';
import { TictacTree, treeShapeOf, versionDigest } from '../../../lib/antientropy/index.ts';
import { decodeRecord } from '../../../lib/storage/index.ts';
import { partitionOf } from '../../../lib/ring/index.ts';
import { simAntiEntropyConfig, type SimCluster, type SimClusterOptions } from '../../../lib/sim/index.ts';
import { onCluster, rejectionOf, texts } from '../helpers.ts';

const PARTITIONS = 16;
const base: SimClusterOptions = { nodes: 3, replicas: 3, partitionCount: PARTITIONS, readRepair: false };
const utf8 = new TextEncoder();
const SHAPE = treeShapeOf(simAntiEntropyConfig());

/** The root of `id`'s tree of `partition`, asked through its peer handler as a peer's exchange would (undefined: not ready). */
async function rootOf(c: SimCluster, id: string, partition: number): Promise<bigint | undefined> {
  const ringVersion = c.node(id).membershipView()?.ringVersion ?? 0;
  try {
    const reply = await c.run(c.node(id).peer({ type: 'tree', from: id, partition, ringVersion, call: { op: 'root' } }, 1000));
    return reply.type === 'tree' && reply.answer.op === 'root' ? reply.answer.hash : undefined;
  } catch {
    return undefined;
  }
}

/** The root a tree rebuilt from `id`'s storage would have now (a record that does not decode counts as absent, as in the node's rebuild). */
async function rebuiltRoot(c: SimCluster, id: string, partition: number): Promise<bigint> {
  const entries: { key: Uint8Array; digest: bigint }[] = [];
  await c.run(
    (async () => {
      for await (const r of c.storage(id).iteratePartition(partition)) {
        try {
          entries.push({ key: r.key, digest: versionDigest(decodeRecord(r.record)) });
        } catch {
          // rotten: the node lists it as absent until it is set aside
        }
      }
    })(),
  );
  return TictacTree.build(SHAPE, entries).root();
}

/** Every partition: each of `ids` has a ready tree, all equal, and equal to a rebuild from its own storage. */
async function treesAgree(c: SimCluster, ids: readonly string[]): Promise<boolean> {
  for (let p = 0; p < PARTITIONS; p++) {
    const roots = new Set<bigint | undefined>();
    for (const id of ids) {
      const root = await rootOf(c, id, p);
      if (root === undefined || root !== (await rebuiltRoot(c, id, p))) return false;
      roots.add(root);
    }
    if (roots.size !== 1) return false;
  }
  return true;
}

/** Run until the trees agree (checked every 250 virtual ms); the virtual ms it took. Fails past `boundMs`. */
async function runUntilTreesAgree(c: SimCluster, ids: readonly string[], boundMs: number): Promise<number> {
  const start = c.scheduler.nowMs;
  while (!(await treesAgree(c, ids))) {
    expect(c.scheduler.nowMs - start, 'trees still differ').to.be.lessThan(boundMs);
    await c.runFor(250);
  }
  return c.scheduler.nowMs - start;
}

/** Version digest of what `id` stores for `key` (0: nothing). */
async function storedDigest(c: SimCluster, id: string, key: string): Promise<bigint> {
  const o = await c.stored(id, key);
  return o === undefined ? 0n : versionDigest(o);
}

async function liveValues(c: SimCluster, id: string, key: string): Promise<string[]> {
  return texts((await c.storedValues(id, key)).filter((v) => !v.tombstone).map((v) => v.data));
}

describe('sim/scenarios: anti-entropy', () => {
  it(
    'a replica that missed writes and deletes while down converges with nobody reading; concurrent writes on two sides become siblings',
    onCluster(base, async (c) => {
      for (let i = 0; i < 20; i++) await c.put('n1', `old${i}`, `o${i}`, { consistency: 'ALL' });
      await c.crash('n3');
      for (let i = 0; i < 60; i++) await c.put('n1', `k${i}`, `v${i}`, { consistency: 'QUORUM' });
      for (let i = 0; i < 10; i++) {
        const got = await c.get('n2', `old${i}`, { consistency: 'QUORUM' });
        await c.delete('n2', `old${i}`, { consistency: 'QUORUM', context: got.context });
      }
      await c.restart('n3');
      // n3 alone writes one version of `split`, n1 and n2 another, each unseen by the other side.
      c.partition(['n3'], ['n1', 'n2']);
      await c.put('n3', 'split', 'from-n3', { consistency: 'ONE' });
      await c.put('n1', 'split', 'from-n1', { consistency: 'QUORUM' });
      c.heal();
      const tookMs = await runUntilTreesAgree(c, ['n1', 'n2', 'n3'], 30_000);
      expect(tookMs).to.be.lessThan(30_000);
      for (let i = 0; i < 60; i++) expect(await liveValues(c, 'n3', `k${i}`), `k${i}`).to.deep.equal([`v${i}`]);
      for (let i = 0; i < 20; i++) {
        const values = await c.storedValues('n3', `old${i}`);
        if (i < 10) expect(values.length > 0 && values.every((v) => v.tombstone), `old${i} is a tombstone on n3`).to.equal(true);
        else expect(texts(values.map((v) => v.data)), `old${i}`).to.deep.equal([`o${i}`]);
      }
      for (const id of ['n1', 'n2', 'n3']) expect(await liveValues(c, id, 'split'), id).to.deep.equal(['from-n1', 'from-n3']);
      for (const key of ['k0', 'old0', 'split']) {
        const d = await storedDigest(c, 'n1', key);
        expect(await storedDigest(c, 'n2', key)).to.equal(d);
        expect(await storedDigest(c, 'n3', key)).to.equal(d);
      }
      // Nothing was read: every key reached n3 through exchanges (whichever side started them).
      let repaired = 0;
      for (const id of ['n1', 'n2', 'n3']) {
        const s = await c.node(id).admin.status();
        expect(s.antiEntropy!.treesReady, id).to.equal(PARTITIONS);
        expect(s.safety?.dotConflicts, id).to.equal(0);
        expect(s.readRepairs, id).to.equal(0);
        repaired += s.antiEntropy!.keysPulled + s.antiEntropy!.keysPushed;
      }
      expect(repaired, 'keys moved by exchanges').to.be.at.least(60 + 10 + 2);
    }),
  );

  it(
    'tombstones are purged once every replica holds them; none is purged while a replica with the old value is down, and it never comes back',
    onCluster(
      {
        ...base,
        antiEntropy: { tombstoneGraceMs: 3000, exchangeTimeoutMs: 1000, tombstoneSettleMs: 1000, tombstoneHoldingMaxAgeMs: 10_000, purgedMemoMs: 30_000 },
      },
      async (c) => {
        for (let i = 0; i < 8; i++) await c.put('n1', `k${i}`, `v${i}`, { consistency: 'ALL' });
        await c.crash('n3'); // keeps the old values
        for (let i = 0; i < 4; i++) {
          const got = await c.get('n1', `k${i}`, { consistency: 'QUORUM' });
          await c.delete('n1', `k${i}`, { consistency: 'QUORUM', context: got.context });
        }
        // Far past the grace period: n1 and n2 hold the tombstones, but n3 is not known to — nothing is purged.
        await c.runFor(20_000);
        for (const id of ['n1', 'n2']) {
          expect((await c.storedValues(id, 'k0')).every((v) => v.tombstone), `${id} keeps the tombstone`).to.equal(true);
          expect((await c.node(id).admin.status()).antiEntropy!.tombstonesPurged, id).to.equal(0);
        }
        expect(await liveValues(c, 'n3', 'k0'), 'n3 still holds the deleted value on disk').to.deep.equal(['v0']);

        // n3 comes back with the old values: exchanges hand it the tombstones, then every replica purges.
        await c.restart('n3');
        const start = c.scheduler.nowMs;
        const purgedEverywhere = async (): Promise<boolean> => {
          for (const id of ['n1', 'n2', 'n3']) for (let i = 0; i < 4; i++) if ((await c.stored(id, `k${i}`)) !== undefined) return false;
          return true;
        };
        while (!(await purgedEverywhere())) {
          expect(c.scheduler.nowMs - start, 'tombstones not purged everywhere').to.be.lessThan(60_000);
          await c.runFor(500);
        }
        for (const id of ['n1', 'n2', 'n3']) expect((await c.node(id).admin.status()).antiEntropy!.tombstonesPurged, id).to.equal(4);
        // The live keys are untouched, and the deleted ones read as absent.
        for (let i = 4; i < 8; i++) expect(texts((await c.get('n2', `k${i}`, { consistency: 'ALL' })).values)).to.deep.equal([`v${i}`]);
        // n3 restarts after the purge (its disk kept): nothing it held before comes back, on any replica.
        await c.crash('n3');
        await c.restart('n3');
        await runUntilTreesAgree(c, ['n1', 'n2', 'n3'], 30_000);
        await c.runFor(5000);
        for (let i = 0; i < 4; i++) {
          expect((await c.get('n3', `k${i}`, { consistency: 'ALL' })).values, `k${i}`).to.deep.equal([]);
          for (const id of ['n1', 'n2', 'n3']) expect(await c.stored(id, `k${i}`), `${id} k${i}`).to.equal(undefined);
        }
        // A key deleted and purged can be written again as a new key.
        await c.put('n1', 'k0', 'again', { consistency: 'ALL' });
        expect(texts((await c.get('n3', 'k0', { consistency: 'ALL' })).values)).to.deep.equal(['again']);
      },
    ),
  );

  it(
    'no tombstone is purged while a member that holds a hint of the deleted value is down; back, its hint does not bring the value back',
    onCluster(
      {
        nodes: 5,
        replicas: 3,
        partitionCount: PARTITIONS,
        readRepair: false,
        antiEntropy: { tombstoneGraceMs: 3000, exchangeTimeoutMs: 1000, tombstoneSettleMs: 1000, tombstoneHoldingMaxAgeMs: 10_000, purgedMemoMs: 30_000 },
      },
      async (c) => {
        // A key n1 does not replicate; one of its replicas is down when it is written, so a fallback keeps a hint.
        const view = c.node('n1').membershipView()!;
        let key = '';
        for (let i = 0; key === ''; i++) if (!view.replicas(partitionOf(utf8.encode(`h${i}`), PARTITIONS)).reads.includes('n1')) key = `h${i}`;
        const replicas = [...view.replicas(partitionOf(utf8.encode(key), PARTITIONS)).reads];
        const down = replicas[2]!;
        await c.crash(down);
        await c.runFor(20_000); // known dead everywhere
        await c.put('n1', key, 'old', { consistency: 'ALL' });
        const holder = c.ids.find((id) => c.isUp(id) && c.node(id).hintsHeld > 0)!;
        expect(holder, 'a fallback holds a hint').to.not.equal(undefined);
        // The hint holder goes down with its hint; the replica comes back and the key is deleted everywhere.
        await c.crash(holder);
        await c.restart(down);
        await c.runFor(5000);
        const got = await c.get('n1', key, { consistency: 'ALL' });
        expect(texts(got.values)).to.deep.equal(['old']);
        await c.delete('n1', key, { consistency: 'ALL', context: got.context });
        // Far past the grace period, every replica holds the tombstone; the hint holder cannot say it holds no hint.
        await c.runFor(30_000);
        for (const id of replicas) {
          expect((await c.storedValues(id, key)).map((v) => v.tombstone), `${id} keeps the tombstone`).to.deep.equal([true]);
        }
        // The holder is back and delivers its hint: the tombstone covers it, the key stays deleted; then it is purged.
        await c.restart(holder);
        await c.runFor(30_000);
        expect(c.node(holder).hintsHeld, 'the hint was delivered').to.equal(0);
        expect((await c.get('n1', key, { consistency: 'ALL' })).values, 'the deleted value is not back').to.deep.equal([]);
        for (const id of replicas) expect(await c.stored(id, key), `${id} purged the tombstone`).to.equal(undefined);
      },
    ),
  );

  it(
    'with hinted handoff off, nodes answer the census that they hold no hints, so tombstones are still purged',
    onCluster(
      {
        ...base,
        handoff: { enabled: false },
        antiEntropy: { tombstoneGraceMs: 3000, exchangeTimeoutMs: 1000, tombstoneSettleMs: 1000, tombstoneHoldingMaxAgeMs: 10_000, purgedMemoMs: 30_000 },
      },
      async (c) => {
        await c.put('n1', 'gone', 'v', { consistency: 'ALL' });
        await c.delete('n1', 'gone', { consistency: 'ALL', context: (await c.get('n1', 'gone', { consistency: 'ALL' })).context });
        await c.runFor(30_000);
        for (const id of ['n1', 'n2', 'n3']) {
          expect(await c.stored(id, 'gone'), `${id} purged the tombstone`).to.equal(undefined);
          expect((await c.node(id).admin.status()).antiEntropy!.tombstonesPurged, id).to.equal(1);
        }
      },
    ),
  );

  it(
    'a restart in the middle of an exchange is harmless: crashes of either side mid-repair, then convergence',
    onCluster({ ...base, antiEntropy: { keysPerCallMax: 4, callBytesMax: 1024, keysPerExchangeMax: 16 } }, async (c) => {
      await c.crash('n3');
      for (let i = 0; i < 120; i++) await c.put('n1', `k${i}`, `value-${i}`, { consistency: 'QUORUM' });
      await c.restart('n3');
      // Exchanges repair at most 16 keys each, 4 per call: after a moment, n3 is part-way through.
      await c.runFor(150);
      let have = 0;
      for (let i = 0; i < 120; i++) if ((await c.stored('n3', `k${i}`)) !== undefined) have++;
      expect(have, 'n3 is repaired part-way').to.be.greaterThan(0).and.lessThan(120);
      await c.crash('n1'); // an initiator or a peer of n3's exchanges in flight
      await c.runFor(40);
      await c.crash('n3');
      await c.restart('n3');
      await c.restart('n1');
      await runUntilTreesAgree(c, ['n1', 'n2', 'n3'], 30_000);
      for (let i = 0; i < 120; i++) expect(await liveValues(c, 'n3', `k${i}`), `k${i}`).to.deep.equal([`value-${i}`]);
      for (const id of ['n1', 'n2', 'n3']) expect((await c.node(id).admin.status()).safety?.dotConflicts, id).to.equal(0);
    }),
  );

  it(
    'trees saved at a clean stop are loaded at start (ready at once) and still match storage; after a crash they are rebuilt',
    onCluster(base, async (c) => {
      for (let i = 0; i < 40; i++) await c.put('n1', `k${i}`, `v${i}`, { consistency: 'ALL' });
      await runUntilTreesAgree(c, ['n1', 'n2', 'n3'], 10_000);
      await c.shutdown('n2');
      await c.put('n1', 'while-n2-down', 'x', { consistency: 'QUORUM' });
      await c.run(c.startLife('n2'));
      c.watch('rebuilding a partition tree');
      // Loaded, not rebuilt: every tree is ready before the node has served anything.
      expect((await c.node('n2').admin.status()).antiEntropy!.treesReady).to.equal(PARTITIONS);
      expect(c.transcript.some((l) => l.includes('loaded the trees saved at the last clean stop') && l.includes('"partitions":16'))).to.equal(true);
      await c.waitConverged();
      await runUntilTreesAgree(c, ['n1', 'n2', 'n3'], 10_000);
      expect(await liveValues(c, 'n2', 'while-n2-down')).to.deep.equal(['x']);
      await c.crash('n2');
      await c.run(c.startLife('n2'));
      expect((await c.node('n2').admin.status()).antiEntropy!.treesReady, 'after a crash nothing is trusted').to.equal(0);
      await c.waitConverged();
      await runUntilTreesAgree(c, ['n1', 'n2', 'n3'], 10_000);
    }),
  );

  it(
    'a failed write (outcome unknown) makes the tree rebuilt; a record that rots is found by the periodic rebuild; the replicas converge',
    onCluster({ ...base, antiEntropy: { treeRebuildIntervalMs: 3000 } }, async (c) => {
      for (let i = 0; i < 30; i++) await c.put('n1', `k${i}`, `v${i}`, { consistency: 'ALL' });
      c.watch('rebuilding a partition tree');
      c.disk('n2').failWrites({ kind: 'EIO', rate: 1 });
      await c.put('n1', 'k0', 'lost-on-n2', { consistency: 'QUORUM', context: (await c.get('n1', 'k0')).context });
      await c.runFor(100); // n2's copy of the write fails meanwhile
      c.disk('n2').failWrites(undefined);
      expect(c.watched('rebuilding a partition tree')).to.be.greaterThan(0);
      expect(await c.run(c.disk('n3').corruptRandomRecord())).to.equal(true);
      await runUntilTreesAgree(c, ['n1', 'n2', 'n3'], 20_000);
      expect(await liveValues(c, 'n2', 'k0')).to.deep.equal(['lost-on-n2']);
      for (let i = 1; i < 30; i++) expect(await liveValues(c, 'n3', `k${i}`), `k${i}`).to.deep.equal([`v${i}`]);
    }),
  );

  it(
    'an on-demand repair of one partition exchanges it with every other replica and reports what it did',
    onCluster({ ...base, antiEntropy: { exchangeIntervalMs: 3_600_000 } }, async (c) => {
      // Periodic exchanges practically off: only the repair moves data.
      await c.crash('n3');
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
      for (const k of keys) await c.put('n1', k, `v-${k}`, { consistency: 'QUORUM' });
      await c.restart('n3');
      // n3's scheduler ran one exchange at its start: take a partition it has none of the keys of.
      const partitionOfKey = (k: string): number => partitionOf(utf8.encode(k), PARTITIONS);
      let partition = -1;
      for (const k of keys) {
        const p = partitionOfKey(k);
        const ks = keys.filter((x) => partitionOfKey(x) === p);
        let none = ks.length >= 2;
        for (const x of ks) if ((await c.stored('n3', x)) !== undefined) none = false;
        if (none) {
          partition = p;
          break;
        }
      }
      expect(partition, 'a partition n3 misses every key of').to.be.at.least(0);
      const inPartition = keys.filter((k) => partitionOfKey(k) === partition);
      const started = await c.run(c.node('n3').admin.repair(partition));
      expect(started).to.include({ state: 'running', partition, partitionsTotal: 1 });
      await c.runFor(2000);
      const done = (await c.node('n3').admin.status()).antiEntropy!.repair!;
      expect(done).to.include({ id: started.id, state: 'done', partitionsTotal: 1, partitionsDone: 1, skipped: 0, keysPulled: inPartition.length });
      expect(done.exchanges).to.be.at.least(2);
      for (const k of inPartition) expect(await liveValues(c, 'n3', k), k).to.deep.equal([`v-${k}`]);
      // A partition n3 does not replicate is refused; so is another repair while one runs.
      const refused = await c.run(c.node('n3').admin.repair(PARTITIONS + 3)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((refused as Error).message).to.match(/partition must be an integer/);
      const all = await c.run(c.node('n3').admin.repair());
      expect(all.partitionsTotal).to.equal(PARTITIONS);
      await c.runFor(5000);
      const full = (await c.node('n3').admin.status()).antiEntropy!.repair!;
      expect(full).to.include({ state: 'done', partitionsDone: PARTITIONS, skipped: 0 });
      for (const k of keys) expect(await liveValues(c, 'n3', k), k).to.deep.equal([`v-${k}`]);
    }),
  );

  it(
    'an on-demand repair waits for a peer that is only suspected (it refutes) instead of skipping it',
    onCluster({ ...base, antiEntropy: { exchangeIntervalMs: 3_600_000 } }, async (c) => {
      // Cut n1 off until n3 suspects it, start a repair on n3, then heal: n1 refutes and the pair runs.
      c.partition(['n1'], ['n2', 'n3']);
      let waitedMs = 0;
      while (c.node('n3').membershipView()!.liveness('n1') !== 'suspect') {
        expect(waitedMs, 'n3 suspects n1 within 10 s').to.be.lessThan(10_000);
        await c.runFor(100);
        waitedMs += 100;
      }
      const started = await c.run(c.node('n3').admin.repair(3));
      await c.runFor(200);
      expect((await c.node('n3').admin.status()).antiEntropy!.repair).to.include({ id: started.id, state: 'running', skipped: 0 });
      c.heal();
      await c.runFor(15_000);
      expect(c.node('n3').membershipView()!.isUp('n1'), 'n1 refuted the suspicion').to.equal(true);
      const done = (await c.node('n3').admin.status()).antiEntropy!.repair!;
      expect(done).to.include({ id: started.id, state: 'done', partitionsDone: 1, skipped: 0 });
      expect(done.exchanges).to.be.at.least(2);
    }),
  );

  it(
    'exchange calls are refused under another ring version, between nodes that do not both replicate the partition, or from a node believed down',
    onCluster({ ...base, nodes: 4, replicas: 2 }, async (c) => {
      const view = c.node('n1').membershipView()!;
      const partition = [...Array(PARTITIONS).keys()].find((p) => view.replicas(p).reads[0] === 'n1')!;
      const [, peer] = view.replicas(partition).reads;
      const outsider = ['n2', 'n3', 'n4'].find((id) => !view.replicas(partition).reads.includes(id))!;
      const call = (from: string, ringVersion = view.ringVersion) =>
        c.run(c.node('n1').peer({ type: 'tree', from, partition, ringVersion, call: { op: 'root' } }, 1000));
      expect((await call(peer!)).type).to.equal('tree');
      expect(((await rejectionOf(call(peer!, view.ringVersion + 1))) as Error).message).to.match(/runs under ring version \d+; n1 holds version \d+/);
      expect(((await rejectionOf(call(outsider))) as Error).message).to.match(/are not both replicas of partition/);
      await c.crash(peer!);
      await c.runFor(5000);
      expect(c.node('n1').membershipView()!.isUp(peer!)).to.equal(false);
      expect(((await rejectionOf(call(peer!))) as Error).message).to.match(/n1 believes .* down/);
    }),
  );

  it(
    'with anti-entropy off a node keeps no trees, refuses exchange calls and repairs, and still serves',
    onCluster({ ...base, antiEntropy: false }, async (c) => {
      await c.put('n1', 'k', 'v', { consistency: 'ALL' });
      const ae = (await c.node('n2').admin.status()).antiEntropy!;
      expect(ae).to.include({ enabled: false, treesReady: 0, exchanges: 0 });
      const ringVersion = c.node('n2').membershipView()!.ringVersion;
      const refused = await rejectionOf(c.run(c.node('n2').peer({ type: 'tree', from: 'n1', partition: 0, ringVersion, call: { op: 'root' } }, 1000)));
      expect((refused as Error).message).to.match(/anti-entropy is off on n2/);
      expect(((await rejectionOf(c.run(c.node('n2').admin.repair()))) as Error).message).to.match(/anti-entropy is off on n2/);
      expect(texts((await c.get('n3', 'k', { consistency: 'ALL' })).values)).to.deep.equal(['v']);
    }),
  );
});
