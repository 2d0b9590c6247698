import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { DynamoClient, UnavailableError, InvalidArgumentError, type Consistency } from '../../lib/client/index.ts';
import { NODE_HEAP_FLAGS } from '../../lib/node/index.ts';
import { eventually, startTestCluster, text, type TestCluster } from './harness.ts';

describe('integration: 3 real node processes over gRPC with LevelDB', function () {
  this.timeout(60_000);
  let t: TestCluster;
  let client: DynamoClient;

  before(async () => {
    t = await startTestCluster();
    client = t.client();
  });
  after(async () => {
    await t?.teardown();
  });

  for (const level of ['ONE', 'TWO', 'THREE', 'QUORUM', 'ALL'] as Consistency[]) {
    it(`round-trips a value at ${level}`, async () => {
      const key = `level-${level}`;
      await client.put(key, `value at ${level}`, { consistency: level });
      // With R + W <= N (ONE/ONE) a read may reach a replica the write has not
      // reached yet; it must see the value once replication finishes.
      const overlap = level !== 'ONE';
      const read = async () => {
        const r = await client.get(key, { consistency: level });
        if (!r.found) throw new Error(`${key} not visible yet`);
        return r;
      };
      const got = overlap ? await client.get(key, { consistency: level }) : await eventually(read, 5000);
      expect(got.found).to.equal(true);
      expect(text(got.values)).to.deep.equal([`value at ${level}`]);
      expect(got.context.length).to.be.greaterThan(0);
    });
  }

  it('keeps two writes without context as siblings, and a put with the merged context resolves them', async () => {
    const viaN1 = t.client('n1');
    const viaN2 = t.client('n2');
    await viaN1.put('cart', 'apples', { consistency: 'ALL' });
    await viaN2.put('cart', 'pears', { consistency: 'ALL' });
    const both = await client.get('cart', { consistency: 'ALL' });
    expect(text(both.values)).to.deep.equal(['apples', 'pears']);
    await client.put('cart', 'apples+pears', { context: both.context, consistency: 'ALL' });
    const one = await client.get('cart', { consistency: 'ALL' });
    expect(text(one.values)).to.deep.equal(['apples+pears']);
  });

  it('readModifyWrite resolves siblings with the merge function', async () => {
    const viaN1 = t.client('n1');
    const viaN3 = t.client('n3');
    await viaN1.put('set', 'a', { consistency: 'ALL' });
    await viaN3.put('set', 'b', { consistency: 'ALL' });
    await client.readModifyWrite(
      'set',
      (siblings) => [...new Set(siblings.flatMap((s) => Buffer.from(s).toString('utf8').split(',')))].sort().join(','),
      { consistency: 'ALL' },
    );
    const got = await client.get('set', { consistency: 'ALL' });
    expect(text(got.values)).to.deep.equal(['a,b']);
  });

  it('delete then get reports not found', async () => {
    await client.put('doomed', 'x', { consistency: 'QUORUM' });
    const before = await client.get('doomed', { consistency: 'QUORUM' });
    await client.delete('doomed', { context: before.context, consistency: 'QUORUM' });
    const after = await client.get('doomed', { consistency: 'QUORUM' });
    expect(after.found).to.equal(false);
    expect(after.values).to.deep.equal([]);
  });

  it('runs every node process with the heap flags (lib/node/heap-flags.ts)', function () {
    if (process.platform !== 'linux') this.skip(); // reads /proc
    for (const m of t.cluster.members) {
      const argv = readFileSync(`/proc/${t.cluster.pid(m.id)}/cmdline`, 'utf8').split('\0');
      expect(argv, m.id).to.include.members([...NODE_HEAP_FLAGS]);
    }
  });

  it('status lists every member as reachable with the same ring', async () => {
    const statuses = await Promise.all(t.cluster.members.map((m) => client.status(m.address)));
    for (const s of statuses) {
      expect(s.ready).to.equal(true);
      expect(s.members.map((m) => m.id).sort()).to.deep.equal(['n1', 'n2', 'n3']);
      expect(s.members.every((m) => m.reachable)).to.equal(true);
      expect(s.members.reduce((sum, m) => sum + m.partitionsOwned, 0)).to.equal(64);
    }
    expect(new Set(statuses.map((s) => s.ringChecksum)).size).to.equal(1);
  });

  describe('with one of three nodes killed', () => {
    before(async () => {
      await t.cluster.stopMember('n3', 'SIGKILL');
    });
    after(async () => {
      await t.cluster.startMember('n3');
      await t.settle();
    });

    it('the failure detector marks the killed member down within its bound (20 s)', async () => {
      const c = t.client('n1');
      const started = Date.now();
      const n1View = async () => c.status(t.cluster.member('n1').address);
      await eventually(async () => {
        const s = await n1View();
        if (s.members.find((m) => m.id === 'n3')!.state !== 'down') throw new Error('n3 is not down yet');
        return s;
      }, 25_000);
      const downAfterMs = Date.now() - started;
      // With n3 dead, n1 has no one to probe n2 indirectly: a slow ack from n2 on a loaded machine
      // is a (brief) suspicion of n2 too, which n2 refutes. Wait that out, bounded.
      const view = await eventually(async () => {
        const s = await n1View();
        if (s.members.find((m) => m.id === 'n2')!.state !== 'up') throw new Error(`n2 is ${s.members.find((m) => m.id === 'n2')!.state} in n1's view`);
        return s;
      }, 15_000);
      expect(view.members.filter((m) => m.reachable).map((m) => m.id)).to.deep.equal(['n1', 'n2']);
      expect(view.members.map((m) => m.state)).to.deep.equal(['up', 'up', 'down']);
      process.stdout.write(`      (n3 seen down by n1 ${downAfterMs} ms after kill -9 returned)\n`);
    });

    it('QUORUM writes and reads still succeed', async () => {
      const c = t.client('n1', 'n2');
      await c.put('while-down', 'still works', { consistency: 'QUORUM' });
      const got = await c.get('while-down', { consistency: 'QUORUM' });
      expect(text(got.values)).to.deep.equal(['still works']);
    });

    it('ALL fails with UNAVAILABLE naming how many replicas answered of how many needed', async () => {
      const c = t.client('n1');
      // A transient suspicion of n2 (see above) would make it "1 of 3": retry that case only, bounded.
      const err = await eventually(async () => {
        const e = await c.put('needs-all', 'x', { consistency: 'ALL' }).then(
          () => undefined,
          (x: unknown) => x,
        );
        if (e instanceof UnavailableError && /1 of 3 replicas are up/.test(e.message)) throw e;
        return e;
      }, 15_000);
      // n3 is believed down: the write fails at once, without waiting, naming the counts.
      expect(err).to.be.instanceOf(UnavailableError);
      const u = err as UnavailableError;
      expect(u.required).to.equal(3);
      expect(u.message).to.match(/ALL write failed: 2 of 3 replicas are up, 3 needed/);
      expect(u.maybeApplied).to.equal(false);
      const readErr = await c.get('while-down', { consistency: 'ALL' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(readErr).to.be.instanceOf(UnavailableError);
    });
  });

  it('keeps acknowledged data through kill -9 of every node and restart', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `durable-${i}`);
    await Promise.all(keys.map((k) => client.put(k, `v-${k}`, { consistency: 'ALL' })));
    for (const m of t.cluster.members) await t.cluster.stopMember(m.id, 'SIGKILL');
    for (const m of t.cluster.members) await t.cluster.startMember(m.id);
    await t.settle();
    const fresh = t.client();
    const got = await eventually(() => Promise.all(keys.map((k) => fresh.get(k, { consistency: 'ALL' }))));
    expect(got.map((g) => text(g.values)[0])).to.deep.equal(keys.map((k) => `v-${k}`));
  });

  it('SIGTERM drains and exits 0, and the node restarts with its data', async () => {
    await client.put('graceful', 'kept', { consistency: 'ALL' });
    const code = await t.cluster.stopMember('n2', 'SIGTERM');
    expect(code).to.equal(0);
    await t.cluster.startMember('n2');
    await t.settle();
    const got = await eventually(() => t.client('n2').get('graceful', { consistency: 'ALL' }));
    expect(text(got.values)).to.deep.equal(['kept']);
  });

  it('accepts ANY for writes and rejects it for reads with INVALID_ARGUMENT', async () => {
    await client.put('any', 'x', { consistency: 'ANY' });
    expect(text((await eventually(() => client.get('any', { consistency: 'ALL' }))).values)).to.deep.equal(['x']);
    const err = await client.get('any', { consistency: 'ANY' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(InvalidArgumentError);
    expect((err as Error).message).to.match(/ANY/);
  });
});

// Its own cluster, with anti-entropy off: on the shared cluster an exchange of the
// key's partition right after n3 restarts (every 100 ms a node starts one) could
// bring n3 up to date before the read does; a clean-clone CI run once counted no
// read repair. Hinted handoff is off too: with more nodes than replicas a hint
// replayed at n3's restart would do the same.
describe('integration: read repair on real node processes (hinted handoff and anti-entropy off)', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await startTestCluster({ env: { DYNAMO_HINTED_HANDOFF: 'false', DYNAMO_ANTI_ENTROPY: 'false' } });
  });
  after(async () => {
    await t?.teardown();
  });

  it('brings a replica that missed a write up to date', async () => {
    // n3 misses the write ...
    await t.cluster.stopMember('n3', 'SIGKILL');
    const c12 = t.client('n1', 'n2');
    await c12.put('repair-me', 'fresh', { consistency: 'QUORUM' });
    await t.cluster.startMember('n3');
    // ... an ALL read through n1 notices n3 is stale and repairs it in the background ...
    const client = t.client();
    const before = (await client.status(t.cluster.member('n1').address)).readRepairs;
    const read = await eventually(() => t.client('n1').get('repair-me', { consistency: 'ALL' }));
    expect(text(read.values)).to.deep.equal(['fresh']);
    let repairs = before;
    for (let i = 0; i < 50 && repairs === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      repairs = (await client.status(t.cluster.member('n1').address)).readRepairs;
    }
    expect(repairs).to.be.greaterThan(before);
    // ... so with the other two replicas gone, n3 alone serves the value.
    await t.cluster.stopMember('n1', 'SIGKILL');
    await t.cluster.stopMember('n2', 'SIGKILL');
    const only3 = await t.client('n3').get('repair-me', { consistency: 'ONE' });
    expect(text(only3.values)).to.deep.equal(['fresh']);
  });
});
