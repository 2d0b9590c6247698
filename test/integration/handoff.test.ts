/**
 * Sloppy quorum and hinted handoff on real node processes (LevelDB in temp
 * dirs, gRPC on 127.0.0.1): a replica killed with -9 while keys are written
 * at QUORUM and ALL, hint holders restarted before delivery, the replica's
 * return and the hint stores draining, ANY with all of a key's replicas
 * down, an older hint never overwriting a newer version, and a hint past its
 * window dropped and counted. What lands is read from the replica's own
 * disk with the node stopped, not through a quorum that could hide a gap.
 */
import { expect } from 'chai';
import { DynamoClient, UnavailableError, type NodeStatus } from '../../lib/client/index.ts';
import { createStorage } from '../../lib/storage/index.ts';
import { partitionOf } from '../../lib/ring/index.ts';
import { eventually, startTestCluster, text, type TestCluster } from './harness.ts';

const PARTITIONS = 32;
const utf8 = new TextEncoder();

async function status(t: TestCluster, id: string): Promise<NodeStatus> {
  return t.client(id).status(t.cluster.member(id).address);
}

/** Keys' primary replicas as `via` sees the ring (read once; the ring does not change in these tests). */
async function placement(t: TestCluster, via: string): Promise<(key: string) => string[]> {
  const ring = await eventually(() => t.client(via).ring(t.cluster.member(via).address));
  return (key) => [...ring.replicaSets[partitionOf(utf8.encode(key), PARTITIONS)]!];
}

/** Hints held for `target` over the running nodes. */
async function hintsFor(t: TestCluster, running: readonly string[], target?: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const id of running) {
    const held = (await status(t, id)).hints?.pending.filter((p) => target === undefined || p.target === target).reduce((n, p) => n + p.keys, 0) ?? 0;
    if (held > 0) out[id] = held;
  }
  return out;
}

/** The first key `${prefix}${i}` whose replicas satisfy `ok` (bounded: a ring with none fails the test, not hangs it). */
function findKey(prefix: string, primariesOf: (key: string) => string[], ok: (replicas: string[]) => boolean): string {
  for (let i = 0; i < 10_000; i++) if (ok(primariesOf(`${prefix}${i}`))) return `${prefix}${i}`;
  throw new Error(`no key ${prefix}* has replicas as wanted`);
}

async function untilDown(t: TestCluster, observers: readonly string[], id: string): Promise<void> {
  for (const o of observers) {
    await eventually(async () => {
      if ((await status(t, o)).members.find((m) => m.id === id)?.state !== 'down') throw new Error(`${o} does not see ${id} down yet`);
    }, 30_000);
  }
}

/** Stop `id` and read which of `keys` its own disk holds (values, tombstones left out). */
async function onDisk(t: TestCluster, id: string, keys: Iterable<string>): Promise<Map<string, string[]>> {
  await t.cluster.stopMember(id, 'SIGTERM');
  const s = createStorage({ engine: 'leveldb', dataDir: t.cluster.member(id).dataDir });
  await s.open();
  const { decodeRecord } = await import('../../lib/storage/index.ts');
  const { Dvv } = await import('../../lib/vclock/index.ts');
  const out = new Map<string, string[]>();
  try {
    for (const k of keys) {
      const bytes = await s.get(partitionOf(utf8.encode(k), PARTITIONS), utf8.encode(k));
      if (bytes === undefined) continue;
      out.set(k, Dvv.values(decodeRecord(bytes)).filter((v) => !v.tombstone).map((v) => Buffer.from(v.data).toString('utf8')).sort());
    }
  } finally {
    await s.close();
  }
  return out;
}

