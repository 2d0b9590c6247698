/**
 * Merkle-tree anti-entropy on real node processes (LevelDB in temp dirs,
 * gRPC on 127.0.0.1), issue 9: a node that was down while 300 keys were
 * written and 50 older ones deleted catches up with nobody reading —
 * nothing is read from it, so read repair cannot help (and without hinted
 * handoff, which this build does not have yet: there is no
 * `--hinted-handoff` flag, exchanges are the only way) — and versions
 * written concurrently on two sides become siblings on both. The node is
 * killed and restarted while exchanges are repairing it. What it holds is
 * then read from it alone, the others stopped.
 *
 * Exchanges run every 20 ms here (64 partitions: a full pass in ~1.3 s);
 * the default of 100 ms passes 256 partitions in ~26 s.
 */
import { expect } from 'chai';
import type { DynamoClient, NodeStatus } from '../../lib/client/index.ts';
import { eventually, startTestCluster, text, type TestCluster } from './harness.ts';
import { dynamo, killStragglers } from '../support/cli.ts';

const PARTITIONS = 64;
const NEW_KEYS = 300;
const OLD_KEYS = 50;

const statusOf = (t: TestCluster, id: string): Promise<NodeStatus> => t.client(id).status(t.cluster.member(id).address, { timeoutMs: 2000 });

/** Resolve once `id` reports a complete exchange of every partition it replicates that ended after wall time `afterMs`. */
async function fullyExchangedSince(t: TestCluster, id: string, afterMs: number, timeoutMs: number): Promise<void> {
  await eventually(async () => {
    const ae = (await statusOf(t, id)).antiEntropy!;
    if (ae.partitions !== PARTITIONS || ae.lastFullExchangeAtMs <= afterMs) {
      throw new Error(`${id}: ${ae.treesReady}/${ae.partitions} trees, every partition compared at ${ae.lastFullExchangeAtMs}, not after ${afterMs}`);
    }
  }, timeoutMs);
}

