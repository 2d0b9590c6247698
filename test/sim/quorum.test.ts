import { expect } from 'chai';
import { CONSISTENCY_LEVELS } from '../../lib/protocol/index.ts';
import { InvalidArgumentError, TimeoutError, UnavailableError } from '../../lib/runtime/index.ts';
import { onCluster, rejectionOf, texts } from './helpers.ts';

const base = { nodes: 3, replicas: 3, partitionCount: 64 } as const;
const utf8 = new TextDecoder();
const utf8e = new TextEncoder();

describe('sim/quorum scenarios (3 nodes, N=3)', () => {
  it(
    'every consistency level round-trips through every coordinator (ANY for writes only)',
    onCluster(base, async (c) => {
      const levels = CONSISTENCY_LEVELS.filter((l) => l !== 'ANY');
      for (const level of levels) {
        for (const via of c.ids) {
          const key = `k-${level}-${via}`;
          const put = await c.put(via, key, `v-${level}`, { consistency: level });
          expect(put.context.length, `${level} via ${via}: put context`).to.be.greaterThan(0);
          // A write acknowledged by fewer than all replicas keeps replicating after the reply.
          await c.settle();
          const other = c.ids[(c.ids.indexOf(via) + 1) % c.ids.length]!;
          const got = await c.get(other, key, { consistency: level });
          expect(texts(got.values), `${level} via ${via}`).to.deep.equal([`v-${level}`]);
        }
      }
      // ALL writes reached every replica, as stored.
      for (const id of c.ids) {
        const stored = await c.storedValues(id, 'k-ALL-n1');
        expect(stored.map((v) => utf8.decode(v.data))).to.deep.equal(['v-ALL']);
      }
      expect((await c.node('n1').admin.status()).puts).to.equal(levels.length);
      await c.put('n1', 'k', 'v', { consistency: 'ANY' });
      await c.settle();
      for (const id of c.ids) expect((await c.storedValues(id, 'k')).map((v) => utf8.decode(v.data))).to.deep.equal(['v']);
      expect(await rejectionOf(c.get('n1', 'k', { consistency: 'ANY' }))).to.be.instanceOf(InvalidArgumentError);
    }),
  );

  it(
    'one node crashed: QUORUM reads and writes succeed, ALL fails UNAVAILABLE with 2 of 3 answered',
    onCluster(base, async (c) => {
      await c.put('n1', 'k', 'before');
      await c.crash('n3');
      const put = await c.put('n1', 'k', 'during', { consistency: 'QUORUM', context: (await c.get('n2', 'k')).context });
      expect(put.context.length).to.be.greaterThan(0);
      expect(texts((await c.get('n2', 'k', { consistency: 'QUORUM' })).values)).to.deep.equal(['during']);

      // The down node's refusal takes a round trip, so both live replicas have answered by then.
      const write = await rejectionOf(c.put('n1', 'k', 'all', { consistency: 'ALL', context: put.context }));
      expect(write).to.be.instanceOf(UnavailableError);
      expect(write).to.include({ answered: 2, required: 3 });
      const read = await rejectionOf(c.get('n2', 'k', { consistency: 'ALL' }));
      expect(read).to.be.instanceOf(UnavailableError);
      expect(read).to.include({ answered: 2, required: 3 });

      // Once the failure detector has declared n3 dead (bound: 20 s), status says so and
      // requests no longer wait for it: ALL fails at once, naming the replicas that are up.
      await c.runFor(20_000);
      const status = await c.node('n1').admin.status();
      expect(status.members.map((m) => [m.id, m.reachable, m.state])).to.deep.equal([
        ['n1', true, 'up'],
        ['n2', true, 'up'],
        ['n3', false, 'down'],
      ]);
      const startedMs = c.scheduler.nowMs;
      const fast = await rejectionOf(c.put('n1', 'k', 'all', { consistency: 'ALL', context: put.context }));
      expect(fast).to.be.instanceOf(UnavailableError);
      expect((fast as UnavailableError).message).to.equal('ALL write failed: 2 of 3 replicas are up, 3 needed');
      expect((fast as UnavailableError).maybeApplied).to.equal(false);
      expect(c.scheduler.nowMs - startedMs, 'failed without waiting').to.equal(0);
    }),
  );

  it(
    'a partitioned replica makes ALL time out (in virtual time) while QUORUM still succeeds',
    onCluster(base, async (c) => {
      c.partition(['n3'], ['n1', 'n2']);
      const startedMs = c.scheduler.nowMs;
      const e = await rejectionOf(c.put('n1', 'k', 'v', { consistency: 'ALL', timeoutMs: 750 }));
      expect(e).to.be.instanceOf(TimeoutError);
      expect(e).to.include({ answered: 2, required: 3 });
      expect(c.scheduler.nowMs - startedMs).to.equal(750);
      const read = await rejectionOf(c.get('n2', 'k', { consistency: 'ALL', timeoutMs: 300 }));
      expect(read).to.be.instanceOf(TimeoutError);

      expect(texts((await c.get('n2', 'k', { consistency: 'QUORUM' })).values)).to.deep.equal(['v']);
      expect(c.network.stats.dropped).to.be.greaterThan(0);
      await c.runFor(20_000); // the failure detector notices the cut (bound: 20 s)
      expect((await c.node('n1').admin.status()).members.find((m) => m.id === 'n3')!.reachable).to.equal(false);

      c.heal();
      await c.waitConverged(); // n3 refutes its suspicion and is up again everywhere
      expect((await c.node('n1').admin.status()).members.find((m) => m.id === 'n3')!.reachable).to.equal(true);
      const ctx = (await c.get('n1', 'k')).context;
      await c.put('n1', 'k', 'healed', { consistency: 'ALL', context: ctx });
      expect((await c.storedValues('n3', 'k')).map((v) => utf8.decode(v.data))).to.deep.equal(['healed']);
    }),
  );

  it(
    'two writes without context through different coordinators make 2 siblings; a put with the merged context leaves 1',
    onCluster(base, async (c) => {
      await c.put('n1', 'cart', 'apple', { consistency: 'ALL' });
      await c.put('n2', 'cart', 'pear', { consistency: 'ALL' });
      const both = await c.get('n3', 'cart', { consistency: 'ALL' });
      expect(texts(both.values)).to.deep.equal(['apple', 'pear']);

      await c.put('n3', 'cart', 'apple+pear', { consistency: 'ALL', context: both.context });
      for (const via of c.ids) {
        expect(texts((await c.get(via, 'cart', { consistency: 'ALL' })).values), via).to.deep.equal(['apple+pear']);
      }
      for (const id of c.ids) expect((await c.storedValues(id, 'cart')).length, id).to.equal(1);
    }),
  );

  it(
    'read repair brings a replica that crashed during a write up to date',
    onCluster(base, async (c) => {
      const put = c.node('n1').kv.put({ key: utf8e.encode('k'), value: utf8e.encode('missed-by-n3'), context: new Uint8Array(0), consistency: 'QUORUM', timeoutMs: 1000 });
      await c.runFor(0); // the coordinator wrote locally and its write to n3 is on the wire
      const sentToN3 = c.transcript.findIndex((l) => /net send n1\.sim:7000->n3\.sim:7000 #\d+ write /.test(l));
      expect(sentToN3).to.be.greaterThan(-1);
      await c.crash('n3');
      expect(c.transcript.findIndex((l) => l.includes('sim crash n3'))).to.be.greaterThan(sentToN3);
      expect((await c.run(put)).context.length).to.be.greaterThan(0);
      expect(await c.storedValues('n3', 'k')).to.deep.equal([]);
      await c.restart('n3');
      expect(await c.storedValues('n3', 'k')).to.deep.equal([]);
      const before = (await c.node('n1').admin.status()).readRepairs;

      const got = await c.get('n1', 'k', { consistency: 'ALL' });
      expect(texts(got.values)).to.deep.equal(['missed-by-n3']);
      await c.settle(); // repair runs in the background after the reply
      expect((await c.storedValues('n3', 'k')).map((v) => utf8.decode(v.data))).to.deep.equal(['missed-by-n3']);
      expect((await c.node('n1').admin.status()).readRepairs).to.equal(before + 1);

      // Now every replica agrees: another read repairs nothing.
      await c.get('n1', 'k', { consistency: 'ALL' });
      await c.settle();
      expect((await c.node('n1').admin.status()).readRepairs).to.equal(before + 1);
    }),
  );

  it(
    'a write survives a restart of every node (data lives on the simulated disk); each life mints under a new actor',
    onCluster(base, async (c) => {
      await c.put('n2', 'k', 'durable', { consistency: 'ALL' });
      const actorBefore = c.node('n1').actor;
      for (const id of c.ids) {
        await c.crash(id);
        await c.restart(id);
      }
      expect(c.node('n1').actor).to.match(/^n1\./);
      expect(c.node('n1').actor).to.not.equal(actorBefore);
      expect(texts((await c.get('n3', 'k', { consistency: 'ALL' })).values)).to.deep.equal(['durable']);
    }),
  );

  it(
    'a node whose disk is lost restarts under a fresh actor epoch and is repaired by reads',
    onCluster(base, async (c) => {
      const first = await c.put('n1', 'k', 'one', { consistency: 'ALL' });
      const actorBefore = c.node('n1').actor;
      await c.crash('n1');
      await c.wipe('n1');
      await c.restart('n1');
      expect(c.node('n1').actor).to.not.equal(actorBefore);
      expect(await c.storedValues('n1', 'k')).to.deep.equal([]);
      expect(texts((await c.get('n2', 'k', { consistency: 'ALL' })).values)).to.deep.equal(['one']);
      await c.settle();
      expect((await c.storedValues('n1', 'k')).map((v) => utf8.decode(v.data))).to.deep.equal(['one']);
      const second = await c.put('n1', 'k', 'two', { consistency: 'ALL', context: first.context });
      expect(second.context.length).to.be.greaterThan(0);
      expect(texts((await c.get('n2', 'k', { consistency: 'ALL' })).values)).to.deep.equal(['two']);
    }),
  );

  it(
    'delete then get: not found, on every coordinator',
    onCluster(base, async (c) => {
      const put = await c.put('n1', 'gone', 'soon', { consistency: 'ALL' });
      await c.delete('n2', 'gone', { context: put.context, consistency: 'ALL' });
      for (const via of c.ids) {
        const got = await c.get(via, 'gone', { consistency: 'ALL' });
        expect(got.values, via).to.deep.equal([]);
      }
      const tombstones = await c.storedValues('n3', 'gone');
      expect(tombstones.map((v) => v.tombstone)).to.deep.equal([true]);
      expect((await c.node('n2').admin.status()).deletes).to.equal(1);
    }),
  );
});