describe('integration: sloppy quorum and hinted handoff on real processes', function () {
  this.timeout(300_000);

  describe('five nodes, N=3', () => {
    let t: TestCluster;
    before(async () => {
      t = await startTestCluster({ nodes: 5, partitions: PARTITIONS });
      await t.settle();
    });
    after(async () => {
      await t?.teardown();
    });

    it('kill -9 a replica: 1,000 QUORUM and 200 sloppy ALL writes succeed, strict ALL fails naming the counts; a restarted hint holder still delivers; back up, the replica holds every key and the hint stores drain', async () => {
      const live = ['n1', 'n2', 'n3', 'n4'];
      await t.cluster.stopMember('n5', 'SIGKILL');
      await untilDown(t, live, 'n5');
      const client = t.client(...live);
      const written = new Map<string, string>();
      for (let i = 0; i < 1000; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, j) => {
            await client.put(`q${i + j}`, `v${i + j}`, { consistency: 'QUORUM' });
            written.set(`q${i + j}`, `v${i + j}`);
          }),
        );
      }
      for (let i = 0; i < 200; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, j) => {
            await client.put(`a${i + j}`, `v${i + j}`, { consistency: 'ALL' });
            written.set(`a${i + j}`, `v${i + j}`);
          }),
        );
      }
      const primariesOf = await placement(t, 'n1');
      const onN5 = [...written.keys()].filter((k) => primariesOf(k).includes('n5'));
      expect(onN5.length, 'n5 replicates a share of the keys').to.be.greaterThan(300);
      const strictKey = onN5.find((k) => k.startsWith('a'))!;
      const strict = await client.put(strictKey, 'strict', { consistency: 'ALL', strict: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(strict).to.be.instanceOf(UnavailableError);
      expect((strict as Error).message).to.match(/ALL write failed: 2 of 3 replicas are up/);

      const held = await hintsFor(t, live, 'n5');
      // ALL writes need every copy, QUORUM ones get a hint for n5 too (the write goes to all N, a fallback stands in).
      expect(Object.values(held).reduce((a, b) => a + b, 0), 'a hint per key n5 replicates').to.equal(onN5.length);
      // A holder restarted (kill -9) before delivery still delivers: hints are on its disk.
      const holder = Object.keys(held)[0]!;
      await t.cluster.stopMember(holder, 'SIGKILL');
      await t.cluster.startMember(holder);
      expect((await hintsFor(t, [holder], 'n5'))[holder]).to.equal(held[holder]);

      const back = Date.now();
      await t.cluster.startMember('n5');
      await eventually(async () => {
        const left = await hintsFor(t, t.cluster.members.map((m) => m.id));
        if (Object.keys(left).length > 0) throw new Error(`hints still held: ${JSON.stringify(left)}`);
      }, 30_000);
      const drainedMs = Date.now() - back;
      process.stdout.write(`      (${onN5.length} hinted keys handed back ${drainedMs} ms after n5 restarted)\n`);
      const delivered = (await Promise.all(live.map((id) => status(t, id)))).reduce((n, s) => n + (s.hints?.delivered ?? 0), 0);
      expect(delivered).to.be.at.least(onN5.length);

      const disk = await onDisk(t, 'n5', onN5);
      const missing = onN5.filter((k) => !(disk.get(k) ?? []).includes(written.get(k)!));
      expect(missing.slice(0, 5), `${missing.length} keys missing on n5's disk`).to.deep.equal([]);
      await t.cluster.startMember('n5');
    });

    it('ANY succeeds with all three replicas of a key down; each gets it once back', async () => {
      const probe = new DynamoClient({ endpoints: [t.cluster.member('n1').address], discovery: false, timeoutMs: 5000 });
      try {
        const primariesOf = await placement(t, 'n1');
        const key = findKey('any', primariesOf, (r) => !r.includes('n1'));
        const primaries = primariesOf(key);
        for (const id of primaries) await t.cluster.stopMember(id, 'SIGKILL');
        const up = t.cluster.members.map((m) => m.id).filter((id) => !primaries.includes(id));
        for (const id of primaries) await untilDown(t, ['n1'], id);
        const strict = await probe.put(key, 'x', { consistency: 'ONE', strict: true }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((strict as Error).message).to.match(/ONE write failed: 0 of 3 replicas are up, 1 needed/);
        await probe.put(key, 'anywhere', { consistency: 'ANY' });
        expect(Object.keys(await hintsFor(t, up)).length, 'held as hints').to.be.greaterThan(0);
        for (const id of primaries) await t.cluster.startMember(id);
        await eventually(async () => {
          const left = await hintsFor(t, t.cluster.members.map((m) => m.id));
          if (Object.keys(left).length > 0) throw new Error(`hints still held: ${JSON.stringify(left)}`);
        }, 30_000);
        const got = await eventually(() => probe.get(key, { consistency: 'ALL', strict: true }));
        expect(text(got.values)).to.deep.equal(['anywhere']);
      } finally {
        await probe.close();
      }
    });

    it('a hint older than what the replica holds now merges under it: the newer version stays', async () => {
      const primariesOf = await placement(t, 'n1');
      const key = findKey('old', primariesOf, (r) => r[0] === 'n1' && !r.includes('n5'));
      const primaries = primariesOf(key);
      const down = primaries[2]!;
      const others = t.cluster.members.map((m) => m.id).filter((id) => id !== down);
      await t.cluster.stopMember(down, 'SIGKILL');
      await untilDown(t, ['n1'], down);
      const n1 = t.client('n1');
      await n1.put(key, 'old', { consistency: 'ALL' });
      const holder = Object.keys(await hintsFor(t, others, down))[0]!;
      // The holder is away while the replica returns and takes a newer version directly.
      await t.cluster.stopMember(holder, 'SIGKILL');
      await t.cluster.startMember(down);
      const read = await eventually(() => n1.get(key, { consistency: 'ALL', strict: true }), 30_000);
      expect(text(read.values)).to.deep.equal(['old']);
      await n1.put(key, 'new', { consistency: 'ALL', strict: true, context: read.context });
      await t.cluster.startMember(holder);
      await eventually(async () => {
        const left = await hintsFor(t, [holder], down);
        if (Object.keys(left).length > 0) throw new Error('the old hint is not delivered yet');
      }, 30_000);
      const disk = await onDisk(t, down, [key]);
      expect(disk.get(key)).to.deep.equal(['new']);
      await t.cluster.startMember(down);
    });
  });

  describe('four nodes with a 2 s hint window, anti-entropy off', () => {
    let t: TestCluster;
    before(async () => {
      t = await startTestCluster({ nodes: 4, partitions: PARTITIONS, env: { DYNAMO_HINT_WINDOW_MS: '2000', DYNAMO_ANTI_ENTROPY: 'false' } });
      await t.settle();
    });
    after(async () => {
      await t?.teardown();
    });

    it("a hint older than the window whose node is still down goes to the key's other replicas, not to that node", async () => {
      const key = findKey('w', await placement(t, 'n1'), (r) => r.includes('n1') && r.includes('n4'));
      await t.cluster.stopMember('n4', 'SIGKILL');
      await untilDown(t, ['n1'], 'n4');
      await t.client('n1').put(key, 'v', { consistency: 'ALL' });
      const live = ['n1', 'n2', 'n3'];
      expect(Object.keys(await hintsFor(t, live, 'n4'))).to.have.length(1);
      await eventually(async () => {
        const left = await hintsFor(t, live, 'n4');
        if (Object.keys(left).length > 0) throw new Error('hint not retired yet');
      }, 15_000);
      const counts = await Promise.all(live.map((id) => status(t, id)));
      expect(counts.reduce((n, s) => n + (s.hints?.dropped ?? 0), 0), 'nothing dropped: a replica took it').to.equal(0);
      expect(counts.reduce((n, s) => n + (s.hints?.delivered ?? 0), 0), 'handed to another replica').to.equal(1);
      await t.cluster.startMember('n4');
      await new Promise((r) => setTimeout(r, 3000));
      expect((await onDisk(t, 'n4', [key])).has(key), 'not handed to n4: anti-entropy (off here) brings it').to.equal(false);
    });
  });
});
