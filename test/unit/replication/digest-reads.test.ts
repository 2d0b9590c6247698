import { expect } from 'chai';
import type { ReadReply, ReadRequest } from '../../../lib/protocol/index.ts';
import { partitionOf } from '../../../lib/ring/index.ts';
import { Dvv } from '../../../lib/vclock/index.ts';
import { encodeRecord, type StoredValue } from '../../../lib/storage/index.ts';
import { DigestReads } from '../../../lib/replication/digest-reads.ts';
import { PARTITIONS, startCluster, type TestCluster } from './cluster-fixture.ts';
import { bytes, text } from './helpers.ts';

const T = 2000;
const EMPTY = new Uint8Array(0);

describe('replication/digest-reads', () => {
  describe('DigestReads (bookkeeping)', () => {
    const digestOf = (s: string): bigint => BigInt(s.length) * 1000n + BigInt(s.charCodeAt(0));

    it('a digest that arrives after the whole read is judged at once: same or differs', () => {
      const d = new DigestReads<string>(0, digestOf);
      expect(d.mayAsk(0)).to.equal(false);
      expect(d.mayAsk(1)).to.equal(true);
      expect(d.wholeRead('abc')).to.deep.equal([]);
      expect(d.object).to.equal('abc');
      expect(d.digestReply(1, digestOf('abc'))).to.equal('same');
      expect(d.digestReply(2, digestOf('xy'))).to.equal('differs');
    });

    it('digests that arrive first wait for the whole read, then get their verdicts', () => {
      const d = new DigestReads<string>(2, digestOf);
      expect(d.digestReply(0, digestOf('abc'))).to.equal('wait');
      expect(d.digestReply(1, 7n)).to.equal('wait');
      expect(d.wholeRead('abc')).to.deep.equal([
        [0, 'same'],
        [1, 'differs'],
      ]);
    });

    it('an absent copy digests to 0, as a replica with nothing answers', () => {
      let calls = 0;
      const d = new DigestReads<string>(0, (s) => (calls++, digestOf(s)));
      d.wholeRead(undefined);
      expect(d.digestReply(1, 0n)).to.equal('same');
      expect(d.digestReply(2, 5n)).to.equal('differs');
      expect(calls).to.equal(0);
    });

    it('once the whole read failed, parked and later digests are all read whole, and no more are asked', () => {
      const d = new DigestReads<string>(0, digestOf);
      expect(d.digestReply(1, 1n)).to.equal('wait');
      expect(d.wholeFailed()).to.deep.equal([1]);
      expect(d.mayAsk(2)).to.equal(false);
      expect(d.digestReply(2, 1n)).to.equal('differs');
      expect(d.wholeRead('late')).to.deep.equal([]);
    });
  });

  describe('coordinator with digest reads', () => {
    let c: TestCluster;
    afterEach(async () => {
      await c.close();
    });
    const kv = (id: string) => c.node(id).coordinator;
    const readsFrom = (from: string) =>
      c.net.exchanges.filter((x) => x.from === from && x.req.type === 'read').map((x) => ({ to: x.to, req: x.req as ReadRequest, reply: x.reply as ReadReply | undefined }));
    const storedText = async (id: string, key: Uint8Array): Promise<string[]> => Dvv.values((await c.stored(id, key)) ?? Dvv.fresh<StoredValue>()).map((v) => text(v.data)).sort();
    const big = (fill: number): Uint8Array => new Uint8Array(64 * 1024).fill(fill);

    it('replicas that agree send a digest, not their copy, and the read needs no repair', async () => {
      c = await startCluster(['n1', 'n2', 'n3']);
      const key = c.keyWhere((r) => r.join() === 'n1,n2,n3');
      await kv('n1').put({ key, value: big(7), context: EMPTY, consistency: 'ALL', timeoutMs: T });
      c.net.exchanges.length = 0;
      const got = await kv('n1').get({ key, consistency: 'QUORUM', timeoutMs: T });
      expect(got.values).to.have.length(1);
      expect(got.values[0]).to.deep.equal(big(7));
      const reads = readsFrom('n1');
      expect(reads.map((r) => [r.to, r.req.digestOnly])).to.deep.equal([['n2', true]]);
      expect(reads[0]!.reply!.record).to.equal(undefined);
      expect(typeof reads[0]!.reply!.digest).to.equal('bigint');
      expect(reads[0]!.reply!.digest).to.not.equal(0n);
      await kv('n1').close();
      expect(kv('n1').stats().readRepairs).to.equal(0);
      expect(kv('n1').stats().digestMismatches).to.equal(0);
    });

    it('a replica whose digest differs is read whole, its newer version returned, and the stale copy here repaired', async () => {
      c = await startCluster(['n1', 'n2', 'n3']);
      const key = c.keyWhere((r) => r.join() === 'n1,n2,n3');
      const v1 = await kv('n1').put({ key, value: bytes('v1'), context: EMPTY, consistency: 'ALL', timeoutMs: T });
      c.net.down.add('n1');
      await kv('n2').put({ key, value: bytes('v2'), context: v1.context, consistency: 'QUORUM', timeoutMs: T });
      c.net.down.delete('n1');
      expect(await storedText('n1', key)).to.deep.equal(['v1']);
      c.net.exchanges.length = 0;
      const got = await kv('n1').get({ key, consistency: 'QUORUM', timeoutMs: T });
      expect(got.values.map(text)).to.deep.equal(['v2']);
      expect(readsFrom('n1').map((r) => [r.to, r.req.digestOnly === true])).to.deep.equal([
        ['n2', true],
        ['n2', false],
      ]);
      await kv('n1').close();
      expect(await storedText('n1', key)).to.deep.equal(['v2']);
      expect(kv('n1').stats().readRepairs).to.equal(1);
      expect(kv('n1').stats().digestMismatches).to.equal(1);
    });

    it('siblings held only by the other replica come back (a differing digest never hides a concurrent version)', async () => {
      c = await startCluster(['n1', 'n2', 'n3']);
      const key = c.keyWhere((r) => r.join() === 'n1,n2,n3');
      const partition = partitionOf(key, PARTITIONS);
      const sibling = (actor: string, data: string) => Dvv.update(Dvv.fresh<StoredValue>(), [], actor, { data: bytes(data), tombstone: false, writtenAtMs: 1 });
      await c.node('n1').storage.inner.write([{ partition, key, record: encodeRecord(sibling('n1.x', 'a')) }]);
      await c.node('n2').storage.inner.write([{ partition, key, record: encodeRecord(sibling('n2.x', 'b')) }]);
      const got = await kv('n1').get({ key, consistency: 'QUORUM', timeoutMs: T });
      expect(got.values.map(text).sort()).to.deep.equal(['a', 'b']);
      await kv('n1').close();
      expect(await storedText('n1', key)).to.deep.equal(['a', 'b']);
      expect(await storedText('n2', key)).to.deep.equal(['a', 'b']);
    });

    it('when this node holds nothing, the replica that has the key is read whole', async () => {
      c = await startCluster(['n1', 'n2', 'n3']);
      const key = c.keyWhere((r) => r.join() === 'n1,n2,n3');
      c.net.down.add('n1');
      await kv('n2').put({ key, value: bytes('v'), context: EMPTY, consistency: 'QUORUM', timeoutMs: T });
      c.net.down.delete('n1');
      const got = await kv('n1').get({ key, consistency: 'QUORUM', timeoutMs: T });
      expect(got.values.map(text)).to.deep.equal(['v']);
      await kv('n1').close();
      expect(await storedText('n1', key)).to.deep.equal(['v']);
    });

    it("when this node's copy fails its checksum, the other replicas are read whole and this copy is rebuilt", async () => {
      c = await startCluster(['n1', 'n2', 'n3']);
      const key = c.keyWhere((r) => r.join() === 'n1,n2,n3');
      await kv('n1').put({ key, value: bytes('v'), context: EMPTY, consistency: 'ALL', timeoutMs: T });
      c.node('n1').storage.rotten.add(Buffer.from(key).toString('latin1'));
      c.net.exchanges.length = 0;
      const got = await kv('n1').get({ key, consistency: 'QUORUM', timeoutMs: T });
      expect(got.values.map(text)).to.deep.equal(['v']);
      // n2 was asked for a digest before n1's read failed; n3, asked in n1's place, is read whole.
      const reads = readsFrom('n1');
      expect(reads.filter((r) => r.reply?.record !== undefined).map((r) => r.to).sort()).to.deep.equal(['n2', 'n3']);
      await kv('n1').close();
      c.node('n1').storage.rotten.clear();
      expect(await storedText('n1', key)).to.deep.equal(['v']);
    });

    it('a replica predating digest reads answers with its copy, and the read uses it', async () => {
      c = await startCluster(['n1', 'n2', 'n3'], { noDigests: ['n2'] });
      const key = c.keyWhere((r) => r.join() === 'n1,n2,n3');
      const v1 = await kv('n1').put({ key, value: bytes('v1'), context: EMPTY, consistency: 'ALL', timeoutMs: T });
      c.net.down.add('n1');
      await kv('n2').put({ key, value: bytes('v2'), context: v1.context, consistency: 'QUORUM', timeoutMs: T });
      c.net.down.delete('n1');
      c.net.exchanges.length = 0;
      const got = await kv('n1').get({ key, consistency: 'QUORUM', timeoutMs: T });
      expect(got.values.map(text)).to.deep.equal(['v2']);
      const reads = readsFrom('n1');
      expect(reads).to.have.length(1);
      expect(reads[0]!.req.digestOnly).to.equal(true);
      expect(reads[0]!.reply!.record).to.not.equal(undefined);
    });

    it('with digest reads off, every replica asked sends its copy', async () => {
      c = await startCluster(['n1', 'n2', 'n3'], { digestReads: false });
      const key = c.keyWhere((r) => r.join() === 'n1,n2,n3');
      await kv('n1').put({ key, value: bytes('v'), context: EMPTY, consistency: 'ALL', timeoutMs: T });
      c.net.exchanges.length = 0;
      await kv('n1').get({ key, consistency: 'ALL', timeoutMs: T });
      const reads = readsFrom('n1');
      expect(reads.map((r) => r.to).sort()).to.deep.equal(['n2', 'n3']);
      for (const r of reads) {
        expect(r.req.digestOnly).to.equal(undefined);
        expect(r.reply!.record).to.not.equal(undefined);
      }
    });

    it('a coordinator that is not a replica of the key reads every copy whole', async () => {
      c = await startCluster(['n1', 'n2', 'n3', 'n4']);
      const key = c.keyWhere((r) => !r.includes('n4'));
      await kv('n1').put({ key, value: bytes('v'), context: EMPTY, consistency: 'ALL', timeoutMs: T });
      c.net.exchanges.length = 0;
      const got = await kv('n4').get({ key, consistency: 'QUORUM', timeoutMs: T });
      expect(got.values.map(text)).to.deep.equal(['v']);
      const reads = readsFrom('n4');
      expect(reads).to.have.length(2);
      for (const r of reads) expect(r.req.digestOnly).to.equal(undefined);
    });
  });
});
