/**
 * Scripted scenarios for ring changes (issue 7) under the history checker's
 * promise: a join, a decommission or a removal never loses an acknowledged
 * write, interrupted transfers resume, and an operator is not told a change
 * happened before it is committed. Seeds the swarm found stuck or unsafe are
 * turned into scenarios here.
 */
import { expect } from 'chai';
import { partitionOf } from '../../../lib/ring/index.ts';
import type { SimCluster } from '../../../lib/sim/index.ts';
import type { NodeStatus } from '../../../lib/protocol/index.ts';
import { DynamoError } from '../../../lib/runtime/index.ts';
import { onCluster, rejectionOf, texts } from '../helpers.ts';

const utf8 = new TextEncoder();

/** Write `count` keys at ALL through rotating coordinators; returns key → value. */
async function writeKeys(c: SimCluster, count: number, prefix = 'k'): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  const via = c.ids.filter((id) => c.isUp(id));
  for (let i = 0; i < count; i++) {
    const key = `${prefix}${i}`;
    await c.put(via[i % via.length]!, key, `v-${key}`, { consistency: 'ALL' });
    written.set(key, `v-${key}`);
  }
  return written;
}

/**
 * Every key's value is stored on every replica the settled ring names for it
 * (read straight from each replica's storage, not through a quorum that could
 * hide a missing copy).
 */
async function expectPlaced(c: SimCluster, written: Map<string, string>, partitionCount: number): Promise<void> {
  const view = c.node(c.ids.find((id) => c.isUp(id) && c.node(id).departed === undefined)!).membershipView()!;
  const missing: string[] = [];
  for (const [key, value] of written) {
    const replicas = view.replicas(partitionOf(utf8.encode(key), partitionCount)).reads;
    for (const id of replicas) {
      const stored = (await c.storedValues(id, key)).map((v) => new TextDecoder().decode(v.data));
      if (!stored.includes(value)) missing.push(`${key}@${id}`);
    }
  }
  expect(missing, 'copies missing from their replicas').to.deep.equal([]);
}

/** Run until `id` reports an incoming transfer that has received some keys but is not done. */
async function untilMidTransfer(c: SimCluster, id: string): Promise<void> {
  let status: NodeStatus | undefined;
  await c.scheduler.runUntil(() => {
    void c.node(id).admin.status().then((s) => (status = s));
    return status?.transfers?.some((t) => t.direction === 'in' && t.state === 'streaming' && t.keys > 0) ?? false;
  });
}

const small = { nodes: 3, replicas: 2, partitionCount: 8, transfers: { chunkBytesMax: 256, drainMs: 500 } } as const;

describe('sim/scenarios: ring changes lose no acknowledged write', () => {
  it(
    'a node joins while clients write: afterwards every key is on each replica of the new ring',
    onCluster({ nodes: 3, replicas: 3, partitionCount: 16 }, async (c) => {
      const before = await writeKeys(c, 40);
      const joining = c.startNewNode();
      // Writes while the ring changes, each routed by whichever ring its coordinator holds; kept only if acknowledged.
      const during = new Map<string, string>();
      const writes = Array.from({ length: 40 }, async (_, i) => {
        const key = `d${i}`;
        await new Promise<void>((resolve) => c.scheduler.schedule(i * 150, resolve));
        const ok = await c
          .clientCall(`n${1 + (i % 3)}`, 2000, (kv) => kv.put({ key: utf8.encode(key), value: utf8.encode(`v-${key}`), context: new Uint8Array(0), consistency: 'ALL', timeoutMs: 2000 }))
          .then(() => true, () => false);
        if (ok) during.set(key, `v-${key}`);
      });
      await c.run(Promise.all([joining.started, ...writes]));
      await c.waitRingSettled();
      expect(during.size, 'writes acknowledged during the join').to.be.greaterThan(20);
      const written = new Map([...before, ...during]);
      expect(c.node('n1').membershipView()!.ringState!.members).to.deep.equal(['n1', 'n2', 'n3', 'n4']);
      await expectPlaced(c, written, 16);
      const owned = (await c.run(c.node('n4').admin.status())).members.find((m) => m.id === 'n4')!.partitionsOwned;
      expect(owned, 'the new node owns a share of the partitions').to.be.greaterThan(0);
    }),
  );

  it(
    'a decommissioned node hands its partitions over before it leaves, and then refuses requests',
    onCluster({ nodes: 4, replicas: 3, partitionCount: 16 }, async (c) => {
      const written = await writeKeys(c, 60);
      await c.decommission('n2');
      await c.waitRingSettled();
      expect(c.node('n1').membershipView()!.ringState!.members).to.deep.equal(['n1', 'n3', 'n4']);
      await expectPlaced(c, written, 16);
      const refused = await rejectionOf(c.get('n2', 'k1'));
      expect(refused).to.be.instanceOf(DynamoError);
      for (const [key, value] of written) expect(texts((await c.get('n3', key, { consistency: 'ALL' })).values)).to.deep.equal([value]);
    }),
  );

  it(
    "a crashed node is removed: its partitions are rebuilt from the surviving replicas onto the new owners",
    onCluster({ nodes: 4, replicas: 3, partitionCount: 16 }, async (c) => {
      const written = await writeKeys(c, 60);
      await c.crash('n3');
      await c.removeNode('n3', 'n1');
      await c.waitRingSettled();
      expect(c.node('n1').membershipView()!.ringState!.members).to.deep.equal(['n1', 'n2', 'n4']);
      await expectPlaced(c, written, 16);
    }),
  );
});