describe('integration: anti-entropy on real processes', function () {
  this.timeout(180_000);
  let t: TestCluster;
  before(async () => {
    t = await startTestCluster({ nodes: 3, partitions: PARTITIONS, env: { DYNAMO_ANTI_ENTROPY_INTERVAL_MS: '20' } });
  });
  after(async () => {
    killStragglers();
    await t?.teardown();
  });

  it('a node down during 300 writes and 50 deletes holds all of them and none of the deleted within 60 s, read from it alone; concurrent versions become siblings', async () => {
    const via12: DynamoClient = t.client('n1', 'n2');
    for (let i = 0; i < OLD_KEYS; i++) await via12.put(`old-${i}`, `o${i}`, { consistency: 'ALL' });
    await t.cluster.stopMember('n3', 'SIGKILL');

    for (let i = 0; i < NEW_KEYS; i++) await via12.put(`key-${i}`, `value-${i}`, { consistency: 'QUORUM' });
    for (let i = 0; i < OLD_KEYS; i++) {
      const { context } = await via12.get(`old-${i}`, { consistency: 'QUORUM' });
      await via12.delete(`old-${i}`, { consistency: 'QUORUM', context });
    }
    await via12.put('split', 'from-n1-n2', { consistency: 'QUORUM' });

    // The other side: n3 alone (n1 and n2 stopped) writes its own version of `split`, unseen by them.
    await t.cluster.stopMember('n1', 'SIGTERM');
    await t.cluster.stopMember('n2', 'SIGTERM');
    await t.cluster.startMember('n3');
    const alone = t.client('n3');
    await eventually(() => alone.put('split', 'from-n3', { consistency: 'ONE' }), 20_000);
    expect((await alone.get('key-0', { consistency: 'ONE' })).found, 'n3 missed the writes').to.equal(false);

    // Everyone back; nothing reads from n3. Kill n3 once exchanges have begun repairing it, and start it again.
    await Promise.all([t.cluster.startMember('n1'), t.cluster.startMember('n2')]);
    await eventually(async () => {
      let moved = 0;
      for (const id of ['n1', 'n2', 'n3']) {
        const ae = (await statusOf(t, id)).antiEntropy!;
        moved += ae.keysPulled + ae.keysPushed;
      }
      if (moved === 0) throw new Error('no key repaired yet');
    }, 30_000);
    await t.cluster.stopMember('n3', 'SIGKILL');
    await t.cluster.startMember('n3');
    const restartedAtMs = Date.now();

    await fullyExchangedSince(t, 'n3', restartedAtMs, 60_000);
    const convergedMs = Date.now() - restartedAtMs;
    expect(convergedMs, 'n3 caught up within 60 s of its restart').to.be.lessThan(60_000);
    process.stderr.write(`      (n3 compared every partition ${(convergedMs / 1000).toFixed(1)} s after its restart)\n`);
    // n3 has pushed its version of `split` to the peer it compared that partition with, one of n1 and n2. They
    // compare with each other too, so once each has compared every partition in an exchange that began after n3's
    // ended, both hold it. A pass that ends after n3's may have begun before it (that raced once in CI: n1 missed
    // `from-n3`); exchanges run one at a time on a node, so the exchanges of a second pass begin after the first's ended.
    const n3ComparedAllMs = Date.now();
    for (const id of ['n1', 'n2']) {
      await fullyExchangedSince(t, id, n3ComparedAllMs, 60_000);
      await fullyExchangedSince(t, id, Date.now(), 60_000);
    }
    for (const id of ['n1', 'n2', 'n3']) {
      const s = await statusOf(t, id);
      expect(s.readRepairs, `${id} repaired nothing on reads`).to.equal(0);
      expect(s.safety?.dotConflicts, id).to.equal(0);
    }

    // What n3 holds, read from n3 alone.
    await t.cluster.stopMember('n1', 'SIGTERM');
    await t.cluster.stopMember('n2', 'SIGTERM');
    const missing: string[] = [];
    for (let i = 0; i < NEW_KEYS; i++) {
      const got = await alone.get(`key-${i}`, { consistency: 'ONE' });
      if (JSON.stringify(text(got.values)) !== JSON.stringify([`value-${i}`])) missing.push(`key-${i}`);
    }
    expect(missing, 'keys n3 does not hold').to.deep.equal([]);
    const resurrected: string[] = [];
    for (let i = 0; i < OLD_KEYS; i++) if ((await alone.get(`old-${i}`, { consistency: 'ONE' })).found) resurrected.push(`old-${i}`);
    expect(resurrected, 'deleted keys n3 still shows').to.deep.equal([]);
    expect(text((await alone.get('split', { consistency: 'ONE' })).values)).to.deep.equal(['from-n1-n2', 'from-n3']);

    // And the other side holds n3's version too: n1 alone.
    await t.cluster.stopMember('n3', 'SIGTERM');
    await t.cluster.startMember('n1');
    expect(text((await t.client('n1').get('split', { consistency: 'ONE' })).values)).to.deep.equal(['from-n1-n2', 'from-n3']);
    await Promise.all([t.cluster.startMember('n2'), t.cluster.startMember('n3')]);
  });

  it('dynamo repair runs a full exchange now and reports it; status shows anti-entropy per peer', async () => {
    // Should the previous test have failed part way, its stopped members are started here, so this one runs on its own.
    await Promise.all(t.cluster.members.filter((m) => t.cluster.pid(m.id) === undefined).map((m) => t.cluster.startMember(m.id)));
    const c = t.client('n1');
    const address = t.cluster.member('n2').address;
    // The previous test restarted every node: the exchange needs the peers' trees too, not only n2's
    // (a peer without its tree is skipped, and the repair reports that).
    await eventually(async () => {
      for (const m of t.cluster.members) {
        const s = await c.status(m.address, { timeoutMs: 2000 });
        if (!s.members.every((x) => x.state === 'up') || s.antiEntropy?.treesReady !== PARTITIONS) throw new Error(`${m.id} not settled`);
      }
    }, 60_000);
    const started = await eventually(() => c.repair(address, { partition: 5 }), 10_000);
    expect(started).to.include({ state: 'running', partition: 5, partitionsTotal: 1 });
    const done = await eventually(async () => {
      const r = (await c.status(address, { timeoutMs: 2000 })).antiEntropy!.repair!;
      if (r.state === 'running') throw new Error('still running');
      return r;
    }, 30_000);
    expect(done).to.include({ id: started.id, state: 'done', partitionsDone: 1, skipped: 0 });
    expect(done.exchanges).to.be.at.least(2);
    const s = await c.status(address, { timeoutMs: 2000 });
    expect(s.antiEntropy!.peers.map((p) => p.peer)).to.deep.equal(['n1', 'n3']);
    for (const p of s.antiEntropy!.peers) expect(p.lastCompleteAtMs, p.peer).to.be.greaterThan(0);
    const refused = await c.repair(address, { partition: PARTITIONS + 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((refused as Error).message).to.match(/partition must be an integer in 0\.\.63/);
  });

  it('the CLI: dynamo repair prints a summary (and --json the repair), dynamo status the anti-entropy section', async () => {
    const endpoint = t.cluster.member('n3').address;
    const run = await dynamo(['repair', '--endpoint', endpoint, '--interval-ms', '100']);
    expect(run.code, run.stderr).to.equal(0);
    // Not a terminal: one progress line per change, then the summary.
    const lines = run.stdout.trimEnd().split('\n');
    for (const l of lines.slice(0, -1)) expect(l).to.match(/^n3: repair \d+ running, \d+\/64 partitions compared, \d+ exchanges?, \d+ keys repaired$/);
    expect(lines.at(-1)).to.match(/^repair \d+ on n3 done: 64 partitions compared in \d+ exchanges; keys repaired: \d+ here from peers, \d+ on peers; .* sent, .* received; [\d.]+ s$/);
    const json = await dynamo(['repair', '--endpoint', endpoint, '--partition', '7', '--json']);
    expect(json.code, json.stderr).to.equal(0);
    const out = JSON.parse(json.stdout) as { ok: boolean; nodeId: string; repair: Record<string, unknown> };
    expect(out).to.deep.include({ ok: true, nodeId: 'n3' });
    expect(out.repair).to.include({ state: 'done', partition: 7, partitionsTotal: 1, partitionsDone: 1, skipped: 0 });
    const status = await dynamo(['status', '--endpoint', endpoint]);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.match(/\nanti-entropy: 64\/64 trees ready, \d+ exchanges( \(\d+ slowed: the node was busy\))?, .*; every partition fully compared: [\d.]+ s ago; keys repaired \d+ here, \d+ on peers; 0 tombstones purged\n/);
    expect(status.stdout).to.match(/\nPEER +EXCHANGES +LAST EXCHANGE +LAST COMPLETE +KEYS IN +KEYS OUT\nn1 /);
    const bad = await dynamo(['repair', '--endpoint', endpoint, '--partition', '640']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^dynamo: repair not started: partition must be an integer in 0\.\.63, got 640 \[DYNAMO_INVALID_ARGUMENT\]\n$/);
  });
});