describe('sim/scenarios: interrupted ring changes', () => {
  it(
    'the joining node crashes mid-transfer: restarted, it resumes and ends with every key',
    onCluster(small, async (c) => {
      const written = await writeKeys(c, 120);
      const joining = c.startNewNode();
      await c.run(joining.started);
      await untilMidTransfer(c, joining.id);
      await c.crash(joining.id, { pendingWrites: 'random' });
      await c.runFor(2000);
      await c.restart(joining.id);
      await c.waitRingSettled();
      await expectPlaced(c, written, 8);
    }),
  );

  it(
    "a transfer's source crashes mid-stream: the gainer waits for it (or another holder) and completes",
    onCluster(small, async (c) => {
      const written = await writeKeys(c, 120);
      const joining = c.startNewNode();
      await c.run(joining.started);
      await untilMidTransfer(c, joining.id);
      const streaming = (await c.run(c.node(joining.id).admin.status())).transfers?.find((t) => t.direction === 'in' && t.state === 'streaming');
      const source = streaming!.peer;
      await c.crash(source);
      await c.runFor(3000);
      await c.restart(source);
      await c.waitRingSettled();
      await expectPlaced(c, written, 8);
    }),
  );

  it(
    'a removal accepted by a node that crashes before the claimant commits it is not acknowledged; asked again, it is done (swarm seed 124)',
    onCluster({ nodes: 5, replicas: 2, partitionCount: 16 }, async (c) => {
      const written = await writeKeys(c, 40);
      await c.crash('n5');
      await c.runFor(20_000); // n5 dead everywhere
      // n2 is not the claimant (n1 is): the request waits in n2's memory for
      // its forward to the claimant; n2 dies before that reaches it.
      c.partition(['n2'], ['n1', 'n3', 'n4']);
      const asked = c.adminCall('n2', 60_000, (admin) => admin.remove('n5'));
      await c.runFor(500);
      await c.crash('n2');
      const lost = await c.run(rejectionOf(asked));
      expect(lost, 'the caller learns the removal was not committed').to.be.instanceOf(DynamoError);
      expect(c.node('n1').membershipView()!.ringState!.members).to.include('n5');
      c.heal();
      await c.restart('n2');
      await c.removeNode('n5', 'n3');
      await c.waitRingSettled();
      expect(c.node('n1').membershipView()!.ringState!.members).to.deep.equal(['n1', 'n2', 'n3', 'n4']);
      await expectPlaced(c, written, 16);
      // Asked again (a caller whose first call timed out after the commit): done, not "not part of the ring".
      await c.run(c.adminCall('n1', 60_000, (admin) => admin.remove('n5')));
      const never = await c.run(rejectionOf(c.adminCall('n1', 60_000, (admin) => admin.remove('n9'))));
      expect((never as Error).message).to.match(/n9 is not part of the ring/);
    }),
  );
  it(
    'a node restored from a backup twice within one second gets a new generation each life and is seen up again (swarm seeds 1053, 1303)',
    onCluster({ nodes: 3, replicas: 3, partitionCount: 8 }, async (c) => {
      const generationOf = async (id: string, via = 'n1'): Promise<number> =>
        (await c.run(c.node(via).admin.status())).members.find((m) => m.id === id)!.generation!;
      const backup = c.snapshotDisk('n2');
      const before = await generationOf('n2');
      // Both lives start within the same wall-clock second, from the same restored counter.
      await c.runFor(1000 - (c.scheduler.nowMs % 1000) + 100);
      await c.crash('n2');
      await c.restoreDisk('n2', backup);
      await c.run(c.startLife('n2'));
      await c.runFor(150);
      const firstLife = await generationOf('n2', 'n2');
      await c.crash('n2');
      await c.restoreDisk('n2', backup);
      await c.runFor(100);
      expect(c.scheduler.nowMs % 1000, 'still the same second').to.be.greaterThan(300);
      await c.restart('n2'); // waits until every node is ready and believes every other up
      const secondLife = await generationOf('n2', 'n2');
      expect(secondLife).to.be.greaterThan(firstLife);
      expect(await generationOf('n2')).to.equal(secondLife);
      expect(secondLife).to.be.greaterThan(before);
      expect(c.node('n1').membershipView()!.isUp('n2')).to.equal(true);
    }),
  );
});
